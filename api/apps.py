from django.apps import AppConfig
from django.db.models.signals import post_delete


def _forget_deleted_key(sender, instance, **kwargs):
    from api.services import api_key_forget

    # A key deleted in Django admin, or with its account, must stop working at once, like a revoked one.
    api_key_forget(api_key=instance)


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"

    def ready(self):
        post_delete.connect(_forget_deleted_key, sender=self.get_model("ApiKey"), dispatch_uid="api_key_forget")
