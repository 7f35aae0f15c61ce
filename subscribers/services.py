"""The status service: every single-number change of status or tags goes through here.

The rules themselves are the table in subscribers.transitions; this module applies them to one
number at a time, writes the opt event and keeps tags in step. The import engine applies the same
table set-based.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from alertmanager.errors import ServiceError
from subscribers import phones
from subscribers.models import (
    Account,
    Channel,
    OptEvent,
    SenderNumber,
    Source,
    Status,
    Subscriber,
    SubscriberTag,
    Tag,
    tag_key,
)
from subscribers.transitions import (
    ALLOWED_SOURCES,
    BILLABLE,
    BILLABLE_STATUSES,
    Action,
    Change,
    Outcome,
    Refusal,
    State,
    decide,
)


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
    # A revocation received by phone, email, letter…: how, and on which day (see subscriber_revocation_record).
    channel: str = ""
    received_on: object = None
    # The web widget's visitor: their address and the page the widget was on (the consent record).
    client_ip: str | None = None
    page_url: str = ""


@dataclass
class Result:
    subscriber: Subscriber | None
    outcome: Outcome
    old: State
    new: State
    created: bool = False
    tags_added: list[str] = field(default_factory=list)
    tags_removed: list[str] = field(default_factory=list)
    # The number's tags after the change, when the service read them anyway (None: not read).
    tags: list[str] | None = None
    # Billed as new: opted in (or pending) in the account for the first time (SPEC §3, issue 18 item 7).
    is_new: bool = False

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
        seen.setdefault(tag_key(name), name)
    return list(seen.values())


def tags_get_or_create(*, account: Account, names: Iterable[str]) -> list[Tag]:
    names = tag_names_clean(names)
    if not names:
        return []
    wanted = {tag_key(name): name for name in names}
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
                tag = Tag.objects.filter(account=account).named(name).get()
        tags.append(tag)
    return tags


def _lock_subscriber(account: Account, phone: str) -> tuple[Subscriber | None, list[Tag]]:
    """The number, locked until the transaction ends, and its tags."""
    subscriber, tags = _locked_with_tags(account, phone)
    if subscriber is None and connection.vendor == "postgresql":
        # No row to lock: two requests for one new number would both insert it, and one would fail on the unique
        # constraint. A lock on the number itself makes the second wait, then find the first one's row.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(7302, hashtext(%s))", [f"{account.pk}:{phone}"])
        subscriber, tags = _locked_with_tags(account, phone)
    return subscriber, tags


_SUBSCRIBER_FIELDS = [f.attname for f in Subscriber._meta.concrete_fields]


def _locked_with_tags(account: Account, phone: str) -> tuple[Subscriber | None, list[Tag]]:
    # One query, the number joined to its tags (a row per tag), locking only the number's row: reading the
    # tags apart was one more round trip on every API change (docs/benchmarks.md).
    rows = (
        Subscriber.objects.select_for_update(of=("self",))
        .filter(account=account, phone=phone)
        .values_list(*_SUBSCRIBER_FIELDS, "tags__id", "tags__name")
    )
    found = list(rows)
    if not found:
        return None, []
    subscriber = Subscriber.from_db(rows.db, _SUBSCRIBER_FIELDS, found[0][:-2])
    tags = [
        Tag.from_db(rows.db, ["id", "account_id", "name"], [tag_id, account.pk, name])
        for *_, tag_id, name in found
        if tag_id is not None
    ]
    return subscriber, tags


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
        channel=cause.channel,
        received_on=cause.received_on,
        client_ip=cause.client_ip or None,
        page_url=(cause.page_url or "")[:500],
    )


def _change_tags(
    subscriber: Subscriber, *, current: list[Tag], add: list[Tag], remove_names: Iterable[str], exact: bool
) -> tuple:
    """(names added, names removed, the number's names after the change); `current`: its tags before."""
    held = {tag_key(tag.name): tag for tag in current}
    wanted = {tag_key(tag.name): tag for tag in add}
    if exact:
        drop = [tag for key, tag in held.items() if key not in wanted]
    else:
        removing = {tag_key(name) for name in remove_names}
        drop = [tag for key, tag in held.items() if key in removing]
    new = [tag for key, tag in wanted.items() if key not in held]
    if drop:
        SubscriberTag.objects.filter(subscriber=subscriber, tag__in=drop).delete()
    if new:
        SubscriberTag.objects.bulk_create([SubscriberTag(subscriber=subscriber, tag=tag) for tag in new])
    after = [tag.name for tag in held.values() if tag not in drop] + [tag.name for tag in new]
    return [tag.name for tag in new], [tag.name for tag in drop], after


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
    language: str = "",
) -> Result:
    """Apply one action of the SPEC §3 table to one number, with its tag changes and opt event.

    `language` (en, es, fr), when given, becomes the number's language. Refused transitions raise
    TransitionRefused and change nothing, tags and language included.
    """
    _check_source(action, cause)
    language = language_clean(language) if language else ""
    phone = phone_normalise(phone)
    tag_objs = tags_get_or_create(account=account, names=tags)
    subscriber, current = _lock_subscriber(account, phone)
    old = State.of(subscriber.status, subscriber.opted_out_by) if subscriber else State.NONE
    decision = decide(action, old)
    if isinstance(decision, Refusal):
        raise TransitionRefused(decision.code, decision.detail, field="phone")
    return _apply_change(
        account, phone, subscriber, current, old, decision, cause, tag_objs, remove_tags, exact_tags, language
    )


