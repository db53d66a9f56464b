// The Spoke Card: a wallet whose key lives in this browser's storage and never leaves it. It
// speaks the hub's Connext v1 API like any client (docs/protocol.md): it regenerates every state
// the hub sends with static/card/protocol.js, countersigns only what its policy accepts, and keeps
// the latest double-signed state (exportable in the Python SDK's JsonFileStateStore format).
(function () {
  "use strict";
  var P = window.SpokeProtocol;
  var E = window.ethers;
  var root = document.getElementById("card");
  var HUB = root.dataset.hubUrl;
  var RPC = root.dataset.rpcUrl;
  var CHAIN_ID = Number(root.dataset.chainId);
  var STORE = "spoke-card:v1";
  var GAS_LIMIT = BigInt(600000);  // kept back for userAuthorizedUpdate (a new channel's first one costs most); unused gas stays on the address
  var RATE_BAND = BigInt(2);      // per cent, as the hub checks (hub/core/rates.py)
  var ABI = [
    "function userAuthorizedUpdate(address recipient, uint256[2] weiBalances, uint256[2] tokenBalances, " +
    "uint256[4] pendingWeiUpdates, uint256[4] pendingTokenUpdates, uint256[2] txCount, bytes32 threadRoot, " +
    "uint256 threadCount, uint256 timeout, string sigHub) payable",
  ];

  var db = load();
  var wallet = null;
  var session = null;
  var busy = {};
  var socket = null;
  var pendingRedeem = null;
  var payIntent = null;
  var cashoutIntent = null;

  // ---- storage ------------------------------------------------------------------------------
  function load() {
    try { return JSON.parse(localStorage.getItem(STORE)) || null; } catch (e) { return null; }
  }
  function save() { localStorage.setItem(STORE, JSON.stringify(db)); }

  function newDb(phrase, w) {
    return {phrase: phrase, privateKey: w.privateKey, address: w.address.toLowerCase(), config: null,
            record: null, custodial: {balanceToken: "0", balanceWei: "0"}, history: [], syncedAt: null,
            requests: {}, autoExchange: false};
  }

  // ---- small helpers ------------------------------------------------------------------------
  function $(id) { return document.getElementById(id); }
  function text(id, value) { var el = $(id); if (el) { el.textContent = value; } }
  function status(id, message, isError) {
    var el = $(id);
    if (!el) { return; }
    el.textContent = message || "";
    el.className = isError ? "note error" : "note";
  }
  function big(v) { return BigInt(v || 0); }
  function units(amount, decimals) {
    var s = E.utils.formatUnits(big(amount).toString(), 18);
    var parts = s.split(".");
    var frac = (parts[1] || "").replace(/0+$/, "").slice(0, decimals);
    return parts[0] + (frac ? "." + frac : "");
  }
  function token(amount) { return units(amount, 2) || "0"; }
  function eth(amount) { return units(amount, 6) || "0"; }
  function parseAmount(value) {
    var v = String(value || "").trim().replace(",", ".");
    if (!/^[0-9]+(\.[0-9]{0,18})?$/.test(v)) { throw new Error("Enter an amount like 1.50"); }
    var wei = BigInt(E.utils.parseUnits(v, 18).toString());
    if (wei <= BigInt(0)) { throw new Error("Enter an amount above zero"); }
    return wei;
  }
  function isAddress(v) { return /^0x[0-9a-fA-F]{40}$/.test(v); }
  function randomHex(n) {
    var bytes = new Uint8Array(n);
    crypto.getRandomValues(bytes);
    return "0x" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function qrInto(id, textValue) {
    var qr = window.qrcode(0, "M");
    qr.addData(textValue);
    qr.make();
    var el = $(id);
    el.innerHTML = "";
    var img = document.createElement("img");
    img.src = qr.createDataURL(8, 16);
    img.alt = "QR code";
    el.appendChild(img);
  }
  function showError(err) {
    var el = $("error");
    el.textContent = err ? (err.message || String(err)) : "";
    el.hidden = !err;
  }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  // ---- the hub's API --------------------------------------------------------------------------
  function HubError(status, code, message) {
    var e = new Error(message || code);
    e.status = status; e.code = code;
    return e;
  }

  async function authenticate() {
    var r = await fetch(HUB + "/nonce", {headers: {"x-address": db.address}, cache: "no-store"});
    var body = await r.json();
    var signature = await P.signNonce(wallet, body.nonce);
    session = {nonce: body.nonce, signature: signature, at: Date.now()};
  }

  async function hub(method, path, body, opts) {
    opts = opts || {};
    for (var attempt = 0; attempt < 2; attempt++) {
      var headers = {"Accept": "application/json"};
      if (!opts.public) {
        if (!session || Date.now() - session.at > 90 * 60 * 1000) { await authenticate(); }
        headers["x-address"] = db.address;
        headers["x-nonce"] = session.nonce;
        headers["x-signature"] = session.signature;
      }
      if (body !== undefined) { headers["Content-Type"] = "application/json"; }
      var r = await fetch(HUB + path, {method: method, headers: headers, cache: "no-store",
                                       body: body === undefined ? undefined : JSON.stringify(body)});
      if (r.status === 403 && !opts.public && attempt === 0) { session = null; continue; }
      var data = null;
      try { data = await r.json(); } catch (e) { data = null; }
      if (!r.ok) {
        throw HubError(r.status, data && data.code, (data && (data.message || data.error)) || ("HTTP " + r.status));
      }
      return data;
    }
    throw HubError(403, "auth_failed", "the hub refused our signature");
  }

  async function rpc(method, params) {
    var r = await fetch(RPC, {method: "POST", headers: {"Content-Type": "application/json"},
                              body: JSON.stringify({jsonrpc: "2.0", id: 1, method: method, params: params || []})});
    var data = await r.json();
    if (data.error) { throw new Error(data.error.message || "chain error"); }
    return data.result;
  }

  async function ensureConfig() {
    if (!db.config) {
      db.config = await hub("GET", "/config", undefined, {public: true});
      save();
    }
    return db.config;
  }

  async function hubRate() {
    var data = await hub("GET", "/exchangeRate", undefined, {public: true});
    if (!data || !data.rates || !data.rates.DAI) { throw new Error("The hub has no exchange rate right now."); }
    return String(data.rates.DAI);
  }

  function withinBand(proposed, reference) {
    var a = P.rateToWad(proposed), b = P.rateToWad(reference);
    var diff = a > b ? a - b : b - a;
    return diff * BigInt(100) <= b * RATE_BAND;
  }

  // ---- the channel record (client/spoke_client/store.py ChannelRecord) ----------------------
  function record() {
    if (!db.record) {
      db.record = {state: P.zeroState(db.config.contractAddress, db.address), reason: null, args: {},
                   exitable: null, lastThreadUpdateId: 0, pendingWithdrawal: null};
    }
    return db.record;
  }
  function state() { return record().state; }

  function adopt(s, reason, args) {
    var rec = record();
    var pendingWithdrawal = rec.pendingWithdrawal;
    if (reason === "ProposePendingWithdrawal") { pendingWithdrawal = args; }
    else if (!P.hasPending(s)) { pendingWithdrawal = null; }
    db.record = {state: s, reason: reason, args: args || {}, exitable: s.timeout === 0 ? s : rec.exitable,
                 lastThreadUpdateId: rec.lastThreadUpdateId, pendingWithdrawal: pendingWithdrawal};
    if (reason === "ProposePendingDeposit" && (big(s.pendingDepositWeiUser) + big(s.pendingDepositTokenUser)) > BigInt(0)) {
      delete db.requests.deposit;
    } else if (reason === "Exchange") {
      delete db.requests.exchange;
    } else if (reason === "ProposePendingWithdrawal") {
      delete db.requests.withdrawal;
    }
    save();  // before anything that depends on it is said to the hub
  }

  // What this card countersigns: a yes with the reason for a no (client/spoke_client/policy.py,
  // in the small: the card signs only hub proposals it asked for or that only add to its side).
  async function policy(prev, next, u) {
    var a = u.args || {};
    var req = db.requests;
    switch (u.reason) {
    case "Payment":
      return a.recipient === "user" ? null : "a payment to the hub that this card did not make";
    case "ProposePendingDeposit":
      if (big(a.depositWeiUser) === BigInt(0) && big(a.depositTokenUser) === BigInt(0)) { return null; }
      if (!req.deposit || big(req.deposit.wei) !== big(a.depositWeiUser) || big(a.depositTokenUser) !== BigInt(0)) {
        return "a deposit this card did not ask for";
      }
      return null;
    case "ConfirmPending":
    case "Invalidation":
      return P.hasPending(prev) ? null : "nothing is pending";
    case "Exchange":
      if (!req.exchange) { return "an exchange this card did not ask for"; }
      if (a.seller !== "user" || big(a.weiToSell) > big(req.exchange.weiToSell) ||
          big(a.tokensToSell) > big(req.exchange.tokensToSell)) { return "not the exchange this card asked for"; }
      return withinBand(a.exchangeRate, await hubRate()) ? null : "the rate is not within 2% of the hub's";
    case "ProposePendingWithdrawal":
      var w = req.withdrawal;
      if (!w) { return "a withdrawal this card did not ask for"; }
      if (String(a.recipient).toLowerCase() !== w.recipient.toLowerCase() ||
          big(a.tokensToSell) !== big(w.tokensToSell) || big(a.weiToSell) !== big(w.weiToSell) ||
          big(a.targetWeiUser) !== big(w.targetWeiUser) || big(a.targetTokenUser) !== big(w.targetTokenUser)) {
        return "not the withdrawal this card asked for";
      }
      return withinBand(a.exchangeRate, w.exchangeRate) ? null : "the rate moved by more than 2%";
    default:
      return "this card does not sign " + u.reason + " updates";
    }
  }

  function regenerate(prev, u) {
    var args = u.args || {};
    if (u.reason === "Invalidation" && !args.withdrawal && record().pendingWithdrawal && P.hasPending(prev)) {
      args = Object.assign({}, args, {withdrawal: record().pendingWithdrawal});
    }
    return P.checkAmounts(P.generate(prev, u.reason, args));
  }

  async function applySync(data, depth) {
    if (!data) { return; }
    var updates = data.updates || [];
    var toPost = [];
    for (var i = 0; i < updates.length; i++) {
      var item = updates[i];
      if (item.type !== "channel") { continue; }
      var u = item.update;
      var prev = state();
      if (u.txCount != null && u.txCount <= prev.txCountGlobal) { continue; }
      if (u.txCount != null && u.txCount > prev.txCountGlobal + 1) {
        if (depth === 0) { return syncNow(); }
        break;
      }
      var next = regenerate(prev, u);
      var hubAddress = db.config.hubAddress;
      if (u.sigHub && u.sigUser) {
        next.sigHub = u.sigHub; next.sigUser = u.sigUser;
        if (!P.isAgreed(next, hubAddress)) { throw new Error("the hub sent a state whose signatures do not match"); }
        adopt(next, u.reason, u.args);
        continue;
      }
      var refusal = await policy(prev, next, u);
      if (refusal) { console.warn("not countersigning " + u.reason + ": " + refusal); break; }
      var signed = await P.signState(wallet, next);
      if (u.sigHub) {
        signed.sigHub = u.sigHub;
        if (P.recoverHash(P.stateHash(signed), u.sigHub) !== hubAddress.toLowerCase()) {
          throw new Error("the hub's signature does not match its proposal");
        }
        if (u.reason === "ProposePendingDeposit" && u.args.sigUser) {
          await sendUserDeposit(signed);
          status("fund-status", "Deposit sent to the chain: it counts once it is confirmed.");
        }
        adopt(signed, u.reason, u.args);
      }
      var out = {reason: u.reason, args: u.args, txCount: signed.txCountGlobal, sigUser: signed.sigUser};
      if (u.sigHub) { out.sigHub = u.sigHub; }
      if (u.id != null) { out.id = u.id; }
      if (u.createdOn != null) { out.createdOn = u.createdOn; }
      toPost.push(out);
      if (!u.sigHub) { break; }  // an unsigned proposal comes last; the hub countersigns it next
    }
    if (toPost.length) {
      var response = await hub("POST", "/channel/" + db.address + "/update",
                               {updates: toPost, lastThreadUpdateId: record().lastThreadUpdateId});
      if (response && response.updates && depth < 4) { await applySync(response.updates, depth + 1); }
      if (response && response.error) { throw HubError(409, response.code, String(response.error.message || response.error)); }
    }
  }

  async function syncNow() {
    if (busy.sync) { busy.again = true; return; }
    busy.sync = true;
    try {
      do {
        busy.again = false;
        var data;
        try {
          data = await hub("GET", "/channel/" + db.address + "/sync?lastChanTx=" + state().txCountGlobal +
                           "&lastThreadUpdateId=" + record().lastThreadUpdateId);
        } catch (e) {
          if (e.status === 404) { data = null; } else { throw e; }
        }
        await applySync(data, 0);
      } while (busy.again);
      db.syncedAt = Date.now();
      await refreshExtras();
      save();
      setLive("live");
    } finally {
      busy.sync = false;
    }
    render();
    afterSync();
  }

  async function refreshExtras() {
    try { db.custodial = await hub("GET", "/custodial/" + db.address + "/balance"); } catch (e) { /* keep the last */ }
    try { db.history = (await hub("GET", "/payments/history/" + db.address)).slice(0, 30); } catch (e) { /* keep */ }
  }

  // ---- on-chain: the card's own transactions (signed here, relayed by /card/rpc) -------------
  async function sendUserDeposit(s) {
    var iface = new E.utils.Interface(ABI);
    var data = iface.functions.userAuthorizedUpdate.encode([
      s.recipient, [s.balanceWeiHub, s.balanceWeiUser], [s.balanceTokenHub, s.balanceTokenUser],
      [s.pendingDepositWeiHub, s.pendingWithdrawalWeiHub, s.pendingDepositWeiUser, s.pendingWithdrawalWeiUser],
      [s.pendingDepositTokenHub, s.pendingWithdrawalTokenHub, s.pendingDepositTokenUser, s.pendingWithdrawalTokenUser],
      [s.txCountGlobal, s.txCountChain], s.threadRoot, s.threadCount, s.timeout, s.sigHub,
    ]);
    var req = db.requests.deposit || {};
    var nonce = await rpc("eth_getTransactionCount", [db.address, "pending"]);
    var value = "0x" + big(s.pendingDepositWeiUser).toString(16);
    var estimate;
    try {
      estimate = big(await rpc("eth_estimateGas", [{from: db.address, to: db.config.contractAddress, value: value, data: data}]));
    } catch (e) {
      throw new Error("The deposit would fail on chain: " + e.message);
    }
    var gas = estimate * BigInt(5) / BigInt(4);
    if (gas > GAS_LIMIT) { gas = GAS_LIMIT; }
    var tx = {nonce: Number(nonce), gasLimit: "0x" + gas.toString(16), gasPrice: req.gasPrice,
              to: db.config.contractAddress, value: value, data: data, chainId: CHAIN_ID};
    var raw = await wallet.sign(tx);
    return rpc("eth_sendRawTransaction", [raw]);
  }

  // ETH on the card's address goes into the channel by itself, less the gas it costs.
  async function autoDeposit() {
    if (busy.deposit || P.hasPending(state()) || db.requests.deposit) { return; }
    busy.deposit = true;
    try {
      var balance = big(await rpc("eth_getBalance", [db.address, "latest"]));
      var gasPrice = big(await rpc("eth_gasPrice", []));
      var fee = gasPrice * GAS_LIMIT;
      if (balance <= fee * BigInt(2)) { return; }
      var amount = balance - fee;
      status("fund-status", "Received " + eth(balance) + " ETH: moving it into the card…");
      db.requests.deposit = {wei: amount.toString(), gasPrice: "0x" + gasPrice.toString(16), at: Date.now()};
      db.autoExchange = true;
      save();
      await requestDeposit(amount);
    } catch (e) {
      delete db.requests.deposit;
      save();
      status("fund-status", e.message, true);
    } finally {
      busy.deposit = false;
    }
  }

  async function requestDeposit(amount) {
    var sig = await P.signHash(wallet, P.depositRequestHash("0", amount.toString()));
    var r = await hub("POST", "/channel/" + db.address + "/request-deposit", {
      depositWei: amount.toString(), depositToken: "0", sigUser: sig,
      lastChanTx: state().txCountGlobal, lastThreadUpdateId: record().lastThreadUpdateId});
    await applySync(r, 0);
    render();
  }

  async function fundFromWallet() {
    status("wallet-status", "");
    try {
      var amount = parseAmount($("wallet-amount").value);
      var eth1193 = window.ethereum;
      if (!eth1193 || typeof eth1193.request !== "function") { throw new Error("No browser wallet found."); }
      var accounts = await eth1193.request({method: "eth_requestAccounts"});
      var current = await eth1193.request({method: "eth_chainId"});
      if (BigInt(current) !== BigInt(CHAIN_ID)) {
        await eth1193.request({method: "wallet_switchEthereumChain", params: [{chainId: "0x" + CHAIN_ID.toString(16)}]});
      }
      // The contract credits a deposit to whoever sends it, so the wallet sends ETH to the card's
      // address and the card deposits it like any ETH it receives (gas from the amount).
      status("wallet-status", "Confirm in your wallet…");
      await eth1193.request({method: "eth_sendTransaction", params: [{
        from: accounts[0], to: db.address, value: "0x" + amount.toString(16)}]});
      status("wallet-status", "Sent: the card moves it into its channel once the chain has it.");
      autoDeposit().catch(function () {});
    } catch (e) {
      status("wallet-status", e.code === 4001 ? "Cancelled in the wallet." : e.message, true);
    }
  }

  // After a confirmed deposit the ETH in the channel becomes tokens at once.
  async function autoExchange() {
    var s = state();
    if (!db.autoExchange || busy.exchange || P.hasPending(s) || big(s.balanceWeiUser) === BigInt(0)) { return; }
    busy.exchange = true;
    try {
      db.requests.exchange = {weiToSell: s.balanceWeiUser, tokensToSell: "0"};
      save();
      var r = await hub("POST", "/channel/" + db.address + "/request-exchange",
                        {weiToSell: s.balanceWeiUser, tokensToSell: "0", lastChanTx: s.txCountGlobal});
      await applySync(r, 0);
      if (big(state().balanceWeiUser) === BigInt(0)) { db.autoExchange = false; }
      save();
      status("fund-status", "Done: " + token(state().balanceTokenUser) + " SPD in the card.");
      render();
    } catch (e) {
      delete db.requests.exchange;
      save();
      status("fund-status", "Kept as ETH for now: " + e.message, true);
    } finally {
      busy.exchange = false;
    }
  }

  function afterSync() {
    autoExchange().catch(function () {});
    autoDeposit().catch(function () {});
    if (pendingRedeem && pendingRedeem.waiting && big(state().balanceTokenUser) + big(state().balanceWeiUser) > pendingRedeem.before) {
      status("redeem-status", "Redeemed: the money is in your card.");
      pendingRedeem = null;
    }
  }

  // ---- paying -------------------------------------------------------------------------------
  async function purchase(items) {
    var prev = state();
    var current = prev;
    var payments = [];
    for (var i = 0; i < items.length; i++) {
      var it = items[i];
      var args = {recipient: "hub", amountWei: it.amountWei.toString(), amountToken: it.amountToken.toString()};
      var next;
      try {
        next = P.checkAmounts(P.generate(current, "Payment", args));
      } catch (e) {
        throw new Error("Not enough money in the card for this payment.");
      }
      current = await P.signState(wallet, next);
      payments.push({recipient: it.recipient, amount: {amountWei: args.amountWei, amountToken: args.amountToken},
                     meta: it.meta || {}, type: it.type,
                     update: {reason: "Payment", args: args, txCount: current.txCountGlobal, sigUser: current.sigUser}});
    }
    var r = await hub("POST", "/payments/purchase", {meta: {}, payments: payments});
    await applySync(r.sync, 0);
    if (state().txCountGlobal < current.txCountGlobal) { throw new Error("The hub did not take the payment."); }
    render();
    return r;
  }

  async function recipientHasChannel(address) {
    try {
      await hub("GET", "/channel/" + address.toLowerCase());
      return true;
    } catch (e) {
      if (e.status === 404) { return false; }
      throw e;
    }
  }

  // A checkout URL (…/pay/inv_…), a card request (…/card/#pay=0x…&amount=…) or a plain address.
  function parseTarget(raw) {
    var v = String(raw || "").trim();
    if (isAddress(v)) { return {kind: "address", to: v.toLowerCase()}; }
    var eth = /^ethereum:(0x[0-9a-fA-F]{40})/.exec(v);
    if (eth) { return {kind: "address", to: eth[1].toLowerCase()}; }
    var url;
    try { url = new URL(v, location.href); } catch (e) { return null; }
    var inv = /\/pay\/(inv_[0-9A-Za-z]+)/.exec(url.pathname);
    if (inv) { return {kind: "invoice", id: inv[1]}; }
    var params = new URLSearchParams(url.hash.replace(/^#/, ""));
    if (params.get("pay") && isAddress(params.get("pay"))) {
      return {kind: "request", to: params.get("pay").toLowerCase(), amountToken: params.get("amount") || null};
    }
    return null;
  }

  async function payCheck() {
    status("pay-status", "");
    $("pay-confirm").hidden = true;
    try {
      var target = parseTarget($("pay-target").value);
      if (!target) { throw new Error("That is neither a checkout link, a payment request nor an address."); }
      if (target.kind === "invoice") {
        var r = await fetch(root.dataset.invoiceApi + encodeURIComponent(target.id), {headers: {"Accept": "application/json"}});
        var due = await r.json();
        if (!r.ok) { throw new Error((due.error && due.error.message) || "Invoice not found."); }
        if (!due.payable) { throw new Error("This invoice is not payable (" + due.status + ")."); }
        var amount = big(due.amount_remaining);
        payIntent = {recipient: due.pay_to, type: "PT_CHANNEL", meta: due.payment_meta,
                     amountWei: due.asset === "token" ? BigInt(0) : amount, amountToken: due.asset === "token" ? amount : BigInt(0)};
        text("pay-summary", "Pay invoice " + due.id + ": " + (due.asset === "token" ? token(amount) + " SPD" : eth(amount) + " ETH") + ".");
      } else {
        var amountToken = target.amountToken ? big(target.amountToken) : parseAmount($("pay-amount").value);
        if (target.amountToken) { $("pay-amount").value = token(amountToken); }
        var hasChannel = await recipientHasChannel(target.to);
        payIntent = {recipient: target.to, type: hasChannel ? "PT_CHANNEL" : "PT_CUSTODIAL", meta: {},
                     amountWei: BigInt(0), amountToken: amountToken};
        text("pay-summary", "Pay " + token(amountToken) + " SPD to " + target.to +
             (hasChannel ? "." : " (no channel yet: the hub holds it for them)."));
      }
      $("pay-confirm").hidden = false;
      $("pay-send").focus();
    } catch (e) {
      status("pay-status", e.message, true);
    }
  }

  async function paySend() {
    if (!payIntent) { return; }
    var intent = payIntent;
    $("pay-send").disabled = true;
    try {
      status("pay-status", "Paying…");
      await purchase([intent]);
      $("pay-confirm").hidden = true;
      payIntent = null;
      status("pay-status", "Paid " + (intent.amountToken > BigInt(0) ? token(intent.amountToken) + " SPD" : eth(intent.amountWei) + " ETH") + ".");
    } catch (e) {
      status("pay-status", e.message, true);
    } finally {
      $("pay-send").disabled = false;
    }
  }

  async function scanImage(source, width, height) {
    var canvas = document.createElement("canvas");
    canvas.width = width; canvas.height = height;
    var ctx = canvas.getContext("2d");
    ctx.drawImage(source, 0, 0, width, height);
    var pixels = ctx.getImageData(0, 0, width, height);
    var found = window.jsQR(pixels.data, width, height);
    return found ? found.data : null;
  }

  function scanned(value) {
    $("pay-target").value = value;
    status("pay-status", "Scanned.");
    payCheck();
  }

  async function scanFile(ev) {
    var file = ev.target.files && ev.target.files[0];
    if (!file) { return; }
    var img = new Image();
    img.onload = async function () {
      var value = await scanImage(img, img.naturalWidth, img.naturalHeight);
      URL.revokeObjectURL(img.src);
      if (value) { scanned(value); } else { status("pay-status", "No QR code found in that picture.", true); }
    };
    img.src = URL.createObjectURL(file);
    ev.target.value = "";
  }

  async function scanCamera() {
    var video = $("scan-video");
    try {
      var stream = await navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}});
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      var stop = function () { stream.getTracks().forEach(function (t) { t.stop(); }); video.hidden = true; };
      for (var i = 0; i < 600; i++) {
        if (video.videoWidth) {
          var value = await scanImage(video, video.videoWidth, video.videoHeight);
          if (value) { stop(); scanned(value); return; }
        }
        await sleep(100);
      }
      stop();
    } catch (e) {
      status("pay-status", "The camera is not available: " + e.message, true);
    }
  }

  // ---- request ------------------------------------------------------------------------------
  function requestUrl(amount) {
    return location.origin + "/card/#pay=" + db.address + "&amount=" + amount.toString();
  }
  function requestMake() {
    try {
      var amount = parseAmount($("request-amount").value);
      var url = requestUrl(amount);
      qrInto("request-qr", url);
      text("request-url", url);
    } catch (e) {
      text("request-url", e.message);
    }
  }

  // ---- links --------------------------------------------------------------------------------
  async function linkMake() {
    status("link-status", "");
    $("link-made").hidden = true;
    try {
      var amount = parseAmount($("link-amount").value);
      var secret = randomHex(32);
      var secretHash = E.utils.sha256(E.utils.toUtf8Bytes(secret)).slice(2);
      status("link-status", "Making the link…");
      await purchase([{recipient: P.ZERO_ADDRESS, type: "PT_LINK", meta: {secretHash: secretHash},
                       amountWei: BigInt(0), amountToken: amount}]);
      var url = location.origin + "/card/#redeem=" + secret;
      try {
        var links = await hub("GET", "/links/" + db.address);
        var mine = links.filter(function (l) { return l.status === "open" && l.amount === amount.toString(); });
        if (mine.length && mine[0].page_url) { url = new URL(mine[0].page_url, location.origin).href.split("#")[0] + "#" + secret; }
      } catch (e) { /* the card's own redeem URL works as well */ }
      text("link-url", url);
      qrInto("link-qr", url);
      $("link-made").hidden = false;
      status("link-status", "Link made for " + token(amount) + " SPD.");
    } catch (e) {
      status("link-status", e.message, true);
    }
  }

  async function redeem() {
    if (!pendingRedeem) { return; }
    $("redeem-go").disabled = true;
    try {
      status("redeem-status", "Redeeming…");
      var s = state();
      pendingRedeem.before = big(s.balanceTokenUser) + big(s.balanceWeiUser);
      var r = await hub("POST", "/payments/redeem/" + db.address, {secret: pendingRedeem.secret,
                        lastChanTx: s.txCountGlobal, lastThreadUpdateId: record().lastThreadUpdateId});
      await applySync(r.sync, 0);
      render();
      var got = r.amount || {};
      var shown = big(got.amountToken) > BigInt(0) ? token(got.amountToken) + " SPD" : eth(got.amountWei) + " ETH";
      if (r.status === "pending") {
        pendingRedeem.waiting = true;
        status("redeem-status", "Redeemed " + shown + ": the hub is opening your card's channel; the money shows in a moment.");
      } else {
        status("redeem-status", "Redeemed: " + shown + " in your card.");
        pendingRedeem = null;
      }
    } catch (e) {
      status("redeem-status", e.message, true);
      $("redeem-go").disabled = false;
    }
  }

  // ---- cash out -----------------------------------------------------------------------------
  async function cashoutCheck() {
    status("cashout-status", "");
    $("cashout-confirm").hidden = true;
    try {
      var to = $("cashout-address").value.trim();
      if (!isAddress(to)) { throw new Error("Enter an Ethereum address: 0x and 40 letters and digits."); }
      var asEth = document.querySelector("input[name=cashout-asset]:checked").value === "eth";
      var s = state();
      if (P.hasPending(s)) { throw new Error("Wait until the card's last deposit or withdrawal is confirmed."); }
      var rate = await hubRate();
      var tokens = big(s.balanceTokenUser), wei = big(s.balanceWeiUser);
      var custodialTokens = big(db.custodial && db.custodial.balanceToken);
      if (tokens + wei + custodialTokens === BigInt(0)) { throw new Error("The card is empty."); }
      var proceeds = asEth ? P.tokenToWei(tokens, rate) : BigInt(0);
      cashoutIntent = {recipient: to.toLowerCase(), asEth: asEth, rate: rate, custodialTokens: custodialTokens,
                       withdrawal: (tokens + wei) > BigInt(0) ? {
                         recipient: to.toLowerCase(), exchangeRate: rate,
                         withdrawalWeiUser: wei.toString(), withdrawalTokenUser: asEth ? "0" : tokens.toString(),
                         tokensToSell: asEth ? tokens.toString() : "0", weiToSell: "0",
                         targetWeiUser: "0", targetTokenUser: asEth ? (tokens - P.weiToToken(proceeds, rate)).toString() : "0"} : null};
      var parts = [];
      if (asEth) { parts.push(eth(wei + proceeds + (asEth ? P.tokenToWei(custodialTokens, rate) : BigInt(0))) + " ETH"); }
      else { parts.push(token(tokens + custodialTokens) + " SPD"); if (wei > BigInt(0)) { parts.push(eth(wei) + " ETH"); } }
      text("cashout-summary", "Send " + parts.join(" and ") + " to " + to + ".");
      text("cashout-rate", asEth ? "Rate: 1 ETH = " + rate + " SPD (the hub's rate now; confirmed within 2%)." : "No exchange: the tokens go as they are.");
      $("cashout-confirm").hidden = false;
    } catch (e) {
      status("cashout-status", e.message, true);
    }
  }

  async function cashoutSend() {
    var c = cashoutIntent;
    if (!c) { return; }
    $("cashout-send").disabled = true;
    try {
      status("cashout-status", "Cashing out…");
      if (c.withdrawal) {
        var start = state().txCountGlobal;
        db.requests.withdrawal = c.withdrawal;
        save();
        var body = {recipient: c.withdrawal.recipient, exchangeRate: c.rate,
                    withdrawalWeiUser: c.withdrawal.withdrawalWeiUser, withdrawalTokenUser: c.withdrawal.withdrawalTokenUser,
                    tokensToSell: c.withdrawal.tokensToSell, weiToSell: "0", lastChanTx: start};
        var r = await hub("POST", "/channel/" + db.address + "/request-withdrawal", body);
        await applySync(r, 0);
        if (state().txCountGlobal === start) { throw new Error("The hub proposed no withdrawal."); }
      }
      if (c.custodialTokens > BigInt(0)) {
        await hub("POST", "/custodial/withdrawals", {amountToken: c.custodialTokens.toString(), recipient: c.recipient,
                                                     payoutAsset: c.asEth ? "eth" : "token"});
      }
      $("cashout-confirm").hidden = true;
      cashoutIntent = null;
      status("cashout-status", "On its way to " + c.recipient + ": it arrives with the next blocks.");
      render();
    } catch (e) {
      delete db.requests.withdrawal;
      save();
      status("cashout-status", e.message, true);
    } finally {
      $("cashout-send").disabled = false;
    }
  }

  // ---- key, backup, restore -----------------------------------------------------------------
  async function createCard() {
    var w = E.Wallet.createRandom();
    db = newDb(w.mnemonic, w);
    wallet = w;
    save();
    await start();
  }

  async function restoreFrom(phrase, statusId) {
    try {
      var words = String(phrase || "").trim().toLowerCase().split(/\s+/).join(" ");
      if (!E.utils.HDNode.isValidMnemonic(words)) { throw new Error("That is not a valid recovery phrase."); }
      status(statusId, "Restoring…");
      var w = E.Wallet.fromMnemonic(words);
      var previous = db;
      db = newDb(words, w);
      wallet = w;
      session = null;
      try {
        await ensureConfig();
        var row = await hub("GET", "/channel/" + db.address + "/latest-update");
        var s = P.normalize(row.state);
        if (s.user !== db.address || s.contractAddress !== db.config.contractAddress.toLowerCase() ||
            !P.isAgreed(s, db.config.hubAddress)) {
          throw new Error("The hub answered with a state this card cannot check.");
        }
        record();
        adopt(s, row.reason || "Restore", row.args || {});
      } catch (e) {
        if (e.status !== 404) { if (!db.config) { db = previous; } throw e; }
      }
      save();
      status(statusId, "Restored.");
      await start();
    } catch (e) {
      status(statusId, e.message, true);
    }
  }

  // The Python SDK's JsonFileStateStore file: {"<contract>:<user>": ChannelRecord.to_json()}
  // (client/spoke_client/store.py), which client/examples/exit_without_hub.py reads.
  function exportState() {
    var rec = record();
    if (!rec.exitable) { status("export-status", "Nothing to export yet: the card has no signed state.", true); return; }
    var key = db.config.contractAddress.toLowerCase() + ":" + db.address;
    var file = {};
    file[key] = {state: rec.state, reason: rec.reason, args: rec.args, exitable: rec.exitable,
                 lastThreadUpdateId: rec.lastThreadUpdateId, pendingWithdrawal: rec.pendingWithdrawal};
    var blob = new Blob([JSON.stringify(file, null, 1)], {type: "application/json"});
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "spoke-card-" + db.address + ".json";
    document.body.appendChild(a);
    a.click();
    a.remove();
    status("export-status", "Saved the state of transaction " + rec.exitable.txCountGlobal + ".");
  }

  // ---- live updates -------------------------------------------------------------------------
  function setLive(kind) {
    var el = $("live");
    el.setAttribute("data-state", kind);
    if (kind === "live") { el.textContent = "Live"; }
    else if (kind === "offline") {
      el.textContent = "Offline: last known state" + (db && db.syncedAt ? " from " + new Date(db.syncedAt).toLocaleTimeString() : "");
    } else { el.textContent = "Connecting…"; }
  }

  async function connectSocket() {
    if (socket) { return; }
    try {
      if (!session) { await authenticate(); }
      var proto = location.protocol === "https:" ? "wss:" : "ws:";
      var url = proto + "//" + location.host + root.dataset.wsPath + "?address=" + db.address +
                "&nonce=" + encodeURIComponent(session.nonce) + "&signature=" + session.signature;
      socket = new WebSocket(url);
      socket.onmessage = function () { syncNow().catch(offline); };
      socket.onclose = function () { socket = null; setTimeout(connectSocket, 3000); };
    } catch (e) {
      socket = null;
      setTimeout(connectSocket, 5000);
    }
  }

  function offline(e) {
    setLive("offline");
    if (e && e.status) { showError(e); }
  }

  // ---- rendering ----------------------------------------------------------------------------
  function show(name) {
    Array.prototype.forEach.call(document.querySelectorAll(".screen"), function (el) {
      el.hidden = el.id !== "screen-" + name;
    });
    if (name === "fund") { autoDeposit().catch(function () {}); }
    var heading = document.querySelector("#screen-" + name + " h2");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
  }

  function render() {
    if (!db || !db.config) { return; }
    var s = state();
    text("balance-token", token(s.balanceTokenUser));
    text("balance-wei", eth(s.balanceWeiUser));
    var custodial = big(db.custodial && db.custodial.balanceToken);
    $("custodial-line").hidden = custodial === BigInt(0);
    text("balance-custodial", token(custodial));
    var pending = P.hasPending(s);
    $("pending-line").hidden = !pending;
    if (pending) {
      text("pending-line", big(s.pendingDepositWeiUser) > BigInt(0) ? "Deposit of " + eth(s.pendingDepositWeiUser) + " ETH on its way" :
           (big(s.pendingWithdrawalWeiUser) + big(s.pendingWithdrawalTokenUser) > BigInt(0) ? "Cash-out on its way" : "Hub collateral on its way"));
    }
    root.setAttribute("data-tx-count", String(s.txCountGlobal));
    text("home-address", db.address);
    text("fund-address", db.address);
    var list = $("history");
    list.innerHTML = "";
    (db.history || []).forEach(function (p) {
      var li = document.createElement("li");
      var incoming = String(p.recipient || "").toLowerCase() === db.address;
      var what = document.createElement("span");
      what.textContent = (incoming ? "From " + short(p.sender) : "To " + short(p.recipient)) + (p.type === "PT_LINK" ? " (link)" : "");
      var amt = document.createElement("span");
      var amount = p.amount || {};
      amt.className = incoming ? "in" : "out";
      amt.textContent = (incoming ? "+" : "−") + (big(amount.amountToken) > BigInt(0) ? token(amount.amountToken) + " SPD" : eth(amount.amountWei) + " ETH");
      li.appendChild(what); li.appendChild(amt);
      list.appendChild(li);
    });
    if (!list.children.length) {
      var none = document.createElement("li");
      none.className = "muted"; none.textContent = "Nothing yet.";
      list.appendChild(none);
    }
  }
  function short(a) { a = String(a || ""); return a.length > 12 ? a.slice(0, 6) + "…" + a.slice(-4) : a; }

  // ---- start --------------------------------------------------------------------------------
  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    var out = {redeem: params.get("redeem"), pay: params.get("pay") ? location.href : null};
    if (out.redeem || out.pay) { history.replaceState(null, "", location.pathname); }  // the secret does not stay in the address bar
    return out;
  }

  var fromHash = readHash();

  async function start() {
    wallet = wallet || new E.Wallet(db.privateKey);
    render();
    show("home");
    setLive(db.syncedAt ? "offline" : "starting");
    try {
      await ensureConfig();
      record();
      render();
      qrInto("fund-qr", db.address);
      await syncNow();
      connectSocket();
    } catch (e) {
      offline(e);
    }
    if (fromHash.redeem) {
      pendingRedeem = {secret: fromHash.redeem};
      fromHash.redeem = null;
      show("redeem");
    } else if (fromHash.pay) {
      $("pay-target").value = fromHash.pay;
      fromHash.pay = null;
      show("pay");
      payCheck();
    }
  }

  function poll() {
    if (db && db.config && wallet) {
      syncNow().catch(offline);
    }
    setTimeout(poll, document.hidden ? 15000 : 4000);
  }

  function bind(id, fn) { $(id).addEventListener("click", function () { showError(null); fn(); }); }
  Array.prototype.forEach.call(document.querySelectorAll("[data-screen]"), function (b) {
    b.addEventListener("click", function () { show(b.getAttribute("data-screen")); });
  });
  bind("create-card", createCard);
  bind("restore-welcome", function () { restoreFrom($("restore-phrase-welcome").value, "error"); });
  bind("restore", function () { restoreFrom($("restore-phrase").value, "restore-status"); });
  bind("show-phrase", function () { var p = $("phrase"); p.textContent = db.phrase; p.hidden = !p.hidden; });
  bind("export-state", exportState);
  bind("copy-address", function () { navigator.clipboard && navigator.clipboard.writeText(db.address); });
  bind("fund-wallet", fundFromWallet);
  bind("pay-check", payCheck);
  bind("pay-send", paySend);
  bind("pay-cancel", function () { $("pay-confirm").hidden = true; payIntent = null; });
  bind("scan-camera", scanCamera);
  $("scan-file").addEventListener("change", scanFile);
  bind("request-make", requestMake);
  bind("link-make", linkMake);
  bind("link-copy", function () { navigator.clipboard && navigator.clipboard.writeText($("link-url").textContent); });
  bind("redeem-go", redeem);
  bind("cashout-check", cashoutCheck);
  bind("cashout-send", cashoutSend);
  bind("cashout-cancel", function () { $("cashout-confirm").hidden = true; cashoutIntent = null; });

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(root.dataset.serviceWorker, {scope: "/card/"}).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      var parts = [location.pathname];
      Array.prototype.forEach.call(document.querySelectorAll("script[src], link[rel=stylesheet], link[rel=icon]"), function (el) {
        parts.push(el.getAttribute("src") || el.getAttribute("href"));
      });
      registration.active.postMessage({cache: parts});
    }).catch(function () { /* no offline copy: the card still works online */ });
  }

  if (db && db.privateKey) {
    start();
  } else {
    db = null;
    $("screen-welcome").hidden = false;
    setLive("starting");
    text("live", "No card yet");
    if (fromHash.redeem) {
      // a link opened in a browser with no card: make one, then redeem into it
      var note = document.createElement("p");
      note.className = "note";
      note.textContent = "Someone sent you money as a link. Create your card to take it.";
      $("screen-welcome").insertBefore(note, $("create-card"));
    }
  }
  setTimeout(poll, 4000);
})();
