"""The import engine end to end through real RQ workers: layouts, rows, dry run, guard, undo, idempotence."""

import pytest

from imports import services
from imports.fieldmap import FieldMap
from imports.models import ImportResult, ImportRun, Mode, Stage
from subscribers import services as subscriber_services
from subscribers.models import OptEvent, Status, Subscriber
from subscribers.services import Cause
from subscribers.transitions import State
from tests.imports.conftest import snapshot, uploads_left

pytestmark = pytest.mark.django_db

A, B, C, D = "+12055550100", "+12055550101", "+12055550102", "+12055550103"


def _results(run, outcome=None):
    qs = ImportResult.objects.filter(run=run)
    return list(qs.filter(outcome=outcome) if outcome else qs)


def _tags(account, phone):
    return sorted(t.name for t in Subscriber.objects.get(account=account, phone=phone).tags.all())


def test_it_skips_a_preformatted_header_and_reads_every_shape_of_number(account, run_import):
    content = (
        "Phone,District,Feeder\n"
        "(205) 555-0100,District 4,Feeder 9\n"
        "205.555.0101,District 4\n"
        "1-205-555-0102\n"
        "+1 205 555 0103\n"
    )
    run = run_import(account, content)
    assert run.stage == Stage.DONE
    assert run.counts["opted_in"] == 4 and run.counts["new"] == 4 and run.new_numbers == 4
    assert "rejected" not in run.counts
    assert _tags(account, A) == ["District 4", "Feeder 9"]
    assert run.rows_read == 4


def test_it_rejects_bad_rows_with_their_row_numbers_and_reasons_but_imports_the_rest(account, run_import):
    content = (
        "2055550100,ok\n,no phone\n5.552E+09\n+44 20 7946 0958\n800-555-0199\n205-555-0101 x12\nnot a number at all\n"
    )
    run = run_import(account, content)
    rejected = {r.row_number: (r.reason, r.raw_value) for r in _results(run, "rejected")}
    assert rejected == {
        2: ("blank", ""),
        3: ("invalid", "5.552E+09"),
        4: ("not_us_ca", "+44 20 7946 0958"),
        5: ("not_mobile", "800-555-0199"),
        6: ("not_mobile", "205-555-0101 x12"),
        7: ("invalid", "not a number at all"),
    }
    assert run.counts["rejected"] == 6 and run.counts["rejected_not_mobile"] == 2
    assert Subscriber.objects.filter(account=account).count() == 1
    assert all(r.reason_text for r in _results(run, "rejected"))


def test_it_merges_duplicates_and_their_tags_and_reports_the_repeats(account, run_import):
    content = "2055550100,North\n(205) 555-0100,south\n2055550100,NORTH\n"
    run = run_import(account, content)
    assert run.counts["opted_in"] == 1 and run.counts["duplicate"] == 2
    assert [t.lower() for t in _tags(account, A)] == ["north", "south"]  # one spelling of each
    assert sorted(r.row_number for r in _results(run, "duplicate")) == [2, 3]


def test_it_handles_ten_thousand_copies_of_one_number(account, run_import):
    run = run_import(account, "2055550100,Tag\n" * 10_000)
    assert run.counts["opted_in"] == 1 and run.counts["duplicate"] == 9_999
    assert OptEvent.objects.filter(account=account, import_run=run).count() == 1


def test_it_gives_every_phone_column_of_an_alp_row_the_rows_tags(account, manager, run_import):
    config = services.configuration_save(
        account=account,
        user=manager,
        name="CIS export",
        field_map=FieldMap.load({"phone_columns": ["PrimaryPhone", "MobilePhone"], "tag_columns": ["District", "E"]}),
        mode=Mode.APPEND,
    )
    services.configuration_approve(configuration=config, user=manager)
    content = (
        "Account,Name,PrimaryPhone,MobilePhone,Feeder,District\n"
        "1001,Ann,(205) 555-0100,205-555-0101,F9,D4\n"
        "1002,Bob,,2055550102,F3,D1\n"
        "1003,Cy,,,F3,D1\n"
    )
    run = run_import(account, content, configuration=config)
    assert run.stage == Stage.DONE, run.error
    assert _tags(account, A) == _tags(account, B) == ["D4", "F9"]
    assert _tags(account, C) == ["D1", "F3"]
    assert [(r.row_number, r.reason) for r in _results(run, "rejected")] == [(4, "blank")]


