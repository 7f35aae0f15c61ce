"""The status service: every single-number change of status or tags goes through here.

The rules themselves are the table in subscribers.transitions; this module applies them to one
number at a time, writes the opt event and keeps tags in step. The import engine applies the same
table set-based.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from subscribers import phones
from subscribers.models import Account, OptEvent, SenderNumber, Source, Subscriber, SubscriberTag, Tag
from subscribers.transitions import ALLOWED_SOURCES, Action, Change, Outcome, Refusal, State, decide


class ServiceError(Exception):
    """A change the rules refuse. `code` is machine-readable, str(exc) is a sentence for a person."""

    def __init__(self, code: str, detail: str, field: str | None = None):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field


class TransitionRefused(ServiceError):
    pass


class InvalidPhone(ServiceError):
    pass


class InvalidTag(ServiceError):
    pass


PHONE_REASON_TEXT = {
    "blank": "Enter a phone number.",
    "invalid": "This is not a valid US or Canadian phone number.",
    "not_us_ca": "Only US and Canadian numbers can receive these alerts.",
    "not_mobile": "This kind of number (toll-free, premium-rate, pager, or with an extension) cannot receive texts.",
}


@dataclass
class Cause:
    """Who or what caused a change, recorded on its opt event."""

    source: str
    user: object = None
    import_run: object = None
    message_sid: str = ""
    note: str = ""


@dataclass
class Result:
    subscriber: Subscriber | None
    outcome: Outcome
    old: State
    new: State
    created: bool = False
    tags_added: list[str] = field(default_factory=list)
    tags_removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.old != self.new or bool(self.tags_added or self.tags_removed)


def phone_normalise(value) -> str:
    """E.164 for a value a person typed, or InvalidPhone with a sentence saying why not."""
    result = phones.normalise(value)
    if result.e164 is None:
        raise InvalidPhone(result.reason, PHONE_REASON_TEXT[result.reason], field="phone")
    return result.e164


def tag_names_clean(names: Iterable[str]) -> list[str]:
    """Trimmed, de-duplicated case-insensitively (first spelling wins), empties dropped, length checked."""
    seen: dict[str, str] = {}
    for name in names:
        name = (name or "").strip()
        if not name:
            continue
        if len(name) > Tag.MAX_LENGTH:
            raise InvalidTag("tag_too_long", f"A tag is at most {Tag.MAX_LENGTH} characters: “{name[:20]}…”.", "tags")
        seen.setdefault(name.casefold(), name)
    return list(seen.values())


def tags_get_or_create(*, account: Account, names: Iterable[str]) -> list[Tag]:
    names = tag_names_clean(names)
    if not names:
        return []
    wanted = {name.lower(): name for name in names}
    existing = {
        tag.lower_name: tag
        for tag in Tag.objects.filter(account=account)
        .annotate(lower_name=Lower("name"))
        .filter(lower_name__in=list(wanted))
    }
    tags = []
    for key, name in wanted.items():
        tag = existing.get(key)
        if tag is None:
            try:
                with transaction.atomic():
                    tag = Tag.objects.create(account=account, name=name)
            except IntegrityError:  # created meanwhile by someone else
                tag = Tag.objects.annotate(lower_name=Lower("name")).get(account=account, lower_name=key)
        tags.append(tag)
    return tags


def _lock_subscriber(account: Account, phone: str) -> Subscriber | None:
    return Subscriber.objects.select_for_update().filter(account=account, phone=phone).first()


def _check_source(action: Action, cause: Cause) -> None:
    if cause.source not in ALLOWED_SOURCES[action]:
        # A programming error, not a user's: e.g. an import trying to act as the phone's owner.
        raise ValueError(f"source {cause.source!r} may not {action.value}")


def _write_event(account, phone, old: State, new: State, cause: Cause, added=(), removed=(), note="") -> OptEvent:
    return OptEvent.objects.create(
        account=account,
        phone=phone,
        old_status=old.status,
        new_status=new.status,
        opted_out_by=new.opted_out_by,
        tags_added=sorted(added, key=str.lower),
        tags_removed=sorted(removed, key=str.lower),
        source=cause.source,
        user=cause.user,
        import_run=cause.import_run,
        message_sid=cause.message_sid,
        note=note or cause.note,
    )


def _tag_names(subscriber: Subscriber) -> dict[str, Tag]:
    return {tag.name.lower(): tag for tag in subscriber.tags.all()}


def _change_tags(subscriber: Subscriber, *, add: list[Tag], remove_names: Iterable[str], exact: bool) -> tuple:
    current = _tag_names(subscriber)
    wanted = {tag.name.lower(): tag for tag in add}
    if exact:
        drop = [tag for key, tag in current.items() if key not in wanted]
    else:
        removing = {name.strip().lower() for name in remove_names}
        drop = [tag for key, tag in current.items() if key in removing]
    new = [tag for key, tag in wanted.items() if key not in current]
    if drop:
        SubscriberTag.objects.filter(subscriber=subscriber, tag__in=drop).delete()
    if new:
        SubscriberTag.objects.bulk_create([SubscriberTag(subscriber=subscriber, tag=tag) for tag in new])
    return [tag.name for tag in new], [tag.name for tag in drop]


@transaction.atomic
def subscriber_apply(
    *,
    account: Account,
    phone: str,
    action: Action,
    cause: Cause,
    tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    exact_tags: bool = False,
) -> Result:
    """Apply one action of the SPEC §3 table to one number, with its tag changes and opt event.

    Refused transitions raise TransitionRefused and change nothing, tags included.
    """
    _check_source(action, cause)
    phone = phone_normalise(phone)
    tag_objs = tags_get_or_create(account=account, names=tags)
    subscriber = _lock_subscriber(account, phone)
    old = State.of(subscriber.status, subscriber.opted_out_by) if subscriber else State.NONE
    decision = decide(action, old)
    if isinstance(decision, Refusal):
        raise TransitionRefused(decision.code, decision.detail, field="phone")
    return _apply_change(account, phone, subscriber, old, decision, cause, tag_objs, remove_tags, exact_tags)


def _apply_change(account, phone, subscriber, old, decision: Change, cause, tag_objs, remove_tags, exact) -> Result:
    now = timezone.now()
    new = decision.to
    created = False
    if new is State.NONE:
        added, removed = [], []
        if subscriber is not None:
            removed = [tag.name for tag in subscriber.tags.all()]
            subscriber.delete()
            subscriber = None
    else:
        if subscriber is None:
            subscriber = Subscriber.objects.create(
                account=account, phone=phone, status=new.status, opted_out_by=new.opted_out_by,
                first_seen=now, status_changed=now,
            )  # fmt: skip
            created = True
        elif new != old:
            subscriber.status = new.status
            subscriber.opted_out_by = new.opted_out_by
            subscriber.status_changed = now
            if new.status != "opted_out":
                subscriber.removed_at = None  # the owner opted back in: back on the working list
            subscriber.save(update_fields=["status", "opted_out_by", "status_changed", "removed_at"])
        added, removed = _change_tags(subscriber, add=tag_objs, remove_names=remove_tags, exact=exact)
    result = Result(subscriber, decision.outcome, old, new, created, added, removed)
    if result.changed:
        _write_event(account, phone, old, new, cause, added, removed)
    return result


# Named entry points: what each caller means, in the words of SPEC §3.


def subscriber_opt_in(*, account: Account, phone: str, cause: Cause, tags: Iterable[str] = ()) -> Result:
    return subscriber_apply(account=account, phone=phone, action=Action.OPT_IN, cause=cause, tags=tags)


def subscriber_reactivate(*, account: Account, phone: str, cause: Cause) -> Result:
    return subscriber_apply(account=account, phone=phone, action=Action.REACTIVATE, cause=cause)


def subscriber_suspend(*, account: Account, phone: str, cause: Cause) -> Result:
    return subscriber_apply(account=account, phone=phone, action=Action.SUSPEND, cause=cause)


def subscriber_opt_out(*, account: Account, phone: str, cause: Cause) -> Result:
    return subscriber_apply(account=account, phone=phone, action=Action.OPT_OUT, cause=cause)


def subscriber_keyword_stop(*, account: Account, phone: str, message_sid: str = "") -> Result:
    cause = Cause(source=Source.KEYWORD, message_sid=message_sid)
    return subscriber_apply(account=account, phone=phone, action=Action.STOP, cause=cause)


def subscriber_keyword_start(*, account: Account, phone: str, message_sid: str = "") -> Result:
    cause = Cause(source=Source.KEYWORD, message_sid=message_sid)
    return subscriber_apply(account=account, phone=phone, action=Action.START, cause=cause)


def subscriber_request_confirmation(*, account: Account, phone: str, cause: Cause, tags: Iterable[str] = ()) -> Result:
    return subscriber_apply(account=account, phone=phone, action=Action.REQUEST, cause=cause, tags=tags)


def subscriber_confirm(*, account: Account, phone: str, message_sid: str = "") -> Result:
    cause = Cause(source=Source.DOUBLE_OPT_IN, message_sid=message_sid)
    return subscriber_apply(account=account, phone=phone, action=Action.CONFIRM, cause=cause)


def subscriber_expire(*, account: Account, phone: str) -> Result:
    return subscriber_apply(account=account, phone=phone, action=Action.EXPIRE, cause=Cause(source=Source.EXPIRY))


@transaction.atomic
def subscriber_tags_update(
    *,
    account: Account,
    phone: str,
    cause: Cause,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    exact: bool = False,
) -> Result:
    """Add and remove tags (or, with exact=True, set them to exactly `add`). Status is untouched."""
    phone = phone_normalise(phone)
    tag_objs = tags_get_or_create(account=account, names=add)
    subscriber = _lock_subscriber(account, phone)
    if subscriber is None or subscriber.removed_at is not None:
        raise TransitionRefused("not_found", "This number is not on the list.", field="phone")
    state = State.of(subscriber.status, subscriber.opted_out_by)
    added, removed = _change_tags(subscriber, add=tag_objs, remove_names=remove, exact=exact)
    result = Result(subscriber, Outcome.UNCHANGED, state, state, False, added, removed)
    if result.changed:
        _write_event(account, phone, state, state, cause, added, removed)
    return result


@transaction.atomic
def subscriber_delete(*, account: Account, phone: str, cause: Cause) -> Result:
    """Remove a number from the working list and clear its tags.

    A number its owner opted out of stays as a hidden record so that no import can add it back.
    """
    phone = phone_normalise(phone)
    subscriber = _lock_subscriber(account, phone)
    if subscriber is None or subscriber.removed_at is not None:
        raise TransitionRefused("not_found", "This number is not on the list.", field="phone")
    state = State.of(subscriber.status, subscriber.opted_out_by)
    removed = [tag.name for tag in subscriber.tags.all()]
    if state is State.OUT_SUBSCRIBER:
        SubscriberTag.objects.filter(subscriber=subscriber).delete()
        subscriber.removed_at = timezone.now()
        subscriber.save(update_fields=["removed_at"])
        _write_event(account, phone, state, state, cause, removed=removed, note="Deleted; kept as an opt-out block")
        return Result(subscriber, Outcome.UNCHANGED, state, state, False, [], removed)
    subscriber.delete()
    _write_event(account, phone, state, State.NONE, cause, removed=removed, note="Deleted")
    return Result(None, Outcome.UNCHANGED, state, State.NONE, False, [], removed)


def account_sender_add(*, account: Account, phone: str) -> SenderNumber:
    """Attach a sender number (an E.164 long code or a 5–6 digit short code) to an account."""
    raw = (phone or "").strip()
    number = raw if raw.isdigit() and len(raw) in (5, 6) else phone_normalise(raw)
    existing = SenderNumber.objects.filter(number=number).first()
    if existing is not None and existing.account_id != account.pk:
        raise ServiceError("sender_taken", f"{number} already belongs to another account.", field="sender")
    sender, _ = SenderNumber.objects.get_or_create(number=number, defaults={"account": account})
    return sender
