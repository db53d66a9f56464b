// Live updates for the dashboard: a WebSocket to /ws/dashboard/ (the merchant's events, pushed
// after commit) and, while it is down, polling /dashboard/events.json. Each event refreshes the
// page's live regions in place (htmx re-fetches every element with
// hx-trigger="spoke:refresh from:body") and shows a short notice.
(function () {
  "use strict";
  var body = document.body;
  var statusEl = document.getElementById("live-status");
  var seen = new Set();
  var cursor = parseInt(body.dataset.cursor || "0", 10) || 0;
  var socket = null, pollTimer = null, retry = 0, refreshTimer = null;
  var POLL_MS = 3000;

  function setStatus(state, text) {
    if (!statusEl) return;
    statusEl.dataset.state = state;
    statusEl.querySelector(".live-text").textContent = text;
  }

  var LABELS = {
    "payment.succeeded": "New payment", "invoice.paid": "Invoice paid", "invoice.overpaid": "Invoice overpaid",
    "invoice.partially_paid": "Invoice partially paid", "invoice.expired": "Invoice expired",
    "invoice.paid_late": "Invoice paid late", "invoice.created": "Invoice created",
    "settlement.created": "Settlement requested", "settlement.paid": "Settlement paid",
    "settlement.failed": "Settlement failed", "link.redeemed": "Link redeemed", "link.created": "Link created",
    "refund.succeeded": "Refund sent", "refund.failed": "Refund failed"
  };

  function toast(text, url) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast";
    // only our own dashboard paths become links (the server builds them; never a full URL)
    if (url && /^\/dashboard\/[A-Za-z0-9_\/-]*$/.test(url)) {
      var a = document.createElement("a");
      a.href = url;
      a.textContent = text;
      el.appendChild(a);
    } else {
      el.textContent = text;
    }
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, 8000);
  }

  function refresh() {
    // several events in a burst cause one refresh
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      if (window.htmx) window.htmx.trigger(body, "spoke:refresh");
    }, 150);
  }

  function handle(message) {
    if (!message || message.type !== "event" || !message.event) return;
    var event = message.event;
    if (seen.has(event.id)) return;
    seen.add(event.id);
    body.dispatchEvent(new CustomEvent("spoke:event", { detail: event }));
    if (message.toast && message.toast.text) toast(message.toast.text, message.toast.url);
    else toast(LABELS[event.type] || event.type);
    refresh();
  }

  function poll() {
    fetch(body.dataset.eventsUrl + "?after=" + cursor, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        cursor = data.cursor;
        data.events.forEach(handle);
      })
      .catch(function () { /* offline: try again at the next tick */ });
  }

  function startPolling() {
    if (pollTimer) return;
    setStatus("polling", "Updating every few seconds");
    pollTimer = setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  function connect() {
    if (!("WebSocket" in window)) { startPolling(); return; }
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + body.dataset.wsUrl;
    try { socket = new WebSocket(url); } catch (e) { startPolling(); return; }
    socket.onopen = function () {
      retry = 0;
      stopPolling();
      poll();  // catch up with anything committed while the socket was down
      setStatus("live", "Live");
    };
    socket.onmessage = function (e) {
      try { handle(JSON.parse(e.data)); } catch (err) { /* not ours */ }
    };
    socket.onclose = function (e) {
      socket = null;
      startPolling();
      if (e.code === 4403) return;  // signed out: polling will hit the sign-in redirect
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 1000 * Math.pow(2, retry));
    };
  }

  // small helpers: copy buttons, confirmations, nav toggle, merchant switcher
  document.addEventListener("click", function (e) {
    var copy = e.target.closest("[data-copy]");
    if (copy) {
      var input = document.querySelector(copy.dataset.copy);
      if (input) {
        input.select();
        if (navigator.clipboard) navigator.clipboard.writeText(input.value).catch(function () {});
        copy.textContent = "Copied";
      }
    }
    var toggle = e.target.closest("[data-nav-toggle]");
    if (toggle) {
      var nav = document.getElementById("sidenav");
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    }
  });
  // A confirmation step before money or keys move: data-confirm="Refund {amount} ETH to …?"
  // names what the form will do; {field} is the value typed in that field (or the text in
  // data-confirm-blank, a JSON object, when it is left empty; a select shows its option's label).
  function confirmText(form) {
    var blank = {};
    try { blank = JSON.parse(form.dataset.confirmBlank || "{}"); } catch (err) { blank = {}; }
    return form.dataset.confirm.replace(/\{([a-z_]+)\}/g, function (whole, name) {
      var field = form.elements[name];
      if (!field) return blank[name] || "";
      var value = field.tagName === "SELECT" && field.selectedIndex >= 0
        ? field.options[field.selectedIndex].text : (field.value || "").trim();
      return value || blank[name] || "";
    }).replace(/\s+/g, " ");
  }
  document.addEventListener("submit", function (e) {
    var form = e.target.closest("form[data-confirm]");
    if (form && !window.confirm(confirmText(form))) e.preventDefault();
  });
  document.addEventListener("change", function (e) {
    if (e.target.matches("select[data-autosubmit]")) e.target.form.submit();
  });

  if (body.dataset.wsUrl) connect();
})();
