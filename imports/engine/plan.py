"""Comparing and applying, set-based: the staged file against the account's subscribers, in SQL.

`build` computes what the run would do to every number (the table `decisions`, and the tag changes `tags_to_add`
and `unwanted_links`) from the same SPEC §3 table the status service uses, turned into SQL CASE expressions.
`apply` hands them to the list's writer (subscribers.staged), which makes the changes; `write_results` records
them. The caller holds the account's lock and one
transaction around all of it, so the decisions are made on the state they are applied to.
"""

from dataclasses import dataclass

from imports.engine import store
from imports.engine.modes import Rules, Tags
from subscribers import sql, staged
from subscribers.sql import literal, state_sql
from subscribers.transitions import BILLABLE, TABLE, Action, Change, State

NOT_FOUND = "refused:not_found"
REJECTED_REASON_CHANGED = "changed_since"
# The states (and statuses: the same words) that make a number billable the first time it is in one.
_BILLABLE = ", ".join(literal(state.value) for state in BILLABLE)


def decision_sql(action: Action | None, only: tuple[State, ...] | None = None) -> tuple[str, str]:
    """(new state, decision) CASE expressions over `old_state` for an action, from the transitions table.

    The decision is the outcome ('opted_in', 'unchanged'…) or 'refused:<code>'. Without an action (a tags-only
    upload), a number keeps its state and one the list does not have is refused as not found."""
    if action is None:
        return (
            "old_state",
            f"CASE WHEN old_state = 'none' OR removed = 1 THEN {literal(NOT_FOUND)} ELSE 'unchanged' END",
        )
    new_cases, decision_cases = [], []
    for state, result in TABLE[action].items():
        if only is not None and state not in only:
            continue
        when = f"WHEN {literal(state.value)}"
        if isinstance(result, Change):
            new_cases.append(f"{when} THEN {literal(result.to.value)}")
            decision_cases.append(f"{when} THEN {literal(result.outcome.value)}")
        else:
            new_cases.append(f"{when} THEN old_state")
            decision_cases.append(f"{when} THEN {literal('refused:' + result.code)}")
    return (
        f"CASE old_state {' '.join(new_cases)} ELSE old_state END",
        f"CASE old_state {' '.join(decision_cases)} ELSE 'unchanged' END",
    )


@dataclass
class Summary:
    counts: dict
    new_numbers: int
    stops: int  # opted-in numbers the run would suspend or opt out
    opted_in_total: int
    valid_numbers: int


