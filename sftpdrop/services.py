"""SFTP drop rules: credentials, logins and the lockout, and what a dropped file is imported with.

The SFTP server (sftpdrop.server) calls the login and drop functions from worker threads; they are
plain synchronous functions so that pages, commands and tests use exactly the same rules.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncssh
from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import Kind
from audit.services import audit_record
from sftpdrop import lockout
from sftpdrop.models import PREFORMATTED_ACTIONS, SftpAddressBlock, SftpCredential, SftpLoginFailure, SftpSettings
from subscribers.models import Account
from subscribers.services import ServiceError

_USERNAME_DIGITS = 8
_KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa")
_MIN_RSA_BITS = 2048


class CredentialRefused(ServiceError):
    pass


class DropRefused(ServiceError):
    """A file the drop cannot take; the detail is shown to the SFTP client."""


def _instant(now: float) -> datetime:
    return datetime.fromtimestamp(now, tz=UTC)


def _new_username() -> str:
    while True:
        username = f"am{secrets.randbelow(10**_USERNAME_DIGITS):0{_USERNAME_DIGITS}d}"
        if not SftpCredential.objects.filter(username=username).exists():
            return username


def _new_password() -> str:
    return secrets.token_urlsafe(18)


def public_key_parse(text: str) -> tuple[str, str]:
    """The key as one OpenSSH line, and its SHA256 fingerprint; CredentialRefused if it is not usable."""
    text = (text or "").strip()
    try:
        key = asyncssh.import_public_key(text)
    except (asyncssh.KeyImportError, ValueError, UnicodeError):
        raise CredentialRefused(
            "invalid_key",
            "This is not an SSH public key. Paste the one line of the .pub file, e.g. “ssh-ed25519 AAAA… job@cis”.",
            field="public_key",
        ) from None
    algorithm = key.get_algorithm()
    if algorithm not in _KEY_TYPES:
        raise CredentialRefused(
            "key_type", f"Keys of type {algorithm} are not accepted; use an Ed25519 key.", field="public_key"
        )
    if algorithm == "ssh-rsa" and key.pyca_key.key_size < _MIN_RSA_BITS:
        raise CredentialRefused(
            "key_size", f"RSA keys need at least {_MIN_RSA_BITS} bits; use an Ed25519 key.", field="public_key"
        )
    return key.export_public_key("openssh").decode().strip(), key.get_fingerprint("sha256")


def _secret_set(credential: SftpCredential, public_key: str) -> str | None:
    """Give the credential either the key or a fresh password; returns the password to show once."""
    if public_key.strip():
        credential.public_key, credential.public_key_fingerprint = public_key_parse(public_key)
        credential.password_hash = ""
        return None
    password = _new_password()
    credential.password_hash = make_password(password)
    credential.public_key = credential.public_key_fingerprint = ""
    return password


@transaction.atomic
def credential_create(*, account: Account, user=None, public_key: str = "") -> tuple[SftpCredential, str | None]:
    """The account's SFTP login: a generated username and either a generated password or the key."""
    if SftpCredential.objects.filter(account=account, revoked_at=None).exists():
        raise CredentialRefused("exists", "This account already has SFTP credentials: rotate or revoke them.")
    credential = SftpCredential(account=account, created_by=user, username=_new_username())
    password = _secret_set(credential, public_key)
    try:
        with transaction.atomic():
            credential.save()
    except IntegrityError:
        raise CredentialRefused("exists", "This account already has SFTP credentials: rotate or revoke them.")
    _credential_audit(credential, "created", user)
    return credential, password


def _credential_audit(credential: SftpCredential, action: str, user) -> None:
    how = "an SSH key" if credential.public_key else "a password"
    audit_record(
        kind=Kind.SFTP_CREDENTIAL,
        action=action,
        summary=f"SFTP credentials {credential.username} {action}"
        + (f" (log in with {how})" if action != "revoked" else ""),
        account=credential.account,
        actor=user,
        details={"username": credential.username},
    )


@transaction.atomic
def credential_rotate(*, credential: SftpCredential, user=None, public_key: str = "") -> str | None:
    """A new password (or key) for the same username; the old one stops working at once."""
    credential = SftpCredential.objects.select_for_update().get(pk=credential.pk)
    if credential.revoked_at is not None:
        raise CredentialRefused("revoked", "These credentials were revoked; create new ones.")
    password = _secret_set(credential, public_key)
    credential.rotated_at = timezone.now()
    credential.save()
    _credential_audit(credential, "rotated", user)
    return password


