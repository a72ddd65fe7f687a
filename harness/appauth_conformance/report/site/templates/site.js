(function () {
  "use strict";
  function byId(id) { return document.getElementById(id); }
  function filterMatrix() {
    var g = byId("f-group").value, l = byId("f-language").value, m = byId("f-mode").value;
    var rows = document.querySelectorAll("#matrix tbody tr.impl");
    var shown = 0, groupsShown = {};
    rows.forEach(function (r) {
      var ok = (!g || r.dataset.group === g) && (!l || r.dataset.language === l);
      r.classList.toggle("hidden", !ok);
      if (ok) { shown += 1; groupsShown[r.dataset.group] = true; }
    });
    document.querySelectorAll("#matrix tbody tr.grouphead").forEach(function (h) {
      h.classList.toggle("hidden", !groupsShown[h.dataset.group]);
    });
    document.querySelectorAll("#matrix [data-mode]").forEach(function (c) {
      c.classList.toggle("hidden", !!m && c.dataset.mode !== m);
    });
    byId("shown").textContent = shown + " of " + rows.length + " implementations shown";
  }
  function compareVersions() {
    var data = JSON.parse(byId("history-data").textContent);
    var a = data.versions[byId("from").value], b = data.versions[byId("to").value];
    var out = byId("changes");
    out.textContent = "";
    var n = 0;
    data.keys.forEach(function (k, i) {
      var x = a.codes.charAt(i), y = b.codes.charAt(i);
      if (x === y) { return; }
      n += 1;
      var li = document.createElement("li");
      var link = document.createElement("a");
      link.href = "../vector/" + data.pages[i] + ".html";
      link.textContent = k;
      li.appendChild(link);
      li.appendChild(document.createTextNode(": " + data.labels[x] + " \u2192 " + data.labels[y]));
      out.appendChild(li);
    });
    byId("changes-count").textContent = n + " vector(s) changed verdict between " + a.v + " and " + b.v + ".";
  }
  if (byId("matrix")) {
    ["f-group", "f-language", "f-mode"].forEach(function (id) { byId(id).addEventListener("change", filterMatrix); });
    filterMatrix();
  }
  if (byId("history-data")) {
    byId("from").addEventListener("change", compareVersions);
    byId("to").addEventListener("change", compareVersions);
    compareVersions();
  }
  window.__siteReady = true;
})();