def build(tables: store.Tables, *, account_id: int, rules: Rules) -> Summary:
    t = tables
    p = {"account": account_id}
    store.create_table_as(
        t.numbers,
        f"SELECT phone, min(seq) AS first_seq, min(row_number) AS row_number, count(*) AS n, "
        f"CASE WHEN count(*) = 1 THEN min(tags) ELSE {store.empty_tags()} END AS tags "
        f"FROM {t.file_rows} WHERE reason IS NULL GROUP BY phone",
        index=() if store.is_postgres() else ("phone",),
        analyze="phone, first_seq, n",
    )
    _merge_duplicate_tags(t)
    # Every number the run looks at, with the state it is in: the file's numbers, and for the modes that act on
    # numbers missing from the file, the opted-in numbers it lacks.
    in_file = (
        "SELECT f.phone, f.row_number, coalesce(m.tags, f.tags) AS tags, s.id AS subscriber_id, 1 AS in_file, "
        f"{state_sql('s')} AS old_state, CASE WHEN s.removed_at IS NULL THEN 0 ELSE 1 END AS removed "
        f"FROM {t.numbers} f LEFT JOIN {t.merged_tags} m ON m.phone = f.phone "
        "LEFT JOIN subscribers_subscriber s ON s.account_id = %(account)s AND s.phone = f.phone"
    )
    in_new, in_decision = decision_sql(rules.in_file)
    if rules.missing is not None:
        out_new, out_decision = decision_sql(rules.missing, only=(State.OPTED_IN,))
        new_state = f"CASE WHEN in_file = 1 THEN {in_new} ELSE {out_new} END"
        decision = f"CASE WHEN in_file = 1 THEN {in_decision} ELSE {out_decision} END"
    else:
        new_state, decision = in_new, in_decision

    # On PostgreSQL a number new to the list is given its id here, from the list's own sequence: inserted with
    # it, it needs no id written back into a million decisions. Every decision counts as applied until one
    # fails to land (see apply).
    new_id = (
        f"CASE WHEN subscriber_id IS NULL AND new_state <> 'none' THEN nextval('{staged.id_sequence()}') "
        "ELSE subscriber_id END"
        if store.is_postgres()
        else "subscriber_id"
    )

    def decided(numbers: str) -> str:
        return (
            f"SELECT phone, row_number, tags, {new_id} AS subscriber_id, in_file, old_state, removed, new_state, "
            "decision, "
            # Billed as new: a number the run opts in (or makes pending) that the account never had opted in or
            # pending before. An opt-out of a number never seen is recorded, to block it, but is not new.
            f"CASE WHEN old_state = 'none' AND new_state IN ({_BILLABLE}) AND NOT EXISTS (SELECT 1 "
            "FROM subscribers_optevent e WHERE e.account_id = %(account)s AND e.phone = x.phone "
            f"AND e.new_status IN ({_BILLABLE})) THEN 1 ELSE 0 END AS is_new, "
            "1 AS applied "
            f"FROM (SELECT *, {new_state} AS new_state, {decision} AS decision FROM ({numbers}) p) x"
        )

    # In phone order: new numbers then take their ids in the order they are inserted (a volatile function is
    # evaluated after the sort), so the list's key grows at one end, and every later sort by phone or by id
    # finds its input in order already.
    with store.probing():  # each of the file's numbers looked up in the list's index
        store.create_table_as(t.decisions, f"{decided(in_file)} ORDER BY phone", p, analyze=False)
    if rules.missing is not None:
        # The opted-in numbers the file lacks: the account's list against the whole file, hashed.
        missing = (
            f"SELECT s.phone, CAST(NULL AS integer) AS row_number, {store.no_tags()} AS tags, s.id AS subscriber_id, "
            "0 AS in_file, "
            "'opted_in' AS old_state, 0 AS removed FROM subscribers_subscriber s "
            "WHERE s.account_id = %(account)s AND s.status = 'opted_in' "
            f"AND NOT EXISTS (SELECT 1 FROM {t.numbers} f WHERE f.phone = s.phone)"
        )
        store.execute(f"INSERT INTO {t.decisions} {decided(missing)}", p)
    if not store.is_postgres():
        store.add_indexes(t.decisions, ("phone", "subscriber_id"))
    store.update_statistics(t.decisions, "phone, subscriber_id, in_file, old_state, new_state, decision, applied")
    _build_tags(tables, rules, account_id)
    return _summary(tables, account_id)


def _merge_duplicate_tags(t: store.Tables) -> None:
    """A number on several rows gets the tags of all of them (a name's spelling: the first in sort order), in
    `merged_tags`, which the decisions prefer to the number's tags in `numbers`."""
    store.create_table_as(
        t.merged_tags,
        f"SELECT phone, {store.tags_agg('name', 'key')} AS tags FROM (SELECT r.phone, lower(t.value) AS key, "
        f"min(t.value) AS name FROM {t.file_rows} r, {sql.unnest_tags('r')} WHERE r.reason IS NULL "
        f"AND r.phone IN (SELECT phone FROM {t.numbers} WHERE n > 1) GROUP BY r.phone, lower(t.value) ORDER BY 1, 2) x "
        "GROUP BY phone",
        index=() if store.is_postgres() else ("phone",),
        analyze="phone",  # hashed, not the million numbers it is joined to (see names_added)
    )


_ELIGIBLE = "d.in_file = 1 AND d.decision NOT LIKE 'refused:%%'"
# Numbers on the list the run may tag or untag, compared tag by tag below. Numbers new to the list get every file
# tag, with nothing to compare: their links are made from their tags directly (on a first import, every number).
_LISTED = f"{_ELIGIBLE} AND d.old_state <> 'none'"


