"""gunicorn settings for AlertManager's web processes: `gunicorn -c deploy/gunicorn.conf.py alertmanager.wsgi`.

Threads keep clients' connections open and let one request use the CPU while another waits for PostgreSQL (the
README's figures). With PROMETHEUS_MULTIPROC_DIR set, each gunicorn worker writes its metrics there and /metrics
adds them up; a worker that exits is marked dead so its gauges go, its counters stay.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 2))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
worker_class = "gthread"
# Longer than the largest upload takes to arrive through the proxy; the import itself runs in a worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 120))
graceful_timeout = 30
accesslog = "-"
# The request id in the access log too, as the proxy sent it (or empty).
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms id=%({x-request-id}o)s'
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
