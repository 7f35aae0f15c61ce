"""The SFTP drop server (asyncssh): log in with the account's SFTP credentials, upload files, nothing else.

Confinement does not rest on a chroot: names the client sends are never turned into paths on
disk. Each upload is written to a fresh, randomly named file in the account's spool folder, opened
with O_EXCL|O_NOFOLLOW, and the client's name is kept only as the import's display name. So
`..`, absolute paths, links (existing or new) and renames have nothing to act on, and every other
operation of the protocol is answered here with a refusal rather than falling through to
asyncssh's default local-filesystem behaviour.
"""

import asyncio
import errno
import logging
import os
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
from asyncssh.sftp import FXF_READ, FXF_WRITE, SFTPServerHandler
from asyncssh.stream import SSHReader, SSHServerStreamSession, SSHWriter
from django.conf import settings
from django.db import close_old_connections

from sftpdrop import services
from sftpdrop.hostkey import host_key_load_or_create

log = logging.getLogger(__name__)

Clock = Callable[[], float]

_MAX_OPEN_UPLOADS = 8
_MAX_NAME = 255


async def _in_thread(function, /, **kwargs):
    """Run a database or password-hashing call off the event loop, with a fresh connection."""

    def run():
        close_old_connections()
        try:
            return function(**kwargs)
        finally:
            close_old_connections()

    return await asyncio.to_thread(run)


@dataclass
class DropState:
    """Shared by every connection of one server process."""

    clock: Clock = time.time
    max_unauthenticated: int = 5
    max_file_bytes: int = 100 * 1024 * 1024
    spool_dir: Path = Path("var/sftp")
    unauthenticated: Counter = field(default_factory=Counter)


# The SSH layer ----------------------------------------------------------------------------------


class DropSSHServer(asyncssh.SSHServer):
    """One per connection: authentication, the lockout, and which channels are allowed."""

    def __init__(self, state: DropState):
        self._state = state
        self._conn: asyncssh.SSHServerConnection | None = None
        self._ip = ""
        self._counted = False
        self._pending: services.Login | None = None
        self._warned = False
        self.login: services.Login | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        peer = conn.get_extra_info("peername") or ("",)
        self._ip = peer[0]
        if self._state.unauthenticated[self._ip] >= self._state.max_unauthenticated:
            log.warning("SFTP: too many unauthenticated connections from %s", self._ip)
            conn.disconnect(asyncssh.DISC_TOO_MANY_CONNECTIONS, "Too many connections from your address")
            return
        self._state.unauthenticated[self._ip] += 1
        self._counted = True

    def _release(self) -> None:
        if self._counted:
            self._counted = False
            self._state.unauthenticated[self._ip] -= 1
            if self._state.unauthenticated[self._ip] <= 0:
                del self._state.unauthenticated[self._ip]

    def connection_lost(self, exc: Exception | None) -> None:
        self._release()

    def auth_completed(self) -> None:
        self._release()
        self.login = self._pending
        log.info("SFTP: %s logged in from %s", self.login.username if self.login else "?", self._ip)

    def begin_auth(self, username: str) -> bool:
        # True for every name, known or not: False would let the client in with no check at all.
        return True

    def password_auth_supported(self) -> bool:
        return True

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def host_based_auth_supported(self) -> bool:
        return False

    async def validate_password(self, username: str, password: str) -> bool:
        # Called once per attempt, and a client may make several attempts on one connection:
        # each one is counted by the lockout.
        outcome = await _in_thread(
            services.login_with_password, username=username, password=password, ip=self._ip, now=self._state.clock()
        )
        return await self._settle(outcome)

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        outcome = await _in_thread(
            services.login_with_key, username=username, key=key, ip=self._ip, now=self._state.clock()
        )
        return await self._settle(outcome)

    async def _settle(self, outcome: services.LoginOutcome) -> bool:
        if outcome.login is not None:
            self._pending = outcome.login
            await self._warn_if_not_ready(outcome.login)
            return True
        if outcome.blocked and self._conn is not None:
            log.warning("SFTP: %s is blocked after too many failed logins", self._ip)
            self._conn.disconnect(
                asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE,
                "Too many failed logins from your address; try again later.",
            )
        return False

    async def _warn_if_not_ready(self, login: services.Login) -> None:
        """Tell the client at login when its files could not be imported (OpenSSH shows banners)."""
        if self._warned:  # a key is validated twice: when offered, then when signed
            return
        self._warned = True
        try:
            await _in_thread(services.drop_check, login=login)
        except services.DropRefused as exc:
            if self._conn is not None:
                self._conn.send_auth_banner(exc.detail + "\r\n")

    def session_requested(self):
        if self.login is None:
            return False
        login = self.login
        return _DropSession(lambda chan: DropFolder(chan, login=login, state=self._state))

    # Port forwarding, tunnels and the like: refused (asyncssh's defaults, stated here on purpose).
    def connection_requested(self, dest_host, dest_port, orig_host, orig_port):
        return False

    def server_requested(self, listen_host, listen_port):
        return False

    def unix_connection_requested(self, dest_path):
        return False

    def unix_server_requested(self, listen_path):
        return False

    def tun_requested(self, unit):
        return False

    def tap_requested(self, unit):
        return False


