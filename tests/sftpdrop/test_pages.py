"""The manager's SFTP page: address, example command, host key, credentials, settings, failures."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sftpdrop import services
from sftpdrop.hostkey import host_key_fingerprint
from sftpdrop.models import SftpAddressBlock, SftpCredential, SftpLoginFailure

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keys(drop_settings):
    drop_settings.SFTP_PUBLIC_HOST = "alerts.example.com"
    drop_settings.SFTP_PUBLIC_PORT = 2222


def test_it_is_in_the_settings_menu(manager_client):
    response = manager_client.get("/dashboard/")
    assert b'href="/settings/sftp/"' in response.content


def test_it_shows_the_address_the_host_key_and_an_example_once_credentials_exist(manager_client, account):
    credential, _ = services.credential_create(account=account)
    page = manager_client.get("/settings/sftp/").content.decode()
    assert "alerts.example.com" in page
    assert f"sftp -P 2222 {credential.username}@alerts.example.com" in page
    assert host_key_fingerprint() in page
    assert "data-password" not in page


def test_creating_shows_the_password_once(manager_client, account):
    response = manager_client.post("/settings/sftp/create/", {"public_key": ""})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    password = page.split("data-password>")[1].split("<")[0]
    credential = SftpCredential.objects.get(account=account)
    from django.contrib.auth.hashers import check_password

    assert check_password(password, credential.password_hash)
    assert password not in manager_client.get("/settings/sftp/").content.decode()


def test_a_bad_public_key_is_explained_and_nothing_is_created(manager_client):
    response = manager_client.post("/settings/sftp/create/", {"public_key": "hello"})
    assert response.status_code == 400
    assert "This is not an SSH public key" in response.content.decode()
    assert not SftpCredential.objects.exists()


def test_rotate_and_revoke(manager_client, account):
    credential, first = services.credential_create(account=account)
    response = manager_client.post("/settings/sftp/rotate/", {"public_key": ""})
    second = response.content.decode().split("data-password>")[1].split("<")[0]
    assert second != first
    response = manager_client.post("/settings/sftp/revoke/", follow=True)
    assert "revoked" in response.content.decode()
    credential.refresh_from_db()
    assert credential.revoked_at is not None


def test_rotating_without_credentials_is_a_404(manager_client):
    assert manager_client.post("/settings/sftp/rotate/", {"public_key": ""}).status_code == 404


def test_it_says_when_dropped_files_would_be_refused_and_saves_the_preformatted_default(manager_client, account):
    page = manager_client.get("/settings/sftp/").content.decode()
    assert "no approved import configuration" in page
    response = manager_client.post("/settings/sftp/import-settings/", {"preformatted_default": "on"}, follow=True)
    assert "Preformatted, opt in" in response.content.decode()
    assert services.sftp_settings_get(account=account).preformatted_default


def test_it_refuses_another_accounts_configuration(manager_client, account, other_account):
    from imports.models import ImportConfiguration

    theirs = ImportConfiguration.objects.create(
        account=other_account, name="Theirs", approved_at=timezone.now(), approved_version=1
    )
    response = manager_client.post("/settings/sftp/import-settings/", {"configuration": theirs.pk})
    assert response.status_code == 400
    assert services.sftp_settings_get(account=account).configuration is None


def test_it_lists_failed_logins_and_blocks_for_this_account_only(manager_client, account, other_account):
    credential, _ = services.credential_create(account=account)
    SftpLoginFailure.objects.create(account=account, username=credential.username, ip="203.0.113.9")
    SftpLoginFailure.objects.create(account=other_account, username="am11111111", ip="198.51.100.7")
    SftpAddressBlock.objects.create(ip="203.0.113.9", blocked_until=timezone.now() + timedelta(minutes=30))
    SftpAddressBlock.objects.create(ip="198.51.100.7", blocked_until=timezone.now() + timedelta(minutes=30))
    page = manager_client.get("/settings/sftp/").content.decode()
    assert "203.0.113.9" in page
    assert "198.51.100.7" not in page


def test_an_uploader_cannot_open_it(uploader_client):
    assert uploader_client.get("/settings/sftp/").status_code == 403
    assert uploader_client.post("/settings/sftp/create/", {"public_key": ""}).status_code == 403


def test_the_instructions_name_the_port_the_drop_listens_on_when_no_public_port_is_set(
    manager_client, account, drop_settings
):
    # Issue 23, item 7: the page said `-P 2222` whatever port the server listened on.
    drop_settings.SFTP_PUBLIC_PORT = 0
    drop_settings.SFTP_PORT = 2300
    credential, _ = services.credential_create(account=account)
    page = manager_client.get("/settings/sftp/").content.decode()
    assert f"sftp -P 2300 {credential.username}@alerts.example.com" in page
    assert "-P 2222" not in page
