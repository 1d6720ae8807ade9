// The test's driver (allowed by its own hash, added by the test): clicks
// "Last seen" twice, types in the filter, picks a severity, and writes
// what the open-findings table showed after each step into <pre id=selftest>.
(function () {
  var out = {};
  var body = document.querySelector("#open-findings tbody");
  var last = function () {
    return Array.prototype.map.call(body.rows, function (r) {
      return +r.cells[7].getAttribute("data-sort");
    });
  };
  var shown = function () {
    return Array.prototype.filter
      .call(body.rows, function (r) {
        return !r.hidden;
      })
      .map(function (r) {
        return r.cells[1].textContent + " " + r.cells[0].textContent;
      });
  };
  var th = document.getElementById("th-last");
  th.click();
  out.first = last();
  out.firstSort = th.getAttribute("aria-sort");
  th.click();
  out.second = last();
  out.secondSort = th.getAttribute("aria-sort");
  var f = document.getElementById("open-filter");
  f.value = "BETA";
  f.dispatchEvent(new Event("input"));
  out.typed = shown();
  var sev = document.getElementById("open-sev");
  sev.value = "sev:critical";
  sev.dispatchEvent(new Event("change"));
  out.critical = shown();
  out.count = document.getElementById("open-findings-shown").textContent;
  var pre = document.createElement("pre");
  pre.id = "selftest";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
