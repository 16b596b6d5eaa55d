"""Migration operations for rules only PostgreSQL can enforce (the embedded SQLite default skips
them; the services check the same rules in code)."""

from __future__ import annotations

from typing import Any

from django.db import migrations


class PostgresOnlySQL(migrations.RunSQL):
    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def same_agency_fk(table: str, column: str, parent: str) -> PostgresOnlySQL:
    """A composite foreign key (agency_id, column) -> parent(agency_id, id): the database refuses a
    row whose agency differs from its parent's (the denormalised agency_id stays consistent)."""
    name = f"{table}_{column}_same_agency"
    return PostgresOnlySQL(
        sql=f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (agency_id, {column}) "
        f"REFERENCES {parent} (agency_id, id) DEFERRABLE INITIALLY DEFERRED",
        reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT {name}",
    )
