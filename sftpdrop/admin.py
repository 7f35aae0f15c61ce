"""Support staff: every account's SFTP credentials, failed logins, and blocks they can lift."""

from django.contrib import admin, messages
from django.utils import timezone

from sftpdrop import services
from sftpdrop.models import SftpAddressBlock, SftpCredential, SftpLoginFailure, SftpSettings


@admin.register(SftpCredential)
class SftpCredentialAdmin(admin.ModelAdmin):
    list_display = ["username", "account", "created_at", "last_login_at", "last_login_ip", "revoked_at"]
    list_filter = ["account"]
    search_fields = ["username", "account__name", "account__slug"]
    # Secrets are created and rotated by the account's managers, never typed in here.
    readonly_fields = [field.name for field in SftpCredential._meta.fields if field.name != "id"]

    def has_add_permission(self, request):
        return False


@admin.register(SftpSettings)
class SftpSettingsAdmin(admin.ModelAdmin):
    list_display = ["account", "preformatted_default", "configuration", "updated_at"]
    search_fields = ["account__name", "account__slug"]
    autocomplete_fields = ["account"]


@admin.register(SftpLoginFailure)
class SftpLoginFailureAdmin(admin.ModelAdmin):
    list_display = ["created_at", "ip", "username", "account", "blocked"]
    list_filter = ["blocked", "account"]
    search_fields = ["ip", "username", "account__name"]
    readonly_fields = ["account", "username", "ip", "blocked", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.action(description="Lift the block on the selected addresses")
def lift_blocks(modeladmin, request, queryset):
    lifted = 0
    for block in queryset.filter(lifted_at=None):
        services.address_block_lift(block=block, user=request.user)
        lifted += 1
    modeladmin.message_user(request, f"Lifted {lifted} block{'s' if lifted != 1 else ''}.", messages.SUCCESS)


@admin.register(SftpAddressBlock)
class SftpAddressBlockAdmin(admin.ModelAdmin):
    list_display = ["ip", "blocked_at", "blocked_until", "active", "lifted_at", "lifted_by"]
    search_fields = ["ip"]
    readonly_fields = ["ip", "blocked_at", "blocked_until", "failures", "lifted_at", "lifted_by"]
    actions = [lift_blocks]

    def has_add_permission(self, request):
        return False

    @admin.display(boolean=True, description="Blocked now")
    def active(self, obj):
        return obj.is_active_at(timezone.now())
