"""What jobs share: a lease that says "a worker is on this", and the check that the job queue answers.

A worker that is SIGKILLed cannot clean up after itself. Each long job (an import, an alert) holds a lease in
Redis that a thread renews while the process lives, even inside a long SQL statement; the janitor treats a job
whose lease lapsed as lost and retries or resumes it. The lease is taken with NX, so a job queued twice for the
same run or alert (a retry racing a late worker) runs once.
"""

import logging
import threading

import django_rq
from django.conf import settings

from alertmanager.errors import ServiceError

log = logging.getLogger(__name__)

QUEUE_DOWN = "The job queue is unavailable, try again in a minute."


class QueueUnavailable(ServiceError):
    def __init__(self):
        super().__init__("queue_unavailable", QUEUE_DOWN)


def queue_check(queue: str = "default") -> None:
    """Refuse work that needs a job while Redis does not answer, before anything is written."""
    try:
        django_rq.get_connection(queue).ping()
    except Exception as exc:
        log.warning("the job queue does not answer: %s", exc)
        raise QueueUnavailable() from exc


class Lease:
    """Held while the job runs; `acquired` is False when another live worker holds it already."""

    def __init__(self, key: str):
        self.key = key
        self.redis = django_rq.get_connection("imports")
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
    return bool(django_rq.get_connection("imports").exists(key))
