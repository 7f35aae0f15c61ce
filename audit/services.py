"""Writing the audit log. Every service that changes something an auditor asks about calls `audit_record`."""

from typing import Any

from audit.context import current_ip
from audit.models import AuditEntry, Kind


def audit_record(
    *,
    kind: Kind | str,
    action: str,
    summary: str,
    account=None,
    actor=None,
    actor_name: str = "",
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Append one entry. `actor` is the user who did it (None for the system, a job or an unknown username, then
    `actor_name` says who was named); the address is the current request's unless given."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEntry.objects.create(
        account=account,
        kind=kind,
        action=action,
        actor=actor,
        actor_name=(actor.get_username() if actor is not None else actor_name)[:150],
        actor_is_staff=bool(actor is not None and actor.is_staff),
        ip=ip if ip is not None else current_ip(),
        summary=summary[:500],
        details=details or {},
    )


def audit_record_export(*, account, user, action: str, summary: str, details: dict, **signal) -> None:
    """The list's `exported` signal (subscribers.signals): every download of numbers or consent records is logged."""
    audit_record(kind=Kind.EXPORT, action=action, summary=summary, account=account, actor=user, details=details)
