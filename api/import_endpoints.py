"""The import endpoints of the REST API: start an import of a file, watch it, read its results.

The import itself is the engine's (imports.services and its RQ job); this only hands it the file.
"""

import base64
import binascii
import hashlib
from datetime import datetime
from typing import Literal

from django.http import HttpResponse
from django.urls import reverse
from ninja import File, Form, Path, Query, Schema, Status
from ninja.files import UploadedFile
from pydantic import ConfigDict, Field

from api import services as api_services
from api.endpoints import AUTH_ERRORS, ApiKeyAuth, IdempotencyKey, _idempotent, api
from api.errors import ApiError
from api.schemas import EXAMPLE_PHONE, EXAMPLE_TIME, ErrorOut
from imports import services as import_services
from imports.models import Action, ImportConfiguration, ImportResult, ImportRun, ResultOutcome, RunSource, Stage

ActionName = Literal[tuple(Action.values)]
StageName = Literal[tuple(Stage.values)]
ResultOutcomeName = Literal[tuple(ResultOutcome.values)]


class ImportRunOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 42,
                    "url": "https://alerts.example.com/api/v1/imports/42",
                    "results_url": "https://alerts.example.com/api/v1/imports/42/results",
                    "file_name": "cis-export.csv",
                    "configuration": None,
                    "mode": "standard",
                    "action": "opt_in",
                    "dry_run": False,
                    "stage": "done",
                    "progress": 100,
                    "rows_read": 3,
                    "counts": {"opted_in": 2, "new": 2, "rejected": 1, "rejected_invalid": 1},
                    "new_numbers": 2,
                    "error": "",
                    "created_at": EXAMPLE_TIME,
                    "finished_at": EXAMPLE_TIME,
                }
            ]
        }
    )

    id: int
    url: str = Field(description="This run in the API")
    results_url: str
    file_name: str
    configuration: str | None = Field(description="The ALP configuration's name; null for Preformatted")
    mode: str
    action: str
    dry_run: bool = Field(description="A preview: the results say what would happen, nothing was changed")
    stage: StageName = Field(
        description="queued → reading → comparing → (awaiting_confirmation: a manager must confirm it in the "
        "app) → applying → done; or failed / cancelled"
    )
    progress: int = Field(description="Percent of the current stage")
    rows_read: int
    counts: dict[str, int] = Field(description="Numbers per outcome, `new`, and `rejected_<reason>`")
    new_numbers: int
    error: str = Field(description="Why the run failed, in a sentence; empty otherwise")
    created_at: datetime
    finished_at: datetime | None


class ImportResultOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "phone": EXAMPLE_PHONE,
                    "outcome": "opted_in",
                    "is_new": True,
                    "tags": ["District 4"],
                    "tags_added": ["District 4"],
                    "tags_removed": [],
                    "reason": "",
                    "row_number": 2,
                    "raw_value": "(202) 555-0173",
                }
            ]
        }
    )

    phone: str = Field(description="E.164; empty for a row whose number was rejected")
    outcome: ResultOutcomeName
    is_new: bool
    tags: list[str]
    tags_added: list[str]
    tags_removed: list[str]
    reason: str = Field(description="Why a row was rejected: blank, invalid, not_us_ca, not_mobile, opted_out")
    row_number: int | None
    raw_value: str = Field(description="The cell as the file had it")


class ImportResultPage(Schema):
    items: list[ImportResultOut]
    next_cursor: str | None
    next: str | None


def _run_data(request, run: ImportRun) -> dict:
    url = request.build_absolute_uri(reverse("api:import_detail", args=[run.pk]))
    data = {
        "id": run.pk,
        "url": url,
        "results_url": request.build_absolute_uri(reverse("api:import_results", args=[run.pk])),
        "file_name": run.file_name,
        "configuration": run.configuration.name if run.configuration_id and run.configuration else None,
        "mode": run.mode,
        "action": run.action,
        "dry_run": run.dry_run,
        "stage": run.stage,
        "progress": run.progress,
        "rows_read": run.rows_read,
        # Only the figures: the counts also keep the text of a skipped header row, for the run's page.
        "counts": {key: int(value) for key, value in (run.counts or {}).items() if isinstance(value, int)},
        "new_numbers": run.new_numbers,
        "error": run.error,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
    }
    return ImportRunOut.model_validate(data).model_dump(mode="json")


