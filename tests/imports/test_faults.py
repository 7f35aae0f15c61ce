"""Faults: a worker killed mid-apply, a database error mid-apply, concurrent imports, a STOP during an import.

These commit for real (transaction=True): the worker is another process or thread with its own connection."""

import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from imports import jobs, services
from imports.models import ImportResult, ImportRun, Mode, RunSource, Stage
from subscribers import services as subscriber_services
from subscribers.models import Account, OptEvent, Subscriber
from subscribers.transitions import State
from tests.imports.conftest import snapshot, uploads_left

ROOT = Path(__file__).resolve().parents[2]
postgres_only = pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL"
)


def _dsn() -> str:
    params = connection.settings_dict
    return f"host={params['HOST'] or '127.0.0.1'} port={params['PORT'] or 5432} user={params['USER']} dbname={params['NAME']}"


def _load_numbers(account: Account, count: int, start: int = 0) -> list[str]:
    """`count` opted-in numbers with a tag each, written set-based (the ORM would take minutes)."""
    phones = [f"+1205{2000000 + start + i:07d}" for i in range(count)]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO subscribers_subscriber (account_id, phone, status, opted_out_by, first_seen, status_changed) "
            "SELECT %s, p, 'opted_in', '', now(), now() FROM unnest(%s::text[]) AS p",
            [account.pk, phones],
        )
    return phones


def _fingerprint(account: Account) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT md5(coalesce(string_agg(phone || status || opted_out_by, ',' ORDER BY phone), '')), count(*) "
            "FROM subscribers_subscriber WHERE account_id = %s",
            [account.pk],
        )
        numbers = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM subscribers_subscribertag st JOIN subscribers_subscriber s ON s.id = st.subscriber_id "
            "WHERE s.account_id = %s",
            [account.pk],
        )
        links = cursor.fetchone()[0]
    return numbers, links, OptEvent.objects.filter(account=account).count()


def _start(account, content: str, **kwargs) -> ImportRun:
    return services.import_run_create(
        account=account, file=io.BytesIO(content.encode()), file_name="cis.csv", source=RunSource.CLI, **kwargs
    )


def _wait_for(predicate, what: str, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _backend_query(pattern: str):
    with psycopg.connect(_dsn(), autocommit=True) as conn:
        return conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
            "AND query LIKE %s AND pid <> pg_backend_pid()",
            [pattern],
        ).fetchone()


@postgres_only
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_apply_leaves_the_account_as_it_was_and_no_file(account, rq_queues, upload_dir):
    phones = _load_numbers(account, 100_000)
    before = _fingerprint(account)
    # 90% of the list is in the file with a tag: the rest is to be suspended.
    content = "".join(f"{p},District {i % 7}\n" for i, p in enumerate(phones[:90_000]))
    run = _start(account, content, mode=Mode.APPEND_SOFT_TAGS)
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{connection.settings_dict['USER']}@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "UPLOAD_DIR": str(upload_dir),
        "IMPORT_GUARD_SHARE": "1",
        "IMPORT_LEASE_SECONDS": "2",
    }
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", "imports", "--burst"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Kill it while it writes the changes: the subscriber updates or the opt events of the apply.
        _wait_for(
            lambda: (
                _backend_query("%UPDATE subscribers_subscriber SET status%")
                or _backend_query("%INSERT INTO subscribers_optevent%")
            ),
            "the apply to start",
        )
    finally:
        # The job runs in a work horse forked by the worker, in a process group of its own: kill both.
        for pid in _children(worker.pid) + [worker.pid]:
            os.kill(pid, signal.SIGKILL)
        worker.wait(timeout=30)
    # PostgreSQL rolls the transaction back once it notices its client is gone.
    _wait_for(lambda: not _backend_query(f"%imp_{run.pk}_%"), "the killed transaction to end")
    _wait_for(lambda: not _backend_query("%subscribers_subscriber%"), "the killed statements to end")
    assert _fingerprint(account) == before
    time.sleep(2 * 2 + 1)  # the lease lapses
    settings.IMPORT_LEASE_SECONDS = 2
    settings.IMPORT_RETRIES = 0  # no try left: failed at once (the retries are tests/ops/test_kill.py's)
    jobs.janitor()
    run.refresh_from_db()
    assert run.stage == Stage.FAILED and "stopped before it finished" in run.error
    assert uploads_left() == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE %s", [f"imp_{run.pk}_%"])
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db
def test_a_database_error_mid_apply_changes_nothing(settings, account, make_subscriber, run_import):
    settings.IMPORT_GUARD_SHARE = 1.0
    for i in range(5):
        make_subscriber(account, f"+1205555030{i}", State.OPTED_IN)
    before = snapshot(account)
    # A real database error, raised by the database while the opt events are written (after the updates).
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_events() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_events BEFORE INSERT ON subscribers_optevent "
                "FOR EACH STATEMENT EXECUTE FUNCTION refuse_events()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER refuse_events BEFORE INSERT ON subscribers_optevent "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
    run = run_import(account, "+12053000001,New\n+12055550300,New\n", mode=Mode.APPEND_SOFT)
    assert run.stage == Stage.FAILED and "Nothing was changed" in run.error
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TRIGGER refuse_events" + (" ON subscribers_optevent" if connection.vendor == "postgresql" else "")
        )
    assert snapshot(account) == before
    assert not ImportResult.objects.filter(run=run).exists()
    assert uploads_left() == []


