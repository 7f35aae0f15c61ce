"""Support staff see every account's registrations; submitting stays on the manager's pages."""

from django.contrib import admin

from registration.models import Brand, Campaign, TextingNumber


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["legal_name", "account", "status", "submitted_at", "decided_at"]
    list_filter = ["status"]
    search_fields = ["legal_name", "account__name", "tax_id", "registry_reference"]
    readonly_fields = ["status", "failure_reason", "registry_reference", "attempt", "submitted_at", "decided_at"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["account", "use_case", "status", "submitted_at", "decided_at"]
    list_filter = ["status", "use_case"]
    search_fields = ["account__name", "registry_reference"]
    readonly_fields = ["status", "failure_reason", "registry_reference", "attempt", "submitted_at", "decided_at"]


@admin.register(TextingNumber)
class TextingNumberAdmin(admin.ModelAdmin):
    list_display = ["phone", "user", "account", "sms_enabled"]
    list_filter = ["sms_enabled"]
    search_fields = ["phone", "user__username", "account__name"]
    readonly_fields = ["sms_enabled"]
