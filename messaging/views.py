from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.csp import CSP
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling
from django_tables2 import RequestConfig

from alertmanager.clientip import client_ip
from messaging import inbound
from messaging.account_settings import (
    messaging_settings_get,
    messaging_settings_update,
    messaging_webhook_secret_rotate,
)
from messaging.alerts import alert_create, alert_delivery_counts, alert_log, alert_preview
from messaging.business_days import business_days_between
from messaging.forms import AlertForm, DoubleOptInForm, OutboxFilterForm, RevocationForm, TextsForm, WidgetForm
from messaging.models import Alert, DeliveryStatus, InboundMessage, MessagingSettings, OutboundMessage
from messaging.optin import WidgetLimited, double_opt_in_request, widget_request
from messaging.signatures import request_is_signed
from messaging.tables import AlertTable, DeliveryLogTable, OutboxTable
from subscribers import phones
from subscribers.models import Source, Subscriber
from subscribers.services import Cause, ServiceError
from subscribers.tenancy import manager_required

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


# The provider's webhooks


@csrf_exempt
@require_POST
def sms_inbound(request):
    if not request_is_signed(request):
        return HttpResponseForbidden("Invalid or missing request signature.")
    sid = request.POST.get("MessageSid", "").strip()
    if not sid:
        return HttpResponse("MessageSid is required.", status=400, content_type="text/plain")
    try:
        inbound.inbound_receive(
            to=request.POST.get("To", ""), phone=request.POST.get("From", ""), body=request.POST.get("Body", ""),
            message_sid=sid,
        )  # fmt: skip
    except ServiceError as exc:
        if exc.code == "unknown_sender":
            return HttpResponse(exc.detail, status=404, content_type="text/plain")
        raise
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@csrf_exempt
@require_POST
def sms_status(request):
    if not request_is_signed(request):
        return HttpResponseForbidden("Invalid or missing request signature.")
    inbound.delivery_status_update(
        provider_id=request.POST.get("MessageSid", ""),
        provider_status=request.POST.get("MessageStatus", ""),
        error=request.POST.get("ErrorCode", ""),
    )
    return HttpResponse(status=204)


# The public sign-up widget


def _widget_settings(key: str) -> MessagingSettings:
    return get_object_or_404(MessagingSettings.objects.select_related("account"), widget_key=key)


def _own_origin(request) -> str:
    return f"{request.scheme}://{request.get_host()}".lower()


def _origin_allowed(request, config: MessagingSettings) -> bool:
    """A cross-site form post carries no CSRF token, so its Origin (or Referer) must be one the account allows."""
    origin = request.headers.get("Origin", "")
    if not origin or origin == "null":
        referer = request.headers.get("Referer", "")
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    origin = origin.lower()
    return bool(origin) and (origin == _own_origin(request) or origin in config.widget_origins)


def _widget_response(request, config, template, context, status=200):
    context = {"config": config, "account": config.account, **context}
    response = render(request, template, context, status=status)
    # Framed only by the account's own websites.
    response._csp_config = {**settings.SECURE_CSP, "frame-ancestors": [CSP.SELF, *config.widget_origins]}
    return response


def _widget_page(value: str) -> str:
    """The web page a sign-up came from, for the consent record: an http(s) address as the browser gave it."""
    value = (value or "").strip()[:500]
    return value if urlsplit(value).scheme in ("http", "https") else ""


@xframe_options_exempt
@require_GET
def widget_form(request, key):
    config = _widget_settings(key)
    # In the iframe the page that holds the widget is this request's Referer; the form carries it to the POST.
    page = _widget_page(request.headers.get("Referer", ""))
    return _widget_response(request, config, "messaging/widget.html", {"form": WidgetForm(), "page": page})


