// The console's shell: sign-in state, navigation and the hash router.

import * as session from "./session.js";
import * as tasks from "./tasks.js";
import { SESSION_ENDED } from "./api.js";
import { h, clear, errorBox, toast } from "./ui.js";
import { renderSignIn } from "./pages/signin.js";
import { renderPrograms } from "./pages/programs.js";
import { renderProgram } from "./pages/program.js";
import { renderApprovals } from "./pages/approvals.js";
import { renderTasks } from "./pages/tasks.js";
import { renderPlatforms } from "./pages/platforms.js";
import { renderTeams } from "./pages/teams.js";
import { renderUsers } from "./pages/users.js";

const PAGES = {
  programs: { title: "Mini programs", render: (ctx) => (ctx.parts[1] ? renderProgram(ctx) : renderPrograms(ctx)) },
  approvals: { title: "Approvals", render: renderApprovals },
  tasks: { title: "Tasks", render: renderTasks },
  platforms: { title: "Platforms", render: renderPlatforms },
  teams: { title: "Teams", render: renderTeams },
  users: { title: "Users", render: renderUsers },
};

function parseHash() {
  const raw = location.hash.replace(/^#/, "");
  const [path, qs] = raw.split("?");
  const parts = path
    .split("/")
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  return { parts, query: new URLSearchParams(qs || "") };
}

function renderShell(s) {
  const select = document.getElementById("platform-select");
  if (!s) return;
  // The Users page is a platform admin's: a user whose roles cannot create
  // users is not offered it (the page itself still only reads).
  document.querySelector('#nav a[data-page="users"]').hidden = !session.may("CreateUser");
  const who = document.getElementById("who");
  const roles = document.getElementById("roles");
  if (s.kind === "user") {
    // A user belongs to one platform: the picker shows it, nothing to pick.
    clear(select, h("option", { value: s.platformId, selected: true }, s.platformId));
    select.disabled = true;
    const u = s.user;
    clear(who, h("strong", {}, u.Name || u.Account), u.Name && u.Name !== u.Account ? h("span", { class: "muted" }, ` ${u.Account}`) : null);
    const teams = u.Teams || [];
    who.title = [`Signed in as ${u.Account}`, ...teams.map((t) => `${t.RoleName} · ${t.TeamName}`)].join("\n");
    who.classList.remove("mono");
    clear(
      roles,
      teams.length
        ? teams.map((t) => h("span", { class: "role-chip", title: `Team ${t.TeamId}` }, `${t.RoleName} · ${t.TeamName}`))
        : h("span", { class: "role-chip" }, u.AccountType === 1 || u.AccountType === 2 ? "Platform admin" : "No role yet"),
    );
    roles.hidden = false;
    return;
  }
  const platforms = session.knownPlatforms();
  if (!platforms.includes(s.platformId)) platforms.unshift(s.platformId);
  clear(
    select,
    platforms.map((p) => h("option", { value: p, selected: p === s.platformId }, p)),
  );
  select.disabled = false;
  who.textContent = s.secretId;
  who.title = "SecretId";
  who.classList.add("mono");
  clear(roles);
  roles.hidden = true;
}

let controller = null;
let lastPath = "";

// Shown on the sign-in page once, e.g. why the session ended.
let notice = "";

async function render() {
  if (controller) controller.abort();
  controller = new AbortController();
  const { signal } = controller;
  const main = document.getElementById("main");
  const s = session.load();
  document.body.classList.toggle("signed-in", Boolean(s));
  document.body.classList.toggle("as-user", Boolean(s && s.kind === "user"));
  if (!s) {
    document.title = "Sign in · mnpd console";
    clear(main);
    renderSignIn({ main, signal, onSignedIn, notice });
    notice = "";
    return;
  }
  renderShell(s);
  let { parts, query } = parseHash();
  if (!PAGES[parts[0]]) {
    parts = ["programs"];
    history.replaceState(null, "", "#/programs");
  }
  const page = PAGES[parts[0]];
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.page === parts[0]) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${page.title} · mnpd console`;
  const path = parts.join("/");
  if (path !== lastPath) window.scrollTo(0, 0);
  lastPath = path;

  const view = h("div", { class: "view" });
  clear(main, view);
  const ctx = {
    view,
    parts,
    query,
    signal,
    platformId: s.platformId,
    rerender: () => render(),
    go: (hash) => {
      if (location.hash === hash) render();
      else location.hash = hash;
    },
  };
  try {
    await page.render(ctx);
  } catch (err) {
    if (!signal.aborted) clear(view, errorBox(err));
  }
}

function onSignedIn() {
  tasks.resume();
  if (!location.hash || location.hash === "#/" || location.hash === "#") location.hash = "#/programs";
  else render();
}

function backToSignIn(message) {
  notice = message;
  history.replaceState(null, "", location.pathname);
  render();
}

async function setUp() {
  document.getElementById("signout").addEventListener("click", async () => {
    const wasUser = await session.signOut();
      toast(wasUser ? "Signed out: the session was ended on the server." : "Signed out: the key pair was removed from this tab.");
    history.replaceState(null, "", location.pathname);
    render();
  });
  window.addEventListener(SESSION_ENDED, (e) => {
    if (!session.load() || session.load().kind !== "user") return;
    session.clear();
    backToSignIn(`Your session has ended: ${e.detail.message}.`);
  });
  document.getElementById("platform-select").addEventListener("change", (e) => {
    session.setPlatform(e.target.value);
    tasks.resume();
    render();
  });
  window.addEventListener("hashchange", render);
  window.addEventListener("mnpd:tasks", (e) => {
    for (const t of e.detail.finished || []) {
      const what = `${t.MNPName || t.MNPId || "mini program"}${t.MNPVersion ? ` ${t.MNPVersion}` : ""}`;
      if (t.TaskStatus === 60) toast(`Version ready: ${what}`);
      else toast(`Version task failed: ${what}${t.TaskMsg ? ` — ${t.TaskMsg}` : ""}`, "error");
    }
  });
  const restored = await session.restore();
  if (restored.ended) {
    notice = "Your session has ended (it expired, you were signed out, or your password changed): sign in again.";
  }
  if (session.load()) tasks.resume();
  render();
}

setUp();