def _tags_new_numbers(rules: Rules) -> bool:
    """Whether the numbers the run adds to the list get the file's tags."""
    return rules.tags in (Tags.ADD, Tags.EXACT)


def _build_tags(t: store.Tables, rules: Rules, account_id: int) -> None:
    """The tag changes: `tags_to_add` (file tags a number on the list lacks) and `unwanted_links` (links to delete),
    with their names per number (`names_added`, `names_removed`; `names_added` also names the tags of the numbers
    new to the list).

    Most numbers of a re-import keep their tags. On PostgreSQL those are recognised wholesale — the tag ids a
    combination of file tags stands for (`tag_sets`), against the ids each number has — so only the rest, in
    `to_compare`, are compared tag by tag. When the file's numbers are few against every account's links, their
    links are read number by number (LATERAL) from the links' index, whatever the planner thinks of that table's
    size."""
    p = {"account": account_id}
    numbers = f"SELECT d.phone, d.subscriber_id, d.tags FROM {t.decisions} d"
    if rules.tags == Tags.NONE:
        diff = f"{numbers} WHERE 1 = 0"
    elif store.is_postgres():
        # Each combination is numbered and grouped by its number: grouped by the array itself (an aggregate with
        # DISTINCT sorts), a file of ten tags per number, each combination its own, sorted 100,000 arrays of ten
        # strings for 20 s.
        store.create_table_as(
            t.tag_sets,
            f"WITH c AS (SELECT tags, row_number() OVER () AS n FROM (SELECT DISTINCT d.tags FROM {t.decisions} d "
            f"WHERE {_LISTED}) x) "
            "SELECT c.tags, i.ids FROM c JOIN (SELECT c.n, CASE WHEN count(t.value) = count(tg.id) "
            "THEN coalesce(array_agg(DISTINCT tg.id) FILTER (WHERE tg.id IS NOT NULL), '{}') END AS ids "
            "FROM c LEFT JOIN LATERAL unnest(c.tags) AS t(value) ON true "
            "LEFT JOIN subscribers_tag tg ON tg.account_id = %(account)s AND lower(tg.name) = lower(t.value) "
            "GROUP BY c.n) i ON i.n = c.n",
            p,
            analyze=False,
        )
        has = "coalesce(h.ids, '{}')"
        keep = {
            Tags.ADD: f"c.ids <@ {has}",
            Tags.EXACT: f"c.ids = {has}",
            Tags.REMOVE: f"NOT c.ids && {has}",
        }[rules.tags]
        # Array comparison needs the ids in one order: array_agg(DISTINCT) sorts them.
        diff = (
            "WITH h AS (SELECT d.subscriber_id, array_agg(st.tag_id ORDER BY st.tag_id) AS ids "
            f"FROM {t.decisions} d {store.links_of('d', few=_few_of_all_links(t.decisions, _LISTED))} WHERE {_LISTED} GROUP BY 1) "
            f"{numbers} JOIN {t.tag_sets} c ON c.tags = d.tags LEFT JOIN h ON h.subscriber_id = d.subscriber_id "
            f"WHERE {_LISTED} AND (c.ids IS NULL OR NOT ({keep}))"
        )
    else:
        diff = f"{numbers} WHERE {_LISTED}"  # SQLite: every number compared tag by tag
    store.create_table_as(
        t.to_compare,
        diff,
        index=() if store.is_postgres() else ("phone", "subscriber_id"),
        analyze="phone, subscriber_id",
    )
    store.create_table_as(
        t.file_tags,
        f"SELECT phone, key, min(name) AS name FROM (SELECT x.phone, lower(t.value) AS key, t.value AS name "
        f"FROM {t.to_compare} x, {sql.unnest_tags('x')}) y GROUP BY phone, key",
        index=() if store.is_postgres() else ("phone, key",),
        analyze=False,
    )
    store.create_table_as(
        t.links,
        "SELECT x.phone, st.id AS link_id, st.tag_id, tg.name, lower(tg.name) AS key "
        f"FROM {t.to_compare} x {store.links_of('x', few=_few_of_all_links(t.to_compare))} JOIN subscribers_tag tg ON tg.id = st.tag_id "
        "WHERE tg.account_id = %(account)s",
        p,
        index=() if store.is_postgres() else ("phone, key",),
        analyze=False,
    )
    add_where = "" if rules.tags in (Tags.ADD, Tags.EXACT) else " AND 1 = 0"
    store.create_table_as(
        t.tags_to_add,
        f"SELECT ft.phone, ft.key, ft.name FROM {t.file_tags} ft "
        f"WHERE NOT EXISTS (SELECT 1 FROM {t.links} c WHERE c.phone = ft.phone AND c.key = ft.key)" + add_where,
        index=() if store.is_postgres() else ("phone",),
        analyze=False,
    )
    if rules.tags == Tags.EXACT:
        rem_where = f"NOT EXISTS (SELECT 1 FROM {t.file_tags} ft WHERE ft.phone = c.phone AND ft.key = c.key)"
    elif rules.tags == Tags.REMOVE:
        rem_where = f"EXISTS (SELECT 1 FROM {t.file_tags} ft WHERE ft.phone = c.phone AND ft.key = c.key)"
    else:
        rem_where = "1 = 0"
    store.create_table_as(
        t.unwanted_links,
        f"SELECT c.phone, c.link_id, c.tag_id, c.name FROM {t.links} c WHERE {rem_where}",
        index=() if store.is_postgres() else ("phone",),
        analyze=False,
    )
    fresh = (
        f" UNION ALL SELECT d.phone, {store.tags_json('d.tags')} FROM {t.decisions} d "
        f"WHERE {staged.added() if _tags_new_numbers(rules) else '1 = 0'} AND {store.tags_count('d.tags')} > 0"
    )
    for table, source, more in ((t.names_added, t.tags_to_add, fresh), (t.names_removed, t.unwanted_links, "")):
        ordered = f"(SELECT phone, name FROM {source} ORDER BY phone, lower(name))"
        store.create_table_as(
            table,
            f"SELECT phone, {store.json_agg('name')} AS names FROM {ordered} s GROUP BY phone{more}",
            index=() if store.is_postgres() else ("phone",),
            # Joined to every decision: without statistics the planner takes their phones for a few hundred
            # values and hashes the million decisions instead of these fewer rows.
            analyze="phone",
        )


