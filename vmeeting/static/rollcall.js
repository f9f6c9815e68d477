// The roll-call (templates/attendance/sitting.html): each mark is saved as it is chosen, in place.
// Without this script the page's forms post as they are (attendance.views.save): it works the same, by reloads.
(function () {
  "use strict";
  const roll = document.getElementById("roll");
  if (!roll || !roll.hasAttribute("data-marking")) return;
  roll.classList.add("roll-js");
  const words = roll.dataset;
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const announce = document.getElementById("roll-announce");
  const BADGES = { present: "text-bg-success", late: "text-bg-warning", absent: "text-bg-danger" };
  const timers = new WeakMap();

  function siteOf(node) { return node.closest("[data-testid=site]"); }
  function chosen(site) {
    const checked = site.querySelector("input[type=radio]:checked");
    const reason = site.querySelector("[data-field=reason]");
    return { status: checked ? checked.value : "", reason: reason ? reason.value.trim() : "", reasonInput: reason };
  }
  function show(site, state, text) {
    site.dataset.state = state;
    const meta = site.querySelector("[data-field=meta]");
    meta.textContent = text;
    meta.classList.toggle("text-danger", state === "error");
    meta.classList.toggle("text-body-secondary", state !== "error");
  }

  // the roll's own line under its counts: what "all present" did, or why it did not
  function tell(text, isError) {
    const line = document.getElementById("roll-message");
    line.textContent = text;
    line.className = "small mb-2 " + (isError ? "text-danger" : "text-success");
  }

  function post(url, body) {
    body.append("csrf_token", token);
    return fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) {
        if (answer.status === 401) { window.location.reload(); }  // the session ended: to sign in, and back
        return answer.json().then(function (data) { return { ok: answer.ok, data: data }; });
      });
  }

  function paintCounts(data) {
    const scopes = Object.assign({ all: data.summary }, data.districts);
    roll.querySelectorAll("[data-scope]").forEach(function (node) {
      const counts = scopes[node.dataset.scope];
      if (!counts) return;
      node.querySelectorAll("[data-count]").forEach(function (n) { n.textContent = counts[n.dataset.count] || 0; });
      if (node.tagName === "BUTTON") node.disabled = !counts.unmarked;  // "all present" with none left to mark
    });
  }

  function paintItem(item) {
    const site = roll.querySelector('[data-testid=site][data-endpoint-id="' + item.endpoint_id + '"]');
    if (!site) return;
    site.dataset.status = site.dataset.savedStatus = item.status;
    site.dataset.savedReason = item.reason || "";
    const radio = site.querySelector('input[type=radio][value="' + item.status + '"]');
    if (radio) radio.checked = true;
    const badge = site.querySelector("[data-field=badge]");
    badge.className = "badge " + BADGES[item.status];
    badge.textContent = item.label;
    show(site, "saved", "✓ " + words.labelSaved + " " + item.marked_at_text + (item.reason ? " · " + item.reason : ""));
  }

  function save(site) {
    const mark = chosen(site);
    if (!mark.status) return;
    if (mark.status === "absent" && !mark.reason) {
      show(site, "need-reason", words.labelNeedReason);
      if (document.activeElement && siteOf(document.activeElement) === site) mark.reasonInput.focus();
      return;
    }
    const id = site.dataset.endpointId;
    const body = new FormData();
    body.append("e" + id + "-status", mark.status);
    body.append("e" + id + "-reason", mark.reason);
    // one save of a site on its way at a time, so the server records the marks in the order chosen: a
    // choice made meanwhile waits for the answer, then goes
    if (site.dataset.inFlight) {
      site.dataset.queued = "1";
      return;
    }
    show(site, "saving", words.labelSaving);
    site.dataset.inFlight = "1";
    delete site.dataset.choosing;
    post(site.dataset.markUrl, body).then(function (answer) {
      // an answer overtaken by a newer choice (made while it was on its way) must not paint the old mark
      // back over it: that choice is saved next, and its answer paints the site
      if (site.dataset.choosing || site.dataset.queued) {
        if (answer.ok) paintCounts(answer.data);
        return;
      }
      if (!answer.ok) {
        const error = answer.data.error || {};
        const fields = error.fields || {};
        show(site, "error", fields.reason || fields.status || error.message || "");
        if (announce) announce.textContent = site.querySelector("[id^=name-]").textContent + ": " + site.querySelector("[data-field=meta]").textContent;
        return;
      }
      answer.data.items.forEach(paintItem);
      paintCounts(answer.data);
      if (announce) announce.textContent = site.querySelector("[id^=name-]").textContent + ": " + answer.data.items[0].label + " — " + words.labelSaved;
    }).catch(function () { show(site, "error", words.labelOffline); }).finally(function () {
      delete site.dataset.inFlight;
      if (site.dataset.queued) {  // the choice made meanwhile
        delete site.dataset.queued;
        save(site);
      }
    });
  }

  // a choice settles before it is saved: arrowing through the three marks saves only the last one
  function soon(site, wait) {
    site.dataset.choosing = "1";
    window.clearTimeout(timers.get(site));
    timers.set(site, window.setTimeout(function () { save(site); }, wait));
  }

  roll.addEventListener("change", function (event) {
    const site = siteOf(event.target);
    if (!site) return;
    if (event.target.type === "radio") soon(site, 400);
    else if (event.target.dataset.field === "reason") soon(site, 0);
  });
  // a click on the mark already shown (a suggestion not saved yet) saves it too
  roll.addEventListener("click", function (event) {
    const site = event.target.type === "radio" && siteOf(event.target);
    if (site && site.dataset.savedStatus !== event.target.value) soon(site, 400);
  });
  roll.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.target.dataset.field !== "reason") return;
    event.preventDefault();  // Enter saves this site, and does not send the district's form
    soon(siteOf(event.target), 0);
  });

  roll.querySelectorAll("form[data-roll-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const button = event.submitter;
      if (!button || button.value !== "all_present" || form.dataset.busy === "1") return;
      form.dataset.busy = "1";
      button.disabled = true;
      const body = new FormData();
      body.append("action", "all_present");
      const district = form.querySelector("[name=district_id]");
      if (district) body.append("district_id", district.value);
      // form.action would be its button named "action"
      post(form.getAttribute("action"), body).then(function (answer) {
        if (!answer.ok) {
          tell((answer.data.error || {}).message || words.labelOffline, true);
          return;
        }
        answer.data.items.forEach(paintItem);
        paintCounts(answer.data);
        tell(words.labelSaved + ": " + answer.data.items.length, false);
      }).catch(function () { tell(words.labelOffline, true); })
        .then(function () { delete form.dataset.busy; if (button.querySelector("[data-count]").textContent !== "0") button.disabled = false; });
    });
  });
})();