class _DropHandler(SFTPServerHandler):
    async def _cleanup(self, exc):
        # asyncssh closes the handles a client left open when the session ends; those uploads
        # never got the client's close, so they are cut transfers, not files to import.
        if isinstance(self._server, DropFolder):
            self._server.uploads_abandon()
        await super()._cleanup(exc)


class _DropSession(SSHServerStreamSession):
    """A session channel that offers only the SFTP subsystem: no shell, no exec, no scp."""

    def __init__(self, folder_factory):
        super().__init__(None, sftp_factory=folder_factory, sftp_version=3, allow_scp=False)

    def session_started(self) -> None:
        if self._chan.get_subsystem() != "sftp":  # pragma: no cover - refused by subsystem_requested
            self._chan.close()
            return
        stdin = SSHReader(self, self._chan)
        stdout = SSHWriter(self, self._chan)
        folder = self._init_sftp_server()
        self._conn.create_task(_DropHandler(folder, stdin, stdout, self._sftp_version).run(), stdin.logger)


# The SFTP layer -------------------------------------------------------------------------------


@dataclass(eq=False)
class _Upload:
    name: str
    path: Path
    fd: int
    size: int = 0
    cut: bool = False
    refused: str = ""


def _denied(message: str) -> asyncssh.SFTPPermissionDenied:
    return asyncssh.SFTPPermissionDenied(message)


def _parts(path: bytes) -> list[str]:
    """The client's path inside its virtual home, with `.` and `..` resolved; `..` stops at the top."""
    try:
        text = path.decode("utf-8")
    except UnicodeDecodeError:
        raise asyncssh.SFTPInvalidFilename("File names must be UTF-8") from None
    parts: list[str] = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return parts


def _upload_name(path: bytes) -> str:
    parts = _parts(path)
    if not parts:
        raise asyncssh.SFTPFileIsADirectory("This is the folder itself; upload a file into it")
    if len(parts) > 1:
        raise _denied("Upload files into the top folder; there are no sub-folders here")
    name = parts[0]
    if len(name) > _MAX_NAME or any(ord(char) < 32 for char in name):
        raise asyncssh.SFTPInvalidFilename("This file name is not accepted")
    return name


def _folder_attrs() -> asyncssh.SFTPAttrs:
    return asyncssh.SFTPAttrs(
        type=asyncssh.FILEXFER_TYPE_DIRECTORY, permissions=0o40700, size=0, mtime=int(time.time())
    )


