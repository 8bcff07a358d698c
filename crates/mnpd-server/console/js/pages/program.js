// One mini program: its versions by stage (DescribeMNPAllStageVersions) with
// approval and release actions, new versions (CreateMNPVersion) and their
// tasks, releases and rollback, the gradual release (pages/gradual.js),
// and the preview QR code.

import { onPlatform, servedPath } from "../api.js";
import * as tasks from "../tasks.js";
import { prettyType } from "./programs.js";
import { gradualTab } from "./gradual.js";
import {
  h,
  clear,
  allowedTo,
  field,
  errorSlot,
  busy,
  toast,
  table,
  loading,
  avatar,
  mono,
  when,
  badge,
  button,
  confirmInline,
  approvalBadge,
  taskBadge,
  programStatusBadge,
} from "../ui.js";

const TABS = [
  ["versions", "Versions"],
  ["releases", "Releases"],
  ["gradual", "Gradual release"],
  ["preview", "Preview"],
];

export async function renderProgram(ctx) {
  const mnpId = ctx.parts[1];
  const tab = TABS.some(([t]) => t === ctx.parts[2]) ? ctx.parts[2] : "versions";
  ctx.view.append(loading());
  const r = await onPlatform("DescribeMNP", { MNPId: mnpId });
  if (ctx.signal.aborted) return;
  const mnp = r.Data || {};
  const base = `#/programs/${encodeURIComponent(mnpId)}`;

  const body = h("div", { class: "tab-body" });
  clear(
    ctx.view,
    h(
      "nav",
      { class: "crumbs", "aria-label": "Breadcrumb" },
      h("a", { href: "#/programs" }, "Mini programs"),
      h("span", { "aria-hidden": "true" }, " / "),
      h("span", {}, mnp.MNPName),
    ),
    h(
      "div",
      { class: "program-head" },
      avatar(mnp.MNPName),
      h(
        "div",
        { class: "program-title" },
        h("h1", {}, mnp.MNPName, " ", programStatusBadge(mnp.Status)),
        h(
          "p",
          { class: "muted" },
          mono(mnp.MNPId),
          " · ",
          prettyType(mnp.MNPType),
          mnp.TeamName ? ` · ${mnp.TeamName}` : "",
        ),
        mnp.MNPIntro ? h("p", { class: "intro" }, mnp.MNPIntro) : null,
      ),
    ),
    h(
      "nav",
      { class: "subtabs", "aria-label": "Mini program sections" },
      TABS.map(([t, label]) =>
        h("a", { href: `${base}/${t}`, "aria-current": t === tab ? "page" : undefined }, label),
      ),
    ),
    body,
  );

  if (tab === "versions") await versionsTab(ctx, mnp, body, base);
  else if (tab === "releases") await releasesTab(ctx, mnp, body);
  else if (tab === "gradual") await gradualTab(ctx, mnp, body);
  else await previewTab(ctx, mnp, body, base);
}

// ---------------------------------------------------------------- versions

const PHASES = [
  ["Develop", "Development", "The latest version of each creator"],
  ["Platform", "Approval", "The latest version submitted for approval"],
  ["Online", "Online", "The version users get"],
];

function bump(version) {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version || "");
  return m ? `${m[1]}.${m[2]}.${Number(m[3]) + 1}` : "1.0.0";
}

function greater(a, b) {
  const pa = (a || "0.0.0").split(".").map(Number);
  const pb = (b || "0.0.0").split(".").map(Number);
  for (let i = 0; i < 3; i += 1) if ((pa[i] || 0) !== (pb[i] || 0)) return (pa[i] || 0) > (pb[i] || 0);
  return false;
}