def _few_of_all_links(table: str, where: str = "1 = 1") -> bool:
    """Whether the numbers of `table` are few against the tag links of every account: then their links are looked
    up number by number, else the whole table is hashed. Either stays linear, so an estimate will do."""
    if not store.is_postgres():
        return True
    listed = store.scalar(f"SELECT count(*) FROM {table} d WHERE {where}") or 0
    links = store.scalar("SELECT reltuples FROM pg_class WHERE relname = 'subscribers_subscribertag'") or 0
    return listed * 20 < links


def _outcome(*, applied: bool) -> str:
    """A number's outcome: what the run did to it, or, before it is applied (`applied` False), would do."""
    not_landed = "WHEN d.applied = 0 THEN 'unchanged' " if applied else ""
    return (
        "CASE WHEN d.decision LIKE 'refused:%%' THEN 'rejected' "
        f"{not_landed}"
        "WHEN d.decision NOT IN ('unchanged', 'pending', 'expired') THEN d.decision "
        "WHEN a.phone IS NOT NULL THEN 'tags_added' "
        "WHEN r.phone IS NOT NULL THEN 'tags_removed' "
        "ELSE 'unchanged' END"
    )


def _joined(t: store.Tables) -> str:
    return f"FROM {t.decisions} d LEFT JOIN {t.names_added} a ON a.phone = d.phone LEFT JOIN {t.names_removed} r ON r.phone = d.phone"


