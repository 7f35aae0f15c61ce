"""Strict readers of the environment for the settings that name a choice or list numbers.

A typo in these used to surface at the first job that read the setting (a gateway that does not exist, a retry
interval that is not a number); read here, it stops the start-up with the variable's name and what it may be.
"""

import os
import re

from django.core.exceptions import ImproperlyConfigured

# A class path has the shape package.module.Class; whether it imports is known only once the apps are loaded.
_CLASS_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def env_seconds_list(name: str, default: list[int]) -> list[int]:
    """Comma-separated whole seconds, each at least 1, e.g. "10,60,300"."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return list(default)
    seconds = []
    for item in value.split(","):
        item = item.strip()
        if not item.isascii() or not item.isdigit() or int(item) < 1:
            raise ImproperlyConfigured(
                f"{name} must be whole seconds of at least 1, separated by commas (e.g. 10,60,300), "
                f"not {value!r}: {item!r} is not one"
            )
        seconds.append(int(item))
    return seconds


def env_choice(name: str, default: str, choices: tuple[str, ...], *, class_path: bool = True) -> str:
    """One of `choices` ("" among them for a setting that may be off), or else a class path when allowed."""
    value = (os.environ.get(name) or "").strip()
    if not value:
        return default
    if value in choices or (class_path and _CLASS_PATH.fullmatch(value)):
        return value
    named = ", ".join(choice for choice in choices if choice) or ""
    allowed = " or ".join(part for part in (named, "a class path (package.module.Class)" if class_path else "") if part)
    if "" in choices:
        allowed += ", or empty (off)"
    raise ImproperlyConfigured(f"{name} must be {allowed}, not {value!r}")