async function versionsTab(ctx, mnp, body, base) {
  const pid = ctx.platformId;
  const slot = errorSlot();
  const stagesHost = h("div", { class: "stages" }, loading());
  const tasksHost = h("div");
  const form = newVersionForm(ctx, mnp);

  body.append(
    h(
      "section",
      { class: "panel", "aria-labelledby": "stages-title" },
      h(
        "div",
        { class: "panel-head" },
        h("h2", { id: "stages-title" }, "Versions by stage"),
        button("Refresh", () => loadStages().catch((e) => slot.show(e)), "ghost small"),
      ),
      slot.el,
      stagesHost,
    ),
    form.el,
    h(
      "section",
      { class: "panel", "aria-labelledby": "tasks-title" },
      h("h2", { id: "tasks-title" }, "Version tasks"),
      tasksHost,
    ),
  );

  async function loadStages() {
    const [stagesR, historyR] = await Promise.all([
      onPlatform("DescribeMNPAllStageVersions", { MNPId: mnp.MNPId }),
      onPlatform("DescribeMNPReleasedVersionHistory", { MNPId: mnp.MNPId }),
    ]);
    if (ctx.signal.aborted) return;
    const stages = stagesR.Data || [];
    const released = new Set((historyR.Data?.DataList || []).map((v) => v.MNPVersionId));
    clear(stagesHost, stageCards(stages, released));
    // The next number follows the greatest version of any creator.
    let latest = "";
    for (const s of stages) if (s.Phase === "Develop" && greater(s.MNPVersion, latest)) latest = s.MNPVersion;
    for (const t of tasks.ofPlatform(pid)) {
      if (t.MNPId === mnp.MNPId && t.TaskStatus !== 30 && greater(t.MNPVersion, latest)) latest = t.MNPVersion;
    }
    form.suggest(latest ? bump(latest) : "1.0.0");
  }

  function stageCards(stages, released) {
    // One Platform and one Online row at most; a Develop row per creator.
    const rowsOf = (phase) => stages.filter((s) => s.Phase === phase);
    const online = rowsOf("Online")[0];
    // A version's actions appear once, on the furthest stage it reached.
    const owner = {};
    for (const phase of ["Online", "Platform", "Develop"]) {
      for (const row of rowsOf(phase)) if (!(row.MNPVersionId in owner)) owner[row.MNPVersionId] = phase;
    }
    return PHASES.map(([phase, title, blurb]) => {
      const rows = rowsOf(phase);
      const card = h(
        "article",
        { class: "stage", "data-phase": phase, "aria-label": `${title} stage` },
        h("header", {}, h("h3", {}, title), h("small", { class: "muted" }, blurb)),
      );
      if (!rows.length) {
        card.append(
          h(
            "p",
            { class: "empty" },
            phase === "Develop"
              ? "No version yet: create one below."
              : phase === "Platform"
                ? "Nothing submitted for approval."
                : "Nothing released yet.",
          ),
        );
        return card;
      }
      for (const row of rows) card.append(stageEntry(phase, row, online, released, owner));
      return card;
    });
  }

  function stageEntry(phase, row, online, released, owner) {
    const isOnline = online && online.MNPVersionId === row.MNPVersionId;
    const tags = h("div", { class: "tags" });
    if (phase === "Online") {
      tags.append(badge("Serving", "good"));
      if (row.RollbackVersion === 1) tags.append(badge("Rolled back", "warn"));
    } else {
      tags.append(approvalBadge(row.ApprovalStatus));
      if (isOnline) tags.append(badge("Online", "good"));
      else if (released.has(row.MNPVersionId)) tags.append(badge("Released before", "neutral"));
    }
    if (row.ShowCase === 1) tags.append(badge("Preview / trial", "info"));
    const entry = h(
      "div",
      { class: "stage-entry", "data-creator": row.CreateUser || "" },
      h(
        "div",
        { class: "stage-version" },
        h("span", { class: "version" }, row.MNPVersion),
        h("small", { class: "muted" }, `id ${row.MNPVersionId}`),
      ),
      tags,
      row.MNPVersionIntro ? h("p", { class: "stage-intro" }, row.MNPVersionIntro) : null,
      h("p", { class: "muted small created-by" }, `Created ${when(row.CreateTime)}`, row.CreateUser ? ` by ${row.CreateUser}` : ""),
    );
    if (owner[row.MNPVersionId] === phase) {
      entry.append(stageActions(row, isOnline, released.has(row.MNPVersionId)));
    }
    return entry;
  }

  function stageActions(row, isOnline, wasReleased) {
    const acts = h("div", { class: "actions" });
    const v = row.MNPVersion;
    const id = row.MNPVersionId;
    const act = (label, tone, run) => {
      const b = button(label, () => busy(b, run, slot), tone);
      return b;
    };
    const after = async (message) => {
      toast(message);
      await loadStages();
    };
    if (!isOnline) {
      if (row.ApprovalStatus === 1) {
        acts.append(
          h("a", { class: "btn primary", href: "#/approvals" }, "Review"),
          allowedTo(
            "CreateMNPApproval",
            act("Withdraw", "ghost", async () => {
              await onPlatform("CreateMNPApproval", { MNPVersionId: id, ApplyAction: "cancel" });
              await after(`Withdrew the approval of ${v}`);
            }),
          ),
        );
      } else if (row.ApprovalStatus === 3 && !wasReleased) {
        const release = button(
          "Release",
          () =>
            confirmInline(
              acts,
              `Release ${v} to every user?`,
              "Release now",
              async () => {
                await onPlatform("ReleaseMNPVersion", { MNPVersionId: id });
                toast(`Released ${v}`);
                // The mini program's own status may change too: draw it all again.
                ctx.rerender();
              },
              slot,
            ),
          "primary",
        );
        acts.append(allowedTo("ReleaseMNPVersion", release));
      } else if (!wasReleased) {
        acts.append(
          allowedTo(
            "CreateMNPApproval",
            act(row.ApprovalStatus === 0 ? "Submit for approval" : "Resubmit for approval", "primary", async () => {
              await onPlatform("CreateMNPApproval", { MNPVersionId: id, ApplyAction: "submit" });
              await after(`Submitted ${v} for approval`);
            }),
          ),
        );
      }
    }
    acts.append(h("a", { class: "btn ghost", href: `${base}/preview?version=${id}` }, "Preview QR"));
    return acts;
  }

  function renderTasks() {
    const mine = tasks.ofPlatform(pid).filter((t) => t.MNPId === mnp.MNPId);
    clear(
      tasksHost,
      table(
        [
          { label: "Version", cell: (t) => (t.MNPVersion ? mono(t.MNPVersion) : "—") },
          { label: "Status", cell: (t) => taskBadge(t.TaskStatus) },
          { label: "Message", class: "wrap", cell: (t) => t.TaskMsg || "—" },
          { label: "Task", cell: (t) => mono(t.TaskId) },
          { label: "Started", cell: (t) => when(t.AddedAt) },
        ],
        mine,
        {
          caption: "Version tasks",
          empty: "No task followed here. Versions created with an SDK, tccli or `mnpd upload` still appear in the stages above; follow their TaskId on the Tasks page.",
          rowAttrs: (t) => ({ "data-task": t.TaskId }),
        },
      ),
    );
  }

  window.addEventListener(
    "mnpd:tasks",
    (e) => {
      renderTasks();
      if ((e.detail.finished || []).some((t) => t.MNPId === mnp.MNPId)) {
        loadStages().catch((err) => slot.show(err));
      }
    },
    { signal: ctx.signal },
  );
  renderTasks();
  await loadStages();
}

