"""Twilio Lookup v2 with line type intelligence, through the `twilio` package.

One request per number (`GET /v2/PhoneNumbers/{number}?Fields=line_type_intelligence`), about a cent each.
Uses the Twilio account the texts go through (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN). TWILIO_LOOKUP_BASE_URL
sends the requests elsewhere (a proxy, or the test suite's local stand-in for Twilio).
"""

import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from lines.models import LineType
from lines.providers import LineAnswer, LineTypeProvider, LookupRefused, LookupUnavailable

# Twilio's line types, in ours. Toll-free, pager, voicemail and the rest cannot take an alert either, but they
# are not what a utility means by a landline; they stay unknown (the import refuses most of them anyway).
_TYPES = {
    "mobile": LineType.MOBILE,
    "landline": LineType.LANDLINE,
    "fixedVoip": LineType.VOIP,
    "nonFixedVoip": LineType.VOIP,
}


def _http_client(base_url: str, timeout: float):
    from twilio.http.http_client import TwilioHttpClient

    class _Client(TwilioHttpClient):
        def request(self, method, url, *args, **kwargs):
            if base_url:
                url = re.sub(r"^https://[^/]+", base_url.rstrip("/"), url)
            return super().request(method, url, *args, **kwargs)

    return _Client(timeout=timeout)


class TwilioProvider(LineTypeProvider):
    name = "twilio"
    label = "Twilio Lookup (line type intelligence)"
    rate = 25
    concurrency = 4

    def __init__(self, client=None):
        if client is None:
            from twilio.rest import Client

            if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
                raise ImproperlyConfigured("LINE_TYPE_LOOKUP=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
            client = Client(
                settings.TWILIO_ACCOUNT_SID,
                settings.TWILIO_AUTH_TOKEN,
                http_client=_http_client(settings.TWILIO_LOOKUP_BASE_URL, settings.LINE_TYPE_LOOKUP_TIMEOUT),
            )
        self.client = client

    def look_up(self, phone: str) -> LineAnswer:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            found = self.client.lookups.v2.phone_numbers(phone).fetch(fields="line_type_intelligence")
        except TwilioRestException as exc:
            if exc.status == 429 or exc.status >= 500:
                raise LookupUnavailable(f"Twilio answered {exc.status}: {exc.msg}") from exc
            if exc.status in (401, 403):
                raise LookupRefused(f"Twilio refused the credentials ({exc.status}): {exc.msg}") from exc
            return LineAnswer(LineType.UNKNOWN)  # 404 and the like: Twilio knows nothing of this number
        except TwilioException as exc:
            raise LookupUnavailable(f"Twilio could not be reached: {exc}") from exc
        except OSError as exc:  # the HTTP library's connection errors
            raise LookupUnavailable(f"Twilio could not be reached: {exc}") from exc
        info = found.line_type_intelligence or {}
        if info.get("error_code"):
            return LineAnswer(LineType.UNKNOWN, info.get("carrier_name") or "")
        return LineAnswer(_TYPES.get(info.get("type") or "", LineType.UNKNOWN), (info.get("carrier_name") or "")[:120])