class DropFolder(asyncssh.SFTPServer):
    """The client's view: one empty folder that accepts uploads and nothing else."""

    def __init__(self, chan, *, login: services.Login, state: DropState):
        super().__init__(chan)
        self._login = login
        self._state = state
        self._uploads: set[_Upload] = set()

    # Allowed --------------------------------------------------------------------------------

    def realpath(self, path: bytes) -> bytes:
        return ("/" + "/".join(_parts(path))).encode()

    def stat(self, path: bytes) -> asyncssh.SFTPAttrs:
        if not _parts(path):
            return _folder_attrs()
        raise asyncssh.SFTPNoSuchFile("No such file")

    lstat = stat

    def scandir(self, path: bytes):
        if _parts(path):
            raise _denied("Only the top folder can be listed")
        return self._listing()

    async def _listing(self):
        # Uploads leave the folder as soon as they are complete: it always looks empty.
        for name in (b".", b".."):
            yield asyncssh.SFTPName(name, attrs=_folder_attrs())

    async def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> _Upload:
        if pflags & FXF_READ or not pflags & FXF_WRITE:
            raise _denied("Files here cannot be read back: this folder only accepts uploads")
        name = _upload_name(path)
        if len(self._uploads) >= _MAX_OPEN_UPLOADS:
            raise asyncssh.SFTPFailure(f"At most {_MAX_OPEN_UPLOADS} files can be uploaded at once")
        try:
            await _in_thread(services.drop_check, login=self._login)
        except services.DropRefused as exc:
            raise _denied(exc.detail) from None
        folder = self._state.spool_dir / str(self._login.account_id)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        spool = folder / f"{secrets.token_hex(16)}.part"
        fd = os.open(spool, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        upload = _Upload(name=name, path=spool, fd=fd)
        self._uploads.add(upload)
        log.info("SFTP: %s started uploading %r", self._login.username, name)
        return upload

    def write(self, upload: _Upload, offset: int, data: bytes) -> None:
        if upload.refused:
            raise asyncssh.SFTPFailure(upload.refused)
        end = offset + len(data)
        if end > self._state.max_file_bytes:
            megabytes = self._state.max_file_bytes / (1024 * 1024)
            upload.refused = f"Files may be at most {megabytes:g} MB; this one was not imported"
            self._discard(upload)
            raise asyncssh.SFTPFailure(upload.refused)
        os.pwrite(upload.fd, data, offset)
        upload.size = max(upload.size, end)

    def fstat(self, upload: _Upload) -> asyncssh.SFTPAttrs:
        return asyncssh.SFTPAttrs(type=asyncssh.FILEXFER_TYPE_REGULAR, size=upload.size, permissions=0o100600)

    def fsync(self, upload: _Upload) -> None:
        if upload.fd >= 0:
            os.fsync(upload.fd)

    async def close(self, upload: _Upload) -> None:
        self._uploads.discard(upload)
        if upload.fd >= 0:
            os.close(upload.fd)
            upload.fd = -1
        if upload.cut or upload.refused:
            self._discard(upload)
            if upload.cut:
                log.warning("SFTP: upload of %r by %s was cut; not imported", upload.name, self._login.username)
            else:
                raise asyncssh.SFTPFailure(upload.refused)
            return
        try:
            await _in_thread(services.drop_upload_finish, login=self._login, path=upload.path, file_name=upload.name)
        except services.DropRefused as exc:
            self._discard(upload)
            raise asyncssh.SFTPFailure(exc.detail) from None
        except Exception:
            self._discard(upload)
            log.exception("SFTP: could not import %r for %s", upload.name, self._login.username)
            raise asyncssh.SFTPFailure("The file could not be imported; please try again later") from None

    def uploads_abandon(self) -> None:
        for upload in self._uploads:
            upload.cut = True

    def exit(self) -> None:
        for upload in list(self._uploads):
            upload.cut = True
            if upload.fd >= 0:
                os.close(upload.fd)
                upload.fd = -1
            self._discard(upload)
        self._uploads.clear()

    @staticmethod
    def _discard(upload: _Upload) -> None:
        if upload.fd >= 0:
            os.close(upload.fd)
            upload.fd = -1
        try:
            upload.path.unlink()
        except FileNotFoundError:
            pass

    # Refused --------------------------------------------------------------------------------

    def read(self, upload, offset, size):
        raise _denied("Files here cannot be read back")

    def setstat(self, path, attrs):
        raise _denied("File attributes cannot be changed here")

    def lsetstat(self, path, attrs):
        raise _denied("File attributes cannot be changed here")

    def fsetstat(self, upload, attrs):
        raise _denied("File attributes cannot be changed here")

    def remove(self, path):
        raise _denied("Files cannot be removed here")

    def rename(self, oldpath, newpath):
        raise _denied("Files cannot be renamed here")

    def posix_rename(self, oldpath, newpath):
        raise _denied("Files cannot be renamed here")

    def mkdir(self, path, attrs):
        raise _denied("Folders cannot be created here")

    def rmdir(self, path):
        raise _denied("Folders cannot be removed here")

    def readlink(self, path):
        raise _denied("There are no links here")

    def symlink(self, oldpath, newpath):
        raise _denied("Links cannot be created here")

    def link(self, oldpath, newpath):
        raise _denied("Links cannot be created here")

    def lock(self, upload, offset, length, flags):
        raise asyncssh.SFTPOpUnsupported("Locks are not supported")

    def unlock(self, upload, offset, length):
        raise asyncssh.SFTPOpUnsupported("Locks are not supported")

    def statvfs(self, path):
        raise asyncssh.SFTPOpUnsupported("Not supported")

    def fstatvfs(self, upload):
        raise asyncssh.SFTPOpUnsupported("Not supported")

    def open56(self, path, desired_access, flags, attrs):  # pragma: no cover - the server speaks version 3
        raise asyncssh.SFTPOpUnsupported("Not supported")

    def map_path(self, path):
        raise OSError(errno.EACCES, "Paths are never mapped to the server's files")

    def reverse_map_path(self, path):
        raise OSError(errno.EACCES, "Paths are never mapped to the server's files")


# Starting it ------------------------------------------------------------------------------------


def drop_state_from_settings(*, clock: Clock = time.time) -> DropState:
    return DropState(
        clock=clock,
        max_unauthenticated=settings.SFTP_MAX_UNAUTHENTICATED_PER_IP,
        max_file_bytes=settings.SFTP_MAX_FILE_BYTES,
        spool_dir=Path(settings.SFTP_SPOOL_DIR),
    )


async def drop_server_start(*, host: str, port: int, state: DropState | None = None) -> asyncssh.SSHAcceptor:
    state = state or drop_state_from_settings()
    host_key = await asyncio.to_thread(host_key_load_or_create)
    state.spool_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return await asyncssh.create_server(
        lambda: DropSSHServer(state),
        host,
        port,
        server_host_keys=[host_key],
        login_timeout=settings.SFTP_LOGIN_TIMEOUT,
        allow_pty=False,
        agent_forwarding=False,
        x11_forwarding=False,
        gss_host=None,
        kbdint_auth=False,
        keepalive_interval=60,
        keepalive_count_max=3,
    )
