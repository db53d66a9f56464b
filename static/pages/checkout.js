// The hosted checkout: keeps the invoice's state live (polls status.json) and pays with an
// EIP-1193 browser wallet (window.ethereum): the server signs a payment intent for the exact
// remaining amount and returns the ready-encoded contract call; the wallet only sends it.
(function () {
  "use strict";
  var main = document.getElementById("checkout");
  var box = document.getElementById("status");
  // the page's texts in its language (the view's PAGE_TEXTS); %(name)s placeholders filled here
  var T = JSON.parse(document.getElementById("checkout-texts").textContent);
  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, name) { return values[name]; });
  }
  var pending = false;  // a wallet payment was sent and waits for its confirmations
  var timer = null;

  function text(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value; }
  }
  function hide(id, hidden) {
    var el = document.getElementById(id);
    if (el) { el.hidden = hidden; }
  }

  function show(s) {
    box.setAttribute("data-status", s.status);
    text("status-text", T.statuses[s.status] || s.status);
    var detail = "";
    if (s.payable) {
      detail = fill(T.timeLeft, {time: Math.floor(s.seconds_left / 60) + ":" + ("0" + s.seconds_left % 60).slice(-2)});
      if (pending) { detail = T.sentWaiting + " " + detail; }
    } else if (s.paid) {
      detail = fill(T.received, {amount: s.received_text});
    }
    text("status-detail", detail);
    text("due-label", s.status === "partially_paid" ? T.stillToPay : T.amount);
    text("due-amount", s.payable ? s.remaining_text : s.amount_text);
    text("received-amount", s.received_text);
    hide("partial-note", s.status !== "partially_paid");
    var paused = !!document.getElementById("payments-paused");
    hide("pay-options", !s.payable || paused);
    if (!s.payable) { hide("due-fiat", true); }
    hide("receipt", !s.paid);
    text("receipt-amount", s.received_text);
    if (s.paid && s.paid_at) {
      var d = new Date(s.paid_at * 1000);
      text("receipt-time", d.toLocaleString());
    }
    hide("expired-note", s.status !== "expired");
    hide("void-note", s.status !== "void");
    var button = document.getElementById("pay-wallet");
    if (button && s.payable) { button.textContent = fill(T.payButton, {amount: s.remaining_text}); }
  }

  function poll() {
    fetch(main.dataset.statusUrl, {headers: {"Accept": "application/json"}, cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (s) { show(s); }
        if (!s || !s.paid) { schedule(); }
      })
      .catch(schedule);
  }
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(poll, pending ? 1000 : 2000);
  }

  function message(msg, isError) {
    var el = document.getElementById("wallet-message");
    if (!el) { return; }
    el.textContent = msg;
    el.className = isError ? "note error" : "note";
  }

  function hex(decimal) { return "0x" + BigInt(decimal).toString(16); }

  function walletError(err) {
    if (err && err.code === 4001) { return T.cancelled; }
    return (err && err.message) ? err.message : String(err);
  }

  async function payWithWallet() {
    var eth = window.ethereum;
    if (!eth || typeof eth.request !== "function") {
      message(T.noWallet, true);
      return;
    }
    var button = document.getElementById("pay-wallet");
    button.disabled = true;
    try {
      message(T.connecting);
      var accounts = await eth.request({method: "eth_requestAccounts"});
      if (!accounts || !accounts.length) { throw new Error(T.noAccount); }
      var from = accounts[0];
      var wanted = hex(main.dataset.chainId);
      var current = await eth.request({method: "eth_chainId"});
      if (BigInt(current) !== BigInt(wanted)) {
        message(T.switching);
        await eth.request({method: "wallet_switchEthereumChain", params: [{chainId: wanted}]});
      }
      message(T.preparing);
      var r = await fetch(main.dataset.intentUrl + "?payer=" + encodeURIComponent(from),
                          {headers: {"Accept": "application/json"}, cache: "no-store"});
      var intent = await r.json();
      if (!r.ok) { throw new Error((intent.error && intent.error.message) || T.notPrepared); }
      if (intent.approve) {
        message(T.approve);
        await eth.request({method: "eth_sendTransaction",
                           params: [{from: from, to: intent.approve.to, data: intent.approve.data}]});
      }
      message(intent.approve ? T.confirmStep2 : T.confirm);
      var tx = await eth.request({method: "eth_sendTransaction", params: [{
        from: from, to: intent.contract, value: hex(intent.value), data: intent.data}]});
      pending = true;
      message(fill(T.sent, {tx: tx}));
      schedule();
    } catch (err) {
      message(walletError(err), true);
      button.disabled = false;
    }
  }

  show(JSON.parse(document.getElementById("initial-status").textContent));
  var payButton = document.getElementById("pay-wallet");
  if (payButton) { payButton.addEventListener("click", payWithWallet); }
  schedule();
})();
