// A mini program's gradual release (mnpd's own actions, API version
// 2026-12-01; docs/host-apps.md): the live or latest release with its
// controls, install counts, the adoption chart and the history; a form to
// start one when none is live.

import { onPlatform } from "../api.js";
import { adoptionChart, chartLegend } from "../chart.js";
import {
  h,
  allowedTo,
  field,
  errorSlot,
  busy,
  toast,
  table,
  mono,
  when,
  badge,
  button,
  confirmInline,
} from "../ui.js";

const STATE_TONE = {
  active: "good",
  paused: "warn",
  halted: "bad",
  promoted: "info",
  ended: "neutral",
};

const EVENT_WORDS = {
  started: "Started",
  modified: "Changed",
  paused: "Paused",
  resumed: "Resumed",
  halted: "Halted",
  promoted: "Promoted",
  ended: "Ended",
};

const pct = (n) => `${Number(n).toLocaleString(undefined, { maximumFractionDigits: 1 })} %`;

/** The release of `mnpId`, or null when it never had one. */
async function latestRelease(mnpId) {
  try {
    return await onPlatform("DescribeGradualRelease", { MNPId: mnpId });
  } catch (err) {
    if (err.code === "FailedOperation.RecordNotFound") return null;
    throw err;
  }
}

export async function gradualTab(ctx, mnp, body) {
  const slot = errorSlot();
  const [report, stagesR, historyR] = await Promise.all([
    latestRelease(mnp.MNPId),
    onPlatform("DescribeMNPAllStageVersions", { MNPId: mnp.MNPId }),
    onPlatform("DescribeMNPReleasedVersionHistory", { MNPId: mnp.MNPId }),
  ]);
  if (ctx.signal.aborted) return;
  const stages = stagesR.Data || [];
  const history = historyR.Data?.DataList || [];
  const names = new Map();
  for (const v of [...stages, ...history]) names.set(v.MNPVersionId, v.MNPVersion);
  if (report) names.set(report.Rollout.MNPVersionId, report.Rollout.MNPVersion);

  const rollout = report?.Rollout;
  const live = rollout && (rollout.State === "active" || rollout.State === "paused");
  const after = async (message) => {
    toast(message);
    ctx.rerender();
  };
  const act = (action, params) => onPlatform(action, { MNPId: mnp.MNPId, ...params });

  const panel = h(
    "section",
    { class: "panel", "aria-labelledby": "gradual-title" },
    h(
      "div",
      { class: "panel-head" },
      h("h2", { id: "gradual-title" }, live ? "Gradual release in progress" : "Gradual release"),
      button("Refresh", () => ctx.rerender(), "ghost small"),
    ),
    slot.el,
  );
  body.append(panel);
  if (!report) {
    panel.append(h("p", { class: "empty" }, "This mini program never had a gradual release."));
  } else {
    panel.append(releaseFacts(rollout, names));
    if (live) panel.append(controls(rollout, act, after, slot));
    body.append(countsPanel(report.Counts), chartPanel(report, names), historyPanel(report.Events));
  }
  if (!live) body.append(startForm(stages, history, after));
}

function releaseFacts(r, names) {
  const base = r.BaseMNPVersionId ? names.get(r.BaseMNPVersionId) || `id ${r.BaseMNPVersionId}` : "nothing online";
  return h(
    "dl",
    { class: "facts gradual-facts" },
    h("dt", {}, "Version"),
    h("dd", {}, mono(r.MNPVersion), ` (id ${r.MNPVersionId}), instead of ${base}`),
    h("dt", {}, "State"),
    h("dd", { "data-state": r.State }, badge(r.State, STATE_TONE[r.State] || "neutral")),
    h("dt", {}, "Share of devices"),
    h("dd", { class: "gradual-percentage" }, pct(r.Percentage)),
    h("dt", {}, "Listed devices"),
    h("dd", {}, r.DeviceIds.length ? r.DeviceIds.map((d, i) => [i ? ", " : "", mono(d)]) : "none"),
    h("dt", {}, "Halts by itself"),
    h("dd", {}, `when ${pct(r.FailureThreshold)} of installs fail, after ${r.MinSample} installs`),
    r.HaltReason ? h("dt", {}, "Halt reason") : null,
    r.HaltReason
      ? h("dd", { class: "halt-reason" }, r.HaltReason, r.HaltedAutomatically ? " (by mnpd, from install reports)" : "")
      : null,
    h("dt", {}, "Started"),
    h("dd", {}, when(r.CreatedAt), r.CreateUser ? ` by ${r.CreateUser}` : ""),
    r.EndedAt ? h("dt", {}, "Ended") : null,
    r.EndedAt ? h("dd", {}, when(r.EndedAt)) : null,
  );
}

