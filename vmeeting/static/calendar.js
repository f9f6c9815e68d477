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

  async function move(info, allowNonWorking) {
    const event = info.event;
    say(L.moving, "secondary");
    let response, body;
    try {
      response = await fetch(opts.moveUrl, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"},
        body: JSON.stringify({occurrence_id: event.extendedProps.occurrence_id, starts_at: wall(event.start),
                              ends_at: wall(event.end), allow_non_working_time: allowNonWorking,
                              // the meeting's version this event was read at: a move over an unseen change is refused (412)
                              version: event.extendedProps.version}),
      });
      body = await response.json().catch(() => ({}));
    } catch (err) {
      response = {ok: false};
      body = {};
    }
    if (response.ok) {
      say(body.message, "success");
      ec.refetchEvents();  // the meeting's version moved on, for its other sittings too
      return;
    }
    const code = body.error && body.error.code;
    if (code === "non_working_time" && !allowNonWorking && window.confirm(`${describeError(body)}\n\n${L.allowNonWorking}`)) {
      return move(info, true);
    }
    info.revert();
    say(`${describeError(body)} ${L.undone}`, "danger");
    if (response.status === 412) ec.refetchEvents();  // show the meeting as it now is
  }

  const monthTitle = (d) => `${L.months[d.getMonth()]}, ${d.getFullYear()}`;
  let ec = null;  // the sources below ask it for the view once it exists
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
                             timeGridDay: L.timeGridDay, listWeek: L.listWeek, resourceTimelineWeek: L.resourceTimelineWeek}),
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
    eventSources: [{url: opts.eventsUrl, extraParams: () => ({
      status: statusSelect.value,
      resources: ec && ec.getView().type.startsWith("resource") ? 1 : 0,
    })}],
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
    eventDrop: (info) => move(info, false),
    // holidays and days off also mark their day cells (the month grid draws no timed shading)
    eventAllUpdated: () => {
      const days = ec.getEvents().filter((e) => e.display === "background" && e.extendedProps.kind !== "weekend")
        .map((e) => isoDay(e.start));
      if (days.join() !== ec.getOption("highlightedDates").map((d) => (typeof d === "string" ? d : isoDay(d))).join()) {
        ec.setOption("highlightedDates", days);
      }
    },
  });
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
