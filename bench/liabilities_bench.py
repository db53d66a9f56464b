"""Benchmark: building the proof-of-liabilities Merkle sum tree (hub/core/liabilities.py).

Times, for N accounts with a balance in each of the two assets (2 N leaves): salting and hashing
the leaves, building both sum trees, cutting one inclusion proof per account, and verifying a
sample of proofs. Pure CPU work on one core; the hub's builder adds the ledger query and the
INSERT of the leaf rows around it.

    .venv/bin/python bench/liabilities_bench.py [--accounts 100000]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub.core.liabilities import (
    ASSETS,
    AssetRoot,
    build_tree,
    commitment,
    make_leaf,
    proof_json,
    verify_proof,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--verify", type=int, default=1_000)
    args = parser.parse_args()
    rng = random.Random(21)
    secret = os.urandom(32)
    accounts = [f"custodial:0x{rng.getrandbits(160):040x}" for _ in range(args.accounts)]
    amounts = {a: [rng.randrange(10**24) for _ in accounts] for a in ASSETS}

    t0 = time.perf_counter()
    leaves = {a: [make_leaf(account=acct, salt=hmac.new(secret, f"{a}:{acct}".encode(),
                                                          hashlib.sha256).digest(),
                            asset=a, amount=amounts[a][i]) for i, acct in enumerate(accounts)]
              for a in ASSETS}
    t1 = time.perf_counter()
    trees = {a: build_tree(a, leaves[a]) for a in ASSETS}
    t2 = time.perf_counter()
    roots = {a: AssetRoot(t.root, t.total, t.size) for a, t in trees.items()}
    digest = commitment(sequence=1, issued_at=int(time.time()), hub="0x" + "00" * 20, roots=roots)
    for a in ASSETS:
        assert trees[a].total == sum(amounts[a])
    root = {"sequence": 1, "assets": {a: {"root": "0x" + r.root.hex(), "total": str(r.total),
                                          "leaves": r.leaves} for a, r in roots.items()}}
    position = {a: {h: i for i, (h, _s) in enumerate(trees[a].levels[0])} for a in ASSETS}
    t3 = time.perf_counter()
    proofs = [proof_json(tree=trees[a], index=position[a][leaf.hash], leaf=leaf, sequence=1)
              for a in ASSETS for leaf in leaves[a]]
    t4 = time.perf_counter()
    sample = rng.sample(proofs, min(args.verify, len(proofs)))
    for proof in sample:
        verify_proof(proof, root)
    t5 = time.perf_counter()

    n = args.accounts
    print(f"liabilities tree for {n} accounts x {len(ASSETS)} assets ({2 * n} leaves), "
          f"commitment 0x{digest.hex()[:16]}…")
    print(f"  leaves (salt + hash):   {t1 - t0:7.2f} s")
    print(f"  sum trees:              {t2 - t1:7.2f} s")
    print(f"  build total:            {t2 - t0:7.2f} s   <- time to build the tree")
    print(f"  one proof per leaf:     {t4 - t3:7.2f} s ({len(proofs)} proofs, depth "
          f"{len(proofs[0]['path'])})")
    print(f"  verify {len(sample)} proofs:      {t5 - t4:7.2f} s "
          f"({(t5 - t4) / len(sample) * 1e3:.2f} ms each)")


if __name__ == "__main__":
    main()
