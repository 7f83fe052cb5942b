"""Alembic environment: casetrack's models are the target; the app's config names the database.

Run by `flask --app casetrack init-db` (which hands over its connection in
config.attributes["connection"]) or by the `alembic` command (CASETRACK_DATABASE_URL or
instance/config.py, as for the app).
"""
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

import casetrack.models  # noqa: F401  (registers every table on the metadata)
from casetrack.extensions import db

config = context.config
target_metadata = db.metadata


def database_url() -> str:
    from casetrack import create_app
    return create_app().config["DATABASE_URL"]


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    with create_engine(database_url(), poolclass=NullPool).connect() as connection:
        run(connection)


if context.is_offline_mode():
    run_offline()
else:
    run_online()
