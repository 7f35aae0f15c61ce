"""Real processes for the operations tests: a Redis server of the test's own, RQ workers, web and SFTP processes,
each on a port picked at run time (other test runs share the machine)."""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what: str, seconds: float = 60, every: float = 0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"gave up waiting for {what}")


def test_database_url() -> str:
    params = connection.settings_dict
    if params["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{params['NAME']}"
    return f"postgres://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"


def env(**extra) -> dict:
    from django.conf import settings

    return {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "UPLOAD_DIR": str(settings.UPLOAD_DIR),
        "PYTHONUNBUFFERED": "1",
        **{k: str(v) for k, v in extra.items()},
    }


class RedisServer:
    """A redis-server of the test's own, without persistence: stopping it loses everything, as a restart of an
    unpersisted Redis does."""

    def __init__(self, tmp_path: Path):
        self.port = free_port()
        self.dir = tmp_path
        self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=open(self.dir / "redis.log", "ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        import redis

        wait_for(lambda: _pings(redis.Redis.from_url(self.url)), "redis-server to answer", 10)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _pings(client) -> bool:
    try:
        return client.ping()
    except Exception:
        return False


def start(args: list[str], environment: dict, log: Path | None = None) -> subprocess.Popen:
    out = open(log, "ab") if log else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=environment, start_new_session=True, stdout=out, stderr=subprocess.STDOUT
    )


def worker(environment: dict, *queues: str, burst: bool = False, scheduler: bool = False, log: Path | None = None):
    args = ["manage.py", "rqworker", *(queues or ("default", "imports", "lookups"))]
    if burst:
        args.append("--burst")
    if scheduler:
        args.append("--with-scheduler")
    return start(args, environment, log)


def children(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    except FileNotFoundError:
        pass
    return found


def kill(proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
    for pid in children(proc.pid) + [proc.pid]:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextmanager
def running(*procs: subprocess.Popen):
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                kill(proc)