def _apply_change(
    account, phone, subscriber, current, old, decision: Change, cause, tag_objs, remove_tags, exact, language=""
) -> Result:
    now = timezone.now()
    new = decision.to
    created = False
    if new is State.NONE:
        added, removed, after = [], [], []
        if subscriber is not None:
            removed = [tag.name for tag in current]
            subscriber.delete()
            subscriber = None
    else:
        if subscriber is None:
            subscriber = Subscriber.objects.create(
                account=account, phone=phone, status=new.status, opted_out_by=new.opted_out_by,
                first_seen=now, status_changed=now, language=language or "en",
            )  # fmt: skip
            created = True
        elif language and subscriber.language != language:
            subscriber.language = language
            subscriber.save(update_fields=["language"])
        if not created and new != old:
            subscriber.status = new.status
            subscriber.opted_out_by = new.opted_out_by
            subscriber.status_changed = now
            if new.status != "opted_out":
                subscriber.removed_at = None  # the owner opted back in: back on the working list
            subscriber.save(update_fields=["status", "opted_out_by", "status_changed", "removed_at"])
        added, removed, after = _change_tags(
            subscriber, current=current, add=tag_objs, remove_names=remove_tags, exact=exact
        )
    result = Result(subscriber, decision.outcome, old, new, created, added, removed, after)
    result.is_new = _becomes_billable(account, phone, old, new)
    if result.changed:
        _write_event(account, phone, old, new, cause, added, removed)
    return result


def _becomes_billable(account: Account, phone: str, old: State, new: State) -> bool:
    """Whether this change makes the number opted in or pending in the account for the first time (before its
    event is written). A suspended number was opted in before; an opt-out of a number never seen is not new."""
    if new not in BILLABLE or old in (*BILLABLE, State.SUSPENDED):
        return False
    return not OptEvent.objects.filter(account=account, phone=phone, new_status__in=BILLABLE_STATUSES).exists()


# Named entry points: what each caller means, in the words of SPEC §3.


def subscriber_opt_in(
    *, account: Account, phone: str, cause: Cause, tags: Iterable[str] = (), language: str = ""
) -> Result:
    return subscriber_apply(
        account=account, phone=phone, action=Action.OPT_IN, cause=cause, tags=tags, language=language
    )


def subscriber_reactivate(*, account: Account, phone: str, cause: Cause) -> Result:
    return subscriber_apply(account=account, phone=phone, action=Action.REACTIVATE, cause=cause)


