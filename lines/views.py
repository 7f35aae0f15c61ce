from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from lines import lookups, reassigned, selectors, services
from lines.forms import LineSettingsForm
from lines.models import LookupRun, ReassignedCheckRun
from lines.providers import BACKENDS
from subscribers import phones
from subscribers.models import Subscriber
from subscribers.tenancy import manager_required


def _get_subscriber_for_request(request, pk: int) -> Subscriber:
    subscriber = Subscriber.objects.listed().filter(account=request.account, pk=pk).first()
    if subscriber is None:
        raise Http404("No such number on this account's list.")
    return subscriber


@manager_required
@require_http_methods(["GET", "POST"])
def line_settings(request):
    account = request.account
    current = services.line_settings_get(account=account)
    form = LineSettingsForm(request.POST or None, initial={"landline_policy": current.landline_policy})
    if request.method == "POST" and form.is_valid():
        services.line_settings_update(account=account, landline_policy=form.cleaned_data["landline_policy"])
        messages.success(request, "Saved. Alerts from now on follow the new setting.")
        return redirect("lines:settings")
    context = {
        "form": form,
        "provider": settings.LINE_TYPE_LOOKUP if settings.LINE_TYPE_LOOKUP in BACKENDS else "a class path",
        "provider_path": settings.LINE_TYPE_LOOKUP,
        "max_age": settings.LINE_TYPE_MAX_AGE_DAYS,
        "unreachable_after": settings.ALERT_UNREACHABLE_AFTER,
        "health": selectors.list_health(account=account),
        "needing_lookup": lookups.numbers_needing_lookup(account=account).count(),
        "passes": LookupRun.objects.filter(account=account)[:10],
        "unreachable": selectors.unreachable_numbers(account=account)[:200],
        "reassigned": selectors.reassigned_numbers(account=account)[:200],
        "checks": ReassignedCheckRun.objects.filter(account=account)[:6],
        "checker": settings.REASSIGNED_NUMBERS_CHECKER,
        "usage": selectors.lookups_by_month(account=account)[:12],
    }
    return render(request, "lines/settings.html", context)


@manager_required
@require_POST
def lookup_start(request):
    lookups.fail_stalled(account=request.account)
    if LookupRun.objects.filter(account=request.account, stage__in=lookups.ACTIVE).exists():
        messages.info(request, "Lookups are already under way; they pick up every number that needs one.")
    else:
        lookups.lookup_run_start(account=request.account)
        messages.success(request, "Looking up the numbers that need it. This page shows the progress.")
    return redirect("lines:settings")


@manager_required
@require_POST
def reassigned_start(request):
    if reassigned.get_checker() is None:
        messages.error(request, "No reassigned-numbers checker is set up (REASSIGNED_NUMBERS_CHECKER).")
    elif ReassignedCheckRun.objects.filter(account=request.account, stage__in=["queued", "running"]).exists():
        messages.info(request, "A check is already under way.")
    else:
        reassigned.reassigned_check_start(account=request.account)
        messages.success(request, "Checking the opted-in numbers against the reassigned-numbers database.")
    return redirect("lines:settings")


@manager_required
@require_POST
def clear_unreachable(request, pk: int):
    subscriber = _get_subscriber_for_request(request, pk)
    national = phones.format_national(subscriber.phone)
    if services.line_unreachable_clear(account=request.account, phone=subscriber.phone, user=request.user):
        messages.success(request, f"{national} is no longer flagged unreachable: alerts go to it again.")
    else:
        messages.info(request, f"{national} was not flagged unreachable.")
    return redirect("subscribers:detail", pk=subscriber.pk)
