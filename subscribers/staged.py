"""The list written from staged decisions, set-based: numbers, their tag links and their opt events.

With the status service (subscribers.services, one number at a time) the only writer of the list's state. The
import engine decides what happens to every number of a file in tables of its own and hands them here as a
`Staged`; how a State is stored (status, who opted out) is spelled from subscribers.transitions (subscribers.sql),
never by hand. The caller holds the account's lock and one transaction around all of it.

The staged tables' shape:
- decisions: `phone`, `subscriber_id` (on PostgreSQL given to a number new to the list too, from `id_sequence()`),
  `old_state` and `new_state` (State values), `applied` (1, until a change fails to land), `tags` (the file's)
- tags_to_add: `phone`, `key` (the tag's lower-cased name), `name`: a tag a listed number gains
- links_to_remove: `link_id`
- names_added, names_removed: `phone`, `names` (a JSON list): the tag names a number gains and loses, for its event
- changed: filled here, on PostgreSQL: the ids of the listed numbers whose change landed
- new_tag_sets: filled here, on PostgreSQL: each combination of tags the added numbers have, with the tags' ids
"""

from dataclasses import dataclass

from subscribers.models import Status
from subscribers.sql import (
    empty_json,
    execute,
    is_postgres,
    json_elements,
    literal,
    opted_out_by_of_sql,
    scalar,
    state_sql,
    status_of_sql,
    unnest_tags,
)
from subscribers.transitions import State


def added(d: str = "d") -> str:
    """The decisions (of alias or table `d`) that add a number to the list."""
    return f"{d}.old_state = 'none' AND {d}.new_state <> 'none'"


def changed(d: str = "d") -> str:
    """The decisions (of alias or table `d`) that change the state of a listed number."""
    return f"{d}.old_state <> 'none' AND {d}.new_state <> {d}.old_state"


# The states an opt-out is kept in: a number deleted while opted out stays a block (removed, not gone).
_OPTED_OUT = ", ".join(literal(state.value) for state in State if state.status == Status.OPTED_OUT)


@dataclass(frozen=True)
class Staged:
    """The names of the staged tables (the engine's own, safe to format into SQL)."""

    decisions: str
    tags_to_add: str
    links_to_remove: str
    names_added: str
    names_removed: str
    changed: str
    new_tag_sets: str


def id_sequence() -> str:
    """The sequence the list's numbers take their ids from (PostgreSQL)."""
    return scalar("SELECT pg_get_serial_sequence('subscribers_subscriber', 'id')")


def tags_create(staged: Staged, *, account_id: int, now, tag_new_numbers: bool) -> None:
    """The account's tags that the decisions name and it lacks. `tag_new_numbers`: the numbers the decisions
    add to the list get the file's tags (they are not in `tags_to_add`, which compares listed numbers)."""
    new_numbers = added() if tag_new_numbers else "1 = 0"
    names = (
        f"SELECT lower(t.value) AS key, t.value AS name FROM (SELECT DISTINCT d.tags FROM {staged.decisions} d "
        f"WHERE {new_numbers}) x, {unnest_tags('x')}"
    )
    execute(
        "INSERT INTO subscribers_tag (account_id, name, created_at) "
        f"SELECT %(account)s, min(name), %(now)s FROM (SELECT key, name FROM {staged.tags_to_add} UNION ALL {names}) n "
        "WHERE 1 = 1 GROUP BY key ON CONFLICT DO NOTHING",
        {"account": account_id, "now": now},
    )


