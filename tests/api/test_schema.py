"""The OpenAPI schema and the docs page, and a schemathesis run against the schema."""

import json
from pathlib import Path

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from subscribers.transitions import State


def test_the_schema_documents_every_endpoint_with_an_example(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    operations = {(method.upper(), path): op for path, item in schema["paths"].items() for method, op in item.items()}
    assert {
        ("GET", "/api/v1/subscribers"),
        ("GET", "/api/v1/subscribers/{phone}"),
        ("POST", "/api/v1/subscribers/{phone}/opt-in"),
        ("POST", "/api/v1/subscribers/{phone}/opt-out"),
        ("POST", "/api/v1/subscribers/{phone}/suspend"),
        ("POST", "/api/v1/subscribers/{phone}/reactivate"),
        ("POST", "/api/v1/subscribers/{phone}/double-opt-in"),
        ("PUT", "/api/v1/subscribers/{phone}/tags"),
        ("POST", "/api/v1/subscribers/{phone}/tags/{tag}"),
        ("DELETE", "/api/v1/subscribers/{phone}/tags/{tag}"),
        ("POST", "/api/v1/imports"),
        ("GET", "/api/v1/imports/{run_id}"),
        ("GET", "/api/v1/imports/{run_id}/results"),
    } <= set(operations)
    components = schema["components"]["schemas"]
    for (method, path), op in operations.items():
        assert op.get("summary"), (method, path)
        assert op["security"] == [{"ApiKeyAuth": []}]
        success = next(code for code in op["responses"] if code.startswith("2"))
        ok = op["responses"][success]["content"]["application/json"]["schema"]
        shown = components[ok["$ref"].rsplit("/", 1)[1]]
        # Every answer has an example, directly or through the schema of its items.
        assert "examples" in shown or any(
            "examples" in p or "$ref" in p or "items" in p for p in shown["properties"].values()
        )
        for status in ("401", "422", "429"):
            assert status in op["responses"], (method, path, status)
    assert components["ErrorOut"]["required"] == ["error", "detail"]
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"] == {"type": "http", "scheme": "bearer"}


def test_the_docs_page_is_served_from_our_own_static_files(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page and "/static/ninja/swagger-ui-init.js" in page
    assert "cdn" not in page.lower() and "https://" not in page
    for name in ("ninja/swagger-ui-bundle.js", "ninja/swagger-ui-init.js", "ninja/swagger-ui.css"):
        assert finders.find(name), name
    # Its settings are data, not an inline script, so the strict CSP lets the page run.
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert '<script type="application/json" id="swagger-settings">' in page
    settings = json.loads(page.split('id="swagger-settings">')[1].split("</script>")[0])
    assert settings["url"] == "/api/v1/openapi.json" and settings["validatorUrl"] is None


def test_the_swagger_files_are_collected_for_production(settings, tmp_path):
    from django.core.management import call_command

    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", "--noinput", verbosity=0)
    assert (Path(tmp_path) / "ninja" / "swagger-ui-bundle.js").exists()


@pytest.fixture
def _keep_the_test_transaction():
    """Requests through the WSGI app would close the database connection, and with it the test's
    transaction; Django's own test client disconnects the same handler."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def numbers_in_every_state(db, settings, tmp_path, account, make_subscriber, _keep_the_test_transaction):
    settings.API_RATE_LIMIT = 0  # the run sends hundreds of requests with one key
    settings.UPLOAD_DIR = tmp_path / "uploads"
    # Numbers the examples name, so that reads and refusals are exercised as well as 404s.
    states = [State.OPTED_IN, State.SUSPENDED, State.PENDING, State.OUT_SUBSCRIBER, State.OUT_CUSTOMER]
    for n, state in enumerate(states):
        make_subscriber(account, f"+1202555017{n + 3}", state, tags=["District 4"])


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@schemathesis.check
def no_server_error(ctx, response, case):
    """Every 5xx is a failure."""
    if response.status_code >= 500:
        raise AssertionError(f"Server error {response.status_code}: {response.text[:300]}")


@schema.parametrize()
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_never_fails_and_always_answers_as_its_schema_says(case, api_key, numbers_in_every_state):
    # Not "positive data acceptance": any string fits the schema of a phone in a path, but only a
    # real US/Canada number is accepted; the rest are answered 422 with the reason, as documented.
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {api_key.token}"},
        excluded_checks=[schemathesis.checks.positive_data_acceptance, schemathesis.checks.not_a_server_error],
        additional_checks=[no_server_error],
    )
    assert response.status_code < 500
    if response.status_code >= 400:  # one error shape everywhere
        assert set(response.json()) == {"error", "detail", "field"}
