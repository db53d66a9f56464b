"""Offline verification of the hub's proof of liabilities.

    from spoke_client import HubClient, verify_liability_proof

    document = hub.liability_proof()          # or the JSON downloaded from the dashboard
    for proof in document["proofs"]:
        amount = verify_liability_proof(proof, document["root"], KNOWN_HUB_ADDRESS)

`hub_address` must come from somewhere you trust (the hub's published config, its contract's
`hub()`), not from the document itself. The checks are `hub.core.liabilities`'s, the code the hub
builds the tree with: the root's commitment is recomputed from its fields and must be signed by
`hub_address` (EIP-191); the leaf is recomputed from (account, salt, asset, amount); every sum on
the path must be a non-negative uint256 and each node's hash commits to both children's sums; the
path must reach that asset's root and its sums add up to the published total."""

from __future__ import annotations

from collections.abc import Mapping

from hub.core.liabilities import ProofInvalid
from hub.core.liabilities import verify_liability_proof as _verify

__all__ = ["LiabilityProofInvalid", "verify_liability_proof"]

LiabilityProofInvalid = ProofInvalid


def verify_liability_proof(proof: Mapping[str, object], root: Mapping[str, object],
                           hub_address: str) -> int:
    """Verify one inclusion proof against a signed root, offline. Returns the amount it proves
    the hub owes that account; raises `LiabilityProofInvalid` (with a stable `.code`) otherwise."""
    return _verify(proof, root, hub_address)
