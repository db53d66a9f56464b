"""The merchant fixtures (a shop with a secret API key) for the hostile-input tests."""

from __future__ import annotations

from tests.payments.conftest import make_shop, shop  # noqa: F401  (fixtures)
