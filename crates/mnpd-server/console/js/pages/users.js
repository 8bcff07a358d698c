// The platform's users, a platform admin's page (platform.users):
// DescribeUserList, CreateUser and ModifyUserPassword. A password is
// encrypted here under a fresh CreatePresetKey key (preset.js; the scheme of
// docs/organization.md, "Preset keys") and its field emptied at once: it is
// never sent in clear nor kept. The API has no call that disables a user
// (ModifyUser has no Status), so the page shows the status only.

import { call, onPlatform } from "../api.js";
import { encryptPassword } from "../preset.js";
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
  when,
  pager,
  searchBar,
  newFormToggle,
  pageLink,
} from "../ui.js";

const PAGE = 20;

const ACCOUNT_TYPES = {
  1: ["Super admin", "info"],
  2: ["Platform admin", "info"],
  3: ["Member", "neutral"],
};

function accountType(t) {
  const [text, tone] = ACCOUNT_TYPES[t] || [`Type ${t}`, "neutral"];
  return badge(text, tone);
}

/** `{KeyId, Password}` for a request: the password sealed under a new preset key. */
async function sealed(input) {
  const password = input.value;
  input.value = "";
  // The key belongs to the account, not a platform: the action takes no parameter.
  const key = (await call("CreatePresetKey", {})).Data?.Key;
  return { KeyId: key, Password: await encryptPassword(key, password) };
}

function passwordInput() {
  return h("input", { type: "password", required: true, autocomplete: "new-password", minlength: 8, maxlength: 64 });
}

const PASSWORD_HELP = "8 to 64 characters, with three of: lower case, upper case, digits, other characters; not the account itself.";

export async function renderUsers(ctx) {
  const { view, query, platformId } = ctx;
  const keyword = query.get("q") || "";
  const offset = Math.max(0, Number(query.get("offset")) || 0);
  const link = (q, o) => pageLink("#/users", q, o);

  const createHost = h("div");
  const newButton = newFormToggle("CreateUser", "New user", createHost, () => createUserForm(ctx));
  const listHost = h("div", {}, loading());
  const slot = errorSlot();
  clear(
    view,
    pageHeader("Users", `Platform ${platformId}: who may sign in to the console. Teams give them roles.`, newButton),
    createHost,
    h(
      "section",
      { class: "panel" },
      searchBar(ctx, keyword, "Search users", "Search by account or name", (q) => link(q, 0)),
      slot.el,
      listHost,
    ),
  );

  const r = await onPlatform("DescribeUserList", { Offset: offset, Limit: PAGE, ...(keyword ? { Keyword: keyword } : {}) });
  if (ctx.signal.aborted) return;
  const total = r.Data?.TotalCount || 0;
  clear(
    listHost,
    table(
      [
        {
          label: "User",
          class: "main-cell",
          cell: (u) => h("span", {}, h("strong", {}, u.UserName), h("small", { class: "mono muted block" }, u.UserAccount)),
        },
        { label: "Type", cell: (u) => accountType(u.AccountType) },
        { label: "Status", cell: (u) => (u.Status === 2 ? badge("Disabled", "bad") : badge("Enabled", "good")) },
        { label: "Teams", class: "wrap", cell: (u) => u.TeamName || "—" },
        { label: "Created", cell: (u) => when(u.CreateTime) },
        { label: "", class: "row-actions", cell: (u) => resetPassword(u, slot) },
      ],
      r.Data?.DataList || [],
      { caption: "Users", empty: keyword ? `No user matches “${keyword}”.` : "No user yet.", rowAttrs: (u) => ({ "data-user": u.UserAccount }) },
    ),
    pager(total, offset, PAGE, (o) => link(keyword, o)),
  );
}

/** "Reset password": opens a password field in the row; ModifyUserPassword. */
function resetPassword(u, slot) {
  const host = h("div", { class: "actions" });
  const open = allowedTo("ModifyUserPassword", h("button", { type: "button", class: "btn ghost small" }, "Reset password"));
  open.setAttribute("aria-label", `Reset the password of ${u.UserAccount}`);
  open.addEventListener("click", () => {
    const input = passwordInput();
    input.setAttribute("aria-label", `New password for ${u.UserAccount}`);
    const save = h("button", { type: "submit", class: "btn small primary" }, "Save password");
    const cancel = h("button", { type: "button", class: "btn ghost small", onclick: () => clear(host, open) }, "Cancel");
    const form = h("form", { class: "toolbar" }, input, save, cancel);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const done = await busy(
        save,
        async () => {
          await onPlatform("ModifyUserPassword", { UserId: u.UserId, ...(await sealed(input)) });
          return true;
        },
        slot,
      );
      if (done) {
        toast(`New password set for ${u.UserAccount}: their sessions have ended.`);
        clear(host, open);
      }
    });
    clear(host, form);
    input.focus();
  });
  host.append(open);
  return host;
}

function createUserForm(ctx) {
  const account = h("input", { type: "text", required: true, maxlength: 32, autocomplete: "off", autocapitalize: "off" });
  const name = h("input", { type: "text", required: true, maxlength: 32, autocomplete: "off" });
  const type = h(
    "select",
    {},
    h("option", { value: "3" }, "Member"),
    h("option", { value: "2" }, "Platform admin"),
  );
  const password = passwordInput();
  const slot = errorSlot();
  const submit = allowedTo("CreateUser", h("button", { type: "submit", class: "btn primary" }, "Create user"));
  const form = h(
    "form",
    { class: "form-grid sub-form", "aria-labelledby": "new-user-title" },
    h("h3", { id: "new-user-title", class: "span-all" }, "New user"),
    field("Account", account, "The sign-in name: 2–32 letters, digits, `_ - . @`."),
    field("Name", name),
    field("Type", type, "A platform admin manages teams and users; a member does what their team roles allow."),
    field("Password", password, PASSWORD_HELP),
    h("div", { class: "span-all" }, slot.el),
    h("div", { class: "form-actions span-all" }, submit),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const who = account.value.trim();
    await busy(
      submit,
      async () => {
        const r = await onPlatform("CreateUser", {
          UserAccount: who,
          UserName: name.value.trim(),
          AccountType: Number(type.value),
          ...(await sealed(password)),
        });
        toast(`Created user ${who} (${r.Data?.ResourceId}): add them to a team on the Teams page.`);
        ctx.go("#/users");
        ctx.rerender();
      },
      slot,
    );
  });
  return form;
}
