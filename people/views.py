"""The login steps (password, then a second factor), the security and password pages, and the People page.

A password alone opens no page: people.middleware sends a logged-in but unverified session to the second step.
"""

import io
import time
from datetime import UTC, datetime

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from alertmanager.clientip import client_ip
from people import services
from people.forms import CodeForm, LoginForm, LoginSettingsForm, PersonAddForm, RoleForm, SetupForm
from people.services import PeopleError
from subscribers.models import Membership
from subscribers.tenancy import manager_required

_SETUP_SESSION_KEY = "people_setup_device"


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def _with_next(name: str, next_url: str) -> str:
    from urllib.parse import urlencode

    return f"{reverse(name)}?{urlencode({'next': next_url})}"


def _local_time(epoch: float) -> str:
    when = timezone.localtime(datetime.fromtimestamp(epoch, tz=UTC))
    return when.strftime("%-I:%M %p %Z")


def _locked_message(gate: services.LoginGate, now: float) -> str:
    minutes = max(1, round(gate.retry_after(now) / 60))
    if gate.address_blocked_until is not None:
        return (
            "Too many failed logins from your network. Logins from it are paused for about "
            f"{minutes} minute{'s' if minutes != 1 else ''}."
        )
    return (
        "This username is locked after too many failed logins. Try again after "
        f"{_local_time(gate.username_locked_until)} (about {minutes} minute{'s' if minutes != 1 else ''}), "
        "or ask support staff to lift the lock."
    )


def _refused(request, template: str, context: dict, gate: services.LoginGate, now: float):
    context["locked"] = _locked_message(gate, now)
    status = 429 if gate.address_blocked_until is not None else 403
    response = render(request, template, context, status=status)
    response["Retry-After"] = str(gate.retry_after(now))
    return response


def _user_named(username: str):
    return get_user_model().objects.filter(username__iexact=username.strip()).first() if username else None


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login(request):
    next_url = _next_url(request)
    if request.user.is_authenticated and request.user.is_verified():
        return redirect(next_url)
    form = LoginForm(request.POST or None, initial={"username": request.GET.get("username", "")})
    context = {"form": form, "next": next_url, "reset_by_email": settings.PASSWORD_RESET_BY_EMAIL}
    if request.method != "POST" or not form.is_valid():
        return render(request, "people/login.html", context)
    username = form.cleaned_data["username"]
    ip = client_ip(request)
    now = time.time()
    gate = services.login_gate(username=username, ip=ip, now=now)
    if not gate.open:
        services.login_refused_record(username=username, user=_user_named(username), gate=gate)
        return _refused(request, "people/login.html", context, gate, now)
    user = authenticate(request, username=username, password=form.cleaned_data["password"])
    if user is None:
        gate = services.login_failure_record(username=username, ip=ip, stage="password", user=_user_named(username))
        if not gate.open:
            return _refused(request, "people/login.html", context, gate, now)
        context["failed"] = True
        return render(request, "people/login.html", context, status=200)
    auth_login(request, user)
    device = services.remembered_device_check(user=user, value=request.COOKIES.get(services.REMEMBER_COOKIE))
    if device is not None:
        otp_login(request, device)
        services.login_success_record(user=user, method="remembered_device")
        return redirect(next_url)
    if services.second_factor_enrolled(user):
        return redirect(_with_next("login_verify", next_url))
    return redirect(_with_next("login_setup", next_url))


def _second_step_user(request):
    """The user between their password and their second factor, or None (not logged in at all)."""
    user = request.user
    return user if user.is_authenticated else None


