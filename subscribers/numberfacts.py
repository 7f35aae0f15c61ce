"""What other apps know about each number, for the list to filter on and show without importing them.

The core of subscribers imports no other app (pyproject.toml), yet the list filters on what the carriers say
about a number, and the export and the API's number detail show it. So the list offers this extension point:
an app that knows facts about numbers registers a provider from its ``AppConfig.ready()`` (lines does), and
the list asks the registered providers. Each fact is an annotation on ``Subscriber`` rows, correlated on the
row's account and phone, so a page of any size still costs one query.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from django.db.models import QuerySet
from django.db.models.expressions import BaseExpression


@dataclass(frozen=True)
class Fact:
    """One fact about a number: a column of the export and a field of the API's number detail."""

    name: str  # the API's field
    header: str  # the export's column
    expression: Callable[[], BaseExpression]  # built afresh for each query, on Subscriber rows
    cell: Callable[[Any], str]  # the annotated value as the export writes it
    value: Callable[[Any], Any]  # the annotated value as the API gives it

    @property
    def annotation(self) -> str:
        # Prefixed so that a fact never shadows a field of Subscriber.
        return f"fact_{self.name}"


class NumberFactsProvider(Protocol):
    facts: tuple[Fact, ...]

    def filter_choices(self) -> list[tuple[str, str]]:
        """(value, label) for the list's filter on these facts, without the "any" choice."""
        ...

    def filter(self, queryset: QuerySet, value: str) -> QuerySet:
        """The numbers of ``queryset`` that match one of ``filter_choices``."""
        ...


_providers: list[NumberFactsProvider] = []


def register(provider: NumberFactsProvider) -> None:
    # Registered twice, a provider's columns would be exported twice.
    if provider not in _providers:
        _providers.append(provider)


def facts() -> list[Fact]:
    """Every registered fact, in the order the providers registered and listed them."""
    return [fact for provider in _providers for fact in provider.facts]


def annotate(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(**{fact.annotation: fact.expression() for fact in facts()})


def filter_choices() -> list[tuple[str, str]]:
    return [choice for provider in _providers for choice in provider.filter_choices()]


def filter_by(queryset: QuerySet, value: str) -> QuerySet:
    """The numbers whose facts match ``value``, one of ``filter_choices``; none for a value no provider offers."""
    for provider in _providers:
        if value in {choice for choice, _ in provider.filter_choices()}:
            return provider.filter(queryset, value)
    return queryset.none()
