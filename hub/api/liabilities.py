"""Proof of liabilities on the protocol API: the latest signed root (public) and the caller's own
inclusion proofs (authenticated as the channel user, like every user route)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from hub.api.base import ApiError, protocol_view
from hub.liabilities.models import LiabilityRoot


def _latest() -> LiabilityRoot:
    from hub.liabilities.selectors import root_latest

    root = root_latest()
    if root is None:
        raise ApiError(404, "no_liabilities_root", "no liabilities root has been published yet")
    return root


@protocol_view(methods=("GET",), auth=False)
def latest(request: HttpRequest) -> JsonResponse:
    from hub.liabilities.selectors import root_json

    return JsonResponse(root_json(_latest()))


@protocol_view(methods=("GET",))
def proof(request: HttpRequest) -> JsonResponse:
    """The caller's leaves in the latest root: its channel's user side and its custodial balance.
    Verify offline with `spoke_client.verify_liability_proof(proof, document["root"], hub)`."""
    from hub.liabilities.selectors import channel_leaf_account, proof_document

    address = request.address  # type: ignore[attr-defined]
    accounts = [channel_leaf_account(address), f"custodial:{address.lower()}"]
    return JsonResponse(proof_document(_latest(), accounts))