def subscriber_suspend(*, account: Account, phone: str, cause: Cause) -> Result:
    return subscriber_apply(account=account, phone=phone, action=Action.SUSPEND, cause=cause)


def subscriber_opt_out(*, account: Account, phone: str, cause: Cause) -> Result:
    return subscriber_apply(account=account, phone=phone, action=Action.OPT_OUT, cause=cause)


def subscriber_keyword_stop(*, account: Account, phone: str, message_sid: str = "", language: str = "") -> Result:
    cause = Cause(source=Source.KEYWORD, message_sid=message_sid, channel=Channel.SMS)
    return subscriber_apply(account=account, phone=phone, action=Action.STOP, cause=cause, language=language)


def subscriber_keyword_start(*, account: Account, phone: str, message_sid: str = "", language: str = "") -> Result:
    cause = Cause(source=Source.KEYWORD, message_sid=message_sid, channel=Channel.SMS)
    return subscriber_apply(account=account, phone=phone, action=Action.START, cause=cause, language=language)


def subscriber_revocation_record(
    *, account: Account, phone: str, cause: Cause, channel: str, received_on, note: str = ""
) -> Result:
    """A revocation that reached staff by phone, email, letter, in person (or a text a person read, from the inbox).

    The owner asked, so it is the owner's opt-out (opted_out_by=subscriber), applied at once, and only the
    owner can lift it. Its opt event keeps the channel, the day it was received and the note.
    """
    if channel not in Channel.values:
        raise ServiceError("channel", "Choose how the request was received.", field="channel")
    if received_on is None:
        raise ServiceError("received_on", "Enter the day the request was received.", field="received_on")
    if received_on > timezone.localdate():
        raise ServiceError("received_on", "The day it was received cannot be in the future.", field="received_on")
    note = (note or "").strip()
    if len(note) > 200:
        raise ServiceError("note", "A note is at most 200 characters.", field="note")
    cause = Cause(
        source=cause.source, user=cause.user, message_sid=cause.message_sid, note=note or cause.note, channel=channel,
        received_on=received_on,
    )  # fmt: skip
    return subscriber_apply(account=account, phone=phone, action=Action.STOP, cause=cause)


def language_clean(value: str) -> str:
    """en, es or fr from what a person or a file gave ("ES", "Spanish", "español"), or ServiceError."""
    raw = (value or "").strip().casefold()
    names = {"en": "en", "english": "en", "anglais": "en", "ingles": "en", "inglés": "en",
             "es": "es", "spanish": "es", "espanol": "es", "español": "es", "espagnol": "es",
             "fr": "fr", "french": "fr", "francais": "fr", "français": "fr", "frances": "fr", "francés": "fr"}  # fmt: skip
    found = names.get(raw) or names.get(raw.split("-")[0].split("_")[0])
    if not found:
        raise ServiceError("language", "The language must be en, es or fr.", field="language")
    return found


@transaction.atomic
def subscriber_language_set(*, account: Account, phone: str, language: str) -> Subscriber:
    """Set the language a listed number is texted in. Not a status change, so no opt event."""
    language = language_clean(language)
    phone = phone_normalise(phone)
    subscriber, _ = _lock_subscriber(account, phone)
    if subscriber is None or subscriber.removed_at is not None:
        raise TransitionRefused("not_found", "This number is not on the list.", field="phone")
    if subscriber.language != language:
        subscriber.language = language
        subscriber.save(update_fields=["language"])
    return subscriber


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
    subscriber, current = _lock_subscriber(account, phone)
    if subscriber is None or subscriber.removed_at is not None:
        raise TransitionRefused("not_found", "This number is not on the list.", field="phone")
    state = State.of(subscriber.status, subscriber.opted_out_by)
    added, removed, after = _change_tags(subscriber, current=current, add=tag_objs, remove_names=remove, exact=exact)
    result = Result(subscriber, Outcome.UNCHANGED, state, state, False, added, removed, after)
    if result.changed:
        _write_event(account, phone, state, state, cause, added, removed)
    return result


