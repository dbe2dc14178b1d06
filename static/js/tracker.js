/* Contact dashboard tracking snippet (tracking API v1). Plain JavaScript, no dependencies.
 * <script async src="https://DASHBOARD/t/v1/tracker.js" data-channel="CODE"
 *         data-banner="true" data-function="kxt"></script>
 * Cookies are first-party, on this website's own domain (R6). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.fetch) return;
  var base = new URL(".", script.src).href;
  var channel = script.getAttribute("data-channel");
  var name = script.getAttribute("data-function") || "kxt";
  var YEAR = 31536000, LANDING_AGE = 1200, NONE = -1000, ALL = 1000, ESSENTIAL = 0;
  var queue = restore(), busy = false, delay = 2000, timer = null, bannerEl = null, choiceEl = null;

  function cookie(n) {
    var m = document.cookie.match(new RegExp("(?:^|; )" + n + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : null;
  }
  function setCookie(n, v, age) {
    document.cookie = n + "=" + encodeURIComponent(v) + "; Max-Age=" + age + "; Path=/; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  }
  function dropCookie(n) { document.cookie = n + "=; Max-Age=0; Path=/; SameSite=Lax"; }
  function claimed() { var v = cookie("CMSCookieLevel"); return v === null ? null : parseInt(v, 10); }
  function choose(level) { if (level > NONE) setCookie("CMSCookieLevel", level, YEAR); else dropCookie("CMSCookieLevel"); }
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)), h = [];
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    for (var i = 0; i < 16; i++) h.push((b[i] + 256).toString(16).slice(1));
    return h.slice(0, 4).join("") + "-" + h.slice(4, 6).join("") + "-" + h.slice(6, 8).join("") + "-" +
      h.slice(8, 10).join("") + "-" + h.slice(10).join("");
  }
  function restore() {
    try { var q = JSON.parse(sessionStorage.getItem("kxt:queue") || "[]"); sessionStorage.removeItem("kxt:queue"); return q; }
    catch (e) { return []; }
  }

  /* Apply a response: the contact only when tracked, clear what it lists, and correct a claimed
   * level the server did not accept. With no claim the default applies and nothing is written,
   * so a later change of the channel's default reaches this visitor too. */
  function apply(r, explicit) {
    (r.clear || []).forEach(dropCookie);
    var c = claimed();
    if (explicit || (c !== null && c !== r.cookie_level)) choose(r.cookie_level);
    if (r.contact) setCookie("CurrentContact", r.contact, YEAR);  // only sent when tracked
  }

  function body(events) {
    return JSON.stringify({ channel: channel, contact: cookie("CurrentContact"), cookie_level: claimed(), events: events });
  }

  function post(path, payload) {
    return fetch(base + path, {
      method: "POST", body: payload, keepalive: payload.length < 60000, credentials: "omit",
      headers: { "Content-Type": "text/plain" }
    }).then(function (r) {
      if (r.status === 429 || r.status >= 500) throw new Error("retry");
      return r.status === 200 || r.status === 409 ? r.json() : null;
    });
  }

  /* One request at a time: a new visitor's first answer carries its contact to the next one. */
  function flush() {
    if (busy || !queue.length || timer) return;
    busy = true;
    var batch = queue.slice(0, 50);
    post("collect", body(batch)).then(function (r) {
      queue.splice(0, batch.length);
      delay = 2000;
      if (r) {
        apply(r, false);
        var paged = batch.some(function (e) { return e.type === "pagevisit"; });
        if (r.tracked && paged) setCookie("CMSLandingPageLoaded", "1", LANDING_AGE);
      }
    }, function () {
      timer = setTimeout(function () { timer = null; flush(); }, delay);
      delay = Math.min(delay * 2, 60000);
    }).then(function () { busy = false; flush(); });
  }

  function track(event) { event.id = uuid(); queue.push(event); flush(); }

  function pagevisit() {
    track({ type: "pagevisit", url: location.href, title: document.title.slice(0, 250),
      referrer: document.referrer || null, landing: !cookie("CMSLandingPageLoaded") });
  }

  function consentTexts() {
    return fetch(base + "consent?channel=" + encodeURIComponent(channel) + "&lang=" +
      encodeURIComponent(document.documentElement.lang || ""), { credentials: "omit" })
      .then(function (r) { return r.status === 200 ? r.json() : null; });
  }

  function consentChange(action, hash) {
    var payload = JSON.stringify({ channel: channel, contact: cookie("CurrentContact"), cookie_level: claimed(),
      consent: consentChange.code, action: action, hash: hash || null });
    return post("consent", payload).then(function (r) { if (r && !r.error) apply(r, true); return r; });
  }

  function agree() {
    return consentTexts().then(function (t) {
      if (!t) return null;
      consentChange.code = t.code;
      return consentChange("agree", t.hash);
    });
  }

  function decline() {
    var hadContact = cookie("CurrentContact");
    choose(ESSENTIAL);
    dropCookie("CurrentContact"); dropCookie("CMSLandingPageLoaded");
    if (!hadContact || !consentChange.code) return Promise.resolve(null);
    return fetch(base + "consent", { method: "POST", credentials: "omit", headers: { "Content-Type": "text/plain" },
      body: JSON.stringify({ channel: channel, contact: hadContact, cookie_level: ESSENTIAL,
        consent: consentChange.code, action: "revoke", hash: null }) }).then(function () { return null; }, function () { return null; });
  }

  function status(cb) {
    fetch(base + "consent/status?channel=" + encodeURIComponent(channel) + "&contact=" +
      encodeURIComponent(cookie("CurrentContact") || ""), { credentials: "omit" })
      .then(function (r) { return r.json(); })
      .then(function (r) { cb({ isAgreed: !!r.agreed }); }, function () { cb({ isAgreed: false }); });
  }

  /* The optional banner: equal Agree and Decline, keyboard reachable, reopened by a visible link. */
  function el(tag, text, css) {
    var e = document.createElement(tag);
    if (text) e.textContent = text;
    Object.keys(css || {}).forEach(function (k) { e.style[k] = css[k]; });
    return e;
  }
  /* A focus ring of its own: the host page's CSS may have removed the browser's. */
  function ring(e) {
    e.addEventListener("focus", function () {
      var keyboard = !e.matches || e.matches(":focus-visible");
      e.style.outline = keyboard ? "3px solid #1d2430" : "";
      e.style.outlineOffset = keyboard ? "2px" : "";
    });
    e.addEventListener("blur", function () { e.style.outline = ""; e.style.outlineOffset = ""; });
    return e;
  }
  var BTN = { font: "inherit", padding: "8px 18px", margin: "4px 8px 0 0", border: "2px solid #1d2430",
    borderRadius: "4px", background: "#fff", color: "#1d2430", cursor: "pointer", minWidth: "7em" };

  function showBanner(t) {
    if (bannerEl) bannerEl.remove();
    consentChange.code = t.code;
    bannerEl = el("section", null, { position: "fixed", left: "0", right: "0", bottom: "0", zIndex: "2147483000",
      background: "#fff", color: "#1d2430", borderTop: "2px solid #1d2430", padding: "16px", font: "16px/1.4 system-ui, sans-serif" });
    bannerEl.setAttribute("role", "region");
    bannerEl.setAttribute("aria-label", t.display_name || "Cookie consent");
    bannerEl.appendChild(el("strong", t.display_name));
    bannerEl.appendChild(el("p", t.short_text, { margin: "6px 0" }));
    if (t.full_text) {
      var d = el("details"), s = el("summary", "Details", { cursor: "pointer" });
      d.appendChild(s);
      d.appendChild(el("p", new DOMParser().parseFromString(t.full_text, "text/html").body.textContent));
      bannerEl.appendChild(d);
    }
    var yes = ring(el("button", "Agree", BTN)), no = ring(el("button", "Decline", BTN));
    yes.type = no.type = "button";
    yes.onclick = function () { closeBanner(); agree().then(flushAfterChoice); };
    no.onclick = function () { closeBanner(); decline(); };
    bannerEl.appendChild(yes); bannerEl.appendChild(no);
    document.body.appendChild(bannerEl);
    yes.focus({ preventScroll: true });
  }

  /* Keyboard users keep their place: focus moves from the closed banner to "Privacy choices". */
  function closeBanner() {
    var hadFocus = bannerEl && bannerEl.contains(document.activeElement);
    if (bannerEl) { bannerEl.remove(); bannerEl = null; }
    showChoiceLink();
    if (hadFocus) choiceEl.focus({ preventScroll: true });
  }
  function flushAfterChoice() { pagevisit(); }

  function showChoiceLink() {
    if (choiceEl) return;
    choiceEl = el("button", "Privacy choices", { position: "fixed", left: "8px", bottom: "8px", zIndex: "2147483000",
      font: "14px system-ui, sans-serif", padding: "4px 10px", background: "#fff", color: "#1d2430",
      border: "1px solid #1d2430", borderRadius: "4px", cursor: "pointer" });
    ring(choiceEl);
    choiceEl.type = "button";
    choiceEl.onclick = function () { consentTexts().then(function (t) { if (t) showBanner(t); }); };
    document.body.appendChild(choiceEl);
  }

  var api = function (command, data, callback) {
    data = data || {};
    if (typeof data === "function") { callback = data; data = {}; }
    if (command === "pagevisit") pagevisit();
    else if (command === "customactivity") track({ type: "customactivity", activity_type: data.type, value: data.value, title: data.title });
    else if (command === "click") track({ type: "click", label: data.label });
    else if (command === "datainput") track({ type: "datainput", label: data.label, fields: data.fields });
    else if (command === "consentdata") consentTexts().then(function (t) { if (callback) callback(t); });
    else if (command === "consentagree") agree().then(function (r) { if (callback) callback(r); });
    else if (command === "consentrevoke") consentTexts().then(function (t) {
      if (!t) return null;
      consentChange.code = t.code;
      return consentChange("revoke", null);
    }).then(function (r) { if (callback) callback(r); });
    else if (command === "consentcontactstatus") status(callback || function () {});
  };

  var pending = (window[name] && window[name].q) || [];
  window[name] = api;
  pagevisit();
  pending.forEach(function (args) { api.apply(null, args); });

  if (script.getAttribute("data-banner") === "true") {
    consentTexts().then(function (t) {
      if (!t) return;
      consentChange.code = t.code;
      var start = function () { if (claimed() === null) showBanner(t); else showChoiceLink(); };
      if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
    }, function () {});
  }

  window.addEventListener("pagehide", function () {
    if (!queue.length) return;
    var sent = navigator.sendBeacon && navigator.sendBeacon(base + "collect", new Blob([body(queue.slice(0, 50))], { type: "text/plain" }));
    if (!sent) try { sessionStorage.setItem("kxt:queue", JSON.stringify(queue)); } catch (e) { /* storage full or blocked */ }
  });
})();
