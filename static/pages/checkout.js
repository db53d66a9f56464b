(function () {
  var box = document.getElementById("status");
  var url = box.dataset.statusUrl;
  var labels = {open: "Waiting for payment", partially_paid: "Partially paid", paid: "Paid — thank you",
                overpaid: "Paid (more than the amount)", expired: "Expired", paid_late: "Paid (after expiry)"};
  var done = {paid: 1, overpaid: 1, paid_late: 1};
  function show(s) {
    box.setAttribute("data-status", s.status);
    document.getElementById("status-text").textContent = labels[s.status] || s.status;
    var detail = "received " + s.amount_received + " of " + s.amount + " base units";
    if (s.status === "open" || s.status === "partially_paid") {
      detail += " · " + Math.floor(s.seconds_left / 60) + ":" + ("0" + s.seconds_left % 60).slice(-2) + " left";
    }
    document.getElementById("status-detail").textContent = detail;
  }
  show(JSON.parse(document.getElementById("initial-status").textContent));
  function poll() {
    fetch(url, {headers: {"Accept": "application/json"}, cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s) { show(s); } if (!s || !done[s.status]) { setTimeout(poll, 2000); } })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 2000);
})();
