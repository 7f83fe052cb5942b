// An import page sends a large sheet itself and shows how far the import has come: the upload's
// bytes, then the rows read, checked and saved, as the server streams them (one JSON object a
// line, header X-Import-Progress), and what it did. A small sheet (under data-stream-from bytes,
// a few thousand rows) and a page without this script post as a plain form.
(function () {
  "use strict";

  function start(form) {
    var box = document.getElementById("import-progress");
    var step = document.getElementById("import-step");
    var bar = document.getElementById("import-bar");
    var outcome = document.getElementById("import-outcome");
    var button = form.querySelector("button[type=submit]");
    var old = document.getElementById("import-errors");
    if (old) { old.remove(); }
    outcome.hidden = true;
    box.hidden = false;
    button.disabled = true;

    function show(label, done, total) {
      step.textContent = label + (total ? " " + done + " / " + total : done ? " " + done : "");
      if (total) { bar.max = total; bar.value = Math.min(done, total); } else { bar.removeAttribute("value"); }
    }

    function finish(line) {
      box.hidden = true;
      button.disabled = false;
      outcome.className = "flash " + (line.ok ? "success" : "error");
      outcome.textContent = line.message || form.dataset.lost;
      if (line.ok && line.next) {
        var next = document.createElement("a");
        next.href = line.next;
        next.textContent = form.dataset.saved;
        outcome.appendChild(document.createTextNode(" "));
        outcome.appendChild(next);
      }
      outcome.hidden = false;
      if (line.errors && line.errors.length) { outcome.after(errorsCard(line.errors)); }
      if (line.ok) { form.reset(); }
    }

    function errorsCard(errors) {
      var card = document.createElement("div"), h = document.createElement("h2");
      var wrap = document.createElement("div"), table = document.createElement("table");
      card.className = "card"; card.id = "import-errors"; wrap.className = "table-wrap";
      h.textContent = form.dataset.heading;
      var head = table.createTHead().insertRow(), body = table.createTBody();
      [form.dataset.row, form.dataset.column, form.dataset.problem].forEach(function (t) {
        var th = document.createElement("th"); th.textContent = t; head.appendChild(th);
      });
      errors.forEach(function (e) {
        var tr = body.insertRow();
        [e.row || "", e.column || "", e.message].forEach(function (t) { tr.insertCell().textContent = t; });
      });
      wrap.appendChild(table); card.appendChild(h); card.appendChild(wrap);
      return card;
    }

    var xhr = new XMLHttpRequest(), seen = 0, last = null;
    function read() {  // the complete lines that came since the last call
      var text = xhr.responseText, end = text.lastIndexOf("\n");
      if (end < seen) { return; }
      text.slice(seen, end).split("\n").forEach(function (raw) {
        if (!raw) { return; }
        try { last = JSON.parse(raw); } catch (e) { return; }
        if ("step" in last) { show(form.dataset[last.step] || last.step, last.done, last.total); }
      });
      seen = end + 1;
    }
    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("X-Import-Progress", "1");
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) { show(form.dataset.uploading, 0, 0); return; }
      show(form.dataset.uploading, e.loaded, e.total);
      step.textContent = form.dataset.uploading + " " + Math.round(100 * e.loaded / e.total) + "%";
    };
    xhr.onprogress = read;
    xhr.onload = function () {
      read();
      finish(last && "ok" in last ? last : { ok: false, message: form.dataset.failed });
    };
    xhr.onerror = xhr.onabort = function () { finish({ ok: false, message: form.dataset.lost }); };
    xhr.send(new FormData(form));
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-import-progress]") || !window.FormData || !document.getElementById("import-progress")) {
      return;
    }
    var file = form.querySelector("input[type=file]");
    if (!file || !file.files.length) { return; }  // the plain post says what is missing
    if (file.files[0].size < Number(form.dataset.streamFrom || 0)) { return; }
    event.preventDefault();
    start(form);
  });
})();
