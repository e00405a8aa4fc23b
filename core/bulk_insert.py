"""Multi-row INSERTs as driver SQL, for the few statements on the webhook path.

A Core statement executed through SQLAlchemy costs about 80 µs of Python before the database sees it
(its cache key, an execution context, every bound value processed, the result set up): the webhook
intake's three statements took most of its time at the batch sizes a delivery storm brings (6-10
deliveries per transaction). Here a statement is rendered once per shape and run with
`exec_driver_sql` on the caller's connection, so the transaction, the engine's events (SQLite's write
gate) and the dialect stay SQLAlchemy's; values still go through each column type's own bind processor,
so what is stored is exactly what an ORM insert would store. With time-ordered ids (core/db.py) and
the intake writer's own connection, the intake's CPU per delivery went from 158 to 44 µs in batches of 6
and from 83 to 24 µs in batches of 32 (SQLite, bench/webhook.py's deliveries, measured by calling the
intake's batch write directly).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect

_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def insert_rows(
    connection: Connection,
    table: Table,
    columns: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
) -> int:
    """INSERT `rows` (values in `columns` order) in as few statements as the driver's parameter limit
    allows; returns how many rows were inserted. `ignore_conflicts`: ON CONFLICT DO NOTHING (a row whose
    unique key exists is skipped, and not counted).

    The count is each statement's rowcount, which both drivers report exactly for a single INSERT (the
    rows SQLite changed, PostgreSQL's command tag). No RETURNING: SQLite steps once per returned row, and
    each step gives up the GIL and takes it back, which under load costs the event loop a forced switch
    every time."""
    dialect = connection.dialect
    process = _processors(table, columns, dialect)
    per_statement = max(1, dialect.insertmanyvalues_max_parameters // len(columns))
    inserted = 0
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        values = tuple(_bind(chunk, process))
        sql = _statement(table.name, columns, len(chunk), dialect.paramstyle, ignore_conflicts)
        inserted += connection.exec_driver_sql(sql, values).rowcount
    return inserted


def _bind(rows: Sequence[Sequence[Any]], process: tuple[Callable[[Any], Any] | None, ...]) -> list[Any]:
    """Every value through its column's bind processor, in row order. A batch usually repeats one
    timestamp in every row: the same object is processed once per column."""
    last: list[tuple[Any, Any]] = [(_UNSET, None)] * len(process)
    out: list[Any] = []
    for row in rows:
        for i, (value, convert) in enumerate(zip(row, process, strict=True)):
            if convert is None:
                out.append(value)
            elif value is last[i][0]:
                out.append(last[i][1])
            else:
                bound = convert(value)
                last[i] = (value, bound)
                out.append(bound)
    return out


_UNSET = object()


@lru_cache(maxsize=256)
def _processors(
    table: Table, columns: tuple[str, ...], dialect: Dialect
) -> tuple[Callable[[Any], Any] | None, ...]:
    return tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns)


@lru_cache(maxsize=256)
def _statement(table: str, columns: tuple[str, ...], rows: int, paramstyle: str, ignore: bool) -> str:
    if paramstyle not in _PLACEHOLDER:
        raise NotImplementedError(f"driver paramstyle {paramstyle!r}")
    mark = _PLACEHOLDER[paramstyle]
    row = "(" + ", ".join([mark] * len(columns)) + ")"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES " + ", ".join([row] * rows)
    if ignore:
        sql += " ON CONFLICT DO NOTHING"
    return sql