def numbers_add(staged: Staged, *, account_id: int, now) -> int:
    """Insert the numbers new to the list; returns how many were. One already there (a STOP texted while the
    import ran created it) is left as it is: the decision on it was made on a state it is no longer in."""
    p = {"account": account_id, "now": now}
    d = staged.decisions
    columns = "account_id, phone, status, opted_out_by, first_seen, status_changed"
    values = (
        f"%(account)s, d.phone, {status_of_sql('d.new_state')}, {opted_out_by_of_sql('d.new_state')}, %(now)s, %(now)s"
    )
    rows = f"FROM {d} d WHERE {added()} ORDER BY d.phone ON CONFLICT DO NOTHING"
    if is_postgres():
        return scalar(
            f"WITH ins AS (INSERT INTO subscribers_subscriber (id, {columns}) SELECT d.subscriber_id, {values} "
            f"{rows} RETURNING 1) SELECT count(*) FROM ins",
            p,
        )
    # One writer at a time on SQLite: nothing can change between the decisions and the writes. The decisions are
    # given the ids their numbers got.
    count = execute(f"INSERT INTO subscribers_subscriber ({columns}) SELECT {values} {rows}", p)
    execute(
        f"UPDATE {d} SET subscriber_id = (SELECT s.id FROM subscribers_subscriber s "
        f"WHERE s.account_id = %(account)s AND s.phone = {d}.phone) WHERE {added(d)}",
        p,
    )
    return count


def numbers_change(staged: Staged, *, now) -> None:
    """Change the state of the listed numbers the decisions change, where each is still in the state it was
    decided on: a change that landed meanwhile (a STOP texted during the import) wins. On PostgreSQL the ids
    of those that changed are written to `changed`."""
    d = staged.decisions
    update = (
        f"UPDATE subscribers_subscriber SET status = {status_of_sql('d.new_state')}, "
        f"opted_out_by = {opted_out_by_of_sql('d.new_state')}, status_changed = %(now)s, "
        f"removed_at = CASE WHEN d.new_state IN ({_OPTED_OUT}) THEN subscribers_subscriber.removed_at END "
        f"FROM {d} d WHERE subscribers_subscriber.id = d.subscriber_id AND {changed()} "
        f"AND {state_sql('subscribers_subscriber')} = d.old_state"
    )
    if not is_postgres():
        execute(update, {"now": now})
        return
    # The numbers to change are fetched by id through the list's primary key, their ids given as one array: the
    # decisions are then hashed against those rows alone. Joined as tables, a list the statistics took for empty
    # (its numbers deleted when they were last sampled) was read as the outer side of a nested loop that scanned
    # every decision per number: 1,000 numbers and a 100,000-row file ran for over 12 minutes.
    execute(f"DROP TABLE IF EXISTS {staged.changed}")
    execute(f"CREATE UNLOGGED TABLE {staged.changed} (id bigint)")
    execute(
        f"WITH upd AS ({update} AND subscribers_subscriber.id = ANY(ARRAY(SELECT d.subscriber_id FROM {d} d "
        f"WHERE {changed()})) RETURNING subscribers_subscriber.id) INSERT INTO {staged.changed} SELECT id FROM upd",
        {"now": now},
    )


def links_remove(staged: Staged) -> None:
    """Delete the links named by id, through the links' key."""
    delete = "DELETE FROM subscribers_subscribertag WHERE id "
    if is_postgres():
        execute(f"{delete}= ANY(ARRAY(SELECT link_id FROM {staged.links_to_remove}))")
    else:
        execute(f"{delete}IN (SELECT link_id FROM {staged.links_to_remove})")


