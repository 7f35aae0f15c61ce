from datetime import timedelta

from django.conf import settings

from sftpdrop.models import SftpAddressBlock, SftpCredential, SftpLoginFailure


def active_credential(*, account) -> SftpCredential | None:
    return SftpCredential.objects.filter(account=account, revoked_at=None).first()


def recent_failures(*, account, limit: int = 20) -> list[SftpLoginFailure]:
    return list(SftpLoginFailure.objects.filter(account=account)[:limit])


def blocks_for_account(*, account, now) -> list[SftpAddressBlock]:
    """Addresses blocked now after failing to log in with this account's usernames."""
    lookback = timedelta(seconds=settings.SFTP_LOCKOUT_WINDOW_SECONDS + settings.SFTP_LOCKOUT_BLOCK_SECONDS)
    addresses = SftpLoginFailure.objects.filter(account=account, created_at__gte=now - lookback).values("ip")
    return list(SftpAddressBlock.objects.filter(ip__in=addresses, lifted_at=None, blocked_until__gt=now))


def recent_sftp_runs(*, account, limit: int = 10) -> list:
    from imports.models import ImportRun, RunSource

    return list(ImportRun.objects.filter(account=account, source=RunSource.SFTP)[:limit])
