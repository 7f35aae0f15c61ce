"""The provider's request signature: Twilio's X-Twilio-Signature over the public URL and the POST body."""

from django.conf import settings
from twilio.request_validator import RequestValidator


def public_url(request) -> str:
    """The URL the provider called: SMS_PUBLIC_URL behind a proxy, else what this request says."""
    base = settings.SMS_PUBLIC_URL.rstrip("/")
    if base:
        return base + request.get_full_path()
    return request.build_absolute_uri()


def request_is_signed(request) -> bool:
    if not settings.SMS_VERIFY_SIGNATURES:
        return True
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    params = {key: request.POST.get(key) for key in request.POST}
    return RequestValidator(token).validate(public_url(request), params, signature)