@transaction.atomic
def subscriber_delete(*, account: Account, phone: str, cause: Cause) -> Result:
    """Remove a number from the working list and clear its tags.

    An opted-out number, whoever opted it out (its owner or the utility), stays as a hidden record so that no
    import, API call or manager can add it back: only its owner can (START, a keyword, YES).
    """
    phone = phone_normalise(phone)
    subscriber, current = _lock_subscriber(account, phone)
    if subscriber is None or subscriber.removed_at is not None:
        raise TransitionRefused("not_found", "This number is not on the list.", field="phone")
    state = State.of(subscriber.status, subscriber.opted_out_by)
    removed = [tag.name for tag in current]
    if state in _BLOCKS:
        SubscriberTag.objects.filter(subscriber=subscriber).delete()
        subscriber.removed_at = timezone.now()
        subscriber.save(update_fields=["removed_at"])
        _write_event(account, phone, state, state, cause, removed=removed, note="Deleted; kept as an opt-out block")
        return Result(subscriber, Outcome.UNCHANGED, state, state, False, [], removed)
    subscriber.delete()
    _write_event(account, phone, state, State.NONE, cause, removed=removed, note="Deleted")
    return Result(None, Outcome.UNCHANGED, state, State.NONE, False, [], removed)


# What a deletion keeps as a hidden block: a hard opt-out survives deletion whoever made it (issue 18 item 8).
_BLOCKS = (State.OUT_SUBSCRIBER, State.OUT_CUSTOMER)


def account_sender_add(*, account: Account, phone: str) -> SenderNumber:
    """Attach a sender number (an E.164 long code or a 5–6 digit short code) to an account."""
    raw = (phone or "").strip()
    number = raw if raw.isdigit() and len(raw) in (5, 6) else phone_normalise(raw)
    existing = SenderNumber.objects.filter(number=number).first()
    if existing is not None and existing.account_id != account.pk:
        raise ServiceError("sender_taken", f"{number} already belongs to another account.", field="sender")
    sender, _ = SenderNumber.objects.get_or_create(number=number, defaults={"account": account})
    return sender


# Set-based changes for a selection of numbers (the list's bulk actions, a tag's rename, merge and
# delete). They follow the same table as subscriber_apply, one starting state at a time, and write
# one opt event per number changed, in SQL so that a selection of a million numbers is not a
# million round trips.


@dataclass
class BulkResult:
    changed: int = 0
    unchanged: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # refusal code -> how many numbers

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())


def _json_sql() -> str:
    """A JSON parameter in an INSERT … SELECT: PostgreSQL needs the type spelled out."""
    return "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"


def _selection_sql(account: Account, selection) -> tuple[str, list]:
    """The ids of `selection`, always narrowed to the account's listed numbers."""
    ids = selection.filter(account=account, removed_at__isnull=True).order_by().values("id")
    sql, params = ids.query.sql_with_params()
    return sql, list(params)


def _lock_selection(sel_sql: str, sel_params: list) -> None:
    # SQLite takes the whole database for the transaction (IMMEDIATE); PostgreSQL locks the rows so
    # that an import or a text arriving meanwhile cannot slip between the event and the update.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM (SELECT id FROM subscribers_subscriber WHERE id IN ({sel_sql}) FOR UPDATE) AS locked",
                sel_params,
            )


def _insert_events_sql(
    where: str, *, old: str = "%s", new: str = "%s", by: str = "%s", removed: str | None = None
) -> str:
    """One opt event per number matching `where`. Parameters, in order: the ones of old/new/by/removed
    left as %s, tags_added (JSON), source, user id, note, created_at, then those of `where`."""
    return (
        "INSERT INTO subscribers_optevent (account_id, phone, old_status, new_status, opted_out_by, tags_added,"
        " tags_removed, source, user_id, import_run_id, message_sid, note, created_at)"
        f" SELECT s.account_id, s.phone, {old}, {new}, {by}, {_json_sql()}, {removed or _json_sql()}, %s, %s, NULL, '', %s, %s"
        f" FROM subscribers_subscriber s WHERE {where}"
    )


