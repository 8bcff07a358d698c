// Teams and their members: DescribeTeamList, CreateTeam and DeleteTeam (a
// platform admin's, platform.teams), then one team's members with
// DescribeTeamMemberList, AddTeamMember, ModifyTeamMember and
// DeleteTeamMember (team.members in that team). The buttons follow the
// session's DeniedActions; whether the permission holds in this very team
// is the server's to say, and its refusal is shown as it comes.

import { onPlatform } from "../api.js";
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
  badge,
  pager,
  searchBar,
  confirmInline,
  newFormToggle,
  pageLink,
} from "../ui.js";

const PAGE = 20;
// As many users and roles as a picker offers; a platform with more users
// is searched on the Users page.
const PICK = 100;

const TEAM_TYPES = {
  1: "Mini program team",
  2: "Host application team",
  3: "Operations team",
};

function teamType(types) {
  const list = types || [];
  if (list.length > 1) return badge("Combined", "info");
  return badge(TEAM_TYPES[list[0]] || "—", "neutral");
}

// The admin role of a team comes with CreateTeam's AdminUserId only: the
// member actions refuse it (docs/organization.md), so pickers leave it out.
const isAdminRole = (r) => /Administrator$/.test(r.RoleName);

export async function renderTeams(ctx) {
  if (ctx.parts[1]) return renderTeam(ctx, ctx.parts[1]);
  const { view, query, platformId } = ctx;
  const keyword = query.get("q") || "";
  const offset = Math.max(0, Number(query.get("offset")) || 0);

  const createHost = h("div");
  const newButton = newFormToggle("CreateTeam", "New team", createHost, () => createTeamForm(ctx));
  const listHost = h("div", {}, loading());
  const slot = errorSlot();
  clear(
    view,
    pageHeader("Teams", `Platform ${platformId}: teams hold mini programs and host applications; their members act by role.`, newButton),
    createHost,
    h(
      "section",
      { class: "panel" },
      searchBar(ctx, keyword, "Search teams", "Search by name", (q) => pageLink("#/teams", q, 0)),
      slot.el,
      listHost,
    ),
  );

  const r = await onPlatform("DescribeTeamList", { Offset: offset, Limit: PAGE, ...(keyword ? { Keyword: keyword } : {}) });
  if (ctx.signal.aborted) return;
  const total = r.Data?.TotalCount || 0;
  clear(
    listHost,
    table(
      [
        {
          label: "Team",
          class: "main-cell",
          cell: (t) =>
            h(
              "a",
              { class: "entity", href: `#/teams/${encodeURIComponent(t.TeamId)}` },
              h("span", {}, h("strong", {}, t.TeamName), h("small", { class: "mono muted" }, t.TeamId)),
            ),
        },
        { label: "Type", cell: (t) => teamType(t.TeamRoleTypeList) },
        { label: "Admin", cell: (t) => h("span", {}, t.AdminUserName || "—", h("small", { class: "muted block" }, t.AdminUserAccount || "")) },
        { label: "Members", cell: (t) => String(t.MemberCount ?? 0) },
        {
          label: "",
          class: "row-actions",
          cell: (t) => {
            const actions = h("div", { class: "actions" });
            const del = allowedTo("DeleteTeam", h("button", { type: "button", class: "btn ghost small" }, "Delete"));
            del.setAttribute("aria-label", `Delete team ${t.TeamName}`);
            del.addEventListener("click", () =>
              confirmInline(
                actions,
                `Delete team ${t.TeamName}? Only a team with nothing in it and no member but its admin can go.`,
                "Delete team",
                async () => {
                  await onPlatform("DeleteTeam", { TeamId: t.TeamId });
                  toast(`Deleted team ${t.TeamName}`);
                  ctx.rerender();
                },
                slot,
              ),
            );
            actions.append(h("a", { class: "btn small", href: `#/teams/${encodeURIComponent(t.TeamId)}` }, "Members"), del);
            return actions;
          },
        },
      ],
      r.Data?.DataList || [],
      { caption: "Teams", empty: keyword ? `No team matches “${keyword}”.` : "No team yet." },
    ),
    pager(total, offset, PAGE, (o) => pageLink("#/teams", keyword, o)),
  );
}

