// The page of mlpsweep serve and of report.html: one script, two uses.
// With a <script id="data" type="application/json"> element (report.html)
// it draws that study and never touches the network; without, it reads
// api/studies and api/study?name=… (docs/json.md) and redraws when
// api/events says the store changed. Every name and value from the data
// reaches the page as text (textContent, createTextNode), never as markup.
"use strict";
(function () {
  var SVG = "http://www.w3.org/2000/svg";
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  var COLORS = { best: "#1a9c3a", fold: "#888888", mean: "#1f5fa8" };
  var main = document.getElementById("main");
  var liveLabel = document.getElementById("live");
  var embedded = document.getElementById("data");

  // el builds an element: el("td", {class: "x"}, "text", child…).
  function el(tag, attrs) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    for (var i = 2; i < arguments.length; i++) add(e, arguments[i]);
    return e;
  }
  function add(e, c) {
    if (c === undefined || c === null) return;
    if (Array.isArray(c)) { c.forEach(function (x) { add(e, x); }); return; }
    e.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmt(x, d) { return x === null || x === undefined || !isFinite(x) ? "—" : Number(x).toFixed(d === undefined ? 4 : d); }
  function dur(s) {
    if (s === null || s === undefined || !isFinite(s)) return "—";
    if (s < 60) return s.toFixed(1) + " s";
    if (s < 3600) return Math.floor(s / 60) + "m" + String(Math.floor(s % 60)).padStart(2, "0") + "s";
    return Math.floor(s / 3600) + "h" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
  }

  // ---- tables: click a header to sort, type to filter ----
  function table(header, rows, opts) {
    opts = opts || {};
    var tbody = el("tbody");
    var ths = header.map(function (h, i) { return el("th", { "data-col": i }, h); });
    var t = el("table", opts.id ? { id: opts.id } : {}, el("thead", {}, el("tr", {}, ths)), tbody);
    var state = { col: -1, dir: 1, filter: "" };
    function cellKey(v) {
      var n = parseFloat(String(v).replace(/^#/, ""));
      return isNaN(n) ? String(v) : n;
    }
    function draw() {
      var shown = rows.filter(function (r) {
        return !state.filter || r.cells.join(" ").toLowerCase().indexOf(state.filter) >= 0;
      });
      if (state.col >= 0) {
        shown = shown.slice().sort(function (a, b) {
          var x = cellKey(a.cells[state.col]), y = cellKey(b.cells[state.col]);
          if (typeof x !== typeof y) return (typeof x === "number" ? -1 : 1);
          return (x < y ? -1 : x > y ? 1 : 0) * state.dir;
        });
      }
      tbody.textContent = "";
      shown.forEach(function (r) {
        tbody.appendChild(el("tr", r.class ? { class: r.class } : {}, r.cells.map(function (c, i) {
          return el("td", {}, i === 0 && r.href ? el("a", { href: r.href }, c) : c);
        })));
      });
    }
    ths.forEach(function (th, i) {
      th.addEventListener("click", function () {
        state.dir = state.col === i ? -state.dir : 1;
        state.col = i;
        ths.forEach(function (o) { o.className = ""; });
        th.className = state.dir > 0 ? "asc" : "desc";
        draw();
      });
    });
    draw();
    var parts = [];
    if (rows.length > 8) {
      var f = el("input", { class: "filter", type: "search", placeholder: "filter rows…" });
      f.addEventListener("input", function () { state.filter = f.value.toLowerCase(); draw(); });
      parts.push(f);
    }
    parts.push(el("div", { class: "wide" }, t));
    return el("div", {}, parts);
  }

  // ---- plots: SVG drawn from Plot data (sweeps/report Plot) ----
  function ticks(lo, hi, n) {
    var span = hi - lo, step = Math.pow(10, Math.floor(Math.log10(span / n)));
    [1, 2, 5, 10].some(function (m) { if (span / (step * m) <= n) { step *= m; return true; } return false; });
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
    return out;
  }
  function logTicks(lo, hi) {
    var out = [];
    for (var e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      var v = Math.pow(10, e);
      if (v >= lo && v <= hi) out.push(v);
    }
    return out.length >= 2 ? out : [lo, hi];
  }
  function scale(lo, hi, a, b, log) {
    if (log) { lo = Math.log10(lo); hi = Math.log10(hi); }
    if (hi === lo) { lo -= 0.5; hi += 0.5; }
    return function (v) { return a + ((log ? Math.log10(v) : v) - lo) / (hi - lo) * (b - a); };
  }
  function extent(values, log, pad) {
    var lo = Infinity, hi = -Infinity;
    values.forEach(function (v) { if (isFinite(v) && (!log || v > 0)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } });
    if (lo > hi) return [0, 1];
    if (log) return [lo / 1.3, hi * 1.3];
    var p = (hi - lo) * (pad || 0.06) || Math.abs(hi) * 0.05 || 0.5;
    return [lo - p, hi + p];
  }
  function short(v) { return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(0) : String(+v.toPrecision(4)); }

  function plot(p, w, h) {
    w = w || 560; h = h || 320;
    var cat = p.x_ticks && p.x_ticks.length > 0;
    var longTicks = cat && p.x_ticks.join("").length > 60;
    var lines = p.series.filter(function (s) { return s.style === "line" && s.y.length > 0; });
    var legendW = lines.length > 1 ? 150 : 0;
    var m = { l: 58, r: 12 + legendW, t: 26, b: longTicks ? 78 : 40 };
    var s = svg("svg", { class: "plot", width: w, height: h, viewBox: "0 0 " + w + " " + h, role: "img" });
    s.appendChild(svg("title", {}, p.title));
    var xs = [], ys = [];
    p.series.forEach(function (se) {
      xs = xs.concat(se.x);
      se.y.forEach(function (y, i) { var e = se.err ? se.err[i] : 0; ys.push(y - e, y + e); });
      if (se.style === "bars") ys.push(0);
    });
    var xr = cat ? [-0.5, p.x_ticks.length - 0.5] : extent(xs, p.log_x, 0.03);
    var yr = extent(ys, p.log_y, 0.08);
    var X = scale(xr[0], xr[1], m.l, w - m.r, p.log_x), Y = scale(yr[0], yr[1], h - m.b, m.t, p.log_y);
    s.appendChild(svg("text", { x: w / 2, y: 15, "text-anchor": "middle", "font-weight": "600", "font-size": "12" }, p.title));
    (p.log_y ? logTicks(yr[0], yr[1]) : ticks(yr[0], yr[1], 6)).forEach(function (v) {
      s.appendChild(svg("line", { x1: m.l, x2: w - m.r, y1: Y(v), y2: Y(v), stroke: "#eceff3" }));
      s.appendChild(svg("text", { x: m.l - 5, y: Y(v) + 4, "text-anchor": "end" }, short(v)));
    });
    var xt = cat ? p.x_ticks.map(function (_, i) { return i; }) : (p.log_x ? logTicks(xr[0], xr[1]) : ticks(xr[0], xr[1], 8));
    if (!cat && p.log_x) xt = Array.from(new Set(xs)).sort(function (a, b) { return a - b; });
    var every = cat ? Math.max(1, Math.ceil(xt.length / 30)) : 1;
    xt.forEach(function (v, i) {
      if (i % every) return;
      var label = cat ? p.x_ticks[v] : short(v);
      if (label.length > 22) label = label.slice(0, 21) + "…";
      var t = longTicks
        ? svg("text", { x: X(v), y: h - m.b + 12, "text-anchor": "end", transform: "rotate(-30 " + X(v) + " " + (h - m.b + 12) + ")" }, label)
        : svg("text", { x: X(v), y: h - m.b + 14, "text-anchor": "middle" }, label);
      s.appendChild(t);
    });
    s.appendChild(svg("rect", { x: m.l, y: m.t, width: w - m.l - m.r, height: h - m.t - m.b, fill: "none", stroke: "#c9cfd8" }));
    s.appendChild(svg("text", { x: (m.l + w - m.r) / 2, y: h - 4, "text-anchor": "middle" }, p.x_label));
    s.appendChild(svg("text", { x: 12, y: (m.t + h - m.b) / 2, "text-anchor": "middle", transform: "rotate(-90 12 " + (m.t + h - m.b) / 2 + ")" }, p.y_label));
    var ci = 0;
    // Dots on lines only while they stay few: a 200-configuration study's
    // curves would be thousands of elements.
    var linePoints = lines.reduce(function (n, se) { return n + se.x.length; }, 0);
    p.series.forEach(function (se) {
      var color = se.color ? COLORS[se.color] : (se.style === "line" ? PALETTE[ci++ % PALETTE.length] : COLORS.mean);
      var g = svg("g", { class: "series" });
      g.appendChild(svg("title", {}, se.label));
      if (se.style === "line" && se.x.length > 1) {
        g.appendChild(svg("polyline", { fill: "none", stroke: color, "stroke-width": 1.6,
          points: se.x.map(function (x, i) { return X(x).toFixed(1) + "," + Y(se.y[i]).toFixed(1); }).join(" ") }));
      }
      se.x.forEach(function (x, i) {
        if (se.style === "bars") {
          var bw = cat ? 0.6 * (X(1) - X(0)) : 6, top = Y(Math.max(se.y[i], 0)), bottom = Y(Math.min(se.y[i], 0));
          var bar = svg("rect", { x: X(x) - bw / 2, y: top, width: bw, height: Math.max(1, bottom - top), fill: color });
          bar.appendChild(svg("title", {}, (cat ? p.x_ticks[Math.round(x)] : short(x)) + ": " + short(se.y[i])));
          g.appendChild(bar);
          return;
        }
        if (se.style === "line" && se.x.length > 1 && linePoints > 400) return;
        var cx = X(x), cy = Y(se.y[i]);
        if (se.err && se.err[i] > 0) {
          g.appendChild(svg("line", { x1: cx, x2: cx, y1: Y(se.y[i] - se.err[i]), y2: Y(se.y[i] + se.err[i]), stroke: color, "stroke-width": 1.2 }));
        }
        var c = svg("circle", se.style === "rings"
          ? { cx: cx, cy: cy, r: 2.6, fill: "none", stroke: color }
          : { cx: cx, cy: cy, r: se.style === "dots" ? 3.8 : 2.4, fill: color });
        c.appendChild(svg("title", {}, se.label + ": " + (cat ? p.x_ticks[Math.round(x)] : short(x)) + ", " + short(se.y[i])));
        g.appendChild(c);
      });
      s.appendChild(g);
    });
    if (legendW) {
      ci = 0;
      lines.forEach(function (se, i) {
        var color = se.color ? COLORS[se.color] : PALETTE[i % PALETTE.length];
        var ly = m.t + 6 + i * 15;
        if (ly > h - m.b) return;
        s.appendChild(svg("rect", { x: w - legendW + 4, y: ly - 5, width: 12, height: 3, fill: color }));
        var label = se.label.length > 22 ? se.label.slice(0, 21) + "…" : se.label;
        s.appendChild(svg("text", { x: w - legendW + 20, y: ly }, label));
      });
    }
    return s;
  }
  function figure(f) {
    return el("figure", {}, plot(f.plot), f.caption ? el("figcaption", {}, f.caption) : null);
  }

  // ---- parallel coordinates: one polyline per configuration ----
  function parallel(doc) {
    var cfgs = doc.configs.filter(function (c) { return c.mean_accuracy !== null && c.units.length > 0; });
    var keys = [];
    if (cfgs.length < 2) return null;
    Object.keys(cfgs[0].params).forEach(function (k) {
      var seen = {};
      cfgs.forEach(function (c) { seen[JSON.stringify(c.params[k])] = true; });
      if (Object.keys(seen).length > 1) keys.push(k);
    });
    if (keys.length === 0) return null;
    var w = Math.max(560, 130 * (keys.length + 1)), h = 320, m = { l: 50, r: 60, t: 28, b: 24 };
    var s = svg("svg", { class: "plot", width: w, height: h, role: "img" });
    s.appendChild(svg("title", {}, "parallel coordinates"));
    var axes = keys.map(function (k) {
      var vals = cfgs.map(function (c) { return c.params[k]; });
      var numeric = vals.every(function (v) { return typeof v === "number"; });
      if (numeric) {
        var lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals), log = lo > 0 && hi / lo > 20;
        var sc = scale(lo, hi, h - m.b, m.t, log);
        return { key: k, pos: function (v) { return sc(v); }, labels: [[lo, sc(lo)], [hi, sc(hi)]] };
      }
      var cats = Array.from(new Set(vals.map(function (v) { return JSON.stringify(v); }))).sort();
      var step = (h - m.t - m.b) / Math.max(1, cats.length - 1);
      return { key: k, pos: function (v) { return h - m.b - cats.indexOf(JSON.stringify(v)) * step; },
        labels: cats.map(function (c, i) { return [c.replace(/"/g, ""), h - m.b - i * step]; }) };
    });
    var accs = cfgs.map(function (c) { return c.mean_accuracy; });
    var alo = Math.min.apply(null, accs), ahi = Math.max.apply(null, accs);
    var A = scale(alo, ahi, h - m.b, m.t, false);
    var X = function (i) { return m.l + i * (w - m.l - m.r) / keys.length; };
    cfgs.forEach(function (c) {
      var t = ahi > alo ? (c.mean_accuracy - alo) / (ahi - alo) : 1;
      var pts = axes.map(function (a, i) { return X(i) + "," + a.pos(c.params[a.key]).toFixed(1); });
      pts.push(X(keys.length) + "," + A(c.mean_accuracy).toFixed(1));
      var line = svg("polyline", { fill: "none", "stroke-width": c.rank === 1 ? 2.5 : 1.2, "stroke-opacity": 0.75,
        stroke: "hsl(" + Math.round(10 + 120 * t) + ",70%,42%)", points: pts.join(" ") });
      line.appendChild(svg("title", {}, (c.axis ? c.axis + "=" + c.value : c.key) + ": " + fmt(c.mean_accuracy)));
      s.appendChild(line);
    });
    axes.concat([{ key: "mean accuracy", labels: [[alo, A(alo)], [ahi, A(ahi)]] }]).forEach(function (a, i) {
      s.appendChild(svg("line", { x1: X(i), x2: X(i), y1: m.t, y2: h - m.b, stroke: "#5a6475" }));
      s.appendChild(svg("text", { x: X(i), y: m.t - 10, "text-anchor": "middle", "font-weight": "600" }, a.key));
      a.labels.forEach(function (l) {
        s.appendChild(svg("text", { x: X(i) + 4, y: l[1] + 4 }, typeof l[0] === "number" ? short(l[0]) : l[0]));
      });
    });
    return el("figure", {}, s, el("figcaption", {}, "Every scored configuration as a line through its values of the keys that vary, ending at its mean accuracy (green is best)."));
  }

  // label names a configuration for people.
  function label(doc, i) {
    var c = doc.configs[i];
    if (doc.kind === "axes") return c.axis + "=" + c.value;
    return c.value || c.key;
  }

  // ---- best so far, against the time since the first unit started and the units' summed seconds ----
  function bestSoFar(doc) {
    var units = doc.units.filter(function (u) { return u.finished > 0; });
    if (units.length === 0) return null;
    var byConfig = {};
    units.forEach(function (u) { (byConfig[u.config] = byConfig[u.config] || []).push(u); });
    var t0 = Math.min.apply(null, doc.units.map(function (u) { return u.started || u.finished; }).filter(function (t) { return t > 0; }));
    units.sort(function (a, b) { return a.finished - b.finished; });
    var done = {}, best = -Infinity, compute = 0;
    var time = { label: "best mean accuracy", style: "line", x: [], y: [] }, work = { label: "best mean accuracy", style: "line", x: [], y: [] };
    units.forEach(function (u) {
      compute += u.seconds || 0;
      done[u.config] = (done[u.config] || 0) + 1;
      var c = doc.configs[u.config];
      // As report.SearchTrace: a configuration counts once all its folds are in, trained every epoch, none diverged (tier 0).
      if (done[u.config] === byConfig[u.config].length && doc.tiers[u.config] === 0 && c.mean_accuracy !== null && c.mean_accuracy > best) {
        best = c.mean_accuracy;
      }
      if (best > -Infinity) {
        time.x.push((u.finished - t0) / 1000); time.y.push(best);
        work.x.push(compute); work.y.push(best);
      }
    });
    if (time.x.length === 0) return null;
    return [
      { title: "best so far against time", caption: "The best mean accuracy of the configurations whose stored folds have all finished, trained every epoch (not pruned) and none diverged, against the wall time since the first unit started.",
        plot: { title: "best so far against time", x_label: "seconds since the first unit started", y_label: "best mean accuracy", series: [time] } },
      { title: "best so far against compute", caption: "The same against the units' summed training seconds (core-seconds).",
        plot: { title: "best so far against compute", x_label: "unit seconds (summed)", y_label: "best mean accuracy", series: [work] } },
    ];
  }

  function summary(view) {
    return el("div", { class: "summary" },
      el("dl", {}, view.summary.map(function (kv) { return [el("dt", {}, kv[0]), el("dd", {}, kv[1])]; })),
      view.fixed ? el("p", { class: "fixed" }, "Shared by every configuration: " + view.fixed) : null,
      view.sections.length > 1 ? el("nav", {}, view.sections.map(function (s) { return el("a", { href: "#" + s.id }, s.title); })) : null);
  }
  function sections(view, prefix) {
    return view.sections.map(function (s) {
      return el("section", { id: (prefix || "") + s.id },
        el("h2", {}, s.title),
        s.best ? el("p", { class: "best-line" }, s.best) : null,
        (s.notes || []).map(function (n) { return el("p", { class: "note" }, n); }),
        s.table.header && s.table.header.length && s.table.rows && s.table.rows.length ? table(s.table.header, s.table.rows) : null,
        s.figures && s.figures.length ? el("div", { class: "figs" }, s.figures.map(figure)) : null);
    });
  }
  function problems(view) {
    if (!view.problems || !view.problems.length) return null;
    return el("section", { class: "problems" }, el("h2", {}, "Units that diverged or failed"),
      el("ul", {}, view.problems.map(function (p) { return el("li", {}, p); })));
  }

  // ---- the units in flight and the study's progress ----
  function progress(doc) {
    var counts = { done: 0, failed: 0, running: 0, pruned: 0 };
    doc.units.forEach(function (u) { counts[u.state] = (counts[u.state] || 0) + 1; });
    var now = Date.now();
    var running = doc.units.filter(function (u) { return u.state === "running"; });
    var rows = running.map(function (u) {
      return { class: "running", cells: [label(doc, u.config), String(u.fold), dur(u.started ? (now - u.started) / 1000 : NaN),
        (u.epochs || []).length ? String(u.epochs.length) : "—"] };
    });
    var pct = doc.units_total ? 100 * (counts.done + counts.pruned) / doc.units_total : 0;
    var parts = [el("h2", {}, "Progress"),
      el("p", {}, el("span", { class: "bar" }, el("span", { style: "width:" + pct.toFixed(1) + "%" })),
        " " + counts.done + " of " + doc.units_total + " units done, " + (counts.pruned ? counts.pruned + " pruned, " : "") +
        counts.failed + " failed, " + counts.running + " running")];
    if (rows.length) parts.push(table(["running configuration", "fold", "running for", "epochs"], rows, { id: "running" }));
    var curves = running.filter(function (u) { return u.epochs && u.epochs.length; }).map(function (u) {
      return { label: label(doc, u.config) + " fold " + u.fold, style: "line",
        x: u.epochs.map(function (e) { return e.epoch; }), y: u.epochs.map(function (e) { return e.accuracy !== null ? e.accuracy : e.train_accuracy; }) };
    });
    if (curves.length) {
      parts.push(el("div", { class: "figs" }, figure({ caption: "Held-out accuracy per epoch of the units in flight.",
        plot: { title: "units in flight", x_label: "epoch", y_label: "held-out accuracy", series: curves } })));
    }
    return el("section", { id: "progress" }, parts);
  }

  // trials is every configuration in one sortable, filterable table.
  function trials(doc) {
    var varying = [];
    if (doc.configs.length > 1) {
      Object.keys(doc.configs[0].params).forEach(function (k) {
        if (doc.configs.some(function (c) { return JSON.stringify(c.params[k]) !== JSON.stringify(doc.configs[0].params[k]); })) varying.push(k);
      });
    }
    var rows = doc.configs.map(function (c, i) {
      var cells = [c.rank ? String(c.rank) : "—", label(doc, i)];
      varying.forEach(function (k) { var v = c.params[k]; cells.push(typeof v === "string" ? v : JSON.stringify(v)); });
      cells.push(c.units.length ? fmt(c.mean_accuracy) : "—", c.units.length ? fmt(c.std_accuracy) : "—",
        c.units.length + "/" + doc.folds, fmt(c.seconds, 1));
      return { class: c.rank === 1 ? "best" : "", cells: cells };
    });
    return el("section", { id: "trials" }, el("h2", {}, "Every configuration"),
      table(["rank", "configuration"].concat(varying, ["mean accuracy", "std", "folds", "seconds"]), rows, { id: "trial-table" }));
  }

  function drawStudy(doc) {
    document.title = "Study " + doc.name;
    main.textContent = "";
    var parts = [el("h1", {}, "Study " + doc.name + " (" + doc.kind + ")")];
    if (doc.depth) parts.push(summary(doc.depth), sections(doc.depth, "depth-"), problems(doc.depth));
    parts.push(summary(doc.view), progress(doc), sections(doc.view), trials(doc));
    var extra = [];
    var pc = doc.kind !== "depth" ? parallel(doc) : null;
    if (pc) extra.push(pc);
    // A search's own section (sweeps/report search.go) plots the best so
    // far against GEMM compute when the units recorded it; otherwise the
    // page draws it from the units' times and seconds.
    if (!doc.view.sections.some(function (s) { return s.id === "search"; })) {
      (bestSoFar(doc) || []).forEach(function (f) { extra.push(figure(f)); });
    }
    if (extra.length) parts.push(el("section", { id: "search" }, el("h2", {}, "The search"), el("div", { class: "figs" }, extra)));
    parts.push(problems(doc.view));
    add(main, parts);
  }

  function drawStudies(list) {
    document.title = "mlpsweep studies";
    var rows = list.studies.map(function (s) {
      return { cells: [s.name, s.kind, s.units_done + "/" + s.units_total + (s.units_pruned ? " (" + s.units_pruned + " pruned)" : ""), String(s.units_failed), String(s.running),
        String(s.machines), s.eta_seconds > 0 ? ({ expected: "~", at_most: "≤ " }[s.eta_forecast] || "") + dur(s.eta_seconds) : (s.units_done + s.units_pruned + s.units_failed >= s.units_total ? "done" : "—"),
        s.gflops > 0 ? s.gflops.toFixed(1) : "—", s.percent_of_peak > 0 ? s.percent_of_peak.toFixed(0) + "%" : "—"],
        href: "#/study/" + encodeURIComponent(s.id) };
    });
    var t = table(["study", "kind", "units done", "failed", "running", "machines", "ETA", "GFLOP/s", "% of peak"], rows, { id: "studies" });
    main.textContent = "";
    add(main, [el("h1", {}, "Studies"), el("p", { class: "muted" }, list.store),
      list.studies.length ? el("section", {}, t) : el("p", {}, "No study recorded yet.")]);
  }

  // ---- live mode ----
  var pending = null;
  function route() {
    var m = location.hash.match(/^#\/study\/(.*)$/);
    var url = m ? "api/study?id=" + encodeURIComponent(decodeURIComponent(m[1])) : "api/studies";
    if (pending) pending.abort();
    pending = new AbortController();
    fetch(url, { signal: pending.signal, credentials: "same-origin" }).then(function (r) {
      if (!r.ok) return r.text().then(function (t) { throw new Error(r.status + ": " + t); });
      return r.json();
    }).then(function (data) {
      var y = window.scrollY;
      if (m) drawStudy(data); else drawStudies(data);
      window.scrollTo(0, y);
      main.setAttribute("data-loaded", String(Date.now()));
    }).catch(function (e) {
      if (e.name === "AbortError") return;
      main.textContent = "";
      add(main, el("p", { class: "error" }, String(e.message)));
    });
  }

  if (embedded) {
    var doc = JSON.parse(embedded.textContent);
    liveLabel.textContent = "snapshot";
    document.getElementById("home").removeAttribute("href");
    drawStudy(doc);
    main.setAttribute("data-loaded", "snapshot");
    return;
  }
  window.addEventListener("hashchange", route);
  route();
  var timer = null;
  var events = new EventSource("api/events");
  events.addEventListener("change", function () {
    liveLabel.textContent = "live · updated " + new Date().toLocaleTimeString();
    clearTimeout(timer);
    timer = setTimeout(route, 100);
  });
  events.addEventListener("open", function () { liveLabel.textContent = "live"; });
  events.addEventListener("error", function () { liveLabel.textContent = "reconnecting…"; });
})();
