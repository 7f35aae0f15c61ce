"""Logs: LOG_FORMAT=json gives one JSON object per line with the request id, account, user and import run; phone
numbers show only their last four digits, in every format."""

import io
import json
import logging
import subprocess
import sys

import pytest
from django.test import Client

from alertmanager.logs import ContextFilter, JsonFormatter, TextFormatter, job_context, mask_phones
from tests.conftest import verified_login
from tests.ops import procs


@pytest.mark.parametrize(
    "text, masked",
    [
        ("SMS to +12185550134 sent", "SMS to …0134 sent"),
        ("from (218) 555-0134.", "from …0134."),
        ("row 3: 218.555.0134, 1-218-555-0135", "row 3: …0134, …0135"),
        ("number 2185550134 and +441632960961", "number …0134 and …0961"),
        (
            "run 12 read 100000 rows in 7.4 s at 2026-12-07 11:40",
            "run 12 read 100000 rows in 7.4 s at 2026-12-07 11:40",
        ),
    ],
)
def test_phone_numbers_keep_only_their_last_four_digits(text, masked):
    assert mask_phones(text) == masked


def _capture(formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("tests.ops.capture")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_a_job_logs_its_run_and_account_and_a_traceback_is_masked_too():
    logger, stream = _capture(JsonFormatter())
    with job_context(import_run=42, account="lakeside"):
        try:
            raise ValueError("bad number +12185550134")
        except ValueError:
            logger.exception("import of %s failed", "+12185550199")
    entry = json.loads(stream.getvalue().strip())
    assert entry["import_run"] == 42 and entry["account"] == "lakeside"
    assert entry["message"] == "import of …0199 failed"
    assert "…0134" in entry["exception"] and "2185550134" not in stream.getvalue()


@pytest.mark.django_db
def test_a_request_logs_its_id_account_and_user_as_one_json_line(client, manager, settings):
    logger, stream = _capture(JsonFormatter())
    verified_login(client, manager)

    from django.urls import path

    from alertmanager import urls

    def view(request):
        from django.http import HttpResponse

        request.user.get_username()  # the user is loaded, as any page does
        logger.info("looked up +12185550134")
        return HttpResponse("ok")

    urls.urlpatterns.insert(0, path("ops-log-probe/", view))
    try:
        response = client.get("/ops-log-probe/", headers={"X-Request-ID": "req-abc-123"})
    finally:
        urls.urlpatterns.pop(0)
        from django.urls import clear_url_caches

        clear_url_caches()
    assert response["X-Request-ID"] == "req-abc-123"
    lines = stream.getvalue().strip().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["request_id"] == "req-abc-123" and entry["user"] == "manager"
    assert entry["message"] == "looked up …0134"
    made = Client().get("/healthz")  # probes have no id to carry; pages get one made
    assert "X-Request-ID" not in made
    assert len(client.get("/login/")["X-Request-ID"]) == 32


def test_the_default_stays_readable_text_and_log_format_json_switches_the_whole_process():
    logger, stream = _capture(TextFormatter("%(levelname)s %(name)s: %(message)s"))
    with job_context(alert=7):
        logger.info("sent to +12185550134")
    assert stream.getvalue().strip() == "INFO tests.ops.capture: sent to …0134 [alert=7]"
    # The settings themselves: a real process with LOG_FORMAT=json writes JSON lines, and refuses a bad value.
    code = "import logging, django; django.setup(); logging.getLogger('x').warning('to +12185550134')"
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=procs.ROOT, capture_output=True, text=True, timeout=60,
        env={**procs.env(LOG_FORMAT="json"), "DJANGO_SETTINGS_MODULE": "alertmanager.settings"},
    )  # fmt: skip
    line = [ln for ln in run.stderr.splitlines() if ln.startswith("{")][-1]
    assert json.loads(line)["message"] == "to …0134"
    bad = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=procs.ROOT, capture_output=True, text=True,
        timeout=60, env={**procs.env(LOG_FORMAT="yaml"), "DJANGO_SETTINGS_MODULE": "alertmanager.settings"},
    )  # fmt: skip
    assert bad.returncode != 0 and "LOG_FORMAT must be text or json" in bad.stderr
