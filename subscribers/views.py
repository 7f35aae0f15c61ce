"""The app's pages: home, account picker, the list of numbers, a number's page, adding,
editing, bulk changes, tags, exports and usage. Thin views: forms validate, services change, selectors read."""

from django.contrib import messages
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator

from alertmanager import tabular
from subscribers import charts, exports, phones, selectors, services, signals
from subscribers.forms import (
    BULK_ACTIONS,
    AddForm,
    BulkForm,
    ExportForm,
    FilterForm,
    LanguageForm,
    TagMergeForm,
    TagRenameForm,
    TagsForm,
)
from subscribers.models import Account, Membership, Role, Source, Status, Subscriber, Tag
from subscribers.services import Cause
from subscribers.tables import SubscriberTable, TagTable
from subscribers.tenancy import SESSION_KEY, manager_required, member_required
from subscribers.transitions import Refusal, State, decide
from subscribers.vocabulary import LIST_ACTIONS, REASONS, TAG_ACTIONS, ListAction


def home(request):
    """Managers land on the dashboard, uploaders on the FileUploader, support staff (no account of their own) in
    the admin, where their work is, instead of a 403."""
    user = request.user
    if user.is_authenticated and user.is_staff and not Membership.objects.filter(user=user).exists():
        return redirect("admin:index")
    return _member_home(request)


@member_required
def _member_home(request):
    if request.membership.role == Role.MANAGER:
        return redirect("dashboard")
    try:
        return redirect(reverse("imports:upload"))
    except NoReverseMatch:
        return render(request, "subscribers/uploader_home.html")


@require_http_methods(["GET", "POST"])
def pick_account(request):
    if not request.user.is_authenticated:
        return redirect("login")
    memberships = Membership.objects.select_related("account").filter(user=request.user)
    if request.method == "POST":
        chosen = memberships.filter(account_id=request.POST.get("account")).first()
        if chosen is None:
            messages.error(request, "Choose one of your accounts.")
        else:
            request.session[SESSION_KEY] = chosen.account_id
            messages.success(request, f"You are now working in {chosen.account.name}.")
            return redirect("home")
    return render(request, "subscribers/pick_account.html", {"memberships": memberships})


# Sorts the list offers, each backed by an index that starts with the account.
SORTS = {"phone", "-phone", "status", "-status", "first_seen", "-first_seen", "status_changed", "-status_changed"}


def _get_subscriber_for_request(request, pk: int) -> Subscriber:
    subscriber = Subscriber.objects.listed().filter(account=request.account, pk=pk).first()
    if subscriber is None:
        raise Http404("No such number on this account's list.")
    return subscriber


def _filter_form(request, data: QueryDict | None = None) -> tuple[FilterForm, selectors.SubscriberFilter]:
    form = FilterForm(data if data is not None else request.GET, account=request.account)
    form.is_valid()
    return form, form.to_filter()


def _cause(request) -> Cause:
    return Cause(source=Source.MANAGER, user=request.user)


@manager_required
def subscriber_list(request):
    form, filters = _filter_form(request)
    sort = request.GET.get("sort", "phone")
    if sort not in SORTS:
        sort = "phone"
    qs = (
        selectors.subscriber_search(account=request.account, filters=filters)
        .order_by(sort, "phone" if sort.lstrip("-") != "phone" else "id")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
    )
    table = SubscriberTable(qs, order_by=sort)
    per_page = form.cleaned_data.get("per_page") if hasattr(form, "cleaned_data") else None
    RequestConfig(request, paginate={"paginator_class": LazyPaginator, "per_page": per_page or 25}).configure(table)
    if filters.active:
        count, exact = selectors.capped_count(qs)
    else:
        count, exact = sum(selectors.status_counts(account=request.account).values()), True
    context = {
        "form": form,
        "table": table,
        "filters": filters,
        "count": count,
        "count_exact": exact,
        "query": _query_without(request.GET, "page"),
        "export_query": _query_without(request.GET, "page", "sort", "per_page"),
        "bulk_actions": BULK_ACTIONS,
    }
    # Going back in history to a page htmx no longer holds asks for the whole page again.
    partial = request.htmx and not request.htmx.history_restore_request
    template = "subscribers/list.html#results" if partial else "subscribers/list.html"
    return render(request, template, context)


def _query_without(query: QueryDict, *names: str) -> str:
    query = query.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@manager_required
