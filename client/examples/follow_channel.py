"""A shop backend that runs its own channel and countersigns incoming payments as they arrive
(WebSocket /ws/channel/ pushes, polling while the socket is down).

    python client/examples/follow_channel.py http://127.0.0.1:8000/api/hub 0x<key>
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

from spoke_client import Channel, HubClient, JsonFileStateStore, SigningPolicy, UserKey


def main(hub_url: str, private_key: str) -> None:
    logging.basicConfig(level=logging.INFO)
    key = UserKey(private_key)
    # a receiving merchant: accept hub payments and collateral, nothing else
    policy = SigningPolicy(accept_hub_payments=True, accept_hub_collateral=True)
    channel = Channel(HubClient(hub_url, key), store=JsonFileStateStore("merchant-channel.json"),
                      policy=policy)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    channel.watch(stop)
    print("latest state:", channel.state)


if __name__ == "__main__":
    main(*sys.argv[1:3])
