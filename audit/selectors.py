from datetime import datetime, time, timedelta

from audit.models import AuditEntry


def audit_entries(*, account, kind: str = "", person: str = "", date_from=None, date_to=None):
    """The account's entries, newest first; dates are days in the account's time zone."""
    qs = AuditEntry.objects.filter(account=account)
    if kind:
        qs = qs.filter(kind=kind)
    if person:
        qs = qs.filter(actor_name__iexact=person.strip())
    tz = account.tzinfo
    if date_from:
        qs = qs.filter(created_at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
    if date_to:
        qs = qs.filter(created_at__lt=datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz))
    return qs.order_by("-created_at", "-id")
