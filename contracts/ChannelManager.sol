// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title Spoke ChannelManager
/// @notice The on-chain half of the Connext v1 payment-channel protocol: one channel per user
/// with the hub, holding ETH and the single `approvedToken`, plus unidirectional threads between
/// two users that are disputed through their channels.
/// @dev Interface-compatible with the Connext v1 ChannelManager (client 4.1.7 ABI): same function
/// selectors, same events, same state and thread hashes, signatures passed as hex strings.
/// Differences, all of which only reject inputs or move funds more safely:
///  - every external mutator is `nonReentrant` and writes all state before any transfer;
///  - ETH and token payouts to users never revert the caller's transaction: a payout the
///    recipient refuses is kept as a deferred balance it can claim later (`claimDeferred`), so a
///    hostile recipient cannot lock the other party's funds in a dispute;
///  - token deposits must arrive in full (fee-on-transfer tokens are rejected);
///  - signatures must be `0x` + 130 hex digits with a low `s` (OpenZeppelin ECDSA); a signature
///    that does not parse or recover is rejected, never treated as the zero address;
///  - an initial thread state always needs a Merkle proof (no zero-root bypass), and the proof
///    must start with the leaf, as the client's MerkleTree.proof() produces it;
///  - a signed state must keep (threadRoot == 0) == (threadCount == 0), and after any pending
///    updates are applied or reverted, hub + user balances may not exceed the channel total.
contract ChannelManager is ReentrancyGuard {
    using SafeERC20 for IERC20;

    string public constant NAME = "Channel Manager";
    string public constant VERSION = "spoke-1";

    /// Gas forwarded with an ETH payout. Enough for any wallet's receive hook; bounded so that a
    /// recipient cannot burn the caller's gas. A recipient that needs more claims its deferred
    /// balance itself.
    uint256 private constant PAYOUT_GAS = 100_000;

    address public immutable hub;
    uint256 public immutable challengePeriod;
    IERC20 public immutable approvedToken;

    uint256 public totalChannelWei;
    uint256 public totalChannelToken;

    /// Payouts that a recipient refused; owed to it and excluded from the hub reserves.
    mapping(address => uint256) public deferredWei;
    mapping(address => uint256) public deferredToken;
    uint256 public totalDeferredWei;
    uint256 public totalDeferredToken;

    event DidHubContractWithdraw(uint256 weiAmount, uint256 tokenAmount);

    // The payload is the state that caused the update (pending fields not yet folded in).
    event DidUpdateChannel(
        address indexed user,
        uint256 senderIdx, // 0: hub, 1: user
        uint256[2] weiBalances, // [hub, user]
        uint256[2] tokenBalances, // [hub, user]
        uint256[4] pendingWeiUpdates, // [hubDeposit, hubWithdrawal, userDeposit, userWithdrawal]
        uint256[4] pendingTokenUpdates, // [hubDeposit, hubWithdrawal, userDeposit, userWithdrawal]
        uint256[2] txCount, // [global, onchain]
        bytes32 threadRoot,
        uint256 threadCount
    );

    // The channel state after any update applied by startExitWithUpdate.
    event DidStartExitChannel(
        address indexed user,
        uint256 senderIdx,
        uint256[2] weiBalances,
        uint256[2] tokenBalances,
        uint256[2] txCount,
        bytes32 threadRoot,
        uint256 threadCount
    );

    event DidEmptyChannel(
        address indexed user,
        uint256 senderIdx,
        uint256[2] weiBalances,
        uint256[2] tokenBalances,
        uint256[2] txCount,
        bytes32 threadRoot,
        uint256 threadCount
    );

    event DidStartExitThread(
        address user,
        address indexed sender,
        address indexed receiver,
        uint256 threadId,
        address senderAddress,
        uint256[2] weiBalances, // [sender, receiver]
        uint256[2] tokenBalances, // [sender, receiver]
        uint256 txCount
    );

    event DidChallengeThread(
        address indexed sender,
        address indexed receiver,
        uint256 threadId,
        address senderAddress,
        uint256[2] weiBalances,
        uint256[2] tokenBalances,
        uint256 txCount
    );

    event DidEmptyThread(
        address user,
        address indexed sender,
        address indexed receiver,
        uint256 threadId,
        address senderAddress,
        uint256[2] channelWeiBalances,
        uint256[2] channelTokenBalances,
        uint256[2] channelTxCount,
        bytes32 channelThreadRoot,
        uint256 channelThreadCount
    );

    event DidNukeThreads(
        address indexed user,
        address senderAddress,
        uint256 weiAmount,
        uint256 tokenAmount,
        uint256[2] channelWeiBalances,
        uint256[2] channelTokenBalances,
        uint256[2] channelTxCount,
        bytes32 channelThreadRoot,
        uint256 channelThreadCount
    );

    /// A payout the recipient refused; claimable with claimDeferred.
    event DidDeferPayout(address indexed recipient, uint256 weiAmount, uint256 tokenAmount);

    event DidClaimDeferred(address indexed recipient, address to, uint256 weiAmount, uint256 tokenAmount);

    enum ChannelStatus {
        Open,
        ChannelDispute,
        ThreadDispute
    }

    struct Channel {
        uint256[3] weiBalances; // [hub, user, total]
        uint256[3] tokenBalances; // [hub, user, total]
        uint256[2] txCount; // [global, onchain]; kept when the channel is emptied
        bytes32 threadRoot;
        uint256 threadCount;
        address exitInitiator;
        uint256 channelClosingTime;
        ChannelStatus status;
    }

    struct Thread {
        uint256[2] weiBalances; // [sender, receiver]
        uint256[2] tokenBalances; // [sender, receiver]
        uint256 txCount;
        uint256 threadClosingTime;
        bool[2] emptied; // [sender, receiver]
    }

    /// A channel state as both parties sign it.
    struct State {
        address user;
        address recipient;
        uint256[2] weiBalances;
        uint256[2] tokenBalances;
        uint256[4] pendingWeiUpdates;
        uint256[4] pendingTokenUpdates;
        uint256[2] txCount;
        bytes32 threadRoot;
        uint256 threadCount;
        uint256 timeout;
    }

    mapping(address => Channel) public channels;
    // threads[sender][receiver][threadId]
    mapping(address => mapping(address => mapping(uint256 => Thread))) private threads;

    modifier onlyHub() {
        require(msg.sender == hub, "only the hub can call this function");
        _;
    }

    constructor(address _hub, uint256 _challengePeriod, address _tokenAddress) {
        require(_hub != address(0), "hub can not be the zero address");
        require(_tokenAddress.code.length > 0, "token must be a contract");
        // Bounded so that closingTime + 10 * challengePeriod (nukeThreads) can never overflow.
        require(_challengePeriod > 0 && _challengePeriod <= 365 days, "challenge period out of range");
        hub = _hub;
        challengePeriod = _challengePeriod;
        approvedToken = IERC20(_tokenAddress);
    }

    /// Hub reserves are funded by plain transfers.
    receive() external payable {}

    // ---------------------------------------------------------------------------------------
    // Hub reserves
    // ---------------------------------------------------------------------------------------

    function hubContractWithdraw(uint256 weiAmount, uint256 tokenAmount) external nonReentrant onlyHub {
        require(
            getHubReserveWei() >= weiAmount,
            "hubContractWithdraw: Contract wei funds not sufficient to withdraw"
        );
        require(
            getHubReserveTokens() >= tokenAmount,
            "hubContractWithdraw: Contract token funds not sufficient to withdraw"
        );

        emit DidHubContractWithdraw(weiAmount, tokenAmount);

        if (weiAmount > 0) {
            Address.sendValue(payable(hub), weiAmount);
        }
        if (tokenAmount > 0) {
            approvedToken.safeTransfer(hub, tokenAmount);
        }
    }

    function getHubReserveWei() public view returns (uint256) {
        return _hubReserveWei(0);
    }

    function getHubReserveTokens() public view returns (uint256) {
        return approvedToken.balanceOf(address(this)) - totalChannelToken - totalDeferredToken;
    }

    // ---------------------------------------------------------------------------------------
    // Authorized updates
    // ---------------------------------------------------------------------------------------

    function hubAuthorizedUpdate(
        address user,
        address recipient,
        uint256[2] calldata weiBalances,
        uint256[2] calldata tokenBalances,
        uint256[4] calldata pendingWeiUpdates,
        uint256[4] calldata pendingTokenUpdates,
        uint256[2] calldata txCount,
        bytes32 threadRoot,
        uint256 threadCount,
        uint256 timeout,
        string calldata sigUser
    ) external nonReentrant onlyHub {
        State memory s = State(
            user, recipient, weiBalances, tokenBalances, pendingWeiUpdates, pendingTokenUpdates,
            txCount, threadRoot, threadCount, timeout
        );
        Channel storage channel = channels[user];

        _verifyAuthorizedUpdate(channel, s, true, 0);
        _requireSignedBy(_stateHash(s), sigUser, user, "user signature invalid");

        _updateChannel(channel, s);

        emit DidUpdateChannel(
            user, 0, weiBalances, tokenBalances, pendingWeiUpdates, pendingTokenUpdates, txCount,
            threadRoot, threadCount
        );

        _payout(recipient, pendingWeiUpdates[3], pendingTokenUpdates[3]);
    }

    function userAuthorizedUpdate(
        address recipient,
        uint256[2] calldata weiBalances,
        uint256[2] calldata tokenBalances,
        uint256[4] calldata pendingWeiUpdates,
        uint256[4] calldata pendingTokenUpdates,
        uint256[2] calldata txCount,
        bytes32 threadRoot,
        uint256 threadCount,
        uint256 timeout,
        string calldata sigHub
    ) external payable nonReentrant {
        require(msg.value == pendingWeiUpdates[2], "msg.value is not equal to pending user deposit");

        State memory s = State(
            msg.sender, recipient, weiBalances, tokenBalances, pendingWeiUpdates,
            pendingTokenUpdates, txCount, threadRoot, threadCount, timeout
        );
        Channel storage channel = channels[msg.sender];

        // msg.value is already in this contract's balance but is the user's deposit, not reserve.
        _verifyAuthorizedUpdate(channel, s, false, msg.value);
        _requireSignedBy(_stateHash(s), sigHub, hub, "hub signature invalid");

        _updateChannel(channel, s);

        emit DidUpdateChannel(
            msg.sender, 1, weiBalances, tokenBalances, pendingWeiUpdates, pendingTokenUpdates,
            txCount, threadRoot, threadCount
        );

        uint256 tokenDeposit = pendingTokenUpdates[2];
        if (tokenDeposit > 0) {
            // The channel was credited above; the deposit must arrive in full or everything reverts.
            uint256 balanceBefore = approvedToken.balanceOf(address(this));
            approvedToken.safeTransferFrom(msg.sender, address(this), tokenDeposit);
            // Fee-on-transfer tokens are rejected: the deposit must arrive in full.
            require(
                approvedToken.balanceOf(address(this)) - balanceBefore >= tokenDeposit,
                "user token deposit failed"
            );
        }

        _payout(recipient, pendingWeiUpdates[3], pendingTokenUpdates[3]);
    }

    // ---------------------------------------------------------------------------------------
    // Channel disputes
    // ---------------------------------------------------------------------------------------

    /// Start an exit with the state the contract already holds.
    function startExit(address user) external nonReentrant {
        require(user != hub, "user can not be hub");
        require(user != address(this), "user can not be channel manager");

        Channel storage channel = channels[user];
        require(channel.status == ChannelStatus.Open, "channel must be open");
        require(msg.sender == hub || msg.sender == user, "exit initiator must be user or hub");

        _beginChannelDispute(channel);
        _emitStartExit(user, channel);
    }

    /// Start an exit with a newer double-signed state.
    function startExitWithUpdate(
        address[2] calldata user, // [user, recipient]
        uint256[2] calldata weiBalances,
        uint256[2] calldata tokenBalances,
        uint256[4] calldata pendingWeiUpdates,
        uint256[4] calldata pendingTokenUpdates,
        uint256[2] calldata txCount,
        bytes32 threadRoot,
        uint256 threadCount,
        uint256 timeout,
        string calldata sigHub,
        string calldata sigUser
    ) external nonReentrant {
        Channel storage channel = channels[user[0]];
        require(channel.status == ChannelStatus.Open, "channel must be open");
        require(msg.sender == hub || msg.sender == user[0], "exit initiator must be user or hub");
        require(timeout == 0, "can't start exit with time-sensitive states");

        State memory s = State(
            user[0], user[1], weiBalances, tokenBalances, pendingWeiUpdates, pendingTokenUpdates,
            txCount, threadRoot, threadCount, timeout
        );
        _applyDisputedState(channel, s, sigHub, sigUser);

        _beginChannelDispute(channel);
        _emitStartExit(user[0], channel);
    }

    /// The party that did not start the exit answers with a newer double-signed state and empties
    /// the channel at once.
    function emptyChannelWithChallenge(
        address[2] calldata user,
        uint256[2] calldata weiBalances,
        uint256[2] calldata tokenBalances,
        uint256[4] calldata pendingWeiUpdates,
        uint256[4] calldata pendingTokenUpdates,
        uint256[2] calldata txCount,
        bytes32 threadRoot,
        uint256 threadCount,
        uint256 timeout,
        string calldata sigHub,
        string calldata sigUser
    ) external nonReentrant {
        Channel storage channel = channels[user[0]];
        require(channel.status == ChannelStatus.ChannelDispute, "channel must be in dispute");
        require(block.timestamp < channel.channelClosingTime, "channel closing time must not have passed");
        require(msg.sender != channel.exitInitiator, "challenger can not be exit initiator");
        require(msg.sender == hub || msg.sender == user[0], "challenger must be either user or hub");
        require(timeout == 0, "can't start exit with time-sensitive states");

        State memory s = State(
            user[0], user[1], weiBalances, tokenBalances, pendingWeiUpdates, pendingTokenUpdates,
            txCount, threadRoot, threadCount, timeout
        );
        _applyDisputedState(channel, s, sigHub, sigUser);

        (uint256 userWei, uint256 userToken) = _emptyChannelBalances(channel);
        _emitEmptyChannel(user[0], channel);
        _payout(user[0], userWei, userToken);
    }

    /// After the closing time anyone may empty the channel; before it, only the party that did not
    /// start the exit.
    function emptyChannel(address user) external nonReentrant {
        require(user != hub, "user can not be hub");
        require(user != address(this), "user can not be channel manager");

        Channel storage channel = channels[user];
        require(channel.status == ChannelStatus.ChannelDispute, "channel must be in dispute");
        require(
            channel.channelClosingTime < block.timestamp
                || (msg.sender != channel.exitInitiator && (msg.sender == hub || msg.sender == user)),
            "channel closing time must have passed or msg.sender must be non-exit-initiating party"
        );

        (uint256 userWei, uint256 userToken) = _emptyChannelBalances(channel);
        _emitEmptyChannel(user, channel);
        _payout(user, userWei, userToken);
    }

    // ---------------------------------------------------------------------------------------
    // Thread disputes
    // ---------------------------------------------------------------------------------------

    function startExitThread(
        address user,
        address sender,
        address receiver,
        uint256 threadId,
        uint256[2] calldata weiBalances,
        uint256[2] calldata tokenBalances,
        bytes calldata proof,
        string calldata sig
    ) external nonReentrant {
        Channel storage channel = channels[user];
        _requireThreadDisputeParty(channel, user, sender, receiver);
        require(weiBalances[1] == 0 && tokenBalances[1] == 0, "initial receiver balances must be zero");

        Thread storage thread = threads[sender][receiver][threadId];
        require(thread.threadClosingTime == 0, "thread closing time must be zero");

        _verifyInitialThread(sender, receiver, threadId, weiBalances, tokenBalances, proof, sig, channel.threadRoot);

        thread.weiBalances = weiBalances;
        thread.tokenBalances = tokenBalances;
        thread.threadClosingTime = block.timestamp + challengePeriod;

        emit DidStartExitThread(
            user, sender, receiver, threadId, msg.sender, thread.weiBalances, thread.tokenBalances,
            thread.txCount
        );
    }

    function startExitThreadWithUpdate(
        address user,
        address[2] calldata threadMembers, // [sender, receiver]
        uint256 threadId,
        uint256[2] calldata weiBalances,
        uint256[2] calldata tokenBalances,
        bytes calldata proof,
        string calldata sig,
        uint256[2] calldata updatedWeiBalances,
        uint256[2] calldata updatedTokenBalances,
        uint256 updatedTxCount,
        string calldata updateSig
    ) external nonReentrant {
        Channel storage channel = channels[user];
        _requireThreadDisputeParty(channel, user, threadMembers[0], threadMembers[1]);
        require(weiBalances[1] == 0 && tokenBalances[1] == 0, "initial receiver balances must be zero");

        Thread storage thread = threads[threadMembers[0]][threadMembers[1]][threadId];
        require(thread.threadClosingTime == 0, "thread closing time must be zero");

        _verifyInitialThread(
            threadMembers[0], threadMembers[1], threadId, weiBalances, tokenBalances, proof, sig,
            channel.threadRoot
        );

        require(updatedTxCount > 0, "updated thread txCount must be higher than 0");
        require(
            updatedWeiBalances[0] + updatedWeiBalances[1] == weiBalances[0],
            "sum of updated wei balances must match sender's initial wei balance"
        );
        require(
            updatedTokenBalances[0] + updatedTokenBalances[1] == tokenBalances[0],
            "sum of updated token balances must match sender's initial token balance"
        );
        _verifyThreadUpdate(
            threadMembers[0], threadMembers[1], threadId, updatedWeiBalances, updatedTokenBalances,
            updatedTxCount, updateSig
        );

        thread.weiBalances = updatedWeiBalances;
        thread.tokenBalances = updatedTokenBalances;
        thread.txCount = updatedTxCount;
        thread.threadClosingTime = block.timestamp + challengePeriod;

        // The original emitted `msg.sender == hub ? 0 : 1` into this address field; we emit the
        // caller, as startExitThread does.
        emit DidStartExitThread(
            user, threadMembers[0], threadMembers[1], threadId, msg.sender, thread.weiBalances,
            thread.tokenBalances, thread.txCount
        );
    }

    /// Hub, sender or receiver replaces a thread's disputed state with a newer one.
    function challengeThread(
        address sender,
        address receiver,
        uint256 threadId,
        uint256[2] calldata weiBalances,
        uint256[2] calldata tokenBalances,
        uint256 txCount,
        string calldata sig
    ) external nonReentrant {
        require(
            msg.sender == hub || msg.sender == sender || msg.sender == receiver,
            "only hub, sender, or receiver can call this function"
        );

        Thread storage thread = threads[sender][receiver][threadId];
        require(block.timestamp < thread.threadClosingTime, "thread closing time must not have passed");
        require(txCount > thread.txCount, "thread txCount must be higher than the current thread txCount");
        require(
            weiBalances[0] + weiBalances[1] == thread.weiBalances[0] + thread.weiBalances[1],
            "updated wei balances must match sum of thread wei balances"
        );
        require(
            tokenBalances[0] + tokenBalances[1] == thread.tokenBalances[0] + thread.tokenBalances[1],
            "updated token balances must match sum of thread token balances"
        );
        require(
            weiBalances[1] >= thread.weiBalances[1] && tokenBalances[1] >= thread.tokenBalances[1],
            "receiver balances may never decrease"
        );

        _verifyThreadUpdate(sender, receiver, threadId, weiBalances, tokenBalances, txCount, sig);

        thread.weiBalances = weiBalances;
        thread.tokenBalances = tokenBalances;
        thread.txCount = txCount;

        emit DidChallengeThread(
            sender, receiver, threadId, msg.sender, thread.weiBalances, thread.tokenBalances, thread.txCount
        );
    }

    /// After a thread's closing time, each of its two channels takes its side of the thread; the
    /// other side's share returns to the hub reserves (the hub settles it in the other channel).
    function emptyThread(
        address user,
        address sender,
        address receiver,
        uint256 threadId,
        uint256[2] calldata weiBalances, // initial balances
        uint256[2] calldata tokenBalances, // initial balances
        bytes calldata proof,
        string calldata sig
    ) external nonReentrant {
        Channel storage channel = channels[user];
        require(channel.status == ChannelStatus.ThreadDispute, "channel must be in thread dispute");
        require(msg.sender == hub || msg.sender == user, "only hub or user can empty thread");
        require(user == sender || user == receiver, "user must be thread sender or receiver");
        require(weiBalances[1] == 0 && tokenBalances[1] == 0, "initial receiver balances must be zero");

        Thread storage thread = threads[sender][receiver][threadId];
        require(
            thread.threadClosingTime != 0 && thread.threadClosingTime < block.timestamp,
            "Thread closing time must have passed"
        );
        uint256 side = user == sender ? 0 : 1;
        require(!thread.emptied[side], "user cannot empty twice");

        _verifyInitialThread(sender, receiver, threadId, weiBalances, tokenBalances, proof, sig, channel.threadRoot);

        (uint256 userWei, uint256 userToken) =
            _settleThread(channel, thread, side, weiBalances[0], tokenBalances[0]);
        _emitEmptyThread(user, sender, receiver, threadId, channel);
        _payout(user, userWei, userToken);
    }

    /// Take a finished thread out of one of its two channels. Returns that side's share.
    function _settleThread(
        Channel storage channel,
        Thread storage thread,
        uint256 side,
        uint256 initialWei,
        uint256 initialToken
    ) private returns (uint256 userWei, uint256 userToken) {
        uint256 threadWei = thread.weiBalances[0] + thread.weiBalances[1];
        uint256 threadToken = thread.tokenBalances[0] + thread.tokenBalances[1];
        require(threadWei == initialWei, "sum of thread wei balances must match sender's initial wei balance");
        require(
            threadToken == initialToken,
            "sum of thread token balances must match sender's initial token balance"
        );

        channel.weiBalances[2] -= threadWei;
        channel.tokenBalances[2] -= threadToken;
        totalChannelWei -= threadWei;
        totalChannelToken -= threadToken;

        userWei = thread.weiBalances[side];
        userToken = thread.tokenBalances[side];

        thread.emptied[side] = true;
        channel.threadCount -= 1;
        if (channel.threadCount == 0) {
            channel.threadRoot = bytes32(0);
            channel.channelClosingTime = 0;
            channel.status = ChannelStatus.Open;
        }
    }

    function _emitEmptyThread(
        address user,
        address sender,
        address receiver,
        uint256 threadId,
        Channel storage channel
    ) private {
        emit DidEmptyThread(
            user, sender, receiver, threadId, msg.sender,
            [channel.weiBalances[0], channel.weiBalances[1]],
            [channel.tokenBalances[0], channel.tokenBalances[1]],
            channel.txCount, channel.threadRoot, channel.threadCount
        );
    }

    /// Anyone may release a channel stuck in thread dispute 10 challenge periods after its closing
    /// time: everything left in the channel goes to the user.
    function nukeThreads(address user) external nonReentrant {
        require(user != hub, "user can not be hub");
        require(user != address(this), "user can not be channel manager");

        Channel storage channel = channels[user];
        require(channel.status == ChannelStatus.ThreadDispute, "channel must be in thread dispute");
        require(
            channel.channelClosingTime + challengePeriod * 10 < block.timestamp,
            "channel closing time must have passed by 10 challenge periods"
        );

        uint256 weiAmount = channel.weiBalances[2];
        uint256 tokenAmount = channel.tokenBalances[2];
        totalChannelWei -= weiAmount;
        totalChannelToken -= tokenAmount;
        channel.weiBalances[2] = 0;
        channel.tokenBalances[2] = 0;

        channel.threadCount = 0;
        channel.threadRoot = bytes32(0);
        channel.channelClosingTime = 0;
        channel.status = ChannelStatus.Open;

        emit DidNukeThreads(
            user, msg.sender, weiAmount, tokenAmount,
            [channel.weiBalances[0], channel.weiBalances[1]],
            [channel.tokenBalances[0], channel.tokenBalances[1]],
            channel.txCount, channel.threadRoot, channel.threadCount
        );

        _payout(user, weiAmount, tokenAmount);
    }

    // ---------------------------------------------------------------------------------------
    // Deferred payouts
    // ---------------------------------------------------------------------------------------

    /// Pay the caller's deferred balance to `to` (which may differ from the caller, for a
    /// recipient that cannot receive ETH itself).
    function claimDeferred(address payable to) external nonReentrant {
        uint256 weiAmount = deferredWei[msg.sender];
        uint256 tokenAmount = deferredToken[msg.sender];
        require(weiAmount > 0 || tokenAmount > 0, "nothing to claim");

        deferredWei[msg.sender] = 0;
        deferredToken[msg.sender] = 0;
        totalDeferredWei -= weiAmount;
        totalDeferredToken -= tokenAmount;

        emit DidClaimDeferred(msg.sender, to, weiAmount, tokenAmount);

        if (weiAmount > 0) {
            Address.sendValue(to, weiAmount);
        }
        if (tokenAmount > 0) {
            approvedToken.safeTransfer(to, tokenAmount);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------

    function getChannelBalances(address user)
        external
        view
        returns (
            uint256 weiHub,
            uint256 weiUser,
            uint256 weiTotal,
            uint256 tokenHub,
            uint256 tokenUser,
            uint256 tokenTotal
        )
    {
        Channel storage channel = channels[user];
        return (
            channel.weiBalances[0],
            channel.weiBalances[1],
            channel.weiBalances[2],
            channel.tokenBalances[0],
            channel.tokenBalances[1],
            channel.tokenBalances[2]
        );
    }

    function getChannelDetails(address user)
        external
        view
        returns (
            uint256 txCountGlobal,
            uint256 txCountChain,
            bytes32 threadRoot,
            uint256 threadCount,
            address exitInitiator,
            uint256 channelClosingTime,
            ChannelStatus status
        )
    {
        Channel storage channel = channels[user];
        return (
            channel.txCount[0],
            channel.txCount[1],
            channel.threadRoot,
            channel.threadCount,
            channel.exitInitiator,
            channel.channelClosingTime,
            channel.status
        );
    }

    function getThread(address sender, address receiver, uint256 threadId)
        external
        view
        returns (
            uint256 weiSender,
            uint256 weiReceiver,
            uint256 tokenSender,
            uint256 tokenReceiver,
            uint256 txCount,
            uint256 threadClosingTime,
            bool emptiedSender,
            bool emptiedReceiver
        )
    {
        Thread storage thread = threads[sender][receiver][threadId];
        return (
            thread.weiBalances[0],
            thread.weiBalances[1],
            thread.tokenBalances[0],
            thread.tokenBalances[1],
            thread.txCount,
            thread.threadClosingTime,
            thread.emptied[0],
            thread.emptied[1]
        );
    }

    // ---------------------------------------------------------------------------------------
    // Internal: state checks
    // ---------------------------------------------------------------------------------------

    function _hubReserveWei(uint256 incoming) private view returns (uint256) {
        return address(this).balance - incoming - totalChannelWei - totalDeferredWei;
    }

    function _checkStateShape(State memory s) private view {
        require(s.user != hub, "user can not be hub");
        require(s.user != address(this), "user can not be channel manager");
        require(s.user != address(0), "user can not be the zero address");
        require((s.threadRoot == bytes32(0)) == (s.threadCount == 0), "thread root and count disagree");
    }

    function _verifyAuthorizedUpdate(Channel storage channel, State memory s, bool isHub, uint256 incomingWei)
        private
        view
    {
        _checkStateShape(s);
        require(channel.status == ChannelStatus.Open, "channel must be open");
        // Bounds both an exchange rate the user accepted and how long a proposal stays usable.
        require(s.timeout == 0 || block.timestamp < s.timeout, "the timeout must be zero or not have passed");
        require(s.txCount[0] > channel.txCount[0], "global txCount must be higher than the current global txCount");
        require(
            s.txCount[1] >= channel.txCount[1],
            "onchain txCount must be higher or equal to the current onchain txCount"
        );
        require(s.weiBalances[0] + s.weiBalances[1] <= channel.weiBalances[2], "wei must be conserved");
        require(s.tokenBalances[0] + s.tokenBalances[1] <= channel.tokenBalances[2], "tokens must be conserved");

        uint256[4] memory pw = s.pendingWeiUpdates;
        uint256[4] memory pt = s.pendingTokenUpdates;
        // A hub-authorized user deposit also comes out of the hub reserves.
        uint256 reserveWeiNeeded = isHub ? pw[0] + pw[2] : pw[0];
        uint256 reserveTokenNeeded = isHub ? pt[0] + pt[2] : pt[0];
        require(reserveWeiNeeded <= _hubReserveWei(incomingWei), "insufficient reserve wei for deposits");
        require(reserveTokenNeeded <= getHubReserveTokens(), "insufficient reserve tokens for deposits");

        require(
            channel.weiBalances[2] + pw[0] + pw[2] >= s.weiBalances[0] + s.weiBalances[1] + pw[1] + pw[3],
            "insufficient wei"
        );
        require(
            channel.tokenBalances[2] + pt[0] + pt[2] >= s.tokenBalances[0] + s.tokenBalances[1] + pt[1] + pt[3],
            "insufficient token"
        );
    }

    /// Fold a verified authorized update into the channel and the contract totals.
    function _updateChannel(Channel storage channel, State memory s) private {
        uint256[4] memory pw = s.pendingWeiUpdates;
        uint256[4] memory pt = s.pendingTokenUpdates;

        _applyPendingUpdates(channel.weiBalances, s.weiBalances, pw);
        _applyPendingUpdates(channel.tokenBalances, s.tokenBalances, pt);

        channel.weiBalances[2] = channel.weiBalances[2] + pw[0] + pw[2] - pw[1] - pw[3];
        channel.tokenBalances[2] = channel.tokenBalances[2] + pt[0] + pt[2] - pt[1] - pt[3];
        totalChannelWei = totalChannelWei + pw[0] + pw[2] - pw[1] - pw[3];
        totalChannelToken = totalChannelToken + pt[0] + pt[2] - pt[1] - pt[3];

        _requireBalancesWithinTotal(channel);

        channel.txCount = s.txCount;
        channel.threadRoot = s.threadRoot;
        channel.threadCount = s.threadCount;
    }

    /// The shared part of startExitWithUpdate and emptyChannelWithChallenge: check a double-signed
    /// state against the channel and write its balances, global txCount and threads.
    function _applyDisputedState(
        Channel storage channel,
        State memory s,
        string calldata sigHub,
        string calldata sigUser
    ) private {
        _checkStateShape(s);
        bytes32 stateHash = _stateHash(s);
        _requireSignedBy(stateHash, sigHub, hub, "hub signature invalid");
        _requireSignedBy(stateHash, sigUser, s.user, "user signature invalid");

        require(s.txCount[0] > channel.txCount[0], "global txCount must be higher than the current global txCount");
        require(
            s.txCount[1] >= channel.txCount[1],
            "onchain txCount must be higher or equal to the current onchain txCount"
        );
        require(s.weiBalances[0] + s.weiBalances[1] <= channel.weiBalances[2], "wei must be conserved");
        require(s.tokenBalances[0] + s.tokenBalances[1] <= channel.tokenBalances[2], "tokens must be conserved");

        if (s.txCount[1] == channel.txCount[1]) {
            // The state's on-chain operations already ran here: take its pending values as done.
            _applyPendingUpdates(channel.weiBalances, s.weiBalances, s.pendingWeiUpdates);
            _applyPendingUpdates(channel.tokenBalances, s.tokenBalances, s.pendingTokenUpdates);
        } else {
            // They never ran: undo withdrawals already taken out of the off-chain balances.
            _revertPendingUpdates(channel.weiBalances, s.weiBalances, s.pendingWeiUpdates);
            _revertPendingUpdates(channel.tokenBalances, s.tokenBalances, s.pendingTokenUpdates);
        }
        _requireBalancesWithinTotal(channel);

        // txCount[1] moves only with authorized updates, which are the on-chain operations.
        channel.txCount[0] = s.txCount[0];
        channel.threadRoot = s.threadRoot;
        channel.threadCount = s.threadCount;
    }

    function _requireBalancesWithinTotal(Channel storage channel) private view {
        require(
            channel.weiBalances[0] + channel.weiBalances[1] <= channel.weiBalances[2],
            "channel wei balances exceed channel total"
        );
        require(
            channel.tokenBalances[0] + channel.tokenBalances[1] <= channel.tokenBalances[2],
            "channel token balances exceed channel total"
        );
    }

    /// Off-chain balances already exclude a net withdrawal and do not yet include a net deposit.
    function _applyPendingUpdates(
        uint256[3] storage channelBalances,
        uint256[2] memory balances,
        uint256[4] memory pending
    ) private {
        channelBalances[0] = pending[0] > pending[1] ? balances[0] + (pending[0] - pending[1]) : balances[0];
        channelBalances[1] = pending[2] > pending[3] ? balances[1] + (pending[2] - pending[3]) : balances[1];
    }

    function _revertPendingUpdates(
        uint256[3] storage channelBalances,
        uint256[2] memory balances,
        uint256[4] memory pending
    ) private {
        channelBalances[0] = pending[0] > pending[1] ? balances[0] : balances[0] + (pending[1] - pending[0]);
        channelBalances[1] = pending[2] > pending[3] ? balances[1] : balances[1] + (pending[3] - pending[2]);
    }

    function _beginChannelDispute(Channel storage channel) private {
        channel.exitInitiator = msg.sender;
        channel.channelClosingTime = block.timestamp + challengePeriod;
        channel.status = ChannelStatus.ChannelDispute;
    }

    /// Zero the hub and user balances (the hub's share returns to the reserves) and leave the
    /// channel open, or in thread dispute if threads remain. Returns the user's share to pay out.
    function _emptyChannelBalances(Channel storage channel) private returns (uint256 userWei, uint256 userToken) {
        uint256 hubWei = channel.weiBalances[0];
        uint256 hubToken = channel.tokenBalances[0];
        userWei = channel.weiBalances[1];
        userToken = channel.tokenBalances[1];

        channel.weiBalances[2] -= hubWei + userWei;
        channel.tokenBalances[2] -= hubToken + userToken;
        totalChannelWei -= hubWei + userWei;
        totalChannelToken -= hubToken + userToken;
        channel.weiBalances[0] = 0;
        channel.weiBalances[1] = 0;
        channel.tokenBalances[0] = 0;
        channel.tokenBalances[1] = 0;

        if (channel.threadCount > 0) {
            channel.status = ChannelStatus.ThreadDispute;
        } else {
            channel.channelClosingTime = 0;
            channel.status = ChannelStatus.Open;
        }
        channel.exitInitiator = address(0);
    }

    function _emitStartExit(address user, Channel storage channel) private {
        emit DidStartExitChannel(
            user,
            msg.sender == hub ? 0 : 1,
            [channel.weiBalances[0], channel.weiBalances[1]],
            [channel.tokenBalances[0], channel.tokenBalances[1]],
            channel.txCount,
            channel.threadRoot,
            channel.threadCount
        );
    }

    function _emitEmptyChannel(address user, Channel storage channel) private {
        emit DidEmptyChannel(
            user,
            msg.sender == hub ? 0 : 1,
            [channel.weiBalances[0], channel.weiBalances[1]],
            [channel.tokenBalances[0], channel.tokenBalances[1]],
            channel.txCount,
            channel.threadRoot,
            channel.threadCount
        );
    }

    function _requireThreadDisputeParty(Channel storage channel, address user, address sender, address receiver)
        private
        view
    {
        require(channel.status == ChannelStatus.ThreadDispute, "channel must be in thread dispute phase");
        require(msg.sender == hub || msg.sender == user, "thread exit initiator must be user or hub");
        require(user == sender || user == receiver, "user must be thread sender or receiver");
    }

    // ---------------------------------------------------------------------------------------
    // Internal: hashes, signatures, proofs
    // ---------------------------------------------------------------------------------------

    /// PROTOCOL.md §1; abi.encodePacked is the wire format the Connext client signs (every
    /// argument but the leading address is a fixed-size array or a 32-byte word, so the packing
    /// is unambiguous).
    function _stateHash(State memory s) private view returns (bytes32) {
        address[2] memory parties = [s.user, s.recipient];
        return keccak256(
            abi.encodePacked(
                address(this),
                parties,
                s.weiBalances,
                s.tokenBalances,
                s.pendingWeiUpdates,
                s.pendingTokenUpdates,
                s.txCount,
                s.threadRoot,
                s.threadCount,
                s.timeout
            )
        );
    }

    function _threadHash(
        address sender,
        address receiver,
        uint256 threadId,
        uint256[2] calldata weiBalances,
        uint256[2] calldata tokenBalances,
        uint256 txCount
    ) private view returns (bytes32) {
        // Three packed addresses then fixed-size words: unambiguous, and the client's format.
        return keccak256(abi.encodePacked(address(this), sender, receiver, threadId, weiBalances, tokenBalances, txCount));
    }

    function _checkThreadParties(address sender, address receiver) private view {
        require(sender != receiver, "sender can not be receiver");
        require(sender != hub && receiver != hub, "hub can not be sender or receiver");
        require(sender != address(this) && receiver != address(this), "channel manager can not be sender or receiver");
    }

    /// An initial thread state (txCount 0) signed by the sender and contained in the channel's
    /// thread root. The proof is always checked: a zero root proves nothing.
    function _verifyInitialThread(
        address sender,
        address receiver,
        uint256 threadId,
        uint256[2] calldata weiBalances,
        uint256[2] calldata tokenBalances,
        bytes calldata proof,
        string calldata sig,
        bytes32 threadRoot
    ) private view {
        _checkThreadParties(sender, receiver);
        bytes32 leaf = _threadHash(sender, receiver, threadId, weiBalances, tokenBalances, 0);
        _requireSignedBy(leaf, sig, sender, "signature invalid");
        require(_isContained(leaf, proof, threadRoot), "initial thread state is not contained in threadRoot");
    }

    /// A later thread state signed by the sender; it is not part of any root.
    function _verifyThreadUpdate(
        address sender,
        address receiver,
        uint256 threadId,
        uint256[2] calldata weiBalances,
        uint256[2] calldata tokenBalances,
        uint256 txCount,
        string calldata sig
    ) private view {
        _checkThreadParties(sender, receiver);
        bytes32 stateHash = _threadHash(sender, receiver, threadId, weiBalances, tokenBalances, txCount);
        _requireSignedBy(stateHash, sig, sender, "signature invalid");
    }

    /// `proof` is the client's MerkleTree.proof(): the leaf followed by its siblings, 32 bytes
    /// each; pairs are hashed in sorted order (OpenZeppelin's commutative scheme).
    function _isContained(bytes32 leaf, bytes calldata proof, bytes32 root) private pure returns (bool) {
        if (root == bytes32(0) || proof.length < 32 || proof.length % 32 != 0) {
            return false;
        }
        if (bytes32(proof[0:32]) != leaf) {
            return false;
        }
        uint256 siblings = proof.length / 32 - 1;
        bytes32[] memory path = new bytes32[](siblings);
        for (uint256 i = 0; i < siblings; ++i) {
            path[i] = bytes32(proof[32 * (i + 1):32 * (i + 2)]);
        }
        return MerkleProof.verify(path, root, leaf);
    }

    function _requireSignedBy(bytes32 hash, string calldata sig, address expected, string memory message)
        private
        pure
    {
        require(expected != address(0) && _recoverSigner(hash, sig) == expected, message);
    }

    /// Recover the signer of a personal-message signature over `hash`, given as "0x" + 130 hex
    /// digits (r, s, v; v 27/28 or 0/1). Returns the zero address for anything malformed,
    /// including high-s signatures, which ECDSA rejects.
    function _recoverSigner(bytes32 hash, string calldata sig) private pure returns (address) {
        bytes calldata text = bytes(sig);
        if (text.length != 132 || text[0] != "0" || (text[1] != "x" && text[1] != "X")) {
            return address(0);
        }
        uint256 r = 0;
        uint256 s = 0;
        uint256 v = 0;
        for (uint256 i = 0; i < 65; ++i) {
            (uint8 hi, bool okHi) = _hexDigit(text[2 + 2 * i]);
            (uint8 lo, bool okLo) = _hexDigit(text[3 + 2 * i]);
            if (!okHi || !okLo) {
                return address(0);
            }
            uint256 b = uint256(hi) * 16 + lo;
            if (i < 32) {
                r = (r << 8) | b;
            } else if (i < 64) {
                s = (s << 8) | b;
            } else {
                v = b;
            }
        }
        if (v < 27) {
            v += 27;
        }
        if (v != 27 && v != 28) {
            return address(0);
        }
        (address signer, ECDSA.RecoverError err, bytes32 errArg) =
            ECDSA.tryRecover(MessageHashUtils.toEthSignedMessageHash(hash), uint8(v), bytes32(r), bytes32(s));
        return (err == ECDSA.RecoverError.NoError && errArg == bytes32(0)) ? signer : address(0);
    }

    function _hexDigit(bytes1 c) private pure returns (uint8 value, bool ok) {
        uint8 x = uint8(c);
        if (x >= 0x30 && x <= 0x39) return (x - 0x30, true);
        if (x >= 0x61 && x <= 0x66) return (x - 0x61 + 10, true);
        if (x >= 0x41 && x <= 0x46) return (x - 0x41 + 10, true);
        return (0, false);
    }

    // ---------------------------------------------------------------------------------------
    // Internal: payouts
    // ---------------------------------------------------------------------------------------

    /// Pay a user after every state change is written. A refused payout is deferred, not reverted,
    /// so that a hostile or broken recipient cannot block a dispute or the other party's funds.
    function _payout(address to, uint256 weiAmount, uint256 tokenAmount) private {
        uint256 deferWei;
        uint256 deferToken;
        if (weiAmount > 0) {
            bool sent;
            // No return data is copied, so a recipient cannot make us pay for a huge revert reason.
            assembly ("memory-safe") {
                sent := call(PAYOUT_GAS, to, weiAmount, 0, 0, 0, 0)
            }
            if (!sent) {
                deferWei = weiAmount;
            }
        }
        if (tokenAmount > 0 && !approvedToken.trySafeTransfer(to, tokenAmount)) {
            deferToken = tokenAmount;
        }
        if (deferWei > 0 || deferToken > 0) {
            // Written after the calls only on failure; every mutator is nonReentrant, and a failed
            // call left no trace to re-enter from.
            deferredWei[to] += deferWei;
            deferredToken[to] += deferToken;
            totalDeferredWei += deferWei;
            totalDeferredToken += deferToken;
            emit DidDeferPayout(to, deferWei, deferToken);
        }
    }
}