def _summary(t: store.Tables, account_id: int, *, final: bool = False) -> Summary:
    counts: dict[str, int] = {}
    new_numbers = 0
    outcome = _outcome(applied=final)
    for name, reason, count, new in store.rows(
        f"SELECT {outcome} AS outcome, CASE WHEN d.decision LIKE 'refused:%%' THEN substr(d.decision, 9) ELSE '' END, "
        f"count(*), sum(d.is_new) {_joined(t)} GROUP BY 1, 2"
    ):
        counts[name] = counts.get(name, 0) + count
        if reason:
            counts[f"rejected_{reason}"] = counts.get(f"rejected_{reason}", 0) + count
        if name == "opted_in":
            new_numbers += int(new or 0) if not final else 0
    if final:
        new_numbers = int(store.scalar(f"SELECT coalesce(sum(is_new), 0) FROM {t.decisions} WHERE applied = 1") or 0)
    for reason, count in store.rows(
        f"SELECT reason, count(*) FROM {t.file_rows} WHERE reason IS NOT NULL GROUP BY reason"
    ):
        counts["rejected"] = counts.get("rejected", 0) + count
        counts[f"rejected_{reason}"] = counts.get(f"rejected_{reason}", 0) + count
    valid_rows = int(store.scalar(f"SELECT count(*) FROM {t.file_rows} WHERE reason IS NULL") or 0)
    valid_numbers = int(store.scalar(f"SELECT count(*) FROM {t.numbers}") or 0)
    if valid_rows > valid_numbers:
        counts["duplicate"] = valid_rows - valid_numbers
    counts["new"] = new_numbers
    stops = int(
        store.scalar(
            f"SELECT count(*) FROM {t.decisions} WHERE old_state = 'opted_in' "
            "AND new_state IN ('suspended', 'opted_out_customer', 'opted_out_subscriber')"
        )
        or 0
    )
    opted_in_total = int(
        store.scalar(
            "SELECT count(*) FROM subscribers_subscriber WHERE account_id = %s AND status = 'opted_in'", [account_id]
        )
        or 0
    )
    return Summary(counts, new_numbers, stops, opted_in_total, valid_numbers)


def _staged(t: store.Tables) -> staged.Staged:
    return staged.Staged(
        decisions=t.decisions,
        tags_to_add=t.tags_to_add,
        links_to_remove=t.links_to_remove,
        names_added=t.names_added,
        names_removed=t.names_removed,
        changed=t.changed,
        new_tag_sets=t.new_tag_sets,
    )


def apply(
    tables: store.Tables, decided: Summary, *, rules: Rules, account_id: int, run_id: int, user_id: int | None, now
) -> Summary:
    """Have the list's writer (subscribers.staged) make the changes `build` decided and write their opt events;
    returns the final counts."""
    t = tables
    written = _staged(t)
    tag_new_numbers = _tags_new_numbers(rules)
    staged.tags_create(written, account_id=account_id, now=now, tag_new_numbers=tag_new_numbers)
    added = staged.numbers_add(written, account_id=account_id, now=now)
    staged.numbers_change(written, now=now)
    if store.is_postgres():
        _unmark_what_did_not_land(t, added=added)
    # The links to delete, of the decisions that landed, hashed out of the staged tables.
    store.create_table_as(
        t.links_to_remove,
        f"SELECT r.link_id FROM {t.unwanted_links} r JOIN {t.decisions} d ON d.phone = r.phone WHERE d.applied = 1",
    )
    staged.links_remove(written)
    staged.links_add(written, account_id=account_id, tag_new_numbers=tag_new_numbers)
    staged.events_record(written, account_id=account_id, run_id=run_id, user_id=user_id, now=now)
    if not store.scalar(f"SELECT count(*) FROM {t.decisions} WHERE applied = 0"):
        # Every decision landed (nothing changed meanwhile): the counts are the decided ones.
        new_numbers = int(store.scalar(f"SELECT coalesce(sum(is_new), 0) FROM {t.decisions}") or 0)
        counts = {**decided.counts, "new": new_numbers}
        return Summary(counts, new_numbers, decided.stops, decided.opted_in_total, decided.valid_numbers)
    return _summary(tables, account_id, final=True)


