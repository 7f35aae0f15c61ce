"""Which numbers can receive texts: the pluggable line-type check an import applies.

The check is a class named by the ``PHONE_LINE_TYPE_CHECKER`` setting, so a utility can plug in a carrier
lookup without touching the parser.  The default, ``subscribers.phones.PhonenumbersLineTypeChecker``, lives
beside the parser because its verdict is the parser's own NANP prefix decision; it is named here only as a
dotted path, so this module depends on nothing else of subscribers and ``phones`` can depend on it.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Protocol, runtime_checkable

DEFAULT_LINE_TYPE_CHECKER = "subscribers.phones.PhonenumbersLineTypeChecker"


@runtime_checkable
class LineTypeChecker(Protocol):
    """Decides which (valid, US/CA) E.164 numbers can receive texts.

    Batched so that a paid carrier-lookup service can be plugged in and asked
    once per import rather than once per row.  Numbers missing from the
    returned dict are treated as not textable.
    """

    def textable(self, e164s: list[str]) -> dict[str, bool]: ...


def _configured_checker_path() -> str:
    """Read ``PHONE_LINE_TYPE_CHECKER`` lazily so this module imports (and
    its tests run) without a configured Django project."""
    try:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured
    except ImportError:  # pragma: no cover - Django is a project dependency
        return DEFAULT_LINE_TYPE_CHECKER
    try:
        return getattr(settings, "PHONE_LINE_TYPE_CHECKER", DEFAULT_LINE_TYPE_CHECKER)
    except ImproperlyConfigured:
        return DEFAULT_LINE_TYPE_CHECKER


@cache
def load_line_type_checker(dotted_path: str) -> LineTypeChecker:
    """Instantiate the checker class at ``dotted_path`` (cached per path, so a
    checker holding an HTTP session or API token is built once)."""
    module_name, _, class_name = dotted_path.rpartition(".")
    if not module_name:
        raise ImportError(f"{dotted_path!r} is not a dotted path to a class")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except AttributeError as exc:
        raise ImportError(f"{module_name} has no {class_name}") from exc
    checker = cls()
    if not isinstance(checker, LineTypeChecker):
        raise TypeError(f"{dotted_path} has no textable(e164s) method")
    return checker


def get_line_type_checker() -> LineTypeChecker:
    # Cached per path rather than once globally so override_settings in tests
    # (or a settings change in a long-lived worker) takes effect.
    return load_line_type_checker(_configured_checker_path())


def textable_once(checker: LineTypeChecker, e164s: list[str]) -> dict[str, bool]:
    """The checker's verdict on ``e164s``, asked once with each number once: a paid lookup should not be asked
    twice."""
    return checker.textable(list(dict.fromkeys(e164s)))
