"""Django admin for support staff: every account, searchable; status changes go through the service."""

import re

from django.contrib import admin, messages

from subscribers import services
from subscribers.models import Account, Membership, OptEvent, Source, Subscriber, SubscriberTag, Tag
from subscribers.services import Cause, ServiceError
from subscribers.vocabulary import LIST_ACTIONS, ListAction

# A search that is only a phone number in one of its usual shapes: (218) 555-0199, 555-0199, 218.555.0199, +1 …
_PHONE_SEARCH = re.compile(r"^\+?[\d\s().-]{4,}$")


class PhoneSearchMixin:
    """Finds a number however it is typed, as the managers' search does: the stored E.164 `+12185550199` holds
    `555-0199` only once the punctuation is gone."""

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        digits = re.sub(r"\D", "", term)
        if _PHONE_SEARCH.match(term) and len(digits) >= 4:
            if len(digits) == 11 and digits.startswith("1"):
                digits = digits[1:]
            results = results | queryset.filter(phone__contains=digits)
        return results, may_have_duplicates


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    # New members can be added here; roles change and members leave under Memberships, through the People rules.
    can_delete = False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "created_at"]
    list_filter = ["account"]
    search_fields = ["name", "account__name", "account__slug"]
    autocomplete_fields = ["account"]

    def get_readonly_fields(self, request, obj=None):
        # A tag does not move between accounts: its numbers would carry another account's tag.
        return ["account"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        try:
            services.tag_rename(account=obj.account, tag=obj, name=obj.name)
        except ServiceError as exc:
            self.message_user(request, f"{obj}: {exc.detail}", messages.ERROR)

    # Deleting a tag removes it from its numbers: the tag service records that on each number, as it does for
    # a manager on the Tags page, instead of the links vanishing by cascade.
    def delete_model(self, request, obj):
        services.tag_delete(account=obj.account, tag=obj, cause=Cause(Source.SUPPORT, user=request.user))

    def delete_queryset(self, request, queryset):
        for tag in queryset.select_related("account"):
            self.delete_model(request, tag)


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
class SubscriberAdmin(PhoneSearchMixin, admin.ModelAdmin):
    list_display = ["phone", "account", "status", "opted_out_by", "first_seen", "status_changed", "removed_at"]
    list_filter = ["status", "opted_out_by", "account", ("removed_at", admin.EmptyFieldListFilter)]
    search_fields = ["phone", "account__name", "account__slug", "tags__name"]
    list_select_related = ["account"]
    show_full_result_count = False  # counting a million rows on every page is slow
    inlines = [SubscriberTagInline]
    actions = [
        _support_action("opt_in", "Opt in (support)"),
        *(
            _support_action(action.value, f"{LIST_ACTIONS[action].label} (support)")
            for action in (ListAction.SUSPEND, ListAction.REACTIVATE, ListAction.OPT_OUT)
        ),
    ]
    # The status is changed only through the actions above, which apply the rules and record it.
    readonly_fields = ["account", "phone", "status", "opted_out_by", "first_seen", "status_changed", "removed_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OptEvent)
class OptEventAdmin(PhoneSearchMixin, admin.ModelAdmin):
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
