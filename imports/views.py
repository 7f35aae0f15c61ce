"""FileUploader, import runs and their results, import history, and ALP configuration setup (SPEC §4, §5)."""

import re
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling
from django_tables2 import RequestConfig

from alertmanager import tabular
from imports import forms, readers, samples, selectors, services
from imports.limits import upload_limited
from imports.models import (
    MODE_MISSING_TEXT,
    REJECT_REASON_TEXT,
    ImportConfiguration,
    ImportRun,
    Mode,
    ResultOutcome,
    RunSource,
)
from imports.tables import ConfigurationTable, ResultTable, RunTable, configuration_status
from subscribers.models import Role
from subscribers.services import ServiceError
from subscribers.tenancy import manager_required, member_required

RESULTS_PER_PAGE = 50
RUNS_PER_PAGE = 25
PREFORMATTED_PREVIEW_ROWS = 20

# --- FileUploader ------------------------------------------------------------------------------------------------


# Which field of the upload form a refusal of the service is about.
_UPLOAD_FIELDS = {"file": "file", "config": "layout", "action": "action"}


@upload_limited
@member_required
@require_http_methods(["GET", "POST"])
def upload(request):
    configurations = list(selectors.approved_configurations(account=request.account))
    status = 200
    refusal = request.upload_refusal
    if refusal:
        form = forms.UploadForm(configurations=configurations)
        status = 413
    elif request.method == "POST":
        form = forms.UploadForm(request.POST, request.FILES, configurations=configurations)
        if form.is_valid():
            data = form.cleaned_data
            try:
                run = services.import_run_create(
                    account=request.account,
                    file=data["file"],
                    file_name=data["file"].name,
                    source=RunSource.WEB,
                    started_by=request.user,
                    configuration=data["configuration"],
                    action=data["action"],
                    dry_run=data["dry_run"],
                )
            except services.ImportRefused as exc:
                form.add_error(_UPLOAD_FIELDS.get(exc.field, None), exc.detail)
            else:
                return redirect("imports:run", pk=run.pk)
    else:
        form = forms.UploadForm(configurations=configurations)
    context = {"form": form, "refusal": refusal, "max_bytes": settings.MAX_UPLOAD_BYTES}
    return render(request, "imports/upload.html", context, status=status)


# --- runs --------------------------------------------------------------------------------------------------------


def _get_run_for_request(request, pk: int) -> ImportRun:
    run = get_object_or_404(
        ImportRun.objects.select_related("started_by", "configuration", "undo_of"), pk=pk, account=request.account
    )
    if not selectors.may_see_run(run=run, membership=request.membership):
        raise PermissionDenied("This import was started by someone else.")
    return run


class _CountedPaginator(Paginator):
    def __init__(self, object_list, per_page, known_count: int | None = None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        if known_count is not None:
            self.__dict__["count"] = known_count


def _htmx_target(request) -> str | None:
    return request.htmx.target if request.htmx else None


def _run_context(request, run: ImportRun) -> dict:
    filters = forms.ResultFilterForm(request.GET or None)
    outcome = number = ""
    if filters.is_bound and filters.is_valid():
        outcome = filters.cleaned_data["outcome"]
        number = filters.cleaned_data["number"]
    table = None
    if selectors.has_results(run):
        table = ResultTable(selectors.run_results(run=run, outcome=outcome, number=number))
        known = selectors.results_count(run=run, outcome=outcome, number=number)
        paginate = {"per_page": RESULTS_PER_PAGE, "paginator_class": _CountedPaginator, "known_count": known}
        RequestConfig(request, paginate=paginate).configure(table)
    undone_by = selectors.run_undone_by(run=run)
    return {
        "run": run,
        "steps": selectors.run_steps(run=run),
        "figures": selectors.run_figures(run=run),
        "filters": filters if filters.is_bound else forms.ResultFilterForm(),
        "filtering": bool(outcome or number),
        "table": table,
        "polling": selectors.run_is_moving(run),
        "is_manager": request.membership.role == Role.MANAGER,
        "can_decide": selectors.may_decide_run(run=run, membership=request.membership),
        "guard": selectors.guard_figures(run=run),
        "undone_by": undone_by,
        "can_undo": selectors.may_undo_run(run=run, membership=request.membership, undone_by=undone_by),
        "missing_text": MODE_MISSING_TEXT.get(Mode(run.mode), "") if run.mode in Mode.values else "",
    }


def _poll_response(request, template: str, context: dict):
    response = render(request, template, context)
    if context["polling"]:
        return response
    # The run has stopped moving: swap in its final state and tell htmx to stop asking.
    return HttpResponseStopPolling(response.content)


@member_required
@require_GET
def run_detail(request, pk: int):
    run = _get_run_for_request(request, pk)
    context = _run_context(request, run)
    target = _htmx_target(request)
    if target == "results-table":
        return render(request, "imports/run.html#results_table", context)
    if target == "run-status":
        return _poll_response(request, "imports/run.html#run_status", context)
    return render(request, "imports/run.html", context)


@member_required
@require_GET
def history(request):
    runs = selectors.runs_for_member(account=request.account, membership=request.membership)
    table = RunTable(runs)
    RequestConfig(request, paginate={"per_page": RUNS_PER_PAGE}).configure(table)
    context = {"table": table, "is_manager": request.membership.role == Role.MANAGER}
    if _htmx_target(request) == "runs-table":
        return render(request, "imports/history.html#runs_table", context)
    return render(request, "imports/history.html", context)


def _base_name(run: ImportRun) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(run.file_name or "").stem).strip("-.")[:60]
    return f"import-{run.pk}-{stem}" if stem else f"import-{run.pk}"


