from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self):
        from audit import admin_changes, services
        from subscribers.signals import exported

        admin_changes.install()
        exported.connect(services.audit_record_export, dispatch_uid="audit_record_export")
