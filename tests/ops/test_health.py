"""/healthz and /readyz: unauthenticated, cheap, no data; /readyz follows Redis and the workers within seconds."""

import json
import signal
import time
import urllib.error
import urllib.request

import pytest

from tests.ops import procs


@pytest.mark.django_db
def test_healthz_answers_without_the_database_a_session_or_https(client, settings, django_assert_num_queries):
    settings.SECURE_SSL_REDIRECT = True  # a load balancer probes over plain HTTP behind the TLS proxy
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "sessionid" not in response.cookies


@pytest.mark.django_db
def test_readyz_names_what_failed_and_leaks_nothing(client, settings):
    settings.READY_SFTP_ADDRESS = f"127.0.0.1:{procs.free_port()}"  # nothing listens there
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok" and body["checks"]["redis"] == "ok"
    assert body["checks"]["sftp"] == "the SFTP server does not listen"
    assert set(body["checks"]) == {"database", "redis", "workers", "queues", "sftp"}
    assert settings.DATABASES["default"]["NAME"] not in response.content.decode()


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except (urllib.error.URLError, ConnectionError):
        return 0, {}


def _until(url: str, status: int, seconds: float) -> tuple[float, dict]:
    started = time.monotonic()
    body = {}

    def reached():
        nonlocal body
        code, body = _get(url)
        return code == status

    procs.wait_for(reached, f"{url} to answer {status} (last: {body})", seconds, every=0.2)
    return time.monotonic() - started, body


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_readyz_turns_503_within_10_s_of_redis_or_the_last_worker_stopping_and_200_when_they_return(tmp_path):
    redis = procs.RedisServer(tmp_path).start()
    port = procs.free_port()
    environment = procs.env(REDIS_URL=redis.url)
    web = procs.start(
        ["-m", "gunicorn", "alertmanager.wsgi", "-b", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
        environment, tmp_path / "web.log",
    )  # fmt: skip
    worker = procs.worker(environment, log=tmp_path / "worker.log")
    url = f"http://127.0.0.1:{port}/readyz"
    try:
        _until(url, 200, 60)

        redis.stop()
        took, body = _until(url, 503, 10)
        assert took < 10 and body["checks"]["redis"] != "ok" and body["checks"]["database"] == "ok"
        redis.start()  # empty, as an unpersisted Redis comes back: the worker registers again

        def supervised():
            # RQ sometimes exits on a Redis connection it lost; systemd's Restart=always (deploy/) starts it again.
            nonlocal worker
            if worker.poll() is not None:
                worker = procs.worker(environment, log=tmp_path / "worker-restarted.log")
            return _get(url)[0] == 200

        procs.wait_for(supervised, "readyz to answer 200 again", 60, every=0.2)

        worker.send_signal(signal.SIGTERM)  # a warm shutdown: the last worker leaves
        took, body = _until(url, 503, 10)
        assert took < 10 and body["checks"]["workers"].startswith("no live worker for")
        worker.wait(timeout=30)
        worker = procs.worker(environment, log=tmp_path / "worker2.log")
        _until(url, 200, 60)
    finally:
        for proc in (web, worker):
            if proc.poll() is None:
                procs.kill(proc)
        redis.stop()
