// Every page: a form that posts shows that it is working and cannot be sent twice.
// Booking 213 sites takes seconds; a second click would book twice or hit a stale form.
(function () {
  "use strict";
  // the form's own buttons, those outside it that name it with form="…" too
  const submitButtons = (form) => Array.from(form.elements).filter((e) => e.type === "submit");
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post" || form.hasAttribute("data-no-busy")) return;
    if (form.dataset.busy === "1") {
      event.preventDefault();
      return;
    }
    if (event.defaultPrevented) return;
    form.dataset.busy = "1";
    const submitter = event.submitter;
    if (submitter && submitter.name) {
      // a disabled button is not sent: its name and value travel in a hidden field instead
      const carried = document.createElement("input");
      carried.type = "hidden";
      carried.name = submitter.name;
      carried.value = submitter.value;
      carried.dataset.carried = "1";
      form.appendChild(carried);
    }
    submitButtons(form).forEach((b) => { b.disabled = true; });
    if (submitter) {
      submitter.setAttribute("aria-busy", "true");
      const spinner = document.createElement("span");
      spinner.className = "spinner-border spinner-border-sm ms-2";
      spinner.setAttribute("aria-hidden", "true");
      submitter.appendChild(spinner);
    }
  });
  // back from the next page (bfcache): the form is usable again
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-busy]").forEach(function (form) {
      delete form.dataset.busy;
      form.querySelectorAll("[data-carried]").forEach(function (i) { i.remove(); });
      submitButtons(form).forEach(function (b) {
        b.disabled = false;
        b.removeAttribute("aria-busy");
        b.querySelectorAll(".spinner-border").forEach(function (s) { s.remove(); });
      });
    });
  });
})();

// Sections of a large page that come after it (a national meeting's sites and invites): fetched once,
// when shown; a <details> waits until it is opened. The answer replaces the [data-fragment-slot] inside.
(function () {
  "use strict";
  function load(section) {
    if (section.dataset.fragmentLoaded) return;
    section.dataset.fragmentLoaded = "1";
    const slot = section.querySelector("[data-fragment-slot]") || section;
    fetch(section.dataset.fragmentSrc, { credentials: "same-origin" })
      .then(function (answer) {
        if (answer.status === 401) window.location.reload();  // the session ended: to sign in, and back
        if (!answer.ok) throw new Error(String(answer.status));
        return answer.text();
      })
      .then(function (html) { slot.innerHTML = html; })
      .catch(function () {
        delete section.dataset.fragmentLoaded;
        slot.textContent = section.dataset.fragmentError || "";
      });
  }
  document.querySelectorAll("[data-fragment-src]").forEach(function (section) {
    if (section.tagName === "DETAILS" && !section.open) {
      section.addEventListener("toggle", function () { if (section.open) load(section); });
    } else {
      load(section);
    }
  });
})();
