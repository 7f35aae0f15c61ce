"""The RQ worker class of AlertManager: on start it cleans up after any worker that died (runs left
half-done, files, staging tables) and makes sure the periodic janitor and the monthly reassigned-numbers
check are scheduled."""

from django.db import connections
from rq.worker import Worker as RQWorker


class Worker(RQWorker):
    def register_birth(self):
        super().register_birth()
        from imports import jobs

        try:
            jobs.janitor()
            if self.connection.set(
                "am:import-janitor:scheduled", "1", nx=True, ex=int(jobs.JANITOR_EVERY.total_seconds())
            ):
                import django_rq

                django_rq.get_queue("imports").enqueue_in(jobs.JANITOR_EVERY, jobs.janitor_job)
            from lines import reassigned

            reassigned.schedule_next_month()
        finally:
            # The work horse is forked from this process: it must not inherit an open database connection.
            connections.close_all()
