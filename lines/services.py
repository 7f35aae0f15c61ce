"""What the carriers' answers change: delivery receipts, the unreachable flag, the account's landline policy.

A change of status (the carrier's opt-out block) is asked of subscribers.services like every other; the line
type and the unreachable flag are this app's own, each change recorded as a LineEvent with its receipt.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from lines.models import LandlinePolicy, LineEvent, LineEventKind, LineSettings, LineType, NumberLine
from subscribers import services as status_service
from subscribers.models import Account, Source
from subscribers.services import Cause
from subscribers.transitions import Action

# Twilio's error codes, as its status callbacks give them (ErrorCode).
CARRIER_OPT_OUT = frozenset({"21610"})  # the recipient texted STOP to the carrier: "unsubscribed recipient"
NOT_MOBILE = frozenset({"21614", "30006"})  # "not a valid mobile number", "landline or unreachable carrier"
UNREACHABLE = frozenset({"30003", "30005"})  # "unreachable destination handset", "unknown destination handset"

RECEIPT_BY = "delivery receipt"


def line_settings_get(*, account: Account) -> LineSettings:
    found = LineSettings.objects.filter(account=account).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return LineSettings.objects.create(account=account)
    except IntegrityError:  # created meanwhile
        return LineSettings.objects.get(account=account)


def line_settings_update(*, account: Account, landline_policy: str) -> LineSettings:
    if landline_policy not in LandlinePolicy.values:
        raise status_service.ServiceError("landline_policy", "Choose what a landline means.", field="landline_policy")
    current = line_settings_get(account=account)
    current.landline_policy = landline_policy
    current.updated_at = timezone.now()
    current.save(update_fields=["landline_policy", "updated_at"])
    return current


def _locked_line(account_id: int, phone: str) -> NumberLine:
    line, _ = NumberLine.objects.get_or_create(account_id=account_id, phone=phone)
    return NumberLine.objects.select_for_update().get(pk=line.pk)


@dataclass
class ReceiptEffect:
    kind: str = ""  # a LineEventKind, or "" when the receipt changed nothing

    @property
    def opted_out(self) -> bool:
        return self.kind == LineEventKind.CARRIER_OPT_OUT


@transaction.atomic
def line_receipt_apply(
    *, account: Account, phone: str, message_sid: str, delivered: bool, error_code: str
) -> ReceiptEffect:
    """One delivery receipt of a text to `phone`: what it tells about the number (SPEC §5, issue 22).

    - 21610, the carrier's own opt-out block: opted out by its owner, as a STOP would.
    - 21614 or 30006, not a mobile: the line type becomes landline.
    - ALERT_UNREACHABLE_AFTER consecutive 30003/30005: flagged unreachable, blocked from alerts.
    - a delivery: the count of failures starts again, and an unreachable flag is lifted.
    A receipt repeated for the same text counts once.
    """
    code = (error_code or "").strip()
    if code in CARRIER_OPT_OUT:
        cause = Cause(
            source=Source.CARRIER, message_sid=message_sid,
            note=f"Delivery receipt {code}: the carrier blocks texts to this number because its owner opted out",
        )  # fmt: skip
        result = status_service.subscriber_apply(account=account, phone=phone, action=Action.STOP, cause=cause)
        if result.changed:
            LineEvent.objects.create(
                account=account, phone=phone, kind=LineEventKind.CARRIER_OPT_OUT, message_sid=message_sid,
                error_code=code, note="Opted out by its owner (the carrier's opt-out block)",
            )  # fmt: skip
            return ReceiptEffect(LineEventKind.CARRIER_OPT_OUT)
        return ReceiptEffect()
    if not delivered and code not in NOT_MOBILE and code not in UNREACHABLE:
        return ReceiptEffect()  # another failure: says nothing about the line
    line = _locked_line(account.pk, phone)
    repeat = bool(message_sid) and line.last_receipt_sid == message_sid
    now = timezone.now()
    if delivered:
        line.failures = 0
        kind = ""
        if line.unreachable_since is not None:
            line.unreachable_since = None
            kind = LineEventKind.REACHABLE
            _event(account, phone, kind, message_sid, code, "A text was delivered: alerts go to it again")
        line.last_receipt_sid = message_sid
        line.save(update_fields=["failures", "unreachable_since", "last_receipt_sid"])
        return ReceiptEffect(kind)
    if repeat:
        return ReceiptEffect()
    line.last_receipt_sid = message_sid
    if code in NOT_MOBILE:
        changed = line.line_type != LineType.LANDLINE
        line.line_type = LineType.LANDLINE
        line.checked_at = now
        line.checked_by = RECEIPT_BY
        line.save(update_fields=["line_type", "checked_at", "checked_by", "last_receipt_sid"])
        if changed:
            _event(account, phone, LineEventKind.LANDLINE, message_sid, code, "The carrier says it is not a mobile")
            return ReceiptEffect(LineEventKind.LANDLINE)
        return ReceiptEffect()
    line.failures += 1
    kind = ""
    if line.unreachable_since is None and line.failures >= settings.ALERT_UNREACHABLE_AFTER:
        line.unreachable_since = now
        kind = LineEventKind.UNREACHABLE
        _event(
            account, phone, kind, message_sid, code,
            f"{line.failures} texts in a row could not be delivered: blocked from alerts",
        )  # fmt: skip
    line.save(update_fields=["failures", "unreachable_since", "last_receipt_sid"])
    return ReceiptEffect(kind)


def _event(account, phone, kind, message_sid="", code="", note="", user=None) -> LineEvent:
    return LineEvent.objects.create(
        account=account, phone=phone, kind=kind, message_sid=message_sid, error_code=code, note=note[:300], user=user
    )


@transaction.atomic
def line_unreachable_clear(*, account: Account, phone: str, user) -> bool:
    """A manager lifts the unreachable flag: alerts go to the number again. False if it was not flagged."""
    line = NumberLine.objects.select_for_update().filter(account=account, phone=phone).first()
    if line is None or line.unreachable_since is None:
        return False
    line.unreachable_since = None
    line.failures = 0
    line.save(update_fields=["unreachable_since", "failures"])
    _event(account, phone, LineEventKind.CLEARED, note="Cleared by a manager", user=user)
    return True
