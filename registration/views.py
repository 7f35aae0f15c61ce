from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseStopPolling

from registration import selectors, services
from registration.forms import BrandForm, CampaignForm, TextingNumberForm
from registration.models import Campaign, RegistrationStatus, TextingNumber
from registration.services import RegistrationError
from registration.tables import CampaignTable, TextingNumberTable
from subscribers import phones
from subscribers.tenancy import manager_required


def _get_campaign_for_request(request, pk: int) -> Campaign:
    return get_object_or_404(Campaign.objects.select_related("account"), pk=pk, account=request.account)


def _get_number_for_request(request, pk: int) -> TextingNumber:
    return get_object_or_404(TextingNumber.objects.select_related("user"), pk=pk, account=request.account)


def _status_fragment(request, template: str, context: dict, registration):
    """The in-place status while the registry is deciding; the answer that ends the polling when not."""
    response = render(request, f"{template}#registration", context)
    if registration is None or not registration.is_pending:
        stop = HttpResponseStopPolling(response.content)
        return stop
    return response


@manager_required
@require_http_methods(["GET", "POST"])
def brand(request):
    brand = selectors.account_brand(account=request.account)
    if request.method == "POST":
        form = BrandForm(request.POST, instance=brand)
        if form.is_valid():
            try:
                services.brand_save(account=request.account, data=form.cleaned_data)
            except RegistrationError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(
                    request, "Submitted to the campaign registry. Its answer usually takes about a minute."
                )
                return redirect("registration:brand")
        else:
            messages.error(request, "Please correct the fields marked below.")
    else:
        form = BrandForm(instance=brand)
    context = {
        "brand": brand,
        "form": form,
        "enabled_numbers": selectors.sms_enabled_numbers(account=request.account),
        "campaign_count": request.account.campaigns.count(),
    }
    if request.htmx and request.method == "GET":
        # The numbers' card after removing one; otherwise the polled registration status.
        if request.htmx.target == "numbers":
            return render(request, "registration/brand.html#numbers", context)
        return _status_fragment(request, "registration/brand.html", context, brand)
    return render(request, "registration/brand.html", context)


@manager_required
def campaigns(request):
    brand = selectors.account_brand(account=request.account)
    queryset = Campaign.objects.filter(account=request.account)
    table = CampaignTable(queryset, order_by=request.GET.get("sort"))
    table.paginate(page=request.GET.get("page", 1), per_page=25)
    context = {
        "brand": brand,
        "table": table,
        "any_pending": queryset.filter(status=RegistrationStatus.PENDING).exists(),
    }
    if request.htmx:
        response = render(request, "registration/campaigns.html#campaigns", context)
        if not context["any_pending"]:
            return HttpResponseStopPolling(response.content)
        return response
    return render(request, "registration/campaigns.html", context)


def _campaign_page(request, campaign: Campaign | None):
    brand = selectors.account_brand(account=request.account)
    if brand is None or brand.status != RegistrationStatus.VERIFIED:
        if campaign is None:
            messages.error(request, "Register the brand first: a campaign needs a verified brand.")
            return redirect("registration:brand")
    brand_names = selectors.campaign_brand_names(account=request.account, brand=brand)
    if request.method == "POST":
        form = CampaignForm(request.POST, instance=campaign, brand_names=brand_names)
        if form.is_valid():
            try:
                saved = services.campaign_save(
                    account=request.account, data=form.registration_data(), campaign=campaign
                )
            except RegistrationError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(
                    request, "Campaign submitted to the registry. Its answer usually takes about a minute."
                )
                return redirect("registration:campaign", pk=saved.pk)
        else:
            messages.error(request, "Please correct the fields marked below.")
    elif campaign is None:
        form = CampaignForm(
            initial=selectors.campaign_initial(account=request.account, brand=brand), brand_names=brand_names
        )
    else:
        form = CampaignForm(instance=campaign, brand_names=brand_names)
    context = {"brand": brand, "campaign": campaign, "form": form}
    if campaign is not None and request.htmx and request.method == "GET":
        return _status_fragment(request, "registration/campaign.html", context, campaign)
    return render(request, "registration/campaign.html", context)


@manager_required
@require_http_methods(["GET", "POST"])
def campaign_new(request):
    return _campaign_page(request, None)


@manager_required
@require_http_methods(["GET", "POST"])
def campaign(request, pk: int):
    return _campaign_page(request, _get_campaign_for_request(request, pk))


@manager_required
@require_http_methods(["GET", "POST"])
def users(request):
    account_users = get_user_model().objects.filter(memberships__account=request.account).order_by("username")
    form = TextingNumberForm(request.POST or None, users=account_users)
    if request.method == "POST":
        if form.is_valid():
            try:
                number = services.texting_number_assign(
                    account=request.account, user=form.cleaned_data["user"], phone=form.cleaned_data["phone"]
                )
            except RegistrationError as exc:
                form.add_error(exc.field, str(exc))
            else:
                state = "SMS-enabled" if number.sms_enabled else "not SMS-enabled (the user has one already)"
                messages.success(
                    request,
                    f"{phones.format_national(number.phone)} is assigned to {number.user.get_username()}, {state}.",
                )
                return redirect("registration:users")
        if form.errors:
            messages.error(request, "The number was not assigned: see the form below.")
    numbers = TextingNumber.objects.filter(account=request.account).select_related("user")
    table = TextingNumberTable(numbers, order_by=request.GET.get("sort"), request=request)
    table.paginate(page=request.GET.get("page", 1), per_page=50)
    context = {"form": form, "members": selectors.members_with_numbers(account=request.account), "table": table}
    if request.htmx and request.method == "GET":
        return render(request, "registration/users.html#numbers", context)
    return render(request, "registration/users.html", context)


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("registration:users")


def _number_action(request, pk: int, *, action: str):
    number = _get_number_for_request(request, pk)
    shown = phones.format_national(number.phone)
    owner = number.user.get_username()
    others = TextingNumber.objects.filter(account=request.account, user=number.user, sms_enabled=True).exclude(pk=pk)
    if action == "enable":
        other = others.first()
        question = f"Enable texting from {shown} for {owner}?"
        if other is not None:
            question += f" Texting from {phones.format_national(other.phone)} will be turned off."
        done = f"{shown} is now {owner}'s SMS-enabled number."
        service = services.texting_number_enable
    elif action == "disable":
        question = f"Remove texting from {shown}? {owner} will no longer text from it."
        done = f"{shown} can no longer send texts."
        service = services.texting_number_disable
    else:
        question = f"Remove {shown} from {owner}?"
        done = f"{shown} was removed from {owner}."
        service = services.texting_number_remove
    if request.method == "POST":
        service(account=request.account, number_id=number.pk)
        if not request.htmx:
            messages.success(request, done)
        return redirect(_next_url(request))
    context = {"number": number, "question": question, "action": action, "next": _next_url(request)}
    return render(request, "registration/number_confirm.html", context)


@manager_required
@require_http_methods(["GET", "POST"])
def number_enable(request, pk: int):
    return _number_action(request, pk, action="enable")


@manager_required
@require_http_methods(["GET", "POST"])
def number_disable(request, pk: int):
    return _number_action(request, pk, action="disable")


@manager_required
@require_http_methods(["GET", "POST"])
def number_remove(request, pk: int):
    return _number_action(request, pk, action="remove")
