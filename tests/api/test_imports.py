"""Imports through the API: upload a file, watch the run, read its results, all with an API key."""

from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEntry
from imports import services as import_services
from imports.fieldmap import FieldMap
from imports.models import ImportRun, Mode, RunSource, Stage
from subscribers.models import OptEvent, Subscriber
from subscribers.transitions import State
from tests.api.conftest import assert_error
from tests.conftest import run_worker

PREFORMATTED = "Phone,District\n(202) 555-0173,District 4\n202.555.0174,District 5\nnot a number,District 6\n"


def _upload(api, content=PREFORMATTED, name="cis-export.csv", headers=None, **fields):
    raw = content if isinstance(content, bytes) else content.encode()
    data = {"file": SimpleUploadedFile(name, raw, content_type="text/csv"), **fields}
    return api.client.post("/api/v1/imports", data, headers={"Authorization": f"Bearer {api.token}", **(headers or {})})


def test_an_import_started_through_the_api_is_watched_and_its_results_read_through_it(
    api, account, settings, tmp_path, rq_queues, django_capture_on_commit_callbacks
):
    settings.UPLOAD_DIR = tmp_path / "uploads"

    with django_capture_on_commit_callbacks(execute=True):
        started = _upload(api)

    assert started.status_code == 202, started.content
    run = started.json()
    assert run["stage"] == "queued" and run["file_name"] == "cis-export.csv"
    assert started["Location"] == run["url"] == f"http://testserver/api/v1/imports/{run['id']}"
    assert ImportRun.objects.get(pk=run["id"]).source == RunSource.API

    run_worker("imports")

    watched = api.get(f"/imports/{run['id']}").json()
    assert watched["stage"] == "done" and watched["progress"] == 100
    assert watched["counts"]["opted_in"] == 2 and watched["counts"]["new"] == 2
    assert watched["counts"]["rejected"] == 1 and watched["counts"]["rejected_invalid"] == 1
    assert watched["finished_at"] is not None

    results = api.get(f"/imports/{run['id']}/results").json()
    by_phone = {item["phone"]: item for item in results["items"]}
    assert by_phone["+12025550173"]["outcome"] == "opted_in" and by_phone["+12025550173"]["is_new"] is True
    assert by_phone["+12025550173"]["tags"] == ["District 4"]
    rejected = [item for item in results["items"] if item["outcome"] == "rejected"]
    assert [(r["reason"], r["raw_value"], r["row_number"]) for r in rejected] == [("invalid", "not a number", 4)]
    assert results["next_cursor"] is None

    only_rejected = api.get(f"/imports/{run['id']}/results", {"outcome": "rejected"}).json()["items"]
    assert [r["reason"] for r in only_rejected] == ["invalid"]

    first_page = api.get(f"/imports/{run['id']}/results", {"limit": 2}).json()
    rest = api.get(f"/imports/{run['id']}/results", {"limit": 2, "cursor": first_page["next_cursor"]}).json()
    assert first_page["items"] + rest["items"] == results["items"]

    assert Subscriber.objects.get(account=account, phone="+12025550174").status == "opted_in"
    assert set(OptEvent.objects.filter(account=account).values_list("source", flat=True)) == {"import"}


def test_a_dry_run_through_the_api_changes_nothing(api, account, settings, tmp_path, rq_queues,
                                                   django_capture_on_commit_callbacks):  # fmt: skip
    settings.UPLOAD_DIR = tmp_path / "uploads"
    with django_capture_on_commit_callbacks(execute=True):
        run = _upload(api, dry_run="true").json()
    run_worker("imports")

    watched = api.get(f"/imports/{run['id']}").json()
    assert watched["dry_run"] is True and watched["stage"] == "done" and watched["counts"]["opted_in"] == 2
    assert not Subscriber.objects.exists()


