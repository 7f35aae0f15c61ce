"""What jobs share: one way to queue them, a lease that says "a worker is on this", the check that the job queue
answers, and the queues' state that health and metrics report.

Every app queues its jobs with :func:`enqueue`, which waits for the transaction to commit, scheduled jobs
included: a job must never start before the row it needs is committed, nor run for a rolled-back one (django-rq's
commit mode covers only `enqueue`, not `enqueue_in`/`enqueue_at`).

A worker that is SIGKILLed cannot clean up after itself. Each long job (an import, an alert) holds a lease in
Redis that a thread renews while the process lives, even inside a long SQL statement; the janitor treats a job
whose lease lapsed as lost and retries or resumes it. The lease is taken with NX, so a job queued twice for the
same run or alert (a retry racing a late worker) runs once.
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import django_rq
from django.conf import settings
from django.db import transaction

from alertmanager.errors import ServiceError

log = logging.getLogger(__name__)

QUEUES = ("default", "imports", "lookups")
# A worker that has not said it is alive for this long is gone (SIGKILLed, machine lost): our workers beat every
# few seconds (imports.worker), RQ only drops a dead one from its registry after minutes.
WORKER_SILENT_SECONDS = 15

QUEUE_DOWN = "The job queue is unavailable, try again in a minute."


class QueueUnavailable(ServiceError):
    def __init__(self):
        super().__init__("queue_unavailable", QUEUE_DOWN)


def enqueue(
    queue: str,
    func: Callable | str,
    *args,
    at: datetime | None = None,
    after: timedelta | None = None,
    committed: bool = False,
    **options,
) -> None:
    """Queue ``func(*args)`` on ``queue`` once the current transaction commits (at once outside one): now, at
    ``at``, or ``after`` a delay. ``options`` are RQ's (job_timeout, retry…).

    ``committed`` says the rows the job needs are committed already (an on-commit callback, the janitor's sweep of
    committed runs) or that it needs none (the janitor's next beat), so the job is queued at once even inside a transaction and a Redis error reaches the caller,
    who can leave the work to the janitor."""

    def put():
        target = django_rq.get_queue(queue, commit_mode="auto")  # the commit was awaited here already
        if at is not None:
            target.enqueue_at(at, func, *args, **options)
        elif after is not None:
            target.enqueue_in(after, func, *args, **options)
        else:
            target.enqueue(func, *args, **options)

    if committed:
        put()
    else:
        transaction.on_commit(put)


def connection(queue: str = "default"):
    return django_rq.get_connection(queue)


def queue_check(queue: str = "default") -> None:
    """Refuse work that needs a job while Redis does not answer, before anything is written."""
    try:
        connection(queue).ping()
    except Exception as exc:
        log.warning("the job queue does not answer: %s", exc)
        raise QueueUnavailable() from exc


class Lease:
    """Held while the job runs; `acquired` is False when another live worker holds it already."""

    def __init__(self, key: str):
        self.key = key
        self.redis = connection("imports")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._renew, daemon=True)
        self.acquired = False

    def __enter__(self):
        self.seconds = settings.IMPORT_LEASE_SECONDS
        self.acquired = bool(self.redis.set(self.key, "1", ex=self.seconds, nx=True))
        if self.acquired:
            self.thread.start()
        return self

    def _renew(self):
        while not self.stop.wait(self.seconds / 3):
            try:
                self.redis.set(self.key, "1", ex=self.seconds)
            except Exception:  # a Redis hiccup must not kill the job; the next renewal tries again
                log.warning("could not renew the lease %s", self.key)

    def __exit__(self, *exc):
        if not self.acquired:
            return
        self.stop.set()
        self.thread.join(timeout=5)
        try:
            self.redis.delete(self.key)
        except Exception:  # it lapses by itself
            log.warning("could not release the lease %s", self.key)

    def held_elsewhere(self) -> bool:
        return not self.acquired


def lease_exists(key: str) -> bool:
    return bool(connection("imports").exists(key))


def queue_state() -> dict[str, tuple[int, float]]:
    """Per queue: how many jobs wait, and the age in seconds of the oldest (its enqueue time, one job read)."""
    from rq.job import Job

    now = time.time()
    state = {}
    for name in QUEUES:
        queue = django_rq.get_queue(name)
        count = queue.count
        oldest = 0.0
        if count:
            first = queue.connection.lindex(queue.key, 0)
            if first:
                job = Job.fetch(first.decode(), connection=queue.connection)
                if job.enqueued_at:
                    oldest = max(0.0, now - job.enqueued_at.timestamp())
        state[name] = (count, oldest)
    return state


def live_workers() -> dict[str, int]:
    from rq import Worker
    from rq.utils import now

    redis = connection()
    cutoff = now() - timedelta(seconds=WORKER_SILENT_SECONDS)
    live = dict.fromkeys(QUEUES, 0)
    for worker in Worker.all(connection=redis):
        if worker.last_heartbeat is None or worker.last_heartbeat < cutoff:
            continue
        for name in worker.queue_names():
            if name in live:
                live[name] += 1
    return live
