"""Prometheus metrics: the series operators scrape at /metrics (alertmanager.health serves them).

Under gunicorn and RQ there are many processes; with PROMETHEUS_MULTIPROC_DIR set (one folder per machine, emptied
when the services start) prometheus-client writes each process's counters to files there and /metrics adds them
up, so a scrape sees every web process and every work horse of that machine. Queue depth and job age are read from
Redis at scrape time: they are the same for every process, so they are gauges of the scrape, not of a process.
"""

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

REQUESTS = Counter("alertmanager_http_requests", "HTTP requests by view and status", ["view", "method", "status"])
API_CALLS = Counter("alertmanager_api_calls", "REST API calls by status", ["status"])
FAILED_LOGINS = Counter("alertmanager_failed_logins", "Failed passwords and codes", ["step"])
IMPORT_RUNS = Counter("alertmanager_import_runs", "Import runs that reached a final or held stage", ["outcome"])
IMPORT_ROWS = Counter("alertmanager_import_rows", "Numbers of finished import runs by outcome", ["outcome"])
IMPORT_RETRIES = Counter("alertmanager_import_retries", "Import runs queued again after their worker died")
IMPORT_DURATION = Histogram(
    "alertmanager_import_duration_seconds",
    "Time from an import's start to its end",
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600),
)
IMPORT_ROWS_PER_SECOND = Histogram(
    "alertmanager_import_rows_per_second",
    "Rows read per second of an import",
    buckets=(100, 500, 1000, 2500, 5000, 10_000, 20_000, 50_000, 100_000),
)
TEXTS = Counter("alertmanager_texts", "Alert texts by what became of them", ["result"])
INBOUND_KEYWORDS = Counter("alertmanager_inbound_keywords", "Inbound texts by what their keyword meant", ["kind"])
ALERTS_RESUMED = Counter("alertmanager_alerts_resumed", "Alerts resumed after their worker died")
RESULTS_PURGED = Counter("alertmanager_import_results_purged", "Per-number import results purged by retention")


class _QueueCollector:
    """Depth and age of the oldest waiting job of each RQ queue, read at scrape time."""

    def collect(self):
        depth = GaugeMetricFamily("alertmanager_queue_depth", "Jobs waiting in a queue", labels=["queue"])
        age = GaugeMetricFamily(
            "alertmanager_queue_oldest_job_age_seconds", "Age of the oldest waiting job", labels=["queue"]
        )
        workers = GaugeMetricFamily("alertmanager_queue_workers", "Live workers listening on a queue", labels=["queue"])
        try:
            from alertmanager.jobqueue import live_workers, queue_state

            for name, (count, oldest) in queue_state().items():
                depth.add_metric([name], count)
                age.add_metric([name], oldest)
            for name, count in live_workers().items():
                workers.add_metric([name], count)
        except Exception:  # Redis down: the scrape still answers, without these series (readyz says why)
            return []
        return [depth, age, workers]


def render() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
        _register_once(registry)
        return generate_latest(registry)
    registry.register(_QueueCollector())
    return generate_latest(registry)


_registered = []


def _register_once(registry) -> None:
    if not _registered:
        registry.register(_QueueCollector())
        _registered.append(True)


def import_finished(run) -> None:
    """Count a run that reached its end (or the guard's hold), with its duration and rows per second."""
    IMPORT_RUNS.labels(outcome=run.stage).inc()
    for outcome, count in (run.counts or {}).items():
        if not outcome.startswith("rejected_") and isinstance(count, int) and count:
            IMPORT_ROWS.labels(outcome=outcome).inc(count)
    if run.started_at and run.finished_at:
        seconds = max((run.finished_at - run.started_at).total_seconds(), 0.001)
        IMPORT_DURATION.observe(seconds)
        if run.rows_read:
            IMPORT_ROWS_PER_SECOND.observe(run.rows_read / seconds)