@csrf_exempt
@xframe_options_exempt
@require_POST
def widget_submit(request, key):
    config = _widget_settings(key)
    if not _origin_allowed(request, config):
        return _widget_response(
            request, config, "messaging/widget_done.html",
            {"ok": False, "title": "Sign-up not accepted", "text": "This form may only be used on the organisation's own website."},
            status=403,
        )  # fmt: skip
    form = WidgetForm(request.POST)
    page = _widget_page(request.POST.get("page", "")) or _widget_page(request.headers.get("Referer", ""))
    if not form.is_valid():
        return _widget_response(request, config, "messaging/widget.html", {"form": form, "page": page}, status=400)
    try:
        widget_request(
            account=config.account, phone=form.cleaned_data["phone"], client_ip=client_ip(request), page_url=page
        )
    except WidgetLimited as exc:
        return _widget_response(
            request, config, "messaging/widget_done.html", {"ok": False, "title": "Please wait", "text": exc.detail},
            status=429,
        )  # fmt: skip
    except ServiceError as exc:
        if exc.code == "already_opted_in":
            return _widget_response(
                request, config, "messaging/widget_done.html",
                {"ok": True, "title": "You are already signed up", "text": "This number already receives our alerts."},
            )  # fmt: skip
        if exc.code == "no_sender":
            return _widget_response(
                request, config, "messaging/widget_done.html",
                {"ok": False, "title": "Sign-up unavailable", "text": "Text sign-up is not available yet. Please try again later."},
                status=503,
            )  # fmt: skip
        form.add_error("phone", exc.detail)
        return _widget_response(request, config, "messaging/widget.html", {"form": form, "page": page}, status=400)
    return _widget_response(
        request, config, "messaging/widget_done.html",
        {"ok": True, "title": "Check your phone", "text": "We sent you a text. Reply YES to it within 7 days to start receiving alerts."},
    )  # fmt: skip


# Manager pages


def _get_alert_for_request(request, pk) -> Alert:
    alert = Alert.objects.filter(account=request.account, pk=pk).first()
    if alert is None:
        raise Http404("No such alert.")
    return alert


@manager_required
@require_GET
def alerts(request):
    table = AlertTable(Alert.objects.filter(account=request.account), order_by="-created_at")
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    template = "messaging/alerts.html#table" if request.htmx else "messaging/alerts.html"
    return render(request, template, {"table": table})


@manager_required
@require_http_methods(["GET", "POST"])
def alert_new(request):
    account = request.account
    form = AlertForm(request.POST or None, account=account)
    step = request.POST.get("step", "compose")
    preview = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        preview = alert_preview(account=account, body=data["body"], target=data["target"], tags=data["tags"])
        if request.htmx and step == "preview":
            return render(request, "messaging/alert_new.html#preview", {"form": form, "preview": preview})
        if step == "send":
            try:
                alert = alert_create(
                    account=account, body=data["body"], target=data["target"], tags=data["tags"], user=request.user,
                    repeat_confirmed=data["repeat_confirmed"], body_es=data["body_es"], body_fr=data["body_fr"],
                    urgent=data["urgent"],
                )  # fmt: skip
            except ServiceError as exc:
                form.add_error("repeat_confirmed" if exc.code == "repeat" else None, exc.detail)
                step = "review"
            else:
                if alert.not_before:
                    when = timezone.localtime(alert.not_before, account.tzinfo).strftime("%H:%M")
                    messages.success(
                        request, f"Quiet hours: the alert waits and goes to {preview.reach:,} numbers at {when}."
                    )
                else:
                    messages.success(request, f"Sending the alert to {preview.reach:,} numbers.")
                return redirect("messaging:alert", pk=alert.pk)
        else:
            step = "review"
    elif request.method == "POST" and request.htmx and step == "preview":
        return render(request, "messaging/alert_new.html#preview", {"form": form, "preview": None})
    context = {"form": form, "preview": preview, "step": step if request.method == "POST" else "compose"}
    return render(request, "messaging/alert_new.html", context)


