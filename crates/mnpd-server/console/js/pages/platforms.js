// Platforms and their host applications. The API has no call that lists an
// account's platforms, so the console keeps the ids it was given and checks
// each with a signed call; host applications come from
// DescribeApplicationList / CreateApplication.

import { call, onPlatform } from "../api.js";
import * as session from "../session.js";
import * as tasks from "../tasks.js";
import {
  h,
  clear,
  allowedTo,
  field,
  errorSlot,
  busy,
  toast,
  table,
  pageHeader,
  loading,
  mono,
  when,
  badge,
  button,
  rich,
} from "../ui.js";

export async function renderPlatforms(ctx) {
  const { view } = ctx;
  const platformsHost = h("div", {}, loading());
  const appsHost = h("div", {}, loading());
  // A user belongs to one platform; an API key's account may have several.
  const asUser = session.load()?.kind === "user";
  clear(
    view,
    pageHeader("Platforms", "A platform holds mini programs, teams and the host applications that approve versions."),
    asUser
      ? h(
          "section",
          { class: "panel", "aria-labelledby": "platforms-title" },
          h("h2", { id: "platforms-title" }, "Your platform and roles"),
          h("p", {}, mono(ctx.platformId)),
          table(
            [
              { label: "Team", cell: (t) => h("span", {}, t.TeamName, h("small", { class: "mono muted block" }, t.TeamId)) },
              { label: "Role", cell: (t) => (t.IsAdmin ? h("span", {}, t.RoleName, " ", badge("Team admin", "info")) : t.RoleName) },
            ],
            session.load().user.Teams || [],
            { caption: "Your roles", empty: "You are in no team yet: a team admin can add you." },
          ),
        )
      : h(
          "section",
          { class: "panel", "aria-labelledby": "platforms-title" },
          h("h2", { id: "platforms-title" }, "Your platforms"),
          h(
            "p",
            { class: "muted small" },
            rich("The API has no call listing platforms: add the ids you use (`mnpd admin platform list` shows them)."),
          ),
          platformsHost,
          addPlatformForm(ctx),
        ),
    h(
      "section",
      { class: "panel", "aria-labelledby": "apps-title" },
      h("h2", { id: "apps-title" }, `Host applications of ${ctx.platformId}`),
      h(
        "p",
        { class: "muted small" },
        "Approval asks every host application of the platform; a platform needs at least one before a version can be submitted.",
      ),
      appsHost,
    ),
  );
  await Promise.all([asUser ? null : renderPlatformList(ctx, platformsHost), renderApplications(ctx, appsHost)]);
}

async function renderPlatformList(ctx, host) {
  const current = ctx.platformId;
  const ids = session.knownPlatforms();
  if (!ids.includes(current)) ids.unshift(current);
  const rows = await Promise.all(
    ids.map(async (id) => {
      try {
        const [m, a] = await Promise.all([
          call("DescribeMNPList", { Offset: 0, Limit: 1, PlatformId: id }),
          call("DescribeApplicationList", { Offset: 0, Limit: 1, PlatformId: id }),
        ]);
        return { id, programs: m.Data?.TotalCount ?? 0, apps: a.Data?.TotalCount ?? 0 };
      } catch (err) {
        return { id, error: err };
      }
    }),
  );
  if (ctx.signal.aborted) return;
  clear(
    host,
    table(
      [
        { label: "Platform", cell: (r) => mono(r.id) },
        {
          label: "State",
          cell: (r) =>
            r.error ? badge(r.error.code, "bad") : r.id === current ? badge("Current", "info") : badge("Reachable", "good"),
        },
        { label: "Mini programs", cell: (r) => (r.error ? "—" : String(r.programs)) },
        { label: "Host applications", cell: (r) => (r.error ? "—" : String(r.apps)) },
        {
          label: "",
          class: "row-actions",
          cell: (r) =>
            h(
              "div",
              { class: "actions" },
              r.id !== current && !r.error
                ? button("Use", () => {
                    session.setPlatform(r.id);
                    tasks.resume();
                    toast(`Now on platform ${r.id}`);
                    ctx.rerender();
                  })
                : null,
              r.id !== current
                ? button("Forget", () => {
                    session.forgetPlatform(r.id);
                    ctx.rerender();
                  }, "ghost")
                : null,
            ),
        },
      ],
      rows,
      { caption: "Platforms" },
    ),
  );
}

