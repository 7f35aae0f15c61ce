"""Logins and people: the login lockout, second factors, remembered devices, passwords and the people of an
account. Every change here writes an audit entry."""

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from alertmanager import lockout
from audit.models import Kind
from audit.services import audit_record
from people.models import AccountLoginSettings, Invitation, LockKind, LoginLock
from subscribers.models import Account, Membership, Role

BACKUP_CODES = 10
_USERNAME_SCOPE = "login-user"
_ADDRESS_SCOPE = "login-ip"


class PeopleError(Exception):
    """A change the rules refuse; the message is for the manager."""


def _instant(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _username_key(username: str) -> str:
    # Usernames are typed: "Manager" and "manager " must share one count, or the lock is one capital away.
    return username.strip().casefold()[:150]


def _user_accounts(user) -> list[Account]:
    if user is None:
        return []
    return [m.account for m in Membership.objects.select_related("account").filter(user=user)]


def _audit_for_user(*, user, kind, action, summary, actor=None, actor_name="", details=None) -> None:
    """One entry in each account the user belongs to (a login is every one of them's business), or one without an
    account for a user who has none (support staff, an unknown username)."""
    accounts = _user_accounts(user) or [None]
    for account in accounts:
        audit_record(
            kind=kind,
            action=action,
            summary=summary,
            account=account,
            actor=actor,
            actor_name=actor_name,
            details=details,
        )


# --- the login lockout --------------------------------------------------------------------------------------------


def _username_rules() -> lockout.Rules:
    return lockout.Rules(
        failures=settings.LOGIN_LOCKOUT_FAILURES,
        window=settings.LOGIN_LOCKOUT_WINDOW_SECONDS,
        block=settings.LOGIN_LOCKOUT_SECONDS,
    )


def _address_rules() -> lockout.Rules:
    return lockout.Rules(
        failures=settings.LOGIN_ADDRESS_FAILURES,
        window=settings.LOGIN_LOCKOUT_WINDOW_SECONDS,
        block=settings.LOGIN_LOCKOUT_SECONDS,
    )


@dataclass(frozen=True)
class LoginGate:
    username_locked_until: float | None = None
    address_blocked_until: float | None = None

    @property
    def open(self) -> bool:
        return self.username_locked_until is None and self.address_blocked_until is None

    def retry_after(self, now: float) -> int:
        until = max(t for t in (self.username_locked_until, self.address_blocked_until) if t is not None)
        return max(1, int(until - now + 0.999))


def login_gate(*, username: str, ip: str | None, now: float | None = None) -> LoginGate:
    """Whether a login attempt for `username` from `ip` may be tried at all."""
    now = time.time() if now is None else now
    return LoginGate(
        username_locked_until=lockout.blocked_until(scope=_USERNAME_SCOPE, subject=_username_key(username), now=now)
        if username
        else None,
        address_blocked_until=lockout.blocked_until(scope=_ADDRESS_SCOPE, subject=ip, now=now) if ip else None,
    )


def login_refused_record(*, username: str, user=None, gate: LoginGate) -> None:
    """An attempt refused because of a lock, even with the right password: recorded, not counted again."""
    _audit_for_user(
        user=user,
        kind=Kind.LOGIN_LOCKED,
        action="refused",
        summary=f"Login as {username} refused: "
        + ("the username is locked" if gate.username_locked_until else "too many failed logins from this address"),
        actor_name=username,
    )


def login_failure_record(
    *, username: str, ip: str | None, stage: str, user=None, now: float | None = None
) -> LoginGate:
    """Count one failed password or second-factor code for `username` and `ip`; returns the locks now in force."""
    from alertmanager import metrics

    metrics.FAILED_LOGINS.labels(step=stage).inc()
    now = time.time() if now is None else now
    stage_label = "wrong password" if stage == "password" else "wrong second-factor code"
    _audit_for_user(
        user=user,
        kind=Kind.LOGIN_FAILED,
        action=stage,
        summary=f"Failed login as {username}: {stage_label}",
        actor_name=username,
    )
    key = _username_key(username)
    user_until = lockout.failure_record(scope=_USERNAME_SCOPE, subject=key, now=now, rules=_username_rules())
    if user_until is not None:
        LoginLock.objects.create(
            kind=LockKind.USERNAME,
            subject=key,
            locked_at=_instant(now),
            locked_until=_instant(user_until),
            failures=settings.LOGIN_LOCKOUT_FAILURES,
        )
        _audit_for_user(
            user=user,
            kind=Kind.LOGIN_LOCKED,
            action="username_locked",
            summary=f"Username {username} locked until {_instant(user_until):%Y-%m-%d %H:%M} UTC after "
            f"{settings.LOGIN_LOCKOUT_FAILURES} failed logins",
            actor_name=username,
        )
    ip_until = None
    if ip:
        ip_until = lockout.failure_record(scope=_ADDRESS_SCOPE, subject=ip, now=now, rules=_address_rules())
        if ip_until is not None:
            LoginLock.objects.create(
                kind=LockKind.ADDRESS,
                subject=ip,
                locked_at=_instant(now),
                locked_until=_instant(ip_until),
                failures=settings.LOGIN_ADDRESS_FAILURES,
            )
            audit_record(
                kind=Kind.LOGIN_LOCKED,
                action="address_blocked",
                summary=f"Address {ip} blocked after {settings.LOGIN_ADDRESS_FAILURES} failed logins",
                actor_name=username,
            )
    return login_gate(username=username, ip=ip, now=now)


def login_success_record(*, user, method: str) -> None:
    """Both factors passed: the username's failures are forgotten (the address's are not: one right login does not
    excuse a guesser trying many names)."""
    lockout.failures_clear(scope=_USERNAME_SCOPE, subject=_username_key(user.get_username()))
    _audit_for_user(
        user=user,
        kind=Kind.LOGIN_OK,
        action=method,
        summary=f"{user.get_username()} logged in ({_METHODS.get(method, method)})",
        actor=user,
    )


_METHODS = {
    "totp": "authenticator code",
    "backup_code": "backup code",
    "remembered_device": "remembered device",
    "enrolled": "new authenticator",
}


def login_lock_lift(*, lock: LoginLock, by) -> None:
    """Support lifts a lock before it ends by itself."""
    LoginLock.objects.filter(kind=lock.kind, subject=lock.subject, lifted_at=None).update(
        lifted_at=timezone.now(), lifted_by=by
    )
    scope = _USERNAME_SCOPE if lock.kind == LockKind.USERNAME else _ADDRESS_SCOPE
    transaction.on_commit(lambda: lockout.block_lift(scope=scope, subject=lock.subject))
    user = None
    if lock.kind == LockKind.USERNAME:
        user = get_user_model().objects.filter(username__iexact=lock.subject).first()
    summary = f"{lock.get_kind_display()} lock on {lock.subject} lifted"
    if user is not None:
        _audit_for_user(user=user, kind=Kind.LOCK_LIFTED, action="lifted", summary=summary, actor=by)
    else:
        audit_record(kind=Kind.LOCK_LIFTED, action="lifted", summary=summary, actor=by)


# --- second factors -------------------------------------------------------------------------------------------------


def second_factor_enrolled(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def totp_device_start(*, user) -> TOTPDevice:
    """A new, unconfirmed authenticator for the enrolment page; an earlier unconfirmed one is dropped."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def totp_device_confirm(*, user, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the authenticator with its first code; returns the new backup codes, or None if the code was wrong."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
    if not device.verify_token(_digits(token)):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _backup_codes_replace(user)
    _audit_for_user(
        user=user,
        kind=Kind.SECOND_FACTOR,
        action="enrolled",
        summary=f"{user.get_username()} set up an authenticator app and received {BACKUP_CODES} backup codes",
        actor=user,
    )
    return codes


def _digits(token: str) -> str:
    return "".join(ch for ch in token if ch.isdigit())


def _backup_code_normal(token: str) -> str:
    return "".join(ch for ch in token.lower() if ch.isalnum())


def _static_device(user) -> StaticDevice:
    device = StaticDevice.objects.filter(user=user).first()
    if device is None:
        device = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    return device


def _backup_codes_replace(user) -> list[str]:
    device = _static_device(user)
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def backup_codes_regenerate(*, user) -> list[str]:
    """Ten new backup codes; the old ones stop working."""
    codes = _backup_codes_replace(user)
    _audit_for_user(
        user=user,
        kind=Kind.SECOND_FACTOR,
        action="backup_codes_regenerated",
        summary=f"{user.get_username()} replaced their backup codes",
        actor=user,
    )
    return codes


@transaction.atomic
def backup_code_issue(*, user, by_name: str = "support (command line)") -> str:
    """One more single-use backup code, for support to read to a user who lost their phone and their codes."""
    code = StaticToken.random_token()
    StaticToken.objects.create(device=_static_device(user), token=code)
    _audit_for_user(
        user=user,
        kind=Kind.SECOND_FACTOR,
        action="backup_code_issued",
        summary=f"A single backup code was issued for {user.get_username()} by {by_name}",
        actor_name=by_name,
    )
    return code


def backup_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user).count()


@transaction.atomic
def second_factor_verify(*, user, token: str) -> tuple[object, str] | None:
    """The device that accepts `token` and how ("totp" or "backup_code"), or None. A TOTP code works once (the
    device remembers the last time step used); a backup code is deleted when used."""
    digits = _digits(token)
    if len(digits) == 6 and digits == token.strip().replace(" ", ""):
        for device in TOTPDevice.objects.filter(user=user, confirmed=True).select_for_update():
            if device.verify_token(digits):
                return device, "totp"
        return None
    code = _backup_code_normal(token)
    for device in StaticDevice.objects.filter(user=user, confirmed=True).select_for_update():
        if device.verify_token(code):
            return device, "backup_code"
    return None


@transaction.atomic
def second_factor_reset(*, user, by, where: str) -> None:
    """Remove every second factor of `user`: their next login enrols again. Remembered devices stop working too,
    since their cookie names the authenticator that is deleted here."""
    for device in list(devices_for_user(user, confirmed=None)):
        device.delete()
    _audit_for_user(
        user=user,
        kind=Kind.SECOND_FACTOR,
        action="reset",
        summary=f"Second factor of {user.get_username()} reset by {by.get_username()} ({where})",
        actor=by,
    )


# --- remembered devices ---------------------------------------------------------------------------------------------

_REMEMBER_SALT = "people.remembered-device"
REMEMBER_COOKIE = "am_device"


def remember_allowed(user) -> bool:
    """Only where every account of the user allows it: a stricter account's rule is not weakened by another's."""
    accounts = _user_accounts(user)
    if not accounts:
        return False
    allowed = set(
        AccountLoginSettings.objects.filter(account__in=accounts, remember_device=True).values_list(
            "account_id", flat=True
        )
    )
    return all(a.pk in allowed for a in accounts)


def _device_fingerprint(device: TOTPDevice) -> str:
    return hashlib.sha256(f"{device.pk}:{device.key}".encode()).hexdigest()[:24]


def remembered_device_token(*, user, device: TOTPDevice) -> str:
    return signing.dumps({"u": user.pk, "f": _device_fingerprint(device)}, salt=_REMEMBER_SALT)


def remembered_device_check(*, user, value: str | None) -> TOTPDevice | None:
    """The user's authenticator that the cookie `value` was issued for, if it is theirs, recent and still allowed."""
    if not value or not remember_allowed(user):
        return None
    try:
        data = signing.loads(value, salt=_REMEMBER_SALT, max_age=settings.REMEMBER_DEVICE_DAYS * 86400)
    except signing.BadSignature:
        return None
    if data.get("u") != user.pk:
        return None
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        if secrets.compare_digest(_device_fingerprint(device), str(data.get("f", ""))):
            return device
    return None


@transaction.atomic
def account_login_settings_update(*, account: Account, remember_device: bool, by) -> AccountLoginSettings:
    config, _ = AccountLoginSettings.objects.get_or_create(account=account)
    if config.remember_device != remember_device:
        config.remember_device = remember_device
        config.updated_at = timezone.now()
        config.save()
        audit_record(
            kind=Kind.SETTINGS,
            action="remember_device",
            summary=f"“Remember this device for {settings.REMEMBER_DEVICE_DAYS} days” turned "
            + ("on" if remember_device else "off"),
            account=account,
            actor=by,
        )
    return config


def account_login_settings_get(*, account: Account) -> AccountLoginSettings:
    config, _ = AccountLoginSettings.objects.get_or_create(account=account)
    return config


# --- passwords ------------------------------------------------------------------------------------------------------


def password_changed_record(*, user, how: str) -> None:
    summaries = {
        "changed": f"{user.get_username()} changed their password",
        "reset_by_email": f"{user.get_username()} set a new password from a reset email",
        "invitation": f"{user.get_username()} chose a password from their invitation",
    }
    _audit_for_user(user=user, kind=Kind.PASSWORD, action=how, summary=summaries[how], actor=user)


def _new_password() -> str:
    # Four groups of five letters and digits: easy to read out over the phone, 100+ bits.
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


# --- people of an account -------------------------------------------------------------------------------------------


def _only_this_account(user, account: Account) -> bool:
    return not user.is_staff and not Membership.objects.filter(user=user).exclude(account=account).exists()


def _managers_left(account: Account, *, without: Membership) -> int:
    return (
        Membership.objects.filter(account=account, role=Role.MANAGER, user__is_active=True)
        .exclude(pk=without.pk)
        .count()
    )


@dataclass(frozen=True)
class Added:
    user: object
    membership: Membership
    password: str | None = None
    invitation_token: str | None = None
    existing_user: bool = False


@transaction.atomic
def person_add(*, account: Account, username: str, email: str, role: str, invite: bool, by) -> Added:
    """Add a person to the account. A username that already has a login (another account's) keeps that one login
    and gets a membership here; otherwise a new login with an invitation link (72 hours) or a first password."""
    User = get_user_model()
    username = username.strip()
    user = User.objects.filter(username__iexact=username).first()
    if user is not None:
        if Membership.objects.filter(user=user, account=account).exists():
            raise PeopleError(f"{user.get_username()} is already a member of this account.")
        if not user.is_active:
            raise PeopleError(f"The login {user.get_username()} is deactivated; ask support to restore it.")
        if user.is_staff:
            raise PeopleError("That username is taken. Choose another.")
        membership = Membership.objects.create(user=user, account=account, role=role)
        _person_audit(account, by, "added", f"{user.get_username()} added as {_role_label(role)} (existing login)")
        return Added(user=user, membership=membership, existing_user=True)
    user = User(username=username, email=email.strip())
    password = token = None
    if invite:
        user.set_unusable_password()
        user.save()
        token = secrets.token_urlsafe(32)
        Invitation.objects.create(user=user, account=account, token_hash=_token_hash(token), created_by=by)
        how = "with an invitation link valid 72 hours"
    else:
        password = _new_password()
        user.set_password(password)
        user.save()
        how = "with a first password"
    membership = Membership.objects.create(user=user, account=account, role=role)
    _person_audit(account, by, "added", f"{username} added as {_role_label(role)} {how}")
    return Added(user=user, membership=membership, password=password, invitation_token=token)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _role_label(role: str) -> str:
    return Role(role).label.lower()


def _person_audit(account, by, action, summary, details=None) -> None:
    audit_record(kind=Kind.PERSON, action=action, summary=summary, account=account, actor=by, details=details)


@transaction.atomic
def person_role_change(*, membership: Membership, role: str, by) -> None:
    membership = Membership.objects.select_for_update().select_related("user", "account").get(pk=membership.pk)
    if membership.role == role:
        return
    if membership.role == Role.MANAGER and _managers_left(membership.account, without=membership) == 0:
        raise PeopleError("The account needs at least one manager: make someone else a manager first.")
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    _person_audit(
        membership.account,
        by,
        "role_changed",
        f"{membership.user.get_username()}: {_role_label(old)} → {_role_label(role)}",
        {"from": old, "to": role},
    )


@transaction.atomic
def person_deactivate(*, membership: Membership, by) -> None:
    """Take the person off the account. A login that belongs to no other account is deactivated too: nobody can
    log in with it any more."""
    membership = Membership.objects.select_for_update().select_related("user", "account").get(pk=membership.pk)
    user, account = membership.user, membership.account
    if user.pk == by.pk:
        raise PeopleError("You cannot deactivate yourself; ask another manager.")
    if membership.role == Role.MANAGER and _managers_left(account, without=membership) == 0:
        raise PeopleError("The account needs at least one manager.")
    alone = _only_this_account(user, account)
    membership.delete()
    if alone:
        user.is_active = False
        user.save(update_fields=["is_active"])
        Invitation.objects.filter(user=user, used_at=None).update(expires_at=timezone.now())
    _person_audit(
        account,
        by,
        "deactivated",
        f"{user.get_username()} removed from the account" + (" and their login deactivated" if alone else ""),
    )


def _managed_user(membership: Membership, what: str):
    user = membership.user
    if not _only_this_account(user, membership.account):
        raise PeopleError(
            f"{user.get_username()} also belongs to another account, so their {what} can only be reset by "
            "support staff."
        )
    return user


@transaction.atomic
def person_password_reset(*, membership: Membership, by) -> str:
    """A new password, shown once to the manager, who passes it on. Their sessions elsewhere end with it."""
    user = _managed_user(membership, "password")
    password = _new_password()
    user.set_password(password)
    user.save(update_fields=["password"])
    _person_audit(membership.account, by, "password_reset", f"Password of {user.get_username()} reset by a manager")
    audit_record(
        kind=Kind.PASSWORD,
        action="reset_by_manager",
        summary=f"Password of {user.get_username()} reset by {by.get_username()}",
        account=membership.account,
        actor=by,
    )
    return password


def person_second_factor_reset(*, membership: Membership, by) -> None:
    user = _managed_user(membership, "second factor")
    second_factor_reset(user=user, by=by, where="People page")


def invitation_find(token: str) -> Invitation | None:
    invitation = Invitation.objects.select_related("user", "account").filter(token_hash=_token_hash(token)).first()
    if invitation is None or not invitation.is_usable_at(timezone.now()) or not invitation.user.is_active:
        return None
    return invitation


@transaction.atomic
def invitation_accept(*, invitation: Invitation, password: str) -> None:
    invitation = Invitation.objects.select_for_update().select_related("user").get(pk=invitation.pk)
    if not invitation.is_usable_at(timezone.now()):
        raise PeopleError("This invitation has been used or has expired; ask your manager for a new one.")
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_at"])
    invitation.user.set_password(password)
    invitation.user.save(update_fields=["password"])
    password_changed_record(user=invitation.user, how="invitation")


def people_of_account(account: Account):
    from django.db.models import Exists, OuterRef

    enrolled = TOTPDevice.objects.filter(user=OuterRef("user"), confirmed=True)
    return (
        Membership.objects.filter(account=account)
        .select_related("user")
        .annotate(enrolled=Exists(enrolled))
        .order_by("user__username")
    )
