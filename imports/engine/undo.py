"""Undo of a finished import (SPEC §4.5), set-based: every change the run made is reverted from its opt events,
except on numbers that changed again since (listed, not touched) — so an undo never opts in a number that
opted out after the import, and never overrides anyone's later change.

Reverting is the one path that may put back a status the SPEC §3 table would not let an import set (an
opt-out made by the import itself is undone): it is allowed only because the number is exactly as the run
left it, and the revert is recorded like any other change.
"""

from imports.engine import store
from imports.engine.plan import state_of_sql, state_sql

# The state the undone run left the number in, read from its opt event.
_LEFT_STATE = state_of_sql("e.new_status", "e.opted_out_by", missing="e.new_status = ''")


def _build(t: store.Tables, p: dict) -> None:
    store.create_table_as(
        t.undo,
        "SELECT e.id AS event_id, e.phone, e.old_status, e.new_status, e.tags_added, e.tags_removed, "
        "s.id AS subscriber_id, "
        f"CASE WHEN {state_sql('s')} = {_LEFT_STATE} AND NOT EXISTS (SELECT 1 FROM subscribers_optevent l "
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
            f"coalesce(sum(1 - ok), 0) FROM {t.undo}"
        )[0]
    finally:
        store.drop(t, [t.undo])
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
    elements = store.json_elements
    # Tags the run added come off; tags it removed go back on (re-created if deleted since).
    store.execute(
        "DELETE FROM subscribers_subscribertag WHERE id IN (SELECT st.id FROM "
        f"{t.undo} u, {elements('u.tags_added', 'x')}, subscribers_tag tg, subscribers_subscribertag st "
        "WHERE u.ok = 1 AND tg.account_id = %(account)s AND lower(tg.name) = lower(x.value) "
        "AND st.tag_id = tg.id AND st.subscriber_id = u.subscriber_id)",
        p,
    )
    store.execute(
        "INSERT INTO subscribers_tag (account_id, name, created_at) "
        f"SELECT %(account)s, min(x.value), %(now)s FROM {t.undo} u, {elements('u.tags_removed', 'x')} "
        "WHERE u.ok = 1 AND u.old_status <> '' GROUP BY lower(x.value) ON CONFLICT DO NOTHING",
        p,
    )
    store.execute(
        "INSERT INTO subscribers_subscribertag (subscriber_id, tag_id) "
        f"SELECT u.subscriber_id, tg.id FROM {t.undo} u, {elements('u.tags_removed', 'x')}, subscribers_tag tg "
        "WHERE u.ok = 1 AND u.old_status <> '' AND tg.account_id = %(account)s AND lower(tg.name) = lower(x.value) "
        "ON CONFLICT DO NOTHING",
        p,
    )
    # Numbers the run added to the list come off it again.
    store.execute(
        "DELETE FROM subscribers_subscribertag WHERE subscriber_id IN "
        f"(SELECT subscriber_id FROM {t.undo} WHERE ok = 1 AND old_status = '')"
    )
    store.execute(
        f"DELETE FROM subscribers_subscriber WHERE id IN (SELECT subscriber_id FROM {t.undo} "
        "WHERE ok = 1 AND old_status = '')"
    )
    store.execute(
        "UPDATE subscribers_subscriber SET status = u.old_status, opted_out_by = '', status_changed = %(now)s, "
        f"removed_at = NULL FROM {t.undo} u WHERE subscribers_subscriber.id = u.subscriber_id AND u.ok = 1 "
        "AND u.old_status <> '' AND u.old_status <> u.new_status",
        p,
    )
    note = f"Undo of import #{int(undone_id)}"
    store.execute(
        "INSERT INTO subscribers_optevent (account_id, phone, old_status, new_status, opted_out_by, tags_added, "
        "tags_removed, source, user_id, import_run_id, message_sid, note, created_at) "
        "SELECT %(account)s, u.phone, u.new_status, u.old_status, '', u.tags_removed, u.tags_added, 'import', "
        f"%(user)s, %(run)s, '', '{note}', %(now)s FROM {t.undo} u WHERE u.ok = 1",
        p,
    )
    count_removed = "jsonb_array_length(x.tags_removed)" if store.is_postgres() else "json_array_length(x.tags_removed)"
    empty = store.empty_json()
    store.execute(
        "INSERT INTO imports_importresult (run_id, phone, outcome, is_new, tags, tags_added, tags_removed, reason, "
        "row_number, raw_value, detail) "
        f"SELECT %(run)s, u.phone, {_OUTCOME}, 1 = 0, {empty}, "
        f"CASE WHEN u.ok = 1 THEN u.tags_removed ELSE {empty} END, "
        f"CASE WHEN u.ok = 1 THEN u.tags_added ELSE {empty} END, "
        "CASE WHEN u.ok = 0 THEN 'changed_since' ELSE '' END, NULL, '', '' "
        f"FROM (SELECT x.*, {count_removed} AS tags_removed_n FROM {t.undo} x) u ORDER BY u.phone",
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