def _cause_params(cause: Cause) -> tuple:
    return (cause.source, getattr(cause.user, "pk", None))


def _now_param():
    return connection.ops.adapt_datetimefield_value(timezone.now())


@transaction.atomic
def subscribers_bulk_apply(*, account: Account, selection, action: Action, cause: Cause) -> BulkResult:
    """Apply one action of the SPEC §3 table to every number of `selection` (a Subscriber queryset).

    Numbers the rules refuse are counted by reason and left as they are; the others change and
    get an opt event each, exactly as subscriber_apply would write it.
    """
    _check_source(action, cause)
    sel_sql, sel_params = _selection_sql(account, selection)
    _lock_selection(sel_sql, sel_params)
    result = BulkResult()
    now = _now_param()
    table = Subscriber._meta.db_table
    for state in State:
        if state is State.NONE:
            continue
        where = "s.account_id = %s AND s.status = %s AND s.opted_out_by = %s AND s.removed_at IS NULL"
        where_params = [account.pk, state.status, state.opted_out_by]
        decision = decide(action, state)
        with connection.cursor() as cursor:
            if isinstance(decision, Refusal) or decision.to == state:
                cursor.execute(
                    f"SELECT count(*) FROM {table} s WHERE {where} AND s.id IN ({sel_sql})",
                    [*where_params, *sel_params],
                )
                n = cursor.fetchone()[0]
                if isinstance(decision, Refusal) and n:
                    result.refused[decision.code] = result.refused.get(decision.code, 0) + n
                else:
                    result.unchanged += n
                continue
            if decision.to is State.NONE:
                raise ValueError(f"{action} removes numbers: not a bulk action")
            new = decision.to
            cursor.execute(
                _insert_events_sql(f"{where} AND s.id IN ({sel_sql})"),
                [
                    state.status,
                    new.status,
                    new.opted_out_by,
                    "[]",
                    "[]",
                    *_cause_params(cause),
                    "",
                    now,
                    *where_params,
                    *sel_params,
                ],
            )
            # Opting back in (only the owner can) would also bring a deleted block back; managers cannot.
            cursor.execute(
                f"UPDATE {table} SET status = %s, opted_out_by = %s, status_changed = %s"
                f" WHERE account_id = %s AND status = %s AND opted_out_by = %s AND removed_at IS NULL AND id IN ({sel_sql})",
                [new.status, new.opted_out_by, now, *where_params, *sel_params],
            )
            result.changed += cursor.rowcount
    return result


def _tag_names_json_sql() -> str:
    """Per number, its tags' names as a JSON array sorted case-insensitively (for a deletion's event)."""
    join = "FROM subscribers_subscribertag st JOIN subscribers_tag t ON t.id = st.tag_id WHERE st.subscriber_id = s.id"
    if connection.vendor == "postgresql":
        return f"COALESCE((SELECT jsonb_agg(t.name ORDER BY lower(t.name)) {join}), '[]'::jsonb)"
    return f"COALESCE((SELECT json_group_array(name) FROM (SELECT t.name AS name {join} ORDER BY lower(t.name))), '[]')"


