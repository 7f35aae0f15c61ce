"""API keys and idempotent requests: making, checking and revoking keys; remembering first answers."""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

import redis
from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from api.gate import LAST_USED_PRECISION, Admission, KeyIdentity, gate_forget, gate_pass
from api.models import ApiKey, IdempotencyRecord
from audit.models import Kind
from audit.services import audit_record
from subscribers.models import Account
from subscribers.services import ServiceError

logger = logging.getLogger(__name__)

KEY_PREFIX = "amk_"
# A key is checked on every request: a keyed hash costs microseconds, a password hasher would
# cost tens of milliseconds, and a 190-bit random key needs no stretching.
_HMAC_SALT = "alertmanager.api.ApiKey"
IDEMPOTENCY_WINDOW = timedelta(hours=24)
# A first request that has not answered in this time died with its process; its key may be used again.
IDEMPOTENCY_ABANDONED = timedelta(minutes=2)


def _digest(token: str) -> str:
    return salted_hmac(_HMAC_SALT, token, algorithm="sha256").hexdigest()


@transaction.atomic
def api_key_create(*, account: Account, name: str, created_by=None) -> tuple[ApiKey, str]:
    """A new key for the account; the plain key is returned once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("blank", "Give the key a name, e.g. where it is used.", field="name")
    token = KEY_PREFIX + secrets.token_urlsafe(24)
    api_key = ApiKey.objects.create(
        account=account, name=name[:100], prefix=token[:12], digest=_digest(token), created_by=created_by
    )
    audit_record(
        kind=Kind.API_KEY,
        action="created",
        summary=f"API key “{api_key.name}” ({api_key.prefix}…) created",
        account=account,
        actor=created_by,
        details={"key_id": api_key.pk, "prefix": api_key.prefix},
    )
    return api_key, token


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, revoked_by=None) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.revoked_by = revoked_by
        api_key.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(
            kind=Kind.API_KEY,
            action="revoked",
            summary=f"API key “{api_key.name}” ({api_key.prefix}…) revoked",
            account=api_key.account,
            actor=revoked_by,
            details={"key_id": api_key.pk, "prefix": api_key.prefix},
        )
    api_key_forget(api_key=api_key)
    return api_key


def api_key_forget(*, api_key: ApiKey) -> None:
    """Send every process back to the database for this key (revoked or deleted): 401 from the next request."""
    try:
        gate_forget(digest=api_key.digest)
    except redis.RedisError:
        # The remembered identity lapses by itself within gate.IDENTITY_TTL.
        logger.warning("API key %s not forgotten in Redis: unreachable", api_key.pk, exc_info=True)


def _plausible(token: str) -> bool:
    """Shaped like one of our keys: anything else is refused before it costs a lookup."""
    return bool(token) and token.startswith(KEY_PREFIX) and len(token) <= 100


def api_key_authenticate(*, token: str) -> ApiKey | None:
    """The active key this token is, or None; records when the key was last used."""
    if not _plausible(token):
        return None
    api_key = ApiKey.objects.select_related("account").filter(digest=_digest(token), revoked_at__isnull=True).first()
    if api_key is None:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def api_key_admit(*, token: str) -> tuple[ApiKey, float | None] | None:
    """The active key this token is and the seconds it must wait (None: go now), or None for no such key.

    One Redis call on most requests (gate.py); the database is read only when Redis does not know the
    key, and when Redis cannot be reached, in which case the rate limit is not counted: refusing every
    request because the counter is unreachable would stop opt-outs too.
    """
    if not _plausible(token):
        return None
    digest = _digest(token)
    try:
        admission = gate_pass(digest=digest)
        if admission is None:
            identity = _key_identity(digest)
            if identity is None:
                return None
            admission = gate_pass(digest=digest, identity=identity)
    except redis.RedisError:
        logger.warning("API key checked without Redis: unreachable; rate limit not counted", exc_info=True)
        api_key = api_key_authenticate(token=token)
        return None if api_key is None else (api_key, None)
    if admission.record_use:
        ApiKey.objects.filter(pk=admission.identity.key_id).update(last_used_at=timezone.now())
    return _identified_key(admission), admission.wait


def _key_identity(digest: str) -> KeyIdentity | None:
    row = ApiKey.objects.filter(digest=digest, revoked_at__isnull=True).values_list("pk", "account_id", "name").first()
    return None if row is None else KeyIdentity(*row)


def _identified_key(admission: Admission) -> ApiKey:
    """The key and its account as model instances built from the identity, without a query: any other
    field is read from the database if something asks for it."""
    identity = admission.identity
    account = Account.from_db(DEFAULT_DB_ALIAS, ["id"], [identity.account_id])
    api_key = ApiKey.from_db(
        DEFAULT_DB_ALIAS, ["id", "account_id", "name"], [identity.key_id, identity.account_id, identity.name]
    )
    api_key.account = account
    return api_key


def request_fingerprint(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass
class Replay:
    status_code: int
    body: dict


def idempotency_begin(*, account: Account, key: str, fingerprint: str) -> IdempotencyRecord | Replay:
    """Claim `key` for this request, or the first answer given to it.

    Raises ServiceError when the key is still being answered or was used for a different request.
    """
    now = timezone.now()
    for _ in range(2):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(account=account, key=key, fingerprint=fingerprint)
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(account=account, key=key).first()
        if existing is None:
            continue  # removed meanwhile
        expired = now - existing.created_at >= IDEMPOTENCY_WINDOW
        abandoned = existing.status_code is None and now - existing.created_at >= IDEMPOTENCY_ABANDONED
        if expired or abandoned:
            IdempotencyRecord.objects.filter(pk=existing.pk).delete()
            continue
        if existing.fingerprint != fingerprint:
            raise ServiceError(
                "idempotency_key_reused",
                "This Idempotency-Key was already used for a different request. Use a new key for each request.",
                field="Idempotency-Key",
            )
        if existing.status_code is None:
            raise ServiceError(
                "idempotency_in_progress",
                "A request with this Idempotency-Key is still being answered. Retry in a moment.",
                field="Idempotency-Key",
            )
        return Replay(existing.status_code, existing.response)
    raise ServiceError(
        "idempotency_in_progress",
        "A request with this Idempotency-Key is still being answered. Retry in a moment.",
        field="Idempotency-Key",
    )


def idempotency_finish(*, record: IdempotencyRecord, status_code: int, body: dict) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=status_code, response=body)


def idempotency_abandon(*, record: IdempotencyRecord) -> None:
    """The request failed on our side: let the client retry with the same key."""
    IdempotencyRecord.objects.filter(pk=record.pk).delete()


def idempotency_purge(*, now=None) -> int:
    """Drop answers older than the 24-hour window."""
    now = now or timezone.now()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=now - IDEMPOTENCY_WINDOW).delete()
    return deleted