def links_add(staged: Staged, *, account_id: int, tag_new_numbers: bool) -> None:
    """Link the listed numbers to the tags they gain and, with `tag_new_numbers`, the added numbers to theirs;
    only where the decision landed."""
    p = {"account": account_id}
    d = staged.decisions
    # In the order of the links' unique index, which they then grow at one end instead of all over.
    execute(
        "INSERT INTO subscribers_subscribertag (subscriber_id, tag_id) "
        f"SELECT d.subscriber_id, tg.id FROM {staged.tags_to_add} a JOIN {d} d ON d.phone = a.phone "
        "JOIN subscribers_tag tg ON tg.account_id = %(account)s AND lower(tg.name) = a.key "
        "WHERE d.applied = 1 AND d.subscriber_id IS NOT NULL ORDER BY 1, 2 ON CONFLICT DO NOTHING",
        p,
    )
    if not tag_new_numbers:
        return
    # The numbers this transaction added: nobody else sees them yet, so no link of theirs can exist and the
    # conflict check (an index probe per link, a million links and more on a first import) is left out.
    fresh = f"{added()} AND d.applied = 1 AND d.subscriber_id IS NOT NULL"
    if not is_postgres():
        execute(
            "INSERT INTO subscribers_subscribertag (subscriber_id, tag_id) "
            f"SELECT DISTINCT d.subscriber_id, tg.id FROM {d} d, {unnest_tags('d')}, subscribers_tag tg "
            f"WHERE {fresh} AND tg.account_id = %(account)s AND lower(tg.name) = lower(t.value) ORDER BY 1, 2",
            p,
        )
        return
    # A file repeats a few thousand combinations of tags over its rows: each is resolved to its tags' ids once,
    # and every number's links are its combination's ids. Tag by tag, a first import's three million links were
    # each matched by name and then sorted to drop duplicates. The numbers come in the order of their ids, and
    # each combination's ids are sorted, so the links still grow the links' unique index at one end.
    sets = staged.new_tag_sets
    execute(f"DROP TABLE IF EXISTS {sets}")
    execute(
        f"CREATE UNLOGGED TABLE {sets} AS WITH c AS (SELECT tags, row_number() OVER () AS n FROM "
        f"(SELECT DISTINCT d.tags FROM {d} d WHERE {fresh}) x) "
        "SELECT c.tags, i.ids FROM c JOIN (SELECT c.n, array_agg(DISTINCT tg.id) AS ids FROM c "
        "CROSS JOIN LATERAL unnest(c.tags) AS t(value) JOIN subscribers_tag tg ON tg.account_id = %(account)s "
        "AND lower(tg.name) = lower(t.value) GROUP BY c.n) i ON i.n = c.n",
        p,
    )
    execute(f"ANALYZE {sets}")  # hashed, not the million numbers it is joined to
    execute(
        "INSERT INTO subscribers_subscribertag (subscriber_id, tag_id) "
        f"SELECT d.subscriber_id, unnest(c.ids) FROM {d} d JOIN {sets} c ON c.tags = d.tags WHERE {fresh}"
    )


def events_record(staged: Staged, *, account_id: int, run_id: int, user_id: int | None, now) -> None:
    """One opt event per number whose state or tags the decisions changed, where the change landed."""
    empty = empty_json()
    d = staged.decisions
    execute(
        "INSERT INTO subscribers_optevent (account_id, phone, old_status, new_status, opted_out_by, tags_added, "
        "tags_removed, source, user_id, import_run_id, message_sid, note, created_at) "
        f"SELECT %(account)s, d.phone, {status_of_sql('d.old_state')}, {status_of_sql('d.new_state')}, "
        f"{opted_out_by_of_sql('d.new_state')}, coalesce(a.names, {empty}), coalesce(r.names, {empty}), 'import', "
        "%(user)s, %(run)s, '', '', %(now)s "
        f"FROM {d} d LEFT JOIN {staged.names_added} a ON a.phone = d.phone "
        f"LEFT JOIN {staged.names_removed} r ON r.phone = d.phone "
        "WHERE d.applied = 1 AND (d.new_state <> d.old_state OR a.phone IS NOT NULL OR r.phone IS NOT NULL) "
        "ORDER BY d.phone",
        {"account": account_id, "run": run_id, "user": user_id, "now": now},
    )