@transaction.atomic
def subscribers_bulk_delete(*, account: Account, selection, cause: Cause) -> BulkResult:
    """subscriber_delete for a selection: opted-out numbers (by their owners or the utility) stay hidden as blocks."""
    sel_sql, sel_params = _selection_sql(account, selection)
    _lock_selection(sel_sql, sel_params)
    now = _now_param()
    table = Subscriber._meta.db_table
    result = BulkResult()
    kept = Status.OPTED_OUT
    with connection.cursor() as cursor:
        block = "s.account_id = %s AND s.status = %s AND s.removed_at IS NULL"
        block_params = [account.pk, kept]
        cursor.execute(
            _insert_events_sql(
                f"{block} AND s.id IN ({sel_sql})", old="s.status", new="s.status", by="s.opted_out_by",
                removed=_tag_names_json_sql(),
            ),
            ["[]", *_cause_params(cause), "Deleted; kept as an opt-out block", now, *block_params, *sel_params],
        )  # fmt: skip
        blocked_ids = f"SELECT s.id FROM {table} s WHERE {block} AND s.id IN ({sel_sql})"
        cursor.execute(
            f"DELETE FROM subscribers_subscribertag WHERE subscriber_id IN ({blocked_ids})",
            [*block_params, *sel_params],
        )
        cursor.execute(
            f"UPDATE {table} SET removed_at = %s WHERE account_id = %s AND status = %s"
            f" AND removed_at IS NULL AND id IN ({sel_sql})",
            [now, *block_params, *sel_params],
        )
        result.changed += cursor.rowcount
        rest = "s.account_id = %s AND s.status <> %s AND s.removed_at IS NULL"
        cursor.execute(
            _insert_events_sql(
                f"{rest} AND s.id IN ({sel_sql})", old="s.status", new="''", by="''", removed=_tag_names_json_sql()
            ),
            ["[]", *_cause_params(cause), "Deleted", now, *block_params, *sel_params],
        )
        doomed = f"SELECT s.id FROM {table} s WHERE {rest} AND s.id IN ({sel_sql})"
        cursor.execute(
            f"DELETE FROM subscribers_subscribertag WHERE subscriber_id IN ({doomed})", [*block_params, *sel_params]
        )
        cursor.execute(
            f"DELETE FROM {table} WHERE account_id = %s AND status <> %s AND removed_at IS NULL AND id IN ({sel_sql})",
            [*block_params, *sel_params],
        )
        result.changed += cursor.rowcount
    return result


def _state_sql(where: str) -> dict:
    """Events that record a tag change and leave the status as it is."""
    return {"old": "s.status", "new": "s.status", "by": "s.opted_out_by", "where": where}


def _tag_events(cursor, where: str, params: list, cause: Cause, *, added=(), removed=(), note="") -> None:
    spec = _state_sql(where)
    cursor.execute(
        _insert_events_sql(spec["where"], old=spec["old"], new=spec["new"], by=spec["by"]),
        [json.dumps(list(added)), json.dumps(list(removed)), *_cause_params(cause), note, _now_param(), *params],
    )


_HAS_TAG = "EXISTS (SELECT 1 FROM subscribers_subscribertag st WHERE st.subscriber_id = s.id AND st.tag_id = %s)"


@transaction.atomic
def subscribers_bulk_tag(*, account: Account, selection, cause: Cause, add: str = "", remove: str = "") -> BulkResult:
    """Add one tag to, or remove one tag from, every number of `selection`; status is untouched."""
    if bool(add) == bool(remove):
        raise ValueError("give exactly one of add and remove")
    sel_sql, sel_params = _selection_sql(account, selection)
    _lock_selection(sel_sql, sel_params)
    result = BulkResult()
    base = f"s.account_id = %s AND s.removed_at IS NULL AND s.id IN ({sel_sql})"
    with connection.cursor() as cursor:
        if add:
            (tag,) = tags_get_or_create(account=account, names=[add])
            where = f"{base} AND NOT {_HAS_TAG}"
            params = [account.pk, *sel_params, tag.pk]
            _tag_events(cursor, where, params, cause, added=[tag.name])
            cursor.execute(
                f"INSERT INTO subscribers_subscribertag (subscriber_id, tag_id) SELECT s.id, %s FROM subscribers_subscriber s WHERE {where}",
                [tag.pk, *params],
            )
            result.changed = cursor.rowcount
        else:
            tag = Tag.objects.filter(account=account).named(remove).first()
            if tag is None:
                raise InvalidTag("no_such_tag", f"There is no tag “{remove.strip()}” on this account.", "tag")
            where = f"{base} AND {_HAS_TAG}"
            params = [account.pk, *sel_params, tag.pk]
            _tag_events(cursor, where, params, cause, removed=[tag.name])
            cursor.execute(
                f"DELETE FROM subscribers_subscribertag WHERE tag_id = %s AND subscriber_id IN"
                f" (SELECT s.id FROM subscribers_subscriber s WHERE {where})",
                [tag.pk, *params],
            )
            result.changed = cursor.rowcount
    return result


