from django.contrib import admin

from imports.models import ImportConfiguration, ImportRun


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "file_name", "started_by", "created_at"]
    list_filter = ["account"]
    search_fields = ["file_name", "account__name", "account__slug"]


@admin.register(ImportConfiguration)
class ImportConfigurationAdmin(admin.ModelAdmin):
    """Support reads every account's ALP configurations here. Read-only: an edit must make a new version that a
    manager approves again (imports.services.configuration_save), which a form in admin would skip."""

    list_display = ["name", "account", "mode", "version", "approval", "updated_at"]
    list_filter = ["mode", "account"]
    search_fields = ["name", "account__name", "account__slug"]
    list_select_related = ["account"]
    readonly_fields = ["account", "name", "field_map", "mode", "action", "version", "approved_by", "approved_at",
                       "approved_version", "retired_at", "created_by", "created_at", "updated_at"]  # fmt: skip

    @admin.display(description="Approval")
    def approval(self, obj):
        if obj.retired_at:
            return "Retired"
        return "Approved" if obj.is_approved else "Needs approval"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