@member_required
@require_GET
def run_results_csv(request, pk: int):
    run = _get_run_for_request(request, pk)
    outcome_labels = dict(ResultOutcome.choices)
    fields = ("row_number", "phone", "outcome", "is_new", "tags", "tags_added", "tags_removed", "reason", "detail")
    results = selectors.run_results(run=run).values_list(*fields, "raw_value")
    rows = (
        (
            row_number,
            phone,
            outcome_labels.get(outcome, outcome),
            "yes" if is_new else "",
            tags,
            added,
            removed,
            detail or (REJECT_REASON_TEXT.get(reason, reason) if reason else ""),
            raw_value,
        )
        for row_number, phone, outcome, is_new, tags, added, removed, reason, detail, raw_value in results.iterator(
            chunk_size=tabular.BATCH
        )
    )
    header = ["Row", "Number", "What happened", "New", "Tags in the file", "Tags added", "Tags removed", "Why"]
    return tabular.csv_response(f"{_base_name(run)}-results.csv", [*header, "Value in the file"], rows, keep_e164=True)


@member_required
@require_GET
def run_preformatted_csv(request, pk: int):
    """The file as Preformatted: phone in column A, its tags in the next columns."""
    run = _get_run_for_request(request, pk)
    rows = ([phone, *tags] for phone, tags in selectors.preformatted_rows(run=run).iterator(chunk_size=tabular.BATCH))
    return tabular.csv_response(f"{_base_name(run)}-preformatted.csv", ["Phone", "Tags"], rows, keep_e164=True)


@manager_required
@require_POST
def run_confirm(request, pk: int):
    run = _get_run_for_request(request, pk)
    try:
        services.import_run_confirm(run=run, user=request.user)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Confirmed. The changes are being applied.")
    return redirect("imports:run", pk=run.pk)


@manager_required
@require_POST
def run_cancel(request, pk: int):
    run = _get_run_for_request(request, pk)
    try:
        services.import_run_cancel(run=run, user=request.user)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Cancelled. Nothing was changed.")
    return redirect("imports:run", pk=run.pk)


_UNDO_LABELS = {
    "revert": "Numbers put back as they were before the import",
    "remove": "Numbers the import added, taken off the list again",
    "changed_since": "Numbers that changed again since, left as they are",
}


@manager_required
@require_http_methods(["GET", "POST"])
def run_undo(request, pk: int):
    run = _get_run_for_request(request, pk)
    if request.method == "POST":
        try:
            undo = services.import_run_undo(run=run, user=request.user)
        except ServiceError as exc:
            messages.error(request, exc.detail)
            return redirect("imports:run", pk=run.pk)
        messages.success(request, f"Undoing import #{run.pk}. This is the undo's own record.")
        return redirect("imports:run", pk=undo.pk)
    try:
        preview = services.import_undo_preview(run=run)
    except ServiceError as exc:
        messages.error(request, exc.detail)
        return redirect("imports:run", pk=run.pk)
    outcome_labels = dict(selectors.OUTCOME_ORDER)
    figures = [
        (_UNDO_LABELS.get(key) or outcome_labels.get(key) or key.replace("_", " ").capitalize(), value)
        for key, value in preview.items()
        if isinstance(value, int)
    ]
    return render(request, "imports/undo.html", {"run": run, "figures": figures})


