"""asyncssh's sharp edges and the server's limits, each shown against the real server."""

import socket

import asyncssh
import pytest

from sftpdrop.hostkey import host_key_fingerprint
from tests.sftpdrop.conftest import connect, run


def _raw(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.settimeout(30)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _server_kexinit(sock: socket.socket) -> bytes:
    sock.sendall(b"SSH-2.0-KexProbe_1.0\r\n")
    buffer = b""
    while b"\r\n" not in buffer:
        buffer += sock.recv(4096)
    banner, _, buffer = buffer.partition(b"\r\n")
    assert banner.startswith(b"SSH-2.0-")
    while len(buffer) < 4:
        buffer += sock.recv(4096)
    length = int.from_bytes(buffer[:4], "big")
    while len(buffer) < 4 + length:
        buffer += sock.recv(4096)
    return buffer[4 : 4 + length]


def test_it_offers_strict_key_exchange_against_terrapin(drop_server):
    with _raw(drop_server) as sock:
        kexinit = _server_kexinit(sock)
    assert kexinit[1] == 20  # SSH_MSG_KEXINIT, after the padding length byte
    assert b"kex-strict-s-v00@openssh.com" in kexinit


def test_it_drops_a_connection_that_does_not_log_in_in_time(start_server, drop_settings):
    drop_settings.SFTP_LOGIN_TIMEOUT = 1
    server = start_server()
    with _raw(server) as sock:
        sock.sendall(b"SSH-2.0-Slowpoke_1.0\r\n")
        received = _read_until_closed(sock)
    assert received.startswith(b"SSH-2.0-")


def test_it_limits_unauthenticated_connections_per_address(start_server, drop_settings, credentials):
    drop_settings.SFTP_MAX_UNAUTHENTICATED_PER_IP = 2
    server = start_server()
    credential, password = credentials
    waiting = [_raw(server), _raw(server)]
    for sock in waiting:
        _server_kexinit(sock)  # the server has seen both
    # Refused before the SSH handshake, so the client sees the connection closed.
    with pytest.raises((asyncssh.DisconnectError, ConnectionError)):
        run(_session(server, credential.username, password))
    waiting.pop().close()
    for _ in range(100):  # until the server has noticed the closed connection
        try:
            assert run(_session(server, credential.username, password)) == "/"
            break
        except (asyncssh.DisconnectError, ConnectionError):
            continue
    else:
        raise AssertionError("a freed slot was never given back")
    waiting[0].close()


async def _session(server, username, password):
    async with connect(server, username, password) as conn:
        async with conn.start_sftp_client() as sftp:
            return await sftp.realpath(".")


def test_it_refuses_a_file_over_the_size_limit_and_keeps_nothing(
    start_server, drop_settings, credentials, ready_account
):
    drop_settings.SFTP_MAX_FILE_BYTES = 1000
    server = start_server()
    credential, password = credentials

    async def upload():
        async with connect(server, credential.username, password) as conn:
            async with conn.start_sftp_client() as sftp:
                async with sftp.open("big.csv", "wb") as handle:
                    await handle.write(b"2025550143\n" * 500)

    with pytest.raises(asyncssh.SFTPFailure) as caught:
        run(upload())
    assert "at most" in caught.value.reason and "not imported" in caught.value.reason
    folder = drop_settings.SFTP_SPOOL_DIR / str(ready_account.pk)
    assert list(folder.iterdir()) == []


def test_it_generates_the_host_key_once_and_shows_its_fingerprint(start_server, drop_settings, credentials):
    credential, password = credentials
    first = start_server()

    async def server_key(server):
        async with connect(server, credential.username, password) as conn:
            return conn.get_server_host_key().get_fingerprint("sha256")

    seen = run(server_key(first))
    first.stop()
    assert drop_settings.SFTP_HOST_KEY_PATH.stat().st_mode & 0o077 == 0
    assert run(server_key(start_server())) == seen
    assert host_key_fingerprint() == seen
