"""The ManageOptin REST API (SPEC §5) at /api/v1/: django-ninja, typed, OpenAPI from the code.

Every change goes through subscribers.services, the one place the status rules live; this module
only authenticates, parses, remembers idempotent answers and shapes the replies.
"""

import base64
import binascii

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from ninja import Body, Header, NinjaAPI, Path, Query, Status
from ninja.openapi.docs import Swagger
from ninja.parser import Parser
from ninja.security import HttpBearer

from api import services as api_services
from api.errors import ApiError, error_body, install_handlers, status_for
from api.schemas import (
    EXAMPLE_PHONE,
    ConsentOut,
    ErrorOut,
    LanguageIn,
    OptInIn,
    RevocationIn,
    StatusName,
    SubscriberChangeOut,
    SubscriberOut,
    SubscriberPage,
    SubscriberReadOut,
    TagName,
    TagsIn,
    _printable,
)
from lines import selectors as line_selectors
from messaging.inbound import revocation_record
from messaging.optin import double_opt_in_request
from subscribers import selectors, services
from subscribers.models import Source, Subscriber, SubscriberTag, Tag
from subscribers.services import Cause, ServiceError, phone_normalise


class ApiKeyAuth(HttpBearer):
    """A bearer API key; also where the body cap and the per-key rate limit are applied,
    so that an over-limit or oversized request is turned away before any work is done."""

    def __init__(self, max_body_setting: str = "API_MAX_BODY_BYTES", slack: int = 0):
        super().__init__()
        self.max_body_setting = max_body_setting
        self.slack = slack  # room for a multipart body's own headers around the file

    def __call__(self, request: HttpRequest):
        limit = getattr(settings, self.max_body_setting) + self.slack
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            raise ApiError("too_large", f"The request body is larger than {limit:,} bytes.", status=413)
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, token: str):
        admitted = api_services.api_key_admit(token=token.strip())
        if admitted is None:
            return None
        api_key, wait = admitted
        if wait is not None:
            raise ApiError(
                "rate_limited",
                f"Too many requests with this key: at most {settings.API_RATE_LIMIT:g} a second. Retry shortly.",
                status=429,
                retry_after=wait,
            )
        request.account = api_key.account
        request.api_key = api_key
        return api_key


class ApiParser(Parser):
    """JSON bodies; a form post is read too, each field as a list (the only bodies are lists of tags)."""

    def parse_body(self, request: HttpRequest):
        if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            return {key: request.POST.getlist(key) for key in request.POST}
        data = super().parse_body(request)
        if data is not None and not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data


DESCRIPTION = """
The ManageOptin REST API: read and change the opt-in status and tags of your account's numbers.

**Authentication**: every request sends one of your account's API keys (made by a manager on the
*API keys* page) as `Authorization: Bearer <key>`.

**Numbers** in a path may be E.164 (`+12025550173`, URL-encoded as `%2B12025550173`) or any US/Canada
shape: `(202) 555-0173`, `202.555.0173`, `2025550173`, `1-202-555-0173`.

**Errors** always have the shape `{"error": "<code>", "detail": "<sentence>", "field": "<name or null>"}`.
A change the opt-in rules refuse (for example opting in a number that texted STOP) is a `409`.

**Idempotency**: a `POST` may carry an `Idempotency-Key` header (1–255 printable characters); a
repeat with the same key within 24 hours gets the first answer back, with `Idempotent-Replayed: true`,
and nothing is done again.

**Limits**: requests per key are rate limited (`429` with `Retry-After`); request bodies are capped (`413`).
"""

api = NinjaAPI(
    title="AlertManager ManageOptin API",
    version="1",
    description=DESCRIPTION,
    auth=ApiKeyAuth(),
    urls_namespace="api",
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False, "tryItOutEnabled": False}),
    docs_url="/docs",
    openapi_url="/openapi.json",
    parser=ApiParser(),
)
install_handlers(api)

