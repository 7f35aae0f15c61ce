"""Support staff's changes in Django admin, written to the audit log of the account they touched.

Django admin reports every addition, change and deletion through three ModelAdmin hooks (which write its own
LogEntry); wrapping those once records every model's changes, ours and the libraries', with the object in hand —
before a deletion, so its account is still known.
"""

from django.contrib import admin

from audit.models import Kind
from audit.services import audit_record


def _account_of(obj):
    from subscribers.models import Account

    if isinstance(obj, Account):
        return obj
    account = getattr(obj, "account", None)
    return account if isinstance(account, Account) else None


def _record(request, obj, action: str, message="") -> None:
    meta = obj._meta
    text = f"Support {action} {meta.verbose_name} “{str(obj)[:120]}”"
    if isinstance(message, list) and message:
        changed = sorted({f for part in message for f in part.get("changed", {}).get("fields", [])})
        if changed:
            text += f" (changed: {', '.join(changed)})"
    audit_record(
        kind=Kind.SUPPORT,
        action=action,
        summary=text,
        account=_account_of(obj),
        actor=request.user,
        details={"model": meta.label_lower, "object_id": str(obj.pk)},
    )


def install() -> None:
    original_addition = admin.ModelAdmin.log_addition
    original_change = admin.ModelAdmin.log_change
    original_deletions = admin.ModelAdmin.log_deletions

    def log_addition(self, request, obj, message):
        _record(request, obj, "added", message)
        return original_addition(self, request, obj, message)

    def log_change(self, request, obj, message):
        _record(request, obj, "changed", message)
        return original_change(self, request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            _record(request, obj, "deleted")
        return original_deletions(self, request, queryset)

    admin.ModelAdmin.log_addition = log_addition
    admin.ModelAdmin.log_change = log_change
    admin.ModelAdmin.log_deletions = log_deletions