@require_http_methods(["GET", "POST"])
def subscriber_add(request):
    form = AddForm(request.POST or None, account=request.account)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.subscriber_opt_in(
                account=request.account,
                phone=form.cleaned_data["phone"],
                cause=_cause(request),
                tags=form.cleaned_data["tags"],
            )
        except services.ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
        else:
            messages.success(
                request, f"{phones.format_national(result.subscriber.phone)} is opted in and will receive alerts."
            )
            if "add_another" in request.POST:
                return redirect("subscribers:add")
            return redirect("subscribers:detail", pk=result.subscriber.pk)
    known = Tag.objects.filter(account=request.account).order_by("name").values_list("name", flat=True)
    return render(request, "subscribers/add.html", {"form": form, "known_tags": known})


# The actions on a number's page, with the service each one calls; their words are the list's vocabulary.
_SERVICES = {
    ListAction.SUSPEND: services.subscriber_suspend,
    ListAction.REACTIVATE: services.subscriber_reactivate,
    ListAction.OPT_OUT: services.subscriber_opt_out,
    ListAction.DELETE: services.subscriber_delete,
}
ACTIONS = {
    name.value: {
        "service": _SERVICES[name],
        "action": words.transition,
        "label": words.label,
        "stops": words.stops,
        "explain": words.explain_one,
        "done": words.done_one,
    }
    for name, words in LIST_ACTIONS.items()
    if words.on_one
}


def _available_actions(subscriber: Subscriber) -> list[str]:
    state = State.of(subscriber.status, subscriber.opted_out_by)
    available = []
    for name, spec in ACTIONS.items():
        if spec["action"] is None:
            available.append(name)
            continue
        decision = decide(spec["action"], state)
        if not isinstance(decision, Refusal) and decision.to != state:
            available.append(name)
    return available


@manager_required
def subscriber_detail(request, pk: int):
    subscriber = _get_subscriber_for_request(request, pk)
    history = selectors.subscriber_history(account=request.account, phone=subscriber.phone)
    tags = sorted(subscriber.tags.all(), key=lambda tag: tag.name.lower())
    context = {
        "subscriber": subscriber,
        "national": phones.format_national(subscriber.phone),
        "tags": tags,
        "consent": selectors.consent_latest(account=request.account, phone=subscriber.phone, limit=500),
        "history_total": history.count(),
        "actions": [(name, ACTIONS[name]) for name in _available_actions(subscriber)],
        "tags_form": TagsForm(initial={"tags": ", ".join(tag.name for tag in tags)}),
        "language_form": LanguageForm(initial={"language": subscriber.language}),
        "known_tags": Tag.objects.filter(account=request.account).order_by("name").values_list("name", flat=True),
    }
    return render(request, "subscribers/detail.html", context)


def _consent_audit(request, action: str, summary: str, rows: int) -> None:
    signals.exported.send(
        sender=Account, account=request.account, user=request.user, action=action, summary=summary,
        details={"rows": rows},
    )  # fmt: skip


@manager_required
def subscriber_consent(request, pk: int):
    """The number's consent record as a page to print (or save as PDF) for an auditor."""
    subscriber = _get_subscriber_for_request(request, pk)
    record = selectors.consent_record(account=request.account, phone=subscriber.phone)
    national = phones.format_national(subscriber.phone)
    _consent_audit(request, "consent_page", f"Printed the consent record of {national}", len(record.events))
    context = {
        "subscriber": subscriber,
        "national": national,
        "record": record,
        "generated_at": timezone.now(),
    }
    return render(request, "subscribers/consent.html", context)


@manager_required
def subscriber_consent_csv(request, pk: int):
    subscriber = _get_subscriber_for_request(request, pk)
    record = selectors.consent_record(account=request.account, phone=subscriber.phone)
    rows = exports.consent_record_rows(record)
    national = phones.format_national(subscriber.phone)
    _consent_audit(request, "consent_csv", f"Exported the consent record of {national} as CSV", len(rows))
    response = StreamingHttpResponse(
        exports.consent_csv_stream(rows, request.account), content_type=exports.CONTENT_TYPES["csv"]
    )
    response["Content-Disposition"] = f'attachment; filename="consent-{subscriber.phone.lstrip("+")}.csv"'
    return response