# --- ALP configurations ------------------------------------------------------------------------------------------


def _get_configuration_for_request(request, pk: int) -> ImportConfiguration:
    return get_object_or_404(ImportConfiguration, pk=pk, account=request.account)


@manager_required
@require_GET
def configs(request):
    rows = ImportConfiguration.objects.filter(account=request.account).order_by(
        F("retired_at").asc(nulls_first=True), "name"
    )
    table = ConfigurationTable(rows)
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    return render(request, "imports/configs.html", {"table": table})


def _get_sample_for_request(request, token: str) -> samples.Sample | None:
    return samples.sample_get(session=request.session, account=request.account, token=token)


def _sample_upload(request, configuration: ImportConfiguration | None):
    status = 200
    refusal = request.upload_refusal
    if refusal:
        form = forms.SampleForm(configuration=configuration)
        status = 413
    elif request.method == "POST":
        form = forms.SampleForm(request.POST, request.FILES, configuration=configuration)
        if form.is_valid():
            name = configuration.name if configuration else form.cleaned_data["name"].strip()
            refusal = None if configuration else services.configuration_name_refusal(account=request.account, name=name)
            if refusal:
                form.add_error("name", refusal)
            else:
                sample = samples.sample_store(
                    session=request.session,
                    account=request.account,
                    uploaded=form.cleaned_data["sample"],
                    name=name,
                    configuration=configuration,
                )
                try:
                    selectors.sample_preview(path=sample.path)
                except readers.FileRejected as exc:
                    samples.sample_discard(session=request.session, token=sample.token)
                    form.add_error("sample", str(exc))
                else:
                    return redirect("imports:config_columns", token=sample.token)
    else:
        form = forms.SampleForm(configuration=configuration)
    context = {"form": form, "configuration": configuration, "refusal": refusal}
    return render(request, "imports/config_sample.html", context, status=status)


@upload_limited
@manager_required
@require_http_methods(["GET", "POST"])
def config_new(request):
    return _sample_upload(request, None)


@upload_limited
@manager_required
@require_http_methods(["GET", "POST"])
def config_sample(request, pk: int):
    return _sample_upload(request, _get_configuration_for_request(request, pk))


def _columns_initial(configuration: ImportConfiguration | None, sample: samples.Sample) -> dict:
    if configuration is None:
        return {"name": sample.name, "mode": Mode.APPEND, "header_row": 1}
    return {
        "name": configuration.name,
        "mode": configuration.mode,
        **forms.ColumnsForm.initial_for(configuration.fieldmap),
    }


def _as_int(value, default: int) -> int:
    try:
        return max(0, min(100, int(value)))
    except (TypeError, ValueError):
        return default


@manager_required
@require_http_methods(["GET", "POST"])
def config_columns(request, token: str):
    """Pick a configuration's columns from its sample, then save it and test the sample through it."""
    sample = _get_sample_for_request(request, token)
    if sample is None:
        messages.error(request, "That sample file is no longer here. Upload it again.")
        return redirect("imports:configs")
    configuration = None
    if sample.configuration_id:
        configuration = _get_configuration_for_request(request, sample.configuration_id)
    initial = _columns_initial(configuration, sample)
    posted = request.method == "POST"
    header_row = _as_int(request.POST.get("header_row"), initial["header_row"]) if posted else initial["header_row"]
    sheet = (request.POST.get("sheet") if posted else initial.get("sheet")) or None
    try:
        preview = selectors.sample_preview(path=sample.path, sheet=sheet, header_row=header_row)
    except readers.FileRejected as exc:
        if sheet is None:
            samples.sample_discard(session=request.session, token=token)
            messages.error(request, str(exc))
            return redirect("imports:configs")
        messages.error(request, str(exc))
        preview = selectors.sample_preview(path=sample.path, header_row=header_row)
    kwargs = {"columns": preview.columns, "sheets": preview.info.sheets}
    if posted and "save" in request.POST:
        form = forms.ColumnsForm(request.POST, delimiter=preview.info.delimiter, **kwargs)
        if form.is_valid():
            saved = _save_and_test(request, form, configuration, sample)
            if saved is not None:
                return redirect("imports:config", pk=saved.pk)
    elif posted:
        # "Show again": re-read the sample with the header row and sheet asked for, keeping the other choices.
        again = {key: request.POST.get(key) for key in ("name", "mode")}
        again.update(
            phone_columns=request.POST.getlist("phone_columns"),
            tag_columns=request.POST.getlist("tag_columns"),
            language_column=request.POST.get("language_column", ""),
            header_row=header_row,
            sheet=preview.info.sheet or "",
        )
        form = forms.ColumnsForm(initial=again, **kwargs)
    else:
        form = forms.ColumnsForm(initial={**initial, "sheet": preview.info.sheet or ""}, **kwargs)
    context = {
        "form": form,
        "preview": preview,
        "sample": sample,
        "configuration": configuration,
        "mode_help": forms.mode_help(),
    }
    return render(request, "imports/config_columns.html", context)