def test_an_alp_file_without_the_configured_column_fails_with_a_message(account, manager, run_import):
    config = services.configuration_save(
        account=account, user=manager, name="CIS", field_map=FieldMap.load({"phone_columns": ["Mobile"]}), mode="append"
    )
    services.configuration_approve(configuration=config, user=manager)
    run = run_import(account, "Phone,Name\n2055550100,Ann\n", configuration=config)
    assert run.stage == Stage.FAILED
    assert "no column “Mobile”" in run.error
    assert uploads_left() == []


def test_an_unapproved_or_changed_configuration_may_only_preview(account, manager, run_import):
    config = services.configuration_save(
        account=account, user=manager, name="CIS", field_map=FieldMap.load({"phone_columns": ["A"]}), mode="append"
    )
    with pytest.raises(services.ImportRefused) as refused:
        run_import(account, "Phone\n2055550100\n", configuration=config)
    assert refused.value.code == "not_approved"
    services.configuration_approve(configuration=config, user=manager)
    config = services.configuration_save(
        account=account, user=manager, name="CIS", field_map=FieldMap.load({"phone_columns": ["B"]}), mode="append",
        configuration=config,
    )  # fmt: skip
    assert not config.is_approved and config.version == 2
    run = run_import(account, "Name,Phone\nAnn,2055550100\n", configuration=config, dry_run=True)
    assert run.stage == Stage.DONE and run.counts["opted_in"] == 1
    assert not Subscriber.objects.filter(account=account).exists()


def test_a_dry_run_computes_the_whole_diff_and_changes_nothing(account, make_subscriber, run_import):
    make_subscriber(account, A, State.OPTED_IN, tags=["Old"])
    make_subscriber(account, B, State.OPTED_IN)
    before = snapshot(account)
    run = run_import(account, f"{A},New\n{C},New\n", mode=Mode.APPEND_SOFT_TAGS, dry_run=True)
    assert run.stage == Stage.DONE
    assert snapshot(account) == before
    outcomes = {r.phone: r.outcome for r in _results(run)}
    assert outcomes == {A: "tags_added", C: "opted_in", B: "suspended"}
    assert run.counts["new"] == 1


def test_the_same_file_twice_changes_nothing_the_second_time(account, make_subscriber, run_import):
    make_subscriber(account, D, State.OPTED_IN)
    content = f"{A},North\n{B},South\n"
    run_import(account, content, mode=Mode.APPEND_SOFT_TAGS, dry_run=False)
    # D is suspended by the first run only after confirmation (1 of 1 opted-in numbers): confirm it.
    first = ImportRun.objects.latest("id")
    assert first.stage == Stage.AWAITING_CONFIRMATION
    before = snapshot(account)
    second = run_import(account, content, mode=Mode.APPEND_SOFT_TAGS)
    assert second.stage == Stage.AWAITING_CONFIRMATION
    assert snapshot(account) == before  # held runs change nothing


def test_rerunning_an_applied_file_is_idempotent(settings, account, make_subscriber, run_import):
    settings.IMPORT_GUARD_SHARE = 1.0
    make_subscriber(account, D, State.OPTED_IN)
    content = f"{A},North\n{B},South\n"
    first = run_import(account, content, mode=Mode.APPEND_SOFT_TAGS)
    assert first.counts["suspended"] == 1 and first.counts["opted_in"] == 2
    before = snapshot(account)
    second = run_import(account, content, mode=Mode.APPEND_SOFT_TAGS)
    assert second.stage == Stage.DONE
    assert snapshot(account) == before
    assert second.counts == {"unchanged": 2, "new": 0, "numbers": 2, "tagged": 0, "untagged": 0}


