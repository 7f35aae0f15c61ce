"""The demo stays a one-minute start: its users are enrolled and seed_demo prints a code that gets each one in."""

import io
import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", numbers=40, stdout=out)
    return out.getvalue()


def _logged_in(username: str, code: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": "lakeside-demo"})
    assert response.url.startswith(reverse("login_verify"))
    assert client.post(reverse("login_verify"), {"code": code}).status_code == 302
    return client


@pytest.mark.django_db
def test_each_demo_login_gets_in_with_its_printed_backup_code(rq_queues):
    printed = dict(re.findall(r"^\s+(\w+)\s+backup code (\w+)", _seed(), re.M))
    assert set(printed) == {"manager", "uploader", "support"}
    assert _logged_in("manager", printed["manager"]).get("/dashboard/").status_code == 200
    assert _logged_in("uploader", printed["uploader"]).get("/upload/").status_code == 200
    support = _logged_in("support", printed["support"])
    assert support.get("/admin/").status_code == 200
    assert support.get(reverse("admin:people_loginlock_changelist")).status_code == 200
    assert support.get(reverse("admin:audit_auditentry_changelist")).status_code == 200
    # Support staff, not superusers: they cannot hand out powers.
    assert support.get(reverse("admin:auth_group_add")).status_code == 403


@pytest.mark.django_db
def test_the_printed_setup_key_gives_codes_across_runs(rq_queues):
    import base64

    first = dict(re.findall(r"^\s+(\w+)\s+backup code \w+\s+setup key (\w+)", _seed(), re.M))
    again = dict(re.findall(r"^\s+(\w+)\s+backup code \w+\s+setup key (\w+)", _seed(), re.M))
    assert first == again
    code = f"{TOTP(base64.b32decode(first['manager'])).token():06d}"
    assert _logged_in("manager", code).get("/dashboard/").status_code == 200
