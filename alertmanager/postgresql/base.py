"""Django's PostgreSQL backend, with batches that fit one statement's parameters when they are bound on the server.

With `server_side_binding` every value of a statement is a parameter of the extended protocol, which carries at
most 65,535 of them: deleting an account of 100,000 numbers made Django delete their tags in one
`WHERE subscriber_id IN (…)` of 100,000 parameters, and PostgreSQL refused it. Django limits its batches (deletes,
bulk_create, bulk_update) only on databases that declare a limit; this one declares it.
"""

from django.db.backends.postgresql import base, features, operations
from django.db.models import CompositePrimaryKey


class DatabaseFeatures(features.DatabaseFeatures):
    max_query_params = 65_535


class DatabaseOperations(operations.DatabaseOperations):
    def bulk_batch_size(self, fields, objs):
        if not self.connection.settings_dict["OPTIONS"].get("server_side_binding"):
            return super().bulk_batch_size(fields, objs)
        columns = sum(len(f.fields) if isinstance(f, CompositePrimaryKey) else 1 for f in fields)
        if not columns:
            return len(objs)
        return max(1, self.connection.features.max_query_params // columns)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
    ops_class = DatabaseOperations
