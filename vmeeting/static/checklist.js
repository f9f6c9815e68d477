// The technician's day (templates/readiness/mine.html): "Sẵn sàng" and "Có sự cố" are saved in place. The
// card says so, folds to its header a moment later, and the page stays where the reader is: no reload,
// no jump to another card. Without this script the forms post and come back to the card (readiness.confirm).
(function () {
  "use strict";
  const day = document.getElementById("my-day");
  if (!day) return;
  const words = day.dataset;
  const BADGES = { ready: "text-bg-success", issue: "text-bg-danger" };

  function say(card, form, text, isError) {
    const line = form.querySelector("[data-field=answer]");
    line.textContent = text;
    line.className = "small mt-2 mb-0 " + (isError ? "text-danger" : "text-success fw-semibold");
    const header = card.querySelector("[data-field=saved]");
    header.textContent = isError || text === words.labelSaving ? "" : text;
    // said once it is saved: an empty alert in every card would be noise to a screen reader
    if (header.textContent) header.setAttribute("role", "alert");
  }

  function count(card, wasConfirmed) {
    const line = document.querySelector("[data-testid=confirmed-count]");
    if (!line || wasConfirmed) return;
    const done = parseInt(line.dataset.confirmed, 10) + 1;
    const total = parseInt(line.dataset.total, 10);
    line.dataset.confirmed = String(done);
    const badge = line.querySelector(".badge");
    badge.textContent = done + "/" + total;
    badge.className = "badge " + (done === total ? "text-bg-success" : "text-bg-warning");
  }

  function fold(card) {
    const top = card.getBoundingClientRect().top;
    card.open = false;
    // the header stays where the eyes are; if it was above the screen, it comes to its top
    if (top < 0) card.scrollIntoView({ block: "start" });
  }

  day.querySelectorAll("form[data-checklist]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (form.dataset.busy === "1") return;
      const card = form.closest("[data-testid=my-site]");
      const button = event.submitter;
      const body = new FormData(form);
      if (button && button.name) body.append(button.name, button.value);
      form.dataset.busy = "1";
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      if (button) button.setAttribute("aria-busy", "true");
      say(card, form, words.labelSaving, false);
      fetch(form.getAttribute("action"), { method: "POST", body: body, credentials: "same-origin",
                                          headers: { Accept: "application/json" } })
        .then(function (answer) {
          if (answer.status === 401) window.location.reload();  // the session ended: to sign in, and back
          return answer.json().then(function (data) { return { ok: answer.ok, data: data }; });
        })
        .then(function (answer) {
          if (!answer.ok) {
            const error = answer.data.error || {};
            const fields = error.fields || {};
            const reasons = Object.keys(fields).map(function (name) { return fields[name]; });
            say(card, form, reasons.join(" ") || error.message || words.labelOffline, true);
            return;
          }
          const data = answer.data;
          const badges = card.querySelector("[data-field=badges]");
          badges.innerHTML = "";
          const badge = document.createElement("span");
          badge.className = "badge " + BADGES[data.status];
          badge.dataset.testid = "site-status";
          badge.textContent = data.label;
          badges.appendChild(badge);
          count(card, card.dataset.confirmed === "yes");
          card.dataset.confirmed = "yes";
          say(card, form, "✓ " + data.message + " " + words.labelSaved.replace("{t}", data.confirmed_at_text), false);
          window.setTimeout(function () { fold(card); }, 1200);
        })
        .catch(function () { say(card, form, words.labelOffline, true); })
        .then(function () {
          delete form.dataset.busy;
          form.querySelectorAll("button").forEach(function (b) { b.disabled = false; b.removeAttribute("aria-busy"); });
        });
    });
  });
})();
