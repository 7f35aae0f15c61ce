from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_tables2 import RequestConfig

from api import services
from api.errors import error_response
from api.forms import ApiKeyForm
from api.models import ApiKey
from api.tables import ApiKeyTable
from subscribers.services import ServiceError
from subscribers.tenancy import manager_required


def _get_api_key_for_request(request, pk: int) -> ApiKey:
    return get_object_or_404(ApiKey, pk=pk, account=request.account)


# The new key rides in the session from the POST to the page it redirects to, and is dropped there:
# a reload neither shows it again nor makes a second key.
_NEW_KEY_SESSION = "api_new_key"


@manager_required
@require_http_methods(["GET", "POST"])
def api_keys(request):
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                api_key, token = services.api_key_create(
                    account=request.account, name=form.cleaned_data["name"], created_by=request.user
                )
            except ServiceError as exc:
                form.add_error("name", exc.detail)
            else:
                request.session[_NEW_KEY_SESSION] = {"account": request.account.pk, "token": token}
                messages.success(request, f"Key “{api_key.name}” created. Copy it now: it is not shown again.")
                return redirect("api_keys")
    shown = request.session.pop(_NEW_KEY_SESSION, None)
    new_key = shown["token"] if shown and shown.get("account") == request.account.pk else None
    keys = ApiKey.objects.filter(account=request.account).select_related("created_by")
    table = ApiKeyTable(keys)
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    context = {"form": form, "table": table, "new_key": new_key}
    status = 400 if request.method == "POST" else 200
    response = render(request, "api/keys.html", context, status=status)
    if new_key:
        response["Cache-Control"] = "no-store"
    return response


@manager_required
@require_http_methods(["GET", "POST"])
def api_key_revoke(request, pk: int):
    api_key = _get_api_key_for_request(request, pk)
    if request.method == "POST":
        services.api_key_revoke(api_key=api_key, revoked_by=request.user)
        messages.success(request, f"Key “{api_key.name}” revoked: requests that send it now get 401.")
        return redirect("api_keys")
    return render(request, "api/revoke.html", {"api_key": api_key})


@csrf_exempt
def api_not_found(request, rest: str = ""):
    return error_response(404, "not_found", "There is no API endpoint at this address. See /api/v1/docs.")
