"""Undo of a finished import (SPEC §4.5), set-based: every change the run made is reverted from its opt events,
except on numbers that changed again since (listed, not touched) — so an undo never opts in a number that
opted out after the import, and never overrides anyone's later change. What is reverted is found here; the
list's writer (subscribers.staged.revert) writes it.
"""

from imports.engine import store
from subscribers import sql, staged

# The state the undone run left the number in, read from its opt event.
_LEFT_STATE = sql.state_of_sql("e.new_status", "e.opted_out_by", missing="e.new_status = ''")
# The state it was in before. An event keeps who opted out for its new state only: where the run left the status
# as it was (tags only), the number was in the state it was left in; where it changed an opt-out (no import rule
# does today), who had opted it out is read from the number's event before the run's.
_PRIOR_BY = (
    "coalesce((SELECT b.opted_out_by FROM subscribers_optevent b WHERE b.account_id = e.account_id "
    "AND b.phone = e.phone AND b.id < e.id ORDER BY b.id DESC LIMIT 1), '')"
)
_BEFORE = sql.state_of_sql("e.old_status", "''", missing="e.old_status = ''")
_OLD_STATE = (
    f"CASE WHEN e.old_status = e.new_status THEN {_LEFT_STATE} "
    f"WHEN e.old_status = 'opted_out' THEN {sql.state_of_sql('e.old_status', _PRIOR_BY, missing='1 = 0')} "
    f"ELSE {_BEFORE} END"
)


def _build(t: store.Tables, p: dict) -> None:
    store.create_table_as(
        t.undone,
        "SELECT e.id AS event_id, e.phone, e.old_status, e.new_status, e.tags_added, e.tags_removed, "
        f"{_OLD_STATE} AS old_state, {_LEFT_STATE} AS left_state, s.id AS subscriber_id, "
        f"CASE WHEN {sql.state_sql('s')} = {_LEFT_STATE} AND NOT EXISTS (SELECT 1 FROM subscribers_optevent l "
        "WHERE l.account_id = e.account_id AND l.phone = e.phone AND l.id > e.id) THEN 1 ELSE 0 END AS ok "
        "FROM subscribers_optevent e LEFT JOIN subscribers_subscriber s "
        "ON s.account_id = e.account_id AND s.phone = e.phone "
        "WHERE e.account_id = %(account)s AND e.import_run_id = %(undone)s",
        p,
        index=() if store.is_postgres() else ("phone", "subscriber_id"),
    )


def preview(*, account_id: int, undone_id: int) -> dict:
    """What undoing the run would do now: {"revert": n, "remove": n, "changed_since": n}."""
    t = store.Tables(undone_id, prefix="impundo")  # scratch tables of its own, beside the run's
    p = {"account": account_id, "undone": undone_id}
    try:
        _build(t, p)
        revert, remove, changed = store.rows(
            "SELECT coalesce(sum(CASE WHEN ok = 1 AND old_status <> '' THEN 1 ELSE 0 END), 0), "
            "coalesce(sum(CASE WHEN ok = 1 AND old_status = '' THEN 1 ELSE 0 END), 0), "
            f"coalesce(sum(1 - ok), 0) FROM {t.undone}"
        )[0]
    finally:
        store.drop(t, [t.undone])
    return {"revert": int(revert), "remove": int(remove), "changed_since": int(changed)}


_OUTCOME = (
    "CASE WHEN u.ok = 0 THEN 'rejected' "
    "WHEN u.old_status = '' THEN 'removed' "
    "WHEN u.old_status = u.new_status THEN (CASE WHEN u.tags_removed_n > 0 THEN 'tags_added' ELSE 'tags_removed' END) "
    "WHEN u.old_status = 'opted_in' AND u.new_status = 'suspended' THEN 'reactivated' "
    "WHEN u.old_status = 'opted_in' THEN 'opted_in' "
    "WHEN u.old_status = 'suspended' THEN 'suspended' "
    "ELSE 'pending' END"
)


def apply(t: store.Tables, *, account_id: int, undone_id: int, run_id: int, user_id, now) -> dict:
    p = {"account": account_id, "undone": undone_id, "run": run_id, "user": user_id, "now": now}
    _build(t, p)
    staged.revert(
        t.undone,
        account_id=account_id,
        run_id=run_id,
        user_id=user_id,
        now=now,
        note=f"Undo of import #{int(undone_id)}",
    )
    count_removed = "jsonb_array_length(x.tags_removed)" if store.is_postgres() else "json_array_length(x.tags_removed)"
    empty = sql.empty_json()
    store.execute(
        "INSERT INTO imports_importresult (run_id, phone, outcome, is_new, tags, tags_added, tags_removed, reason, "
        "row_number, raw_value, detail) "
        f"SELECT %(run)s, u.phone, {_OUTCOME}, 1 = 0, {empty}, "
        f"CASE WHEN u.ok = 1 THEN u.tags_removed ELSE {empty} END, "
        f"CASE WHEN u.ok = 1 THEN u.tags_added ELSE {empty} END, "
        "CASE WHEN u.ok = 0 THEN 'changed_since' ELSE '' END, NULL, '', '' "
        f"FROM (SELECT x.*, {count_removed} AS tags_removed_n FROM {t.undone} x) u ORDER BY u.phone",
        p,
    )
    counts: dict[str, int] = {}
    for outcome, reason, count in store.rows(
        "SELECT outcome, reason, count(*) FROM imports_importresult WHERE run_id = %s GROUP BY outcome, reason",
        [run_id],
    ):
        counts[outcome] = counts.get(outcome, 0) + count
        if reason:
            counts[f"rejected_{reason}"] = count
    counts["new"] = 0
    return counts
