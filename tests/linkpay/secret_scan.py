"""A registry of the link secrets tests use, and scans for them in plain text.

Every test that handles a link secret registers it (`register`). The hooks in
tests/linkpay/conftest.py and tests/browser/conftest.py then check, after each such test and
before its database is rolled back or flushed, every text, varchar, json and bytea column of
every table for the test's secrets; and at the end of the session every log record emitted by
any logger in the process (root and non-propagating loggers alike) for every secret registered.
So the check covers what the whole suite wrote, not only a final (emptied) test database."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

SECRETS: set[str] = set()
_lock = threading.Lock()


def register(secret: str) -> str:
    with _lock:
        SECRETS.add(secret)
    return secret


def variants(secret: str) -> set[str]:
    found = {secret}
    if re.fullmatch(r"0x[0-9a-fA-F]+", secret):
        found.add(secret[2:])  # the bare hex would leak it just as well
    return found


def _pattern(secrets: Iterable[str]) -> str | None:
    parts = sorted({re.escape(v) for s in secrets for v in variants(s)})
    return "|".join(parts) or None


def scan_database(secrets: Iterable[str]) -> list[str]:
    """`table.column` of every column holding one of `secrets` (case-insensitive)."""
    from django.db import connection

    pattern = _pattern(secrets)
    if pattern is None:
        return []
    hits = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
            "JOIN information_schema.tables t ON t.table_schema = c.table_schema "
            "AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE' "
            "WHERE c.table_schema = current_schema() AND c.data_type IN "
            "('text', 'character varying', 'character', 'json', 'jsonb', 'bytea')")
        columns = cursor.fetchall()
        for table, column, data_type in columns:
            value = f'encode("{column}", \'escape\')' if data_type == "bytea" else f'"{column}"::text'
            cursor.execute(f'SELECT 1 FROM "{table}" WHERE {value} ~* %s LIMIT 1', [pattern])
            if cursor.fetchone():
                hits.append(f"{table}.{column}")
    return hits


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a broken record must not break the test that logged it
            self.lines.append(f"{record.name} unformattable {record.msg!r} {record.args!r}")


RECORDER = _Recorder()


def capture_logs() -> None:
    """Attach the recorder to the root logger and to every logger that does not propagate."""
    loggers = [logging.getLogger()]
    loggers += [lg for lg in logging.Logger.manager.loggerDict.values()
                if isinstance(lg, logging.Logger) and not lg.propagate]
    loggers.append(logging.getLogger("django.server"))
    for logger in loggers:
        if RECORDER not in logger.handlers:
            logger.addHandler(RECORDER)


def scan_logs(secrets: Iterable[str]) -> list[str]:
    pattern = _pattern(secrets)
    if pattern is None:
        return []
    regex = re.compile(pattern, re.IGNORECASE)
    return [line[:200] for line in RECORDER.lines if regex.search(line)]