/** Options of the platform's users (first PICK of them), "Name (account)". */
async function userOptions() {
  const r = await onPlatform("DescribeUserList", { Offset: 0, Limit: PICK });
  return (r.Data?.DataList || []).map((u) => h("option", { value: u.UserId }, `${u.UserName} (${u.UserAccount})`));
}

function createTeamForm(ctx) {
  const name = h("input", { type: "text", required: true, maxlength: 30, autocomplete: "off" });
  const type = h(
    "select",
    {},
    Object.entries(TEAM_TYPES).map(([v, label]) => h("option", { value: v }, label)),
  );
  const admin = h("select", { required: true }, h("option", { value: "" }, "Loading…"));
  const related = h("select", {}, h("option", { value: "" }, "None"));
  const relatedField = field("Host application team", related, "A mini program team works for one host application team: its mini programs go to that team's applications.");
  const remark = h("input", { type: "text", maxlength: 200, autocomplete: "off" });
  const slot = errorSlot();
  const submit = allowedTo("CreateTeam", h("button", { type: "submit", class: "btn primary" }, "Create team"));
  const showRelated = () => {
    relatedField.hidden = type.value !== "1";
  };
  type.addEventListener("change", showRelated);
  showRelated();
  const form = h(
    "form",
    { class: "form-grid sub-form", "aria-labelledby": "new-team-title" },
    h("h3", { id: "new-team-title", class: "span-all" }, "New team"),
    field("Team name", name),
    field("Type", type),
    field("Admin", admin, "The user who administers the team (its admin role); create users on the Users page."),
    relatedField,
    h("div", { class: "span-all" }, field("Remark", remark)),
    h("div", { class: "span-all" }, slot.el),
    h("div", { class: "form-actions span-all" }, submit),
  );
  Promise.all([userOptions(), onPlatform("DescribeSimpleTeamList", { TeamRoleTypeList: [2] })])
    .then(([users, apps]) => {
      clear(admin, h("option", { value: "" }, "Choose a user"), users);
      related.append(...(apps.Data?.DataList || []).map((kv) => h("option", { value: kv.Key }, kv.Value)));
    })
    .catch((err) => slot.show(err));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const teamName = name.value.trim();
    await busy(
      submit,
      async () => {
        await onPlatform("CreateTeam", {
          TeamName: teamName,
          AdminUserId: admin.value,
          TeamRoleTypeList: [Number(type.value)],
          ...(type.value === "1" && related.value ? { RelatedTeamId: related.value } : {}),
          ...(remark.value.trim() ? { Remark: remark.value.trim() } : {}),
        });
        toast(`Created team ${teamName}`);
        ctx.rerender();
      },
      slot,
    );
  });
  return form;
}