@manager_required
@require_GET
def alert_detail(request, pk):
    alert = _get_alert_for_request(request, pk)
    status = request.GET.get("status", "")
    log = alert_log(alert=alert, status=status)
    table = DeliveryLogTable(log, order_by="phone")
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    counts = alert_delivery_counts(alert=alert)
    context = {"alert": alert, "table": table, "counts": counts, "status": status, "chart": _chart(counts)}
    if request.htmx and request.htmx.target == "delivery-log":
        return render(request, "messaging/alert_detail.html#log", context)
    if request.htmx:
        response = render(request, "messaging/alert_detail.html#progress", context)
        if alert.finished:
            # Stop polling and let the page reload its figures once, for the final log.
            stop = HttpResponseStopPolling(response.content)
            stop["HX-Refresh"] = "true"
            return stop
        return response
    return render(request, "messaging/alert_detail.html", context)


def _chart(counts: dict[str, int]) -> list[dict]:
    order = [DeliveryStatus.DELIVERED, DeliveryStatus.SENT, DeliveryStatus.QUEUED, DeliveryStatus.SENDING,
             DeliveryStatus.FAILED, DeliveryStatus.BLOCKED]  # fmt: skip
    top = max([counts.get(s, 0) for s in order] + [1])
    bars = [(s, s.label) for s in order] + [("not_opted_in", "Not opted in (not sent)")]
    top = max(top, counts.get("not_opted_in", 0))
    return [
        {"status": s, "label": label, "count": counts.get(s, 0), "width": round(100 * counts.get(s, 0) / top, 1)}
        for s, label in bars
    ]


@manager_required
@require_http_methods(["GET", "POST"])
def texts(request):
    account = request.account
    config = messaging_settings_get(account=account)
    if request.method == "POST" and request.POST.get("action") == "rotate":
        messaging_webhook_secret_rotate(account=account, user=request.user)
        messages.success(request, "A new webhook secret was made. Update your receiving system with it.")
        return redirect("messaging:texts")
    initial = {
        "welcome_text": config.welcome_text, "opt_out_text": config.opt_out_text, "help_text": config.help_text,
        "request_text": config.request_text, "confirmation_text": config.confirmation_text,
        "opt_in_keywords": ", ".join(config.opt_in_keywords), "webhook_url": config.webhook_url,
        "widget_origins": "\n".join(config.widget_origins),
        "quiet_start": config.quiet_start, "quiet_end": config.quiet_end,
    }  # fmt: skip
    for code, texts_of_language in (config.translations or {}).items():
        for name, text in texts_of_language.items():
            initial[f"{name}_{code}"] = text
    form = TextsForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            messaging_settings_update(account=account, user=request.user, **form.settings_fields())
            messages.success(request, "Texts and settings saved.")
            return redirect("messaging:texts")
        messages.error(request, "Nothing was saved: correct the fields marked below.")
    widget_url = request.build_absolute_uri(reverse("messaging:widget", args=[config.widget_key]))
    submit_url = request.build_absolute_uri(reverse("messaging:widget_submit", args=[config.widget_key]))
    context = {"form": form, "config": config, "widget_url": widget_url, "submit_url": submit_url,
               "senders": account.sender_numbers.all(), "inbound_url": request.build_absolute_uri("/sms/inbound/"),
               "double_opt_in_form": DoubleOptInForm()}  # fmt: skip
    return render(request, "messaging/texts.html", context)


@manager_required
@require_GET
def outbox(request):
    form = OutboxFilterForm(request.GET or None)
    rows = OutboundMessage.objects.filter(account=request.account).select_related("alert")
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            rows = rows.filter(phone__contains="".join(ch for ch in data["q"] if ch.isdigit()) or data["q"])
        if data["kind"]:
            rows = rows.filter(kind=data["kind"])
        if data["status"]:
            rows = rows.filter(status=data["status"])
    table = OutboxTable(rows, order_by="-created_at")
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    template = "messaging/outbox.html#table" if request.htmx else "messaging/outbox.html"
    return render(request, template, {"table": table, "form": form, "gateway": settings.SMS_GATEWAY})


