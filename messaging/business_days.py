"""Business days, for the law's clock on texts a person has to read (Monday to Friday)."""

from datetime import timedelta


def business_days_between(start, end) -> int:
    """Business days from `start` to `end` (negative when `end` has passed)."""
    if end is None:
        return 0
    sign, (a, b) = (1, (start, end)) if end >= start else (-1, (end, start))
    days = 0
    while a < b:
        a += timedelta(days=1)
        if a.weekday() < 5:
            days += 1
    return sign * days


def business_days_after(day, count: int):
    """The day `count` business days (Monday to Friday; public holidays are not known) after `day`."""
    while count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day
