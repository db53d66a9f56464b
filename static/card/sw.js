// The Card's service worker (served as /card/sw.js so that it controls /card/): the page and its
// scripts come from the network when there is one and from the last copy when there is not, so
// the card opens offline and shows the last state it stored. The hub's API and the chain relay
// are never cached: a card offline says so instead of showing an old answer as new.
"use strict";
var CACHE = "spoke-card-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

function cacheable(url) {
  return url.origin === self.location.origin &&
    (url.pathname === "/card/" || url.pathname.indexOf("/static/card/") === 0 || url.pathname === "/static/favicon.svg");
}

// The page names what it is made of (its own URL, scripts and stylesheet) once the worker runs,
// so that the first visit already leaves a copy for the next one offline.
self.addEventListener("message", function (event) {
  var urls = (event.data && event.data.cache) || [];
  urls = urls.filter(function (u) { return cacheable(new URL(u, self.location.origin)); });
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(urls); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET" || !cacheable(new URL(request.url))) { return; }
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request, {ignoreSearch: true}).then(function (hit) {
      return hit || Response.error();
    });
  }));
});
