"""PostgreSQL-only indexes for an account of a million numbers.

A trigram index lets "any part of the number" searches use an index; a text_pattern_ops index
serves prefix searches; fillfactor 90 leaves room for the in-place updates imports make.
SQLite (the laptop default) skips them.
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS subscriber_phone_trgm ON subscribers_subscriber USING gin (phone gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS subscriber_account_phone_prefix ON subscribers_subscriber (account_id, phone text_pattern_ops)",
    "ALTER TABLE subscribers_subscriber SET (fillfactor = 90)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS subscriber_phone_trgm",
    "DROP INDEX IF EXISTS subscriber_account_phone_prefix",
    "ALTER TABLE subscribers_subscriber RESET (fillfactor)",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("subscribers", "0001_initial")]
    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
