// The meeting calendar: EventCalendar (static/vendor/event-calendar) over /calendar/events.
// Click an empty time to book it; drag a meeting to move it (the server's booking rules decide,
// and a refused move is undone). Phones open on the agenda list.
(function () {
  "use strict";
  const el = document.getElementById("calendar");
  if (!el || !window.EventCalendar) return;
  const opts = JSON.parse(el.dataset.options);
  const L = JSON.parse(el.dataset.labels);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const message = document.getElementById("calendar-message");
  const statusSelect = document.getElementById("calendar-status");
  const phone = window.matchMedia("(max-width: 767.98px)").matches;
  const pad = (n) => String(n).padStart(2, "0");
  const ddmm = (d) => `${pad(d.getDate())}/${pad(d.getMonth() + 1)}`;
  const hhmm = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const isoDay = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const wall = (d) => `${isoDay(d)}T${hhmm(d)}`;  // local wall-clock: the server reads it in its zone

  function say(text, kind) {
    message.className = `alert alert-${kind}`;
    message.textContent = text;
  }

  function describeError(body) {
    const error = (body && body.error) || {};
    let text = error.message || L.failed;
    const fields = error.fields ? Object.values(error.fields) : [];
    if (fields.length) text += " " + fields.join(" ");
    (error.conflicts || []).slice(0, 5).forEach((c) => {
      const what = [c.endpoint_name, c.meeting_title].filter(Boolean).join(" — ");
      if (what) text += ` • ${what}`;
    });
    (error.sittings || []).slice(0, 3).forEach((s) => { if (s.reason) text += ` • ${s.reason}`; });
    return text;
  }

  // -- a drag is reviewed before it is written, and can be undone for UNDO_SECONDS after -----------
  const UNDO_SECONDS = 30;
  const review = document.getElementById("calendar-review");
  const reviewModal = review && window.bootstrap ? window.bootstrap.Modal.getOrCreateInstance(review) : null;
  const when = (text) => { const d = new Date(text); return `${L.weekdaysShort[d.getDay()]} ${ddmm(d)} ${hhmm(d)}`; };
  let undoTimer = null;

  // Bootstrap ignores hide() while the dialog is still fading in: a quick "Không dời" or "Xác nhận"
  // would leave it open with the drag neither written nor undone. Such a click closes it once shown.
  if (reviewModal) {
    let shown = false;
    let hideWhenShown = false;
    review.addEventListener("show.bs.modal", () => { shown = false; hideWhenShown = false; });
    review.addEventListener("shown.bs.modal", () => {
      shown = true;
      if (hideWhenShown) reviewModal.hide();
    });
    review.addEventListener("hidden.bs.modal", () => { shown = false; hideWhenShown = false; });
    review.addEventListener("click", (e) => {
      if (!shown && e.target.closest("[data-bs-dismiss], [data-review-confirm]")) hideWhenShown = true;
    });
    review.addEventListener("keydown", (e) => { if (!shown && e.key === "Escape") hideWhenShown = true; });
  }

  async function post(event, start, end, allowNonWorking, dryRun) {
    try {
      const response = await fetch(opts.moveUrl, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"},
        body: JSON.stringify({occurrence_id: event.extendedProps.occurrence_id, starts_at: wall(start),
                              ends_at: wall(end), allow_non_working_time: allowNonWorking, dry_run: dryRun,
                              // the meeting's version this event was read at: a move over an unseen change is refused (412)
                              version: event.extendedProps.version}),
      });
      return {ok: response.ok, status: response.status, body: await response.json().catch(() => ({}))};
    } catch (err) {
      return {ok: false, status: 0, body: {}};
    }
  }

  function clearUndo() {
    if (undoTimer) clearInterval(undoTimer);
    undoTimer = null;
  }

  // The message after a move, with its "undo" button and the seconds left to press it.
  function offerUndo(text, event, oldStart, oldEnd, version) {
    clearUndo();
    say(text, "success");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-sm btn-outline-dark ms-2";
    button.dataset.testid = "calendar-undo";
    let left = UNDO_SECONDS;
    const label = () => { button.textContent = `${L.undo} (${left} s)`; };
    label();
    message.append(button);
    undoTimer = setInterval(() => {
      left -= 1;
      if (left > 0) return label();
      clearUndo();
      button.remove();
    }, 1000);
    button.addEventListener("click", async () => {
      clearUndo();
      button.disabled = true;
      // the meeting at the version the move left it (its answer's): a change by someone else since is refused
      const props = {...event.extendedProps};
      if (version !== undefined) props.version = version;
      say(L.moving, "secondary");
      const result = await post({extendedProps: props}, oldStart, oldEnd, true, false);
      ec.refetchEvents();
      if (result.ok) say(`${L.undoDone} ${result.body.message || ""}`, "success");
      else say(describeError(result.body), "danger");
    });
  }

  function fillReview(info, result, nonWorking) {
    const body = result.body;
    review.querySelector("[data-review-title]").textContent = info.event.title;
    const list = review.querySelector("[data-review-facts]");
    list.replaceChildren();
    const fact = (text, testid) => {
      const item = document.createElement("li");
      item.textContent = text;
      if (testid) item.dataset.testid = testid;
      list.append(item);
    };
    const confirm = review.querySelector("[data-review-confirm]");
    if (result.ok) {
      fact(`${L.from} ${when(body.old.starts_at)}–${hhmm(new Date(body.old.ends_at))} → ${when(body.new.starts_at)}` +
           `–${hhmm(new Date(body.new.ends_at))}`, "review-times");
      fact(`${body.recipients} ${L.recipients}`, "review-recipients");
      fact(L.noConflicts, "review-conflicts");
      if (body.series) fact(L.seriesOne);
      if (nonWorking) fact(nonWorking, "review-non-working");
      confirm.hidden = false;
    } else {
      fact(describeError(body), "review-refused");
      confirm.hidden = true;
    }
  }

  // The drag is rehearsed on the server (dry_run) and shown; only "confirm" writes it.
  async function reviewMove(info) {
    const event = info.event;
    say(L.checking, "secondary");
    let allow = false;
    let nonWorking = "";
    let result = await post(event, event.start, event.end, false, true);
    if (!result.ok && result.body.error && result.body.error.code === "non_working_time") {
      nonWorking = `${describeError(result.body)} ${L.allowNonWorking}`;
      allow = true;
      result = await post(event, event.start, event.end, true, true);
    }
    if (!reviewModal) {  // no dialog: the old way, asked in the browser's own words
      if (result.ok && window.confirm(result.body.message)) return write(info, allow);
      info.revert();
      return say(`${result.ok ? "" : describeError(result.body) + " "}${L.undone}`, result.ok ? "secondary" : "danger");
    }
    fillReview(info, result, nonWorking);
    message.className = "alert d-none";
    let confirmed = false;
    const confirm = review.querySelector("[data-review-confirm]");
    const onConfirm = () => { confirmed = true; reviewModal.hide(); };
    confirm.addEventListener("click", onConfirm, {once: true});
    review.addEventListener("hidden.bs.modal", () => {
      confirm.removeEventListener("click", onConfirm);
      if (confirmed) return write(info, allow);
      info.revert();
      say(result.ok ? L.notMoved : `${describeError(result.body)} ${L.undone}`, result.ok ? "secondary" : "danger");
    }, {once: true});
    reviewModal.show();
  }

  async function write(info, allow) {
    const event = info.event;
    const oldStart = info.oldEvent.start;
    const oldEnd = info.oldEvent.end;
    say(L.moving, "secondary");
    const result = await post(event, event.start, event.end, allow, false);
    if (result.ok) {
      ec.refetchEvents();
      return offerUndo(result.body.message, event, oldStart, oldEnd, result.body.version);
    }
    info.revert();
    say(`${describeError(result.body)} ${L.undone}`, "danger");
    if (result.status === 412) ec.refetchEvents();  // show the meeting as it now is
  }

  const monthTitle = (d) => `${L.months[d.getMonth()]}, ${d.getFullYear()}`;
  let ec = null;  // the sources below ask it for the view once it exists
  let fetchedForSites = false;  // whether the events on hand name their sites (the sites × time view's)
  ec = EventCalendar.create(el, {
    view: phone && opts.view !== "dayGridMonth" ? "listWeek" : opts.view,
    date: opts.date,
    locale: document.documentElement.lang === "en" ? "en-GB" : "vi",
    firstDay: 1,
    timeZone: opts.timeZone,
    headerToolbar: {
      start: "prev,next today", center: "title",
      end: phone ? "dayGridMonth,listWeek,timeGridDay" : "dayGridMonth,timeGridWeek,timeGridDay,listWeek,resourceTimelineWeek",
    },
    buttonText: (text) => ({...text, today: L.today, dayGridMonth: L.dayGridMonth, timeGridWeek: L.timeGridWeek,
                             timeGridDay: L.timeGridDay, listWeek: L.listWeek, resourceTimelineWeek: L.resourceTimelineWeek,
                             prev: L.prev, next: L.next, close: L.close, expand: L.expand, collapse: L.collapse}),
    views: {
      dayGridMonth: {dayHeaderFormat: (d) => (phone ? L.weekdaysShort : L.weekdays)[d.getDay()],
                     titleFormat: monthTitle, dayMaxEvents: true},
      timeGridWeek: {dayHeaderFormat: (d) => `${L.weekdaysShort[d.getDay()]} ${ddmm(d)}`},
      timeGridDay: {dayHeaderFormat: (d) => `${L.weekdays[d.getDay()]} ${ddmm(d)}`},
      // the working week, one column an hour: a scheduler sees which sites are free
      resourceTimelineWeek: {dayHeaderFormat: (d) => `${L.weekdaysShort[d.getDay()]} ${ddmm(d)}`,
                             hiddenDays: [0, 6], slotDuration: "01:00", slotWidth: 22,
                             slotMinTime: "07:00", slotMaxTime: "18:00", slotLabelFormat: (d) => String(d.getHours())},
    },
    titleFormat: (start, end) => {
      const last = end;  // EventCalendar passes the last day shown
      return isoDay(start) === isoDay(last) ? `${L.weekdays[start.getDay()]} ${ddmm(start)}/${start.getFullYear()}`
        : `${ddmm(start)} – ${ddmm(last)}/${last.getFullYear()}`;
    },
    listDayFormat: (d) => `${L.weekdays[d.getDay()]} ${ddmm(d)}/${d.getFullYear()}`,
    listDaySideFormat: () => "",
    eventTimeFormat: (d) => hhmm(d),
    slotLabelFormat: (d) => hhmm(d),
    slotMinTime: opts.slotMinTime, slotMaxTime: opts.slotMaxTime, scrollTime: opts.scrollTime,
    businessHours: opts.businessHours,
    allDaySlot: false, nowIndicator: true, height: "auto",
    noEventsContent: L.noEvents,
    editable: opts.canBook, eventStartEditable: opts.canBook, eventDurationEditable: false, selectable: false,
    eventSources: [{url: opts.eventsUrl, extraParams: () => {
      fetchedForSites = !!ec && ec.getView().type.startsWith("resource");
      return {status: statusSelect.value, resources: fetchedForSites ? 1 : 0};
    }}],
    // The sites × time view needs each event's sites (resources=1); the week it is switched to from the
    // time grid is the same range, which EventCalendar would not fetch again: it would show no meeting.
    viewDidMount: (info) => {
      if (ec && info.view.type.startsWith("resource") !== fetchedForSites) ec.refetchEvents();
    },
    moreLinkContent: (arg) => `+${arg.num} ${L.more}`,
    resources: (info, success, failure) => {
      fetch(opts.resourcesUrl, {credentials: "same-origin"}).then((r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);  // 401 once the session has ended
        return r.json();
      }).then(success, failure);
    },
    resourceLabelDidMount: (info) => { info.el.title = info.resource.title; },
    eventContent: (info) => {
      if (info.event.display === "background") return {html: ""};
      const p = info.event.extendedProps;
      const node = document.createElement("div");
      node.className = "vm-event-body";
      const when = document.createElement("div");
      when.className = "vm-event-time";
      when.textContent = `${hhmm(info.event.start)}–${hhmm(info.event.end)}`;
      const title = document.createElement("div");
      title.className = "vm-event-title";
      title.textContent = info.event.title;
      const meta = document.createElement("div");
      meta.className = "vm-event-meta";
      meta.textContent = `${p.sites} ${L.sites}${p.chair ? " · " + p.chair : ""}`;
      node.append(when, title, meta);
      return {domNodes: [node]};
    },
    eventDidMount: (info) => {
      if (info.event.display === "background") {
        info.el.title = info.event.title;
        return;
      }
      const p = info.event.extendedProps;
      info.el.dataset.testid = "calendar-event";
      info.el.dataset.occurrenceId = p.occurrence_id;
      info.el.title = `${hhmm(info.event.start)}–${hhmm(info.event.end)} ${info.event.title}` +
        ` · ${p.sites} ${L.sites}${p.chair ? " · " + p.chair : ""}${p.series ? " · " + L.series : ""}`;
    },
    eventClick: (info) => {
      if (info.event.extendedProps.url) window.location.href = info.event.extendedProps.url;
    },
    dateClick: opts.canBook ? (info) => {
      const params = new URLSearchParams({day: isoDay(info.date)});
      if (!info.allDay && info.view.type.startsWith("timeGrid")) {
        const end = new Date(info.date.getTime() + 60 * 60 * 1000);
        params.set("start", hhmm(info.date));
        if (isoDay(end) === isoDay(info.date)) params.set("end", hhmm(end));
      }
      window.location.href = `${opts.bookUrl}?${params}`;
    } : undefined,
    eventDrop: (info) => reviewMove(info),
    // holidays and days off also mark their day cells (the month grid draws no timed shading)
    eventAllUpdated: () => {
      const days = ec.getEvents().filter((e) => e.display === "background" && e.extendedProps.kind !== "weekend")
        .map((e) => isoDay(e.start));
      if (days.join() !== ec.getOption("highlightedDates").map((d) => (typeof d === "string" ? d : isoDay(d))).join()) {
        ec.setOption("highlightedDates", days);
      }
    },
  });
  // EventCalendar marks up its grids with ARIA rows, cells and headers whose table, grid and row
  // parents it does not give (axe: aria-required-parent, aria-required-children): a screen reader
  // would be told of a broken table. Its layout stays; those half roles go, each time it draws.
  // The agenda's root is a "list" whose items are its toolbar and days: those go too.
  const TABLE_ROLES = new Set(["table", "grid", "rowgroup", "row", "cell", "gridcell", "columnheader", "rowheader",
                               "list", "listitem"]);
  const TABLE_ATTRIBUTES = ["aria-colindex", "aria-rowindex", "aria-colcount", "aria-rowcount"];
  const unroleTables = () => {
    [el, ...el.querySelectorAll("[role], [aria-colindex], [aria-rowindex], [aria-colcount], [aria-rowcount]")]
      .forEach((node) => {
        if (TABLE_ROLES.has(node.getAttribute("role"))) node.removeAttribute("role");
        TABLE_ATTRIBUTES.forEach((name) => node.removeAttribute(name));
      });
  };
  unroleTables();
  new MutationObserver(unroleTables).observe(el, {childList: true, subtree: true, attributes: true,
                                                  attributeFilter: ["role", ...TABLE_ATTRIBUTES]});
  // A filter reloads the page at the view and day on screen: the URL keeps the filters (links, reload).
  const filters = document.querySelector("[data-calendar-filters]");
  const viewNames = {dayGridMonth: "month", timeGridWeek: "week", timeGridDay: "day", listWeek: "list",
                     resourceTimelineWeek: "sites"};
  filters.addEventListener("change", () => {
    const view = ec.getView();
    filters.elements.view.value = viewNames[view.type] || "week";
    filters.elements.date.value = isoDay(view.currentStart);
    filters.requestSubmit();
  });
  window.vmeetingCalendar = ec;  // for the browser tests
})();
