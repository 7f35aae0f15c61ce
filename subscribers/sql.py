"""The few SQL spellings that differ between PostgreSQL (production) and SQLite (the laptop default), and the
status rules' states spelled in SQL, for the set-based writers of the list and the import engine's plans."""

from django.db import connection

from subscribers.transitions import State


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def literal(text: str) -> str:
    """A constant of ours (a state, a status, a refusal code) as an SQL string: never a user's value."""
    assert "'" not in text
    return f"'{text}'"


# --- states ---------------------------------------------------------------------------------------------------


def state_of_sql(status: str, opted_out_by: str, *, missing: str) -> str:
    """State.of() in SQL: a status and who opted out, as the State value; 'none' where `missing` holds.

    Spelled from State itself: a state whose status another state shares is recognised by who opted out, unless
    it is the one State.of falls back to for that status (an opt-out that does not say it was the owner's)."""
    specific, fallback = [], []
    for state in State:
        if state is State.NONE:
            continue
        if State.of(state.status) is state:
            fallback.append(f"WHEN {status} = {literal(state.status)} THEN {literal(state.value)}")
        else:
            specific.append(
                f"WHEN {status} = {literal(state.status)} AND {opted_out_by} = {literal(state.opted_out_by)} "
                f"THEN {literal(state.value)}"
            )
    return f"CASE WHEN {missing} THEN 'none' {' '.join(specific + fallback)} ELSE {status} END"


def state_sql(alias: str) -> str:
    """A subscriber row's State (as its value), or 'none' when the LEFT JOIN found no row."""
    return state_of_sql(f"{alias}.status", f"{alias}.opted_out_by", missing=f"{alias}.id IS NULL")


def status_of_sql(state: str) -> str:
    """The stored status of a State value (the column or expression `state`)."""
    return f"CASE {state} {' '.join(f'WHEN {literal(s.value)} THEN {literal(s.status)}' for s in State)} END"


def opted_out_by_of_sql(state: str) -> str:
    """Who opted out, for a State value: '' but for the opt-outs."""
    return f"CASE {state} {' '.join(f'WHEN {literal(s.value)} THEN {literal(s.opted_out_by)}' for s in State)} END"


# --- spellings that differ ----------------------------------------------------------------------------------


def unnest_tags(alias: str) -> str:
    """A FROM item giving one row per tag of `alias`.tags, as column `t.value`."""
    if is_postgres():
        return f"unnest({alias}.tags) AS t(value)"
    return f"json_each({alias}.tags) AS t"


def empty_json() -> str:
    return "'[]'::jsonb" if is_postgres() else "'[]'"


def json_elements(column: str, alias: str) -> str:
    """A FROM item giving one row per element of the JSON list `column`, as `alias`.value."""
    if is_postgres():
        return f"jsonb_array_elements_text({column}) AS {alias}(value)"
    return f"json_each({column}) AS {alias}"


def execute(sql: str, params=()) -> int:
    # Parameters are always passed, even empty, so that "%%" means "%" in every statement on both databases.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def scalar(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        return row[0] if row else None