/** Grow, pause or resume, halt with a reason, promote: each greyed out by the user's roles. */
function controls(r, act, after, slot) {
  const host = h("div", { class: "gradual-controls" });
  const percentage = h("input", {
    type: "number",
    min: "0",
    max: "100",
    step: "0.1",
    value: String(r.Percentage),
    required: true,
    inputmode: "decimal",
  });
  const grow = allowedTo("ModifyGradualRelease", h("button", { type: "submit", class: "btn primary" }, "Set share"));
  const growForm = h(
    "form",
    { class: "toolbar", "aria-label": "Change the share" },
    field("New percentage", percentage),
    grow,
  );
  growForm.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(
      grow,
      async () => {
        const value = Number(percentage.value);
        await act("ModifyGradualRelease", { Percentage: value });
        await after(`${r.MNPVersion} is offered to ${pct(value)} of devices`);
      },
      slot,
    );
  });

  const actions = h("div", { class: "actions" });
  const simple = (label, action, done, tone = "ghost") => {
    const b = allowedTo(
      action,
      button(label, () => busy(b, async () => {
        await act(action, {});
        await after(done);
      }, slot), tone),
    );
    return b;
  };
  if (r.State === "active") actions.append(simple("Pause", "PauseGradualRelease", `Paused the release of ${r.MNPVersion}`));
  else actions.append(simple("Resume", "ResumeGradualRelease", `Resumed the release of ${r.MNPVersion}`));

  const halt = allowedTo(
    "HaltGradualRelease",
    button("Halt…", () => haltForm(actions, r, act, after, slot), "danger ghost"),
  );
  const promote = allowedTo(
    "PromoteGradualRelease",
    button(
      "Promote to everyone",
      () =>
        confirmInline(
          actions,
          `Release ${r.MNPVersion} to every device? It becomes the online version.`,
          "Promote",
          async () => {
            await act("PromoteGradualRelease", {});
            await after(`${r.MNPVersion} is online for everyone`);
          },
          slot,
        ),
      "ghost",
    ),
  );
  actions.append(halt, promote);
  host.append(growForm, actions);
  return host;
}

/** Replaces the actions with a reason field and a confirmation, until cancelled. */
function haltForm(host, r, act, after, slot) {
  const saved = Array.from(host.childNodes);
  const reason = h("input", { type: "text", maxlength: "200", autocomplete: "off", placeholder: "e.g. crash on start" });
  const yes = h("button", { type: "submit", class: "btn danger" }, "Halt now");
  const no = h("button", { type: "button", class: "btn ghost", onclick: () => host.replaceChildren(...saved) }, "Cancel");
  const form = h(
    "form",
    { class: "confirm", "aria-label": "Halt the release" },
    h("p", {}, `Every device goes back to the online version. Why halt ${r.MNPVersion}?`),
    field("Reason", reason, "Shown with the release and in its history."),
    h("div", { class: "actions" }, yes, no),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(
      yes,
      async () => {
        await act("HaltGradualRelease", { Reason: reason.value.trim() });
        await after(`Halted the release of ${r.MNPVersion}`);
      },
      slot,
    );
  });
  host.replaceChildren(form);
  reason.focus();
}

function countsPanel(c) {
  const figure = (label, value, key) =>
    h("div", { class: "figure", "data-count": key }, h("span", { class: "figure-value" }, value), h("span", { class: "muted small" }, label));
  return h(
    "section",
    { class: "panel", "aria-labelledby": "gradual-counts-title" },
    h("h2", { id: "gradual-counts-title" }, "Install reports"),
    h(
      "div",
      { class: "figures" },
      figure("downloaded", String(c.Downloaded), "downloaded"),
      figure("installed", String(c.Installed), "installed"),
      figure("launched", String(c.Launched), "launched"),
      figure("failed", String(c.Failed), "failed"),
      figure("of installs failed", pct(c.FailureRate), "failure-rate"),
    ),
    c.FailureReasons.length
      ? table(
          [
            { label: "Failure reason", class: "wrap", cell: (f) => f.Reason || "(none given)" },
            { label: "Reports", cell: (f) => String(f.Count) },
          ],
          c.FailureReasons,
          { caption: "Top failure reasons" },
        )
      : h("p", { class: "muted small" }, "No failure reported."),
  );
}