async function renderTeam(ctx, teamId) {
  const { view, query } = ctx;
  const offset = Math.max(0, Number(query.get("offset")) || 0);
  const base = `#/teams/${encodeURIComponent(teamId)}`;
  const [team, members, roles] = await Promise.all([
    onPlatform("DescribeTeam", { TeamId: teamId }),
    onPlatform("DescribeTeamMemberList", { TeamId: teamId, Offset: offset, Limit: PAGE }),
    onPlatform("DescribeRoleList", { TeamId: teamId, Offset: 0, Limit: PICK }),
  ]);
  if (ctx.signal.aborted) return;
  const t = team.Data || {};
  const assignable = (roles.Data?.DataList || []).filter((r) => !isAdminRole(r));
  const total = members.Data?.TotalCount || 0;
  const slot = errorSlot();
  const roleSelect = (selected, label) =>
    h(
      "select",
      { "aria-label": label },
      assignable.map((r) => h("option", { value: String(r.RoleId), selected: r.RoleId === selected }, r.RoleName)),
    );

  const memberRow = (m) => {
    if (!m.CanEdit) return h("span", {}, m.TeamRoleName, " ", badge("Team admin", "info"));
    const select = roleSelect(m.TeamRoleId, `Role of ${m.UserAccount}`);
    const save = allowedTo("ModifyTeamMember", h("button", { type: "button", class: "btn small" }, "Change role"));
    save.setAttribute("aria-label", `Change the role of ${m.UserAccount}`);
    save.addEventListener("click", () =>
      busy(
        save,
        async () => {
          await onPlatform("ModifyTeamMember", { TeamId: teamId, UserId: m.UserId, RoleId: Number(select.value) });
          toast(`${m.UserAccount} is now ${select.selectedOptions[0].textContent}`);
          ctx.rerender();
        },
        slot,
      ),
    );
    return h("div", { class: "toolbar" }, select, save);
  };
  const removeCell = (m) => {
    const actions = h("div", { class: "actions" });
    if (!m.CanEdit) return actions;
    const remove = allowedTo("DeleteTeamMember", h("button", { type: "button", class: "btn ghost small" }, "Remove"));
    remove.setAttribute("aria-label", `Remove ${m.UserAccount}`);
    remove.addEventListener("click", () =>
      confirmInline(
        actions,
        `Remove ${m.UserName} (${m.UserAccount}) from ${t.TeamName}?`,
        "Remove",
        async () => {
          await onPlatform("DeleteTeamMember", { TeamId: teamId, UserId: m.UserId });
          toast(`Removed ${m.UserAccount} from ${t.TeamName}`);
          ctx.rerender();
        },
        slot,
      ),
    );
    actions.append(remove);
    return actions;
  };

  clear(
    view,
    pageHeader(
      t.TeamName || teamId,
      `Team \`${teamId}\`${t.BindTeamName ? ` · works for ${t.BindTeamName}` : ""} · ${total} member${total === 1 ? "" : "s"}`,
      h("a", { class: "btn ghost", href: "#/teams" }, "All teams"),
    ),
    h(
      "section",
      { class: "panel", "aria-labelledby": "members-title" },
      h("h2", { id: "members-title" }, "Members"),
      slot.el,
      table(
        [
          {
            label: "Member",
            class: "main-cell",
            cell: (m) => h("span", {}, h("strong", {}, m.UserName), h("small", { class: "mono muted block" }, m.UserAccount)),
          },
          { label: "Role", cell: memberRow },
          { label: "", class: "row-actions", cell: removeCell },
        ],
        members.Data?.DataList || [],
        { caption: "Members", empty: "No member yet.", rowAttrs: (m) => ({ "data-member": m.UserAccount }) },
      ),
      pager(total, offset, PAGE, (o) => (o ? `${base}?offset=${o}` : base)),
    ),
    addMemberForm(ctx, teamId, roleSelect(undefined, undefined)),
  );
}

function addMemberForm(ctx, teamId, role) {
  const user = h("select", { required: true }, h("option", { value: "" }, "Loading…"));
  const slot = errorSlot();
  const submit = allowedTo("AddTeamMember", h("button", { type: "submit", class: "btn primary" }, "Add member"));
  const form = h(
    "form",
    { class: "form-grid sub-form panel", "aria-labelledby": "add-member-title" },
    h("h2", { id: "add-member-title", class: "span-all" }, "Add member"),
    field("User", user, "An existing user of the platform; a platform admin creates users on the Users page."),
    field("Role", role),
    h("div", { class: "span-all" }, slot.el),
    h("div", { class: "form-actions span-all" }, submit),
  );
  userOptions()
    .then((options) => clear(user, h("option", { value: "" }, "Choose a user"), options))
    .catch((err) => slot.show(err));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    await busy(
      submit,
      async () => {
        await onPlatform("AddTeamMember", {
          TeamId: teamId,
          MemberList: [{ UserId: user.value, UserRoleId: Number(role.value) }],
        });
        toast(`Added ${user.selectedOptions[0].textContent} as ${role.selectedOptions[0].textContent}`);
        ctx.rerender();
      },
      slot,
    );
  });
  return form;
}