AUTH_ERRORS = {400: ErrorOut, 401: ErrorOut, 413: ErrorOut, 422: ErrorOut, 429: ErrorOut}
CHANGE_RESPONSES = {200: SubscriberChangeOut, 404: ErrorOut, 409: ErrorOut, **AUTH_ERRORS}
READ_RESPONSES = {200: SubscriberReadOut, 404: ErrorOut, **AUTH_ERRORS}

PhonePath = Path(..., description="The number: E.164 or any US/Canada shape", examples=[EXAMPLE_PHONE])
TagPath = Path(..., max_length=75, description="A tag (any case)", examples=["District 4"])
OptionalBody = Body(None)
IdempotencyKey = Header(
    None,
    alias="Idempotency-Key",
    description="Send the same value again to get the first answer back instead of acting twice",
    pattern=r"^[\x21-\x7e]{1,255}$",
    examples=["0f8e7d2c-sync-2026-12-02"],
)


# Reading


def _tag_names(subscriber: Subscriber) -> list[str]:
    return sorted((tag.name for tag in subscriber.tags.all()), key=str.lower)


def _subscriber_data(subscriber: Subscriber, tags: list[str] | None = None) -> dict:
    return {
        "phone": subscriber.phone,
        "status": subscriber.status,
        "opted_out_by": subscriber.opted_out_by or None,
        "tags": _tag_names(subscriber) if tags is None else sorted(tags, key=str.lower),
        "first_seen": subscriber.first_seen,
        "status_changed": subscriber.status_changed,
        "language": subscriber.language,
    }


def _listed(request) -> "Subscriber.objects":
    return Subscriber.objects.listed().filter(account=request.account)


def _get_subscriber_data_for_request(request, phone: str) -> dict:
    data = selectors.subscriber_detail(account_id=request.account.pk, phone=phone_normalise(phone))
    if data is None:
        raise ApiError("not_found", "This number is not on the account's list.", "phone", status=404)
    data["opted_out_by"] = data["opted_out_by"] or None
    return data


def _with_lines(request, items: list[dict]) -> list[dict]:
    """What the carriers say about each number (one query for a whole page)."""
    lines = line_selectors.lines_of(account=request.account, phones=[item["phone"] for item in items])
    for item in items:
        line_type, unreachable = lines.get(item["phone"], ("unknown", False))
        item["line_type"] = line_type
        item["unreachable"] = unreachable
    return items


@api.get("/subscribers/{phone}", response=READ_RESPONSES, summary="A number's status and tags", tags=["Numbers"])
def subscriber_detail(request, phone: str = PhonePath):
    return Status(200, _get_subscriber_data_for_request(request, phone))


@api.get(
    "/subscribers/{phone}/consent",
    response={200: ConsentOut, 404: ErrorOut, **AUTH_ERRORS},
    summary="A number's consent record",
    tags=["Numbers"],
    description="What a carrier audit or a TCPA claim asks for: every opt event of the number (who, when, how, "
    "source and channel, the import run and its file, the widget's page and visitor address, the text received) "
    "and every text sent to it (kind, time, body, delivery status), each list newest last. A number deleted from "
    "the list keeps its record; `404` for a number the account never had.",
)
def subscriber_consent(request, phone: str = PhonePath):
    phone = phone_normalise(phone)
    record = selectors.consent_record(account=request.account, phone=phone)
    if (
        not record.events
        and not record.texts
        and not Subscriber.objects.filter(account=request.account, phone=phone).exists()
    ):
        raise ApiError("not_found", "This account has no record of this number.", "phone", status=404)
    events = [
        {
            "at": e.at, "old_status": e.old_status, "new_status": e.new_status,
            "opted_out_by": e.opted_out_by or None, "change": e.change, "source": e.source, "who": e.who,
            "channel": e.channel, "import_run": e.import_run_id, "file_name": e.file_name, "page_url": e.page_url,
            "client_ip": e.client_ip or None, "text_received": e.text_received, "message_sid": e.message_sid,
            "tags_added": list(e.tags_added), "tags_removed": list(e.tags_removed), "note": e.note,
        }
        for e in record.events
    ]  # fmt: skip
    texts = [
        {"at": m.at, "kind": m.kind, "body": m.body, "sender": m.sender, "status": m.status, "error": m.error}
        for m in record.texts
    ]
    return Status(200, {"phone": phone, "events": events, "texts": texts})