def _run_in_thread(run_id: int, errors: list) -> threading.Thread:
    def target():
        try:
            jobs.import_run_job(run_id)
        except Exception as exc:  # reported to the test
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    return thread


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_account_started_together_do_not_interleave(settings, account, upload_dir):
    settings.IMPORT_GUARD_SHARE = 1.0
    first = _load_numbers(account, 2_000)
    second = _load_numbers(account, 2_000, start=5_000)
    runs = [_start(account, "".join(f"{p}\n" for p in numbers), mode=Mode.APPEND_SOFT) for numbers in (first, second)]
    errors: list = []
    threads = [_run_in_thread(run.pk, errors) for run in runs]
    for thread in threads:
        thread.join()
    assert errors == []
    for run in runs:
        run.refresh_from_db()
        assert run.stage == Stage.DONE
    # Applied one after the other: whichever ran last left its own numbers opted in and the others suspended.
    last, earlier = sorted(runs, key=lambda r: r.finished_at, reverse=True)
    in_last = set(first if last == runs[0] else second)
    statuses = dict(Subscriber.objects.filter(account=account).values_list("phone", "status"))
    assert {p for p, s in statuses.items() if s == "opted_in"} == in_last
    assert last.counts["reactivated"] == 2_000 and last.counts["suspended"] == 2_000
    assert earlier.counts["suspended"] == 2_000


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_imports_of_different_accounts_do_not_wait_for_each_other(settings, account, other_account, upload_dir):
    mine = _start(account, "+12055550100\n")
    theirs = _start(other_account, "+12055550100\n")
    with psycopg.connect(_dsn()) as holder:  # another import of `account` is applying: it holds the lock
        holder.execute("SELECT pg_advisory_xact_lock(7301, %s)", [account.pk])
        errors: list = []
        waiting = _run_in_thread(mine.pk, errors)
        _wait_for(
            lambda: holder.execute(
                "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s", [account.pk]
            ).fetchone(),
            "the first account's import to wait for its lock",
        )
        _run_in_thread(theirs.pk, errors).join()
        theirs.refresh_from_db()
        assert theirs.stage == Stage.DONE
        mine.refresh_from_db()
        assert mine.stage == Stage.COMPARING
    waiting.join()
    mine.refresh_from_db()
    assert mine.stage == Stage.DONE and errors == []


def _stop_while_the_import_writes(run, account, phone: str, message_sid: str) -> list:
    """Run the import in a thread, held between deciding and writing (its first write is a tag insert), while
    `phone` texts STOP; returns the thread's errors."""
    with psycopg.connect(_dsn()) as blocker:
        blocker.execute("LOCK TABLE subscribers_tag IN EXCLUSIVE MODE")
        errors: list = []
        thread = _run_in_thread(run.pk, errors)
        _wait_for(lambda: _backend_query("INSERT INTO subscribers_tag%"), "the import to decide")
        subscriber_services.subscriber_keyword_stop(account=account, phone=phone, message_sid=message_sid)
    thread.join()
    return errors


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_stop_that_arrives_during_an_import_stays_opted_out(settings, account, upload_dir):
    settings.IMPORT_GUARD_SHARE = 1.0
    phones = _load_numbers(account, 10)
    run = _start(account, "".join(f"{p}\n" for p in phones[:5]), mode=Mode.APPEND_HARD)
    stopper = phones[7]  # missing from the file: the import decides to opt it out as the customer's
    assert _stop_while_the_import_writes(run, account, stopper, "SM1") == []
    run.refresh_from_db()
    assert run.stage == Stage.DONE
    stopped = Subscriber.objects.get(account=account, phone=stopper)
    assert (stopped.status, stopped.opted_out_by) == ("opted_out", "subscriber")
    assert not OptEvent.objects.filter(import_run=run, phone=stopper).exists()
    result = ImportResult.objects.get(run=run, phone=stopper)
    assert result.outcome == "unchanged" and "while the import ran" in result.detail
    assert run.counts["opted_out"] == 4


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_stop_from_a_number_new_to_the_list_during_its_first_import_stays_opted_out(settings, account, upload_dir):
    """The import had decided to add the number (and give it its tags); its owner's STOP landed first."""
    settings.IMPORT_GUARD_SHARE = 1.0
    fresh = [f"+1205201{k:04d}" for k in range(5)]
    run = _start(account, "".join(f"{p},North\n" for p in fresh), mode=Mode.APPEND_TAGS)
    stopper = fresh[2]
    assert _stop_while_the_import_writes(run, account, stopper, "SM2") == []
    run.refresh_from_db()
    assert run.stage == Stage.DONE
    stopped = Subscriber.objects.get(account=account, phone=stopper)
    assert (stopped.status, stopped.opted_out_by) == ("opted_out", "subscriber")
    assert not stopped.tags.exists()
    assert not OptEvent.objects.filter(import_run=run, phone=stopper).exists()
    result = ImportResult.objects.get(run=run, phone=stopper)
    assert result.outcome == "unchanged" and "while the import ran" in result.detail
    assert run.counts["opted_in"] == 4
    assert Subscriber.objects.filter(account=account, status="opted_in", tags__name="North").count() == 4
