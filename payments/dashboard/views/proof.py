"""Proof of funds: the hub's signed commitment to everything it owes, the merchant's own leaves
in it (verified here with the same code the SDK runs), the reserves the chain shows, and the
proof document to download and verify offline."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

from payments.dashboard.money import Money
from payments.dashboard.views.base import dash_of, dashboard_view, page
from payments.errors import PaymentsError


def _document(merchant_id: int) -> dict[str, Any] | None:
    from payments.balances.liabilities import merchant_liability_proof

    try:
        return merchant_liability_proof(merchant_id)
    except PaymentsError:
        return None  # no root yet


@never_cache
@dashboard_view("balance")
def proof_view(request: HttpRequest) -> HttpResponse:
    from hub.core.liabilities import ProofInvalid, verify_liability_proof

    document = _document(dash_of(request).merchant_id)
    leaves = []
    if document is not None:
        root = document["root"]
        for proof in document["proofs"]:
            try:
                verify_liability_proof(proof, root, root["hub"])
                verdict = ""
            except ProofInvalid as exc:
                verdict = f"{exc.code}: {exc}"
            leaves.append({"account": proof["account"], "money": Money(int(proof["amount"]), proof["asset"]),
                           "depth": len(proof["path"]), "error": verdict, "leaf": proof["leafHash"]})
        totals = [{"asset": a, "money": Money(int(e["total"]), a), "leaves": e["leaves"], "root": e["root"],
                   "reserve": root["reserves"].get(a)} for a, e in root["assets"].items()]
    return page(request, "dashboard/proof.html", {
        "document": document, "root": document and document["root"], "leaves": leaves,
        "totals": totals if document else [],
        "issued": document and datetime.fromtimestamp(document["root"]["issuedAt"], UTC),
    })


@never_cache
@dashboard_view("balance")
def proof_download_view(request: HttpRequest) -> HttpResponse:
    document = _document(dash_of(request).merchant_id)
    if document is None:
        return HttpResponse(json.dumps({"error": {"code": "resource_missing",
                                                  "message": "no liabilities root has been published yet"}}),
                            content_type="application/json", status=404)
    response = HttpResponse(json.dumps(document, indent=2), content_type="application/json")
    response["Content-Disposition"] = (
        f'attachment; filename="spoke-liabilities-proof-{document["root"]["sequence"]}.json"')
    return response
