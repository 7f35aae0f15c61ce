"""The SFTP server's host key: generated once, kept at settings.SFTP_HOST_KEY_PATH, never replaced.

Clients pin the key on first connection, so a new key would make every utility's scheduled job
refuse to connect; that is why it is created only when the file does not exist yet.
"""

import os
from pathlib import Path

import asyncssh
from django.conf import settings


def host_key_path() -> Path:
    return Path(settings.SFTP_HOST_KEY_PATH)


def host_key_load_or_create() -> asyncssh.SSHKey:
    path = host_key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = asyncssh.generate_private_key("ssh-ed25519")
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.export_private_key())
        try:
            # A hard link never replaces an existing file: if the web app and the server start
            # at once, exactly one key wins and both read that one.
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return asyncssh.read_private_key(str(path))


def host_key_fingerprint() -> str:
    """SHA256:… as `ssh` prints it when it first meets the server."""
    return host_key_load_or_create().get_fingerprint("sha256")