function newVersionForm(ctx, mnp) {
  const version = h("input", {
    type: "text",
    required: true,
    pattern: "\\d+\\.\\d+\\.\\d+",
    inputmode: "decimal",
    autocomplete: "off",
  });
  let touched = false;
  version.addEventListener("input", () => {
    touched = true;
  });
  const fileUrl = h("input", { type: "url", required: true, placeholder: "https://…/package.zip" });
  const intro = h("input", { type: "text", required: true, maxlength: 200, placeholder: "What changed" });
  const slot = errorSlot();
  const submit = allowedTo("CreateMNPVersion", h("button", { type: "submit", class: "btn primary" }, "Create version"));
  const form = h(
    "form",
    { class: "panel form-grid", "aria-labelledby": "new-version-title" },
    h("h2", { id: "new-version-title", class: "span-all" }, "New version"),
    field("Version", version, "MAJOR.MINOR.PATCH, greater than the versions before."),
    field("Package URL", fileUrl, "A zip mnpd downloads: app.json (or game.json + game.js) at its root."),
    h("div", { class: "span-all" }, field("What's new", intro)),
    h("div", { class: "span-all" }, slot.el),
    h("div", { class: "form-actions span-all" }, submit),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    await busy(
      submit,
      async () => {
        const params = {
          MNPId: mnp.MNPId,
          MNPVersion: version.value.trim(),
          FileUrl: fileUrl.value.trim(),
          MNPVersionIntro: intro.value.trim(),
        };
        const r = await onPlatform("CreateMNPVersion", params);
        const taskId = r.Data?.TaskId;
        tasks.track({
          TaskId: taskId,
          PlatformId: ctx.platformId,
          MNPId: mnp.MNPId,
          MNPName: mnp.MNPName,
          MNPVersion: params.MNPVersion,
        });
        toast(`Version ${params.MNPVersion}: task ${taskId} started`);
        touched = false;
        intro.value = "";
      },
      slot,
    );
  });
  return {
    el: form,
    suggest(v) {
      if (!touched) version.value = v;
    },
  };
}