def test_a_preformatted_opt_out_file_through_the_api(api, account, make_subscriber, settings, tmp_path, rq_queues,
                                                      django_capture_on_commit_callbacks):  # fmt: skip
    settings.UPLOAD_DIR = tmp_path / "uploads"
    make_subscriber(account, "+12025550173", State.OPTED_IN)
    with django_capture_on_commit_callbacks(execute=True):
        run = _upload(api, "2025550173\n", action="opt_out").json()
    run_worker("imports")
    assert api.get(f"/imports/{run['id']}").json()["counts"]["opted_out"] == 1
    assert Subscriber.objects.get(phone="+12025550173").opted_out_by == "customer"


def test_an_import_with_an_approved_configuration_named_by_name(api, account, manager, settings, tmp_path,
                                                                 rq_queues, django_capture_on_commit_callbacks):  # fmt: skip
    settings.UPLOAD_DIR = tmp_path / "uploads"
    configuration = import_services.configuration_save(
        account=account, user=manager, name="CIS export", mode=Mode.APPEND,
        field_map=FieldMap.load({"phone_columns": ["Mobile"], "tag_columns": ["Area"]}),
    )  # fmt: skip
    refused = _upload(api, "Name,Mobile,Area\nAda,2025550173,North\n", config="CIS export")
    assert_error(refused, 409, "not_approved", "config")

    import_services.configuration_approve(configuration=configuration, user=manager)
    with django_capture_on_commit_callbacks(execute=True):
        run = _upload(api, "Name,Mobile,Area\nAda,2025550173,North\n", config="cis export").json()
    run_worker("imports")

    watched = api.get(f"/imports/{run['id']}").json()
    assert watched["configuration"] == "CIS export" and watched["mode"] == "append" and watched["stage"] == "done"
    assert [t.name for t in Subscriber.objects.get(phone="+12025550173").tags.all()] == ["North"]


