"""Keccak-256 of bytes, for the core: eth-hash's pysha3 backend (`safe-pysha3`, a C extension),
about four times faster than the pycryptodome backend that `eth_hash.auto` picks when both are
installed (1.2 against 4.7 µs a hash, of which a payment takes about ten; the proof of
liabilities takes two per account). Same function, same digests: eth-hash's own backend."""

from __future__ import annotations

try:
    from eth_hash.backends.pysha3 import PySha3Backend

    keccak = PySha3Backend().keccak256
except ImportError:  # pragma: no cover - safe-pysha3 is a dependency; eth-hash's choice otherwise
    from eth_hash.auto import keccak

__all__ = ["keccak"]