// ---------------------------------------------------------------- releases

async function releasesTab(ctx, mnp, body) {
  const slot = errorSlot();
  const [onlineR, historyR, stagesR, approvalsR] = await Promise.all([
    onPlatform("DescribeOnlineVersion", { MNPId: mnp.MNPId }),
    onPlatform("DescribeMNPReleasedVersionHistory", { MNPId: mnp.MNPId }),
    onPlatform("DescribeMNPAllStageVersions", { MNPId: mnp.MNPId }),
    onPlatform("DescribeMNPApprovalList", { Keyword: mnp.MNPId, ApprovalStatusList: [3], Offset: 0, Limit: 1000 }),
  ]);
  if (ctx.signal.aborted) return;
  const online = onlineR.Data?.DataList?.[0];
  const history = historyR.Data?.DataList || [];
  const onlineStage = (stagesR.Data || []).find((s) => s.Phase === "Online");
  const rolledBack = onlineStage && onlineStage.RollbackVersion === 1;
  const onlineIndex = online ? history.findIndex((r) => r.MNPVersionId === online.MNPVersionId) : -1;
  // No answer names who released; who submitted and approved each
  // released version is in its approval.
  const approvalOf = approvedBy((approvalsR.Data?.DataList || []).filter((a) => a.MNPId === mnp.MNPId));

  const onlinePanel = h(
    "section",
    { class: "panel", "aria-labelledby": "online-title" },
    h("h2", { id: "online-title" }, "Online now"),
    online
      ? h(
          "div",
          { class: "online-now" },
          h("span", { class: "version big" }, online.MNPVersion),
          h(
            "div",
            {},
            h("div", { class: "tags" }, badge("Serving", "good"), rolledBack ? badge("Rolled back", "warn") : null),
            h("p", { class: "muted small" }, `Version id ${online.MNPVersionId} · since ${when(online.UpdateTime)}`),
            onlineStage?.CreateUser ? h("p", { class: "muted small created-by" }, `Created by ${onlineStage.CreateUser}`) : null,
            online.MNPVersionNote ? h("p", {}, online.MNPVersionNote) : null,
          ),
        )
      : h("p", { class: "empty" }, "Nothing released yet. Release an approved version from the Versions tab."),
  );

  const rollbackCell = (row, index) => {
    const host = h("div", { class: "actions" });
    if (online && row.MNPVersionId === online.MNPVersionId) {
      host.append(badge("Online", "good"));
    } else if (online && index > onlineIndex && !rolledBack) {
      host.append(
        allowedTo(
          "RollbackMNPVersion",
          button(
          "Roll back to this",
          () =>
            confirmInline(
              host,
              `Put ${row.MNPVersion} back online instead of ${online.MNPVersion}?`,
              "Roll back",
              async () => {
                await onPlatform("RollbackMNPVersion", {
                  MNPId: mnp.MNPId,
                  MNPVersionId: row.MNPVersionId,
                  MNPVersion: row.MNPVersion,
                });
                toast(`Rolled back to ${row.MNPVersion}`);
                ctx.rerender();
              },
              slot,
            ),
          "ghost",
          ),
        ),
      );
    }
    return host;
  };

  body.append(
    onlinePanel,
    h(
      "section",
      { class: "panel", "aria-labelledby": "history-title" },
      h("h2", { id: "history-title" }, "Release history"),
      rolledBack
        ? h("p", { class: "muted small" }, "After a rollback, release a new version before rolling back again.")
        : null,
      slot.el,
      table(
        [
          { label: "Version", cell: (r) => mono(r.MNPVersion) },
          { label: "Version id", cell: (r) => String(r.MNPVersionId) },
          { label: "Note", class: "wrap", cell: (r) => r.MNPVersionNote || "—" },
          { label: "Released", cell: (r) => when(r.UpdateTime) },
          { label: "Submitted by", cell: (r) => approvalOf.get(r.MNPVersionId)?.submitter || "—" },
          { label: "Approved by", cell: (r) => approvalOf.get(r.MNPVersionId)?.approvers || "—" },
          { label: "", class: "row-actions", cell: (r) => rollbackCell(r, history.indexOf(r)) },
        ],
        history,
        {
          caption: "Release history",
          empty: "No release yet.",
          rowAttrs: (r) => ({ "data-version": r.MNPVersion }),
        },
      ),
    ),
  );
}

