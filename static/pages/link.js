(function () {
  "use strict";
  var root = document.getElementById("link");
  var base = "/l/" + root.dataset.linkId;
  var secret = decodeURIComponent(location.hash.replace(/^#/, ""));
  var message = document.getElementById("message");
  var claimSection = document.getElementById("claim");
  var statusEl = document.getElementById("status");
  var walletTemplate = root.dataset.walletUrlTemplate || "";

  function say(text, isError) {
    message.textContent = text;
    message.className = isError ? "error" : "";
  }
  function showStatus(data) {
    statusEl.textContent = data.statusText;
    statusEl.dataset.status = data.status;
    claimSection.hidden = data.status !== "open";
  }
  function post(path, body) {
    return fetch(base + path, {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body), credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer"
    });
  }
  function poll() {
    fetch(base + "/status", {cache: "no-store"}).then(function (r) { return r.json(); }).then(function (data) {
      showStatus(data);
      if (data.status === "redeeming") { setTimeout(poll, 2000); }
      if (data.status === "redeemed") { say("Done: the payment was sent.", false); }
      if (data.status === "open") { say("The payment did not go through; you can claim again.", true); }
    }).catch(function () { setTimeout(poll, 5000); });
  }

  if (!secret) {
    document.getElementById("no-secret").hidden = false;
    claimSection.hidden = true;
    return;
  }

  document.getElementById("claim-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var address = document.getElementById("address").value.trim();
    var button = document.getElementById("claim-button");
    button.disabled = true;
    say("Sending…", false);
    post("/claim", {secret: secret, address: address}).then(function (r) {
      return r.json().then(function (data) { return {ok: r.ok, status: r.status, data: data}; });
    }).then(function (res) {
      button.disabled = false;
      if (!res.ok) {
        say(res.data.message || "The claim was refused.", true);
        return;
      }
      showStatus(res.data);
      say("Claimed: the payment is on its way to " + address + ".", false);
      setTimeout(poll, 2000);
    }).catch(function () {
      button.disabled = false;
      say("Network error; try again.", true);
    });
  });

  document.getElementById("copy").addEventListener("click", function () {
    var text = location.href;
    if (navigator.clipboard) {
      navigator.clipboard.writeText(text).then(function () { say("Link copied.", false); },
                                               function () { say("Copy the address bar to hand it over.", false); });
    } else {
      say("Copy the address bar to hand it over.", false);
    }
  });

  document.getElementById("show-qr").addEventListener("click", function () {
    post("/qr", {secret: secret}).then(function (r) { return r.blob(); }).then(function (blob) {
      var box = document.getElementById("qr");
      var img = document.createElement("img");
      img.alt = "QR code of this link";
      var reader = new FileReader();
      reader.onload = function () { img.src = reader.result; box.replaceChildren(img); box.hidden = false; };
      reader.readAsDataURL(blob);
    });
  });

  var wallet = document.getElementById("wallet");
  if (wallet && walletTemplate) {
    wallet.href = walletTemplate
      .replace("{secret}", encodeURIComponent(secret))
      .replace("{url}", encodeURIComponent(location.href));
    wallet.rel = "noreferrer";
  }
  if (root.querySelector('#status').dataset.status === "redeeming") { poll(); }
})();
