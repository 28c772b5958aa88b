"""Database triggers that make search synchronisation independent of the code path of a write.

For each entry table (offers, needs):
- every UPDATE of the row increments ``row_version``;
- every INSERT, UPDATE and DELETE of the row appends a ``SearchOutbox`` row;
- every INSERT or DELETE in one of its many-to-many tables (articles, TA types, ...) counts as an
  update of the entry (so it bumps the version and lands in the outbox too).

Triggers exist for PostgreSQL and SQLite, the two databases the project runs on. They are installed
by a migration; ``installed_trigger_names`` lets tests check they are there.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.backends.base.schema import BaseDatabaseSchemaEditor

OUTBOX_TABLE = "kb_searchoutbox"


@dataclass(frozen=True)
class TrackedTable:
    table: str  # the entry table, e.g. kb_expertiseoffer
    kind: str  # "offer" or "need", as written to the outbox
    through_tables: tuple[tuple[str, str], ...]  # (m2m table, column pointing at the entry)


def tracked_tables(apps) -> list[TrackedTable]:
    """Describe the entry tables and their many-to-many tables from the (historical) models."""
    result = []
    for model_name, kind in (("ExpertiseOffer", "offer"), ("AssistanceNeed", "need")):
        model = apps.get_model("kb", model_name)
        through = []
        for field in model._meta.many_to_many:
            through_model = field.remote_field.through
            through.append((through_model._meta.db_table, field.m2m_column_name()))
        result.append(TrackedTable(model._meta.db_table, kind, tuple(sorted(through))))
    return result


def _postgresql_create(tables: list[TrackedTable]) -> list[str]:
    statements = [
        """
        CREATE OR REPLACE FUNCTION kb_entry_bump_version() RETURNS trigger AS $$
        BEGIN
            NEW.row_version := OLD.row_version + 1;
            RETURN NEW;
        END $$ LANGUAGE plpgsql;
        """,
        f"""
        CREATE OR REPLACE FUNCTION kb_entry_to_outbox() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                INSERT INTO {OUTBOX_TABLE} (entry_kind, entry_id) VALUES (TG_ARGV[0], OLD.id);
                RETURN OLD;
            END IF;
            INSERT INTO {OUTBOX_TABLE} (entry_kind, entry_id) VALUES (TG_ARGV[0], NEW.id);
            RETURN NEW;
        END $$ LANGUAGE plpgsql;
        """,
        # Statement-level with transition tables: one parent UPDATE per m2m ``add()``/``set()``,
        # not one per row.
        """
        CREATE OR REPLACE FUNCTION kb_entry_tags_inserted() RETURNS trigger AS $$
        BEGIN
            EXECUTE format(
                'UPDATE %I SET row_version = row_version + 1 WHERE id IN (SELECT DISTINCT %I FROM changed_rows)',
                TG_ARGV[0], TG_ARGV[1]);
            RETURN NULL;
        END $$ LANGUAGE plpgsql;
        """,
    ]
    for t in tables:
        statements += [
            f"""CREATE TRIGGER {t.table}_version BEFORE UPDATE ON {t.table}
                FOR EACH ROW EXECUTE FUNCTION kb_entry_bump_version();""",
            f"""CREATE TRIGGER {t.table}_outbox AFTER INSERT OR UPDATE OR DELETE ON {t.table}
                FOR EACH ROW EXECUTE FUNCTION kb_entry_to_outbox('{t.kind}');""",
        ]
        for through, column in t.through_tables:
            statements += [
                f"""CREATE TRIGGER {through}_ins AFTER INSERT ON {through}
                    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT
                    EXECUTE FUNCTION kb_entry_tags_inserted('{t.table}', '{column}');""",
                f"""CREATE TRIGGER {through}_del AFTER DELETE ON {through}
                    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT
                    EXECUTE FUNCTION kb_entry_tags_inserted('{t.table}', '{column}');""",
            ]
    return statements


def _postgresql_drop(tables: list[TrackedTable]) -> list[str]:
    statements = []
    for t in tables:
        statements += [
            f"DROP TRIGGER IF EXISTS {t.table}_version ON {t.table};",
            f"DROP TRIGGER IF EXISTS {t.table}_outbox ON {t.table};",
        ]
        for through, _column in t.through_tables:
            statements += [
                f"DROP TRIGGER IF EXISTS {through}_ins ON {through};",
                f"DROP TRIGGER IF EXISTS {through}_del ON {through};",
            ]
    statements += [
        "DROP FUNCTION IF EXISTS kb_entry_bump_version();",
        "DROP FUNCTION IF EXISTS kb_entry_to_outbox();",
        "DROP FUNCTION IF EXISTS kb_entry_tags_inserted();",
    ]
    return statements


def _sqlite_create(tables: list[TrackedTable]) -> list[str]:
    statements = []
    for t in tables:
        outbox = f"INSERT INTO {OUTBOX_TABLE} (entry_kind, entry_id) VALUES ('{t.kind}', %s);"
        statements += [
            f"""CREATE TRIGGER {t.table}_ai AFTER INSERT ON {t.table} BEGIN
                {outbox % "NEW.id"} END;""",
            # SQLite cannot assign NEW in a trigger; the nested UPDATE does not re-fire this
            # trigger because recursive triggers are off (SQLite's default).
            f"""CREATE TRIGGER {t.table}_au AFTER UPDATE ON {t.table} BEGIN
                UPDATE {t.table} SET row_version = OLD.row_version + 1 WHERE id = NEW.id;
                {outbox % "NEW.id"} END;""",
            f"""CREATE TRIGGER {t.table}_ad AFTER DELETE ON {t.table} BEGIN
                {outbox % "OLD.id"} END;""",
        ]
        for through, column in t.through_tables:
            statements += [
                f"""CREATE TRIGGER {through}_ai AFTER INSERT ON {through} BEGIN
                    UPDATE {t.table} SET row_version = row_version + 1 WHERE id = NEW.{column};
                    END;""",
                f"""CREATE TRIGGER {through}_ad AFTER DELETE ON {through} BEGIN
                    UPDATE {t.table} SET row_version = row_version + 1 WHERE id = OLD.{column};
                    END;""",
            ]
    return statements


def _sqlite_drop(tables: list[TrackedTable]) -> list[str]:
    statements = []
    for t in tables:
        statements += [f"DROP TRIGGER IF EXISTS {t.table}_{suffix};" for suffix in ("ai", "au", "ad")]
        for through, _column in t.through_tables:
            statements += [f"DROP TRIGGER IF EXISTS {through}_{s};" for s in ("ai", "ad")]
    return statements


def install(apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    tables = tracked_tables(apps)
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = _postgresql_drop(tables) + _postgresql_create(tables)
    elif vendor == "sqlite":
        statements = _sqlite_drop(tables) + _sqlite_create(tables)
    else:  # pragma: no cover - the project supports exactly these two databases
        raise NotImplementedError(f"No search triggers for database vendor {vendor!r}")
    for statement in statements:
        schema_editor.execute(statement, params=None)


def uninstall(apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    tables = tracked_tables(apps)
    vendor = schema_editor.connection.vendor
    drop = _postgresql_drop if vendor == "postgresql" else _sqlite_drop
    for statement in drop(tables):
        schema_editor.execute(statement, params=None)


def installed_trigger_names(connection) -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT DISTINCT trigger_name FROM information_schema.triggers WHERE event_object_table LIKE 'kb\\_%%'"
            )
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {row[0] for row in cursor.fetchall()}
