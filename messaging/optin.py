"""Double opt-in requests: the text that asks a number's owner to reply YES, from staff or the widget,
and their expiry after 7 days."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from alertmanager.jobqueue import enqueue
from messaging.account_settings import messaging_settings_get
from messaging.models import MessageKind, OptInRequest
from messaging.sending import send_after_commit, sender_of
from subscribers import services as status_service
from subscribers.models import Account, Source
from subscribers.services import Cause, ServiceError

REQUEST_LIFETIME = timedelta(days=7)


class WidgetLimited(ServiceError):
    pass


def opt_in_request_open(account, phone) -> OptInRequest | None:
    return (
        OptInRequest.objects.select_for_update()
        .filter(account=account, phone=phone, state=OptInRequest.State.OPEN, expires_at__gt=timezone.now())
        .order_by("-created_at")
        .first()
    )


def opt_in_requests_close(account, phone, state) -> None:
    OptInRequest.objects.filter(account=account, phone=phone, state=OptInRequest.State.OPEN).update(
        state=state, closed_at=timezone.now()
    )


@dataclass
class DoubleOptIn:
    """A double opt-in request just sent, and what the status service did to the number."""

    request: OptInRequest
    result: status_service.Result

    @property
    def phone(self) -> str:
        return self.request.phone


def double_opt_in_request(
    *, account: Account, phone: str, cause: Cause, tags=(), client_ip: str | None = None
) -> DoubleOptIn:
    """Make the number pending (through the status service) and send it the request text.

    A suspended or opted-out number keeps its status until its owner replies YES. Raises
    TransitionRefused for a number that is already opted in, InvalidPhone for a bad number, and
    ServiceError("no_sender") when the account has no number to text from. Call it outside a
    transaction (or the text goes when that transaction commits).
    """
    sender = sender_of(account)
    config = messaging_settings_get(account=account)
    with transaction.atomic():
        result = status_service.subscriber_request_confirmation(account=account, phone=phone, cause=cause, tags=tags)
        phone = result.subscriber.phone
        opt_in_requests_close(account, phone, OptInRequest.State.REPLACED)
        now = timezone.now()
        request = OptInRequest.objects.create(
            account=account, phone=phone, source=cause.source, user=cause.user, client_ip=client_ip,
            created_at=now, expires_at=now + REQUEST_LIFETIME,
        )  # fmt: skip
        send_after_commit(
            account=account, phone=phone, kind=MessageKind.REQUEST,
            body=config.text("request_text", result.subscriber.language), sender=sender,
        )  # fmt: skip
        transaction.on_commit(lambda: _schedule_expiry(request.expires_at))
    return DoubleOptIn(request, result)


def _schedule_expiry(when) -> None:
    # A minute late so the request is surely due; the job sweeps every due request, not only this one.
    enqueue("default", "messaging.jobs.opt_in_requests_expire_job", at=when + timedelta(minutes=1))


def opt_in_requests_expire(*, now=None) -> int:
    """Expire every open double opt-in request older than 7 days. Returns how many expired."""
    now = now or timezone.now()
    expired = 0
    due = OptInRequest.objects.filter(state=OptInRequest.State.OPEN, expires_at__lte=now).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            request = (
                OptInRequest.objects.select_for_update().select_related("account").filter(pk=pk, state="open").first()
            )
            if request is None:
                continue
            status_service.subscriber_expire(account=request.account, phone=request.phone)
            request.state = OptInRequest.State.EXPIRED
            request.closed_at = now
            request.save(update_fields=["state", "closed_at"])
            expired += 1
    return expired


def widget_request(*, account: Account, phone: str, client_ip: str | None, page_url: str = "") -> DoubleOptIn:
    """A double opt-in request from the public widget, within its limits.

    Raises WidgetLimited (and sends nothing) past a limit, InvalidPhone or TransitionRefused otherwise.
    """
    phone = status_service.phone_normalise(phone)
    if client_ip:
        key = f"widget-ip:{client_ip}"
        cache.add(key, 0, timeout=3600)
        try:
            attempts = cache.incr(key)
        except ValueError:
            attempts = 1
        if attempts > settings.WIDGET_LIMIT_PER_IP_PER_HOUR:
            raise WidgetLimited("ip", "Too many sign-ups from your connection. Please try again in an hour.")
    hour_ago = timezone.now() - timedelta(hours=1)
    recent = OptInRequest.objects.filter(account=account, source=Source.WIDGET, created_at__gte=hour_ago).count()
    if recent >= settings.WIDGET_LIMIT_PER_ACCOUNT_PER_HOUR:
        raise WidgetLimited("account", "We are receiving many sign-ups right now. Please try again in an hour.")
    day_ago = timezone.now() - timedelta(hours=24)
    already = OptInRequest.objects.filter(account=account, phone=phone, created_at__gte=day_ago).exists()
    # The cache key is the atomic guard against two sign-ups of one number at the same moment.
    phone_key = f"widget-phone:{account.pk}:{phone}"
    if already or not cache.add(phone_key, 1, timeout=24 * 3600):
        raise WidgetLimited(
            "phone", "We already sent a text to this number today. Reply YES to that text to confirm your sign-up."
        )
    try:
        return double_opt_in_request(
            account=account,
            phone=phone,
            cause=Cause(source=Source.WIDGET, client_ip=client_ip, page_url=page_url),
            client_ip=client_ip,
        )
    except ServiceError:
        cache.delete(phone_key)  # nothing was sent, so the number's day is not used up
        raise
