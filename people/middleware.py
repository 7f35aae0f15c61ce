"""A password alone opens no page: a session that passed the password but not the second factor may only finish
logging in (or log out). Everything else sends it to the second step, which brings it back afterwards."""

from urllib.parse import urlencode

from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse


class SecondFactorRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not user.is_verified() and not _allowed(request.path):
            target = f"{reverse('login_verify')}?{urlencode({'next': request.get_full_path()})}"
            if request.htmx:
                response = HttpResponse(status=401)
                response["HX-Redirect"] = target
                return response
            return HttpResponseRedirect(target)
        return self.get_response(request)


def _allowed(path: str) -> bool:
    return path.startswith(reverse("login")) or path == reverse("logout")
