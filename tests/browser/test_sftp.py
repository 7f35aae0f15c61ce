"""The manager's SFTP journey in the browser, checked against the real SFTP server on a loopback port."""

import asyncssh
import pytest
from playwright.sync_api import expect

from sftpdrop.hostkey import host_key_fingerprint
from sftpdrop.models import SftpCredential
from tests.browser.conftest import screenshot
from tests.sftpdrop.conftest import Clock, ServerThread, connect, run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sftp_server(settings, tmp_path):
    import redis

    settings.SFTP_SPOOL_DIR = tmp_path / "spool"
    settings.SFTP_HOST_KEY_PATH = tmp_path / "keys" / "sftp_host_key"
    settings.UPLOAD_DIR = tmp_path / "uploads"
    lockout = redis.Redis.from_url(settings.REDIS_URL)
    for key in lockout.scan_iter("am:sftp:*"):
        lockout.delete(key)
    server = ServerThread(Clock()).start()
    # The page shows this server's real address, so the example command it prints is one that works.
    settings.SFTP_PUBLIC_HOST = "127.0.0.1"
    settings.SFTP_PUBLIC_PORT = server.port
    yield server
    server.stop()
    for key in lockout.scan_iter("am:sftp:*"):
        lockout.delete(key)


def _logs_in(server: ServerThread, username: str, password: str) -> bool:
    async def attempt():
        try:
            async with connect(server, username, password) as conn:
                async with conn.start_sftp_client():
                    return True
        except asyncssh.PermissionDenied:
            return False

    return run(attempt())


def test_a_manager_creates_rotates_and_revokes_the_sftp_credentials(live_server, page, login, lakeside, sftp_server):
    login("manager")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="SFTP").click()
    expect(page.get_by_role("heading", name="SFTP drop", exact=True)).to_be_visible()
    expect(page.locator("[data-fingerprint]")).to_have_text(host_key_fingerprint())
    page.get_by_role("button", name="Create SFTP credentials").click()

    expect(page.get_by_role("heading", name="Copy the password now")).to_be_visible()
    username = page.locator("[data-username]").inner_text()
    password = page.locator("[data-password]").inner_text()
    assert username == SftpCredential.objects.get(account=lakeside).username
    expect(page.locator("[data-address]")).to_have_text("127.0.0.1")
    expect(page.locator("[data-example]")).to_contain_text(f"sftp -P {sftp_server.port} {username}@127.0.0.1")
    expect(page.locator("[data-fingerprint]")).to_have_text(host_key_fingerprint())
    screenshot(page, "sftp-credentials-created")
    assert _logs_in(sftp_server, username, password)

    page.reload()
    expect(page.get_by_role("heading", name="SFTP drop", exact=True)).to_be_visible()
    expect(page.locator("[data-password]")).to_have_count(0)  # shown once only
    assert password not in page.content()

    page.get_by_role("button", name="Rotate credentials").click()
    expect(page.get_by_role("heading", name="Copy the password now")).to_be_visible()
    expect(page.locator("[data-username]")).to_have_text(username)
    rotated = page.locator("[data-password]").inner_text()
    assert rotated != password
    assert not _logs_in(sftp_server, username, password)
    assert _logs_in(sftp_server, username, rotated)

    page.get_by_role("button", name="Revoke credentials").click()
    expect(page.get_by_text(f"SFTP credentials {username} revoked")).to_be_visible()
    expect(page.get_by_role("button", name="Create SFTP credentials")).to_be_visible()
    assert not _logs_in(sftp_server, username, rotated)
