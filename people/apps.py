from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PeopleConfig(AppConfig):
    name = "people"
    verbose_name = "People and logins"

    def ready(self):
        from people.support import support_group_ensure

        post_migrate.connect(support_group_ensure, sender=self)
