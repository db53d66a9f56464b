(function () {
  "use strict";
  var root = document.getElementById("link");
  var base = "/l/" + root.dataset.linkId;
  var secret = decodeURIComponent(location.hash.replace(/^#/, ""));
  var message = document.getElementById("message");
  var claimSection = document.getElementById("claim");
  var statusEl = document.getElementById("status");
  var walletTemplate = root.dataset.walletUrlTemplate || "";
  // the page's language: the server renders these texts (gettext); none is written here
  var T = JSON.parse(document.getElementById("link-texts").textContent);

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
      document.getElementById("tx-hash").textContent = data.txHash || T.beingSent;
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
      if (data.status === "redeemed") { say(T.done, false); }
      if (data.status === "open") { say(T.failed, true); }
    }).catch(function () { setTimeout(poll, 5000); });
  }

  if (!secret) {
    document.getElementById("no-secret").hidden = false;
    claimSection.hidden = true;
    return;
  }

  // Claiming is two steps: type the address, then confirm it (a payment on-chain is final).
  var BURN = {"0x0000000000000000000000000000000000000000": T.zeroAddress,
              "0x000000000000000000000000000000000000dead": T.deadAddress};
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
      say(T.notAnAddress, true);
      addressInput.setAttribute("aria-invalid", "true");
      addressInput.focus();
      return;
    }
    if (BURN[address.toLowerCase()]) {
      say(T.burn.replace("%(reason)s", BURN[address.toLowerCase()]), true);
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
    say(T.sending, false);
    post("/claim", {secret: secret, address: address}).then(function (r) {
      return r.json().then(function (data) { return {ok: r.ok, status: r.status, data: data}; });
    }).then(function (res) {
      if (!res.ok) {
        sendButton.disabled = !confirmCheck.checked;
        say(res.data.message || T.refused, true);
        return;
      }
      hideConfirm();
      showStatus(res.data);
      say(T.claimed.replace("%(address)s", address), false);
      setTimeout(poll, 2000);
    }).catch(function () {
      sendButton.disabled = !confirmCheck.checked;
      say(T.networkError, true);
    });
  });

  document.getElementById("copy").addEventListener("click", function () {
    var text = location.href;
    if (navigator.clipboard) {
      navigator.clipboard.writeText(text).then(function () { say(T.copied, false); },
                                               function () { say(T.copyByHand, false); });
    } else {
      say(T.copyByHand, false);
    }
  });

  document.getElementById("show-qr").addEventListener("click", function () {
    post("/qr", {secret: secret}).then(function (r) { return r.blob(); }).then(function (blob) {
      var box = document.getElementById("qr");
      var img = document.createElement("img");
      img.alt = T.qrAlt;
      var reader = new FileReader();
      reader.onload = function () { img.src = reader.result; box.replaceChildren(img); box.hidden = false; };
      reader.readAsDataURL(blob);
    });
  });

  // the Spoke Card first: it redeems the link into a card made in this browser (the secret stays
  // in the fragment, which no server sees)
  var card = document.getElementById("card-redeem");
  if (card) { card.href = card.getAttribute("href").split("#")[0] + "#redeem=" + encodeURIComponent(secret); }

  var wallet = document.getElementById("wallet");
  if (wallet && walletTemplate) {
    wallet.href = walletTemplate
      .replace("{secret}", encodeURIComponent(secret))
      .replace("{url}", encodeURIComponent(location.href));
    wallet.rel = "noreferrer";
  }
  if (root.querySelector('#status').dataset.status === "redeeming") { poll(); }
})();