def _get_run_for_request(request, run_id: int) -> ImportRun:
    run = ImportRun.objects.select_related("configuration").filter(pk=run_id, account=request.account).first()
    if run is None:
        raise ApiError("not_found", "This account has no import with this id.", "id", status=404)
    return run


def _get_configuration_for_request(request, config: str) -> ImportConfiguration:
    configurations = ImportConfiguration.objects.filter(account=request.account, retired_at__isnull=True)
    found = configurations.filter(pk=int(config)).first() if config.isdigit() else None
    found = found or configurations.filter(name__iexact=config.strip()).first()
    if found is None:
        raise ApiError("no_configuration", "This account has no import configuration of this id or name.", "config",
                       status=404)  # fmt: skip
    return found


def _upload_fingerprint(request, file, fields: list) -> str:
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    return api_services.request_fingerprint(request.method, request.get_full_path(), digest.hexdigest(), *fields)


RunId = Path(..., ge=1, le=2**62, description="The import's id", examples=[42])
UploadField = File(..., description="CSV, TXT or XLSX")
ConfigField = Form(
    None,
    max_length=100,
    description="An approved ALP configuration, by id or name; leave out for Preformatted "
    "(phone in column A, every other cell a tag)",
    examples=["CIS nightly export"],
)
ActionField = Form("opt_in", description="For Preformatted: what to do with the numbers in the file")
DryRunField = Form(False, description="Only compute the results; change nothing")


@api.post(
    "/imports",
    response={202: ImportRunOut, 404: ErrorOut, 409: ErrorOut, 503: ErrorOut, **AUTH_ERRORS},
    auth=ApiKeyAuth(max_body_setting="MAX_UPLOAD_BYTES", slack=64 * 1024),
    summary="Start an import of a file",
    tags=["Imports"],
    url_name="import_create",
    description="A multipart upload. Answers `202` with the run, whose `url` shows its progress and whose "
    "`results_url` lists what happened to each number. A file that cannot be read at all is refused at once "
    "(`422 file_rejected`, `413 file_too_large`); a configuration that is not approved is `409 not_approved` "
    "unless `dry_run` is set.",
)
def import_create(
    request,
    response: HttpResponse,
    file: UploadedFile = UploadField,
    config: str | None = ConfigField,
    action: ActionName = ActionField,
    dry_run: bool = DryRunField,
    idempotency_key: str | None = IdempotencyKey,
):
    configuration = _get_configuration_for_request(request, config) if config and config.strip() else None
    fingerprint = None
    if idempotency_key:
        fingerprint = _upload_fingerprint(request, file, [config or "", action, str(dry_run)])

    def work():
        run = import_services.import_run_create(
            account=request.account,
            file=file,
            file_name=file.name or "upload",
            source=RunSource.API,
            configuration=configuration,
            action=action,
            dry_run=dry_run,
        )
        return _run_data(request, run)

    answer = _idempotent(request, response, idempotency_key, work, fingerprint=fingerprint, success_status=202)
    if answer.status_code == 202:
        response["Location"] = answer.value["url"]
    return answer


@api.get(
    "/imports/{run_id}",
    response={200: ImportRunOut, 404: ErrorOut, **AUTH_ERRORS},
    summary="An import's stage, progress and counts",
    tags=["Imports"],
    url_name="import_detail",
)
def import_detail(request, run_id: int = RunId):
    return Status(200, _run_data(request, _get_run_for_request(request, run_id)))


