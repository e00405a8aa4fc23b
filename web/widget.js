/* Parley live-chat widget. Embed with:
 *   <script src="https://your-parley-host/widget.js" data-widget-key="wk_..." async></script>
 * Optional for logged-in visitors (identity verification): data-identifier="user-42"
 * data-identifier-hash="<HMAC-SHA256 of the identifier with the widget's identity secret, computed on your server>".
 * The visitor's session token lives in localStorage, so a reload shows the history; messages not yet
 * acknowledged are kept in an outbox and resent after a reconnect (the server never answers one twice),
 * or after the wait a rate_limited error frame gives.
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-widget-key]");
  if (!script) return;
  var key = script.getAttribute("data-widget-key");
  var base = new URL(script.src, location.href);
  var storeKey = "parley:" + key;
  var state = JSON.parse(localStorage.getItem(storeKey) || "{}");
  state.outbox = state.outbox || [];
  var socket = null, retry = 0, lastId = null, seen = {}, resendTimer = null;

  function save() { localStorage.setItem(storeKey, JSON.stringify({ token: state.token, outbox: state.outbox })); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text) node.textContent = text;
    return node;
  }

  var css = el("style", {}, [
    "#parley-bubble{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;",
    "background:#2f7d6d;color:#fff;display:flex;align-items:center;justify-content:center;cursor:pointer;box-shadow:0 4px 12px rgba(0,0,0,.25);z-index:2147483000}",
    "#parley-panel{position:fixed;right:20px;bottom:88px;width:340px;max-width:calc(100vw - 40px);height:460px;",
    "display:none;flex-direction:column;background:#fff;border-radius:12px;box-shadow:0 8px 28px rgba(0,0,0,.25);",
    "font:14px/1.4 system-ui,sans-serif;z-index:2147483000;overflow:hidden}",
    "#parley-panel.open{display:flex}#parley-head{background:#2f7d6d;color:#fff;padding:12px 14px;font-weight:600}",
    "#parley-log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}",
    ".parley-msg{max-width:80%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word}",
    ".parley-customer{align-self:flex-end;background:#2f7d6d;color:#fff}.parley-agent,.parley-human{align-self:flex-start;background:#eef2f1}",
    ".parley-pending{opacity:.6}#parley-typing{padding:0 12px 6px;color:#777;font-size:12px;min-height:18px}",
    "#parley-form{display:flex;border-top:1px solid #e3e3e3}#parley-input{flex:1;border:0;padding:12px;font:inherit;outline:none}",
    "#parley-send{border:0;background:none;color:#2f7d6d;font-weight:600;padding:0 14px;cursor:pointer}",
  ].join(""));
  var bubble = el("button", { id: "parley-bubble", "aria-label": "Chat with us", type: "button" });
  // An inline SVG icon: emoji fonts are missing on many systems.
  bubble.innerHTML = '<svg viewBox="0 0 24 24" width="26" height="26" fill="#fff" aria-hidden="true">' +
    '<path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>';
  var panel = el("div", { id: "parley-panel", role: "dialog", "aria-label": "Chat" });
  var head = el("div", { id: "parley-head" }, script.getAttribute("data-title") || "Chat with us");
  var log = el("div", { id: "parley-log", "aria-live": "polite" });
  var typing = el("div", { id: "parley-typing" });
  var form = el("form", { id: "parley-form" });
  var input = el("input", { id: "parley-input", placeholder: "Type a message…", autocomplete: "off", maxlength: "4000" });
  var send = el("button", { id: "parley-send", type: "submit" }, "Send");
  form.appendChild(input); form.appendChild(send);
  panel.appendChild(head); panel.appendChild(log); panel.appendChild(typing); panel.appendChild(form);

  function render(message, pending) {
    if (message.id && seen[message.id]) return;
    if (message.id) { seen[message.id] = true; lastId = message.id; }
    var node = el("div", { "class": "parley-msg parley-" + message.role + (pending ? " parley-pending" : "") }, message.text);
    if (pending) node.setAttribute("data-client-id", message.client_id);
    log.appendChild(node);
    log.scrollTop = log.scrollHeight;
  }

  function flush() {
    if (!socket || socket.readyState !== 1) return;
    state.outbox.forEach(function (m) { socket.send(JSON.stringify({ type: "message", text: m.text, client_id: m.client_id })); });
  }

  function resendLater(seconds) {
    if (resendTimer) return; // one timer for the whole outbox
    resendTimer = setTimeout(function () { resendTimer = null; typing.textContent = ""; flush(); }, (seconds || 5) * 1000);
  }

  function connect() {
    var url = new URL("/v1/livechat/ws", base);
    url.protocol = base.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("widget_key", key);
    if (state.token) url.searchParams.set("token", state.token);
    ["identifier", "identifier-hash"].forEach(function (name) {
      var value = script.getAttribute("data-" + name);
      if (value) url.searchParams.set(name.replace("-", "_"), value);
    });
    socket = new WebSocket(url.toString());
    socket.onopen = function () { retry = 0; };
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === "session") {
        if (frame.token) { state.token = frame.token; save(); }
      } else if (frame.type === "history") {
        frame.messages.forEach(function (m) { render(m, false); });
        flush();
      } else if (frame.type === "ack") {
        state.outbox = state.outbox.filter(function (m) { return m.client_id !== frame.client_id; });
        save();
        var pending = log.querySelector('[data-client-id="' + frame.client_id + '"]');
        if (pending) { pending.classList.remove("parley-pending"); pending.removeAttribute("data-client-id"); }
        if (frame.id) seen[frame.id] = true;
      } else if (frame.type === "typing") {
        typing.textContent = frame.on ? "typing…" : "";
      } else if (frame.type === "message") {
        render(frame, false);
      } else if (frame.type === "error") {
        typing.textContent = frame.message;
        // Too many messages: the refused ones stay pending in the outbox and go again when the server says.
        if (frame.code === "rate_limited" && frame.resend) resendLater(frame.retry_after);
      }
    };
    socket.onclose = function (event) {
      typing.textContent = "";
      if (event.code === 4401 || event.code === 4403) return; // bad key or identity: retrying will not help
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * Math.pow(2, retry - 1));
    };
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    var message = { text: text, client_id: (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()), role: "customer" };
    state.outbox.push(message); save();
    render(message, true);
    flush();
  });
  bubble.addEventListener("click", function () {
    panel.classList.toggle("open");
    if (panel.classList.contains("open")) input.focus();
  });

  function mount() {
    document.head.appendChild(css);
    document.body.appendChild(panel);
    document.body.appendChild(bubble);
    state.outbox.forEach(function (m) { render(m, true); });
    connect();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