function addPlatformForm(ctx) {
  const id = h("input", { type: "text", required: true, autocomplete: "off", autocapitalize: "off", placeholder: "T…" });
  const slot = errorSlot();
  const submit = h("button", { type: "submit", class: "btn" }, "Add platform");
  const form = h("form", { class: "toolbar spaced", "aria-label": "Add a platform" }, field("Platform ID", id), submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const pid = id.value.trim();
    await busy(
      submit,
      async () => {
        await call("DescribeMNPList", { Offset: 0, Limit: 1, PlatformId: pid });
        session.rememberPlatform(pid);
        toast(`Added platform ${pid}`);
        ctx.rerender();
      },
      slot,
    );
  });
  return h("div", {}, form, slot.el);
}

/** Team ids the console can see: those of applications and mini programs. */
async function knownTeams(apps) {
  const teams = new Map();
  for (const t of session.load()?.user?.Teams || []) teams.set(t.TeamId, t.TeamName);
  for (const a of apps) if (a.TeamId) teams.set(a.TeamId, a.TeamName || a.TeamId);
  if (!teams.size) {
    const m = await onPlatform("DescribeMNPList", { Offset: 0, Limit: 1 });
    const first = m.Data?.DataList?.[0];
    if (first) {
      const d = await onPlatform("DescribeMNP", { MNPId: first.MNPId });
      if (d.Data?.TeamId) teams.set(d.Data.TeamId, d.Data.TeamName || d.Data.TeamId);
    }
  }
  return teams;
}

async function renderApplications(ctx, host) {
  const r = await onPlatform("DescribeApplicationList", { Offset: 0, Limit: 100 });
  if (ctx.signal.aborted) return;
  const apps = r.Data?.DataList || [];
  const teams = await knownTeams(apps).catch(() => new Map());
  if (ctx.signal.aborted) return;
  clear(
    host,
    table(
      [
        {
          label: "Application",
          cell: (a) => h("span", {}, h("strong", {}, a.ApplicationName), h("small", { class: "mono muted block" }, a.ApplicationID)),
        },
        { label: "Type", cell: (a) => (a.ApplicationType === 1 ? badge("Test", "neutral") : badge("Formal", "info")) },
        { label: "Team", cell: (a) => a.TeamName || a.TeamId || "—" },
        { label: "Introduction", class: "wrap", cell: (a) => a.Intro || "—" },
        { label: "Created", cell: (a) => when(a.CreateTime) },
      ],
      apps,
      { caption: "Host applications", empty: "No host application yet: add one below." },
    ),
    createApplicationForm(ctx, teams),
  );
}

function createApplicationForm(ctx, teams) {
  const name = h("input", { type: "text", required: true, maxlength: 30, autocomplete: "off" });
  const logo = h("input", { type: "url", required: true, placeholder: "https://example.com/logo.png" });
  const type = h(
    "select",
    {},
    h("option", { value: "2" }, "Formal"),
    h("option", { value: "1" }, "Test"),
  );
  const teamList = h("datalist", { id: "known-teams" }, [...teams].map(([id, label]) => h("option", { value: id }, label)));
  const team = h("input", {
    type: "text",
    required: true,
    list: "known-teams",
    autocomplete: "off",
    value: teams.size ? [...teams.keys()][0] : "",
  });
  const intro = h("input", { type: "text", required: true, maxlength: 200 });
  const slot = errorSlot();
  const submit = allowedTo("CreateApplication", h("button", { type: "submit", class: "btn primary" }, "Add host application"));
  const form = h(
    "form",
    { class: "form-grid sub-form", "aria-labelledby": "new-app-title" },
    h("h3", { id: "new-app-title", class: "span-all" }, "New host application"),
    field("Name", name),
    field("Logo URL", logo),
    field("Type", type),
    field("Team ID", team, "The team printed at first start, or one made with `mnpd admin team create`."),
    h("div", { class: "span-all" }, field("Introduction", intro)),
    teamList,
    h("div", { class: "span-all" }, slot.el),
    h("div", { class: "form-actions span-all" }, submit),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    await busy(
      submit,
      async () => {
        const r = await onPlatform("CreateApplication", {
          ApplicationName: name.value.trim(),
          Logo: logo.value.trim(),
          ApplicationType: Number(type.value),
          TeamId: team.value.trim(),
          Intro: intro.value.trim(),
        });
        toast(`Added host application ${name.value.trim()} (${r.Data?.ResourceId})`);
        ctx.rerender();
      },
      slot,
    );
  });
  return form;
}
