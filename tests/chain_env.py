"""A deployed ChannelManager on a session anvil, and Django settings pointing at it."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from hub.chain.deploy import Deployment, deploy_all, fund_hub_reserves, mint_tokens, send_eth
from stack.embedded import Anvil

ETH = 10**18
TOKEN = 10**18


@dataclass
class ChainEnv:
    anvil: Anvil
    w3: Web3
    hub: LocalAccount
    funder: LocalAccount
    key_file: Path
    deployment: Deployment
    challenge_period: int

    @property
    def rpc_url(self) -> str:
        return self.anvil.rpc_url

    def new_user(self, *, eth: int = 10 * ETH, tokens: int = 0) -> LocalAccount:
        user: LocalAccount = Account.create()
        if eth:
            send_eth(self.w3, self.funder, user.address, eth)
        if tokens:
            mint_tokens(self.w3, self.hub, self.deployment.token, user.address, tokens)
        return user

    def mine(self, seconds: int = 0) -> None:
        if seconds:
            self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def deploy_chain_env(anvil: Anvil, directory: Path, *, challenge_period: int = 600,
                     reserve_wei: int = 100 * ETH, reserve_tokens: int = 100_000 * TOKEN) -> ChainEnv:
    w3 = Web3(HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 30}))
    funder = Account.from_key(Anvil.DEV_KEY)
    hub: LocalAccount = Account.create()
    send_eth(w3, funder, hub.address, 1_000 * ETH)
    deployment = deploy_all(w3, hub, challenge_period=challenge_period)
    fund_hub_reserves(w3, hub, channel_manager=deployment.channel_manager,
                      token=deployment.token, wei=reserve_wei, tokens=reserve_tokens)
    # the hub's own wallet pays on-chain token payouts (settlements, custodial withdrawals)
    mint_tokens(w3, hub, deployment.token, hub.address, 10_000 * TOKEN)
    directory.mkdir(parents=True, exist_ok=True)
    key_file = directory / "hub.key"
    key_file.write_text(hub.key.hex())
    key_file.chmod(0o600)
    return ChainEnv(anvil, w3, hub, funder, key_file, deployment, challenge_period)


def cached_chain_env(anvil: Anvil, directory: Path, cache: str | None) -> ChainEnv:
    """`deploy_chain_env`, or with `cache` (a file path, set by `./spoke mutate` as
    SPOKE_TEST_CHAIN_CACHE) the same deployment loaded into this anvil (anvil_loadState): the
    first session deploys and saves the chain's state, the hub key and the addresses; every later
    session (one per mutant) gets the same contracts on its own anvil without deploying again."""
    if not cache:
        return deploy_chain_env(anvil, directory)
    path = Path(cache)
    if not path.exists():
        env = deploy_chain_env(anvil, directory)
        state = env.w3.provider.make_request("anvil_dumpState", [])["result"]  # type: ignore[arg-type]
        saved = {"state": state, "hub_key": env.hub.key.hex(), "deployment": asdict(env.deployment),
                 "challenge_period": env.challenge_period}
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(saved))
        partial.replace(path)  # whole or not at all for a session starting meanwhile
        return env
    saved = json.loads(path.read_text())
    w3 = Web3(HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 30}))
    loaded = w3.provider.make_request("anvil_loadState", [saved["state"]])  # type: ignore[arg-type]
    assert loaded.get("result") is True, loaded
    hub: LocalAccount = Account.from_key(saved["hub_key"])
    directory.mkdir(parents=True, exist_ok=True)
    key_file = directory / "hub.key"
    key_file.write_text(hub.key.hex())
    key_file.chmod(0o600)
    return ChainEnv(anvil, w3, hub, Account.from_key(Anvil.DEV_KEY), key_file,
                    Deployment(**saved["deployment"]), saved["challenge_period"])


def point_settings_at(settings: object, env: ChainEnv) -> None:
    """Configure Django (pytest-django's `settings` fixture) for `env` and drop cached clients."""
    settings.ETH_RPC_URL = env.rpc_url  # type: ignore[attr-defined]
    settings.CHAIN_ID = Anvil.CHAIN_ID  # type: ignore[attr-defined]
    settings.CHANNEL_MANAGER_ADDRESS = env.deployment.channel_manager  # type: ignore[attr-defined]
    settings.TOKEN_ADDRESS = env.deployment.token  # type: ignore[attr-defined]
    settings.CHECKOUT_ADDRESS = env.deployment.checkout  # type: ignore[attr-defined]
    settings.HUB_PRIVATE_KEY_FILE = env.key_file  # type: ignore[attr-defined]
    settings.HUB_KEYSTORE_FILE = None  # type: ignore[attr-defined]
    settings.CONFIRMATIONS = 0  # type: ignore[attr-defined]
    clear_chain_caches()


def ingest_from_now(settings: object, env: ChainEnv, directory: Path) -> None:
    """Record the chain's head as the contracts' deployment block for this test: its ingestion
    starts in the next block. The session's anvil is shared by a worker's tests and each test's
    database starts empty, so without this every test would ingest every earlier test's events
    (channels it never opened, disputes it never started) before its own."""
    start = env.w3.eth.block_number + 1
    entry = {"channel_manager": env.deployment.channel_manager, "block": start,
             "checkout": env.deployment.checkout, "checkout_block": start}
    path = directory / "contracts.json"
    path.write_text(json.dumps({str(Anvil.CHAIN_ID): entry}))
    settings.CONTRACTS_FILE = path  # type: ignore[attr-defined]


def clear_chain_caches() -> None:
    from hub.chain import channel_manager, client, signer

    client._web3_for.cache_clear()
    signer.hub_signer_cache_clear()
    channel_manager._contract.cache_clear()


def submit_and_confirm(tx_id: int) -> None:
    """Send an outbox transaction and record its outcome once the node shows it mined, as the
    outbox's scheduled check does a second after the send. anvil answers eth_sendRawTransaction
    before the block that mines it can be read (on this machine up to ~90 ms later): a check in
    that window finds no receipt, or one above the head it read, and leaves the row SUBMITTED."""
    from hub.chain.client import get_web3
    from hub.chain.models import ChainTransactionAttempt
    from hub.chain.outbox import transaction_check, transaction_submit

    transaction_submit(tx_id=tx_id)
    w3 = get_web3()
    for tx_hash in ChainTransactionAttempt.objects.filter(transaction_id=tx_id).values_list("tx_hash", flat=True):
        w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.01)
    transaction_check(tx_id=tx_id)
