// The Spoke Card's protocol module: the Connext v1 channel state, its hash and signatures, the
// wei/token conversions and the state generators, ported from hub/core (hashing.py, rates.py,
// transitions.py). The same file runs in the browser (window.SpokeProtocol, with ethers from
// static/card/vendor) and in node (tests/card/card_vectors.js), where it is checked against the
// hub's own results for the same inputs (tests/card/test_card_protocol.py). Amounts are BigInt
// internally and decimal strings in JSON, never JavaScript numbers.
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) {
    module.exports = factory(require("ethers"));
  } else {
    root.SpokeProtocol = factory(root.ethers);
  }
})(typeof self !== "undefined" ? self : this, function (ethers) {
  "use strict";

  var AMOUNTS = [
    "balanceWeiHub", "balanceWeiUser", "balanceTokenHub", "balanceTokenUser",
    "pendingDepositWeiHub", "pendingDepositWeiUser", "pendingDepositTokenHub", "pendingDepositTokenUser",
    "pendingWithdrawalWeiHub", "pendingWithdrawalWeiUser", "pendingWithdrawalTokenHub",
    "pendingWithdrawalTokenUser",
  ];
  var SIDES = ["WeiHub", "WeiUser", "TokenHub", "TokenUser"];
  var ZERO_ROOT = "0x" + "00".repeat(32);
  var ZERO_ADDRESS = "0x" + "00".repeat(20);
  var UINT256 = (BigInt(1) << BigInt(256));
  var WAD = BigInt("1000000000000000000");
  var ZERO = BigInt(0);

  function big(value) {
    if (typeof value === "bigint") { return value; }
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) { throw new Error("unsafe number " + value); }
      return BigInt(value);
    }
    if (typeof value !== "string" || !/^-?[0-9]+$/.test(value)) {
      throw new Error("not an integer: " + String(value).slice(0, 80));
    }
    return BigInt(value);
  }

  function word(value) {
    var v = big(value);
    if (v < ZERO || v >= UINT256) { throw new Error("a state field is outside the uint256 range"); }
    return v.toString(16).padStart(64, "0");
  }

  function addressWord(address) {
    if (!/^0x[0-9a-fA-F]{40}$/.test(address)) { throw new Error("bad address " + address); }
    return address.slice(2).toLowerCase().padStart(64, "0");
  }

  function bytes32(value) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(value)) { throw new Error("not 32 bytes: " + value); }
    return value.slice(2).toLowerCase();
  }

  // A state as plain JSON: amounts as decimal strings, counts as numbers, addresses lower-case.
  function normalize(s) {
    var out = {contractAddress: s.contractAddress.toLowerCase(), user: s.user.toLowerCase(),
               recipient: s.recipient.toLowerCase()};
    AMOUNTS.forEach(function (k) { out[k] = big(s[k]).toString(); });
    out.txCountGlobal = Number(s.txCountGlobal);
    out.txCountChain = Number(s.txCountChain);
    out.threadRoot = s.threadRoot.toLowerCase();
    out.threadCount = Number(s.threadCount);
    out.timeout = Number(s.timeout);
    out.sigHub = s.sigHub || "";
    out.sigUser = s.sigUser || "";
    return out;
  }

  function zeroState(contractAddress, user) {
    var s = {contractAddress: contractAddress.toLowerCase(), user: user.toLowerCase(),
             recipient: user.toLowerCase()};
    AMOUNTS.forEach(function (k) { s[k] = "0"; });
    s.txCountGlobal = 0; s.txCountChain = 0; s.threadRoot = ZERO_ROOT; s.threadCount = 0;
    s.timeout = 0; s.sigHub = ""; s.sigUser = "";
    return s;
  }

  // keccak256(abi.encodePacked(contract, [user, recipient], [weiHub, weiUser], [tokenHub,
  // tokenUser], pendingWei[4], pendingToken[4], [txCountGlobal, txCountChain], threadRoot,
  // threadCount, timeout)): docs/protocol.md §1, hub/core/hashing.py channel_state_hash.
  function stateHash(s) {
    if (!/^0x[0-9a-fA-F]{40}$/.test(s.contractAddress)) { throw new Error("the contract address is not 20 bytes"); }
    var words = [
      addressWord(s.user), addressWord(s.recipient),
      word(s.balanceWeiHub), word(s.balanceWeiUser), word(s.balanceTokenHub), word(s.balanceTokenUser),
      word(s.pendingDepositWeiHub), word(s.pendingWithdrawalWeiHub),
      word(s.pendingDepositWeiUser), word(s.pendingWithdrawalWeiUser),
      word(s.pendingDepositTokenHub), word(s.pendingWithdrawalTokenHub),
      word(s.pendingDepositTokenUser), word(s.pendingWithdrawalTokenUser),
      word(s.txCountGlobal), word(s.txCountChain),
      bytes32(s.threadRoot),
      word(s.threadCount), word(s.timeout),
    ];
    return ethers.utils.keccak256("0x" + s.contractAddress.slice(2).toLowerCase() + words.join(""));
  }

  function depositRequestHash(amountToken, amountWei) {
    return ethers.utils.keccak256("0x" + word(amountToken) + word(amountWei));
  }

  // EIP-191 personal-message signature over the 32 hash bytes, v = 27/28 (ethers signMessage).
  function signHash(wallet, hash) {
    return wallet.signMessage(ethers.utils.arrayify(hash));
  }

  function recoverHash(hash, signature) {
    return ethers.utils.verifyMessage(ethers.utils.arrayify(hash), signature).toLowerCase();
  }

  function signState(wallet, s) {
    var out = normalize(s);
    if (out.user !== wallet.address.toLowerCase()) {
      throw new Error("refusing to sign a state of " + out.user + " with the key of " + wallet.address);
    }
    return Promise.resolve(signHash(wallet, stateHash(out))).then(function (sig) {
      out.sigUser = sig;
      return out;
    });
  }

  // Both signatures present and recovering to the hub and the user.
  function isAgreed(s, hubAddress) {
    if (!s.sigHub || !s.sigUser) { return false; }
    var h = stateHash(s);
    try {
      return recoverHash(h, s.sigHub) === hubAddress.toLowerCase() &&
             recoverHash(h, s.sigUser) === s.user.toLowerCase();
    } catch (e) {
      return false;
    }
  }

  // A nonce is signed like ethers' signMessage of a string: 0x-hex as its bytes, else UTF-8
  // (client/spoke_client/keys.py message_bytes).
  function signNonce(wallet, nonce) {
    var message = /^0x(?:[0-9a-fA-F]{2})*$/.test(nonce) ? ethers.utils.arrayify(nonce) : nonce;
    return wallet.signMessage(message);
  }

  // --- rates: hub/core/rates.py (BigInt division truncates toward zero, like BN.js) ---------
  var RATE_RE = /^(?:[0-9]{1,59}(?:\.[0-9]{0,18})?|\.[0-9]{1,18})$/;

  function rateToWad(rate) {
    if (typeof rate !== "string" || !RATE_RE.test(rate)) { throw new Error("exchange rate is not a decimal: " + rate); }
    var parts = rate.split(".");
    var wad = BigInt(parts[0] || "0") * WAD + BigInt((parts[1] || "0").padEnd(18, "0"));
    if (wad <= ZERO) { throw new Error("exchange rate must be positive: " + rate); }
    return wad;
  }

  function weiToToken(wei, rate) { return rateToWad(rate) * big(wei) / WAD; }
  function tokenToWei(token, rate) { return big(token) * WAD / rateToWad(rate); }

  function calculateExchange(seller, rate, weiToSell, tokensToSell) {
    var sign = seller === "hub" ? BigInt(-1) : BigInt(1);
    var tokens = big(tokensToSell) * sign;
    var wei = big(weiToSell) * sign;
    var weiReceived = tokenToWei(tokens, rate);
    var tokensReceived = weiToToken(wei, rate);
    var remainder = tokens - weiToToken(weiReceived, rate);
    return {tokensReceived: tokensReceived + remainder, tokensSold: tokens - remainder,
            weiReceived: weiReceived, weiSold: wei};
  }

  // --- state generators: hub/core/transitions.py ---------------------------------------------
  function amountsOf(s) {
    var a = {};
    AMOUNTS.forEach(function (k) { a[k] = big(s[k]); });
    return a;
  }

  function withAmounts(prev, a, extra) {
    var out = normalize(prev);
    AMOUNTS.forEach(function (k) { out[k] = a[k].toString(); });
    out.sigHub = ""; out.sigUser = "";
    Object.keys(extra).forEach(function (k) { out[k] = extra[k]; });
    return out;
  }

  function copy(a) { var o = {}; Object.keys(a).forEach(function (k) { o[k] = a[k]; }); return o; }

  function payment(prev, args) {
    var toHub = args.recipient === "hub" ? BigInt(1) : BigInt(-1);
    var a = amountsOf(prev);
    a.balanceWeiHub += toHub * big(args.amountWei);
    a.balanceWeiUser -= toHub * big(args.amountWei);
    a.balanceTokenHub += toHub * big(args.amountToken);
    a.balanceTokenUser -= toHub * big(args.amountToken);
    return withAmounts(prev, a, {timeout: 0, txCountGlobal: Number(prev.txCountGlobal) + 1});
  }

  function applyExchange(a, seller, rate, weiToSell, tokensToSell) {
    var x = calculateExchange(seller, rate, weiToSell, tokensToSell);
    var r = copy(a);
    r.balanceTokenHub = a.balanceTokenHub - x.tokensReceived + x.tokensSold;
    r.balanceTokenUser = a.balanceTokenUser + x.tokensReceived - x.tokensSold;
    r.balanceWeiHub = a.balanceWeiHub - x.weiReceived + x.weiSold;
    r.balanceWeiUser = a.balanceWeiUser + x.weiReceived - x.weiSold;
    return r;
  }

  function depositIfNegative(a, src, dst) {
    var bal = a["balance" + src];
    if (bal >= ZERO) { return a; }
    var r = copy(a);
    var abs = -bal;
    r["balance" + src] = ZERO;
    r["balance" + dst] = a["balance" + dst] - abs;
    r["pendingDeposit" + dst] = a["pendingDeposit" + dst] + abs;
    return r;
  }

  function exchange(prev, args) {
    var a = applyExchange(amountsOf(prev), args.seller, args.exchangeRate, args.weiToSell, args.tokensToSell);
    return withAmounts(prev, a, {timeout: 0, txCountGlobal: Number(prev.txCountGlobal) + 1});
  }

  function proposePendingDeposit(prev, args) {
    var a = amountsOf(prev);
    a.pendingDepositWeiHub = big(args.depositWeiHub);
    a.pendingDepositWeiUser = big(args.depositWeiUser);
    a.pendingDepositTokenHub = big(args.depositTokenHub);
    a.pendingDepositTokenUser = big(args.depositTokenUser);
    return withAmounts(prev, a, {recipient: prev.user.toLowerCase(), timeout: Number(args.timeout),
                                 txCountChain: Number(prev.txCountChain) + 1,
                                 txCountGlobal: Number(prev.txCountGlobal) + 1});
  }

  function subOrZero(a, b) { var d = a - b; return d > ZERO ? d : ZERO; }
  function max0(v) { return v > ZERO ? v : ZERO; }

  function applyPending(a, deposits, withdrawals) {
    var r = copy(a);
    SIDES.forEach(function (side) {
      r["pendingDeposit" + side] = a["pendingDeposit" + side] + deposits[side];
      r["pendingWithdrawal" + side] = a["pendingWithdrawal" + side] + withdrawals[side];
    });
    SIDES.forEach(function (side) {
      r["balance" + side] = a["balance" + side] - subOrZero(r["pendingWithdrawal" + side], r["pendingDeposit" + side]);
    });
    return r;
  }

  function proposePendingWithdrawal(prev, args) {
    var ex = applyExchange(amountsOf(prev), args.seller, args.exchangeRate, args.weiToSell, args.tokensToSell);
    ex = depositIfNegative(ex, "WeiHub", "WeiUser");
    ex = depositIfNegative(ex, "TokenHub", "TokenUser");
    var targets = {WeiHub: big(args.targetWeiHub), WeiUser: big(args.targetWeiUser),
                   TokenHub: big(args.targetTokenHub), TokenUser: big(args.targetTokenUser)};
    var extra = {WeiHub: ZERO, WeiUser: big(args.additionalWeiHubToUser || "0"),
                 TokenHub: ZERO, TokenUser: big(args.additionalTokenHubToUser || "0")};
    var deposits = {}, withdrawals = {};
    SIDES.forEach(function (side) {
      var delta = targets[side] - (ex["balance" + side] + ex["pendingDeposit" + side]);
      deposits[side] = max0(delta) + extra[side];
      withdrawals[side] = max0(-delta) + extra[side];
    });
    var a = applyPending(ex, deposits, withdrawals);
    return withAmounts(prev, a, {recipient: args.recipient.toLowerCase(), timeout: Number(args.timeout),
                                 txCountChain: Number(prev.txCountChain) + 1,
                                 txCountGlobal: Number(prev.txCountGlobal) + 1});
  }

  function zeroPending(a) {
    var r = copy(a);
    SIDES.forEach(function (side) { r["pendingDeposit" + side] = ZERO; r["pendingWithdrawal" + side] = ZERO; });
    return r;
  }

  function confirmPending(prev) {
    var a = amountsOf(prev);
    SIDES.forEach(function (side) {
      var dep = a["pendingDeposit" + side], wd = a["pendingWithdrawal" + side];
      if (dep > wd) { a["balance" + side] += dep - wd; }
    });
    return withAmounts(prev, zeroPending(a), {recipient: prev.user.toLowerCase(), timeout: 0,
                                              txCountGlobal: Number(prev.txCountGlobal) + 1});
  }

  function revertPending(a) {
    var r = copy(a);
    SIDES.forEach(function (side) {
      r["balance" + side] = a["balance" + side] + subOrZero(a["pendingWithdrawal" + side], a["pendingDeposit" + side]);
    });
    return zeroPending(r);
  }

  function revertWithdrawalAndExchange(prev, wd) {
    var a = revertPending(amountsOf(prev));
    var seller = wd.seller === "user" ? "hub" : "user";
    a = applyExchange(a, seller, wd.exchangeRate, wd.weiToSell, wd.tokensToSell);
    var dst = ["WeiUser", "TokenUser"], src = ["WeiHub", "TokenHub"];
    if (seller !== "user") { var t = dst; dst = src; src = t; }
    a = depositIfNegative(a, src[0], dst[0]);
    a = depositIfNegative(a, src[1], dst[1]);
    var tokenDelta = big(wd.targetTokenUser) - a.balanceTokenUser + big(wd.tokensToSell);
    var weiDelta = big(wd.targetWeiUser) - a.balanceWeiUser + big(wd.weiToSell);
    a.balanceTokenHub -= tokenDelta;
    a.balanceTokenUser += tokenDelta;
    a.balanceWeiHub -= weiDelta;
    a.balanceWeiUser += weiDelta;
    return a;
  }

  function invalidation(prev, args) {
    var a = args.withdrawal ? revertWithdrawalAndExchange(prev, args.withdrawal) : revertPending(amountsOf(prev));
    return withAmounts(prev, zeroPending(a), {recipient: prev.user.toLowerCase(), timeout: 0,
                                              txCountChain: Number(prev.txCountChain) - 1,
                                              txCountGlobal: Number(prev.txCountGlobal) + 1});
  }

  var GENERATORS = {
    Payment: payment,
    Exchange: exchange,
    ProposePendingDeposit: proposePendingDeposit,
    ProposePendingWithdrawal: proposePendingWithdrawal,
    ConfirmPending: function (prev) { return confirmPending(prev); },
    Invalidation: invalidation,
  };

  // The state `reason` with `args` produces on top of `prev`, refused when any amount would be
  // negative or a counter would not move the way the protocol requires (docs/protocol.md §2).
  function generate(prev, reason, args) {
    var fn = GENERATORS[reason];
    if (!fn) { throw new Error("this card does not handle " + reason + " updates"); }
    return fn(normalize(prev), args || {});
  }

  function checkAmounts(s) {
    AMOUNTS.forEach(function (k) {
      var v = big(s[k]);
      if (v < ZERO || v >= UINT256) { throw new Error(k + " would be " + v.toString()); }
    });
    return s;
  }

  function hasPending(s) {
    return AMOUNTS.slice(4).some(function (k) { return big(s[k]) !== ZERO; });
  }

  return {
    AMOUNTS: AMOUNTS, ZERO_ROOT: ZERO_ROOT, ZERO_ADDRESS: ZERO_ADDRESS,
    big: big, normalize: normalize, zeroState: zeroState, stateHash: stateHash,
    depositRequestHash: depositRequestHash, signHash: signHash, recoverHash: recoverHash,
    signState: signState, signNonce: signNonce, isAgreed: isAgreed,
    rateToWad: rateToWad, weiToToken: weiToToken, tokenToWei: tokenToWei,
    calculateExchange: calculateExchange, generate: generate, checkAmounts: checkAmounts,
    hasPending: hasPending,
  };
});
