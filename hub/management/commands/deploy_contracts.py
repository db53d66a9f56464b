"""Deploy the ChannelManager and the Checkout (and, on development chains, the test token), record the addresses
in settings.CONTRACTS_FILE and fund the hub. Idempotent: run by `./spoke up` on every start."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from hub.chain import deploy

DEV_CHAIN_ID = 31337
# anvil's well-known development account 0 (public knowledge; used on chain 31337 only).
ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ETH = 10**18


def _load_hub_key(path: Path | None) -> LocalAccount:
    if path is None:
        raise CommandError("HUB_PRIVATE_KEY_FILE is not set")
    try:
        text = Path(path).read_text().strip()
    except OSError as err:
        raise CommandError(f"cannot read HUB_PRIVATE_KEY_FILE ({path}): {err.strerror}") from None
    try:
        return Account.from_key(text)
    except Exception:  # never echo the key or the parser's message about it
        raise CommandError(f"HUB_PRIVATE_KEY_FILE ({path}) does not hold a hex private key") from None


def _read_records(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError:
        raise CommandError(f"{path} is not valid JSON") from None
    return data if isinstance(data, dict) else {}


def _write_records(path: Path, records: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".contracts-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(records, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


class Command(BaseCommand):
    help = (
        "Deploy the ChannelManager (and a test token on development chains) unless the addresses "
        "recorded for this chain id have code; record them in CONTRACTS_FILE; on development "
        "chains fund the hub account and top its reserves up. Never prints the hub key."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--reserve-wei", type=int,
                            default=getattr(settings, "DEV_HUB_RESERVE_WEI", 100 * ETH),
                            help="development chains: hub ETH reserve to top up to (wei)")
        parser.add_argument("--reserve-tokens", type=int,
                            default=getattr(settings, "DEV_HUB_RESERVE_TOKENS", 100_000 * ETH),
                            help="development chains: hub token reserve to top up to (base units)")
        parser.add_argument("--hub-eth", type=int, default=getattr(settings, "DEV_HUB_ETH", 1_000 * ETH),
                            help="development chains: ETH the hub account keeps for gas (wei)")
        parser.add_argument("--hub-tokens", type=int,
                            default=getattr(settings, "DEV_HUB_TOKENS", 10_000 * ETH),
                            help="development chains: tokens the hub account keeps for on-chain "
                                 "token payouts (settlements, custodial withdrawals, link claims)")
        parser.add_argument("--force", action="store_true", help="deploy anew even if recorded")

    def handle(self, *args: Any, **options: Any) -> None:
        w3 = Web3(Web3.HTTPProvider(settings.ETH_RPC_URL, request_kwargs={"timeout": 30}))
        try:
            chain_id = w3.eth.chain_id
        except Exception as err:
            raise CommandError(f"no Ethereum node at ETH_RPC_URL: {type(err).__name__}") from None
        if chain_id != settings.CHAIN_ID:
            raise CommandError(f"the node reports chain id {chain_id}, settings.CHAIN_ID is {settings.CHAIN_ID}")
        dev = chain_id == DEV_CHAIN_ID
        hub = _load_hub_key(settings.HUB_PRIVATE_KEY_FILE)
        self.stdout.write(f"hub account {hub.address} on chain {chain_id}")

        if dev:
            self._fund_hub_account(w3, hub, options["hub_eth"])

        path = Path(settings.CONTRACTS_FILE)
        records = _read_records(path)
        entry = records.get(str(chain_id)) or {}
        if not options["force"] and self._usable(w3, entry, hub):
            self.stdout.write(f"contracts already deployed: ChannelManager {entry['channel_manager']}, "
                              f"token {entry['token']}, Checkout {entry.get('checkout') or '(none yet)'}")
        else:
            entry = self._deploy(w3, hub, dev).as_record()
            records[str(chain_id)] = entry
            _write_records(path, records)
            self.stdout.write(f"deployed ChannelManager {entry['channel_manager']} (block {entry['block']}), "
                              f"token {entry['token']}, Checkout {entry['checkout']}; recorded in {path}")
        if not deploy.has_code(w3, entry.get("checkout")) or (
                deploy.contract_at(w3, deploy.CHECKOUT, str(entry["checkout"])).functions.operator().call()
                != hub.address):
            checkout, block = deploy.deploy_checkout(w3, hub, operator=hub.address)
            entry = {**entry, "checkout": checkout.address, "checkout_block": block}
            records[str(chain_id)] = entry
            _write_records(path, records)
            self.stdout.write(f"deployed Checkout {checkout.address} (block {block}); recorded in {path}")

        if dev:
            added_wei, added_tokens = deploy.top_up_hub_reserves(
                w3, hub, channel_manager=entry["channel_manager"], token=entry["token"],
                target_wei=options["reserve_wei"], target_tokens=options["reserve_tokens"],
            )
            wallet_tokens = deploy.contract_at(w3, deploy.TEST_ERC20, entry["token"]).functions.balanceOf(
                hub.address).call()
            if wallet_tokens < options["hub_tokens"] // 2:
                deploy.mint_tokens(w3, hub, entry["token"], hub.address, options["hub_tokens"] - wallet_tokens)
            reserve_wei, reserve_tokens = deploy.hub_reserves(w3, entry["channel_manager"])
            self.stdout.write(f"hub reserves: {reserve_wei} wei (+{added_wei}), "
                              f"{reserve_tokens} token units (+{added_tokens})")

    def _usable(self, w3: Web3, entry: dict[str, Any], hub: LocalAccount) -> bool:
        manager, token = entry.get("channel_manager"), entry.get("token")
        if not (deploy.has_code(w3, manager) and deploy.has_code(w3, token)):
            return False
        onchain_hub = deploy.contract_at(w3, deploy.CHANNEL_MANAGER, str(manager)).functions.hub().call()
        if onchain_hub != hub.address:
            self.stderr.write(f"the recorded ChannelManager belongs to hub {onchain_hub}, not to this "
                              "hub key: deploying a new one")
            return False
        return True

    def _deploy(self, w3: Web3, hub: LocalAccount, dev: bool) -> deploy.Deployment:
        token = None
        if not dev:
            token = settings.TOKEN_ADDRESS
            if not token or not deploy.has_code(w3, token):
                raise CommandError("on a non-development chain set TOKEN_ADDRESS to the channel token "
                                   "(the test token is deployed on chain 31337 only)")
        return deploy.deploy_all(w3, hub, challenge_period=settings.CHALLENGE_PERIOD, token=token)

    def _fund_hub_account(self, w3: Web3, hub: LocalAccount, target: int) -> None:
        balance = w3.eth.get_balance(hub.address)
        if balance >= target // 2:
            return
        funder = Account.from_key(ANVIL_DEV_KEY)
        if funder.address == hub.address:
            return
        deploy.send_eth(w3, funder, hub.address, target - balance)
        self.stdout.write(f"funded the hub account with {target - balance} wei from anvil account 0")
