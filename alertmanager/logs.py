"""Logs: a request id, the account, the user and the import run on every record where there is one, phone numbers
cut to their last four digits everywhere, and LOG_FORMAT=json for one JSON object per line.

The context lives in context variables: the request middleware sets the request id and the request (whose user
and account the later middleware fill in), a job sets the run or the alert it works on. The masking is a filter
on the handler, so a number in any library's message, argument or traceback is cut before it is written.
"""

import json
import logging
import re
import uuid
from contextlib import contextmanager
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
_request_var: ContextVar[object | None] = ContextVar("log_request", default=None)
_job_var: ContextVar[dict | None] = ContextVar("log_job", default=None)

# An E.164 number, or ten or eleven digits however punctuated ((218) 555-0134, 218.555.0134, 12185550134):
# everything but the last four digits is replaced.
_PHONE = re.compile(
    r"(?<![\w.])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?(\d{4})(?![\w])|(?<![\w])\+\d{7,11}(\d{4})(?!\d)"
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def mask_phones(text: str) -> str:
    return _PHONE.sub(lambda m: "…" + (m.group(1) or m.group(2)), text)


def _account_and_user() -> tuple[str | None, str | None]:
    request = _request_var.get()
    account = user = None
    if request is not None:
        found = getattr(request, "account", None)
        account = getattr(found, "slug", None)
        # Only a user already loaded: resolving request.user here would query the database from a log call.
        loaded = getattr(request, "_cached_user", None)
        if loaded is not None and getattr(loaded, "is_authenticated", False):
            user = loaded.get_username()
    job = _job_var.get() or {}
    return job.get("account", account), job.get("user", user)


class ContextFilter(logging.Filter):
    """Adds request_id, account, user, import_run and alert to every record, and masks phone numbers."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.account, record.user = _account_and_user()
        job = _job_var.get() or {}
        record.import_run = job.get("import_run")
        record.alert = job.get("alert")
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the caller's bug; keep the record as it is
            return True
        record.msg = mask_phones(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_phones(record.exc_text)
        return True


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(
            f"{key}={value}"
            for key in ("request_id", "account", "user", "import_run", "alert")
            if (value := getattr(record, key, None)) is not None
        )
        line = super().format(record)
        return f"{line} [{context}]" if context else line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "account", "user", "import_run", "alert"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str)


JsonFormatter.converter = __import__("time").gmtime


@contextmanager
def job_context(**fields):
    """Inside a job: the run, alert or account the records are about."""
    token = _job_var.set({**(_job_var.get() or {}), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _job_var.reset(token)


class RequestIdMiddleware:
    """Takes the request id from X-Request-ID (a proxy's) or makes one, and sends it back on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        request.request_id = request_id
        id_token = request_id_var.set(request_id)
        request_token = _request_var.set(request)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(id_token)
            _request_var.reset(request_token)
        response["X-Request-ID"] = request_id
        _count(request, response)
        return response


def _count(request, response) -> None:
    from alertmanager import metrics

    match = getattr(request, "resolver_match", None)
    view = match.view_name if match is not None and match.view_name else "unmatched"
    metrics.REQUESTS.labels(view=view, method=request.method, status=str(response.status_code)).inc()
    if request.path.startswith("/api/"):
        metrics.API_CALLS.labels(status=str(response.status_code)).inc()
