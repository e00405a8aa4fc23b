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

  // Live status: a region with data-poll is fetched again every 2 s while it holds a [data-live] table.
  function poll(region) {
    var url = region.getAttribute("data-poll");
    var timer = window.setInterval(function () {
      if (!region.querySelector("[data-live]")) { window.clearInterval(timer); return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (response.redirected || !response.ok) { window.clearInterval(timer); return null; }
          return response.text();
        })
        .then(function (html) { if (html !== null) region.innerHTML = html; })
        .catch(function () { /* a missed refresh; the next one tries again */ });
    }, 2000);
  }

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
    document.querySelectorAll("[data-dropzone]").forEach(dropzone);
    var link = document.getElementById("invite-link");
    if (link) { link.focus(); link.select(); }
  });
})();
