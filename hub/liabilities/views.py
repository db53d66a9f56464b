"""The public proof-of-liabilities page (/proof/): the latest signed root, totals per asset, the
signature, the chain's reserves and the ratio, with a banner when reserves are short."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hub.liabilities.selectors import reserve_shortfalls, root_json, root_latest


@require_GET
def proof_page(request: HttpRequest) -> HttpResponse:
    root = root_latest()
    data = root_json(root) if root is not None else None
    rows = []
    if data is not None:
        for asset, entry in data["assets"].items():
            rows.append({"asset": asset, **entry, "reserve": data["reserves"].get(asset)})
    return render(request, "hub/proof_public.html", {
        "root": data, "rows": rows, "shortfall": reserve_shortfalls(root)})