def test_the_guard_holds_a_run_that_stops_too_many_numbers_until_a_manager_confirms(
    account, manager, make_subscriber, run_import, work
):
    for i in range(10):
        make_subscriber(account, f"+1205555020{i}", State.OPTED_IN)
    before = snapshot(account)
    run = run_import(account, "+12055550200\n", mode=Mode.APPEND_SOFT)
    assert run.stage == Stage.AWAITING_CONFIRMATION
    assert run.counts["suspended"] == 9
    assert snapshot(account) == before
    assert len(_results(run, "suspended")) == 9  # the preview of what it would do
    assert uploads_left() == []  # the rows are kept in the database, not the file

    work(services.import_run_confirm, run=run, user=manager)
    run.refresh_from_db()
    assert run.stage == Stage.DONE
    assert Subscriber.objects.filter(account=account, status=Status.SUSPENDED).count() == 9
    assert len(_results(run, "suspended")) == 9 and len(_results(run)) == 10


def test_a_confirmed_run_decides_again_on_the_list_as_it_is_then(account, manager, make_subscriber, run_import, work):
    for i in range(10):
        make_subscriber(account, f"+1205555020{i}", State.OPTED_IN)
    run = run_import(account, "+12055550200\n", mode=Mode.APPEND_HARD)
    assert run.stage == Stage.AWAITING_CONFIRMATION
    subscriber_services.subscriber_keyword_stop(account=account, phone="+12055550201")
    work(services.import_run_confirm, run=run, user=manager)
    run.refresh_from_db()
    assert run.counts["opted_out"] == 8
    stopped = Subscriber.objects.get(account=account, phone="+12055550201")
    assert (stopped.status, stopped.opted_out_by) == ("opted_out", "subscriber")


def test_an_empty_file_for_a_soft_opt_out_waits_for_a_manager(account, make_subscriber, run_import):
    make_subscriber(account, A, State.OPTED_IN)
    run = run_import(account, "Phone\nnot a phone\n", mode=Mode.APPEND_SOFT)
    assert run.stage == Stage.AWAITING_CONFIRMATION


def test_a_cancelled_run_changes_nothing_and_keeps_nothing(account, manager, make_subscriber, run_import):
    for i in range(10):
        make_subscriber(account, f"+1205555020{i}", State.OPTED_IN)
    before = snapshot(account)
    run = run_import(account, "+12055550200\n", mode=Mode.APPEND_HARD)
    services.import_run_cancel(run=run, user=manager)
    run.refresh_from_db()
    assert run.stage == Stage.CANCELLED
    assert snapshot(account) == before
    with pytest.raises(services.ImportRefused):
        services.import_run_confirm(run=run, user=manager)


def test_undo_reverts_a_run_except_numbers_that_changed_since(
    settings, account, manager, make_subscriber, run_import, work
):
    settings.IMPORT_GUARD_SHARE = 1.0
    make_subscriber(account, A, State.OPTED_IN, tags=["Old"])
    make_subscriber(account, B, State.OPTED_IN)
    make_subscriber(account, C, State.SUSPENDED)
    before = snapshot(account)
    run = run_import(account, f"{A},New\n{C},New\n{D},New\n", mode=Mode.APPEND_HARD)
    assert run.counts["opted_out"] == 1  # B
    # D, new, texts STOP after the import: the undo must not touch it.
    subscriber_services.subscriber_keyword_stop(account=account, phone=D)

    preview = services.import_undo_preview(run=run)
    assert preview == {"revert": 3, "remove": 0, "changed_since": 1}
    undo = work(services.import_run_undo, run=run, user=manager)
    undo.refresh_from_db()
    assert undo.stage == Stage.DONE and undo.undo_of == run
    after = snapshot(account)
    for phone in (A, B, C):
        assert after["numbers"][phone] == before["numbers"][phone]
    assert after["numbers"][D][:2] == ("opted_out", "subscriber")
    outcomes = {r.phone: (r.outcome, r.reason) for r in _results(undo)}
    assert outcomes[D] == ("rejected", "changed_since")
    assert outcomes[B] == ("opted_in", "")
    with pytest.raises(services.ImportRefused):
        services.import_run_undo(run=run, user=manager)


def test_undo_takes_new_numbers_off_the_list_again(account, manager, run_import, work):
    run = run_import(account, f"{A},North\n")
    undo = work(services.import_run_undo, run=run, user=manager)
    undo.refresh_from_db()
    assert not Subscriber.objects.filter(account=account, phone=A).exists()
    assert [r.outcome for r in _results(undo)] == ["removed"]
    assert OptEvent.objects.filter(account=account, phone=A, import_run=undo).get().new_status == ""


