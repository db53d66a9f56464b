"""A wallet: deposit ETH, swap some to tokens, pay a merchant, keep state in a JSON file.

    python client/examples/wallet_deposit_pay.py \\
        http://127.0.0.1:8000/api/hub http://127.0.0.1:8545 0x<user private key> 0x<merchant>
"""

from __future__ import annotations

import sys

from spoke_client import Channel, ChannelManagerClient, HubClient, JsonFileStateStore, UserKey


def main(hub_url: str, rpc_url: str, private_key: str, merchant: str) -> None:
    key = UserKey(private_key)
    hub = HubClient(hub_url, key)
    config = hub.config()
    chain = ChannelManagerClient.from_url(rpc_url, config["contractAddress"], account=key.account,
                                          token_address=config["tokenAddress"])
    channel = Channel(hub, store=JsonFileStateStore(f"wallet-{key.address}.json"), chain=chain,
                      config=config)
    channel.sync()  # countersign anything the hub has for us (payments, collateral, confirms)

    channel.deposit(amount_wei=10**17)  # waits for the hub's ConfirmPending
    channel.exchange(wei_to_sell=5 * 10**16)
    result = channel.pay(merchant, amount_token=2 * 10**18, meta={"order": "A-1001"})
    print("purchase", result.purchase_id, "state", result.state)


if __name__ == "__main__":
    main(*sys.argv[1:5])