function chartPanel(report, names) {
  const r = report.Rollout;
  const live = r.State === "active" || r.State === "paused";
  const until = live ? Math.floor(Date.now() / 1000) : r.EndedAt || r.UpdatedAt;
  return h(
    "section",
    { class: "panel", "aria-labelledby": "gradual-chart-title" },
    h("h2", { id: "gradual-chart-title" }, "Adoption"),
    h(
      "p",
      { class: "muted small" },
      "Installs reported by host apps since the release started, per version, in 5-minute steps; the dashed line is the share of devices offered the new version.",
    ),
    h(
      "figure",
      { class: "chart" },
      adoptionChart({ adoption: report.Adoption, events: report.Events, names, until }),
      h("figcaption", {}, chartLegend(report.Adoption, names)),
    ),
  );
}

function historyPanel(events) {
  return h(
    "section",
    { class: "panel", "aria-labelledby": "gradual-history-title" },
    h("h2", { id: "gradual-history-title" }, "History"),
    table(
      [
        { label: "When", cell: (e) => when(e.Time) },
        { label: "What", cell: (e) => EVENT_WORDS[e.Action] || e.Action },
        { label: "State", cell: (e) => badge(e.State, STATE_TONE[e.State] || "neutral") },
        { label: "Share", cell: (e) => pct(e.Percentage) },
        { label: "Who", cell: (e) => e.User || "—" },
        { label: "Detail", class: "wrap", cell: (e) => e.Detail || "—" },
      ],
      [...events].reverse(),
      { caption: "History of the gradual release", rowAttrs: (e) => ({ "data-event": e.Action }) },
    ),
  );
}

/** Versions a gradual release may offer: approved and never released. */
function candidates(stages, history) {
  const released = new Set(history.map((v) => v.MNPVersionId));
  const seen = new Map();
  for (const s of stages) {
    if (s.ApprovalStatus === 3 && !released.has(s.MNPVersionId)) seen.set(s.MNPVersionId, s.MNPVersion);
  }
  return [...seen.entries()];
}

function startForm(stages, history, after) {
  const slot = errorSlot();
  const versions = candidates(stages, history);
  const select = h(
    "select",
    { required: true },
    versions.map(([id, v]) => h("option", { value: String(id) }, `${v} (id ${id})`)),
  );
  const percentage = h("input", { type: "number", min: "0", max: "100", step: "0.1", value: "10", required: true, inputmode: "decimal" });
  const devices = h("textarea", { rows: 2, autocomplete: "off", placeholder: "one device id per line" });
  const threshold = h("input", { type: "number", min: "0", max: "100", step: "0.1", placeholder: "5", inputmode: "decimal" });
  const minSample = h("input", { type: "number", min: "1", step: "1", placeholder: "100", inputmode: "numeric" });
  const submit = allowedTo(
    "CreateGradualRelease",
    h("button", { type: "submit", class: "btn primary" }, "Start gradual release"),
  );
  const form = h(
    "form",
    { class: "panel form-grid", "aria-labelledby": "gradual-start-title" },
    h("h2", { id: "gradual-start-title", class: "span-all" }, "Start a gradual release"),
    versions.length
      ? [
          field("Version", select, "An approved version never released."),
          field("Percentage", percentage, "The share of devices offered it, 0 to 100."),
          field("Listed devices (optional)", devices, "Devices that get it whatever the share, e.g. testers' phones."),
          field("Failure threshold % (optional)", threshold, "It halts by itself when this share of installs fails."),
          field("Minimum sample (optional)", minSample, "Installs reported before the threshold applies."),
          h("div", { class: "span-all" }, slot.el),
          h("div", { class: "form-actions span-all" }, submit),
        ]
      : h("p", { class: "empty span-all" }, "No approved, unreleased version: submit one for approval on the Versions tab."),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(
      submit,
      async () => {
        const params = {
          MNPVersionId: Number(select.value),
          Percentage: Number(percentage.value),
          DeviceIds: devices.value.split(/[\s,]+/).filter(Boolean),
        };
        if (threshold.value !== "") params.FailureThreshold = Number(threshold.value);
        if (minSample.value !== "") params.MinSample = Number(minSample.value);
        await onPlatform("CreateGradualRelease", params);
        await after(`Started offering ${select.selectedOptions[0].textContent} to ${pct(params.Percentage)} of devices`);
      },
      slot,
    );
  });
  return form;
}

