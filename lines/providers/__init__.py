"""Carrier line-type lookups, behind one small interface chosen by the LINE_TYPE_LOOKUP setting.

- `metadata`: phonenumbers' offline data; free, instant, and for US/Canada numbers mostly `unknown` (their
  numbering cannot tell a mobile from a landline).
- `simulated`: for the demo and the tests; numbers ending in 0 are landlines, in 9 VoIP, the rest mobile,
  after a short delay.
- `twilio`: Twilio Lookup v2, line type intelligence (paid, about a cent a number).
- any other value is the class path of a provider with the same shape.

A provider answers one number at a time; the lookup job (lines.lookups) does the batching, the rate limit, the
concurrency, the retries and the cache, the same for every provider.
"""

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

BACKENDS = {
    "metadata": "lines.providers.metadata.MetadataProvider",
    "simulated": "lines.providers.simulated.SimulatedProvider",
    "twilio": "lines.providers.twilio.TwilioProvider",
}


@dataclass(frozen=True)
class LineAnswer:
    line_type: str  # one of lines.models.LineType
    carrier: str = ""


class LookupUnavailable(Exception):
    """The provider could not answer now (rate limited, down, a network error): ask again later."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class LookupRefused(Exception):
    """The provider will not answer any number (bad credentials, no such service): the pass stops."""


class LineTypeProvider:
    """The interface. `rate` is lookups per second across all workers (0: no limit), `concurrency` how many
    requests one job has in flight, `paid` whether a lookup is counted on the usage page."""

    name = "provider"
    label = "A line-type provider"
    rate: float = 0
    concurrency: int = 1
    paid: bool = True

    def look_up(self, phone: str) -> LineAnswer:  # pragma: no cover - the interface
        raise NotImplementedError


@cache
def _provider_for(name: str, *_settings) -> LineTypeProvider:
    try:
        cls = import_string(BACKENDS.get(name, name))
    except ImportError as exc:
        raise ImproperlyConfigured(f"LINE_TYPE_LOOKUP must be metadata, simulated, twilio or a class path: {exc}")
    provider = cls()
    if not callable(getattr(provider, "look_up", None)):
        raise ImproperlyConfigured(f"{name} has no look_up(phone) method")
    return provider


def get_provider() -> LineTypeProvider:
    # Built once per name and credentials: a provider may hold an HTTP session.
    return _provider_for(
        settings.LINE_TYPE_LOOKUP,
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_LOOKUP_BASE_URL,
    )
