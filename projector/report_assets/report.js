// The example browser of a projector report: one page of rows at a time, filters, search.
// Every text from the data goes into the DOM with createTextNode / textContent, never as HTML.
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("projector-data").textContent);
  var PAGE = 25;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function hint(p, extra) {
    var parts = [p.l, p.st];
    if (p.r) parts.push(p.r);
    if (p.sc !== undefined) parts.push("score " + p.sc);
    if (extra) parts.push(extra);
    return parts.join(" · ");
  }

  // The projections of a record as marks: [{s, e, l, st, title, k, cls}] on the source or target side.
  function marks(rec, side) {
    var out = [];
    function add(p, k, cls, extra) {
      var s = side === "src" ? p.s : p.ts, e = side === "src" ? p.e : p.te;
      if (s === undefined || e === undefined || e <= s) return;
      var other = side === "src" ? (p.ts !== undefined ? rec.tgt.slice(p.ts, p.te) : "(not projected)")
                                 : rec.src.slice(p.s, p.e);
      out.push({s: s, e: e, l: p.l, st: p.st, k: k, cls: cls, title: hint(p, extra) + " · " +
                (side === "src" ? "→ " : "← ") + other});
    }
    rec.spans.forEach(function (p, i) { add(p, "s" + i, ""); });
    (rec.events || []).forEach(function (ev, i) {
      add(ev.tr, "t" + i, "trigger", "trigger of " + ev.type);
      ev.args.forEach(function (a, j) {
        if (a.ent === undefined) add(a, "a" + i + "." + j, "", "argument " + a.role);
      });
    });
    return out;
  }

  // Text with nested <mark>s (a span crossing another is cut at the other's end).
  function markedText(text, items) {
    items = items.slice().sort(function (a, b) { return a.s - b.s || b.e - a.e; });
    var root = document.createDocumentFragment();
    var stack = [{e: Infinity, node: root}], pos = 0;
    function top() { return stack[stack.length - 1]; }
    function upTo(end) { if (end > pos) { top().node.appendChild(document.createTextNode(text.slice(pos, end))); pos = end; } }
    items.forEach(function (it) {
      while (stack.length > 1 && top().e <= it.s) { upTo(top().e); stack.pop(); }
      upTo(it.s);
      var m = el("mark", (it.st + " " + it.cls).trim());
      m.dataset.label = it.l; m.dataset.status = it.st; m.dataset.k = it.k; m.title = it.title;
      m.style.setProperty("--c", DATA.colors[it.l] || "#888");
      top().node.appendChild(m);
      stack.push({e: Math.min(it.e, top().e), node: m});
    });
    while (stack.length > 1) { upTo(top().e); stack.pop(); }
    upTo(text.length);
    return root;
  }

  function projectionText(rec, p) {
    var src = "“" + rec.src.slice(p.s, p.e) + "”";
    var tgt = p.ts !== undefined ? "“" + rec.tgt.slice(p.ts, p.te) + "”" : "(" + p.st + (p.r ? ": " + p.r : "") + ")";
    return src + " → " + tgt;
  }

  function eventList(rec) {
    var ul = el("ul", "events");
    rec.events.forEach(function (ev) {
      var li = el("li");
      li.appendChild(el("b", "", ev.type));
      li.appendChild(document.createTextNode(" trigger " + projectionText(rec, ev.tr)));
      ev.args.forEach(function (a) {
        li.appendChild(document.createTextNode("; "));
        li.appendChild(el("span", "role", a.role));
        li.appendChild(document.createTextNode(" " + projectionText(rec, a)));
      });
      ul.appendChild(li);
    });
    return ul;
  }

  function side(rec, which, lang, dir) {
    var div = el("div");
    div.className = which;
    div.lang = lang;
    div.dir = dir;
    div.appendChild(el("span", "side", (which === "src" ? "source" : "target") + " (" + lang + ")"));
    var text = which === "src" ? rec.src : rec.tgt;
    div.appendChild(markedText(text, marks(rec, which)));
    if (!text) div.appendChild(el("span", "muted", "(no text)"));
    return div;
  }

  function row(rec, info) {
    var art = el("article", "ex");
    art.dataset.id = rec.id;
    art.dataset.status = rec.status;
    var head = el("header");
    head.appendChild(el("span", "id", rec.id));
    head.appendChild(el("span", "", rec.split));
    head.appendChild(el("span", "badge st-" + rec.status, rec.status));
    if (!rec.kept) head.appendChild(el("span", "badge st-dropped", "not in the output"));
    if (rec.mt) head.appendChild(el("span", "", "translation: " + rec.mt.status + (rec.mt.reason ? " (" + rec.mt.reason + ")" : "")));
    art.appendChild(head);
    var pair = el("div", "pair");
    pair.appendChild(side(rec, "src", info.src_lang, rec.sd || "ltr"));
    pair.appendChild(side(rec, "tgt", info.tgt_lang, rec.td || "ltr"));
    art.appendChild(pair);
    if (rec.events) art.appendChild(eventList(rec));
    if (rec.info) {
      var det = el("details", "figures");
      det.appendChild(el("summary", "", "method figures"));
      det.appendChild(el("code", "", JSON.stringify(rec.info, null, 1)));
      art.appendChild(det);
    }
    art.addEventListener("mouseover", function (ev) {
      var k = ev.target.dataset && ev.target.dataset.k;
      art.querySelectorAll("mark.hl").forEach(function (m) { m.classList.remove("hl"); });
      if (k) art.querySelectorAll('mark[data-k="' + k + '"]').forEach(function (m) { m.classList.add("hl"); });
    });
    return art;
  }

  function facts(rec) {
    var labels = {}, reasons = {};
    var all = rec.spans.slice();
    (rec.events || []).forEach(function (ev) { all.push(ev.tr); all = all.concat(ev.args); });
    all.forEach(function (p) {  // as report.json counts them: a failed or fuzzy span without a reason is "unknown"
      labels[p.l] = 1;
      if (p.r || p.st !== "projected") reasons[p.r || "unknown"] = 1;
    });
    if (rec.mt && rec.mt.reason) reasons[rec.mt.reason] = 1;
    return {labels: labels, reasons: reasons, hay: (rec.id + "\n" + rec.src + "\n" + rec.tgt).toLowerCase()};
  }

  function select(name, title, values) {
    var s = el("select");
    s.dataset.filter = name;
    s.title = title;
    var any = el("option", "", "any " + title);
    any.value = "";
    s.appendChild(any);
    values.forEach(function (v) { var o = el("option", "", v); o.value = v; s.appendChild(o); });
    return s;
  }

  function Browser(box) {
    var lang = box.dataset.lang, info = DATA.langs[lang];
    var recs = info.records, fx = recs.map(facts), page = 0, matching = [];
    var labels = {}, reasons = {}, statuses = {};
    fx.forEach(function (f, i) {
      Object.assign(labels, f.labels); Object.assign(reasons, f.reasons); statuses[recs[i].status] = 1;
    });
    var controls = el("div", "controls");
    var fStatus = select("status", "status", Object.keys(statuses).sort());
    var look = el("option", "", "needs a look");  // not fully projected, fuzzy, or not in the output
    look.value = "look";
    fStatus.insertBefore(look, fStatus.options[1]);
    var fLabel = select("label", "label", Object.keys(labels).sort());
    var fReason = select("reason", "reason", Object.keys(reasons).sort());
    var fSearch = el("input");
    fSearch.type = "search"; fSearch.placeholder = "search id or text"; fSearch.dataset.filter = "search";
    var prev = el("button", "", "◀ prev"), next = el("button", "", "next ▶"), pager = el("span", "pager");
    prev.dataset.page = "prev"; next.dataset.page = "next";
    [fStatus, fLabel, fReason, fSearch, prev, pager, next].forEach(function (c) { controls.appendChild(c); });
    var list = el("div", "rows");
    box.appendChild(controls);
    box.appendChild(list);

    function apply() {
      var st = fStatus.value, lb = fLabel.value, rs = fReason.value, q = fSearch.value.trim().toLowerCase();
      matching = [];
      recs.forEach(function (r, i) {
        var f = fx[i];
        if ((st && st !== "look" && r.status !== st) || (st === "look" && !r.look) || (lb && !f.labels[lb]) || (rs && !f.reasons[rs]) || (q && f.hay.indexOf(q) < 0)) return;
        matching.push(i);
      });
      page = 0;
      render();
    }
    function render() {
      var pages = Math.max(1, Math.ceil(matching.length / PAGE));
      page = Math.min(Math.max(0, page), pages - 1);
      list.textContent = "";
      matching.slice(page * PAGE, (page + 1) * PAGE).forEach(function (i) {
        var art = row(recs[i], info);
        if (fLabel.value) art.querySelectorAll("mark").forEach(function (m) {
          if (m.dataset.label !== fLabel.value) m.classList.add("dim");
        });
        list.appendChild(art);
      });
      pager.textContent = matching.length ? "examples " + (page * PAGE + 1) + "–" + Math.min(matching.length, (page + 1) * PAGE) +
        " of " + matching.length + " matching · page " + (page + 1) + "/" + pages : "no example matches";
      prev.disabled = page === 0; next.disabled = page >= pages - 1;
      box.dataset.matching = String(matching.length);
    }
    [fStatus, fLabel, fReason].forEach(function (c) { c.addEventListener("change", apply); });
    fSearch.addEventListener("input", apply);
    prev.addEventListener("click", function () { page -= 1; render(); });
    next.addEventListener("click", function () { page += 1; render(); });
    this.filter = function (name, value) {
      var c = {status: fStatus, label: fLabel, reason: fReason}[name];
      if (!c) return;
      if (!Array.prototype.some.call(c.options, function (o) { return o.value === value; })) {
        var o = el("option", "", value); o.value = value; c.appendChild(o);
      }
      c.value = value;
      apply();
    };
    apply();
  }

  document.querySelectorAll(".nojs").forEach(function (n) { n.remove(); });
  var browsers = {};
  document.querySelectorAll(".examples[data-lang]").forEach(function (box) {
    browsers[box.dataset.lang] = new Browser(box);
  });
  document.querySelectorAll("a[data-reason]").forEach(function (a) {
    a.addEventListener("click", function () {
      var b = browsers[a.dataset.lang];
      if (b) b.filter("reason", a.dataset.reason);
    });
  });
})();
