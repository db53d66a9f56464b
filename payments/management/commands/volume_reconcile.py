"""`manage.py volume_reconcile [--rebuild]`: check the dashboard overview's rollup against the sums
recomputed from the payments and the rates (payments/dashboard/volume.py); with --rebuild,
replace it with them. The check reads both in one statement (no lock); the rebuild holds the
rollup's lock, so changes to folded payments and new rates wait for it (seconds with a million
payments): run it when the hub is quiet."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.dashboard.volume import volume_discrepancies, volume_rebuild


class Command(BaseCommand):
    help = "Check (or --rebuild) the dashboard overview's rollup against the payments and rates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="replace the rollup with the recomputed sums")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["rebuild"]:
            self.stdout.write(f"rebuilt: {volume_rebuild()} quarter-hour rows")
        wrong = volume_discrepancies()
        for (address, bucket), (rollup, truth) in sorted(wrong.items())[:20]:
            self.stdout.write(f"{address} {bucket:%Y-%m-%d %H:%M} rollup {rollup} recomputed {truth}")
        if wrong:
            raise CommandError(f"{len(wrong)} quarter hours differ (run with --rebuild to repair)")
        self.stdout.write("the rollup matches the payments and rates")