def _encode_cursor(phone: str) -> str:
    return base64.urlsafe_b64encode(f"p:{phone}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith("p:+1") or not text[2:].lstrip("+").isdigit() or len(text) > 20:
        raise ApiError("invalid_cursor", "This cursor is not one this API gave out.", "cursor", status=422)
    return text[2:]


_STATUS_QUERY = Query(None, description="Only numbers with this status")
_TAG_QUERY = Query(None, min_length=1, description="Only numbers with this tag (any case)", examples=["District 4"])
_DIGITS_QUERY = Query(
    None, min_length=1, max_length=20, description="Only numbers containing these digits", examples=["555"]
)
_CURSOR_QUERY = Query(None, min_length=1, max_length=40, description="`next_cursor` of the previous page")
_LIMIT_QUERY = Query(100, ge=1, le=500, description="Numbers per page")


@api.get(
    "/subscribers",
    response={200: SubscriberPage, **AUTH_ERRORS},
    summary="List numbers, a page at a time",
    tags=["Numbers"],
    description="Ordered by number. Pages are cut by a cursor (the last number of the page), so a page "
    "never repeats or skips a number because others were added or removed meanwhile.",
)
def subscriber_list(
    request,
    status: StatusName | None = _STATUS_QUERY,
    tag: TagName | None = _TAG_QUERY,
    q: str | None = _DIGITS_QUERY,
    cursor: str | None = _CURSOR_QUERY,
    limit: int = _LIMIT_QUERY,
):
    numbers = _listed(request).order_by("phone")
    if status:
        numbers = numbers.filter(status=status)
    if tag is not None and tag.strip():
        wanted = Tag.objects.filter(account=request.account).named(tag)
        numbers = numbers.filter(
            Exists(SubscriberTag.objects.filter(subscriber=OuterRef("pk"), tag__in=wanted.values("pk")))
        )
    if q:
        digits = "".join(ch for ch in q if ch.isascii() and ch.isdigit())
        if digits:
            numbers = numbers.filter(phone__contains=digits)
    if cursor:
        numbers = numbers.filter(phone__gt=_decode_cursor(cursor))
    page = list(numbers.prefetch_related("tags")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    next_cursor = _encode_cursor(page[-1].phone) if more else None
    next_url = None
    if next_cursor:
        params = request.GET.copy()
        params["cursor"] = next_cursor
        next_url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
    items = _with_lines(request, [_subscriber_data(s) for s in page])
    return Status(200, {"items": items, "next_cursor": next_cursor, "next": next_url})


# Changing


def _cause(request) -> Cause:
    return Cause(source=Source.API, note=f"API key {request.api_key.name}"[:200])


def _change_data(result: services.Result) -> dict:
    # The tags as the service left them, read in its own transaction: asking again would be one more query.
    data = _subscriber_data(result.subscriber, result.tags)
    data.update(
        outcome=result.outcome.value,
        is_new=result.is_new,
        tags_added=sorted(result.tags_added, key=str.lower),
        tags_removed=sorted(result.tags_removed, key=str.lower),
    )
    return SubscriberChangeOut.model_validate(data).model_dump(mode="json")


def _answer(work, success_status: int = 200) -> tuple[int, dict]:
    try:
        return success_status, work()
    except ServiceError as exc:
        return status_for(exc), error_body(exc.code, exc.detail, exc.field)


def _idempotent(
    request, response: HttpResponse, key: str | None, work, fingerprint: str | None = None, success_status: int = 200
):
    """Do `work` once per Idempotency-Key: a repeat gets the first answer, refusals included."""
    if not key:
        return Status(*_answer(work, success_status))
    if fingerprint is None:
        fingerprint = api_services.request_fingerprint(request.method, request.get_full_path(), request.body)
    claimed = api_services.idempotency_begin(account=request.account, key=key, fingerprint=fingerprint)
    if isinstance(claimed, api_services.Replay):
        response["Idempotent-Replayed"] = "true"
        return Status(claimed.status_code, claimed.body)
    try:
        status, body = _answer(work, success_status)
    except BaseException:
        api_services.idempotency_abandon(record=claimed)
        raise
    api_services.idempotency_finish(record=claimed, status_code=status, body=body)
    return Status(status, body)


@api.post(
    "/subscribers/{phone}/opt-in",
    response=CHANGE_RESPONSES,
    summary="Opt a number in (and add tags)",
    tags=["Changes"],
    description="Adds the number if the account does not have it; reactivates a suspended one. "
    "A number that opted out (by texting STOP, or by the utility) is refused with `409 opted_out`: "
    "only its owner can opt back in, so send it a double opt-in request instead.",
)
def subscriber_opt_in(
    request,
    response: HttpResponse,
    phone: str = PhonePath,
    payload: OptInIn | None = OptionalBody,
    idempotency_key: str | None = IdempotencyKey,
):
    tags = payload.tags if payload else []
    language = (payload.language if payload else None) or ""

    def work():
        result = services.subscriber_opt_in(
            account=request.account, phone=phone, cause=_cause(request), tags=tags, language=language
        )
        return _change_data(result)

    return _idempotent(request, response, idempotency_key, work)


def _simple_change(service, summary: str, description: str, path: str):
    def view(request, response: HttpResponse, phone: str = PhonePath, idempotency_key: str | None = IdempotencyKey):
        def work():
            return _change_data(service(account=request.account, phone=phone, cause=_cause(request)))

        return _idempotent(request, response, idempotency_key, work)

    view.__name__ = f"subscriber_{path.replace('-', '_')}"
    api.post(
        f"/subscribers/{{phone}}/{path}",
        response=CHANGE_RESPONSES,
        summary=summary,
        description=description,
        tags=["Changes"],
        operation_id=view.__name__,
    )(view)
    return view


subscriber_opt_out = _simple_change(
    services.subscriber_opt_out,
    "Opt a number out",
    "The number stops receiving alerts and is recorded as opted out by the utility: no import, API call "
    "or manager can opt it back in; only its owner can.",
    "opt-out",
)
subscriber_suspend = _simple_change(
    services.subscriber_suspend,
    "Suspend a number",
    "Pauses alerts to an opted-in number; any later opt-in reactivates it. `404` for a number the account "
    "does not have, `409 pending` for one waiting to confirm a double opt-in.",
    "suspend",
)
subscriber_reactivate = _simple_change(
    services.subscriber_reactivate,
    "Reactivate a suspended number",
    "`409 opted_out` for a number that opted out, `409 pending` for one waiting to confirm.",
    "reactivate",
)


@api.post(
    "/subscribers/{phone}/double-opt-in",
    response=CHANGE_RESPONSES,
    summary="Send a double opt-in request",
    tags=["Changes"],
    description="Texts the number a request to reply YES (the account's double opt-in request text) and adds "
    "any tags given. A new number becomes `pending` until its owner replies YES within 7 days; a suspended "
    "or opted-out one keeps its status until then. This is the only way the API can bring back a number that "
    "opted out. `409 already_opted_in` for a number that is already opted in, `409 no_sender` when the "
    "account has no number to text from yet.",
)
def subscriber_double_opt_in(
    request,
    response: HttpResponse,
    phone: str = PhonePath,
    payload: OptInIn | None = OptionalBody,
    idempotency_key: str | None = IdempotencyKey,
):
    tags = payload.tags if payload else []

    def work():
        try:
            sent = double_opt_in_request(account=request.account, phone=phone, cause=_cause(request), tags=tags)
        except ServiceError as exc:
            if exc.code == "no_sender":
                raise ApiError("no_sender", exc.detail, status=409)
            raise
        return _change_data(sent.result)

    return _idempotent(request, response, idempotency_key, work)


def _tags_change(request, response, phone, idempotency_key, **change):
    def work():
        result = services.subscriber_tags_update(account=request.account, phone=phone, cause=_cause(request), **change)
        return _change_data(result)

    return _idempotent(request, response, idempotency_key, work)


def _path_tag(tag: str) -> str:
    try:
        _printable(tag)
    except ValueError:
        raise ApiError("invalid_tag", "A tag may not contain control characters.", "tag", status=422)
    if not tag.strip():
        raise ApiError("blank", "Name the tag.", "tag", status=422)
    return tag


TAGS_RESPONSES = {200: SubscriberChangeOut, 404: ErrorOut, **AUTH_ERRORS}


@api.put(
    "/subscribers/{phone}/tags",
    response=TAGS_RESPONSES,
    summary="Set a number's tags, exactly",
    tags=["Tags"],
    description="Tags not in the list are removed. The status is untouched.",
)
def subscriber_tags_set(request, response: HttpResponse, payload: TagsIn, phone: str = PhonePath):
    return _tags_change(request, response, phone, None, add=payload.tags, exact=True)


@api.post(
    "/subscribers/{phone}/tags/{tag}",
    response=TAGS_RESPONSES,
    summary="Add one tag to a number",
    tags=["Tags"],
)
def subscriber_tag_add(
    request,
    response: HttpResponse,
    phone: str = PhonePath,
    tag: str = TagPath,
    idempotency_key: str | None = IdempotencyKey,
):
    return _tags_change(request, response, phone, idempotency_key, add=[_path_tag(tag)])


@api.delete(
    "/subscribers/{phone}/tags/{tag}",
    response=TAGS_RESPONSES,
    summary="Remove one tag from a number",
    tags=["Tags"],
)
def subscriber_tag_remove(request, response: HttpResponse, phone: str = PhonePath, tag: str = TagPath):
    return _tags_change(request, response, phone, None, remove=[_path_tag(tag)])


@api.put(
    "/subscribers/{phone}/language",
    response={200: SubscriberOut, 404: ErrorOut, 422: ErrorOut, **AUTH_ERRORS},
    summary="Set a number's language",
    tags=["Numbers"],
    description="en, es or fr: every text to the number (replies, double opt-in requests, alerts that have a "
    "body in that language) is sent in it. The status is untouched.",
)
def subscriber_language_set(request, payload: LanguageIn, phone: str = PhonePath):
    try:
        subscriber = services.subscriber_language_set(account=request.account, phone=phone, language=payload.language)
    except ServiceError as exc:
        return Status(status_for(exc), error_body(exc.code, exc.detail, exc.field))
    return Status(200, _subscriber_data(subscriber))


@api.post(
    "/subscribers/{phone}/revocations",
    response=CHANGE_RESPONSES,
    summary="Record an opt-out request received by phone, email, letter or in person",
    tags=["Changes"],
    description="The owner asked, so the number is opted out at once as its owner's own opt-out "
    "(`opted_out_by: subscriber`), from every text of the account, and only its owner can opt back in. The "
    "number's history keeps the channel, the day and the note. A number the account does not have is recorded, "
    "so no import can add it. If the request came in today, the number gets the one opt-out confirmation text.",
)
def subscriber_revocation_record(
    request, response: HttpResponse, payload: RevocationIn, phone: str = PhonePath,
    idempotency_key: str | None = IdempotencyKey,
):  # fmt: skip
    def work():
        result = revocation_record(
            account=request.account, phone=phone, cause=_cause(request), channel=payload.channel,
            received_on=payload.received_on, note=payload.note,
        )  # fmt: skip
        return _change_data(result)

    return _idempotent(request, response, idempotency_key, work)
