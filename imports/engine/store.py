"""The staging tables of one run and the few SQL spellings that differ between PostgreSQL and SQLite.

Each run stages its file's rows in tables of its own (`imp_<run>_…`): they outlive the job when a run waits
for a manager's confirmation, cost nothing to drop, and never mix two runs. PostgreSQL loads them with
`COPY` into unlogged tables; SQLite (the laptop default) with plain inserts.
"""

import json
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

from django.db import connection

from subscribers import staged
from subscribers.sql import execute, is_postgres, scalar

STAGED_COLUMNS = ("seq", "row_number", "phone", "reason", "raw", "tags", "detail")


class Tables:
    """The names of one run's tables; the run id is an integer, so the names are safe to format into SQL."""

    SUFFIXES = (
        "file_rows",
        "numbers",
        "merged_tags",
        "decisions",
        "tag_sets",
        "to_compare",
        "file_tags",
        "links",
        "tags_to_add",
        "unwanted_links",
        "names_added",
        "names_removed",
        "undone",
        "changed",
        "new_tag_sets",
        "links_to_remove",
        "languages",
    )

    def __init__(self, run_id: int, prefix: str = "imp"):
        self.run_id = int(run_id)
        assert prefix.isidentifier()
        for suffix in self.SUFFIXES:
            setattr(self, suffix, f"{prefix}_{self.run_id}_{suffix}")

    def all(self) -> list[str]:
        return [getattr(self, suffix) for suffix in self.SUFFIXES]


# Parameters are always passed, even empty, so that "%%" means "%" in every statement on both databases.


