"""The reference version: one row the database itself changes whenever the reference data a
filing reads (categories, declared days off, webhooks) changes, so that each process can keep a
copy of that data and know, by one value read with another statement, when its copy is stale."""
from __future__ import annotations

from sqlalchemy import BigInteger, event
from sqlalchemy.orm import Mapped, mapped_column

from casetrack.extensions import db

REFERENCE_TABLES = ("categories", "days_off", "webhooks")


class ReferenceVersion(db.Model):
    """One row (id 1). The version is random, not a counter: a transaction rolled back never
    gives its version back to the next change, so a copy taken inside it can never pass for one
    of the data committed later."""
    __tablename__ = "reference_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, comment="changed by triggers on " + ", ".join(REFERENCE_TABLES))


_RANDOM = {"sqlite": "abs(random())", "postgresql": "floor(random() * 9e18)::bigint"}
# Per dialect; also run by migration 0007. Triggers catch every writer: services, Core, psql.
REFERENCE_DDL = {
    "sqlite": [f"INSERT INTO reference_versions (id, version) VALUES (1, {_RANDOM['sqlite']})"] + [
        f"CREATE TRIGGER {table}_{op.lower()}_version AFTER {op} ON {table} "
        f"BEGIN UPDATE reference_versions SET version = {_RANDOM['sqlite']}; END"
        for table in REFERENCE_TABLES for op in ("INSERT", "UPDATE", "DELETE")],
    "postgresql": [
        f"INSERT INTO reference_versions (id, version) VALUES (1, {_RANDOM['postgresql']})",
        "CREATE OR REPLACE FUNCTION reference_version_bump() RETURNS trigger AS $$ BEGIN "
        f"UPDATE reference_versions SET version = {_RANDOM['postgresql']}; RETURN NULL; END $$ LANGUAGE plpgsql"] + [
        f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION reference_version_bump()" for table in REFERENCE_TABLES],
}


@event.listens_for(db.metadata, "after_create")
def _create_version_row_and_triggers(_metadata, connection, tables=(), **_kw) -> None:
    """After every table exists (the triggers sit on other tables), and only when create_all
    made this table: run again on a database that has it, it adds nothing."""
    if any(t.name == ReferenceVersion.__tablename__ for t in tables):
        for sql in REFERENCE_DDL.get(connection.dialect.name, []):
            connection.exec_driver_sql(sql)