@transaction.atomic
def credential_revoke(*, credential: SftpCredential, user=None) -> SftpCredential:
    credential = SftpCredential.objects.select_for_update().get(pk=credential.pk)
    if credential.revoked_at is None:
        credential.revoked_at = timezone.now()
        credential.revoked_by = user
        credential.save(update_fields=["revoked_at", "revoked_by"])
        _credential_audit(credential, "revoked", user)
    return credential


# Logins ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    """Who an SFTP connection logged in as."""

    credential_id: int
    account_id: int
    username: str


@dataclass(frozen=True)
class LoginOutcome:
    login: Login | None
    blocked_until: float | None = None

    @property
    def blocked(self) -> bool:
        return self.blocked_until is not None


_dummy_hash: str | None = None


def _check_unknown(password: str) -> None:
    """Spend the time a real check takes, so an unknown username cannot be told apart by timing."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = make_password(secrets.token_urlsafe(12))
    check_password(password, _dummy_hash)


def _active_credential(username: str) -> SftpCredential | None:
    return SftpCredential.objects.filter(username=username, revoked_at=None).first()


def _login_ok(credential: SftpCredential, *, ip: str, now: float) -> LoginOutcome:
    SftpCredential.objects.filter(pk=credential.pk).update(last_login_at=_instant(now), last_login_ip=ip)
    return LoginOutcome(Login(credential.pk, credential.account_id, credential.username))


def _login_failed(*, username: str, credential: SftpCredential | None, ip: str, now: float) -> LoginOutcome:
    SftpLoginFailure.objects.create(
        account_id=credential.account_id if credential else None,
        username=username[:64],
        ip=ip,
        created_at=_instant(now),
    )
    until = lockout.failure_record(ip=ip, now=now)
    if until is not None:
        rules = lockout.Rules.from_settings()
        SftpAddressBlock.objects.create(
            ip=ip, blocked_at=_instant(now), blocked_until=_instant(until), failures=rules.failures
        )
    return LoginOutcome(None, blocked_until=until)


def _refused_while_blocked(*, username: str, ip: str, now: float, until: float) -> LoginOutcome:
    credential = _active_credential(username)
    SftpLoginFailure.objects.create(
        account_id=credential.account_id if credential else None,
        username=username[:64],
        ip=ip,
        blocked=True,
        created_at=_instant(now),
    )
    return LoginOutcome(None, blocked_until=until)


def login_blocked_until(*, ip: str, now: float) -> float | None:
    return lockout.blocked_until(ip=ip, now=now)


def login_with_password(*, username: str, password: str, ip: str, now: float) -> LoginOutcome:
    """Check a password. While `ip` is blocked every attempt is refused, even the right password."""
    until = lockout.blocked_until(ip=ip, now=now)
    if until is not None:
        return _refused_while_blocked(username=username, ip=ip, now=now, until=until)
    credential = _active_credential(username)
    if credential is None or not credential.password_hash:
        _check_unknown(password)
        return _login_failed(username=username, credential=credential, ip=ip, now=now)
    if not check_password(password, credential.password_hash):
        return _login_failed(username=username, credential=credential, ip=ip, now=now)
    return _login_ok(credential, ip=ip, now=now)


def login_with_key(*, username: str, key: asyncssh.SSHKey, ip: str, now: float) -> LoginOutcome:
    """Check a public key (already proven by the client's signature, or being offered).

    A key that does not match is not a failed login: clients offer every key they hold, one by one.
    """
    until = lockout.blocked_until(ip=ip, now=now)
    if until is not None:
        return LoginOutcome(None, blocked_until=until)
    credential = _active_credential(username)
    if credential is None or not credential.public_key:
        return LoginOutcome(None)
    if asyncssh.import_public_key(credential.public_key).public_data != key.public_data:
        return LoginOutcome(None)
    return _login_ok(credential, ip=ip, now=now)


@transaction.atomic
def address_block_lift(*, block: SftpAddressBlock, user=None) -> None:
    """Support lifts a block before it clears by itself."""
    SftpAddressBlock.objects.filter(ip=block.ip, lifted_at=None).update(lifted_at=timezone.now(), lifted_by=user)
    transaction.on_commit(lambda: lockout.block_lift(ip=block.ip))
    # The address is no account's, but the accounts whose usernames it tried are the ones that want to know.
    accounts = Account.objects.filter(
        sftp_login_failures__ip=block.ip, sftp_login_failures__created_at__gte=block.blocked_at - timedelta(days=1)
    ).distinct()
    for account in list(accounts) or [None]:
        audit_record(
            kind=Kind.SFTP_BLOCK_LIFTED,
            action="lifted",
            summary=f"SFTP block on {block.ip} lifted",
            account=account,
            actor=user,
            details={"ip": block.ip},
        )


# What a dropped file is imported with ---------------------------------------------------------------


def sftp_settings_get(*, account: Account) -> SftpSettings:
    found = SftpSettings.objects.filter(account=account).select_related("configuration").first()
    return found or SftpSettings(account=account)


@transaction.atomic
def sftp_settings_update(
    *, account: Account, preformatted_default: bool, configuration=None, preformatted_action: str = "opt_in", user=None
) -> SftpSettings:
    if configuration is not None and (configuration.account_id != account.pk or not configuration.is_approved):
        raise DropRefused(
            "not_approved", "Choose one of this account's approved configurations.", field="configuration"
        )
    found, _ = SftpSettings.objects.update_or_create(
        account=account,
        defaults={
            "preformatted_default": preformatted_default,
            "preformatted_action": preformatted_action,
            "configuration": configuration,
            "updated_at": timezone.now(),
        },
    )
    audit_record(
        kind=Kind.SETTINGS,
        action="sftp_import",
        summary="SFTP files imported "
        + (
            f"as Preformatted, {_action_label(preformatted_action).lower()}"
            if preformatted_default
            else f"with “{configuration}”"
            if configuration
            else "with the approved configuration"
        ),
        account=account,
        actor=user,
    )
    return found


def approved_configurations(*, account: Account) -> list:
    from imports.models import ImportConfiguration

    found = ImportConfiguration.objects.filter(account=account, retired_at=None).order_by("name")
    return [configuration for configuration in found if configuration.is_approved]


def _action_label(action: str) -> str:
    return dict(PREFORMATTED_ACTIONS).get(action, action)


@dataclass(frozen=True)
class DropTarget:
    """What files dropped now are imported with: an approved configuration, or Preformatted with an action."""

    configuration: object | None
    action: str = "opt_in"

    @property
    def label(self) -> str:
        if self.configuration is None:
            return f"Preformatted, {_action_label(self.action).lower()}"
        return f"the configuration “{self.configuration.name}”"


def drop_target(*, account: Account) -> DropTarget:
    """The import set-up for dropped files, or DropRefused with a message the SFTP client is shown."""
    chosen = sftp_settings_get(account=account)
    if chosen.preformatted_default:
        return DropTarget(None, chosen.preformatted_action)
    if chosen.configuration is not None:
        if chosen.configuration.is_approved:
            return DropTarget(chosen.configuration)
        raise DropRefused(
            "not_approved",
            f"The configuration chosen for SFTP files, “{chosen.configuration.name}”, is no longer approved. "
            "A manager must approve it again in AlertManager before files can be dropped here.",
        )
    approved = approved_configurations(account=account)
    if len(approved) == 1:
        return DropTarget(approved[0])
    if not approved:
        raise DropRefused(
            "no_configuration",
            "This account has no approved import configuration, so files dropped here cannot be imported. "
            "A manager must approve one in AlertManager (or choose Preformatted opt-in as the SFTP default).",
        )
    raise DropRefused(
        "several_configurations",
        "This account has several approved import configurations. A manager must choose, on the SFTP page "
        "of AlertManager, which one files dropped here use.",
    )


def _drop_account(login: Login) -> Account:
    credential = SftpCredential.objects.select_related("account").filter(pk=login.credential_id).first()
    if credential is None or credential.revoked_at is not None:
        raise DropRefused("revoked", "These SFTP credentials have been revoked.")
    return credential.account


def drop_check(*, login: Login) -> DropTarget:
    """Whether the logged-in client may upload now, and with what; DropRefused says why not."""
    return drop_target(account=_drop_account(login))


def drop_upload_finish(*, login: Login, path, file_name: str):
    """A completed upload becomes an import run, exactly as a file uploaded on the web would.

    The import takes the file over (and deletes it once its job has read it); if it is refused,
    the file stays with the caller, who removes it.
    """
    from imports.models import Action, RunSource
    from imports.services import ImportRefused, import_run_create

    account = _drop_account(login)
    target = drop_target(account=account)
    try:
        return import_run_create(
            account=account,
            path=path,
            file_name=file_name,
            source=RunSource.SFTP,
            configuration=target.configuration,
            action=target.action if target.configuration is None else Action.OPT_IN,
        )
    except ImportRefused as exc:
        raise DropRefused(exc.code, exc.detail) from None
