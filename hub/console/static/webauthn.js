// renkei console: security keys (WebAuthn). The one script the console serves; the
// pages work without it except for the key itself. Served by the hub, pinned by digest.
"use strict";
(function () {
  function b64urlToBytes(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function bytesToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(j.message || r.statusText);
        return j;
      });
    });
  }
  function start(form) {
    var status = form.querySelector(".status");
    var say = function (text) { if (status) status.textContent = text; };
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(form.dataset.unsupported);
      return;
    }
    var csrf = form.dataset.csrf;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      say("…");
      post(form.dataset.options, csrf).then(function (options) {
        options.challenge = b64urlToBytes(options.challenge);
        if (form.dataset.mode === "register") {
          options.user.id = b64urlToBytes(options.user.id);
          (options.excludeCredentials || []).forEach(function (c) { c.id = b64urlToBytes(c.id); });
          return navigator.credentials.create({ publicKey: options }).then(function (cred) {
            var label = form.querySelector("[name=label]");
            var code = document.getElementById("enrolment-code");
            return post(form.dataset.answer, csrf, {
              clientDataJson: bytesToB64url(cred.response.clientDataJSON),
              attestationObject: bytesToB64url(cred.response.attestationObject),
              label: label ? label.value : "",
              enrolmentCode: code ? code.value : ""
            });
          });
        }
        (options.allowCredentials || []).forEach(function (c) { c.id = b64urlToBytes(c.id); });
        return navigator.credentials.get({ publicKey: options }).then(function (cred) {
          return post(form.dataset.answer, csrf, {
            id: bytesToB64url(cred.rawId),
            clientDataJson: bytesToB64url(cred.response.clientDataJSON),
            authenticatorData: bytesToB64url(cred.response.authenticatorData),
            signature: bytesToB64url(cred.response.signature)
          });
        });
      }).then(function (answer) {
        window.location.assign(answer.next);
      }).catch(function (e) {
        say(form.dataset.failed + " " + (e && e.message ? e.message : ""));
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("webauthn");
    if (form) start(form);
  });
})();
