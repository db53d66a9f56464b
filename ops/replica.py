"""Where heavy reads that may lag a moment go: the read replica when one is configured
(DATABASE_REPLICA_URL), else the primary. Only reads: every write goes to the primary."""

from __future__ import annotations

from django.conf import settings


def reading_alias() -> str:
    return "replica" if "replica" in settings.DATABASES else "default"