@manager_required
@require_POST
def consent_ledger(request):
    """The whole account's consent ledger: always a job, with the progress page of the other exports."""
    job = exports.ledger_export_start(account=request.account, user=request.user)
    _consent_audit(
        request, "consent_ledger", f"Exported the account's consent ledger ({job.expected:,} rows)", job.expected
    )
    return redirect("subscribers:export_status", token=job.token)


@manager_required
@require_POST
def subscriber_language(request, pk: int):
    subscriber = _get_subscriber_for_request(request, pk)
    form = LanguageForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose English, Spanish or French.")
        return redirect("subscribers:detail", pk=pk)
    try:
        services.subscriber_language_set(
            account=request.account, phone=subscriber.phone, language=form.cleaned_data["language"]
        )
    except services.ServiceError as exc:
        messages.error(request, exc.detail)
        return redirect("subscribers:detail", pk=pk)
    updated = Subscriber.objects.get(pk=subscriber.pk)
    messages.success(
        request, f"{phones.format_national(subscriber.phone)} is texted in {updated.get_language_display()}."
    )
    return redirect("subscribers:detail", pk=pk)


@manager_required
@require_http_methods(["GET", "POST"])
def subscriber_action(request, pk: int, action: str):
    """One action on one number; one that stops alerts is confirmed on a page of its own first."""
    subscriber = _get_subscriber_for_request(request, pk)
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404("No such action.")
    national = phones.format_national(subscriber.phone)
    if request.method == "GET" or (spec["stops"] and request.POST.get("confirmed") != "1"):
        return render(
            request,
            "subscribers/confirm_action.html",
            {"subscriber": subscriber, "national": national, "spec": spec, "action": action},
        )
    try:
        spec["service"](account=request.account, phone=subscriber.phone, cause=_cause(request))
    except services.ServiceError as exc:
        messages.error(request, exc.detail)
        return redirect("subscribers:detail", pk=pk)
    messages.success(request, f"{national} {spec['done']}")
    if action == "delete":
        return redirect("subscribers:list")
    return redirect("subscribers:detail", pk=pk)


@manager_required
@require_POST
def subscriber_tags_edit(request, pk: int):
    subscriber = _get_subscriber_for_request(request, pk)
    form = TagsForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("tags", ["Check the tags."])))
        return redirect("subscribers:detail", pk=pk)
    result = services.subscriber_tags_update(
        account=request.account,
        phone=subscriber.phone,
        cause=_cause(request),
        add=form.cleaned_data["tags"],
        exact=True,
    )
    if result.changed:
        parts = []
        if result.tags_added:
            parts.append("added " + ", ".join(result.tags_added))
        if result.tags_removed:
            parts.append("removed " + ", ".join(result.tags_removed))
        messages.success(request, f"Tags saved: {'; '.join(parts)}.")
    else:
        messages.info(request, "The tags were already like that; nothing changed.")
    return HttpResponseRedirect(reverse("subscribers:detail", args=[pk]))


STATUS_LABELS = dict(Status.choices)


# --------------------------------------------------------------------------- bulk changes


@manager_required
@require_POST
def subscriber_bulk(request):
    """A bulk action over ticked numbers or over everything the filter matches (in the query string)."""
    form = BulkForm(request.POST)
    back = reverse("subscribers:list") + (f"?{request.GET.urlencode()}" if request.GET else "")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    data = form.cleaned_data
    action = data["action"]
    _, filters = _filter_form(request)
    if data["scope"] == "all":
        selection = selectors.subscriber_search(account=request.account, filters=filters)
    else:
        selection = Subscriber.objects.listed().filter(account=request.account, pk__in=data["selected"])
    count = selection.count()
    if count == 0:
        messages.error(request, "No numbers match: nothing was changed.")
        return redirect(back)
    words = LIST_ACTIONS[action]
    if words.stops and not data["confirmed"]:
        context = {"label": words.label, "explain": words.explain_many, "count": count, "action": action,
                   "data": data, "back": back, "filters": filters, "query": request.GET.urlencode()}  # fmt: skip
        return render(request, "subscribers/confirm_bulk.html", context)
    cause = _cause(request)
    try:
        if action == ListAction.DELETE:
            result = services.subscribers_bulk_delete(account=request.account, selection=selection, cause=cause)
        elif action in TAG_ACTIONS:
            tag = {"add" if action == ListAction.ADD_TAG else "remove": data["tag"]}
            result = services.subscribers_bulk_tag(account=request.account, selection=selection, cause=cause, **tag)
        else:
            result = services.subscribers_bulk_apply(
                account=request.account, selection=selection, action=words.transition, cause=cause
            )
    except services.ServiceError as exc:
        messages.error(request, exc.detail)
        return redirect(back)
    messages.success(request, _bulk_message(action, data, result))
    if result.refused:
        messages.warning(request, _refused_message(result))
    return redirect(back)


