"""Every page of the app, walked from the URL configuration: an uploader is let into the upload
pages only, and an anonymous visitor is sent to log in. New pages are covered as soon as they exist."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

# Pages an uploader may open (SPEC §1: upload, watch it run, see its results).
UPLOADER_ALLOWED = {"home", "login", "logout", "pick_account", "imports:upload", "imports:history"}
# An uploader's own runs and their results (another's answer 403: tests/imports/test_history_and_roles.py).
UPLOADER_ALLOWED |= {"imports:run", "imports:run_csv", "imports:run_preformatted"}
# Every user's own login: its steps, their password and second factor.
OWN_LOGIN = {"login_verify", "login_setup", "password_reset", "password_reset_done", "security", "password_change"}
UPLOADER_ALLOWED |= OWN_LOGIN
# Open to anyone: logging in and asking for a password reset email (where email is set up).
PUBLIC = {"login", "logout", "password_reset", "password_reset_done"}
# Not app pages: Django admin and the RQ dashboard have their own staff check; the API uses keys;
# the SMS webhook and the widget are public by design.
OTHER_GATES = ("admin/", "django-rq/", "api/", "sms/", "widget/", "static/", "__")


def _walk(resolver, prefix="", namespace=""):
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or ""
            yield from _walk(pattern, route, f"{namespace}{ns}:" if ns else namespace)
        elif isinstance(pattern, URLPattern) and pattern.name and "<" not in route and "(?P" not in route:
            yield f"{namespace}{pattern.name}", "/" + route.lstrip("^").rstrip("$")


def _app_pages():
    pages = [(name, path) for name, path in _walk(get_resolver()) if not path.lstrip("/").startswith(OTHER_GATES)]
    assert pages, "the URL walk found no pages"
    return pages


@pytest.mark.django_db
def test_an_uploader_gets_403_on_every_page_but_the_upload_pages(uploader_client):
    opened = []
    for name, path in _app_pages():
        if name in UPLOADER_ALLOWED:
            continue
        status = uploader_client.get(path).status_code
        if status not in (403, 405):
            opened.append((name, path, status))
    assert opened == []


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in_everywhere(client):
    opened = []
    for name, path in _app_pages():
        if name in PUBLIC:
            continue
        response = client.get(path)
        if response.status_code not in (302, 405) or (response.status_code == 302 and "/login/" not in response.url):
            opened.append((name, path, response.status_code))
    assert opened == []
