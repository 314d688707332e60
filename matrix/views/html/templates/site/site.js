/* Every page's script: the navigation bar's height (sticky headers sit below it), the page's state in the
   URL's hash (a cell, the filters: shareable, opened on load) and a keyboard grid per table (one Tab stop,
   arrows move, Home/End go to a row's ends, Enter opens). */
(function () {
  "use strict";
  var nav = document.querySelector("nav.top");
  function navHeight() { if (nav) document.documentElement.style.setProperty("--nav", nav.offsetHeight + "px"); }
  window.addEventListener("resize", navHeight);
  navHeight();

  // The hash is key=value pairs (#cell=...&exporter=dynamo); an old-style anchor (#case-x) is left alone.
  window.matrixHash = {
    get: function () {
      var text = location.hash.slice(1);
      return new URLSearchParams(text.indexOf("=") >= 0 ? text : "");
    },
    set: function (params) {
      var text = params.toString();
      var old = location.hash.slice(1);
      if (!text && old.indexOf("=") < 0) return;  // keep an anchor the page was opened at
      try {
        history.replaceState(null, "", text ? "#" + text : location.pathname + location.search);
      } catch (e) {  // a browser that refuses it (some do on file://): the address keeps the old hash
        return;
      }
    }
  };

  function shown(el) { return !el.closest("[hidden]") && !el.classList.contains("off"); }
  function itemsOf(cell) { return cell ? Array.prototype.filter.call(cell.querySelectorAll("[data-cell]"), shown)
                                          .concat(cell.matches("[data-cell]") && shown(cell) ? [cell] : []) : []; }
  function rowsOf(table) { return Array.prototype.filter.call(table.tBodies[0] ? table.tBodies[0].rows : [], function (r) { return !r.hidden; }); }

  function across(el, table, step) {
    var cell = el.closest("td, th"), row = cell.parentElement, at = Array.prototype.indexOf.call(itemsOf(cell), el);
    for (var i = cell.cellIndex + step; i >= 0 && i < row.cells.length; i += step) {
      var items = itemsOf(row.cells[i]);
      if (items.length) return items[Math.min(at, items.length - 1)];
    }
    return null;
  }
  function along(el, table, step) {
    var cell = el.closest("td, th"), items = itemsOf(cell), at = items.indexOf(el);
    if (items[at + step]) return items[at + step];
    var rows = rowsOf(table), r = rows.indexOf(cell.parentElement);
    for (var i = r + step; i >= 0 && i < rows.length; i += step) {
      var found = itemsOf(rows[i].cells[cell.cellIndex]);
      if (found.length) return step > 0 ? found[0] : found[found.length - 1];
    }
    return null;
  }
  function ends(el, last) {
    var row = el.closest("tr"), all = Array.prototype.filter.call(row.querySelectorAll("[data-cell]"), shown);
    return all.length ? all[last ? all.length - 1 : 0] : null;
  }

  // A table whose cells carry data-cell is one Tab stop: the current cell has tabindex 0, the others -1.
  window.matrixGrid = function (table) {
    var current = null;
    function make(el) {
      if (current && current !== el) current.tabIndex = -1;
      current = el; el.tabIndex = 0;
    }
    function reset() {
      if (current && shown(current)) return;
      var first = Array.prototype.find.call(table.querySelectorAll("[data-cell]"), shown);
      if (first) make(first);
    }
    Array.prototype.forEach.call(table.querySelectorAll("[data-cell]"), function (el) { el.tabIndex = -1; });
    reset();
    table.addEventListener("focusin", function (e) { var el = e.target.closest("[data-cell]"); if (el) make(el); });
    table.addEventListener("keydown", function (e) {
      var el = e.target.closest("[data-cell]");
      if (!el) return;
      var next = null;
      if (e.key === "ArrowRight") next = across(el, table, 1);
      else if (e.key === "ArrowLeft") next = across(el, table, -1);
      else if (e.key === "ArrowDown") next = along(el, table, 1);
      else if (e.key === "ArrowUp") next = along(el, table, -1);
      else if (e.key === "Home") next = ends(el, false);
      else if (e.key === "End") next = ends(el, true);
      else if ((e.key === "Enter" || e.key === " ") && el.tagName !== "A") { e.preventDefault(); el.click(); return; }
      else return;
      e.preventDefault();
      if (next) { make(next); next.focus(); }
    });
    return { reset: reset, focus: function (el) { make(el); el.focus(); } };
  };
  Array.prototype.forEach.call(document.querySelectorAll("table[data-grid]"), function (table) {
    table.matrixGrid = window.matrixGrid(table);
  });
  // a history's "only what changed" box: <input type="checkbox" data-only-changed="TABLE-ID">
  Array.prototype.forEach.call(document.querySelectorAll("input[data-only-changed]"), function (box) {
    box.addEventListener("change", function () {
      var rows = document.querySelectorAll("#" + box.getAttribute("data-only-changed") + " tbody tr");
      Array.prototype.forEach.call(rows, function (tr) { tr.hidden = box.checked && !tr.hasAttribute("data-changed"); });
    });
  });
})();
