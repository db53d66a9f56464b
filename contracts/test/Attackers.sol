// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

// Test-only contracts that misbehave on purpose. Never deploy them outside tests.

/// @notice Forwards calls, so that a contract can be a channel user or a payout recipient.
abstract contract CallForwarder {
    function forward(address target, uint256 value, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    function approveToken(address token, address spender, uint256 amount) external {
        ERC20(token).approve(spender, amount);
    }
}

/// @notice An ERC20 whose transfer and transferFrom call back into a target (the ChannelManager)
/// with preset calldata before moving the tokens, recording whether the re-entry succeeded.
contract ReentrantToken is ERC20 {
    address public target;
    bytes public reentryData;
    uint256 public reentryAttempts;
    uint256 public reentrySuccesses;
    bytes public lastRevertData;

    constructor() ERC20("Reentrant Token", "REENT") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata data) external {
        target = target_;
        reentryData = data;
    }

    function disarm() external {
        target = address(0);
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        _reenter();
        return super.transfer(to, value);
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        _reenter();
        return super.transferFrom(from, to, value);
    }

    function _reenter() private {
        if (target == address(0)) {
            return;
        }
        reentryAttempts += 1;
        (bool ok, bytes memory ret) = target.call(reentryData);
        if (ok) {
            reentrySuccesses += 1;
        } else {
            lastRevertData = ret;
        }
    }
}

/// @notice Receives ETH and, while armed, re-enters a target with preset calldata from receive().
contract ReentrantReceiver is CallForwarder {
    address public target;
    bytes public reentryData;
    uint256 public reentryAttempts;
    uint256 public reentrySuccesses;
    bytes public lastRevertData;

    function arm(address target_, bytes calldata data) external {
        target = target_;
        reentryData = data;
    }

    function disarm() external {
        target = address(0);
    }

    receive() external payable {
        if (target == address(0)) {
            return;
        }
        reentryAttempts += 1;
        (bool ok, bytes memory ret) = target.call(reentryData);
        if (ok) {
            reentrySuccesses += 1;
        } else {
            lastRevertData = ret;
        }
    }
}

/// @notice Refuses every ETH transfer.
contract RevertingReceiver is CallForwarder {
    receive() external payable {
        revert("RevertingReceiver: no thanks");
    }
}

/// @notice A USDT-style token: transfer, transferFrom and approve return nothing.
contract NoReturnToken {
    string public constant name = "No Return Token";
    string public constant symbol = "NORET";
    uint8 public constant decimals = 18;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function transfer(address to, uint256 value) external {
        _move(msg.sender, to, value);
    }

    function transferFrom(address from, address to, uint256 value) external {
        require(allowance[from][msg.sender] >= value, "allowance");
        allowance[from][msg.sender] -= value;
        _move(from, to, value);
    }

    function approve(address spender, uint256 value) external {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
    }

    function _move(address from, address to, uint256 value) private {
        require(balanceOf[from] >= value, "balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}

/// @notice Burns 1% of every transfer between two non-zero addresses.
contract FeeOnTransferToken is ERC20 {
    constructor() ERC20("Fee Token", "FEE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = value / 100;
            super._update(from, address(0), fee);
            super._update(from, to, value - fee);
        } else {
            super._update(from, to, value);
        }
    }
}