def test_a_stop_from_an_unknown_number_keeps_it_out_of_every_import(account, run_import):
    subscriber_services.subscriber_keyword_stop(account=account, phone=A)
    run = run_import(account, f"{A},North\n", mode=Mode.APPEND_TAGS)
    assert [(r.outcome, r.reason) for r in _results(run)] == [("rejected", "opted_out")]
    assert Subscriber.objects.get(account=account, phone=A).status == "opted_out"


def test_a_deleted_opt_out_stays_blocked(account, make_subscriber, run_import):
    make_subscriber(account, A, State.OUT_SUBSCRIBER)
    subscriber_services.subscriber_delete(account=account, phone=A, cause=Cause(source="manager"))
    run = run_import(account, f"{A}\n")
    assert run.counts["rejected_opted_out"] == 1


def test_unreadable_files_are_refused_at_upload_with_a_message_and_leave_nothing(account, run_import):
    for content, name, words in (
        (b"", "empty.csv", "empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old.xls", ".xls"),
        (b"\x7fELF\x02\x01\x01" + b"\0" * 100, "list.csv", "not a spreadsheet"),
    ):
        with pytest.raises(services.ImportRefused) as refused:
            run_import(account, content, name=name)
        assert refused.value.code == "file_rejected" and words in refused.value.detail
    assert uploads_left() == []
    assert not ImportRun.objects.exists()


def test_the_upload_size_limit_refuses_larger_files(settings, account, run_import):
    settings.MAX_UPLOAD_BYTES = 100
    with pytest.raises(services.ImportRefused) as refused:
        run_import(account, "2055550100\n" * 20)
    assert refused.value.code == "file_too_large"
    assert uploads_left() == []


