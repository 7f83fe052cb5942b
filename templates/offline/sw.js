// The service worker (served at /sw.js by casetrack/web/offline.py): the field pages and the
// static files, network first, the last copy when there is no signal. Forms filled offline are
// kept by static/offline.js in IndexedDB, not here: a cached POST could not be replayed safely.
"use strict";
var CACHE = {{ cache|tojson }};
var PAGES = {{ pages|tojson }};
var STATIC = {{ static|tojson }};
var STATIC_PREFIX = {{ static_prefix|tojson }};

function keep(cache, url) {
  // One by one, and only good answers: a page this user may not open must not stop the rest.
  return fetch(url, { credentials: "same-origin" }).then(function (response) {
    if (response.ok && !response.redirected) { return cache.put(url, response); }
  }).catch(function () {});
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(PAGES.concat(STATIC).map(function (url) { return keep(cache, url); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; }).map(function (n) {
      return caches.delete(n);
    }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  var page = request.mode === "navigate" && PAGES.indexOf(url.pathname) !== -1;
  if (!page && url.pathname.indexOf(STATIC_PREFIX) !== 0) { return; }
  // A page opened with a query (a case filed from a visit) is kept apart from the plain page.
  var key = page && !url.search ? url.pathname : request;
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && !response.redirected) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { return cache.put(key, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(key).then(function (hit) {
      return hit || (page ? caches.match(url.pathname) : undefined);
    }).then(function (hit) { return hit || Response.error(); });
  }));
});