def _unmark_what_did_not_land(t: store.Tables, *, added: int) -> None:
    """A change that landed meanwhile (a STOP texted during the import) won over the decision: the numbers whose
    insert or update did not happen are marked not applied. Counted first, as it is almost never so."""
    if added < store.scalar(f"SELECT count(*) FROM {t.decisions} d WHERE {staged.added()}"):
        with store.probing():  # the few numbers looked up by id, not the whole list hashed
            store.execute(
                f"UPDATE {t.decisions} d SET applied = 0 WHERE {staged.added()} AND NOT EXISTS "
                "(SELECT 1 FROM subscribers_subscriber s WHERE s.id = d.subscriber_id)"
            )
    if store.scalar(f"SELECT count(*) FROM {t.changed}") < store.scalar(
        f"SELECT count(*) FROM {t.decisions} d WHERE {staged.changed()}"
    ):
        store.execute(
            f"UPDATE {t.decisions} d SET applied = 0 WHERE {staged.changed()} AND NOT EXISTS "
            f"(SELECT 1 FROM {t.changed} l WHERE l.id = d.subscriber_id)"
        )


def write_results(tables: store.Tables, *, run_id: int, applied: bool) -> None:
    """One ImportResult per number, duplicate and rejected row, in the file's order."""
    t = tables
    empty = sql.empty_json()
    outcome = _outcome(applied=applied)
    kept = "d.applied = 1" if applied else "1 = 1"
    changed_since = (
        "CASE WHEN d.applied = 0 THEN 'Changed by someone else while the import ran: left as it was.' ELSE '' END"
        if applied
        else "''"
    )
    numbers = (
        f"SELECT d.phone, {outcome} AS outcome, CASE WHEN {kept} THEN d.is_new ELSE 0 END AS is_new, "
        f"coalesce({store.tags_json('d.tags')}, {empty}) AS tags, "
        f"CASE WHEN {kept} THEN coalesce(a.names, {empty}) ELSE {empty} END AS tags_added, "
        f"CASE WHEN {kept} THEN coalesce(r.names, {empty}) ELSE {empty} END AS tags_removed, "
        "CASE WHEN d.decision LIKE 'refused:%%' THEN substr(d.decision, 9) ELSE '' END AS reason, "
        f"d.row_number, '' AS raw, {changed_since} AS detail, 0 AS seq {_joined(t)}"
    )
    duplicates = (
        f"SELECT x.phone, 'duplicate', 0, {store.tags_json('x.tags')}, {empty}, {empty}, '', x.row_number, x.raw, "
        f"'', x.seq FROM {t.file_rows} x JOIN {t.numbers} f ON f.phone = x.phone AND f.n > 1 "
        "WHERE x.reason IS NULL AND x.seq <> f.first_seq"
    )
    rejected = (
        f"SELECT '', 'rejected', 0, {empty}, {empty}, {empty}, x.reason, x.row_number, x.raw, "
        f"coalesce(x.detail, ''), x.seq FROM {t.file_rows} x WHERE x.reason IS NOT NULL"
    )
    store.execute(
        "INSERT INTO imports_importresult (run_id, phone, outcome, is_new, tags, tags_added, tags_removed, reason, "
        "row_number, raw_value, detail) "
        f"SELECT {run_id}, phone, outcome, is_new = 1, tags, tags_added, tags_removed, reason, row_number, raw, detail "
        f"FROM ({numbers} UNION ALL {duplicates} UNION ALL {rejected}) u "
        "ORDER BY row_number NULLS LAST, seq"
    )


def tag_counts(tables: store.Tables, *, applied: bool) -> tuple[int, int]:
    """How many numbers gained tags and how many lost some, as `write_results` writes them (only the numbers whose
    change landed, once applied): counted in the staged tables rather than in a million results."""
    t = tables
    kept = "d.applied = 1" if applied else "1 = 1"
    gained, lost = store.rows(
        "SELECT count(a.phone), count(r.phone) "
        f"FROM {t.decisions} d LEFT JOIN {t.names_added} a ON a.phone = d.phone LEFT JOIN {t.names_removed} r ON r.phone = d.phone "
        f"WHERE {kept}"
    )[0]
    return int(gained), int(lost)


def drop_derived(tables: store.Tables) -> None:
    """Everything but the staged rows (and their languages), which a run waiting for confirmation still needs."""
    store.drop(tables, [name for name in tables.all() if name not in (tables.file_rows, tables.languages)])
