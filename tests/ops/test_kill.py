"""A worker that dies loses nothing: real `rqworker` processes whose work horse is SIGKILLed at several points of
an import and of an alert; the janitor (on the workers' scheduler) retries the import and resumes the alert.

These commit for real (transaction=True): the workers are other processes with their own connections."""

import io
import signal
import time

import django_rq
import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from imports import jobs
from imports import services as imports_services
from imports.models import ImportRun, Mode, RunSource, Stage
from messaging import alerts
from messaging.models import Alert, DeliveryStatus, OutboundMessage
from tests.conftest import verified_login
from tests.imports.test_faults import _backend_query, _fingerprint, _load_numbers, postgres_only
from tests.ops import procs
from tests.ops.gateway import sent

pytestmark = [postgres_only, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FAST = {"IMPORT_LEASE_SECONDS": 2, "JANITOR_SECONDS": 2, "IMPORT_GUARD_SHARE": 1}


@pytest.fixture
def janitor_fresh(rq_queues):
    """No janitor chain left by another test: the workers started here schedule their own."""
    redis = django_rq.get_connection("imports")
    for key in redis.scan_iter("am:import-janitor:*"):
        redis.delete(key)
    for name in ("default", "imports", "lookups"):
        registry = django_rq.get_queue(name).scheduled_job_registry
        for job_id in registry.get_job_ids():
            registry.remove(job_id, delete_job=True)
    yield redis


def _stage(run_id: int) -> str:
    return ImportRun.objects.filter(pk=run_id).values_list("stage", flat=True).get()


def _start(account, content: str, **kwargs) -> ImportRun:
    return imports_services.import_run_create(
        account=account, file=io.BytesIO(content.encode()), file_name="nightly.csv", source=RunSource.SFTP, **kwargs
    )


def test_an_import_killed_while_reading_and_while_applying_is_retried_and_ends_as_one_clean_run(
    account, other_account, settings, tmp_path, janitor_fresh
):
    phones = _load_numbers(account, 40_000)
    _load_numbers(other_account, 40_000)
    content = "".join(f"{p},District {i % 7}\n" for i, p in enumerate(phones[:36_000])) + "".join(
        f"+1205{3000000 + i:07d},New\n" for i in range(4_000)
    )
    # The clean run, for comparison: the same file into an account with the same list, run once here.
    settings.IMPORT_GUARD_SHARE = 1
    clean = _start(other_account, content, mode=Mode.APPEND_SOFT_TAGS)
    django_rq.get_queue("imports").empty()
    jobs.import_run_job(clean.pk)
    clean.refresh_from_db()
    assert clean.stage == Stage.DONE

    run = _start(account, content, mode=Mode.APPEND_SOFT_TAGS)
    environment = procs.env(**FAST)
    first = procs.worker(environment, "imports", scheduler=True, log=tmp_path / "w1.log")
    with procs.running(first):
        procs.wait_for(lambda: _stage(run.pk) == Stage.READING, "the first try to read", 120)
        time.sleep(0.3)
        procs.kill(first)  # the worker and its work horse, mid-read
    killed_in = _stage(run.pk)
    second = procs.worker(environment, "imports", scheduler=True, log=tmp_path / "w2.log")
    with procs.running(second):
        procs.wait_for(lambda: ImportRun.objects.get(pk=run.pk).attempts == 1, "the janitor to queue it again", 60)
        procs.wait_for(
            lambda: (
                _backend_query("%UPDATE subscribers_subscriber SET status%")
                or _backend_query("%INSERT INTO subscribers_optevent%")
            ),
            "the second try to apply",
            180,
        )
        procs.kill(second)
    third = procs.worker(environment, "imports", scheduler=True, log=tmp_path / "w3.log")
    with procs.running(third):
        procs.wait_for(
            lambda: ImportRun.objects.filter(pk=run.pk, stage=Stage.DONE, file_path="").exists(),
            "the third try to finish and delete the file",
            240,
        )
    run.refresh_from_db()
    assert killed_in in (Stage.READING, Stage.COMPARING) and run.attempts == 2 and not run.worker_lost
    assert run.counts == clean.counts
    assert _fingerprint(account)[1:] == _fingerprint(other_account)[1:]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT md5(string_agg(phone || status || opted_out_by, ',' ORDER BY phone)) FROM subscribers_subscriber "
            "WHERE account_id IN (%s, %s) GROUP BY account_id",
            [account.pk, other_account.pk],
        )
        lists = [row[0] for row in cursor.fetchall()]
    assert len(set(lists)) == 1, "the retried run left the list as the clean run did"
    assert run.file_path == "" and not list(settings.UPLOAD_DIR.glob("*.upload"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE %s", [f"imp_{run.pk}_%"])
        assert cursor.fetchone()[0] == 0


def test_an_import_killed_on_its_last_try_fails_and_tells_the_managers(
    account, manager, client, settings, tmp_path, janitor_fresh
):
    manager.email = "manager@lakeside.example"
    manager.save()
    phones = _load_numbers(account, 30_000)
    run = _start(account, "".join(f"{p},D\n" for p in phones))
    environment = procs.env(**FAST, IMPORT_RETRIES=0)
    worker = procs.worker(environment, "imports", log=tmp_path / "w.log")
    with procs.running(worker):
        procs.wait_for(lambda: _stage(run.pk) == Stage.READING, "the import to start", 120)
        procs.kill(worker)
    settings.IMPORT_RETRIES = 0
    settings.IMPORT_LEASE_SECONDS = 2
    settings.EMAIL_CONFIGURED = True
    procs.wait_for(lambda: jobs.janitor()["stale"] == 1, "the janitor to give up", 30, every=0.5)
    run.refresh_from_db()
    assert run.stage == Stage.FAILED and run.worker_lost and "upload the file again" in run.error
    assert [m.to for m in mail.outbox] == [["manager@lakeside.example"]] and "nightly.csv" in mail.outbox[0].subject
    verified_login(client, manager)
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert f'data-lost-import="{run.pk}"' in dashboard and "nightly.csv" in dashboard
    assert "crashed on every try" in client.get(reverse("imports:run", args=[run.pk])).content.decode()
    assert run.file_path == "" and not list(settings.UPLOAD_DIR.glob("*.upload"))


def test_a_warm_shutdown_lets_the_running_import_finish(account, tmp_path, janitor_fresh):
    phones = _load_numbers(account, 30_000)
    run = _start(account, "".join(f"{p},D\n" for p in phones))
    worker = procs.worker(procs.env(**FAST), "imports", log=tmp_path / "w.log")
    with procs.running(worker):
        procs.wait_for(lambda: _stage(run.pk) == Stage.READING, "the import to start", 120)
        worker.send_signal(signal.SIGTERM)  # a rolling deploy stops the worker
        assert worker.wait(timeout=240) == 0
    run.refresh_from_db()
    assert run.stage == Stage.DONE and run.attempts == 0 and run.rows_read == 30_000, run.counts


def _alert_setup(account, count: int):
    from subscribers.services import account_sender_add

    account_sender_add(account=account, phone="73303")
    return _load_numbers(account, count)


def test_an_alert_killed_twice_mid_send_resumes_by_itself_and_sends_each_text_once(
    account, settings, tmp_path, janitor_fresh
):
    phones = _alert_setup(account, 3_000)
    log = tmp_path / "provider.log"
    environment = procs.env(
        **FAST, ALERT_BATCH_SIZE=200, SMS_GATEWAY="tests.ops.gateway.FileGateway", OPS_GATEWAY_FILE=log,
        OPS_GATEWAY_DELAY="0.002",
    )  # fmt: skip
    alert = alerts.alert_create(account=account, body="Outage on Feeder A2.", target="everyone", tags=[], user=None)
    resumed_within = []
    worker = procs.worker(environment, "default", scheduler=True, log=tmp_path / "w0.log")
    for step, kill_after in enumerate((700, 1900, None)):
        with procs.running(worker):
            if kill_after is None:
                procs.wait_for(lambda: Alert.objects.get(pk=alert.pk).stage == "done", "the alert to finish", 240)
                break
            procs.wait_for(lambda n=kill_after: len(sent(log)) >= n, f"{kill_after} texts to go", 180)
            procs.kill(worker)  # the worker and its work horse, mid-batch
        killed_at = time.monotonic()
        at_kill = len(sent(log))
        worker = procs.worker(environment, "default", scheduler=True, log=tmp_path / f"w{step + 1}.log")
        procs.wait_for(lambda n=at_kill: len(sent(log)) > n, "the alert to resume", 60)
        resumed_within.append(time.monotonic() - killed_at)
    alert.refresh_from_db()
    texts = [to for to, _, _ in sent(log)]
    assert len(texts) == len(set(texts)) == 3_000, "every opted-in number got the alert exactly once"
    assert set(texts) == set(phones)
    statuses = set(OutboundMessage.objects.filter(alert=alert).values_list("status", flat=True))
    assert statuses == {DeliveryStatus.SENT}
    assert (alert.sent_count, alert.failed_count, alert.unknown_count, alert.resumed) == (3_000, 0, 0, 2)
    by_phone = dict(OutboundMessage.objects.filter(alert=alert).values_list("phone", "provider_id"))
    assert all(by_phone[to] == provider_id for to, provider_id, _ in sent(log)), "each text keeps the provider's id"
    assert all(seconds < 60 for seconds in resumed_within), resumed_within


def test_texts_in_flight_the_provider_cannot_account_for_are_unknown_never_failed_nor_sent_twice(
    account, tmp_path, janitor_fresh
):
    _alert_setup(account, 1_000)
    log = tmp_path / "provider.log"
    environment = procs.env(
        **FAST, ALERT_BATCH_SIZE=100, SMS_GATEWAY="tests.ops.gateway.FileGateway", OPS_GATEWAY_FILE=log,
        OPS_GATEWAY_DELAY="0.01", OPS_GATEWAY_BLIND="1",
    )  # fmt: skip
    alert = alerts.alert_create(account=account, body="Outage on Feeder B1.", target="everyone", tags=[], user=None)
    worker = procs.worker(environment, "default", scheduler=True, log=tmp_path / "w.log")
    with procs.running(worker):
        procs.wait_for(lambda: len(sent(log)) >= 350, "350 texts to go", 180)
        procs.kill(worker)
    worker = procs.worker(environment, "default", scheduler=True, log=tmp_path / "r.log")
    with procs.running(worker):
        procs.wait_for(lambda: Alert.objects.get(pk=alert.pk).stage == "done", "the alert to finish", 240)
    alert.refresh_from_db()
    texts = [to for to, _, _ in sent(log)]
    assert len(texts) == len(set(texts)), "no text sent twice"
    assert alert.failed_count == 0 and alert.unknown_count <= 1
    assert alert.sent_count + alert.unknown_count == 1_000
    assert len(texts) in (alert.sent_count, alert.sent_count + alert.unknown_count)
    # An unknown text is one the provider may have taken: counted apart, never sent again (checked above).
    assert OutboundMessage.objects.filter(alert=alert, status=DeliveryStatus.UNKNOWN).count() == alert.unknown_count
