"""Support staff see every account's keys and may revoke one; nobody can read a key back."""

from django.contrib import admin, messages

from api import services
from api.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["account"]
    search_fields = ["name", "prefix", "account__name", "account__slug"]
    readonly_fields = [
        "account",
        "name",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    ]
    exclude = ["digest"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # a key is shown once to whoever makes it: managers make theirs in the app

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for api_key in queryset:
            services.api_key_revoke(api_key=api_key, revoked_by=request.user)
        messages.success(request, f"Revoked {queryset.count()} key(s).")
