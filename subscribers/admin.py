"""Django admin for support staff: every account, searchable; status changes go through the service."""

from django.contrib import admin, messages

from subscribers import services
from subscribers.models import Account, Membership, OptEvent, Source, Subscriber, SubscriberTag, Tag
from subscribers.services import Cause, ServiceError


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "account", "role", "created_at"]
    list_filter = ["role", "account"]
    search_fields = ["user__username", "user__email", "account__name", "account__slug"]
    autocomplete_fields = ["user", "account"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "created_at"]
    list_filter = ["account"]
    search_fields = ["name", "account__name", "account__slug"]
    autocomplete_fields = ["account"]


class SubscriberTagInline(admin.TabularInline):
    model = SubscriberTag
    extra = 0
    autocomplete_fields = ["tag"]
    # Tags change through the service so every change is recorded as an opt event.
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _support_action(action_name: str, label: str):
    def run(modeladmin, request, queryset):
        done, refused = 0, []
        service = getattr(services, f"subscriber_{action_name}")
        for subscriber in queryset.select_related("account"):
            try:
                service(
                    account=subscriber.account, phone=subscriber.phone, cause=Cause(Source.SUPPORT, user=request.user)
                )
                done += 1
            except ServiceError as exc:
                refused.append(f"{subscriber.phone}: {exc.detail}")
        if done:
            modeladmin.message_user(request, f"{label}: {done} number(s) processed.", messages.SUCCESS)
        for line in refused[:20]:
            modeladmin.message_user(request, line, messages.WARNING)

    run.__name__ = f"support_{action_name}"
    run.short_description = label
    return run


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["phone", "account", "status", "opted_out_by", "first_seen", "status_changed", "removed_at"]
    list_filter = ["status", "opted_out_by", "account", ("removed_at", admin.EmptyFieldListFilter)]
    search_fields = ["phone", "account__name", "account__slug", "tags__name"]
    list_select_related = ["account"]
    show_full_result_count = False  # counting a million rows on every page is slow
    inlines = [SubscriberTagInline]
    actions = [
        _support_action("opt_in", "Opt in (support)"),
        _support_action("suspend", "Suspend (support)"),
        _support_action("reactivate", "Reactivate (support)"),
        _support_action("opt_out", "Opt out (support)"),
    ]
    # The status is changed only through the actions above, which apply the rules and record it.
    readonly_fields = ["account", "phone", "status", "opted_out_by", "first_seen", "status_changed", "removed_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OptEvent)
class OptEventAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "account",
        "phone",
        "old_status",
        "new_status",
        "opted_out_by",
        "source",
        "user",
        "import_run_id",
    ]
    list_filter = ["source", "new_status", "account"]
    search_fields = ["phone", "account__name", "account__slug", "message_sid"]
    list_select_related = ["account", "user"]
    show_full_result_count = False
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
