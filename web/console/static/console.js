// The console's only script (no inline scripts: the pages' Content-Security-Policy forbids them).
// Every page works without it; it adds live refresh, drag and drop, confirmations and auto-submit.
(function () {
  "use strict";

  // Confirm destructive forms: <form data-confirm="question">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // A file input marked data-autosubmit sends its form as soon as a file is chosen (Replace).
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.getAttribute && input.getAttribute("data-autosubmit") && input.files && input.files.length) {
      input.form.submit();
    }
  });

  // Live status: a region with data-poll is fetched again every 2 s (or its data-every ms) while it holds a
  // [data-live] element. The inbox's regions always do; they are left alone while the reader is using a
  // control in them (an assignee being chosen) and when nothing changed (no flicker, no lost scroll).
  function poll(region) {
    var url = region.getAttribute("data-poll");
    var every = parseInt(region.getAttribute("data-every") || "2000", 10);
    var last = null;  // the fragment as last fetched
    var timer = window.setInterval(function () {
      if (!region.querySelector("[data-live]")) { window.clearInterval(timer); return; }
      if (document.hidden) return;  // a tab in the background asks nothing; it catches up when shown
      if (region.contains(document.activeElement) && document.activeElement !== document.body) return;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (response.redirected || !response.ok) { window.clearInterval(timer); return null; }
          return response.text();
        })
        .then(function (html) {
          if (html === null || html === last) return;
          last = html;
          region.innerHTML = html;
          var chat = region.querySelector(".chat");
          if (chat) chat.scrollTop = chat.scrollHeight;
        })
        .catch(function () { /* a missed refresh; the next one tries again */ });
    }, every);
  }

  // A live panel beside a form (the broadcast's audience count and preview): a region with
  // data-preview-of="<form id>" is fetched again, by posting that form whole (its CSRF token with it) to the
  // region's data-preview-url, a moment after any of the form's inputs (or the region's own) change. An
  // answer that arrives after a later change's request was sent is dropped: the panel shows the last one.
  function livePanel(region) {
    var form = document.getElementById(region.getAttribute("data-preview-of"));
    var url = region.getAttribute("data-preview-url");
    if (!form || !url) return;
    var timer = null;
    var asked = 0;
    function refresh() {
      var ticket = ++asked;
      fetch(url, { method: "POST", credentials: "same-origin", body: new FormData(form),
                   headers: { "Accept": "text/html" } })
        .then(function (response) { return response.ok && !response.redirected ? response.text() : null; })
        .then(function (html) {
          if (html === null || ticket !== asked) return;
          var focused = region.contains(document.activeElement) ? document.activeElement.id : "";
          region.innerHTML = html;
          var again = focused && document.getElementById(focused);
          if (again) again.focus();  // a contact chosen for the preview keeps the keyboard's place
        })
        .catch(function () { /* the next change asks again */ });
    }
    function soon() {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 300);
    }
    form.addEventListener("input", soon);
    form.addEventListener("change", soon);
    region.addEventListener("change", soon);
  }

  // A Smart Reply suggestion: its button puts the text into the reply box in place (without a script the
  // button posts it, and the page comes back with it in the box).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-fill]");
    if (!button) return;
    var box = document.getElementById(button.getAttribute("data-fill"));
    if (!box) return;
    event.preventDefault();
    box.value = button.value;
    box.focus();
  });

  // Drag and drop: files dropped on the drop zone go into its file input, and the form is sent.
  function dropzone(zone) {
    var input = zone.querySelector("input[type=file]");
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (!event.dataTransfer || !event.dataTransfer.files.length) return;
      input.files = event.dataTransfer.files;
      input.form.submit();
    });
  }

  // The playground: the latest message in view, and Enter sends (Shift+Enter a new line), as in a chat.
  function playground(chat) {
    chat.scrollTop = chat.scrollHeight;
    var box = document.getElementById("f-message");
    // Back from sending or rating (#m-<id>, #playground): carry on typing; not after saving the settings.
    if (box && /^#(m-|playground)/.test(window.location.hash)) box.focus();
  }
  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (box.id === "f-message" && event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (box.value.trim()) box.form.submit();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(poll);
    var chat = document.getElementById("chat");
    if (chat) playground(chat);
    var thread = document.getElementById("messages");
    if (thread) thread.scrollTop = thread.scrollHeight;
    document.querySelectorAll("[data-dropzone]").forEach(dropzone);
    document.querySelectorAll("[data-preview-of]").forEach(livePanel);
    var link = document.getElementById("invite-link");
    if (link) { link.focus(); link.select(); }
  });
})();
