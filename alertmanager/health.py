"""/healthz, /readyz and /metrics, answered at the top of the middleware stack.

They come before sessions, the second-factor gate and the account middleware: a load balancer or Prometheus has
no session, and a probe must not open one or touch a table. /healthz says only that the process answers.
/readyz runs django-health-check's checks (the database's SELECT 1) and ours (Redis, a live worker per queue, the
oldest waiting job, the SFTP port), all cheap: no table is read. /metrics answers only with the bearer token.
"""

import asyncio
import dataclasses
import hmac
import json
import socket
from datetime import timedelta

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from health_check.base import HealthCheck
from health_check.checks import Database
from health_check.exceptions import ServiceUnavailable

from alertmanager.jobqueue import connection, live_workers, queue_state


@dataclasses.dataclass
class RedisCheck(HealthCheck):
    timeout = timedelta(seconds=2)

    def run(self):
        try:
            connection().ping()
        except Exception as exc:
            raise ServiceUnavailable("Redis does not answer") from exc


@dataclasses.dataclass
class WorkersCheck(HealthCheck):
    timeout = timedelta(seconds=2)

    def run(self):
        try:
            live = live_workers()
        except Exception as exc:
            raise ServiceUnavailable("cannot read the workers from Redis") from exc
        missing = [name for name, count in live.items() if not count]
        if missing:
            raise ServiceUnavailable("no live worker for " + ", ".join(missing))


@dataclasses.dataclass
class QueueAgeCheck(HealthCheck):
    timeout = timedelta(seconds=2)

    def run(self):
        try:
            state = queue_state()
        except Exception as exc:
            raise ServiceUnavailable("cannot read the queues from Redis") from exc
        limit = settings.READY_MAX_JOB_AGE_SECONDS
        old = [f"{name} ({age:.0f} s)" for name, (_, age) in state.items() if age > limit]
        if old:
            raise ServiceUnavailable(f"jobs waiting longer than {limit} s: " + ", ".join(old))


@dataclasses.dataclass
class SftpCheck(HealthCheck):
    address: str = ""
    timeout = timedelta(seconds=2)

    def run(self):
        host, _, port = self.address.rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=1):
                pass
        except OSError as exc:
            raise ServiceUnavailable("the SFTP server does not listen") from exc


_NAMES = {
    Database: "database",
    RedisCheck: "redis",
    WorkersCheck: "workers",
    QueueAgeCheck: "queues",
    SftpCheck: "sftp",
}


def readiness() -> tuple[bool, dict]:
    checks = [Database(), RedisCheck(), WorkersCheck(), QueueAgeCheck()]
    if settings.READY_SFTP_ADDRESS:
        checks.append(SftpCheck(address=settings.READY_SFTP_ADDRESS))

    async def run_all():
        return await asyncio.gather(*(check.get_result() for check in checks))

    results = asyncio.run(run_all())
    body = {
        _NAMES[type(r.check)]: ("ok" if r.error is None else getattr(r.error, "message", str(r.error))) for r in results
    }
    return all(r.error is None for r in results), body


def _metrics(request):
    token = settings.METRICS_TOKEN
    if not token:
        return HttpResponse("Not found", status=404, content_type="text/plain")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("A bearer token is needed", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = "Bearer"
        return response
    from prometheus_client import CONTENT_TYPE_LATEST

    from alertmanager.metrics import render

    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)


class HealthMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if path == "/healthz":
            return JsonResponse({"status": "ok"})
        if path == "/readyz":
            ready, checks = readiness()
            response = HttpResponse(
                json.dumps({"status": "ok" if ready else "unavailable", "checks": checks}),
                status=200 if ready else 503,
                content_type="application/json",
            )
            response["Cache-Control"] = "no-store"
            return response
        if path == "/metrics":
            return _metrics(request)
        return self.get_response(request)
