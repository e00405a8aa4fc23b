"""SQLite's plans for the SELECTs an action runs: tests assert that queue reads walk an index in order
instead of sorting a table that grows without bound (a timing test could not say which one ran)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event


def select_plans(engine: Engine, action: Callable[[], Any], table: str) -> dict[str, str]:
    """{statement: its plan, steps joined by ' / '} for each SELECT from `table` that `action` ran."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement and not many:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with engine.connect() as connection:
        return {
            statement: " / ".join(
                str(row[-1])
                for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            )
            for statement, parameters in seen
        }