def test_an_unknown_configuration_is_404(api, settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    assert_error(_upload(api, config="Nope"), 404, "no_configuration", "config")
    assert_error(_upload(api, config="999999"), 404, "no_configuration", "config")
    assert not ImportRun.objects.exists()


def test_a_file_that_cannot_be_read_is_refused_at_once(api, settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    refused = _upload(api, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), name="list.xls")
    body = assert_error(refused, 422, "file_rejected", "file")
    assert "save it as .xlsx or CSV" in body["detail"]
    assert not ImportRun.objects.exists()
    assert not list((tmp_path / "uploads").glob("*"))


def test_a_file_over_the_upload_limit_gets_413(api, settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.MAX_UPLOAD_BYTES = 100
    assert_error(_upload(api, "2025550173,Tag\n" * 100), 413, "file_too_large", "file")
    settings.MAX_UPLOAD_BYTES = 0  # a body larger than the limit and its slack is refused before it is read
    assert_error(_upload(api, "2025550173,Tag\n" * 5000), 413, "too_large")
    assert not ImportRun.objects.exists()


def test_an_upload_without_a_file_or_with_a_bad_action_is_422(api):
    response = api.client.post(
        "/api/v1/imports", {"action": "opt_in"}, headers={"Authorization": f"Bearer {api.token}"}
    )
    assert_error(response, 422, "validation_error", "file")
    assert_error(_upload(api, action="delete_all"), 422, "validation_error", "action")


def test_a_repeated_upload_with_the_same_idempotency_key_starts_one_run(api, settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    headers = {"Idempotency-Key": "nightly-2026-12-02"}
    first = _upload(api, headers=headers)
    again = _upload(api, headers=headers)
    other_file = _upload(api, PREFORMATTED + "2025550175\n", headers=headers)

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert ImportRun.objects.count() == 1
    assert_error(other_file, 422, "idempotency_key_reused")


def test_another_accounts_import_is_404(api, other_account, settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    import io

    theirs = import_services.import_run_create(
        account=other_account, file=io.BytesIO(b"2025550173\n"), file_name="theirs.csv", source=RunSource.CLI
    )
    assert_error(api.get(f"/imports/{theirs.pk}"), 404, "not_found", "id")
    assert_error(api.get(f"/imports/{theirs.pk}/results"), 404, "not_found", "id")


def test_an_import_waiting_for_a_manager_says_so(api, account, make_subscriber, settings, tmp_path, rq_queues,
                                                 django_capture_on_commit_callbacks):  # fmt: skip
    settings.UPLOAD_DIR = tmp_path / "uploads"
    for n in range(3):
        make_subscriber(account, f"+1202555017{n}", State.OPTED_IN)
    with django_capture_on_commit_callbacks(execute=True):
        run = _upload(api, "2025550170\n2025550171\n", action="suspend").json()
    run_worker("imports")
    assert api.get(f"/imports/{run['id']}").json()["stage"] == Stage.AWAITING_CONFIRMATION


def _held_suspension(api, account, make_subscriber, settings, tmp_path, capture):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    for n in range(3):
        make_subscriber(account, f"+1202555017{n}", State.OPTED_IN)
    with capture(execute=True):
        run = _upload(api, "2025550170\n2025550171\n", action="suspend").json()
    run_worker("imports")
    assert api.get(f"/imports/{run['id']}").json()["stage"] == Stage.AWAITING_CONFIRMATION
    return run


def test_an_api_client_confirms_a_held_import(api, account, make_subscriber, settings, tmp_path, rq_queues,
                                              django_capture_on_commit_callbacks):  # fmt: skip
    run = _held_suspension(api, account, make_subscriber, settings, tmp_path, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = api.post(f"/imports/{run['id']}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["stage"] == Stage.APPLYING
    run_worker("imports")
    done = api.get(f"/imports/{run['id']}").json()
    assert done["stage"] == Stage.DONE and done["counts"]["suspended"] == 2
    assert Subscriber.objects.filter(account=account, status="suspended").count() == 2
    assert_error(api.post(f"/imports/{run['id']}/confirm"), 409, "wrong_stage")
    entry = AuditEntry.objects.filter(account=account, action="confirmed").get()
    assert entry.actor is None and entry.actor_name.startswith("API key")


def test_an_api_client_cancels_a_held_import(api, account, make_subscriber, settings, tmp_path, rq_queues,
                                             django_capture_on_commit_callbacks):  # fmt: skip
    run = _held_suspension(api, account, make_subscriber, settings, tmp_path, django_capture_on_commit_callbacks)
    cancelled = api.post(f"/imports/{run['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["stage"] == Stage.CANCELLED
    assert Subscriber.objects.filter(account=account, status="opted_in").count() == 3
    assert_error(api.post(f"/imports/{run['id']}/cancel"), 409, "wrong_stage")
    assert_error(api.post(f"/imports/{run['id']}/confirm"), 409, "wrong_stage")


def test_confirming_another_accounts_import_is_404(api, other_account):
    theirs = ImportRun.objects.create(account=other_account, file_name="theirs.csv", stage=Stage.AWAITING_CONFIRMATION)
    assert_error(api.post(f"/imports/{theirs.pk}/confirm"), 404, "not_found", "id")
    assert_error(api.post(f"/imports/{theirs.pk}/cancel"), 404, "not_found", "id")
    theirs.refresh_from_db()
    assert theirs.stage == Stage.AWAITING_CONFIRMATION


def test_an_opt_out_file_through_the_api_is_never_held(api, account, make_subscriber, settings, tmp_path, rq_queues,
                                                       django_capture_on_commit_callbacks):  # fmt: skip
    settings.UPLOAD_DIR = tmp_path / "uploads"
    for n in range(3):
        make_subscriber(account, f"+1202555017{n}", State.OPTED_IN)
    with django_capture_on_commit_callbacks(execute=True):
        run = _upload(api, "2025550170\n2025550171\n2025550179\n", action="opt_out").json()
    run_worker("imports")
    done = api.get(f"/imports/{run['id']}").json()
    assert done["stage"] == Stage.DONE and done["counts"]["opted_out"] == 3
    # The number the account never had is recorded to block it, and not billed as new.
    assert done["new_numbers"] == 0 and done["counts"].get("new", 0) == 0
    assert Subscriber.objects.get(account=account, phone="+12025550179").opted_out_by == "customer"


def test_a_bad_results_cursor_is_422(api, settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    run = _upload(api).json()
    assert_error(api.get(f"/imports/{run['id']}/results", {"cursor": "zzz"}), 422, "invalid_cursor", "cursor")
