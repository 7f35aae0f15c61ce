"""The engine's SQL plans stay linear whatever the planner believes about the account's tables.

A first import creates the account's numbers, tags and links in the same transaction that then joins them, so
the statistics PostgreSQL plans with say those tables (and the engine's own tables, once rewritten) are empty.
A nested loop chosen on such an estimate, with a sequential scan on its inner side, reads the whole inner table
once per outer row: a 20,000-row first import took 11 minutes that way. Here every statement the engine runs is
planned (EXPLAIN, in the import's own transaction, on its own data) before it runs, in the cases that mislead
the planner most: a first import into an empty account, a second one in the same transaction (the planner
still thinks the account is empty), a list the statistics take for empty while it holds numbers, a file of many
tags per number, and the undo. No timing is measured.
"""

import json
import re

import pytest
from django.db import connection

from imports import services
from imports.fieldmap import FieldMap
from imports.models import ImportRun, Mode, Stage
from subscribers.models import Subscriber

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="plans are PostgreSQL's"),
]

_EXPLAINED = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE UNLOGGED TABLE \w+ AS)\b", re.I)
_ENGINE = re.compile(r"\b(imp|impundo)_\d+_\w+")


def _inner_scans(plan: dict) -> list[str]:
    """The sequential scans inside a subtree that runs once per outer row."""
    found = [plan.get("Relation Name", "?")] if plan["Node Type"] == "Seq Scan" else []
    for child in plan.get("Plans", []):
        found += _inner_scans(child)
    return found


def _quadratic(plan: dict, statement: str) -> list[str]:
    problems = []
    if plan["Node Type"] == "Nested Loop":
        inner = [p for p in plan["Plans"] if p.get("Parent Relationship") == "Inner"]
        for scan in _inner_scans(inner[0]) if inner else []:
            problems.append(
                f"nested loop over {plan['Plans'][0].get('Plan Rows')} estimated rows scans {scan} for each: "
                f"{statement[:200]}"
            )
    for child in plan.get("Plans", []):
        problems += _quadratic(child, statement)
    return problems


class Planner:
    """Explains every engine statement in its transaction, just before it runs."""

    def __init__(self):
        self.explained = 0
        self.problems: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        if not many and _EXPLAINED.match(sql) and _ENGINE.search(sql):
            with context["connection"].cursor() as cursor:
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
                (plan,) = cursor.fetchone()
            plan = json.loads(plan) if isinstance(plan, str) else plan
            self.explained += 1
            self.problems += _quadratic(plan[0]["Plan"], " ".join(sql.split()))
        return execute(sql, params, many, context)


def _cis(numbers: range, tags_per_number: int, shift: int = 0) -> str:
    header = ["Phone", *[f"Tag{i}" for i in range(tags_per_number)]]
    lines = [",".join(header)]
    for k in numbers:
        tags = [f"T{i}-{(k + shift + i) % (7 + i)}" for i in range(tags_per_number)]
        lines.append(",".join([f"205{201 + k // 10_000:03d}{k % 10_000:04d}", *tags]))
    return "\n".join(lines) + "\n"


def _configuration(account, tags_per_number: int, mode=Mode.APPEND_SOFT_TAGS):
    field_map = FieldMap.load({"phone_columns": ["Phone"], "tag_columns": [f"Tag{i}" for i in range(tags_per_number)]})
    configuration = services.configuration_save(
        account=account, user=None, name=f"CIS {tags_per_number}", field_map=field_map, mode=mode
    )
    services.configuration_approve(configuration=configuration, user=None)
    return configuration


@pytest.fixture
def planner():
    watch = Planner()
    with connection.execute_wrapper(watch):
        yield watch
    assert watch.explained > 20  # the engine's statements were seen, not skipped
    assert watch.problems == []


def test_a_first_import_into_an_empty_account_then_a_second_one_plan_no_quadratic_join(
    account, run_import, work, settings, planner
):
    settings.IMPORT_GUARD_SHARE = 1
    configuration = _configuration(account, 3)
    first = run_import(account, _cis(range(3000), 3), configuration=configuration)
    assert first.stage == Stage.DONE and first.counts["opted_in"] == 3000
    # Same transaction: to the planner the account still has no numbers, tags or links at all.
    second = run_import(account, _cis(range(1000, 4500), 3, shift=1), configuration=configuration)
    assert second.stage == Stage.DONE
    assert second.counts["opted_in"] == 1500 and second.counts["suspended"] == 1000
    undo = work(services.import_run_undo, run=second, user=None)
    undo = ImportRun.objects.get(pk=undo.pk)
    assert undo.stage == Stage.DONE
    assert Subscriber.objects.filter(account=account, status="opted_in").count() == 3000


def test_a_file_of_ten_tags_per_number_plans_no_quadratic_join(account, run_import, settings, planner):
    settings.IMPORT_GUARD_SHARE = 1
    configuration = _configuration(account, 10)
    run = run_import(account, _cis(range(2000), 10), configuration=configuration)
    assert run.stage == Stage.DONE and run.counts["opted_in"] == 2000
    again = run_import(account, _cis(range(2000), 10, shift=3), configuration=configuration)
    assert again.stage == Stage.DONE and again.counts["tags_added"] == 2000  # every number's first tag moved on
    number = Subscriber.objects.get(account=account, phone="+12052010007")
    assert sorted(t.name for t in number.tags.all()) == sorted(f"T{i}-{(7 + 3 + i) % (7 + i)}" for i in range(10))


def test_an_account_whose_list_the_statistics_take_for_empty_plans_no_quadratic_join(
    account, other_account, run_import, settings, planner
):
    """The list's table was sampled while its rows were deleted (another account closed, say): to the planner it
    holds nothing, whatever it holds since. A 1,000-number account then receives a bigger file."""
    settings.IMPORT_GUARD_SHARE = 1
    gone = [Subscriber(account=other_account, phone=f"+1256201{k:04d}", status="opted_in") for k in range(3000)]
    Subscriber.objects.bulk_create(gone)
    Subscriber.objects.filter(account=other_account).delete()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE subscribers_subscriber")
    configuration = _configuration(account, 3, mode=Mode.APPEND_SOFT)
    listed = run_import(account, _cis(range(1000), 3), configuration=configuration)
    assert listed.stage == Stage.DONE and listed.counts["opted_in"] == 1000
    Subscriber.objects.filter(account=account, phone__lt="+12052010100").update(status="suspended")
    run = run_import(account, _cis(range(4000), 3, shift=1), configuration=configuration)
    assert run.stage == Stage.DONE
    assert run.counts["opted_in"] == 3000 and run.counts["reactivated"] == 100
    assert Subscriber.objects.filter(account=account, status="opted_in").count() == 4000
