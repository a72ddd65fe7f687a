/* report.html behaviour: matrix, filters, outcome lists and the per-vector drill-down.
   Data: #report-data (see appauth_conformance/report/html.py for its layout). No network, no framework;
   every value from the data reaches the page through textContent, never innerHTML. */
(function () {
  "use strict";

  var T0 = performance.now();
  var D = JSON.parse(document.getElementById("report-data").textContent);
  var timings = window.__reportTimings = { script_start: T0, parsed: performance.now() };
  var NV = D.vec.id.length, NR = D.runners.length;
  var CODES = "PFKUXS.";
  // verdict, label, plural and short label by code: from report/views.py, the one place (html.py `labels`)
  var NAME = {}, LABEL = {}, PLURAL = {}, SHORT = {}, BYNAME = {};
  Object.keys(D.labels).forEach(function (c) {
    NAME[c] = D.labels[c].name; LABEL[c] = D.labels[c].label; PLURAL[c] = D.labels[c].plural; SHORT[c] = D.labels[c].short;
    if (c !== ".") BYNAME[NAME[c]] = c;
  });
  // the fields of the payload's rows by name (html.py KEYS): IN inputs, AN anom, OUT out, DIF difference
  function fields(names) { var o = {}; names.forEach(function (n, i) { o[n] = i; }); return o; }
  var IN = fields(D.keys.inputs), AN = fields(D.keys.anom), OUT = fields(D.keys.out), DIF = fields(D.keys.difference);
  var SEV = { U: 0, F: 1, X: 2, K: 3, S: 4, P: 5, ".": 6 };
  var PAGE_MANY = 20, PAGE_ONE = 100, MORE = 100;

  var state = { group: "file", mode: "", flag: "", runner: "", verdict: "anomalies", q: "", cell: null, reason: null };
  var shown = {};  // runner index -> rows shown in its list
  var anomIndex = [];  // runner index -> Int32Array(vector -> index in D.anom[r]), built lazily

  // ------------------------------------------------------------------ helpers
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function safeEl(tag, cls, s) {  // like el(), with unsafe characters shown as escapes
    var e = el(tag, cls);
    appendText(e, String(s));
    return e;
  }
  function fmt(n) { return n.toLocaleString("en-US"); }
  function key(vi) { return D.modes[D.vec.mode[vi]] + "/" + D.vec.id[vi]; }
  function chip(code, text) { return el("span", "chip v-" + NAME[code].replace(" ", "-"), text); }

  var codeIdxCache = [];
  function codeIdx(r) {  // the verdict codes of runner r as indexes into CODES
    if (!codeIdxCache[r]) {
      var s = D.codes[r], a = new Uint8Array(NV), map = {};
      for (var c = 0; c < CODES.length; c++) map[CODES.charCodeAt(c)] = c;
      for (var i = 0; i < NV; i++) a[i] = map[s.charCodeAt(i)];
      codeIdxCache[r] = a;
    }
    return codeIdxCache[r];
  }
  function anomOf(r, vi) {
    if (!anomIndex[r]) {
      var idx = new Int32Array(NV).fill(-1), rows = D.anom[r];
      for (var i = 0; i < rows.length; i++) idx[rows[i][AN.vector]] = i;
      anomIndex[r] = idx;
    }
    var j = anomIndex[r][vi];
    return j < 0 ? null : { j: j, row: D.anom[r][j] };
  }

  // Unsafe characters are shown as escapes (styled spans): controls, invisible and bidi
  // characters, lone surrogates. Everything goes through text nodes.
  function unsafe(c) {
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0xad || (c >= 0x200b && c <= 0x200f) ||
      (c >= 0x2028 && c <= 0x202e) || (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x2069) || c === 0xfeff;
  }
  function hex4(c) { return ("000" + c.toString(16)).slice(-4); }
  function escName(c) {
    if (c === 10) return "\\n";
    if (c === 13) return "\\r";
    if (c === 9) return "\\t";
    return "\\u" + hex4(c);
  }
  function appendText(parent, s, limit) {
    var n = Math.min(s.length, limit || s.length), run = "";
    for (var i = 0; i < n; i++) {
      var c = s.charCodeAt(i), bad = unsafe(c);
      if (c >= 0xd800 && c <= 0xdbff) {
        var d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
        if (d >= 0xdc00 && d <= 0xdfff) { run += s[i] + s[i + 1]; i++; continue; }
        bad = true;
      } else if (c >= 0xdc00 && c <= 0xdfff) {
        bad = true;  // a low surrogate not preceded by a high one (pairs are consumed above)
      }
      if (bad) {
        if (run) { parent.appendChild(document.createTextNode(run)); run = ""; }
        parent.appendChild(el("span", "esc", escName(c)));
      } else {
        run += s[i];
      }
    }
    if (run) parent.appendChild(document.createTextNode(run));
    return n < s.length;
  }
  function fromUtf16(units) {
    var out = "", parts = units.split(" ");
    for (var i = 0; i < parts.length; i++) if (parts[i]) out += String.fromCharCode(parseInt(parts[i], 16));
    return out;
  }
  // A text value in the notation of results.json -> a <span class="val">.
  function valueNode(v, limit) {
    limit = limit || 2000;
    var span = el("span", "val");
    if (v === null || v === undefined) { span.className = "val none"; span.textContent = "(none)"; return span; }
    if (typeof v === "number") { span.textContent = String(v); return span; }
    if (typeof v === "string") {
      if (v === "") { span.className = "val none"; span.textContent = "(empty)"; return span; }
      if (appendText(span, v, limit)) {
        var more = el("button", "linkish more-text", "… show all " + fmt(v.length) + " chars");
        more.type = "button";
        more.addEventListener("click", function (ev) {
          ev.stopPropagation();
          span.textContent = "";
          appendText(span, v);
        });
        span.appendChild(more);
      }
      return span;
    }
    if (v.utf16 !== undefined) { var s = fromUtf16(v.utf16); span.appendChild(valueNode(s, limit)); span.title = "UTF-16: " + v.utf16.slice(0, 200); return span; }
    if (v.truncated !== undefined) {
      appendText(span, v.truncated, limit);
      span.appendChild(el("span", "note", " … cut in results.json: " + fmt(v.length) + " chars in all"));
      return span;
    }
    if (v.repeat !== undefined) {
      if (v.prefix) appendText(span, v.prefix, limit);
      var rep = el("span", "rep");
      appendText(rep, v.repeat);
      rep.appendChild(document.createTextNode(" × " + fmt(v.count)));
      rep.title = "the character repeated " + fmt(v.count) + " times";
      span.appendChild(rep);
      if (v.suffix) appendText(span, v.suffix, limit);
      return span;
    }
    span.textContent = JSON.stringify(v);
    return span;
  }

  // ------------------------------------------------------------------ filters
  function verdictOk(code) {
    switch (state.verdict) {
      case "": return code !== ".";
      case "anomalies": return code !== "P" && code !== ".";
      case "failing": return code === "F" || code === "U" || code === "X";
      default: return code === BYNAME[state.verdict];
    }
  }
  function groupsOf(vi, g) {
    if (g === "flag") return D.vec.flags[vi];
    return [g === "mode" ? D.vec.mode[vi] : D.vec.file[vi]];
  }
  function groupNames(g) { return g === "flag" ? D.flags : g === "mode" ? D.modes : D.files; }
  function groupLabel(g) { return g === "flag" ? "flag" : g === "mode" ? "mode" : "family"; }
  var flagIdx = -1, modeIdx = -1;
  function vecBase() {  // vectors passing the mode, flag and search filters (the matrix input)
    var ok = new Uint8Array(NV), q = state.q.toLowerCase();
    modeIdx = state.mode ? D.modes.indexOf(state.mode) : -1;
    flagIdx = state.flag ? D.flags.indexOf(state.flag) : -1;
    for (var vi = 0; vi < NV; vi++) {
      if (modeIdx >= 0 && D.vec.mode[vi] !== modeIdx) continue;
      if (flagIdx >= 0 && D.vec.flags[vi].indexOf(flagIdx) < 0) continue;
      if (q && key(vi).toLowerCase().indexOf(q) < 0) continue;
      ok[vi] = 1;
    }
    return ok;
  }
  function runnersShown() {
    var out = [];
    for (var r = 0; r < NR; r++) {
      if (state.runner && D.runners[r].name !== state.runner) continue;
      if (state.cell && state.cell.r !== r) continue;
      out.push(r);
    }
    return out;
  }

  // ------------------------------------------------------------------ matrix
  function renderMatrix(base) {
    var g = state.group, names = groupNames(g), G = names.length, runners = [];
    for (var r = 0; r < NR; r++) if (!state.runner || D.runners[r].name === state.runner) runners.push(r);
    var cnt = new Int32Array(G * NR * 7), vcount = new Int32Array(G);
    var gs, k;
    for (var vi = 0; vi < NV; vi++) {
      if (!base[vi]) continue;
      gs = groupsOf(vi, g);
      for (k = 0; k < gs.length; k++) vcount[gs[k]]++;
    }
    var col = g === "mode" ? D.vec.mode : g === "file" ? D.vec.file : null;
    for (var ri = 0; ri < runners.length; ri++) {
      var rr = runners[ri], ci = codeIdx(rr);
      if (col) {  // one group per vector: no per-vector allocation
        for (vi = 0; vi < NV; vi++) if (base[vi]) cnt[(col[vi] * NR + rr) * 7 + ci[vi]]++;
        continue;
      }
      for (vi = 0; vi < NV; vi++) {
        if (!base[vi]) continue;
        gs = D.vec.flags[vi];
        for (k = 0; k < gs.length; k++) cnt[(gs[k] * NR + rr) * 7 + ci[vi]]++;
      }
    }
    var table = $("matrix");
    table.textContent = "";
    var thead = el("thead"), hr = el("tr");
    hr.appendChild(el("th", "corner", groupLabel(g)));
    hr.appendChild(el("th", "num", "vectors"));
    runners.forEach(function (r) {
      var th = el("th", "rh");
      th.appendChild(el("span", null, D.runners[r].name));
      th.title = D.runners[r].name + (D.runners[r].library ? " · " + D.runners[r].library + " " + (D.runners[r].library_version || "") : "");
      hr.appendChild(th);
    });
    thead.appendChild(hr);
    table.appendChild(thead);
    var tbody = el("tbody"), rows = 0, totals = new Int32Array(NR * 7);
    for (var gi = 0; gi < G; gi++) {
      if (!vcount[gi]) continue;
      var any = false;
      for (ri = 0; ri < runners.length && !any; ri++) {
        for (var c = 0; c < 7; c++) if (cnt[(gi * NR + runners[ri]) * 7 + c] && verdictOk(CODES[c])) { any = true; break; }
      }
      if (!any) continue;
      rows++;
      var tr = el("tr");
      var th = el("th", "gh", names[gi]);
      if (g === "flag" && D.notes[gi]) th.title = D.notes[gi];
      tr.appendChild(th);
      tr.appendChild(el("td", "num muted", fmt(vcount[gi])));
      runners.forEach(function (r) {
        var base7 = (gi * NR + r) * 7, counts = [];
        for (var c = 0; c < 7; c++) { counts.push(cnt[base7 + c]); totals[r * 7 + c] += cnt[base7 + c]; }
        tr.appendChild(matrixCell(counts, gi, r));
      });
      tbody.appendChild(tr);
    }
    table.appendChild(tbody);
    if (rows) {
      var tfoot = el("tfoot"), fr = el("tr");
      fr.appendChild(el("th", "gh", "all shown"));
      var vt = 0;
      for (vi = 0; vi < NV; vi++) vt += base[vi];
      fr.appendChild(el("td", "num muted", fmt(vt)));
      runners.forEach(function (r) {
        var counts = [];
        for (var c = 0; c < 7; c++) counts.push(totals[r * 7 + c]);
        fr.appendChild(matrixCell(counts, -1, r));
      });
      tfoot.appendChild(fr);
      table.appendChild(tfoot);
    } else {
      var er = el("tr"), td = el("td", "empty", "No outcome matches the filters.");
      td.colSpan = runners.length + 2;
      er.appendChild(td);
      tbody.appendChild(er);
    }
    $("matrix-note").textContent = "· " + rows + " " + (g === "file" ? (rows === 1 ? "family" : "families") : groupLabel(g) + (rows === 1 ? "" : "s")) +
      " × " + runners.length + " runner" + (runners.length === 1 ? "" : "s");
  }
  function matrixCell(counts, gi, r) {
    // counts: P F K U X S . ; total excludes not-run
    var total = counts[0] + counts[1] + counts[2] + counts[3] + counts[4] + counts[5];
    var failing = counts[1] + counts[3] + counts[4], match = 0;
    for (var c = 0; c < 7; c++) if (verdictOk(CODES[c])) match += counts[c];
    var td = el("td", "cell");
    if (!total) { td.className = "cell c-empty"; td.textContent = "—"; return td; }
    td.className = "cell " + (failing ? "c-bad" : counts[2] ? "c-known" : counts[5] && !counts[0] ? "c-skip" : counts[5] ? "c-known" : "c-good") +
      (match ? "" : " dim") + (state.cell && state.cell.g === gi && state.cell.r === r ? " selected" : "");
    var main = el("span", "frac");
    main.appendChild(el("b", null, fmt(counts[0])));
    main.appendChild(document.createTextNode("/" + fmt(total)));
    td.appendChild(main);
    var chips = el("span", "mini");
    [1, 3, 4, 2, 5].forEach(function (c) {
      if (counts[c]) chips.appendChild(el("span", "m v-" + NAME[CODES[c]], fmt(counts[c]) + " " + SHORT[CODES[c]]));
    });
    if (chips.childNodes.length) td.appendChild(chips);
    var tip = [];
    for (c = 0; c < 6; c++) if (counts[c]) tip.push(fmt(counts[c]) + " " + LABEL[CODES[c]]);
    td.title = D.runners[r].name + (gi >= 0 ? " × " + groupNames(state.group)[gi] : "") + ": " + tip.join(", ") + (gi >= 0 ? " — click to list" : "");
    if (gi >= 0) {
      td.tabIndex = 0;
      td.dataset.g = gi; td.dataset.r = r;
    }
    return td;
  }

  // ------------------------------------------------------------------ lists
  function inCell(vi) {
    if (!state.cell) return true;
    return groupsOf(vi, state.group).indexOf(state.cell.g) >= 0;
  }
  function listRows(r, base) {
    var codes = D.codes[r], ci = codeIdx(r), rows = [], ok = [];
    for (var c = 0; c < CODES.length; c++) ok.push(verdictOk(CODES[c]));
    for (var vi = 0; vi < NV; vi++) {
      if (!base[vi] || !ok[ci[vi]] || (state.cell && !inCell(vi))) continue;
      if (state.reason !== null) {
        var a = anomOf(r, vi);
        if (!a || D.reasons[a.row[AN.reason]] !== state.reason) continue;
      }
      rows.push(vi);
    }
    var sev = [];
    for (c = 0; c < CODES.length; c++) sev.push(SEV[CODES[c]]);
    rows.sort(function (x, y) { return sev[ci[x]] - sev[ci[y]] || x - y; });
    return rows;
  }
  function renderLists(base) {
    var list = $("list"), runners = runnersShown(), total = 0;
    list.textContent = "";
    var page = runners.length > 1 ? PAGE_MANY : PAGE_ONE, empty = [];
    var lists = runners.map(function (r) { return { r: r, rows: listRows(r, base) }; });
    // runners whose first (most severe) row fails the run come first; otherwise registry order
    lists.sort(function (a, b) { return failingFirst(a) - failingFirst(b) || a.r - b.r; });
    function failingFirst(x) { var c = x.rows.length ? D.codes[x.r][x.rows[0]] : "P"; return c === "U" || c === "F" || c === "X" ? 0 : 1; }
    lists.forEach(function (item) {
      var r = item.r, rows = item.rows;
      total += rows.length;
      var sec = el("section", "runner-list");
      sec.dataset.runner = D.runners[r].name;
      var h = el("h3");
      h.appendChild(el("span", "rname", D.runners[r].name));
      var tally = {}, codes = D.codes[r];
      for (var i = 0; i < rows.length; i++) { var c = codes[rows[i]]; tally[c] = (tally[c] || 0) + 1; }
      "UFXKSP".split("").forEach(function (c) { if (tally[c]) h.appendChild(chip(c, fmt(tally[c]) + " " + (tally[c] === 1 ? LABEL[c] : PLURAL[c]))); });
      if (!rows.length) { empty.push(r); return; }
      sec.appendChild(h);
      if (tally.K) sec.appendChild(reasonSummary(r, rows));
      if (rows.length) {
        var table = el("table", "outcomes"), tb = el("tbody");
        var n = Math.min(rows.length, shown[r] || page);
        for (i = 0; i < n; i++) tb.appendChild(outcomeRow(r, rows[i]));
        table.appendChild(tb);
        sec.appendChild(table);
        if (rows.length > n) {
          var more = el("button", "more", "Show " + fmt(Math.min(MORE, rows.length - n)) + " more (" + fmt(rows.length - n) + " not shown)");
          more.type = "button";
          more.addEventListener("click", function () { shown[r] = n + MORE; render(false); });
          sec.appendChild(more);
        }
      }
      list.appendChild(sec);
    });
    if (empty.length) {
      var p = el("p", "none-match");
      p.appendChild(el("span", "muted", (empty.length === runners.length ? "No outcome matches the filters" : "Nothing matches for") + (empty.length ? ": " : "")));
      empty.forEach(function (r, i) {
        var b = el("span", "rn", D.runners[r].name + (D.runners[r].unavailable ? " (unavailable)" : ""));
        if (D.runners[r].unavailable) b.title = D.runners[r].unavailable;
        p.appendChild(b);
        if (i < empty.length - 1) p.appendChild(document.createTextNode(", "));
      });
      list.appendChild(p);
    }
    $("list-note").textContent = "· " + fmt(total) + " matching outcome" + (total === 1 ? "" : "s");
  }
  function reasonSummary(r, rows) {
    var by = {}, order = [];
    rows.forEach(function (vi) {
      if (D.codes[r][vi] !== "K") return;
      var a = anomOf(r, vi), reason = a && a.row[AN.reason] >= 0 ? D.reasons[a.row[AN.reason]] : "(no reason given)";
      if (!by[reason]) { by[reason] = 0; order.push(reason); }
      by[reason]++;
    });
    order.sort(function (a, b) { return by[b] - by[a]; });
    var box = el("div", "reasons");
    box.appendChild(el("span", "reasons-title", "Known divergences by reason"));
    var ul = el("ul");
    order.forEach(function (reason) {
      var li = el("li");
      li.appendChild(el("b", "count", fmt(by[reason]) + "×"));
      var b = safeEl("button", "linkish", reason);
      b.type = "button";
      b.title = "List only the outcomes with this reason";
      b.addEventListener("click", function () { state.reason = reason; state.verdict = "known-divergence"; syncControls(); render(true); });
      li.appendChild(b);
      ul.appendChild(li);
    });
    box.appendChild(ul);
    return box;
  }
  function outcomeRow(r, vi) {
    var code = D.codes[r][vi], tr = el("tr", "row v-" + NAME[code]);
    tr.tabIndex = 0;
    tr.dataset.v = vi; tr.dataset.r = r;
    var td = el("td", "vcell");
    td.appendChild(chip(code, LABEL[code]));
    tr.appendChild(td);
    var idc = el("td", "vid");
    idc.appendChild(el("code", null, key(vi)));
    idc.title = key(vi);
    tr.appendChild(idc);
    tr.appendChild(el("td", "fam muted", D.files[D.vec.file[vi]]));
    var wtd = el("td", "what"), what = el("div", "what-in");
    wtd.appendChild(what);
    var a = code === "P" || code === "." ? null : anomOf(r, vi);
    if (a) {
      var row = a.row;
      if (row[AN.stage] >= 0) what.appendChild(el("span", "stage", D.stages[row[AN.stage]]));
      if (row[AN.error_type] >= 0) what.appendChild(safeEl("code", "etype", D.errtypes[row[AN.error_type]]));
      if (row[AN.diagnosis].length) {
        row[AN.diagnosis].slice(0, 2).forEach(function (d) {
          var s = el("span", "diag", D.diag[d][1]);
          s.title = D.diag[d][0];
          what.appendChild(s);
        });
        if (row[AN.diagnosis].length > 2) what.appendChild(el("span", "muted", "+" + (row[AN.diagnosis].length - 2)));
      }
      if (row[AN.reason] >= 0) { var rs = safeEl("span", "reason", D.reasons[row[AN.reason]]); rs.title = D.reasons[row[AN.reason]]; what.appendChild(rs); }
    } else if (code === "P") {
      what.appendChild(el("span", "muted", "output equals expected"));
    }
    tr.appendChild(wtd);
    var fl = el("td", "flags");
    D.vec.flags[vi].slice(0, 4).forEach(function (f) { fl.appendChild(el("span", "flag", D.flags[f])); });
    tr.appendChild(fl);
    return tr;
  }

  // ------------------------------------------------------------------ drill-down
  var detailPromise = null;
  function loadDetail() {
    if (detailPromise) return detailPromise;
    if (D.detail) { detailPromise = Promise.resolve(D.detail); return detailPromise; }
    if (document.readyState === "loading") {  // the data block follows this script: wait until it is read
      detailPromise = new Promise(function (resolve) {
        document.addEventListener("DOMContentLoaded", function () { detailPromise = null; resolve(loadDetail()); });
      });
      return detailPromise;
    }
    var node = $("report-detail");
    if (!node) { detailPromise = Promise.reject(new Error("no detail data in this report")); return detailPromise; }
    if (typeof DecompressionStream === "undefined") {
      detailPromise = Promise.reject(new Error("this browser cannot inflate the embedded detail data (no DecompressionStream); use a current browser"));
      return detailPromise;
    }
    var bin = atob(node.textContent.trim()), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    detailPromise = new Response(stream).text().then(function (t) { window.__reportDetailReady = true; return JSON.parse(t); });
    return detailPromise;
  }
  var openVi = -1, focusR = -1;
  function openVector(vi, r) {
    openVi = vi; focusR = r === undefined ? -1 : r;
    var drawer = $("drawer"), body = $("drawer-body");
    drawer.hidden = false;
    document.body.classList.add("drawer-open");
    $("drawer-title").textContent = key(vi);
    body.textContent = "";
    body.appendChild(el("p", "muted", "Loading…"));
    updateHash();
    loadDetail().then(function (detail) {
      if (openVi !== vi) return;
      body.textContent = "";
      fillDrawer(body, detail, vi, focusR);
      body.scrollTop = 0;
    }, function (err) {
      body.textContent = "";
      body.appendChild(el("p", "banner warn", String(err && err.message || err)));
    });
  }
  function closeDrawer() {
    openVi = -1;
    $("drawer").hidden = true;
    document.body.classList.remove("drawer-open");
    updateHash();
  }
  function kv(dl, name, node) {
    dl.appendChild(el("dt", null, name));
    var dd = el("dd");
    dd.appendChild(node);
    dl.appendChild(dd);
  }
  function fillDrawer(body, detail, vi, fr) {
    var inp = detail.inputs[vi];  // fields IN
    var head = el("div", "vhead");
    head.appendChild(el("span", "badge result-" + inp[IN.result], inp[IN.result]));
    head.appendChild(el("span", "badge", D.modes[D.vec.mode[vi]]));
    head.appendChild(el("span", "where", inp[IN.file] + ":" + inp[IN.line]));
    body.appendChild(head);
    if (inp[IN.description]) body.appendChild(el("p", "desc", inp[IN.description]));
    var flags = el("div", "vflags");
    D.vec.flags[vi].forEach(function (f) {
      var s = el("span", "flag", D.flags[f]);
      if (D.notes[f]) s.title = D.notes[f];
      flags.appendChild(s);
    });
    body.appendChild(flags);
    var notes = el("ul", "notes");
    D.vec.flags[vi].forEach(function (f) { if (D.notes[f]) { var li = el("li"); li.appendChild(el("b", null, D.flags[f] + ": ")); li.appendChild(document.createTextNode(D.notes[f])); notes.appendChild(li); } });
    if (notes.childNodes.length) body.appendChild(notes);

    body.appendChild(el("h4", null, "Inputs"));
    var dl = el("dl", "kv");
    ["app_id", "corp_id", "user_id", "expire_time", "nonce", "app_key"].forEach(function (name) { kv(dl, name, valueNode(inp[IN[name]])); });
    body.appendChild(dl);
    body.appendChild(el("h4", null, "Expected"));
    dl = el("dl", "kv");
    kv(dl, "string_to_sign", valueNode(inp[IN.string_to_sign]));
    kv(dl, "signature", inp[IN.signature] === null ? el("span", "val none", inp[IN.result] === "valid" ? "(none)" : "a refusal (an error)") : valueNode(inp[IN.signature]));
    if (inp[IN.result] === "acceptable") kv(dl, "or", el("span", "val none", "a refusal (an error)"));
    body.appendChild(dl);

    body.appendChild(el("h4", null, "Runners"));
    var order = [];
    for (var r = 0; r < NR; r++) order.push(r);
    order.sort(function (a, b) { return (a === fr ? -1 : 0) - (b === fr ? -1 : 0) || SEV[D.codes[a][vi]] - SEV[D.codes[b][vi]] || a - b; });
    var passes = [], notRun = [];
    order.forEach(function (r) {
      var code = D.codes[r][vi];
      if (code === "P") { passes.push(D.runners[r].name); return; }
      if (code === ".") { notRun.push(D.runners[r].name); return; }
      body.appendChild(runnerBlock(detail, vi, r, code, r === fr));
    });
    if (passes.length) {
      var p = el("div", "rblock pass-line");
      p.appendChild(chip("P", LABEL.P));
      p.appendChild(document.createTextNode(" " + passes.join(", ") + " — output equals the expected values"));
      body.appendChild(p);
    }
    if (notRun.length) body.appendChild(el("div", "rblock muted", "not run or unsupported: " + notRun.join(", ")));
  }
  function runnerBlock(detail, vi, r, code, focused) {
    var box = el("div", "rblock" + (focused ? " focused" : "")), a = anomOf(r, vi);
    var h = el("div", "rhead");
    h.appendChild(el("b", null, D.runners[r].name));
    h.appendChild(chip(code, LABEL[code]));
    if (a && a.row[AN.stage] >= 0) h.appendChild(el("span", "stage", D.stages[a.row[AN.stage]]));
    box.appendChild(h);
    if (!a) return box;
    var row = a.row, out = detail.out[r][a.j];  // fields OUT
    var dl = el("dl", "kv");
    if (row[AN.reason] >= 0) kv(dl, code === "X" ? "fault" : code === "F" ? "note" : "reason", safeEl("span", "reason-text", D.reasons[row[AN.reason]]));
    if (out[OUT.string_to_sign] !== null) kv(dl, "string_to_sign", valueNode(out[OUT.string_to_sign]));
    if (out[OUT.signature] !== null) kv(dl, "signature", valueNode(out[OUT.signature]));
    if (row[AN.error_type] >= 0 || out[OUT.error] !== null) {
      var e = el("span", "val");
      if (row[AN.error_type] >= 0) e.appendChild(safeEl("code", "etype", D.errtypes[row[AN.error_type]]));
      if (out[OUT.error] !== null) { e.appendChild(document.createTextNode(" ")); appendText(e, out[OUT.error], 2000); }
      kv(dl, "error", e);
    }
    if (out[OUT.fault] !== null && row[AN.reason] >= 0 && D.reasons[row[AN.reason]] !== out[OUT.fault]) kv(dl, "fault", valueNode(out[OUT.fault]));
    if (row[AN.diagnosis].length) {
      var ul = el("ul", "diags");
      row[AN.diagnosis].forEach(function (d) {
        var li = el("li");
        li.appendChild(document.createTextNode(D.diag[d][1] + " "));
        li.appendChild(el("code", null, D.diag[d][0]));
        ul.appendChild(li);
      });
      kv(dl, "diagnosis", ul);
    }
    box.appendChild(dl);
    if (out[OUT.difference]) box.appendChild(hexDiff(out[OUT.difference], D.stages[row[AN.stage]]));
    if (out[OUT.stderr_tail]) {
      var det = el("details", "stderr");
      det.appendChild(el("summary", null, "stderr (last " + fmt(out[OUT.stderr_tail].length) + " chars)"));
      var pre = el("pre");
      appendText(pre, out[OUT.stderr_tail]);
      det.appendChild(pre);
      box.appendChild(det);
    }
    return box;
  }
  function hexDiff(d, stage) {
    // d: [position, byte_offset, context_start, expected_hex, actual_hex, marker, expected_len, actual_len]
    var wrap = el("div", "hexdiff");
    wrap.appendChild(el("div", "hexcap", "First difference in the " + (stage || "value") + " at character " + fmt(d[DIF.position]) +
      ", byte " + fmt(d[DIF.byte_offset]) + " (expected " + fmt(d[DIF.expected_len]) + " chars, actual " + fmt(d[DIF.actual_len]) + ")"));
    var exp = pairs(d[DIF.expected_hex]), act = pairs(d[DIF.actual_hex]), m = d[DIF.marker], width = Math.max(exp.length, act.length, m + 1);
    var table = el("table", "hex");
    var hr = el("tr");
    hr.appendChild(el("th", "lab", "offset"));
    for (var i = 0; i < width; i++) hr.appendChild(el("th", i === m ? "off at" : "off", String(d[DIF.context_start] + i)));
    table.appendChild(hr);
    [["expected", exp], ["actual", act]].forEach(function (pair) {
      var tr = el("tr", "bytes"), tc = el("tr", "chars");
      tr.appendChild(el("th", "lab", pair[0]));
      tc.appendChild(el("th", "lab", ""));
      for (var i = 0; i < width; i++) {
        var b = pair[1][i];
        var td = el("td", i < m ? "eq" : i === m ? "at" : "after");
        var tdc = el("td", td.className);
        if (b === undefined) {
          td.appendChild(i === m ? el("mark", "hl end", "end") : document.createTextNode(""));
        } else if (i === m) {
          td.appendChild(el("mark", "hl", b));
        } else {
          td.textContent = b;
        }
        if (b !== undefined) {
          var c = parseInt(b, 16);
          tdc.textContent = c >= 0x21 && c < 0x7f ? String.fromCharCode(c) : c === 0x20 ? "␠" : "·";
        }
        tr.appendChild(td);
        tc.appendChild(tdc);
      }
      table.appendChild(tr);
      table.appendChild(tc);
    });
    var sc = el("div", "hexscroll");
    sc.appendChild(table);
    wrap.appendChild(sc);
    return wrap;
  }
  function pairs(h) {
    var out = [];
    for (var i = 0; i + 1 < h.length; i += 2) out.push(h.substr(i, 2));
    return out;
  }

  // ------------------------------------------------------------------ state, hash, wiring
  function updateHash() {
    var p = [];
    if (state.group !== "file") p.push("group=" + state.group);
    ["mode", "flag", "runner", "q"].forEach(function (k) { if (state[k]) p.push(k + "=" + encodeURIComponent(state[k])); });
    if (state.verdict !== "anomalies") p.push("verdict=" + (state.verdict || "all"));
    if (openVi >= 0) p.push("v=" + encodeURIComponent(key(openVi)));
    try { history.replaceState(null, "", p.length ? "#" + p.join("&") : location.pathname + location.search); } catch (e) { /* file: URLs in some browsers */ }
  }
  function readHash() {
    var h = location.hash.replace(/^#/, ""), open = null;
    if (!h) return null;
    h.split("&").forEach(function (kvp) {
      var i = kvp.indexOf("="), k = kvp.slice(0, i), v = decodeURIComponent(kvp.slice(i + 1));
      if (k === "group" && ["file", "flag", "mode"].indexOf(v) >= 0) state.group = v;
      else if (k === "verdict") state.verdict = v === "all" ? "" : v;
      else if (k === "v") open = v;
      else if (["mode", "flag", "runner", "q"].indexOf(k) >= 0) state[k] = v;
    });
    return open;
  }
  function option(sel, value, text) { var o = el("option", null, text); o.value = value; sel.appendChild(o); }
  function fillControls() {
    var perMode = new Int32Array(D.modes.length), perFlag = new Int32Array(D.flags.length);
    for (var vi = 0; vi < NV; vi++) {
      perMode[D.vec.mode[vi]]++;
      var fl = D.vec.flags[vi];
      for (var k = 0; k < fl.length; k++) perFlag[fl[k]]++;
    }
    D.modes.forEach(function (m, i) { option($("f-mode"), m, m + " (" + fmt(perMode[i]) + ")"); });
    D.flags.forEach(function (f, i) { option($("f-flag"), f, f + " (" + fmt(perFlag[i]) + ")"); });
    D.runners.forEach(function (r) { option($("f-runner"), r.name, r.name); });
  }
  function syncControls() {
    $("f-group").value = state.group; $("f-mode").value = state.mode; $("f-flag").value = state.flag;
    $("f-runner").value = state.runner; $("f-verdict").value = state.verdict; $("f-search").value = state.q;
    var cards = document.querySelectorAll(".card");
    for (var i = 0; i < cards.length; i++) cards[i].classList.toggle("selected", cards[i].dataset.runner === state.runner);
  }
  function renderActive() {
    var box = $("active");
    box.textContent = "";
    function add(text, clear) {
      var b = el("button", "pill", text + " ✕");
      b.type = "button";
      b.title = "Remove this filter";
      b.addEventListener("click", function () { clear(); syncControls(); render(true); });
      box.appendChild(b);
    }
    if (state.cell) add(groupLabel(state.group) + " " + groupNames(state.group)[state.cell.g] + " × " + D.runners[state.cell.r].name, function () { state.cell = null; });
    if (state.reason !== null) add("reason: " + (state.reason.length > 60 ? state.reason.slice(0, 60) + "…" : state.reason), function () { state.reason = null; });
  }
  function render(resetPages) {
    if (resetPages) shown = {};
    var base = vecBase();
    renderMatrix(base);
    renderLists(base);
    renderActive();
    updateHash();
  }

  function wire() {
    $("f-group").addEventListener("change", function (e) { state.group = e.target.value; state.cell = null; render(true); });
    $("f-mode").addEventListener("change", function (e) { state.mode = e.target.value; render(true); });
    $("f-flag").addEventListener("change", function (e) { state.flag = e.target.value; render(true); });
    $("f-runner").addEventListener("change", function (e) { state.runner = e.target.value; state.cell = null; syncControls(); render(true); });
    $("f-verdict").addEventListener("change", function (e) { state.verdict = e.target.value; if (state.verdict !== "known-divergence") state.reason = null; render(true); });
    var t = null;
    $("f-search").addEventListener("input", function (e) {
      clearTimeout(t);
      t = setTimeout(function () { state.q = e.target.value.trim(); render(true); }, 150);
    });
    $("f-reset").addEventListener("click", function () {
      state = { group: "file", mode: "", flag: "", runner: "", verdict: "anomalies", q: "", cell: null, reason: null };
      syncControls(); render(true);
    });
    var cards = document.querySelectorAll(".card");
    for (var i = 0; i < cards.length; i++) {
      cards[i].addEventListener("click", function () {
        state.runner = state.runner === this.dataset.runner ? "" : this.dataset.runner;
        state.cell = null; syncControls(); render(true);
      });
    }
    function cellClick(target) {
      var td = target.closest("td.cell[data-g]");
      if (!td) return false;
      var g = +td.dataset.g, r = +td.dataset.r;
      state.cell = state.cell && state.cell.g === g && state.cell.r === r ? null : { g: g, r: r };
      if (state.cell && state.verdict && !anyMatch(g, r)) state.verdict = "";
      syncControls(); render(true);
      $("outcomes-h").scrollIntoView({ behavior: "smooth", block: "start" });
      return true;
    }
    function anyMatch(g, r) {
      var codes = D.codes[r];
      for (var vi = 0; vi < NV; vi++) if (groupsOf(vi, state.group).indexOf(g) >= 0 && verdictOk(codes[vi])) return true;
      return false;
    }
    $("matrix").addEventListener("click", function (e) { cellClick(e.target); });
    $("matrix").addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { if (cellClick(e.target)) e.preventDefault(); } });
    function rowOpen(target) {
      if (target.closest("button")) return false;
      var tr = target.closest("tr.row");
      if (!tr) return false;
      openVector(+tr.dataset.v, +tr.dataset.r);
      return true;
    }
    $("list").addEventListener("click", function (e) { rowOpen(e.target); });
    $("list").addEventListener("keydown", function (e) { if (e.key === "Enter") { if (rowOpen(e.target)) e.preventDefault(); } });
    $("drawer-close").addEventListener("click", closeDrawer);
    document.addEventListener("keydown", function (e) { if (e.key === "Escape" && openVi >= 0) closeDrawer(); });
  }

  function fromHash() {  // at load, and when the reader follows a link to another #state
    state = { group: "file", mode: "", flag: "", runner: "", verdict: "anomalies", q: "", cell: null, reason: null };
    var openKey = readHash();
    syncControls();
    render(true);
    if (openKey) {
      for (var vi = 0; vi < NV; vi++) if (key(vi) === openKey) { openVector(vi); return; }
    }
    if (openVi >= 0) closeDrawer();
  }
  fillControls();
  wire();
  fromHash();
  timings.rendered = performance.now();
  window.addEventListener("hashchange", fromHash);
  requestAnimationFrame(function () {
    setTimeout(function () {
      window.__reportReadyAt = performance.now();
      window.__reportReady = true;
      if (!D.detail) setTimeout(function () { loadDetail().catch(function () { /* shown when a vector is opened */ }); }, 0);
    }, 0);
  });
})();
