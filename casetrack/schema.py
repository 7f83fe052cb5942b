"""The database schema through Alembic: `upgrade()` brings a database to the newest migration."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from casetrack.config import shipped
from casetrack.extensions import db


def alembic_config() -> Config:
    cfg = Config(str(shipped("alembic.ini")))
    cfg.set_main_option("script_location", str(shipped("migrations")))
    return cfg


def upgrade() -> str:
    """Run every pending migration on the app's database (idempotent); says what it did.

    A database whose tables were made by `create_all` before migrations existed gets the
    missing tables and is stamped as current instead.
    """
    cfg = alembic_config()
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        tables = set(inspect(connection).get_table_names())
        if tables and "alembic_version" not in tables:
            db.metadata.create_all(connection)
            command.stamp(cfg, "head")
            return "stamped as current (tables made without migrations)"
        command.upgrade(cfg, "head")
        return "migrated to the newest revision"
