"""The RQ worker class of AlertManager: on start it cleans up after any worker that died (runs left
half-done, files, staging tables) and makes sure the periodic janitor and the monthly reassigned-numbers
check are scheduled.

It says it is alive every few seconds (RQ's default is minutes), so /readyz sees within seconds that the last
worker of a queue is gone, and reports a warm shutdown (SIGTERM) at once: RQ lets the running job finish, then
leaves the registry.
"""

from django.db import connections
from rq.exceptions import StopRequested
from rq.worker import Worker as RQWorker

HEARTBEAT_TTL = 20  # RQ waits on the queue ttl - 15 s at a time, then beats: every 5 s when idle


class Worker(RQWorker):
    def __init__(self, *args, **kwargs):
        # rqworker passes its own --worker-ttl default (420): ours wins unless one was given explicitly lower.
        kwargs["worker_ttl"] = min(kwargs.get("worker_ttl") or HEARTBEAT_TTL, HEARTBEAT_TTL)
        kwargs["job_monitoring_interval"] = min(kwargs.get("job_monitoring_interval") or 5, 5)
        super().__init__(*args, **kwargs)

    def heartbeat(self, *args, **kwargs):
        if self._birth_done and not self.connection.exists(self.key):
            # Redis restarted without its data: the worker registry, the queues and the janitor's schedule are
            # gone. Register again (so /readyz sees the worker) and let the janitor queue what Redis lost.
            self.log.warning("Worker %s: Redis lost its registration; registering again", self.name)
            self.register_birth()
        super().heartbeat(*args, **kwargs)
        if self._birth_done:
            self._janitor_beat()

    def _janitor_beat(self):
        """Every worker, whatever its queues and whether it has a scheduler, offers to run the janitor; one per
        JANITOR_SECONDS does (a lock in Redis). So a dead worker's import is retried and its alert resumed even where
        the janitor's scheduled chain was lost with it."""

        from imports import janitor

        try:
            janitor.janitor_beat()
        except StopRequested:
            # RQ raises it from its SIGTERM handler wherever the worker is: swallowed here, a warm shutdown that
            # came during the janitor's beat left the worker running (and /readyz counting it).
            raise
        except Exception:  # the next beat tries again; a worker must not die of its janitor
            self.log.exception("Worker %s: the janitor failed", self.name)
        finally:
            connections.close_all()

    _birth_done = False

    def register_birth(self):
        super().register_birth()
        self._birth_done = True

        from imports import janitor

        try:
            janitor.janitor()
            janitor.schedule_janitor()
            from lines import reassigned

            reassigned.schedule_next_month()
        finally:
            # The work horse is forked from this process: it must not inherit an open database connection.
            connections.close_all()
