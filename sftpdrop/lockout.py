"""The SFTP login lockout: too many failed SFTP logins from one address block it for a while.

The counting itself is the project's one set of Redis lockout rules (alertmanager.lockout), which the web
login uses too; this module holds the SFTP drop's numbers and keys (`am:sftp:…`).
"""

from django.conf import settings

from alertmanager import lockout

_SCOPE = "sftp"


class Rules(lockout.Rules):
    @classmethod
    def from_settings(cls) -> "Rules":
        return cls(
            failures=settings.SFTP_LOCKOUT_FAILURES,
            window=settings.SFTP_LOCKOUT_WINDOW_SECONDS,
            block=settings.SFTP_LOCKOUT_BLOCK_SECONDS,
        )


def blocked_until(*, ip: str, now: float) -> float | None:
    """When the block on `ip` ends, or None if it is not blocked at `now`."""
    return lockout.blocked_until(scope=_SCOPE, subject=ip, now=now)


def failure_record(*, ip: str, now: float, rules: lockout.Rules | None = None) -> float | None:
    """Count one failed login from `ip`; returns the end of the block if this failure caused one."""
    return lockout.failure_record(scope=_SCOPE, subject=ip, now=now, rules=rules or Rules.from_settings())


def block_lift(*, ip: str) -> None:
    lockout.block_lift(scope=_SCOPE, subject=ip)
