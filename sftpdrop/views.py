from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.http.request import split_domain_port
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from sftpdrop import selectors, services
from sftpdrop.forms import CredentialForm, DropSettingsForm
from sftpdrop.hostkey import host_key_fingerprint
from subscribers.tenancy import manager_required


def _get_credential_for_request(request):
    credential = selectors.active_credential(account=request.account)
    if credential is None:
        raise Http404("This account has no SFTP credentials.")
    return credential


def _address(request) -> tuple[str, int]:
    host = settings.SFTP_PUBLIC_HOST or split_domain_port(request.get_host())[0] or "localhost"
    return host, settings.SFTP_PUBLIC_PORT or settings.SFTP_PORT


def _page(request, *, credential_form=None, settings_form=None, secret=None, status=200):
    account = request.account
    credential = selectors.active_credential(account=account)
    drop_settings = services.sftp_settings_get(account=account)
    try:
        target, refusal = services.drop_target(account=account), ""
    except services.DropRefused as exc:
        target, refusal = None, exc.detail
    try:
        fingerprint = host_key_fingerprint()
    except OSError:
        fingerprint = ""
    host, port = _address(request)
    context = {
        "credential": credential,
        "secret": secret,
        "host": host,
        "port": port,
        "fingerprint": fingerprint,
        "target": target,
        "refusal": refusal,
        "credential_form": credential_form or CredentialForm(),
        "settings_form": settings_form
        or DropSettingsForm(
            account=account,
            initial={
                "preformatted_default": drop_settings.preformatted_default,
                "preformatted_action": drop_settings.preformatted_action,
                "configuration": drop_settings.configuration,
            },
        ),
        "failures": selectors.recent_failures(account=account),
        "blocks": selectors.blocks_for_account(account=account, now=timezone.now()),
        "runs": selectors.recent_sftp_runs(account=account),
        "max_file_mb": settings.SFTP_MAX_FILE_BYTES / (1024 * 1024),
    }
    response = render(request, "sftpdrop/credentials.html", context, status=status)
    if secret:
        # The password is on this page once; no cache may keep a copy.
        response["Cache-Control"] = "no-store"
    return response


@manager_required
def credentials(request):
    return _page(request)


@require_POST
@manager_required
def credentials_create(request):
    form = CredentialForm(request.POST)
    if not form.is_valid():
        return _page(request, credential_form=form, status=400)
    try:
        credential, password = services.credential_create(
            account=request.account, user=request.user, public_key=form.cleaned_data["public_key"]
        )
    except services.CredentialRefused as exc:
        messages.error(request, exc.detail)
        return redirect("sftpdrop:credentials")
    messages.success(request, f"SFTP credentials created for {credential.username}.")
    return _page(request, secret=password)


@require_POST
@manager_required
def credentials_rotate(request):
    credential = _get_credential_for_request(request)
    form = CredentialForm(request.POST)
    if not form.is_valid():
        return _page(request, credential_form=form, status=400)
    try:
        password = services.credential_rotate(
            credential=credential, user=request.user, public_key=form.cleaned_data["public_key"]
        )
    except services.CredentialRefused as exc:
        messages.error(request, exc.detail)
        return redirect("sftpdrop:credentials")
    messages.success(
        request, f"New {'password' if password else 'key'} set for {credential.username}; the old one no longer works."
    )
    return _page(request, secret=password)


@require_POST
@manager_required
def credentials_revoke(request):
    credential = _get_credential_for_request(request)
    services.credential_revoke(credential=credential, user=request.user)
    messages.success(request, f"SFTP credentials {credential.username} revoked: they can no longer log in.")
    return redirect("sftpdrop:credentials")


@require_POST
@manager_required
def drop_settings(request):
    form = DropSettingsForm(request.POST, account=request.account)
    if not form.is_valid():
        return _page(request, settings_form=form, status=400)
    try:
        services.sftp_settings_update(account=request.account, user=request.user, **form.cleaned_data)
    except services.DropRefused as exc:
        form.add_error("configuration", exc.detail)
        return _page(request, settings_form=form, status=400)
    messages.success(request, "SFTP import settings saved.")
    return redirect("sftpdrop:credentials")