def _bulk_message(action: str, data: dict, result) -> str:
    n = result.changed
    noun = f"{n:,} number{'s' if n != 1 else ''}"
    if action == ListAction.ADD_TAG:
        return f"Tag “{data['tag']}” added to {noun}."
    if action == ListAction.REMOVE_TAG:
        return f"Tag “{data['tag']}” removed from {noun}."
    text = f"{noun} {LIST_ACTIONS[action].done_many}."
    if result.unchanged:
        text += f" {result.unchanged:,} already were, or could not be, and were left as they are."
    return text


def _refused_message(result) -> str:
    parts = [f"{n:,} {REASONS[code].many if code in REASONS else code}" for code, n in result.refused.items()]
    return "Left unchanged: " + "; ".join(parts) + "."


# --------------------------------------------------------------------------- exports


@manager_required
def subscriber_export(request):
    form = ExportForm(request.GET)
    fmt = form.cleaned_data["format"] if form.is_valid() else "csv"
    _, filters = _filter_form(request)
    qs = selectors.subscriber_search(account=request.account, filters=filters)
    count, small = selectors.capped_count(qs, exports.INLINE_MAX)
    filter_form, _ = _filter_form(request)
    if not small:
        query = request.GET.copy()
        query.pop("format", None)
        count = qs.count()
        try:
            job = exports.export_start(
                account=request.account, user=request.user, fmt=fmt, query=query, filters=filters, expected=count
            )
        except services.ServiceError as exc:  # the job queue is down: say so, keep the list as it was
            messages.error(request, exc.detail)
            return redirect(f"{reverse('subscribers:list')}?{query.urlencode()}")
        exports.export_record(
            account=request.account,
            user=request.user,
            fmt=fmt,
            described=_described(filter_form, request.account),
            rows=count,
        )
        return redirect("subscribers:export_status", token=job.token)
    exports.export_record(
        account=request.account,
        user=request.user,
        fmt=fmt,
        described=_described(filter_form, request.account),
        rows=count,
    )
    name = exports.filename(request.account, fmt)
    if fmt == "xlsx":
        response = HttpResponse(exports.xlsx_bytes(qs, request.account), content_type=exports.CONTENT_TYPES["xlsx"])
    else:
        response = StreamingHttpResponse(
            exports.csv_stream(qs, request.account), content_type=exports.CONTENT_TYPES["csv"]
        )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _described(form: FilterForm, account) -> str:
    """The list's filter in words, for the audit log."""
    data = getattr(form, "cleaned_data", {})
    parts = []
    if data.get("q"):
        parts.append(f"number contains “{data['q']}”")
    if data.get("status"):
        parts.append(f"status {Status(data['status']).label.lower()}")
    if data.get("tags"):
        names = list(Tag.objects.filter(account=account, pk__in=data["tags"]).values_list("name", flat=True))
        joined = " or " if data.get("match") != "all" else " and "
        parts.append("tagged " + joined.join(f"“{n}”" for n in sorted(names)))
    return ", ".join(parts) or "the whole list"


def _get_export_for_request(request, token: str) -> exports.ExportJob:
    job = exports.export_get(token)
    if job is None or job.account_id != request.account.pk:
        raise Http404("No such export (links expire after a day).")
    return job


@manager_required
def export_status(request, token: str):
    job = _get_export_for_request(request, token)
    if request.htmx:
        html = render(request, "subscribers/export_status.html#progress", {"job": job}).content
        # Once the file is written (or failed) the fragment is final: htmx stops polling on 286.
        return HttpResponseStopPolling(html) if job.state in ("done", "failed") else HttpResponse(html)
    return render(request, "subscribers/export_status.html", {"job": job})