def _second_factor_failed(request, template, context, user):
    """Count a wrong code; a lock ends the half-done login, so the password has to be typed again afterwards."""
    ip = client_ip(request)
    now = time.time()
    gate = services.login_failure_record(username=user.get_username(), ip=ip, stage="second_factor", user=user)
    if not gate.open:
        auth_logout(request)
        return _refused(request, "people/login.html", {"form": LoginForm(), "next": context["next"]}, gate, now)
    context["form"].add_error("code", "That code is not right, or it was already used. Try the next one.")
    return render(request, template, context)


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def verify(request):
    user = _second_step_user(request)
    next_url = _next_url(request)
    if user is None:
        return redirect(_with_next("login", next_url))
    if user.is_verified():
        return redirect(next_url)
    if not services.second_factor_enrolled(user):
        return redirect(_with_next("login_setup", next_url))
    remember = services.remember_allowed(user)
    form = CodeForm(request.POST or None)
    form.fields["remember"].label = f"Remember this device for {settings.REMEMBER_DEVICE_DAYS} days"
    context = {"form": form, "next": next_url, "remember": remember}
    if request.method != "POST" or not form.is_valid():
        return render(request, "people/verify.html", context)
    now = time.time()
    gate = services.login_gate(username=user.get_username(), ip=client_ip(request), now=now)
    if not gate.open:
        services.login_refused_record(username=user.get_username(), user=user, gate=gate)
        auth_logout(request)
        return _refused(request, "people/login.html", {"form": LoginForm(), "next": next_url}, gate, now)
    matched = services.second_factor_verify(user=user, token=form.cleaned_data["code"])
    if matched is None:
        return _second_factor_failed(request, "people/verify.html", context, user)
    device, method = matched
    otp_login(request, device)
    services.login_success_record(user=user, method=method)
    if method == "backup_code":
        left = services.backup_codes_left(user)
        messages.warning(
            request,
            f"You used a backup code; {left} left. Make new ones on the Security page if you are running out.",
        )
    response = HttpResponseRedirect(next_url)
    if remember and form.cleaned_data["remember"]:
        totp = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if totp is not None:
            response.set_cookie(
                services.REMEMBER_COOKIE,
                services.remembered_device_token(user=user, device=totp),
                max_age=settings.REMEMBER_DEVICE_DAYS * 86400,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
    return response


def _qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    out = io.BytesIO()
    image.save(out)
    svg = out.getvalue().decode()
    return svg[svg.index("<svg") :]  # without the XML declaration, to sit inside the page


def _manual_key(device: TOTPDevice) -> str:
    from base64 import b32encode

    key = b32encode(device.bin_key).decode()
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def setup(request):
    """First login: add the account to an authenticator app, prove it with a code, receive the backup codes."""
    user = _second_step_user(request)
    next_url = _next_url(request)
    if user is None:
        return redirect(_with_next("login", next_url))
    if services.second_factor_enrolled(user):
        return redirect(next_url if user.is_verified() else _with_next("login_verify", next_url))
    device = TOTPDevice.objects.filter(
        user=user, confirmed=False, pk=request.session.get(_SETUP_SESSION_KEY, 0)
    ).first()
    if device is None:
        device = services.totp_device_start(user=user)
        request.session[_SETUP_SESSION_KEY] = device.pk
    form = SetupForm(request.POST or None)
    context = {
        "form": form,
        "next": next_url,
        "qr_svg": _qr_svg(device.config_url),
        "manual_key": _manual_key(device),
        "issuer": settings.OTP_TOTP_ISSUER,
    }
    if request.method != "POST" or not form.is_valid():
        return render(request, "people/setup.html", context)
    codes = services.totp_device_confirm(user=user, device=device, token=form.cleaned_data["code"])
    if codes is None:
        return _second_factor_failed(request, "people/setup.html", context, user)
    request.session.pop(_SETUP_SESSION_KEY, None)
    device.refresh_from_db()
    otp_login(request, device)
    services.login_success_record(user=user, method="enrolled")
    return render(request, "people/backup_codes.html", {"codes": codes, "next": next_url, "first": True})


@login_required
@require_http_methods(["GET", "POST"])
def security(request):
    user = request.user
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "backup_codes":
        codes = services.backup_codes_regenerate(user=user)
        return render(request, "people/backup_codes.html", {"codes": codes, "next": reverse("security")})
    if action == "forget_device":
        response = redirect("security")
        response.delete_cookie(services.REMEMBER_COOKIE)
        messages.success(request, "This browser is forgotten: your next login asks for a code again.")
        return response
    remembered = services.remembered_device_check(user=user, value=request.COOKIES.get(services.REMEMBER_COOKIE))
    context = {
        "device": TOTPDevice.objects.filter(user=user, confirmed=True).first(),
        "codes_left": services.backup_codes_left(user),
        "remembered": remembered is not None,
        "idle_minutes": settings.SESSION_IDLE_MINUTES,
    }
    return render(request, "people/security.html", context)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "people/password_change.html"
    success_url = reverse_lazy("security")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed_record(user=form.user, how="changed")
        messages.success(self.request, "Your password is changed.")
        return response


def _reset_by_email_or_404():
    if not settings.PASSWORD_RESET_BY_EMAIL:
        raise Http404("Password reset by email is not set up here; ask a manager of your account or support staff.")


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "people/password_reset.html"
    email_template_name = "people/password_reset_email.txt"
    subject_template_name = "people/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def dispatch(self, *args, **kwargs):
        _reset_by_email_or_404()
        return super().dispatch(*args, **kwargs)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "people/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "people/password_reset_confirm.html"
    success_url = reverse_lazy("login")

    def dispatch(self, *args, **kwargs):
        _reset_by_email_or_404()
        return super().dispatch(*args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed_record(user=form.user, how="reset_by_email")
        messages.success(self.request, "Your password is set. Log in with it and your second factor.")
        return response


def admin_login(request, extra_context=None):
    """Django admin logs in through the same two steps and lockout as the app, never by a password alone."""
    if request.user.is_authenticated and request.user.is_verified():
        raise PermissionDenied("Django admin is for support staff.")
    return redirect(_with_next("login", request.GET.get("next") or reverse("admin:index")))


# --- People ---------------------------------------------------------------------------------------------------------


def _membership_for_request(request, pk: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user"), pk=pk, account=request.account)


@manager_required
@require_http_methods(["GET", "POST"])
def people(request):
    account = request.account
    form = PersonAddForm(request.POST or None)
    shown = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            added = services.person_add(
                account=account,
                username=data["username"],
                email=data["email"],
                role=data["role"],
                invite=data["how"] == "invite",
                by=request.user,
            )
        except PeopleError as exc:
            form.add_error("username", str(exc))
        else:
            shown = {"username": added.user.get_username(), "password": added.password}
            if added.invitation_token:
                shown["link"] = request.build_absolute_uri(reverse("invitation", args=[added.invitation_token]))
            if added.existing_user:
                messages.success(request, f"{added.user.get_username()} can now work in {account.name}.")
                return redirect("people")
            form = PersonAddForm()
    return render(request, "people/people.html", _people_context(request, form, shown))


def _people_context(request, form, shown=None, password=None) -> dict:
    account = request.account
    config = services.account_login_settings_get(account=account)
    return {
        "form": form,
        "shown": shown,
        "password": password,
        "members": services.people_of_account(account),
        "role_form": RoleForm(),
        "settings_form": LoginSettingsForm(initial={"remember_device": config.remember_device}),
        "remember_days": settings.REMEMBER_DEVICE_DAYS,
    }


@manager_required
@require_POST
def person_action(request, pk: int):
    membership = _membership_for_request(request, pk)
    action = request.POST.get("action")
    name = membership.user.get_username()
    try:
        if action == "role":
            form = RoleForm(request.POST)
            if not form.is_valid():
                messages.error(request, "Choose a role.")
                return redirect("people")
            services.person_role_change(membership=membership, role=form.cleaned_data["role"], by=request.user)
            membership.refresh_from_db()
            messages.success(request, f"{name} is now {membership.get_role_display().lower()}.")
        elif action == "deactivate":
            services.person_deactivate(membership=membership, by=request.user)
            messages.success(request, f"{name} can no longer work in {request.account.name}.")
        elif action == "second_factor":
            services.person_second_factor_reset(membership=membership, by=request.user)
            messages.success(request, f"{name}'s second factor is reset: they set up a new one at their next login.")
        elif action == "password":
            password = services.person_password_reset(membership=membership, by=request.user)
            return render(
                request,
                "people/people.html",
                _people_context(request, PersonAddForm(), password={"username": name, "password": password}),
            )
        else:
            messages.error(request, "Unknown action.")
    except PeopleError as exc:
        messages.error(request, str(exc))
    return redirect("people")


@manager_required
@require_POST
def people_settings(request):
    form = LoginSettingsForm(request.POST)
    if form.is_valid():
        services.account_login_settings_update(
            account=request.account, remember_device=form.cleaned_data["remember_device"], by=request.user
        )
        messages.success(request, "Login settings saved.")
    return redirect("people")


@sensitive_post_parameters("new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request, token: str):
    found = services.invitation_find(token)
    if found is None:
        return render(request, "people/invitation.html", {"invalid": True}, status=404)
    if request.user.is_authenticated:
        auth_logout(request)
    form = SetPasswordForm(found.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_accept(invitation=found, password=form.cleaned_data["new_password1"])
        except PeopleError as exc:
            return render(request, "people/invitation.html", {"invalid": True, "message": str(exc)}, status=404)
        messages.success(request, "Your password is set. Log in with it, then set up your second factor.")
        return redirect(f"{reverse('login')}?username={found.user.get_username()}")
    return render(request, "people/invitation.html", {"form": form, "invitation": found})