def _save_and_test(request, form, configuration, sample: samples.Sample) -> ImportConfiguration | None:
    data = form.cleaned_data
    try:
        saved = services.configuration_save(
            account=request.account,
            user=request.user,
            name=data["name"].strip(),
            field_map=data["field_map"],
            mode=data["mode"],
            configuration=configuration,
        )
    except ServiceError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
        return None
    try:
        samples.sample_test(
            session=request.session, account=request.account, user=request.user, sample=sample, configuration=saved
        )
    except services.ImportRefused as exc:
        messages.error(request, f"The configuration was saved, but the sample could not be tested: {exc.detail}")
    else:
        messages.success(request, f"Saved “{saved.name}” (version {saved.version}). The sample is being tested.")
    return saved


def _config_context(request, configuration: ImportConfiguration) -> dict:
    run = selectors.latest_test_run(configuration=configuration)
    preformatted = []
    if run is not None and selectors.has_results(run):
        preformatted = list(selectors.preformatted_rows(run=run)[:PREFORMATTED_PREVIEW_ROWS])
    return {
        "configuration": configuration,
        "field_map": configuration.fieldmap,
        "status": configuration_status(configuration),
        "run": run,
        "steps": selectors.run_steps(run=run) if run else [],
        "figures": selectors.run_figures(run=run) if run else None,
        "preformatted": preformatted,
        "tag_width": max([len(tags) for _, tags in preformatted] + [1]),
        "polling": run is not None and selectors.run_is_moving(run),
        "tested_this_version": run is not None and run.configuration_version == configuration.version,
    }


@manager_required
@require_GET
def config_detail(request, pk: int):
    configuration = _get_configuration_for_request(request, pk)
    context = _config_context(request, configuration)
    if _htmx_target(request) == "test-run":
        return _poll_response(request, "imports/config.html#test_run", context)
    return render(request, "imports/config.html", context)


@manager_required
@require_http_methods(["GET", "POST"])
def config_edit(request, pk: int):
    configuration = _get_configuration_for_request(request, pk)
    if request.method == "POST":
        form = forms.ConfigurationForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = services.configuration_save(
                    account=request.account,
                    user=request.user,
                    name=data["name"].strip(),
                    field_map=data["field_map"],
                    mode=data["mode"],
                    configuration=configuration,
                )
            except ServiceError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
            else:
                messages.success(
                    request,
                    f"Saved as version {saved.version}. Test it with a sample and approve it again before "
                    "uploaders can use it.",
                )
                return redirect("imports:config", pk=saved.pk)
    else:
        initial = {"name": configuration.name, "mode": configuration.mode}
        form = forms.ConfigurationForm(
            initial={**initial, **forms.ConfigurationForm.initial_for(configuration.fieldmap)}
        )
    context = {"form": form, "configuration": configuration, "mode_help": forms.mode_help()}
    return render(request, "imports/config_edit.html", context)


@manager_required
@require_POST
def config_approve(request, pk: int):
    configuration = _get_configuration_for_request(request, pk)
    try:
        services.configuration_approve(configuration=configuration, user=request.user)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"“{configuration.name}” is approved: uploaders and the SFTP drop can use it now.")
    return redirect("imports:config", pk=configuration.pk)


@manager_required
@require_POST
def config_retire(request, pk: int):
    configuration = _get_configuration_for_request(request, pk)
    try:
        services.configuration_retire(configuration=configuration, user=request.user)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"“{configuration.name}” is retired: nobody can import with it any more.")
    return redirect("imports:config", pk=configuration.pk)
