"""Thread tests reuse the dispute tests' private anvil (short challenge period)."""

from tests.hub.disputes.conftest import own_chain  # noqa: F401
