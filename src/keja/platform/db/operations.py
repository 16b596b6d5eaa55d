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


class _Online:
    """On PostgreSQL, the operation's ``online_forwards``/``online_backwards`` (concurrent index
    builds and drops: the migration must be ``atomic = False``, and a table that takes payments
    is never locked against writes meanwhile); elsewhere (the embedded SQLite) the plain Django
    operation it is mixed into. Both get the model the step leads to and ``before``, the state
    without the operation applied."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._run(True, app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._run(False, app_label, schema_editor, from_state, to_state)

    def _run(
        self, forwards: bool, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        parent: Any = super()
        if schema_editor.connection.vendor != "postgresql":
            step = parent.database_forwards if forwards else parent.database_backwards
            step(app_label, schema_editor, from_state, to_state)
            return
        op: Any = self
        model = to_state.apps.get_model(app_label, op.model_name)
        if not op.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if forwards:
            self.online_forwards(schema_editor, model, from_state, app_label)
        else:  # backwards, to_state is the state before the operation
            self.online_backwards(schema_editor, model, to_state, app_label)

    def online_forwards(self, schema_editor: Any, model: Any, before: Any, app_label: str) -> None:
        raise NotImplementedError

    def online_backwards(self, schema_editor: Any, model: Any, before: Any, app_label: str) -> None:
        raise NotImplementedError


class AddIndexOnline(_Online, migrations.AddIndex):
    """``AddIndex`` with ``CREATE INDEX CONCURRENTLY`` on PostgreSQL (backwards: dropped
    concurrently)."""

    def online_forwards(self, schema_editor: Any, model: Any, before: Any, app_label: str) -> None:
        schema_editor.add_index(model, self.index, concurrently=True)

    def online_backwards(self, schema_editor: Any, model: Any, before: Any, app_label: str) -> None:
        schema_editor.remove_index(model, self.index, concurrently=True)

    def describe(self) -> str:
        return f"Create index {self.index.name} online on {self.model_name}"


class RemoveIndexOnline(_Online, migrations.RemoveIndex):
    """``RemoveIndex`` with ``DROP INDEX CONCURRENTLY`` on PostgreSQL (backwards: built again
    concurrently)."""

    def _index(self, state: Any, app_label: str) -> Any:
        return state.models[app_label, self.model_name_lower].get_index_by_name(self.name)

    def online_forwards(self, schema_editor: Any, model: Any, before: Any, app_label: str) -> None:
        schema_editor.remove_index(model, self._index(before, app_label), concurrently=True)

    def online_backwards(self, schema_editor: Any, model: Any, before: Any, app_label: str) -> None:
        schema_editor.add_index(model, self._index(before, app_label), concurrently=True)

    def describe(self) -> str:
        return f"Remove index {self.name} online from {self.model_name}"


class DropFieldIndexOnline(_Online, migrations.AlterField):
    """``AlterField`` to ``db_index=False`` on a field (a foreign key, say) whose column already
    leads another index: Django's own single-column index is dropped with ``DROP INDEX
    CONCURRENTLY`` on PostgreSQL; backwards, it is built again concurrently."""

    def online_forwards(self, schema_editor: Any, model: Any, before: Any, app_label: str) -> None:
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

    def online_backwards(self, schema_editor: Any, model: Any, before: Any, app_label: str) -> None:
        indexed = before.apps.get_model(app_label, self.model_name)
        field = indexed._meta.get_field(self.name)
        schema_editor.execute(
            schema_editor._create_index_sql(indexed, fields=[field], concurrently=True)
        )

    def describe(self) -> str:
        return f"Drop the single-column index of {self.model_name}.{self.name} online"
