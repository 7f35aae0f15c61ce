"""Support staff read every account's audit log here; nobody changes or deletes an entry."""

from django.contrib import admin

from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "account", "kind", "actor_name", "actor_is_staff", "ip", "summary"]
    list_filter = ["kind", "actor_is_staff", "account"]
    search_fields = ["actor_name", "summary", "ip"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
