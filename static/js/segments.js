// Condition builder: progressive enhancement of a form that works without this script.
//
// * Edit buttons (add / remove rule or group) and rule-type changes post the form as usual but
//   ask for the builder fragment only, replace it in place and move focus where the server says
//   (the element it marks with autofocus), so keyboard users stay where they were. A type chosen
//   with the arrow keys applies when the person leaves the list or presses Enter.
// * The preview updates live while the condition is edited, from a JSON endpoint.
(function () {
  "use strict";

  var form = document.querySelector("form[data-group-editor]");
  if (!form) { return; }
  var EDIT = /^(add_group|remove_group|add_rule|remove_rule|change_type)(:\d+){0,2}$/;
  var builder = form.querySelector("[data-builder]");
  var previewUrl = form.dataset.previewUrl;
  var tokenField = form.querySelector('input[name="csrf_token"]');
  var token = tokenField ? tokenField.value : "";
  var sequence = 0;
  var timer = null;

  function post(url, data, extraHeaders) {
    var headers = { "X-CSRFToken": token, "Accept": "application/json, text/html" };
    Object.keys(extraHeaders || {}).forEach(function (k) { headers[k] = extraHeaders[k]; });
    return fetch(url, { method: "POST", body: data, headers: headers, credentials: "same-origin" });
  }

  function result() { return builder.querySelector("[data-preview-result]"); }

  function setBusy(busy) {
    var section = result() && result().closest(".preview");
    if (section) { section.setAttribute("aria-busy", busy ? "true" : "false"); }
  }

  function text(tag, content, className) {
    var el = document.createElement(tag);
    el.textContent = content;
    if (className) { el.className = className; }
    return el;
  }

  function showPreview(payload) {
    var box = result();
    if (!box) { return; }
    box.replaceChildren();
    if (!payload.ok) {
      var messages = Object.keys(payload.errors || {}).map(function (k) { return payload.errors[k]; });
      box.appendChild(text("p", "The preview waits until the condition is complete:", "hint"));
      var list = document.createElement("ul");
      messages.slice(0, 5).forEach(function (m) { list.appendChild(text("li", m, "error")); });
      box.appendChild(list);
      return;
    }
    var count = document.createElement("p");
    count.className = "preview-count";
    count.appendChild(text("strong", payload.count.toLocaleString()));
    count.appendChild(document.createTextNode(payload.count === 1 ? " contact matches now." : " contacts match now."));
    box.appendChild(count);
    if (payload.sample.length) {
      box.appendChild(text("p", "Newest matches:", "hint"));
      var ul = document.createElement("ul");
      ul.className = "sample";
      payload.sample.forEach(function (c) {
        var li = document.createElement("li");
        if (c.url) {
          var a = text("a", c.label);
          a.href = c.url;
          li.appendChild(a);
        } else {
          li.appendChild(document.createTextNode(c.label));
        }
        if (c.email && c.email !== c.label) {
          li.appendChild(document.createTextNode(" "));
          li.appendChild(text("span", c.email, "hint"));
        }
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
  }

  function refreshPreview() {
    var mine = ++sequence;
    setBusy(true);
    var data = new FormData(form);
    data.delete("action");
    post(previewUrl, data).then(function (response) {
      return response.json();
    }).then(function (payload) {
      if (mine === sequence) { showPreview(payload); }
    }).catch(function () {
      if (mine === sequence) {
        var box = result();
        if (box) { box.replaceChildren(text("p", "The preview is not available right now.", "error")); }
      }
    }).then(function () {
      if (mine === sequence) { setBusy(false); }
    });
  }

  function schedulePreview() {
    clearTimeout(timer);
    timer = setTimeout(refreshPreview, 500);
  }

  function enhance() {
    // The script shows a rule's fields as soon as its type changes: no button needed.
    builder.querySelectorAll("[data-change-type]").forEach(function (b) { b.hidden = true; });
  }

  // A selector that finds the focused control again in the re-rendered builder.
  function focusKey() {
    var el = document.activeElement;
    if (!el || !builder.contains(el)) { return null; }
    if (el.id) { return "#" + CSS.escape(el.id); }
    if (el.name === "action") { return '[name="action"][value="' + CSS.escape(el.value) + '"]'; }
    return el.name ? '[name="' + CSS.escape(el.name) + '"]' : null;
  }

  var typeEdits = 0;

  function edit(action) {
    var data = new FormData(form);
    data.set("action", action);
    var typeChange = action.indexOf("change_type") === 0;
    var mine = typeChange ? ++typeEdits : typeEdits;
    setBusy(true);
    return post(window.location.href, data, { "X-Builder-Fragment": "1" }).then(function (response) {
      if (!response.ok && response.status !== 400) { throw new Error(String(response.status)); }
      return response.text();
    }).then(function (html) {
      // A newer type change is on its way (it carries this one's state too): skip this answer.
      if (typeChange && (mine !== typeEdits || pendingType)) { return; }
      // After a type change the person has moved on (Tab) or stayed: keep their place. After an
      // add or remove, go where the server says (the new rule, or the next control).
      var keep = typeChange ? focusKey() : null;
      builder.innerHTML = html;
      enhance();
      var target = (keep && builder.querySelector(keep)) || builder.querySelector("[autofocus]");
      if (target) { target.focus(); }
      schedulePreview();
    }).catch(function () {
      // Fall back to the plain form round trip.
      var button = document.createElement("input");
      button.type = "hidden";
      button.name = "action";
      button.value = action;
      form.appendChild(button);
      HTMLFormElement.prototype.submit.call(form);
    });
  }

  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    var action = submitter && submitter.name === "action" ? submitter.value : "";
    if (EDIT.test(action)) {
      event.preventDefault();
      edit(action);
    } else if (action === "preview") {
      event.preventDefault();
      clearTimeout(timer);
      refreshPreview();
    }
  });

  // A rule's type shows its fields at once when picked from the list with the mouse. Moving
  // through the options with the arrow keys changes the value at every step, so then the fields
  // follow when the person leaves the list (Tab) or presses Enter: no re-rendering while they
  // are still choosing.
  var TYPE = /^g(\d+)-r(\d+)-type$/;
  var lastKey = { target: null, time: 0 };
  var pendingType = null;

  function typeAction(select) {
    var match = TYPE.exec(select.name);
    return "change_type:" + match[1] + ":" + match[2];
  }

  function applyPendingType() {
    if (!pendingType) { return; }
    var select = pendingType;
    pendingType = null;
    edit(typeAction(select));
  }

  builder.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!target.name || !TYPE.test(target.name)) { return; }
    lastKey = { target: target, time: Date.now() };
    if (event.key === "Enter") {
      event.preventDefault();
      applyPendingType();
    }
  });

  builder.addEventListener("focusout", function (event) {
    if (pendingType && event.target === pendingType) { applyPendingType(); }
  });

  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target.name && TYPE.test(target.name)) {
      if (lastKey.target === target && Date.now() - lastKey.time < 500) {
        pendingType = target;
      } else {
        pendingType = null;
        edit(typeAction(target));
      }
      return;
    }
    if (builder.contains(target)) { schedulePreview(); }
  });

  form.addEventListener("input", function (event) {
    if (builder.contains(event.target) && event.target.type !== "checkbox") { schedulePreview(); }
  });

  enhance();
  schedulePreview();
})();
