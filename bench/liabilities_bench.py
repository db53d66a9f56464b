"""Benchmark: building the proof-of-liabilities Merkle sum tree (hub/core/liabilities.py).

Times, for N accounts with a balance in each of the two assets (2 N leaves): salting and hashing
the leaves, building both sum trees, cutting one inclusion proof per account, and verifying a
sample of proofs. Pure CPU work on one core.

With --db, also the hub's whole publish on an embedded PostgreSQL (fsync on): N custodial ledger
accounts with both assets are seeded, then `liabilities_publish()` reads the ledger, builds and
signs the root and stores the 2 N leaves; then the first inclusion proof (which rebuilds the tree
from the stored leaves) and a second one (cached tree). No chain: the reserves are recorded as
unreadable.

    .venv/bin/python bench/liabilities_bench.py [--accounts 100000] [--db]
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
    parser.add_argument("--db", action="store_true", help="also time the hub's publish on PostgreSQL")
    args = parser.parse_args()
    pure(args)
    if args.db:
        database(args.accounts)


def database(n: int) -> None:
    import secrets
    import tempfile

    from stack.embedded import EmbeddedPostgres
    from stack.ports import free_port

    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="liabilities-bench-") as tmp:
        work = Path(tmp)
        pg = EmbeddedPostgres(work / "pg", fsync=True).start()
        try:
            key_file = work / "hub.key"
            key_file.write_text("0x" + secrets.token_hex(32))
            os.environ.update({"DATABASE_URL": pg.url("postgres"), "HUB_PRIVATE_KEY_FILE": str(key_file),
                               "ETH_RPC_URL": f"http://127.0.0.1:{free_port()}",
                               "CHANNEL_MANAGER_ADDRESS": "", "DEBUG": "false",
                               "SECRET_KEY": secrets.token_urlsafe(48), "ALLOWED_HOSTS": "127.0.0.1",
                               "SECURE_SSL_REDIRECT": "false", "LOG_LEVEL": "WARNING",
                               "SPOKE_NO_DEVDATA": "1", "DJANGO_SETTINGS_MODULE": "config.settings"})
            os.chdir(root)
            import django
            from django.core.management import call_command

            django.setup()
            call_command("migrate", "--noinput", verbosity=0)
            from django.db import connection, transaction

            from hub.liabilities.selectors import proofs_for
            from hub.liabilities.services import liabilities_publish

            t0 = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO hub_ledgerentry (posting, account, asset, amount, memo, created_at) "
                    "SELECT gen_random_uuid(), 'custodial:0x' || lpad(to_hex(i), 40, '0'), a, "
                    "(i * 7919 + 1)::numeric(78,0), 'bench', now() "
                    "FROM generate_series(1, %s) i, unnest(ARRAY['wei', 'token']) a", [n])
                cursor.execute(
                    "INSERT INTO hub_ledgerentry (posting, account, asset, amount, memo, created_at) "
                    "SELECT gen_random_uuid(), 'hub:custodial_float', a, "
                    "-(SELECT sum(i * 7919 + 1) FROM generate_series(1, %s) i), 'bench', now() "
                    "FROM unnest(ARRAY['wei', 'token']) a", [n])
            from hub.chain.signer import hub_state_signer

            hub_state_signer()  # load the key before the clock starts (once per process)
            t1, c1 = time.perf_counter(), time.process_time()
            if os.environ.get("BENCH_PROFILE"):
                import cProfile
                cProfile.runctx("liabilities_publish(trigger='operator', requested_by='bench')",
                                globals(), locals(), sort="cumulative")
            root = liabilities_publish(trigger="operator", requested_by="bench")
            t2, c2 = time.perf_counter(), time.process_time()
            first = proofs_for(root, ["custodial:0x" + "0" * 39 + "1"])
            t3 = time.perf_counter()
            second = proofs_for(root, ["custodial:0x" + f"{n:040x}"])
            t4 = time.perf_counter()
            assert len(first) == len(second) == 2
            print(f"hub publish on PostgreSQL for {n} accounts ({2 * n} ledger rows seeded in "
                  f"{t1 - t0:.1f} s):")
            print(f"  liabilities_publish():  {t2 - t1:7.2f} s   <- read ledger, build, sign, store "
                  f"{root.roots['wei']['leaves'] + root.roots['token']['leaves']} leaves "
                  f"({c2 - c1:.2f} s of this process's CPU; load {os.getloadavg()[0]:.1f})")
            print(f"  first proof (rebuilds the tree from stored leaves): {t3 - t2:.2f} s")
            print(f"  next proof (cached tree): {(t4 - t3) * 1e3:.1f} ms")
            connection.close()
        finally:
            pg.stop()


def pure(args: argparse.Namespace) -> None:
    rng = random.Random(21)
    secret = os.urandom(32)
    accounts = [f"custodial:0x{rng.getrandbits(160):040x}" for _ in range(args.accounts)]
    amounts = {a: [rng.randrange(10**24) for _ in accounts] for a in ASSETS}

    t0, c0 = time.perf_counter(), time.process_time()
    leaves = {a: [make_leaf(account=acct, salt=hmac.new(secret, f"{a}:{acct}".encode(),
                                                          hashlib.sha256).digest(),
                            asset=a, amount=amounts[a][i]) for i, acct in enumerate(accounts)]
              for a in ASSETS}
    t1 = time.perf_counter()
    trees = {a: build_tree(a, leaves[a]) for a in ASSETS}
    t2, c2 = time.perf_counter(), time.process_time()
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
    print(f"  build total:            {t2 - t0:7.2f} s   <- time to build the tree "
          f"({c2 - c0:.2f} s of CPU; wall time grows with the machine's load: "
          f"{os.getloadavg()[0]:.1f} now)")
    print(f"  one proof per leaf:     {t4 - t3:7.2f} s ({len(proofs)} proofs, depth "
          f"{len(proofs[0]['path'])})")
    print(f"  verify {len(sample)} proofs:      {t5 - t4:7.2f} s "
          f"({(t5 - t4) / len(sample) * 1e3:.2f} ms each)")


if __name__ == "__main__":
    main()
