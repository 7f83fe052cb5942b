// Filing without a signal. A new case (with its photos) or a new visit submitted while offline
// is kept on the phone in IndexedDB, counted on every page ("待上传 N 条"), and sent to the JSON
// API with the page session when the connection returns (the online event, each page load, and
// a retry after a failure). Every create carries an Idempotency-Key made when the form was
// saved, every photo one of its own, so a request sent again after a lost answer creates nothing
// twice. A static file: the CSP allows no inline script.
(function () {
  "use strict";
  var STORE = "outbox", RETRY_MIN = 1000, RETRY_MAX = 60000;
  var box = document.querySelector("[data-outbox]");
  if (!box) {  // logged out: the pages kept for the last user go
    if (window.caches) { caches.delete("casetrack-v1"); }
    return;
  }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(box.dataset.sw, { scope: "/" }).catch(function () {});
  }
  if (!window.indexedDB) { return; }
  var user = box.dataset.user, sending = false, retryIn = RETRY_MIN, timer = null;

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function db() {
    return new Promise(function (resolve, reject) {
      var open = indexedDB.open("casetrack", 1);
      open.onupgradeneeded = function () { open.result.createObjectStore(STORE, { keyPath: "key" }); };
      open.onsuccess = function () { resolve(open.result); };
      open.onerror = function () { reject(open.error); };
    });
  }

  function tx(mode, work) {
    return db().then(function (conn) {
      return new Promise(function (resolve, reject) {
        var t = conn.transaction(STORE, mode), result = work(t.objectStore(STORE));
        t.oncomplete = function () { conn.close(); resolve(result && result.result); };
        t.onerror = t.onabort = function () { conn.close(); reject(t.error); };
      });
    });
  }

  function mine() {  // another user's queue on a shared phone is not sent with this session
    return tx("readonly", function (s) { return s.getAll(); }).then(function (items) {
      return (items || []).filter(function (i) { return i.user === user; })
        .sort(function (a, b) { return a.saved - b.saved; });
    });
  }
  function save(item) { return tx("readwrite", function (s) { return s.put(item); }); }
  function drop(key) { return tx("readwrite", function (s) { return s.delete(key); }); }

  function show() {
    return mine().then(function (items) {
      box.hidden = items.length === 0;
      box.querySelector("[data-outbox-count]").textContent = box.dataset.count.replace("{n}", items.length);
      var list = box.querySelector("[data-outbox-failed]");
      list.textContent = "";
      items.filter(function (i) { return i.error; }).forEach(function (i) {
        var li = document.createElement("li"), button = document.createElement("button");
        li.className = "error-text";
        li.textContent = (i.title || "") + ": " + i.error + " ";
        button.type = "button"; button.className = "small"; button.textContent = box.dataset.discard;
        button.addEventListener("click", function () { drop(i.key).then(show); });
        li.appendChild(button);
        list.appendChild(li);
      });
    });
  }

  // -- the forms, as the API's bodies ---------------------------------------------------------
  function text(data, name) { return (data.get(name) || "").toString(); }
  function place(data, body) {
    body.address = text(data, "address");
    if (text(data, "location_lat") && text(data, "location_long")) {
      body.location = { lat: Number(text(data, "location_lat")), long: Number(text(data, "location_long")) };
      if (text(data, "location_accuracy")) { body.location.accuracy = Number(text(data, "location_accuracy")); }
    }
    return body;
  }
  function id(value) { return value ? Number(value) : null; }

  var FORMS = {
    "case": function (data) {
      return place(data, {
        title: text(data, "title"), description: text(data, "description"),
        category: text(data, "category"), kind: text(data, "kind"),
        resident: { name: text(data, "resident_name"), phone: text(data, "resident_phone"),
                    address: text(data, "resident_address") },
        target: id(text(data, "target")), visit: id(text(data, "visit"))
      });
    },
    "visit": function (data) {
      var problems = [];
      for (var n = 0; data.has("problems-" + n + "-title"); n++) {
        var p = function (f) { return text(data, "problems-" + n + "-" + f); };
        if (p("title").trim()) {
          problems.push({ title: p("title"), category: p("category"), kind: p("kind"), description: p("description"),
                          resident: { name: p("resident_name"), phone: p("resident_phone") } });
        }
      }
      return place(data, {
        target: id(text(data, "target")), date: text(data, "date"), cadres: data.getAll("cadres"),
        notes: text(data, "notes"), suggestions: Number(text(data, "suggestions") || 0), problems: problems
      });
    }
  };
  var ENDPOINTS = { "case": "/api/v1/cases", "visit": "/api/v1/visits" };

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (navigator.onLine || !form.matches("form[data-offline]")) { return; }
    event.preventDefault();
    var data = new FormData(form), kind = form.dataset.offline, body = FORMS[kind](data);
    var photos = [];
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files, function (file) {
        photos.push({ key: uuid(), name: file.name, blob: file, done: false });
      });
    });
    var item = { key: uuid(), user: user, kind: kind, body: body, photos: photos, saved: Date.now(),
                 title: body.title || form.querySelector("[name=target] option:checked")?.textContent || "" };
    form.reset();  // at once: what is typed next belongs to the next form
    save(item).then(function () {
      var note = document.createElement("p");
      note.className = "flash success";
      note.setAttribute("role", "status");
      note.textContent = box.dataset.saved;
      box.parentNode.insertBefore(note, box.nextSibling);
      return show();
    });
  });

  // -- sending --------------------------------------------------------------------------------
  function token() { return document.querySelector("meta[name=csrf-token]").content; }

  function freshToken() {  // the page may be an old copy whose token has expired
    return fetch(location.pathname, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      return r.text();
    }).then(function (html) {
      var meta = new DOMParser().parseFromString(html, "text/html").querySelector("meta[name=csrf-token]");
      if (meta) { document.querySelector("meta[name=csrf-token]").content = meta.content; }
    });
  }

  function Refused(message) { this.message = message; }  // the server said no: sending again will not help

  function post(url, body, key, retried) {
    var headers = { "X-CSRFToken": token(), "Idempotency-Key": key, "Accept": "application/json" };
    if (!(body instanceof FormData)) { headers["Content-Type"] = "application/json"; body = JSON.stringify(body); }
    return fetch(url, { method: "POST", credentials: "same-origin", headers: headers, body: body })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (json) {
          if (r.status === 400 && json.error === "csrf" && !retried) {
            return freshToken().then(function () { return post(url, body, key, true); });
          }
          if (r.status === 201) { return json; }
          if (r.status >= 500 || r.status === 429 || r.status === 401) { throw new Error(json.message || r.status); }
          var fields = json.errors ? Object.keys(json.errors).map(function (k) { return json.errors[k]; }) : [];
          throw new Refused([json.message].concat(fields).filter(Boolean).join(" "));
        });
      });
  }

  function upload(item) {
    var photo = item.photos.filter(function (p) { return !p.done; })[0];
    if (!photo) { return drop(item.key); }
    var form = new FormData();
    form.append("file", photo.blob, photo.name);
    form.append("stage", "before");
    return post("/api/v1/cases/" + item.case + "/attachments", form, photo.key).then(function () {
      photo.done = true;
      return save(item).then(function () { return upload(item); });
    });
  }

  function send(item) {
    var created = item.case || item.kind !== "case" && item.sent ? Promise.resolve() :
      post(ENDPOINTS[item.kind], item.body, item.key).then(function (json) {
        item.case = item.kind === "case" ? json.id : null;
        item.sent = true;
        return save(item);
      });
    return created.then(function () { return upload(item); }).catch(function (error) {
      if (!(error instanceof Refused)) { throw error; }
      item.error = error.message;
      return save(item);
    });
  }

  function replay() {
    if (sending || !navigator.onLine) { return; }
    sending = true;
    clearTimeout(timer);
    mine().then(function (items) {
      return items.filter(function (i) { return !i.error; }).reduce(function (chain, item) {
        return chain.then(function () { return send(item); });
      }, Promise.resolve());
    }).then(function () {
      retryIn = RETRY_MIN;
    }, function () {  // no answer (the signal went again): try later, less often each time
      timer = setTimeout(replay, retryIn);
      retryIn = Math.min(retryIn * 2, RETRY_MAX);
    }).then(function () {
      sending = false;
      return show();
    });
  }

  window.addEventListener("online", replay);
  show().then(replay);
})();
