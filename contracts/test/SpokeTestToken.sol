// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice The channel token on local and test chains: 18 decimals, minted by its deployer only.
contract SpokeTestToken is ERC20 {
    address public immutable minter;

    constructor() ERC20("Spoke Test Dollar", "SPD") {
        minter = msg.sender;
    }

    function mint(address to, uint256 amount) external {
        require(msg.sender == minter, "only the deployer can mint");
        _mint(to, amount);
    }
}