def rows(sql: str, params: Sequence | dict = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def create_table_as(
    name: str,
    select: str,
    params: Sequence | dict = (),
    index: Iterable[str] = (),
    analyze: bool | str = True,
) -> None:
    """A derived table; ANALYZEd on PostgreSQL so the planner knows what it holds (CREATE TABLE AS does not).
    `analyze` may name the columns joined or filtered on: statistics of a tags array cost more than the rest.
    Tables only ever hash-joined can skip it: the planner reads their size from the disk."""
    execute(f"DROP TABLE IF EXISTS {name}")
    unlogged = "UNLOGGED " if is_postgres() else ""
    execute(f"CREATE {unlogged}TABLE {name} AS {select}", params)
    add_indexes(name, index)
    if analyze:
        update_statistics(name, analyze if isinstance(analyze, str) else "")


def add_indexes(name: str, columns: Iterable[str]) -> None:
    for number, column in enumerate(columns):
        execute(f"CREATE INDEX {name}_i{number} ON {name} ({column})")


def update_statistics(name: str, columns: str = "") -> None:
    """Statistics for `name` (of `columns`, or all), for the statements planned after it; PostgreSQL only."""
    if is_postgres():
        execute(f"ANALYZE {name}" + (f" ({columns})" if columns else ""))


def drop(tables: Tables, names: Iterable[str] | None = None) -> None:
    for name in names if names is not None else tables.all():
        execute(f"DROP TABLE IF EXISTS {name}")


def staged_exists(tables: Tables) -> bool:
    if is_postgres():
        return scalar("SELECT to_regclass(%s) IS NOT NULL", [tables.file_rows]) is True
    return bool(scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = %s", [tables.file_rows]))


def create_languages(tables: Tables) -> None:
    """The languages an ALP file's language column gives its numbers, kept apart from the staged rows: only
    files with such a column pay for them, and the plan's statements never read them."""
    execute(f"DROP TABLE IF EXISTS {tables.languages}")
    unlogged = "UNLOGGED " if is_postgres() else ""
    execute(f"CREATE {unlogged}TABLE {tables.languages} (seq bigint, phone text, language text)")


def write_languages(tables: Tables, rows: list[tuple]) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {tables.languages} (seq, phone, language) VALUES (%s, %s, %s)", rows)


def apply_languages(tables: Tables, account_id: int) -> int:
    """Set the language of the account's numbers the file gives one (the last row wins). Not a status change:
    no opt event. Returns how many numbers changed language."""
    if is_postgres():
        exists = scalar("SELECT to_regclass(%s) IS NOT NULL", [tables.languages]) is True
    else:
        exists = bool(
            scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = %s", [tables.languages])
        )
    if not exists:
        return 0
    return staged.languages_set(tables.languages, account_id=account_id)


_PG_STAGING = "(seq bigint, row_number integer, phone text, reason text, raw text, tags text[], detail text)"
_SQLITE_STAGING = "(seq integer, row_number integer, phone text, reason text, raw text, tags text, detail text)"


class Loader:
    """Writes staged rows: one `COPY` stream on PostgreSQL, batched inserts on SQLite."""

    def __init__(self, tables: Tables):
        self.tables = tables
        self._copy = None
        self._cursor = None

    def __enter__(self) -> "Loader":
        if is_postgres():
            # A connection of its own: the COPY stays open for the whole file, while the run's progress is
            # written through Django's connection.
            self._raw = connection.get_new_connection(connection.get_connection_params())
            self._raw.autocommit = True
            self._cursor = self._raw.cursor()
            self._cursor.execute(f"DROP TABLE IF EXISTS {self.tables.file_rows}")
            self._cursor.execute(f"CREATE UNLOGGED TABLE {self.tables.file_rows} {_PG_STAGING}")
            self._copy_cm = self._cursor.copy(f"COPY {self.tables.file_rows} ({', '.join(STAGED_COLUMNS)}) FROM STDIN")
            self._copy = self._copy_cm.__enter__()
        else:
            drop(self.tables)
            execute(f"CREATE TABLE {self.tables.file_rows} {_SQLITE_STAGING}")
        return self

    def write(self, batch: list[tuple]) -> None:
        if self._copy is not None:
            # COPY's text format written here in one piece: psycopg's write_row adapts value by value and was
            # most of the staging time.
            self._copy.write("".join([_copy_line(row) for row in batch]))
            return
        placeholders = ", ".join(["%s"] * len(STAGED_COLUMNS))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {self.tables.file_rows} ({', '.join(STAGED_COLUMNS)}) VALUES ({placeholders})",
                [(*row[:5], json.dumps(row[5]), row[6]) for row in batch],
            )

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._copy is not None:
            try:
                self._copy_cm.__exit__(exc_type, exc, tb)
            finally:
                self._cursor.close()
                self._raw.close()
        if is_postgres() and exc_type is None:
            execute(f"ANALYZE {self.tables.file_rows} (seq, phone, reason)")


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    return str(value).translate(_COPY_ESCAPES)


_ARRAYS: dict[tuple, str] = {}


def _copy_array(values: list[str]) -> str:
    """A tags array in COPY's text format. A file repeats a few thousand combinations of tags (district,
    feeder, substation) over its rows, so each is spelled once; the cache is bounded for files that don't."""
    if not values:
        return "{}"
    key = tuple(values)
    spelled = _ARRAYS.get(key)
    if spelled is None:
        quoted = ['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]
        spelled = ("{" + ",".join(quoted) + "}").translate(_COPY_ESCAPES)
        if len(_ARRAYS) > 50_000:
            _ARRAYS.clear()
        _ARRAYS[key] = spelled
    return spelled


def _copy_line(row: tuple) -> str:
    seq, number, phone, reason, raw, tags, detail = row
    if reason is None:  # the common case: a valid number; only its tags can hold odd characters
        return f"{seq}\t{number}\t{phone}\t\\N\t\t{_copy_array(tags)}\t\n"
    return f"{seq}\t{number}\t\\N\t{_copy_text(reason)}\t{_copy_text(raw)}\t{_copy_array(tags)}\t{_copy_text(detail)}\n"


# --- spellings that differ ----------------------------------------------------------------------------------


def empty_tags() -> str:
    return "'{}'::text[]" if is_postgres() else "'[]'"


def tags_agg(name: str, key: str) -> str:
    """Staged tags aggregated into one list in `key` order (on SQLite the rows come sorted)."""
    return f"array_agg({name} ORDER BY {key})" if is_postgres() else f"json_group_array({name})"


def links_of(alias: str, *, few: bool = True) -> str:
    """A join giving the tag links (`st.id`, `st.tag_id`) of the numbers `alias`.subscriber_id. For a few of them,
    looked up by number in the links' index: on PostgreSQL as LATERAL, so that no estimate can turn it into a scan
    of every account's links per number; for many, a plain join, hashed. SQLite joins through the index anyway."""
    if is_postgres() and few:
        return (
            "CROSS JOIN LATERAL (SELECT l.id, l.tag_id FROM subscribers_subscribertag l "
            f"WHERE l.subscriber_id = {alias}.subscriber_id) st"
        )
    return f"JOIN subscribers_subscribertag st ON st.subscriber_id = {alias}.subscriber_id"


def no_tags() -> str:
    """NULL as a tags value (a row that is not in the file)."""
    return "NULL::text[]" if is_postgres() else "NULL"


def tags_count(column: str) -> str:
    return f"cardinality({column})" if is_postgres() else f"json_array_length({column})"


def tags_json(column: str) -> str:
    """A staged row's tags as a JSON list for an ImportResult."""
    return f"to_jsonb({column})" if is_postgres() else column


def json_agg(column: str) -> str:
    return f"jsonb_agg({column} ORDER BY lower({column}))" if is_postgres() else f"json_group_array({column})"


_WATCHED = ("subscribers_subscriber", "subscribers_subscribertag", "subscribers_optevent")


def refresh_statistics(account_id: int) -> None:
    """ANALYZE the list's tables when they changed a lot since the planner last looked.

    After a bulk load (a first import of a million numbers into a new account) PostgreSQL would still plan
    for an empty table, and a nested loop over a million rows runs for hours instead of seconds. The
    statistics counters lag a little, so the account's own size is checked against the planner's too."""
    if not is_postgres():
        return
    stale = {
        name
        for (name,) in rows(
            "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s) "
            "AND n_mod_since_analyze > 1000 + 0.1 * greatest(n_live_tup - n_mod_since_analyze, 0)",
            [list(_WATCHED)],
        )
    }
    planned = scalar("SELECT reltuples FROM pg_class WHERE relname = 'subscribers_subscriber'") or 0
    listed = scalar("SELECT count(*) FROM subscribers_subscriber WHERE account_id = %s", [account_id])
    if listed > 1000 and listed > planned:
        stale.update(_WATCHED)
    for name in sorted(stale):
        execute(f"ANALYZE {name}")


def lock_account(account_id: int) -> None:
    """Two runs of one account never interleave; runs of different accounts do not wait for each other.

    SQLite has one writer at a time anyway (transactions start IMMEDIATE), so only PostgreSQL needs a lock.
    The same transaction gets memory enough to sort and hash a million staged rows and the three million tag links
    of a first import without spilling to disk (stock PostgreSQL allows 4 MB), and no JIT compilation, which costs
    more than it saves on these plans.

    Nor nested loops, but where a statement asks for them (`probing`). The engine joins whole tables — the file
    against the account's list — where a hash join is linear whatever the planner believes, while a nested loop
    chosen because the statistics say a table is empty reads its inner side once per row of the outer: a first
    import writes the list it then joins to, so its statistics say exactly that (20,000 rows took 11 minutes)."""
    if is_postgres():
        execute("SELECT pg_advisory_xact_lock(7301, %s)", [int(account_id)])
        execute("SET LOCAL work_mem = '128MB'")
        execute("SET LOCAL jit = off")
        execute("SET LOCAL enable_nestloop = off")


@contextmanager
def probing():
    """Nested loops allowed for the statements inside: those that look each of the file's numbers up in an index
    of a table shared by every account (the numbers by phone, their opt events), where a hash join would read the whole
    table for a file of ten rows. Their inner side is that index, so they stay linear too."""
    if not is_postgres():
        yield
        return
    # No sequential scan either, but where there is no other way (the staged file, the outer side): a shared
    # table the statistics took for empty (its rows deleted when last sampled) would otherwise be scanned whole
    # as the inner side, once per number.
    execute("SET LOCAL enable_nestloop = on")
    execute("SET LOCAL enable_seqscan = off")
    yield  # not in a finally: after an error the transaction is aborted and is rolled back anyway
    execute("SET LOCAL enable_seqscan = on")
    execute("SET LOCAL enable_nestloop = off")
