from functools import wraps

from django.urls import path, re_path

from api import import_endpoints, views  # noqa: F401 (import_endpoints registers the import routes on `api`)
from api.endpoints import api
from api.errors import error_response


def _json_method_not_allowed(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and response.get("Content-Type", "").startswith("text/html"):
            allowed = response.get("Allow", "")
            response = error_response(405, "method_not_allowed", f"This address answers {allowed} only.")
            response["Allow"] = allowed
        return response

    return wrapper


_patterns, _app_name, _namespace = api.urls
for _pattern in _patterns:
    _pattern.callback = _json_method_not_allowed(_pattern.callback)

urlpatterns = [
    path("api/v1/", (_patterns, _app_name, _namespace)),
    # Anything else under the API answers in the API's JSON shape, never with an HTML page.
    re_path(r"^api/(?P<rest>.*)$", views.api_not_found),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
