// The sayiir dashboard's script: live regions over server-sent events, and the operator's
// actions as fetch POSTs to the API (with the session's CSRF token). No build step.
"use strict";
(function () {
  const body = document.body;
  const csrf = body.dataset.csrf || "";

  // Live regions: {"regions": {id: html}} replaces each [data-live] element's content when it
  // changed, unless the user is typing in it. An element marked data-keep (the signal editor)
  // that the new content has too is kept as it is: its text and its last message stay.
  const last = new Map();
  function patch(regions) {
    for (const [id, html] of Object.entries(regions)) {
      const el = document.getElementById(id);
      if (!el || last.get(id) === html || el.innerHTML === html) { last.set(id, html); continue; }
      const active = document.activeElement;
      if (active && el.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) continue;
      last.set(id, html);
      const before = new Map();
      el.querySelectorAll("tr[data-id]").forEach((tr) => before.set(tr.dataset.id, tr.innerHTML));
      const kept = [...el.querySelectorAll("[data-keep][id]")];
      el.innerHTML = html;
      for (const old of kept) {
        const fresh = document.getElementById(old.id);
        if (fresh && el.contains(fresh)) fresh.replaceWith(old);
      }
      el.querySelectorAll("tr[data-id]").forEach((tr) => {
        if (before.get(tr.dataset.id) !== tr.innerHTML) tr.classList.add("flash");
      });
      el.dispatchEvent(new CustomEvent("sayiir:patched", { bubbles: true }));
    }
  }

  function problem(text) {
    let p = document.querySelector(".problem");
    if (!text) { if (p) p.remove(); return; }
    if (!p) { p = document.createElement("div"); p.className = "problem"; body.appendChild(p); }
    p.textContent = text;
  }

  if (body.dataset.events && window.EventSource) {
    const badge = document.getElementById("live");
    const source = new EventSource(body.dataset.events);
    source.addEventListener("regions", (e) => {
      problem(null);
      patch(JSON.parse(e.data).regions);
      body.dataset.updates = String(Number(body.dataset.updates || 0) + 1);
    });
    source.addEventListener("problem", (e) => problem(e.data));
    // A page left (or kept in the back-forward cache) closes its stream: browsers allow a
    // few connections per host, and a stream left open holds one.
    window.addEventListener("pagehide", () => source.close());
    window.addEventListener("pageshow", (e) => { if (e.persisted) location.reload(); });
    source.onopen = () => { if (badge) { badge.classList.remove("off"); badge.textContent = "● live"; } };
    source.onerror = () => { if (badge) { badge.classList.add("off"); badge.textContent = "● reconnecting"; } };
  }

  // A POST to the API: the JSON body, the CSRF header; the error's message on failure.
  async function post(url, payload) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: payload === undefined ? "" : payload,
      credentials: "same-origin",
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch (_) { /* not JSON */ }
    if (!res.ok) {
      const msg = json && json.error ? json.error.message : text;
      throw new Error(res.status + (json && json.error ? " " + json.error.kind : "") + ": " + msg);
    }
    return json;
  }

  function show(result, ok, text) {
    if (!result) return;
    result.className = "result " + (ok ? "ok" : "err");
    result.textContent = text;
  }

  // Action buttons: [data-action] inside an element with data-api (the API path).
  document.addEventListener("click", async (e) => {
    const button = e.target.closest("button[data-action]");
    if (!button) return;
    const box = button.closest("[data-api]");
    if (!box) return;
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    const action = button.dataset.action;
    let payload;
    if (action === "cancel") {
      const reason = box.querySelector("input[name=reason]");
      if (reason && reason.value.trim()) payload = JSON.stringify({ reason: reason.value.trim() });
    }
    const result = box.querySelector(".result");
    button.disabled = true;
    try {
      await post(box.dataset.api + "/" + action, payload);
      show(result, true, action + ": done");
    } catch (err) {
      show(result, false, err.message);
    } finally {
      button.disabled = false;
      button.blur();
    }
  });

  // The signal form: the payload must be JSON; the server checks its type (a 422 shows here).
  document.addEventListener("submit", async (e) => {
    const form = e.target.closest("form.signal");
    if (!form) return;
    e.preventDefault();
    const result = form.querySelector(".result");
    const submit = form.querySelector("button[type=submit]");
    const name = form.querySelector("[name=name]").value;
    const text = form.querySelector("[name=payload]").value;
    try { JSON.parse(text); } catch (err) { show(result, false, "not valid JSON: " + err.message); return; }
    if (submit && submit.dataset.confirm && !window.confirm(submit.dataset.confirm)) return;
    if (submit) submit.disabled = true;
    try {
      await post(form.dataset.api + "/signal/" + encodeURIComponent(name), text);
      show(result, true, "signal " + name + " sent");
      if (document.activeElement) document.activeElement.blur();
    } catch (err) {
      show(result, false, err.message);
    } finally {
      if (submit) submit.disabled = false;
    }
  });
})();
