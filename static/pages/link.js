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
    if (data.destination) {
      document.getElementById("claimed").hidden = false;
      document.getElementById("destination").textContent = data.destination;
      document.getElementById("tx-hash").textContent = data.txHash || "being sent…";
    }
  }

  // the expiry in the reader's own time zone (the server wrote it in UTC)
  var expires = document.getElementById("expires");
  if (expires && expires.getAttribute("datetime")) {
    var when = new Date(expires.getAttribute("datetime"));
    if (!isNaN(when.getTime())) {
      try {
        expires.textContent = when.toLocaleString(undefined, {
          weekday: "short", day: "numeric", month: "long", year: "numeric", hour: "2-digit",
          minute: "2-digit", timeZoneName: "short"});
      } catch (err) { /* keep the server's UTC text */ }
    }
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
      if (data.status === "redeeming" || (data.status === "redeemed" && data.destination && !data.txHash)) {
        setTimeout(poll, 2000);
      }
      if (data.status === "redeemed") { say("Done: the payment was sent.", false); }
      if (data.status === "open") { say("The payment did not go through; you can claim again.", true); }
    }).catch(function () { setTimeout(poll, 5000); });
  }

  if (!secret) {
    document.getElementById("no-secret").hidden = false;
    claimSection.hidden = true;
    return;
  }

  // Claiming is two steps: type the address, then confirm it (a payment on-chain is final).
  var BURN = {"0x0000000000000000000000000000000000000000": "the zero address (0x000…000) belongs to nobody",
              "0x000000000000000000000000000000000000dead": "0x…dEaD is a burn address that belongs to nobody"};
  var addressInput = document.getElementById("address");
  var confirmBox = document.getElementById("confirm");
  var confirmCheck = document.getElementById("confirm-check");
  var sendButton = document.getElementById("send-button");
  var chosen = "";

  function hideConfirm() {
    confirmBox.hidden = true;
    confirmCheck.checked = false;
    sendButton.disabled = true;
  }

  document.getElementById("claim-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var address = addressInput.value.trim();
    if (!/^0x[0-9a-fA-F]{40}$/.test(address)) {
      say("That is not an Ethereum address: it starts with 0x and has 40 more letters and digits (0-9, a-f).", true);
      addressInput.setAttribute("aria-invalid", "true");
      addressInput.focus();
      return;
    }
    if (BURN[address.toLowerCase()]) {
      say(BURN[address.toLowerCase()] + ": anything sent there is lost for good. Enter the address of your own wallet.", true);
      addressInput.setAttribute("aria-invalid", "true");
      addressInput.focus();
      return;
    }
    addressInput.removeAttribute("aria-invalid");
    chosen = address;
    say("", false);
    document.getElementById("confirm-address").textContent = address;
    confirmBox.hidden = false;
    confirmCheck.checked = false;
    sendButton.disabled = true;
    confirmCheck.focus();
  });
  addressInput.addEventListener("input", hideConfirm);
  confirmCheck.addEventListener("change", function () { sendButton.disabled = !confirmCheck.checked; });
  document.getElementById("change-address").addEventListener("click", function () {
    hideConfirm();
    addressInput.focus();
  });

  sendButton.addEventListener("click", function () {
    if (!chosen || !confirmCheck.checked) return;
    var address = chosen;
    sendButton.disabled = true;
    say("Sending…", false);
    post("/claim", {secret: secret, address: address}).then(function (r) {
      return r.json().then(function (data) { return {ok: r.ok, status: r.status, data: data}; });
    }).then(function (res) {
      if (!res.ok) {
        sendButton.disabled = !confirmCheck.checked;
        say(res.data.message || "The claim was refused.", true);
        return;
      }
      hideConfirm();
      showStatus(res.data);
      say("Claimed: the payment is on its way to " + address + ".", false);
      setTimeout(poll, 2000);
    }).catch(function () {
      sendButton.disabled = !confirmCheck.checked;
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
