// The booking form's site pickers (templates/booking/_sites.html).
// The chair and the single sites become Tom Select searches (of the server's sites when the form
// says so: data-search-url, past a few hundred sites); the unit tree gets a filter and
// keeps a district's "whole district" box and its communes in step. Without this script the
// same selects and checkboxes post the same fields.
(function () {
  "use strict";

  // The same folding as vmeeting/core/text.py: đ→d by hand, drop the marks, ignore case.
  function fold(text) {
    return (text || "").replace(/[đð]/g, "d").replace(/[ĐÐ]/g, "D")
      .normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .toLowerCase().replace(/\s+/g, " ").trim();
  }

  // Tom Select's own diacritics folding leaves "đ" alone; match every typed word against the
  // server's folded search text (name, code, district) instead, and keep the list's order.
  function foldedScore(search) {
    var words = fold(search).split(" ").filter(Boolean);
    return function (item) {
      var key = item.search || fold(item.text);
      return words.every(function (word) { return key.indexOf(word) !== -1; }) ? 1 : 0;
    };
  }

  function renderOption(data, escape) {
    var code = data.code ? ' <span class="small text-body-secondary">' + escape(data.code) + "</span>" : "";
    return "<div>" + escape(data.text) + code + "</div>";
  }

  function pickers() {
    if (typeof TomSelect === "undefined") { return; }
    document.querySelectorAll("select[data-site-picker]").forEach(function (select) {
      var many = select.dataset.sitePicker === "many";
      var settings = {
        dataAttr: "data",  // the options' data-data: {code, search}
        score: foldedScore,
        maxOptions: 200,
        // search as each key is typed: the list is local, and a search still pending when a site
        // is picked (300 ms by default) would reopen the list after it was closed
        refreshThrottle: 0,
        render: {
          option: renderOption,
          no_results: function () { return '<div class="no-results">' + (select.dataset.noResults || "—") + "</div>"; }
        },
        // a picked site leaves the typed text: the next search starts afresh
        onItemAdd: function () { this.setTextboxValue(""); this.refreshOptions(false); }
      };
      if (select.dataset.searchUrl) {
        // the country's sites: the page holds only those chosen; typing asks the server (booking.site_search)
        settings.shouldLoad = function (query) { return fold(query).length >= 2; };
        settings.load = function (query, callback) {
          fetch(select.dataset.searchUrl + "?q=" + encodeURIComponent(query),
                {credentials: "same-origin", headers: {"Accept": "application/json"}})
            .then(function (response) { return response.ok ? response.json() : []; })
            .then(function (sites) {
              callback(sites.map(function (site) {
                return {value: String(site.id), text: site.text, code: site.code, search: site.search};
              }));
            }, function () { callback(); });
        };
        settings.loadThrottle = 250;
        settings.render.not_loading = function () {
          return '<div class="no-results">' + (select.dataset.searchHint || "") + "</div>";
        };
        settings.render.loading = function () { return '<div class="spinner-border spinner-border-sm m-2" role="status"></div>'; };
      }
      if (many) {
        settings.plugins = ["remove_button"];
        settings.placeholder = select.dataset.placeholder || "";
        settings.hidePlaceholder = false;
      } else {
        settings.allowEmptyOption = false;
      }
      new TomSelect(select, settings);  // it points the field's label at its search box
      // the select stays in the page for the form's post, out of sight; out of the accessibility tree too,
      // or a screen reader would meet two "Điểm cầu chủ tọa" boxes, one of them unnamed (axe: select-name)
      select.setAttribute("aria-hidden", "true");
    });
  }

  function tree() {
    var root = document.querySelector("[data-site-tree]");
    if (!root) { return; }
    var groups = Array.prototype.slice.call(root.querySelectorAll("[data-tree-group]"));

    // A ticked district holds all its communes: they show ticked and cannot be unticked one by one.
    function sync(group) {
      var all = group.querySelector("[data-tree-all]");
      group.querySelectorAll("[data-tree-item] input").forEach(function (box) {
        if (all.checked) {
          box.dataset.wasChecked = box.dataset.wasChecked || String(box.checked);
          box.checked = true;
        } else if (box.disabled) {
          box.checked = box.dataset.wasChecked === "true";
          delete box.dataset.wasChecked;
        }
        box.disabled = all.checked;
      });
    }
    // The country's communes are not in the page: a district's come from the server when it is opened.
    function commune(unit) {
      var item = document.createElement("li");
      item.className = "form-check";
      item.dataset.treeItem = "";
      item.dataset.search = unit.search;
      var box = document.createElement("input");
      box.className = "form-check-input";
      box.type = "checkbox";
      box.name = "unit_ids";
      box.value = String(unit.id);
      box.id = "unit-" + unit.id;
      var label = document.createElement("label");
      label.className = "form-check-label";
      label.htmlFor = box.id;
      label.textContent = unit.name + " ";
      var count = document.createElement("span");
      count.className = "small text-body-secondary";
      count.textContent = "(" + unit.count + ")";
      label.append(count);
      item.append(box, label);
      return item;
    }
    function fetchCommunes(group, details) {
      if (!details || !details.dataset.treeUrl || details.dataset.loaded) { return; }
      details.dataset.loaded = "1";
      fetch(details.dataset.treeUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (units) {
          var list = details.querySelector("ul");
          units.forEach(function (unit) {
            if (!document.getElementById("unit-" + unit.id)) { list.append(commune(unit)); }
          });
          sync(group);
        }, function () { delete details.dataset.loaded; });
    }
    groups.forEach(function (group) {
      sync(group);
      group.querySelector("[data-tree-all]").addEventListener("change", function () { sync(group); });
      var details = group.querySelector("[data-tree-details]");
      if (details) {
        details.addEventListener("toggle", function () { if (details.open) { fetchCommunes(group, details); } });
        if (details.open) { fetchCommunes(group, details); }
      }
    });

    var filter = document.querySelector("[data-tree-filter]");
    if (!filter) { return; }
    filter.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); }  // Enter must not submit the whole form
    });
    filter.addEventListener("input", function () {
      var words = fold(filter.value).split(" ").filter(Boolean);
      function matches(key) { return words.every(function (w) { return key.indexOf(w) !== -1; }); }
      groups.forEach(function (group) {
        var headMatches = matches(group.dataset.search);
        var shown = 0;
        group.querySelectorAll("[data-tree-item]").forEach(function (item) {
          item.hidden = !(headMatches || matches(item.dataset.search));
          if (!item.hidden) { shown += 1; }
        });
        group.hidden = !(headMatches || shown);
        var details = group.querySelector("[data-tree-details]");
        if (details && words.length && shown && !headMatches) { details.open = true; }
      });
    });
  }

  pickers();
  tree();
}());