@manager_required
def export_download(request, token: str):
    job = _get_export_for_request(request, token)
    if job.state != "done" or not job.path.exists():
        raise Http404("This export is not ready, or has expired.")
    return FileResponse(
        job.path.open("rb"), as_attachment=True, filename=job.file_name, content_type=exports.CONTENT_TYPES[job.fmt]
    )


# --------------------------------------------------------------------------- tags


@manager_required
def tag_list(request):
    table = TagTable(selectors.tags_with_counts(account=request.account), order_by=request.GET.get("sort", "name"))
    RequestConfig(request, paginate={"per_page": 100}).configure(table)
    empty = services.tags_empty(account=request.account).count()
    return render(request, "subscribers/tags.html", {"table": table, "empty_tags": empty})


@manager_required
@require_POST
def tags_remove_empty(request):
    names = services.tags_remove_empty(account=request.account)
    if names:
        messages.success(
            request, f"Removed {len(names):,} empty tag{'s' if len(names) != 1 else ''}: {', '.join(names)}."
        )
    else:
        messages.info(request, "No empty tags to remove.")
    return redirect("subscribers:tags")


def _get_tag_for_request(request, pk: int) -> Tag:
    tag = Tag.objects.filter(account=request.account, pk=pk).first()
    if tag is None:
        raise Http404("No such tag on this account.")
    return tag


@manager_required
@require_http_methods(["GET", "POST"])
def tag_detail(request, pk: int):
    """Rename, merge or delete one tag. Deleting asks once, on this page."""
    tag = _get_tag_for_request(request, pk)
    rename = TagRenameForm(initial={"name": tag.name}, prefix="rename")
    merge = TagMergeForm(account=request.account, tag=tag, prefix="merge")
    op = request.POST.get("op")
    if request.method == "POST":
        try:
            if op == "rename":
                rename = TagRenameForm(request.POST, prefix="rename")
                if rename.is_valid():
                    old = tag.name
                    services.tag_rename(account=request.account, tag=tag, name=rename.cleaned_data["name"])
                    messages.success(request, f"Tag “{old}” renamed to “{tag.name}”.")
                    return redirect("subscribers:tags")
            elif op == "merge":
                merge = TagMergeForm(request.POST, account=request.account, tag=tag, prefix="merge")
                if merge.is_valid():
                    into = _get_tag_for_request(request, merge.cleaned_data["into"])
                    result = services.tag_merge(account=request.account, tag=tag, into=into, cause=_cause(request))
                    moved = result.changed + result.unchanged
                    messages.success(
                        request,
                        f"Tag “{tag.name}” merged into “{into.name}”: {moved:,} number{'s' if moved != 1 else ''} now carry “{into.name}”.",
                    )
                    return redirect("subscribers:tags")
            elif op == "delete" and request.POST.get("confirmed") == "1":
                name = tag.name
                result = services.tag_delete(account=request.account, tag=tag, cause=_cause(request))
                messages.success(
                    request,
                    f"Tag “{name}” deleted and removed from {result.changed:,} number{'s' if result.changed != 1 else ''}.",
                )
                return redirect("subscribers:tags")
        except services.ServiceError as exc:
            target = rename if op == "rename" else merge
            target.add_error(exc.field if exc.field in target.fields else None, exc.detail)
    carrying = selectors.tag_counts(account=request.account).get(tag.pk, {})
    context = {"tag": tag, "rename": rename, "merge": merge, "total": carrying.get("total", 0), "opted_in": carrying.get("opted_in", 0),
               "confirm_delete": op == "delete_ask"}  # fmt: skip
    return render(request, "subscribers/tag.html", context)


# --------------------------------------------------------------------------- usage


@manager_required
def usage(request):
    months = selectors.new_numbers_by_month(account=request.account)
    if request.GET.get("format") == "csv":
        rows = ([month.month.strftime("%Y-%m"), month.new_numbers] for month in months)
        body = "".join(tabular.csv_chunks(["Month", "New numbers"], rows, bom=False))
        response = HttpResponse(body, content_type=exports.CONTENT_TYPES["csv"])
        response["Content-Disposition"] = f'attachment; filename="{request.account.slug}-usage.csv"'
        return response
    chart = charts.bars(
        [(m.month.strftime("%b %Y"), m.new_numbers) for m in reversed(months[:24])], label="New numbers per month"
    )
    return render(
        request,
        "subscribers/usage.html",
        {"months": months, "chart": chart, "total": sum(m.new_numbers for m in months)},
    )
