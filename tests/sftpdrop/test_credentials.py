"""SFTP credentials: created, rotated and revoked by managers or the command line, passwords hashed."""

import asyncssh
import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command

from sftpdrop import services
from sftpdrop.models import SftpCredential


@pytest.fixture
def public_key_line():
    return asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()


def test_it_generates_a_username_and_a_password_stored_only_as_a_django_hash(account, manager):
    credential, password = services.credential_create(account=account, user=manager)
    credential.refresh_from_db()
    assert credential.username.startswith("am") and credential.username[2:].isdigit()
    assert len(password) >= 20
    assert password not in credential.password_hash
    assert credential.password_hash.startswith("pbkdf2_sha256$")
    assert check_password(password, credential.password_hash)


def test_it_keeps_one_active_credential_per_account(account):
    services.credential_create(account=account)
    with pytest.raises(services.CredentialRefused) as caught:
        services.credential_create(account=account)
    assert caught.value.code == "exists"


def test_it_rotates_the_password_and_keeps_the_username(account):
    credential, old = services.credential_create(account=account)
    new = services.credential_rotate(credential=credential)
    credential.refresh_from_db()
    assert new != old
    assert check_password(new, credential.password_hash)
    assert not check_password(old, credential.password_hash)
    assert credential.rotated_at is not None


def test_it_accepts_a_public_key_instead_of_a_password(account, public_key_line):
    credential, password = services.credential_create(account=account, public_key=public_key_line)
    assert password is None
    assert credential.password_hash == ""
    assert credential.public_key_fingerprint.startswith("SHA256:")


@pytest.mark.parametrize("text", ["not a key", "ssh-ed25519 AAAAnotbase64", "ssh-dss AAAAB3NzaC1kc3MAAACBAP"])
def test_it_refuses_what_is_not_a_usable_public_key(account, text):
    with pytest.raises(services.CredentialRefused):
        services.credential_create(account=account, public_key=text)
    assert not SftpCredential.objects.exists()


def test_revoking_frees_the_account_for_new_credentials(account):
    credential, _ = services.credential_create(account=account)
    services.credential_revoke(credential=credential)
    fresh, _ = services.credential_create(account=account)
    assert fresh.username != credential.username


def test_the_command_prints_the_username_and_password(account, capsys):
    call_command("create_sftp_credentials", "lakeside")
    out = capsys.readouterr().out
    credential = SftpCredential.objects.get(account=account)
    username = out.split("username: ")[1].split()[0]
    password = out.split("password: ")[1].split()[0]
    assert username == credential.username
    assert check_password(password, credential.password_hash)


def test_the_command_refuses_a_second_set_unless_asked_to_rotate(account, capsys):
    call_command("create_sftp_credentials", "lakeside")
    with pytest.raises(CommandError, match="--rotate"):
        call_command("create_sftp_credentials", "lakeside")
    call_command("create_sftp_credentials", "lakeside", "--rotate")
    assert SftpCredential.objects.filter(account=account).count() == 1


def test_the_command_names_an_unknown_account(db):
    with pytest.raises(CommandError, match="No account"):
        call_command("create_sftp_credentials", "nowhere")
