"""Leave the channel with the wallet's own latest double-signed state when the hub is gone.

    python client/examples/exit_without_hub.py wallet.json 0x<contract> \\
        0x<hub address> http://127.0.0.1:8545 0x<user private key> [start|empty|export]
"""

from __future__ import annotations

import json
import sys

from spoke_client import Channel, ChannelManagerClient, HubClient, JsonFileStateStore, UserKey


def main(store_path: str, contract: str, hub_address: str, rpc_url: str, private_key: str,
         action: str = "export") -> None:
    key = UserKey(private_key)
    # the hub is never contacted: the config is given and only chain calls are made
    channel = Channel(
        HubClient("http://hub.invalid/api/hub", key),
        store=JsonFileStateStore(store_path),
        chain=ChannelManagerClient.from_url(rpc_url, contract, account=key.account),
        config={"contractAddress": contract, "hubAddress": hub_address},
    )
    if action == "export":
        # the exact arguments of startExitWithUpdate / emptyChannelWithChallenge
        print(json.dumps(channel.export_exit_args(), indent=2))
    elif action == "start":
        print("exit started:", channel.start_exit())
    elif action == "empty":
        # after the challenge period (or to answer the hub's exit with a newer state)
        print("channel emptied:", channel.empty_channel())


if __name__ == "__main__":
    main(*sys.argv[1:7])