@pytest.mark.parametrize("stage_after", ["done", "failed"])
def test_the_file_is_gone_after_the_job_whatever_the_outcome(account, run_import, stage_after):
    run = run_import(account, "2055550100\n", work=False)
    assert uploads_left() != []
    if stage_after == "failed":
        # The file changes under the job (a disk error, a partial write): reading fails, the file still goes.
        with open(run.file_path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    from tests.conftest import run_worker

    run_worker("imports")
    run.refresh_from_db()
    assert run.stage == stage_after
    assert uploads_left() == []
    assert run.file_path == ""
    if stage_after == "failed":
        assert "not a spreadsheet" in run.error


@pytest.mark.parametrize(
    "mode, action, want",
    [
        # Numbers whose tags already match the file are recognised as a whole; the rest tag by tag.
        (Mode.APPEND, "opt_in", {A: ["North", "South"], B: ["East", "North"], C: ["Old", "West"], D: ["North"]}),
        (Mode.APPEND_TAGS, "opt_in", {A: ["North", "South"], B: ["East", "North"], C: ["West"], D: ["North"]}),
        (Mode.STANDARD, "remove_tags", {A: [], B: [], C: ["Old"], D: None}),
    ],
)
def test_tags_are_compared_whatever_their_spelling_and_order(account, make_subscriber, run_import, mode, action, want):
    make_subscriber(account, A, State.OPTED_IN, tags=["North", "South"])
    make_subscriber(account, B, State.OPTED_IN, tags=["North"])
    make_subscriber(account, C, State.OPTED_IN, tags=["West", "Old"])
    # A: the same tags in another case and order; B: a tag the account does not have yet; D: a new number.
    content = f"{A},south,NORTH\n{B},North,East\n{C},West\n{D},North\n"
    run = run_import(account, content, mode=mode, action=action)
    assert run.stage == Stage.DONE, run.error
    for phone, tags in want.items():
        if tags is None:
            assert not Subscriber.objects.filter(account=account, phone=phone).exists()
        else:
            assert _tags(account, phone) == tags, phone
    by_phone = {r.phone: r for r in _results(run)}
    assert by_phone[A].tags == ["NORTH", "south"]  # the file's tags, as the file spells them
    if mode == Mode.STANDARD:
        assert sorted(by_phone[A].tags_removed) == ["North", "South"]
    else:
        assert by_phone[A].outcome == "unchanged" and by_phone[A].tags_added == by_phone[A].tags_removed == []
        assert by_phone[B].tags_added == ["East"]


def test_a_deleted_customer_opt_out_is_still_refused_by_the_next_import(account, make_subscriber, run_import):
    make_subscriber(account, A, State.OUT_CUSTOMER, tags=["North"])
    subscriber_services.subscriber_delete(account=account, phone=A, cause=Cause(source="manager"))
    block = Subscriber.objects.get(account=account, phone=A)
    assert (block.status, block.opted_out_by, block.tags.count()) == ("opted_out", "customer", 0)
    assert block.removed_at is not None
    run = run_import(account, f"{A},North\n", mode=Mode.APPEND)
    assert [(r.outcome, r.reason) for r in _results(run)] == [("rejected", "opted_out")]
    assert run.counts.get("new", 0) == 0
    # Only its owner brings it back.
    subscriber_services.subscriber_keyword_start(account=account, phone=A)
    assert Subscriber.objects.listed().get(account=account, phone=A).status == Status.OPTED_IN


def test_a_number_a_hard_opt_out_import_dropped_and_a_manager_deleted_stays_out(
    account, make_subscriber, run_import, settings
):
    settings.IMPORT_GUARD_SHARE = 1.0
    make_subscriber(account, A, State.OPTED_IN)
    make_subscriber(account, B, State.OPTED_IN)
    hard = run_import(account, f"{B}\n", mode=Mode.APPEND_HARD)  # the member behind A left
    assert hard.counts["opted_out"] == 1
    subscriber_services.subscriber_delete(account=account, phone=A, cause=Cause(source="manager"))
    again = run_import(account, f"{A}\n{B}\n", mode=Mode.APPEND_HARD)
    assert {r.phone: (r.outcome, r.reason) for r in _results(again)} == {
        A: ("rejected", "opted_out"),
        B: ("unchanged", ""),
    }
    assert Subscriber.objects.get(account=account, phone=A).status == Status.OPTED_OUT


def test_an_opt_out_file_of_numbers_never_seen_counts_none_new(account, run_import):
    run = run_import(account, f"{A}\n{B}\n", action="opt_out")
    assert run.stage == Stage.DONE and run.counts["opted_out"] == 2
    assert run.new_numbers == 0 and run.counts["new"] == 0
    assert not any(r.is_new for r in _results(run))
    # Still blocks a later import, which does not count them either.
    later = run_import(account, f"{A}\n{C}\n")
    assert later.counts["rejected_opted_out"] == 1 and later.new_numbers == 1


def test_an_opt_out_file_is_applied_at_once_however_many_it_stops(account, make_subscriber, run_import):
    for i in range(10):
        make_subscriber(account, f"+1205555020{i}", State.OPTED_IN)
    run = run_import(account, "".join(f"+1205555020{i}\n" for i in range(9)), action="opt_out")
    assert run.stage == Stage.DONE and run.counts["opted_out"] == 9
    suspend = run_import(account, "+12055550209\n", action="suspend")
    assert suspend.stage == Stage.AWAITING_CONFIRMATION  # a suspend list stays guarded: 1 of 1 opted in


def test_a_file_and_a_manager_fold_tag_names_by_the_same_rule(account, run_import):
    # "Straße" and "STRASSE" are two tags to SQL lower() (casefold made them one); "ΣΑΣ" and "σασ" are one
    # (Python's lower() spells the first "σας").
    # SQLite's lower() folds ASCII only, so there the Greek spellings stay two tags, on both paths alike.
    from django.db import connection

    names = ["ΣΑΣ", "σασ", "Straße", "STRASSE"]
    expected = ["STRASSE", "Straße", "ΣΑΣ"] + (["σασ"] if connection.vendor == "sqlite" else [])
    run = run_import(account, f"2055550100,{','.join(names)}\n")
    assert run.stage == Stage.DONE
    assert _tags(account, A) == expected
    subscriber_services.subscriber_opt_in(account=account, phone=B, cause=Cause("manager"), tags=names)
    assert _tags(account, B) == expected
    assert account.tags.count() == len(expected)