/** MNPVersionId -> who submitted and who approved its latest approved
 * approval, from DescribeMNPApprovalList rows (one per application). */
function approvedBy(rows) {
  const latest = new Map();
  for (const r of rows) {
    const seen = latest.get(r.MNPVersionId);
    if (seen && seen.no !== r.ApprovalNo && Number(seen.time) >= Number(r.ApplyTime)) continue;
    const entry = seen && seen.no === r.ApprovalNo ? seen : { no: r.ApprovalNo, time: r.ApplyTime, submitter: r.ApplyUser, by: new Set() };
    if (r.ApprovalUser) entry.by.add(r.ApprovalUser);
    latest.set(r.MNPVersionId, entry);
  }
  for (const e of latest.values()) e.approvers = [...e.by].join(", ");
  return latest;
}

// ---------------------------------------------------------------- preview

async function previewTab(ctx, mnp, body, base) {
  const slot = errorSlot();
  const stagesR = await onPlatform("DescribeMNPAllStageVersions", { MNPId: mnp.MNPId });
  if (ctx.signal.aborted) return;
  const stages = stagesR.Data || [];
  const versions = [];
  for (const s of stages) {
    let v = versions.find((x) => x.id === s.MNPVersionId);
    if (!v) {
      v = { id: s.MNPVersionId, version: s.MNPVersion, phases: [], showCase: false };
      versions.push(v);
    }
    v.phases.push(s.Phase);
    if (s.ShowCase === 1) v.showCase = true;
  }
  const wanted = Number(ctx.query.get("version")) || 0;

  // The API has no "which version is the preview" call: ask about the
  // versions marked ShowCase (preview or trial) and the one asked for.
  let current = null;
  const candidates = [...new Set([...versions.filter((v) => v.showCase).map((v) => v.id), wanted].filter(Boolean))];
  for (const id of candidates) {
    try {
      const r = await onPlatform("DescribeMNPPreview", { MNPId: mnp.MNPId, MNPVersionId: id });
      current = { ...r.Data, MNPVersionId: id };
      break;
    } catch {
      // Not the preview version.
    }
  }
  if (ctx.signal.aborted) return;

  const currentPanel = h(
    "section",
    { class: "panel", "aria-labelledby": "preview-title" },
    h("h2", { id: "preview-title" }, "Preview QR code"),
  );
  if (current) {
    const src = servedPath(current.QRCodeUrl, "/qrcode/");
    const stop = allowedTo("ConfigureMNPPreview", button(
      "Stop preview",
      () =>
        busy(
          stop,
          async () => {
            await onPlatform("ConfigureMNPPreview", {
              MNPId: mnp.MNPId,
              MNPVersionId: current.MNPVersionId,
              ActionType: 2,
            });
            toast(`Stopped the preview of ${current.MNPVersion}`);
            ctx.go(`${base}/preview`);
          },
          slot,
        ),
      "ghost",
    ));
    currentPanel.append(
      h(
        "div",
        { class: "qr-box" },
        h(
          "figure",
          { class: "qr" },
          h("img", {
            src,
            width: 232,
            height: 232,
            alt: `QR code opening ${mnp.MNPName} ${current.MNPVersion} for preview`,
          }),
          h("figcaption", {}, "Scan with a host app to open this version."),
        ),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Version"),
          h("dd", {}, mono(current.MNPVersion), ` (id ${current.MNPVersionId})`),
          h("dt", {}, "Opens at"),
          h("dd", {}, mono(current.PreviewEntrancePath || "—")),
          h("dt", {}, "Image"),
          h("dd", {}, h("a", { href: src, target: "_blank", rel: "noopener noreferrer" }, "Open the PNG")),
          h("dd", { class: "actions" }, stop),
        ),
      ),
    );
  } else {
    currentPanel.append(h("p", { class: "empty" }, "No preview version is set. Choose one below."));
  }

  const select = h(
    "select",
    { required: true },
    versions.map((v) =>
      h(
        "option",
        { value: String(v.id), selected: v.id === (wanted || current?.MNPVersionId) },
        `${v.version} (${v.phases.join(", ")})`,
      ),
    ),
  );
  const path = h("input", { type: "text", placeholder: "the entry page", autocomplete: "off" });
  const submit = allowedTo(
    "ConfigureMNPPreview",
    h("button", { type: "submit", class: "btn primary" }, current ? "Show this version instead" : "Show QR code"),
  );
  const form = h(
    "form",
    { class: "panel form-grid", "aria-labelledby": "set-preview-title" },
    h("h2", { id: "set-preview-title", class: "span-all" }, "Preview a version"),
    versions.length
      ? [
          field("Version", select),
          field("Entrance path (optional)", path, "A page of the version, e.g. pages/index/index?from=qr"),
          h("div", { class: "span-all" }, slot.el),
          h("div", { class: "form-actions span-all" }, submit),
        ]
      : h("p", { class: "empty span-all" }, "No version yet."),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const id = Number(select.value);
    await busy(
      submit,
      async () => {
        if (current && current.MNPVersionId !== id) {
          await onPlatform("ConfigureMNPPreview", {
            MNPId: mnp.MNPId,
            MNPVersionId: current.MNPVersionId,
            ActionType: 2,
          });
        }
        const params = { MNPId: mnp.MNPId, MNPVersionId: id, ActionType: 1 };
        if (path.value.trim()) params.PreivewEntrancePath = path.value.trim();
        await onPlatform("ConfigureMNPPreview", params);
        toast("Preview QR code ready");
        ctx.go(`${base}/preview?version=${id}`);
      },
      slot,
    );
  });

  body.append(currentPanel, form);
}
