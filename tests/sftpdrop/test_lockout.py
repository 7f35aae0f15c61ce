"""The login lockout against the real server: four failures from one address in 20 minutes block it
for an hour, even with the right password, and it clears by itself. The clock is the test's."""

import asyncssh
import pytest

from sftpdrop.models import SftpAddressBlock, SftpLoginFailure
from tests.conftest import verified_login
from tests.sftpdrop.conftest import connect, run


async def _login(server, username, password):
    async with connect(server, username, password) as conn:
        async with conn.start_sftp_client() as sftp:
            return await sftp.realpath(".")


def _accepted(server, username, password) -> bool:
    try:
        return run(_login(server, username, password)) == "/"
    except asyncssh.PermissionDenied:
        return False


def _fail(server, username="am00000000", password="wrong-password"):
    assert not _accepted(server, username, password)


def test_it_blocks_the_address_at_the_fourth_failure_within_20_minutes(drop_server, credentials, clock):
    credential, password = credentials
    for _ in range(3):
        _fail(drop_server, credential.username)
        clock.advance(minutes=6)
    assert _accepted(drop_server, credential.username, password), "three failures do not block"
    _fail(drop_server, credential.username)  # the fourth, 18 minutes after the first
    assert not _accepted(drop_server, credential.username, password), "the right password is refused while blocked"
    assert SftpAddressBlock.objects.filter(ip="127.0.0.1").count() == 1


def test_it_does_not_block_four_failures_spread_over_21_minutes(drop_server, credentials, clock):
    credential, password = credentials
    for _ in range(4):
        _fail(drop_server, credential.username)
        clock.advance(minutes=7)
    assert _accepted(drop_server, credential.username, password)
    assert not SftpAddressBlock.objects.exists()


def test_it_lets_the_right_password_in_again_after_the_hour(drop_server, credentials, clock):
    credential, password = credentials
    for _ in range(4):
        _fail(drop_server, credential.username)
    clock.advance(minutes=59, seconds=59)
    assert not _accepted(drop_server, credential.username, password)
    clock.advance(seconds=2)
    assert _accepted(drop_server, credential.username, password)


def test_it_counts_unknown_usernames_and_answers_them_like_a_wrong_password(drop_server, credentials, clock):
    credential, password = credentials
    answers = []
    for username in ("am99999999", credential.username):
        with pytest.raises(asyncssh.PermissionDenied) as caught:
            run(_login(drop_server, username, "wrong-password"))
        answers.append((type(caught.value), caught.value.code, caught.value.reason.replace(username, "NAME")))
    assert answers[0] == answers[1]
    _fail(drop_server, "nobody")
    _fail(drop_server, "root")
    assert not _accepted(drop_server, credential.username, password)
    assert SftpLoginFailure.objects.filter(account=None).count() == 3


class _ManyPasswords(asyncssh.SSHClient):
    """A client that keeps trying passwords on the same connection."""

    def __init__(self, passwords: list[str]):
        self.passwords = list(passwords)
        self.tried = 0

    def password_auth_requested(self):
        if not self.passwords:
            return None
        self.tried += 1
        return self.passwords.pop(0)


def test_it_counts_each_attempt_on_one_connection_and_closes_it_once_blocked(drop_server, credentials):
    credential, password = credentials
    client = _ManyPasswords(["a-1", "b-2", "c-3", "d-4", password, password])

    async def attempt():
        conn, _ = await asyncssh.create_connection(
            lambda: client,
            "127.0.0.1",
            drop_server.port,
            username=credential.username,
            known_hosts=None,
            agent_path=None,
            config=None,
            client_keys=None,
            kbdint_auth=False,
        )
        conn.close()

    with pytest.raises(asyncssh.PermissionDenied) as caught:
        run(attempt())
    assert "Too many failed logins" in caught.value.reason
    assert client.tried == 4, "the connection was closed at the fourth failure"
    assert SftpLoginFailure.objects.filter(ip="127.0.0.1", blocked=False).count() == 4
    assert SftpAddressBlock.objects.filter(ip="127.0.0.1").exists()


def test_it_keeps_the_counters_across_a_restart_of_the_server(start_server, credentials):
    credential, password = credentials
    first = start_server()
    _fail(first, credential.username)
    _fail(first, credential.username)
    first.stop()
    second = start_server()
    _fail(second, credential.username)
    _fail(second, credential.username)
    assert not _accepted(second, credential.username, password)


def test_it_asks_every_username_to_authenticate(drop_server, credentials):
    """asyncssh lets a connection in unchecked when begin_auth says no authentication is needed."""
    credential, _ = credentials
    for username in (credential.username, "am99999999", "root"):
        with pytest.raises(asyncssh.PermissionDenied):
            run(_login(drop_server, username, None))


def test_it_refuses_revoked_credentials(drop_server, credentials):
    from sftpdrop import services

    credential, password = credentials
    services.credential_revoke(credential=credential)
    assert not _accepted(drop_server, credential.username, password)


def test_support_can_lift_a_block_in_the_admin(drop_server, credentials, client, django_user_model):
    credential, password = credentials
    for _ in range(4):
        _fail(drop_server, credential.username)
    assert not _accepted(drop_server, credential.username, password)
    support = django_user_model.objects.create_superuser("support", password="pw-for-tests-123")
    verified_login(client, support)
    block = SftpAddressBlock.objects.get()
    response = client.post(
        "/admin/sftpdrop/sftpaddressblock/", {"action": "lift_blocks", "_selected_action": [block.pk]}, follow=True
    )
    assert b"Lifted 1 block" in response.content
    block.refresh_from_db()
    assert block.lifted_by == support
    assert _accepted(drop_server, credential.username, password)


def test_two_servers_running_at_once_share_the_counters(start_server, credentials):
    credential, password = credentials
    first, second = start_server(), start_server()
    _fail(first, credential.username)
    _fail(second, credential.username)
    _fail(first, credential.username)
    _fail(second, credential.username)
    assert not _accepted(first, credential.username, password)
    assert not _accepted(second, credential.username, password)


def test_an_app_login_is_not_an_sftp_login(drop_server, credentials, manager):
    assert not _accepted(drop_server, manager.username, "pw-for-tests-123")
    assert SftpLoginFailure.objects.filter(account=None).count() == 1


def test_a_key_credential_logs_in_with_its_key_only(drop_server, ready_account):
    from sftpdrop import services

    key = asyncssh.generate_private_key("ssh-ed25519")
    credential, password = services.credential_create(
        account=ready_account, public_key=key.export_public_key().decode().strip()
    )
    assert password is None

    def login_with(private_key) -> bool:
        async def attempt():
            async with connect(drop_server, credential.username, client_keys=[private_key]) as conn:
                async with conn.start_sftp_client() as sftp:
                    return await sftp.realpath(".")

        try:
            return run(attempt()) == "/"
        except asyncssh.PermissionDenied:
            return False

    assert login_with(key)
    assert not login_with(asyncssh.generate_private_key("ssh-ed25519"))
    assert not _accepted(drop_server, credential.username, "any-password")
