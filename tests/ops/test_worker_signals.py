"""A warm shutdown (SIGTERM) stops the worker wherever it arrives, its janitor's beat included."""

import signal

import django_rq
import pytest
from rq.exceptions import StopRequested

from imports import janitor
from imports.worker import Worker

pytestmark = pytest.mark.django_db


def test_a_sigterm_during_the_janitors_beat_stops_the_worker(monkeypatch):
    worker = Worker(["default"], connection=django_rq.get_connection("default"))

    def sigterm_arrives():
        # RQ's own SIGTERM handler, run at the moment the signal would interrupt the beat.
        worker.request_stop(signal.SIGTERM, None)

    monkeypatch.setattr(janitor, "janitor_beat", sigterm_arrives)
    # RQ's handler makes the next signal a cold shutdown: the test process gets its own handlers back.
    handlers = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        with pytest.raises(StopRequested):
            worker._janitor_beat()
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
