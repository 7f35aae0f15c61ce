"""The mode matrix of SPEC §4.2: every mode and action × every starting state × in the file or not, with and
without tags, checked against the hand-written SPEC §3 cases shared with the status service's tests."""

import pytest

from imports.models import Action as FileAction
from imports.models import ImportResult, Mode, Stage
from subscribers.models import OptEvent, Subscriber
from subscribers.transitions import Action, State
from tests.subscribers.cases import CASES

# SPEC §4.2, written out by hand: (what happens to numbers in the file, their tags, opted-in numbers missing).
SPEC_MODES = {
    (Mode.STANDARD, FileAction.OPT_IN): (Action.OPT_IN, "add", None),
    (Mode.STANDARD, FileAction.OPT_OUT): (Action.OPT_OUT, "none", None),
    (Mode.STANDARD, FileAction.SUSPEND): (Action.SUSPEND, "none", None),
    (Mode.STANDARD, FileAction.REACTIVATE): (Action.REACTIVATE, "none", None),
    (Mode.STANDARD, FileAction.ADD_TAGS): (None, "add", None),
    (Mode.STANDARD, FileAction.REMOVE_TAGS): (None, "remove", None),
    (Mode.APPEND, FileAction.OPT_IN): (Action.OPT_IN, "add", None),
    (Mode.APPEND_TAGS, FileAction.OPT_IN): (Action.OPT_IN, "exact", None),
    (Mode.APPEND_SOFT, FileAction.OPT_IN): (Action.OPT_IN, "add", Action.SUSPEND),
    (Mode.APPEND_SOFT_TAGS, FileAction.OPT_IN): (Action.OPT_IN, "exact", Action.SUSPEND),
    (Mode.APPEND_HARD, FileAction.OPT_IN): (Action.OPT_IN, "exact", Action.OPT_OUT),
}
EXPECTED = {(action, start): (to, outcome) for action, start, to, outcome in CASES}
STATES = [State.NONE, State.PENDING, State.OPTED_IN, State.SUSPENDED, State.OUT_SUBSCRIBER, State.OUT_CUSTOMER]
OLD_TAGS = ["Old", "shared"]
FILE_TAGS = ["New", "Shared"]  # "Shared" is the same tag as "shared": tags match case-insensitively


def _phone(group: int, index: int) -> str:
    return f"+1205555{group}{index:03d}"


def _expected_tags(policy: str, start: State, file_tags: list[str], refused: bool) -> set[str]:
    old = set() if start is State.NONE else set(OLD_TAGS)
    if refused or policy == "none":
        return old
    lowered_old = {t.lower() for t in old}
    if policy == "add":
        return old | {t for t in file_tags if t.lower() not in lowered_old}
    if policy == "exact":
        wanted = {t.lower() for t in file_tags}
        kept = {t for t in old if t.lower() in wanted}
        return kept | {t for t in file_tags if t.lower() not in lowered_old}
    assert policy == "remove"
    removing = {t.lower() for t in file_tags}
    return {t for t in old if t.lower() not in removing}


def _lower(tags) -> set[str]:
    return {t.lower() for t in tags}


def _expect_in_file(action, policy, start):
    if action is None:  # tags only: the number keeps its status; one the list lacks is refused
        return (start, "refused:not_found") if start is State.NONE else (start, "unchanged")
    return EXPECTED[(action, start)]


@pytest.mark.django_db
@pytest.mark.parametrize("mode,action", list(SPEC_MODES), ids=[f"{m}-{a}" for m, a in SPEC_MODES])
def test_it_applies_each_mode_as_spec_4_2_says(
    settings, account, other_account, make_subscriber, run_import, mode, action
):
    settings.IMPORT_GUARD_SHARE = 1.0  # the guard has tests of its own
    in_file_action, policy, missing_action = SPEC_MODES[(mode, action)]
    groups = {1: ("in file, with tags", FILE_TAGS), 2: ("in file, no tags", []), 3: ("not in file", None)}
    lines = ["phone,tag1,tag2"]
    for group, (_, file_tags) in groups.items():
        for i, start in enumerate(STATES):
            phone = _phone(group, i)
            make_subscriber(account, phone, start, tags=OLD_TAGS)
            if file_tags is not None:
                lines.append(",".join([phone, *file_tags]))
    # Another account holding the same numbers, opted in: a mode never touches it.
    for group in groups:
        for i in range(len(STATES)):
            make_subscriber(other_account, _phone(group, i), State.OPTED_IN, tags=["Theirs"])

    run = run_import(account, "\n".join(lines) + "\n", mode=mode, action=action)

    assert run.stage == Stage.DONE, run.error
    results = {r.phone: r for r in ImportResult.objects.filter(run=run).exclude(phone="")}
    for group, (label, file_tags) in groups.items():
        for i, start in enumerate(STATES):
            phone = _phone(group, i)
            if file_tags is not None:
                want_state, want = _expect_in_file(in_file_action, policy, start)
            elif missing_action is not None and start is State.OPTED_IN:
                want_state, want = EXPECTED[(missing_action, start)]
            else:
                want_state, want = start, None  # not in the file: untouched, not in the results
            refused = bool(want) and want.startswith("refused:")
            subscriber = Subscriber.objects.filter(account=account, phone=phone).first()
            got_state = State.of(subscriber.status, subscriber.opted_out_by) if subscriber else State.NONE
            where = f"{label}, starting {start.value}"
            assert got_state == want_state, where
            got_tags = {t.name for t in subscriber.tags.all()} if subscriber else set()
            want_tags = (
                _expected_tags(policy, start, file_tags or [], refused)
                if file_tags is not None
                else (set() if start is State.NONE else set(OLD_TAGS))
            )
            # The account's existing spelling of a tag wins ("shared", not the file's "Shared").
            assert {t.lower() for t in got_tags} == {t.lower() for t in want_tags}, where
            result = results.get(phone)
            if want is None:
                assert result is None, where
                continue
            if refused:
                assert (result.outcome, result.reason) == ("rejected", want.split(":", 1)[1]), where
            elif want != "unchanged":
                assert result.outcome == want, where
            elif _lower(want_tags) - _lower(OLD_TAGS if start is not State.NONE else []):
                assert result.outcome == "tags_added", where
            elif _lower(want_tags) != _lower(OLD_TAGS if start is not State.NONE else []):
                assert result.outcome == "tags_removed", where
            else:
                assert result.outcome == "unchanged", where
            # New: opted in (or pending) for the first time; an opt-out of a number never seen is not new.
            assert result.is_new == (start is State.NONE and got_state in (State.OPTED_IN, State.PENDING)), where
            changed = got_state != start or _lower(got_tags) != _lower(OLD_TAGS if start is not State.NONE else [])
            events = OptEvent.objects.filter(account=account, phone=phone, import_run=run)
            assert events.count() == (1 if changed else 0), where
            if changed:
                event = events.get()
                assert (event.old_status, event.new_status, event.source) == (
                    start.status,
                    want_state.status,
                    "import",
                ), where
    untouched = Subscriber.objects.filter(account=other_account)
    assert {s.status for s in untouched} == {"opted_in"}
    assert all([t.name for t in s.tags.all()] == ["Theirs"] for s in untouched)
    assert run.counts.get("new", 0) == run.new_numbers == sum(1 for r in results.values() if r.is_new)
