"""The database round trips of one PT_CHANNEL purchase through the HTTP API (issue 20: the hub's
hot path), counted with the statements Django sends: BEGIN, the lock, the read after it (it takes
the keys of every row the purchase writes, and reads what the delivery yield and the payments
listeners need), one statement that writes everything, COMMIT."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hub.channels.models import ChannelUpdate
from hub.purchases.models import Payment
from payments.dashboard.volume import volume_discrepancies
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hub.api.test_channel_flows import set_rate
from tests.purchases.helpers import (
    accept_hub_updates,
    collateralize,
    funded_user,
    last_key,
    pay_request,
)

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


@pytest.mark.delivery_yield
def test_a_channel_purchase_is_five_round_trips_with_one_write(hub_chain: ChainEnv) -> None:
    set_rate("100")
    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    bob = funded_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, bob)
    counts = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            response = alice.post("payments/purchase", {"meta": {}, "payments": [
                pay_request(alice, bob.address, token=TOKEN // 10, ptype="PT_CHANNEL")]})
        assert response.status_code == 200, response.content
        statements = [q["sql"] for q in queries.captured_queries if "ops_globalswitches" not in q["sql"]]
        counts.append(len(statements))
        writes = [s for s in statements if s.lstrip().upper().startswith(("WITH", "INSERT", "UPDATE"))]
        assert len(writes) == 1, "\n".join(w[:120] for w in writes)
        # BEGIN, the lock, the read after it, the write, COMMIT
        assert statements[0] == "BEGIN" and statements[-1] == "COMMIT"
        assert statements[1].endswith("FOR UPDATE") and statements[2].startswith("SELECT l.*")
        assert "FOR UPDATE" not in statements[2]
    assert counts == [5, 5, 5], counts
    # the rows written with keys reserved under the lock: each channel's updates keep ascending ids
    for user in (alice.address, bob.address):
        ids = list(ChannelUpdate.objects.filter(channel__user=user).order_by("tx_count_global")
                   .values_list("id", flat=True))
        assert ids == sorted(ids)
    assert [p.status for p in Payment.objects.all()] == ["completed"] * 3
    assert volume_discrepancies() == {}  # the overview (rollup + the payments after its watermark) counts them
    assert accept_hub_updates(hub_chain, bob) == ["Payment"] * 3
    assert bob.latest.balance_token_user == 3 * (TOKEN // 10)


def test_a_purchase_reserves_under_the_lock_exactly_the_keys_of_the_rows_it_writes(hub_chain: ChainEnv) -> None:
    """Two channel payments to one recipient: a state per channel payment in the payer's channel
    and in the recipient's, a key per payment, all taken with the lock. A key too few sends a
    row in a statement of its own; a key too many is a sequence value that no row carries."""
    set_rate("100")
    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    bob = funded_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, bob)
    before = {model: last_key(model) for model in (ChannelUpdate, Payment)}
    with CaptureQueriesContext(connection) as queries:
        response = alice.post("payments/purchase", {"meta": {}, "payments": [
            pay_request(alice, bob.address, token=TOKEN // 10, ptype="PT_CHANNEL"),
            pay_request(alice, bob.address, token=TOKEN // 5, ptype="PT_CHANNEL")]})
    assert response.status_code == 200, response.content
    writes = [q["sql"] for q in queries.captured_queries if "ops_globalswitches" not in q["sql"]
              and q["sql"].lstrip().upper().startswith(("WITH", "INSERT", "UPDATE"))]
    assert len(writes) == 1, "\n".join(w[:120] for w in writes)
    assert Payment.objects.count() == 2
    assert ChannelUpdate.objects.filter(reason="Payment").count() == 4  # 2 in alice's, 2 in bob's
    for model, written in ((ChannelUpdate, 4), (Payment, 2)):  # every key taken is a row's
        assert last_key(model) - before[model] == written
        assert model.objects.filter(pk__gt=before[model]).count() == written
