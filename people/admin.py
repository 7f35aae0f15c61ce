"""Support staff: login locks they can lift, users whose second factor they can reset, and memberships whose role
changes and removals follow the People page's rules. All go through people.services and are written to the audit
log; every other change made in admin is recorded there too."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone

from people import services
from people.models import AccountLoginSettings, LoginLock
from subscribers.models import Membership


@admin.action(description="Lift the selected locks", permissions=["change"])
def lift_locks(modeladmin, request, queryset):
    lifted = 0
    for lock in queryset.filter(lifted_at=None):
        services.login_lock_lift(lock=lock, by=request.user)
        lifted += 1
    modeladmin.message_user(request, f"Lifted {lifted} lock{'s' if lifted != 1 else ''}.", messages.SUCCESS)


@admin.register(LoginLock)
class LoginLockAdmin(admin.ModelAdmin):
    list_display = ["subject", "kind", "locked_at", "locked_until", "active", "lifted_at", "lifted_by"]
    list_filter = ["kind"]
    search_fields = ["subject"]
    readonly_fields = ["kind", "subject", "locked_at", "locked_until", "failures", "lifted_at", "lifted_by"]
    actions = [lift_locks]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description="Locked now")
    def active(self, obj):
        return obj.is_active_at(timezone.now())


@admin.register(AccountLoginSettings)
class AccountLoginSettingsAdmin(admin.ModelAdmin):
    list_display = ["account", "remember_device", "updated_at"]
    readonly_fields = ["account", "remember_device", "updated_at"]

    def has_add_permission(self, request):
        return False


@admin.action(description="Reset the second factor of the selected users", permissions=["change"])
def reset_second_factor(modeladmin, request, queryset):
    if not request.user.is_superuser:
        queryset = queryset.filter(is_superuser=False)
    for user in queryset:
        services.second_factor_reset(user=user, by=request.user, where="support admin")
    count = queryset.count()
    modeladmin.message_user(
        request,
        f"Reset the second factor of {count} user{'s' if count != 1 else ''}: they set up a new one at their next "
        "login.",
        messages.SUCCESS,
    )


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class PersonAdmin(UserAdmin):
    actions = [reset_second_factor]
    list_display = ["username", "email", "is_active", "is_staff", "last_login", "enrolled"]

    def has_change_permission(self, request, obj=None):
        # Support staff manage people, not superusers: otherwise a new password and second factor would make them one.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Support staff manage people, not powers: only a superuser grants staff status or permissions.
            fields += ["is_superuser", "is_staff", "groups", "user_permissions"]
        return fields

    @admin.display(boolean=True, description="Second factor")
    def enrolled(self, obj):
        return services.second_factor_enrolled(obj)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """A role change or a removal goes through the People rules, as on the People page: the same rules (an account
    keeps a manager; a login with no account left is deactivated) and the same audit entries."""

    list_display = ["user", "account", "role", "created_at"]
    list_filter = ["role", "account"]
    search_fields = ["user__username", "user__email", "account__name", "account__slug"]
    autocomplete_fields = ["user", "account"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "account", "created_at"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        if "role" in form.changed_data:
            try:
                services.person_role_change(membership=obj, role=obj.role, by=request.user)
            except services.PeopleError as exc:
                self.message_user(request, str(exc), messages.ERROR)

    def delete_model(self, request, obj):
        try:
            services.person_deactivate(membership=obj, by=request.user)
        except services.PeopleError as exc:
            self.message_user(request, f"{obj}: {exc}", messages.ERROR)

    def delete_queryset(self, request, queryset):
        for membership in queryset:
            self.delete_model(request, membership)