def languages_set(languages: str, *, account_id: int) -> int:
    """Set the language of the account's numbers the table `languages` (seq, phone, language) gives one, the
    last row winning. Not a status change: no opt event. Returns how many numbers changed language."""
    latest = f"SELECT phone, language FROM {languages} WHERE seq IN (SELECT max(seq) FROM {languages} GROUP BY phone)"
    return execute(
        f"UPDATE subscribers_subscriber SET language = l.language FROM ({latest}) AS l"
        " WHERE subscribers_subscriber.account_id = %s AND subscribers_subscriber.phone = l.phone"
        " AND subscribers_subscriber.language <> l.language",
        [account_id],
    )


def revert(undone: str, *, account_id: int, run_id: int, user_id: int | None, now, note: str) -> None:
    """An import undone: each number where `ok` = 1 goes back to the state it was in before the run, tags included.

    `undone` holds one row per opt event of the run: `phone`, `subscriber_id`, `old_state` (before the run, who
    opted out included), `left_state` (what the run left), `tags_added` and `tags_removed` (its JSON lists) and `ok`
    (the number is exactly as the run left it). Only so may an undo put back a state the rules would not let an
    import set (an opt-out made by the import itself is undone); a number changed since is left alone, so an
    undo never reopens an opt-out made after the import. The revert is recorded like any other change."""
    p = {"account": account_id, "run": run_id, "user": user_id, "now": now, "note": note}
    # Tags the run added come off; tags it removed go back on (re-created if deleted since).
    execute(
        "DELETE FROM subscribers_subscribertag WHERE id IN (SELECT st.id FROM "
        f"{undone} u, {json_elements('u.tags_added', 'x')}, subscribers_tag tg, subscribers_subscribertag st "
        "WHERE u.ok = 1 AND tg.account_id = %(account)s AND lower(tg.name) = lower(x.value) "
        "AND st.tag_id = tg.id AND st.subscriber_id = u.subscriber_id)",
        p,
    )
    restored = "u.ok = 1 AND u.old_state <> 'none'"
    execute(
        "INSERT INTO subscribers_tag (account_id, name, created_at) "
        f"SELECT %(account)s, min(x.value), %(now)s FROM {undone} u, {json_elements('u.tags_removed', 'x')} "
        f"WHERE {restored} GROUP BY lower(x.value) ON CONFLICT DO NOTHING",
        p,
    )
    execute(
        "INSERT INTO subscribers_subscribertag (subscriber_id, tag_id) "
        f"SELECT u.subscriber_id, tg.id FROM {undone} u, {json_elements('u.tags_removed', 'x')}, subscribers_tag tg "
        f"WHERE {restored} AND tg.account_id = %(account)s AND lower(tg.name) = lower(x.value) "
        "ON CONFLICT DO NOTHING",
        p,
    )
    # Numbers the run added to the list come off it again.
    added = f"SELECT subscriber_id FROM {undone} u WHERE u.ok = 1 AND u.old_state = 'none'"
    execute(f"DELETE FROM subscribers_subscribertag WHERE subscriber_id IN ({added})")
    execute(f"DELETE FROM subscribers_subscriber WHERE id IN ({added})")
    execute(
        f"UPDATE subscribers_subscriber SET status = {status_of_sql('u.old_state')}, "
        f"opted_out_by = {opted_out_by_of_sql('u.old_state')}, status_changed = %(now)s, removed_at = NULL "
        f"FROM {undone} u WHERE subscribers_subscriber.id = u.subscriber_id AND {restored} "
        "AND u.old_state <> u.left_state",
        p,
    )
    execute(
        "INSERT INTO subscribers_optevent (account_id, phone, old_status, new_status, opted_out_by, tags_added, "
        "tags_removed, source, user_id, import_run_id, message_sid, note, created_at) "
        f"SELECT %(account)s, u.phone, {status_of_sql('u.left_state')}, {status_of_sql('u.old_state')}, "
        f"{opted_out_by_of_sql('u.old_state')}, u.tags_removed, u.tags_added, 'import', %(user)s, %(run)s, '', "
        f"%(note)s, %(now)s FROM {undone} u WHERE u.ok = 1",
        p,
    )
