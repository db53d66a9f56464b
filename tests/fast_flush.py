"""A transactional test's reset without TRUNCATE.

After each transactional test (`django_db(transaction=True)`) Django empties every table with
one `TRUNCATE t1, t2, …` (the `flush` command). PostgreSQL gives each truncated table, its
indexes and its TOAST table new files and removes the old ones: about 0.45 s for this schema's
63 tables (measured in a test with `call_command("flush")`: 0.46 s of wall time, 0.003 CPU-s of
the test process), almost all of it the server's file work, repeated after every transactional
test of the suite and of every mutant's run (`./spoke mutate`). Deleting the rows of the same
tables, in one transaction, takes ~13 ms.

The statements run with `session_replication_role = replica` for that transaction (SET LOCAL):
like TRUNCATE, they fire no trigger (the append-only guards, the volume rollup's statement
triggers) and check no foreign key, so the order of the tables does not matter. Sequences are
not reset, as Django's flush does not reset them unless asked (`reset_sequences`, which keeps
Django's own TRUNCATE … RESTART IDENTITY). Setting that parameter needs a superuser (the test
servers' role is one: the embedded server's owner, or `postgres` in CI); for another role the
reset stays Django's TRUNCATE.

The content types and permissions are kept: after a flush, Django's post_migrate handlers
create them again (130 statements, each committed on its own: 0.27 s of a 0.29 s reset), the
same rows as before. Kept, those handlers find every row present and insert nothing. No test
and no code of the project creates or deletes either kind of row."""

from __future__ import annotations

from typing import Any

# rows that migrate's post_migrate handlers create and every flush would make them create again
KEPT = frozenset({"django_content_type", "auth_permission"})


def install() -> None:
    from django.db.backends.postgresql.operations import DatabaseOperations

    if getattr(DatabaseOperations.sql_flush, "spoke_fast", False):
        return
    truncate = DatabaseOperations.sql_flush

    def sql_flush(self: Any, style: Any, tables: Any, *, reset_sequences: bool = False,
                  allow_cascade: bool = False) -> list[str]:
        if reset_sequences or not tables or not _superuser(self.connection):
            return truncate(self, style, tables, reset_sequences=reset_sequences,
                            allow_cascade=allow_cascade)
        quote = self.quote_name
        return ["SET LOCAL session_replication_role = replica",
                *(f"DELETE FROM {quote(table)}" for table in tables if table not in KEPT)]

    sql_flush.spoke_fast = True  # type: ignore[attr-defined]
    DatabaseOperations.sql_flush = sql_flush  # type: ignore[method-assign]


def _superuser(connection: Any) -> bool:
    known = getattr(connection, "spoke_superuser", None)
    if known is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
        known = bool(row and row[0])
        connection.spoke_superuser = known
    return known
