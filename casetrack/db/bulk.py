"""Bulk reads and writes at the driver's level, for the sweep, imports and generators:
SQLAlchemy's per-row machinery (statement building, binding, Row objects) cost them more than
the database's own work. Values are still bound by each column's type."""
from __future__ import annotations

from operator import itemgetter

from sqlalchemy import text

from casetrack.extensions import db


def insert_many(table, rows: list, columns: tuple[str, ...] | None = None) -> None:
    """One executemany of `rows` on the session's connection: each value bound by its column's
    type, without SQLAlchemy's per-row statement machinery, which costs more than the database's
    own insert (the sweep writes a row per flag). Rows are dicts with the same keys or, given
    `columns`, tuples in that order (cheaper to build and to bind: no key lookups)."""
    if not rows:
        return
    conn = db.session.connection()
    dialect = conn.dialect
    if columns is None:
        keys = tuple(rows[0])
        take = itemgetter(*keys) if len(keys) > 1 else (lambda row: (row[keys[0]],))
    else:
        keys, take = columns, tuple
    # the statement is written here, so a column's Python-side default would be silently skipped
    skipped = [c.key for c in table.c if c.default is not None and not c.primary_key and c.key not in keys]
    if skipped:
        raise ValueError(f"insert_many into {table.name}: give {', '.join(skipped)} (column defaults are not applied)")
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
           f"({', '.join(quote(k) for k in keys)}) VALUES ({driver_marks(conn, len(keys))})")
    processors = [(i, _memo(p)) for i, p in enumerate(
        table.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in keys) if p]
    params = []
    for row in rows:
        bound = list(take(row))
        for i, process in processors:
            bound[i] = process(bound[i])
        params.append(tuple(bound))
    conn.exec_driver_sql(sql, params)


def analyze(table: str) -> None:
    """PostgreSQL: sample `table` now, after a bulk load, rather than when autovacuum comes by.
    Until then the planner takes the table for empty: psycopg prepares a repeated lookup after
    five runs and the generic plan then scans the table for every chunk of an IN list (the
    same 100k-row list imported a second time took 258 s, not 14). SQLite plans well without
    statistics and its ANALYZE reads whole indexes, so it is left alone there."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"ANALYZE {table}"))


def driver_rows(conn, statement, params=None) -> list[tuple]:
    """The rows of a SELECT (a Core statement, or SQL text in the driver's own style) as the
    driver's plain tuples, values as the driver gives them (on SQLite a date is its ISO text):
    SQLAlchemy's Row objects cost the sweep more than SQLite's own reads (its due batches, twice
    the time of the scan; its chain heads, half of the lookup's time)."""
    if isinstance(statement, str):
        result = conn.exec_driver_sql(statement, params if params is not None else ())
    else:
        result = conn.execute(statement, params or {})
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def driver_marks(conn, n: int) -> str:
    """n positional placeholders in the driver's own style, for a statement run with
    `exec_driver_sql` (a list of ids bound by the driver: SQLAlchemy's expanding IN of 1,000
    ids cost the sweep more per batch than the database's work)."""
    return ", ".join(["?" if conn.dialect.paramstyle == "qmark" else "%s"] * n)


def _memo(process):
    """A bind processor that converts each value object only once: the rows of one bulk insert
    share their timestamp and a few data dicts (the sweep's, one per deadline)."""
    seen: dict[int, tuple] = {}  # id -> (the value, kept so that its id is not reused; converted)

    def bound(value):
        hit = seen.get(id(value))
        if hit is None:
            hit = seen[id(value)] = (value, process(value))
        return hit[1]
    return bound
