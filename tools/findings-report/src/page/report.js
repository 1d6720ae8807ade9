// findings-report's only script, allowed by its SHA-256 in the page's
// Content-Security-Policy. It sorts a table when a column header is
// clicked and hides the rows that do not match the filters; the page
// reads the same without it.
(function () {
  "use strict";
  var doc = document;
  doc.documentElement.setAttribute("data-js", "on");

  function value(row, col, type) {
    var cell = row.cells[col];
    var v = cell ? cell.getAttribute("data-sort") || cell.textContent : "";
    if (type === "num") {
      var n = parseFloat(v);
      return isNaN(n) ? -Infinity : n;
    }
    return v.toLowerCase();
  }

  function sortBy(th) {
    var table = th.closest("table");
    var body = table.tBodies[0];
    var col = th.cellIndex;
    var type = th.getAttribute("data-type");
    var was = th.getAttribute("aria-sort");
    var first = type === "num" ? "descending" : "ascending";
    var dir = was ? (was === "ascending" ? "descending" : "ascending") : first;
    var sign = dir === "ascending" ? 1 : -1;
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, col, type);
      var y = value(b, col, type);
      return x < y ? -sign : x > y ? sign : 0;
    });
    rows.forEach(function (r) {
      body.appendChild(r);
    });
    table.querySelectorAll("th[aria-sort]").forEach(function (h) {
      h.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", dir);
  }

  doc.querySelectorAll("table.sortable th[data-type]").forEach(function (th) {
    th.tabIndex = 0;
    th.addEventListener("click", function () {
      sortBy(th);
    });
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        sortBy(th);
      }
    });
  });

  function applyFilters(tableId) {
    var table = doc.getElementById(tableId);
    var controls = doc.querySelectorAll("[data-table='" + tableId + "']");
    var text = "";
    var wants = [];
    controls.forEach(function (c) {
      if (c.tagName === "INPUT") {
        text = c.value.trim().toLowerCase();
      } else if (c.value) {
        var i = c.value.indexOf(":");
        wants.push(["data-" + c.value.slice(0, i), c.value.slice(i + 1)]);
      }
    });
    var shown = 0;
    Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
      var ok = !text || r.textContent.toLowerCase().indexOf(text) >= 0;
      wants.forEach(function (w) {
        ok = ok && r.getAttribute(w[0]) === w[1];
      });
      r.hidden = !ok;
      shown += ok ? 1 : 0;
    });
    var count = doc.getElementById(tableId + "-shown");
    if (count) {
      count.textContent = shown + " of " + table.tBodies[0].rows.length + " rows shown";
    }
  }

  doc.querySelectorAll("[data-table]").forEach(function (c) {
    var id = c.getAttribute("data-table");
    c.addEventListener(c.tagName === "INPUT" ? "input" : "change", function () {
      applyFilters(id);
    });
  });
  doc.querySelectorAll(".controls[hidden]").forEach(function (c) {
    c.hidden = false;
  });
})();
