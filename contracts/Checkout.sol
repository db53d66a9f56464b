// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title Spoke Checkout
/// @notice Pays a Spoke invoice on-chain from any wallet. The hub (the operator) signs a payment
/// intent (EIP-712) naming the invoice, the merchant's address, the asset, the exact amount, a
/// deadline and the payer's refund address; the payer's wallet submits it with the value. The
/// exact amount reaches the recipient in the same transaction or the call reverts, and
/// `CheckoutPaid` is the hub's proof of payment (ingested after confirmations).
/// @dev Modelled on the design of Coinbase Commerce's `Transfers` contract (operator-signed
/// transfer intents, one use per intent, deadline, exact amount), written for Spoke:
///  - the EIP-712 domain binds the chain id and this contract's address, so an intent cannot be
///    replayed on another chain or deployment; the operator is fixed at deployment;
///  - an intent is used once (by its digest), whatever the outcome of later calls;
///  - ETH: `msg.value` must equal the amount; tokens: `msg.value` must be zero, the asset must
///    be the token named in the intent and the recipient must receive exactly the amount
///    (fee-on-transfer tokens are refused);
///  - no fee, no swap: the payer pays the invoice's own asset;
///  - `nonReentrant`, state written before any transfer, pausable by the owner.
contract Checkout is EIP712, Ownable, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    string public constant VERSION = "spoke-checkout-1";

    /// The EIP-712 type the operator signs.
    bytes32 public constant INTENT_TYPEHASH = keccak256(
        "PaymentIntent(bytes32 invoice,uint256 nonce,address recipient,address asset,uint256 amount,uint256 deadline,address refundDestination)"
    );

    struct PaymentIntent {
        bytes32 invoice; // the invoice id (ASCII, left-aligned)
        uint256 nonce; // random per intent: several intents may pay one invoice (partial payments)
        address recipient; // the merchant's receiving address
        address asset; // address(0) for ETH, else the ERC-20 token
        uint256 amount; // exact, in base units
        uint256 deadline; // unix time after which the intent is refused
        address refundDestination; // where the merchant refunds this payment
    }

    /// The hub key that signs intents.
    address public immutable operator;

    /// Digests of intents already used.
    mapping(bytes32 digest => bool used) public intentUsed;

    event CheckoutPaid(
        bytes32 indexed invoice,
        address indexed recipient,
        address indexed payer,
        address asset,
        uint256 amount,
        uint256 nonce,
        address refundDestination,
        bytes32 intentDigest
    );

    error IntentExpired();
    error IntentUsed();
    error InvalidSignature();
    error InvalidIntent();
    error WrongValue();
    error WrongAsset();
    error AmountNotReceived();

    constructor(address operator_, address owner_) EIP712("Spoke Checkout", "1") Ownable(owner_) {
        if (operator_ == address(0)) revert InvalidIntent();
        operator = operator_;
    }

    /// @notice The EIP-712 digest the operator signs for `intent`.
    function intentDigest(PaymentIntent calldata intent) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(
            INTENT_TYPEHASH, intent.invoice, intent.nonce, intent.recipient, intent.asset,
            intent.amount, intent.deadline, intent.refundDestination
        )));
    }

    /// @notice Pay an ETH intent: send exactly `intent.amount` wei with the call.
    function payNative(PaymentIntent calldata intent, bytes calldata signature)
        external payable nonReentrant whenNotPaused
    {
        if (intent.asset != address(0)) revert WrongAsset();
        if (msg.value != intent.amount) revert WrongValue();
        bytes32 digest = _use(intent, signature);
        emit CheckoutPaid(intent.invoice, intent.recipient, msg.sender, address(0), intent.amount,
                          intent.nonce, intent.refundDestination, digest);
        Address.sendValue(payable(intent.recipient), intent.amount);
    }

    /// @notice Pay a token intent: this contract must be allowed `intent.amount` of the token.
    function payToken(PaymentIntent calldata intent, bytes calldata signature)
        external payable nonReentrant whenNotPaused
    {
        if (intent.asset == address(0)) revert WrongAsset();
        if (msg.value != 0) revert WrongValue();
        bytes32 digest = _use(intent, signature);
        IERC20 token = IERC20(intent.asset);
        uint256 before = token.balanceOf(intent.recipient);
        token.safeTransferFrom(msg.sender, intent.recipient, intent.amount);
        if (token.balanceOf(intent.recipient) - before != intent.amount) revert AmountNotReceived();
        emit CheckoutPaid(intent.invoice, intent.recipient, msg.sender, intent.asset, intent.amount,
                          intent.nonce, intent.refundDestination, digest);
    }

    function pause() external onlyOwner {
        _pause();
    }

    function unpause() external onlyOwner {
        _unpause();
    }

    function _use(PaymentIntent calldata intent, bytes calldata signature) private returns (bytes32 digest) {
        // solhint-disable-next-line not-rely-on-time
        if (block.timestamp > intent.deadline) revert IntentExpired();
        if (intent.amount == 0 || intent.recipient == address(0) || intent.refundDestination == address(0)) {
            revert InvalidIntent();
        }
        digest = intentDigest(intent);
        if (intentUsed[digest]) revert IntentUsed();
        (address signer, ECDSA.RecoverError err, bytes32 errArg) = ECDSA.tryRecover(digest, signature);
        if (err != ECDSA.RecoverError.NoError || errArg != bytes32(0) || signer != operator) {
            revert InvalidSignature();
        }
        intentUsed[digest] = true;
    }
}
