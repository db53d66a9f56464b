"""Publish a proof-of-liabilities root now (the operator's on-demand action; the scheduler also
publishes one every LIABILITIES_SECONDS)."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Commit to all liabilities now: build, sign and publish a new Merkle sum root."

    def handle(self, *args: Any, **options: Any) -> None:
        from hub.liabilities.selectors import reserves_of
        from hub.liabilities.services import liabilities_publish

        root = liabilities_publish(trigger="operator", requested_by=f"command:{getpass.getuser()}")
        self.stdout.write(f"root #{root.sequence} commitment {root.commitment}")
        for asset, entry in root.roots.items():
            reserve = reserves_of(root).get(asset)
            ratio = f", reserves {reserve['total']} (ratio {reserve['ratio']})" if reserve else ""
            self.stdout.write(f"  {asset}: {entry['leaves']} leaves, total {entry['total']}{ratio}")
        if root.reserves_error:
            self.stdout.write(self.style.WARNING(f"  reserves: {root.reserves_error}"))
