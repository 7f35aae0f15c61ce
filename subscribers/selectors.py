"""Reads that span models: the dashboard's figures."""

from django.db.models import Count, Q

from subscribers.models import Account, OptEvent, Status, Subscriber, Tag


def status_counts(*, account: Account) -> dict[str, int]:
    rows = Subscriber.objects.listed().filter(account=account).values("status").annotate(n=Count("id"))
    counts = {status: 0 for status in Status.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def top_tags(*, account: Account, limit: int = 10) -> list[Tag]:
    """The tags carried by the most opted-in numbers."""
    return list(
        Tag.objects.filter(account=account)
        .annotate(opted_in=Count("subscribers", filter=Q(subscribers__status=Status.OPTED_IN)))
        .order_by("-opted_in", "name")[:limit]
    )


def latest_events(*, account: Account, limit: int = 10) -> list[OptEvent]:
    return list(OptEvent.objects.filter(account=account).select_related("user").order_by("-created_at", "-id")[:limit])