def _tag_holders(tag: Tag) -> tuple[str, list]:
    return f"s.account_id = %s AND {_HAS_TAG}", [tag.account_id, tag.pk]


@transaction.atomic
def tag_rename(*, account: Account, tag: Tag, name: str) -> Tag:
    """Rename a tag. The numbers keep it, so no opt event is written; their history shows the old name."""
    (name,) = tag_names_clean([name]) or [""]
    if not name:
        raise InvalidTag("blank", "Enter a name.", "name")
    clash = Tag.objects.filter(account=account).named(name).exclude(pk=tag.pk)
    if clash.exists():
        raise InvalidTag("exists", f"There is already a tag “{clash.first().name}”: merge into it instead.", "name")
    tag.name = name
    tag.save(update_fields=["name"])
    return tag


@transaction.atomic
def tag_merge(*, account: Account, tag: Tag, into: Tag, cause: Cause) -> BulkResult:
    """Move every number of `tag` to `into` (recorded on each number), then delete `tag`."""
    if tag.account_id != account.pk or into.account_id != account.pk or tag.pk == into.pk:
        raise InvalidTag("bad_merge", "Choose another tag of this account to merge into.", "into")
    where, params = _tag_holders(tag)
    result = BulkResult()
    with connection.cursor() as cursor:
        lacking = f"{where} AND NOT {_HAS_TAG}"
        both = f"{where} AND {_HAS_TAG}"
        note = f"Tag “{tag.name}” merged into “{into.name}”"
        # Both sets of events first: once the numbers lacking `into` get it, they would look like the others.
        _tag_events(cursor, lacking, [*params, into.pk], cause, added=[into.name], removed=[tag.name], note=note)
        result.changed = cursor.rowcount
        _tag_events(cursor, both, [*params, into.pk], cause, removed=[tag.name], note=note)
        result.unchanged = cursor.rowcount
        cursor.execute(
            f"INSERT INTO subscribers_subscribertag (subscriber_id, tag_id) SELECT s.id, %s FROM subscribers_subscriber s WHERE {lacking}",
            [into.pk, *params, into.pk],
        )
    tag.delete()
    return result


@transaction.atomic
def tag_delete(*, account: Account, tag: Tag, cause: Cause) -> BulkResult:
    """Remove a tag from every number (each recorded) and delete it."""
    if tag.account_id != account.pk:
        raise InvalidTag("not_found", "No such tag.", "tag")
    where, params = _tag_holders(tag)
    with connection.cursor() as cursor:
        _tag_events(cursor, where, params, cause, removed=[tag.name], note=f"Tag “{tag.name}” deleted")
        changed = cursor.rowcount
    tag.delete()
    return BulkResult(changed=changed)


def tags_empty(*, account: Account):
    """The account's tags that no number on the list carries (a deleted number's links are cleared with it)."""
    held = SubscriberTag.objects.filter(tag__account=account, subscriber__removed_at__isnull=True).values("tag_id")
    return Tag.objects.filter(account=account).exclude(pk__in=held)


@transaction.atomic
def tags_remove_empty(*, account: Account) -> list[str]:
    """Delete the tags no number carries; returns their names. No number changes, so no opt event is written."""
    empty = list(tags_empty(account=account).select_for_update().order_by("name"))
    Tag.objects.filter(pk__in=[tag.pk for tag in empty]).delete()
    return [tag.name for tag in empty]


def account_guide_dismiss(*, account: Account) -> None:
    """The dashboard's first-run guide is not shown again to anyone of the account."""
    Account.objects.filter(pk=account.pk, guide_dismissed_at__isnull=True).update(guide_dismissed_at=timezone.now())
