// The console's shell: sign-in state, navigation and the hash router.

import * as session from "./session.js";
import * as tasks from "./tasks.js";
import { h, clear, errorBox, toast } from "./ui.js";
import { renderSignIn } from "./pages/signin.js";
import { renderPrograms } from "./pages/programs.js";
import { renderProgram } from "./pages/program.js";
import { renderApprovals } from "./pages/approvals.js";
import { renderTasks } from "./pages/tasks.js";
import { renderPlatforms } from "./pages/platforms.js";

const PAGES = {
  programs: { title: "Mini programs", render: (ctx) => (ctx.parts[1] ? renderProgram(ctx) : renderPrograms(ctx)) },
  approvals: { title: "Approvals", render: renderApprovals },
  tasks: { title: "Tasks", render: renderTasks },
  platforms: { title: "Platforms", render: renderPlatforms },
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
  const platforms = session.knownPlatforms();
  if (!platforms.includes(s.platformId)) platforms.unshift(s.platformId);
  clear(
    select,
    platforms.map((p) => h("option", { value: p, selected: p === s.platformId }, p)),
  );
  document.getElementById("who").textContent = s.secretId;
}

let controller = null;
let lastPath = "";

async function render() {
  if (controller) controller.abort();
  controller = new AbortController();
  const { signal } = controller;
  const main = document.getElementById("main");
  const s = session.load();
  document.body.classList.toggle("signed-in", Boolean(s));
  if (!s) {
    document.title = "Sign in · mnpd console";
    clear(main);
    renderSignIn({ main, signal, onSignedIn });
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

function setUp() {
  document.getElementById("signout").addEventListener("click", () => {
    session.clear();
    toast("Signed out: the key pair was removed from this tab.");
    history.replaceState(null, "", location.pathname);
    render();
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
  if (session.load()) tasks.resume();
  render();
}

setUp();
