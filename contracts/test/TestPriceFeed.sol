// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice A settable price feed with the Chainlink AggregatorV3 read interface, for local chains:
/// the hub's exchange-rate reader is tested against it.
contract TestPriceFeed {
    uint8 public immutable decimals;
    address public immutable owner;
    uint80 private round;
    int256 private answer;
    uint256 private updatedAt;

    constructor(uint8 decimals_, int256 answer_) {
        decimals = decimals_;
        owner = msg.sender;
        _set(answer_, block.timestamp);
    }

    function setAnswer(int256 answer_, uint256 updatedAt_) external {
        require(msg.sender == owner, "only the owner");
        _set(answer_, updatedAt_);
    }

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer_, uint256 startedAt, uint256 updatedAt_, uint80 answeredInRound)
    {
        return (round, answer, updatedAt, updatedAt, round);
    }

    function _set(int256 answer_, uint256 updatedAt_) private {
        round += 1;
        answer = answer_;
        updatedAt = updatedAt_;
    }
}
