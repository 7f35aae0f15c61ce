"""The real SFTP drop server on a random loopback port, and a real asyncssh client to talk to it.

The server runs in a thread with its own event loop; each test drives the client with
`run(...)` and checks the database afterwards, outside any event loop.
"""

import asyncio
import concurrent.futures
import threading

import asyncssh
import pytest
import redis

from sftpdrop import services
from sftpdrop.server import drop_server_start, drop_state_from_settings


class Clock:
    """The lockout's clock, moved by the test instead of by sleeping."""

    def __init__(self, start: float = 1_800_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, *, minutes: float = 0, seconds: float = 0) -> None:
        self.now += minutes * 60 + seconds


class ServerThread:
    def __init__(self, clock: Clock):
        self.clock = clock
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sftp-drop-test", daemon=True)
        self.acceptor = None
        self.port = 0

    def start(self) -> "ServerThread":
        self.thread.start()
        state = drop_state_from_settings(clock=self.clock)
        future = asyncio.run_coroutine_threadsafe(drop_server_start(host="127.0.0.1", port=0, state=state), self.loop)
        self.acceptor = future.result(timeout=60)
        self.port = self.acceptor.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close():
            self.acceptor.close()
            await self.acceptor.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=60)
        self.loop.close()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def drop_settings(settings, tmp_path):
    settings.SFTP_SPOOL_DIR = tmp_path / "spool"
    settings.SFTP_HOST_KEY_PATH = tmp_path / "keys" / "sftp_host_key"
    settings.UPLOAD_DIR = tmp_path / "uploads"
    # Each check of Django's default hasher takes over a second here; the lockout tests make dozens.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings


@pytest.fixture
def lockout_redis(settings):
    client = redis.Redis.from_url(settings.REDIS_URL)

    def clear():
        keys = list(client.scan_iter("am:sftp:*"))
        if keys:
            client.delete(*keys)

    clear()
    yield client
    clear()


@pytest.fixture
def start_server(transactional_db, drop_settings, lockout_redis, clock):
    """Start (and later stop) servers; several may be started to show what survives a restart."""
    running = []

    def start() -> ServerThread:
        server = ServerThread(clock).start()
        running.append(server)
        return server

    yield start
    for server in running:
        if server.thread.is_alive():
            server.stop()


@pytest.fixture
def drop_server(start_server):
    return start_server()


@pytest.fixture
def ready_account(account):
    """An account whose dropped files are imported as Preformatted opt-in."""
    services.sftp_settings_update(account=account, preformatted_default=True)
    return account


@pytest.fixture
def credentials(ready_account):
    credential, password = services.credential_create(account=ready_account)
    return credential, password


def connect(server: ServerThread, username: str, password: str | None = None, **options):
    options.setdefault("client_keys", None)
    return asyncssh.connect(
        "127.0.0.1",
        server.port,
        username=username,
        password=password,
        known_hosts=None,
        agent_path=None,
        config=None,
        kbdint_auth=False,
        **options,
    )


def run(coroutine):
    """Drive the client in a thread of its own: Playwright's sync API may hold a running loop in this one."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
