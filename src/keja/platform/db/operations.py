"""Migration operations for rules only PostgreSQL can enforce (the embedded SQLite default skips
them; the services check the same rules in code)."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.models import Index


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


class AddIndexOnline(migrations.AddIndex):
    """``AddIndex`` that builds the index with ``CREATE INDEX CONCURRENTLY`` on PostgreSQL, so a
    table that takes payments is never locked against writes while it builds (the migration must
    be ``atomic = False``); a plain ``CREATE INDEX`` elsewhere (the embedded SQLite)."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.add_index(model, self.index, concurrently=True)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
            return
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index, concurrently=True)

    def describe(self) -> str:
        return f"Create index {self.index.name} online on {self.model_name}"


class DropFieldIndexOnline(migrations.AlterField):
    """``AlterField`` to ``db_index=False`` on a field (a foreign key, say) whose column already leads a composite
    index: Django's own single-column index is dropped with ``DROP INDEX CONCURRENTLY`` on
    PostgreSQL (the migration must be ``atomic = False``), so writes to a table that takes
    payments never wait on the drop; a plain ``AlterField`` elsewhere (the embedded SQLite).
    Backwards, the index is built again, concurrently."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        column = model._meta.get_field(self.name).column
        # as Django's own AlterField finds the index db_index=True made (by its columns, not
        # one of the model's named indexes), but dropped concurrently
        names = schema_editor._constraint_names(
            model,
            [column],
            index=True,
            type_=Index.suffix,
            exclude={index.name for index in model._meta.indexes},
        )
        for name in names:
            schema_editor.execute(schema_editor._delete_index_sql(model, name, concurrently=True))

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        field = model._meta.get_field(self.name)
        schema_editor.execute(
            schema_editor._create_index_sql(model, fields=[field], concurrently=True)
        )

    def describe(self) -> str:
        return f"Drop the single-column index of {self.model_name}.{self.name} online"


class RemoveIndexOnline(migrations.RemoveIndex):
    """``RemoveIndex`` with ``DROP INDEX CONCURRENTLY`` on PostgreSQL (the migration must be
    ``atomic = False``); backwards, the index is built again concurrently. A plain
    ``RemoveIndex`` elsewhere (the embedded SQLite)."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = from_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            schema_editor.remove_index(model, index, concurrently=True)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            schema_editor.add_index(model, index, concurrently=True)

    def describe(self) -> str:
        return f"Remove index {self.name} online from {self.model_name}"