HELD_RESPONSES = {200: ImportRunOut, 404: ErrorOut, 409: ErrorOut, **AUTH_ERRORS}


def _api_key_name(request) -> str:
    return f"API key {request.api_key.name}"[:150]


@api.post(
    "/imports/{run_id}/confirm",
    response=HELD_RESPONSES,
    summary="Confirm an import the guard holds",
    tags=["Imports"],
    url_name="import_confirm",
    description="An import that would suspend or opt out more than the guard's share of the opted-in list (a soft "
    "or hard opt-out file, a `suspend` list) waits at `awaiting_confirmation`. Confirming applies it, decided "
    "again on the list as it is now; the run's `url` shows it finish. `409 wrong_stage` for a run that is not "
    "waiting, `409 expired` for one held more than 24 hours.",
)
def import_confirm(request, response: HttpResponse, run_id: int = RunId, idempotency_key: str | None = IdempotencyKey):
    run = _get_run_for_request(request, run_id)

    def work():
        confirmed = import_services.import_run_confirm(run=run, user=None, actor_name=_api_key_name(request))
        return _run_data(request, confirmed)

    return _idempotent(request, response, idempotency_key, work)


@api.post(
    "/imports/{run_id}/cancel",
    response=HELD_RESPONSES,
    summary="Cancel an import that is queued or held",
    tags=["Imports"],
    url_name="import_cancel",
    description="Nothing of the file is applied and its rows are dropped. `409 wrong_stage` for a run that is "
    "neither queued nor waiting for a confirmation.",
)
def import_cancel(request, response: HttpResponse, run_id: int = RunId, idempotency_key: str | None = IdempotencyKey):
    run = _get_run_for_request(request, run_id)

    def work():
        cancelled = import_services.import_run_cancel(run=run, user=None, actor_name=_api_key_name(request))
        return _run_data(request, cancelled)

    return _idempotent(request, response, idempotency_key, work)


def _encode_cursor(result_id: int) -> str:
    return base64.urlsafe_b64encode(f"r:{result_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith("r:") or not text[2:].isdigit() or len(text) > 22:
        raise ApiError("invalid_cursor", "This cursor is not one this API gave out.", "cursor", status=422)
    return int(text[2:])


OutcomeQuery = Query(None, description="Only results with this outcome")
CursorQuery = Query(None, min_length=1, max_length=40, description="`next_cursor` of the previous page")
LimitQuery = Query(100, ge=1, le=1000, description="Results per page")


@api.get(
    "/imports/{run_id}/results",
    response={200: ImportResultPage, 404: ErrorOut, **AUTH_ERRORS},
    summary="What an import did to each number",
    tags=["Imports"],
    url_name="import_results",
    description="In the order of the file's rows. A preview (`dry_run`) lists what would happen.",
)
def import_results(
    request,
    run_id: int = RunId,
    outcome: ResultOutcomeName | None = OutcomeQuery,
    cursor: str | None = CursorQuery,
    limit: int = LimitQuery,
):
    run = _get_run_for_request(request, run_id)
    results = ImportResult.objects.filter(run=run).order_by("id")
    if outcome:
        results = results.filter(outcome=outcome)
    if cursor:
        results = results.filter(id__gt=_decode_cursor(cursor))
    page = list(results[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    next_cursor = _encode_cursor(page[-1].pk) if more else None
    next_url = None
    if next_cursor:
        params = request.GET.copy()
        params["cursor"] = next_cursor
        next_url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
    items = [
        {
            "phone": r.phone,
            "outcome": r.outcome,
            "is_new": r.is_new,
            "tags": list(r.tags or []),
            "tags_added": list(r.tags_added or []),
            "tags_removed": list(r.tags_removed or []),
            "reason": r.reason,
            "row_number": r.row_number,
            "raw_value": r.raw_value,
        }
        for r in page
    ]
    return Status(200, {"items": items, "next_cursor": next_cursor, "next": next_url})
