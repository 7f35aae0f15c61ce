from django.apps import AppConfig


class LinesConfig(AppConfig):
    name = "lines"
    verbose_name = "Line types and reachability"
