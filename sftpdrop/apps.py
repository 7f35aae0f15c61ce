from django.apps import AppConfig


class SftpdropConfig(AppConfig):
    name = "sftpdrop"
    verbose_name = "SFTP drop"
