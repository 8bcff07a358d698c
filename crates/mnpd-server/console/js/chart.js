// The adoption chart of a gradual release, as inline SVG built with
// createElementNS (no library, nothing parsed from text): cumulative
// installs per version over time, one line each on the left axis, and the
// share of devices the release offered as a step line on the right axis.
// Colours come from classes in app.css (the policy allows no inline style).

const NS = "http://www.w3.org/2000/svg";
const W = 640;
const H = 280;
const PAD = { left: 52, right: 52, top: 16, bottom: 40 };
const BUCKET = 300;
const SERIES_CLASSES = 6;

function el(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

/** The smallest of 1, 2, 5 × 10^k at least `n` (and at least 1). */
function niceCeil(n) {
  if (n <= 1) return 1;
  const step = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * step >= n) return m * step;
  return 10 * step;
}

/** Time ticks at a round step giving at most six of them. */
function timeTicks(from, to) {
  const steps = [300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 30 * 86400];
  const step = steps.find((s) => (to - from) / s <= 6) || steps[steps.length - 1];
  const ticks = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) ticks.push(t);
  return ticks;
}

function timeLabel(t, span) {
  const d = new Date(t * 1000);
  const opts = span > 86400 ? { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" } : { hour: "2-digit", minute: "2-digit" };
  return d.toLocaleString(undefined, opts);
}

/**
 * Cumulative installed reports per version, from the API's 5-minute
 * buckets ({Time, MNPVersionId, Event, Count}): [{id, points: [[t, n]]}],
 * each point at the end of its bucket, starting from 0.
 */
export function installSeries(adoption) {
  const byVersion = new Map();
  for (const p of adoption || []) {
    if (p.Event !== "installed") continue;
    if (!byVersion.has(p.MNPVersionId)) byVersion.set(p.MNPVersionId, []);
    byVersion.get(p.MNPVersionId).push(p);
  }
  return [...byVersion.entries()]
    .sort(([a], [b]) => a - b)
    .map(([id, rows]) => {
      rows.sort((a, b) => a.Time - b.Time);
      let total = 0;
      const points = [[rows[0].Time, 0]];
      for (const r of rows) {
        total += r.Count;
        points.push([r.Time + BUCKET, total]);
      }
      return { id, points };
    });
}

/**
 * The share the release offered over time, from its events ({Time, State,
 * Percentage}): its percentage while active or paused, none once halted
 * or ended, everyone once promoted. [[t, percent]], ordered.
 */
export function shareSteps(events) {
  return [...(events || [])]
    .sort((a, b) => a.Time - b.Time)
    .map((e) => {
      const share = e.State === "promoted" ? 100 : e.State === "halted" || e.State === "ended" ? 0 : e.Percentage;
      return [e.Time, share];
    });
}

/**
 * The chart as an <svg>. `names` maps an MNPVersionId to its version
 * number for the legend; `until` is the right end of the time axis (now
 * for a live release).
 */
export function adoptionChart({ adoption, events, names = new Map(), until }) {
  const series = installSeries(adoption);
  const steps = shareSteps(events);
  const times = [...series.flatMap((s) => s.points.map(([t]) => t)), ...steps.map(([t]) => t)];
  let from = times.length ? Math.min(...times) : until - 3600;
  let to = Math.max(until || 0, ...times);
  if (to - from < 2 * BUCKET) {
    from -= BUCKET;
    to = from + 4 * BUCKET;
  }
  // Four gridlines at a round step: whole numbers even for a few installs.
  const top = 4 * niceCeil(Math.max(0, ...series.flatMap((s) => s.points.map(([, n]) => n))) / 4);
  const x = (t) => PAD.left + ((t - from) / (to - from)) * (W - PAD.left - PAD.right);
  const yCount = (n) => H - PAD.bottom - (n / top) * (H - PAD.top - PAD.bottom);
  const yShare = (p) => H - PAD.bottom - (p / 100) * (H - PAD.top - PAD.bottom);
  const label = (id) => names.get(id) || `id ${id}`;

  const described = series.map((s) => `${label(s.id)}: ${s.points[s.points.length - 1][1]} installed`).join("; ");
  const lastShare = steps.length ? steps[steps.length - 1][1] : 0;
  const svg = el(
    "svg",
    {
      viewBox: `0 0 ${W} ${H}`,
      class: "chart-svg",
      role: "img",
      "aria-labelledby": "adoption-chart-title adoption-chart-desc",
      preserveAspectRatio: "xMidYMid meet",
    },
    el("title", { id: "adoption-chart-title" }, "Installs per version over time, and the share offered"),
    el(
      "desc",
      { id: "adoption-chart-desc" },
      `${described || "No install reported yet"}. Share offered now: ${lastShare} %.`,
    ),
  );

  // Grid and axes.
  const grid = el("g", { class: "chart-grid" });
  for (let i = 0; i <= 4; i += 1) {
    const n = (top * i) / 4;
    const y = yCount(n);
    grid.append(
      el("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y }),
      el("text", { x: PAD.left - 6, y: y + 4, "text-anchor": "end", class: "chart-tick" }, n.toLocaleString()),
      el("text", { x: W - PAD.right + 6, y: y + 4, "text-anchor": "start", class: "chart-tick share-tick" }, `${i * 25} %`),
    );
  }
  for (const t of timeTicks(from, to)) {
    grid.append(
      el("line", { x1: x(t), x2: x(t), y1: H - PAD.bottom, y2: H - PAD.bottom + 4, class: "chart-axis" }),
      el("text", { x: x(t), y: H - PAD.bottom + 16, "text-anchor": "middle", class: "chart-tick" }, timeLabel(t, to - from)),
    );
  }
  grid.append(
    el("line", { x1: PAD.left, x2: W - PAD.right, y1: H - PAD.bottom, y2: H - PAD.bottom, class: "chart-axis" }),
    el(
      "text",
      { x: 12, y: (H - PAD.bottom + PAD.top) / 2, transform: `rotate(-90 12 ${(H - PAD.bottom + PAD.top) / 2})`, "text-anchor": "middle", class: "chart-label" },
      "Installed (cumulative)",
    ),
    el(
      "text",
      { x: W - 10, y: (H - PAD.bottom + PAD.top) / 2, transform: `rotate(90 ${W - 10} ${(H - PAD.bottom + PAD.top) / 2})`, "text-anchor": "middle", class: "chart-label" },
      "Share offered (%)",
    ),
    el("text", { x: (PAD.left + W - PAD.right) / 2, y: H - 4, "text-anchor": "middle", class: "chart-label" }, "Time"),
  );
  svg.append(grid);

  // The share offered: a step line held until the right end.
  if (steps.length) {
    let d = `M${x(steps[0][0]).toFixed(1)},${yShare(steps[0][1]).toFixed(1)}`;
    for (let i = 1; i < steps.length; i += 1) {
      d += ` H${x(steps[i][0]).toFixed(1)} V${yShare(steps[i][1]).toFixed(1)}`;
    }
    d += ` H${x(to).toFixed(1)}`;
    svg.append(el("path", { d, class: "chart-share", "data-series": "share" }));
  }

  // One line per version.
  series.forEach((s, i) => {
    const d = s.points.map(([t, n], j) => `${j ? "L" : "M"}${x(t).toFixed(1)},${yCount(n).toFixed(1)}`).join(" ");
    svg.append(
      el("path", { d, class: `chart-line series-${i % SERIES_CLASSES}`, "data-version": s.id }),
    );
  });
  return svg;
}

/** The legend beside the chart, as HTML: one swatch per version and the share. */
export function chartLegend(adoption, names = new Map()) {
  const list = document.createElement("ul");
  list.className = "chart-legend";
  installSeries(adoption).forEach((s, i) => {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch series-${i % SERIES_CLASSES}`;
    swatch.setAttribute("aria-hidden", "true");
    const total = s.points[s.points.length - 1][1];
    item.append(swatch, `${names.get(s.id) || `id ${s.id}`} — ${total} installed`);
    list.append(item);
  });
  const share = document.createElement("li");
  const swatch = document.createElement("span");
  swatch.className = "swatch share";
  swatch.setAttribute("aria-hidden", "true");
  share.append(swatch, "Share offered (right axis)");
  list.append(share);
  return list;
}