@manager_required
@require_POST
def double_opt_in_send(request):
    """A manager sends a double opt-in request to one number; back to where the button was."""
    form = DoubleOptInForm(request.POST)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("messaging:texts")
    if not form.is_valid():
        messages.error(request, "Enter the phone number to send the request to.")
        return redirect(back)
    try:
        opt_in = double_opt_in_request(
            account=request.account,
            phone=form.cleaned_data["phone"],
            cause=Cause(source=Source.MANAGER, user=request.user),
        )
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"A double opt-in request was texted to {opt_in.phone}. It waits 7 days for YES.")
    return redirect(back or "messaging:texts")


# The inbox of texts that may be revocations, and revocations received elsewhere


@manager_required
@require_GET
def inbox(request):
    account = request.account
    today = timezone.localdate(timezone.now(), account.tzinfo)
    items = list(inbound.inbox_open(account=account)[:200])
    for item in items:
        item.days_left = business_days_between(today, item.respond_by)
    decided = (
        InboundMessage.objects.filter(account=account, meaning=InboundMessage.Meaning.UNCLEAR)
        .exclude(resolution="")
        .select_related("resolved_by")
        .order_by("-resolved_at")[:20]
    )
    return render(request, "messaging/inbox.html", {"items": items, "decided": decided, "today": today})


@manager_required
@require_POST
def inbox_resolve(request, pk):
    decision = request.POST.get("decision")
    if decision not in ("opt_out", "not_opt_out"):
        messages.error(request, "Choose whether the text is an opt-out.")
        return redirect("messaging:inbox")
    try:
        message = inbound.inbox_resolve(
            account=request.account, message_id=pk, opt_out=decision == "opt_out", user=request.user
        )
    except ServiceError as exc:
        if exc.code == "not_found":
            raise Http404(exc.detail) from exc
        messages.error(request, exc.detail)
    else:
        if decision == "opt_out":
            messages.success(request, f"{message.phone} is opted out, as its owner asked, from every text.")
        else:
            messages.success(request, f"The text from {message.phone} is marked as not an opt-out.")
    return redirect("messaging:inbox")


@manager_required
@require_http_methods(["GET", "POST"])
def revocation_new(request):
    account = request.account
    today = timezone.localdate(timezone.now(), account.tzinfo)
    form = RevocationForm(request.POST or None, initial={"phone": request.GET.get("phone", ""), "received_on": today})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = inbound.revocation_record(
                account=account, phone=data["phone"], cause=Cause(source=Source.MANAGER, user=request.user),
                channel=data["channel"], received_on=data["received_on"], note=data["note"],
            )  # fmt: skip
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
        else:
            messages.success(
                request,
                f"{result.subscriber.phone} is opted out, as its owner asked: no text of the account reaches it.",
            )
            if result.subscriber.removed_at is None:
                return redirect("subscribers:detail", pk=result.subscriber.pk)
            return redirect("messaging:revocation_new")
    return render(request, "messaging/revocation_new.html", {"form": form})


@manager_required
@require_POST
def subscriber_request_opt_in(request, pk: int):
    """The only way a manager can help an opted-out number back: ask its owner by text to reply YES."""
    subscriber = Subscriber.objects.listed().filter(account=request.account, pk=pk).first()
    if subscriber is None:
        raise Http404("No such number on this account's list.")
    national = phones.format_national(subscriber.phone)
    try:
        double_opt_in_request(
            account=request.account, phone=subscriber.phone, cause=Cause(source=Source.MANAGER, user=request.user)
        )
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(
            request, f"A double opt-in request was texted to {national}. It is opted in once its owner replies YES."
        )
    return redirect("subscribers:detail", pk=pk)
