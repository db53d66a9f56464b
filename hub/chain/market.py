"""Market data read from the node: fee history for gas prices, and an AggregatorV3-style
price feed (`latestRoundData`, `decimals`) for the ETH→token rate."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from web3 import Web3

from hub.chain.client import get_web3

AGGREGATOR_V3_ABI = [
    {"name": "decimals", "type": "function", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint8"}]},
    {"name": "latestRoundData", "type": "function", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "roundId", "type": "uint80"}, {"name": "answer", "type": "int256"},
                 {"name": "startedAt", "type": "uint256"}, {"name": "updatedAt", "type": "uint256"},
                 {"name": "answeredInRound", "type": "uint80"}]},
]


@dataclass(frozen=True)
class FeedReading:
    rate: str  # decimal string, tokens per ETH
    updated_at: int  # unix seconds, from the feed


def read_price_feed(address: str) -> FeedReading:
    """The feed's latest answer as a decimal string. Raises ValueError on a non-positive answer."""
    w3 = get_web3()
    feed = w3.eth.contract(address=Web3.to_checksum_address(address), abi=AGGREGATOR_V3_ABI)
    decimals = int(feed.functions.decimals().call())
    _round, answer, _started, updated_at, _answered = feed.functions.latestRoundData().call()
    if int(answer) <= 0:
        raise ValueError("price feed answer is not positive")
    rate = (Decimal(int(answer)) / (Decimal(10) ** decimals)).normalize()
    text = format(rate, "f")
    return FeedReading(rate=text, updated_at=int(updated_at))


@dataclass(frozen=True)
class FeeReading:
    block_number: int
    base_fee_wei: int
    priority_fee_wei: int


def read_fees(blocks: int = 10, percentile: float = 60.0) -> FeeReading:
    """Next block's base fee and the median-ish priority tip over recent blocks."""
    w3 = get_web3()
    history = w3.eth.fee_history(blocks, "latest", [percentile])
    base_fees = history["baseFeePerGas"]
    rewards = [r[0] for r in history.get("reward") or [] if r]
    tip = sorted(rewards)[len(rewards) // 2] if rewards else w3.to_wei(1, "gwei")
    return FeeReading(
        block_number=int(history["oldestBlock"]) + len(base_fees) - 1,
        base_fee_wei=int(base_fees[-1]),
        priority_fee_wei=max(int(tip), 1),
    )


def latest_block_time() -> int:
    return int(get_web3().eth.get_block("latest")["timestamp"])
