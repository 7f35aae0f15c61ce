"""What lines tells the list about each number (subscribers.numberfacts): its line type and the unreachable flag.

Registered by LinesConfig.ready(), so the list's filter, its export and the API's number detail show them
while the core of subscribers imports nothing of lines.
"""

from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery

from lines.models import LineType, NumberLine
from lines.selectors import subscribers_with_line_type
from subscribers.numberfacts import Fact

_LABELS = dict(LineType.choices)


def _line() -> QuerySet[NumberLine]:
    # One row per account and phone, so the first is the number's line.
    return NumberLine.objects.filter(account_id=OuterRef("account_id"), phone=OuterRef("phone"))


def _line_type() -> Subquery:
    return Subquery(_line().values("line_type")[:1])


def _unreachable_since() -> Subquery:
    # Not Exists(...): that adds a parameter to the API detail's SQL, which is written once and reused.
    return Subquery(_line().values("unreachable_since")[:1])


def _line_type_cell(value: str | None) -> str:
    return _LABELS.get(value or LineType.UNKNOWN, "")


def _line_type_value(value: str | None) -> str:
    return value or "unknown"  # never checked


def _unreachable_cell(since: datetime | None) -> str:
    return "" if since is None else "yes"


def _unreachable_value(since: datetime | None) -> bool:
    return since is not None


class LineFacts:
    facts = (
        Fact("line_type", "Line type", _line_type, _line_type_cell, _line_type_value),
        Fact("unreachable", "Unreachable", _unreachable_since, _unreachable_cell, _unreachable_value),
    )

    def filter_choices(self) -> list[tuple[str, str]]:
        return [*LineType.choices, ("unreachable", "Unreachable")]

    def filter(self, queryset: QuerySet, value: str) -> QuerySet:
        return subscribers_with_line_type(queryset, value)


line_facts = LineFacts()
