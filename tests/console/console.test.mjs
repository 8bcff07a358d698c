// End-to-end test of the mnpd web console: the real mnpd binary, a package
// file server, and headless Chromium (Debian's, driven by playwright-core).
// It walks the life of a version through the console at desktop width,
// taking a screenshot of each step at desktop and at phone width (390 px),
// then does it again on an emulated phone. Then two users with different
// roles sign in with their passwords: each sees and may do what the role
// allows, and the server refuses the rest. It checks that the SecretKey and
// the passwords never appear in a request URL, header or body, nor in the
// server's log.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { chromium } from "playwright-core";

import { startMnpd, fileServer, chromiumPath, mnpdBin, REPO_ROOT } from "./lib/mnpd.mjs";
import { miniProgram, brokenMiniProgram } from "./lib/zip.mjs";
import { client } from "./lib/api.mjs";
import { encrypt } from "./lib/preset.mjs";

const RESULTS = resolve(import.meta.dirname, ".results");
const DOCS_IMG = join(REPO_ROOT, "docs", "img");
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
const STEP_TIMEOUT = 20000;
// The README's pictures (docs/img/console-*.png) are written when missing,
// or on request (UPDATE_DOCS_IMG=1), so that test runs leave the tree clean.
const DOCS_PICTURES = ["console-desktop.png", "console-phone.png"];
const UPDATE_DOCS = process.env.UPDATE_DOCS_IMG === "1" || DOCS_PICTURES.some((f) => !existsSync(join(DOCS_IMG, f)));

const secretId = `AKIDconsole${randomBytes(6).toString("hex")}`;
const secretKey = `sk${randomBytes(16).toString("hex")}`;
const wrongKey = `sk${randomBytes(16).toString("hex")}`;
const platformId = `TCONSOLE${randomBytes(4).toString("hex").toUpperCase()}`;
// The platform's super admin, made at first start with this password.
const adminPassword = `Adm-${randomBytes(6).toString("hex")}9`;

let work;
let mnpd;
let files;
let browser;
let api;
// The same client for mnpd's own actions (API version 2026-12-01).
let gradualCall;
// The SecretId of the account's second key, which uploads a version.
let secondId;
const requests = [];
// Every password a user was given or signed in with.
const userPasswords = [adminPassword];
const browserProblems = [];

function watch(context) {
  context.on("request", (req) => {
    requests.push({
      url: req.url(),
      method: req.method(),
      headers: req.headers(),
      body: req.postData() || "",
    });
  });
  context.on("page", (page) => watchPage(page));
}

function watchPage(page) {
  page.on("pageerror", (err) => browserProblems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    // The session endpoint answers a wrong password or a dead cookie with
    // 401 by design; Chromium logs the status of any such fetch.
    const expected = /\/console\/session$/.test(msg.location().url || "") && /status of 401/.test(msg.text());
    if (expected) return;
    if (msg.type() === "error" || /Content Security Policy/i.test(msg.text())) {
      browserProblems.push(`console ${msg.type()}: ${msg.text()}`);
    }
  });
}

/** Screenshots of the page now, at its width and at phone width. */
async function snap(page, name, { docs } = {}) {
  await page.evaluate(() => document.querySelectorAll(".toast").forEach((t) => t.remove()));
  const size = page.viewportSize();
  await page.screenshot({ path: join(RESULTS, `desktop-${name}.png`), fullPage: true });
  if (docs) {
    await page.screenshot({ path: join(RESULTS, "console-desktop.png"), fullPage: false });
  }
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(150);
  await noSideways(page, name);
  await page.screenshot({ path: join(RESULTS, `phone-${name}.png`), fullPage: true });
  await page.setViewportSize(size);
  await page.waitForTimeout(100);
}

/** Nothing wider than the screen: no sideways scrolling at phone width. */
async function noSideways(page, name) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  assert.ok(scroll <= width, `${name}: the page is ${scroll}px wide on a ${width}px screen`);
}

/** A new browser context at desktop width, watched, and its page. */
async function desktopPage() {
  const context = await browser.newContext({ viewport: DESKTOP });
  watch(context);
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  return { context, page };
}

async function signIn(page, key = secretKey) {
  await page.getByRole("tab", { name: "API key" }).click();
  await page.getByLabel("SecretId").fill(secretId);
  await page.getByLabel("SecretKey").fill(key);
  await page.getByLabel("Platform ID").fill(platformId);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Waits until an input shows `value` (the console fills some in once it has loaded). */
async function hasValue(locator, value) {
  const deadline = Date.now() + STEP_TIMEOUT;
  let seen;
  while (Date.now() < deadline) {
    seen = await locator.inputValue();
    if (seen === value) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(seen, value);
}

const stage = (page, phase) => page.locator(`article.stage[data-phase="${phase}"]`);

async function waitTask(page, version, status) {
  const row = page.locator("tr[data-task]").filter({ has: page.locator("code", { hasText: version }) });
  await row.getByText(status, { exact: true }).waitFor({ timeout: STEP_TIMEOUT });
  return row;
}

async function approveIn(page, name, version) {
  await page.getByRole("link", { name: "Approvals", exact: true }).click();
  const card = page.getByRole("article", { name: `Approval of ${name} ${version}` });
  await card.waitFor();
  await card.getByRole("button", { name: "Approve", exact: true }).click();
  await page
    .getByText("Nothing waits for a decision", { exact: false })
    .waitFor({ timeout: STEP_TIMEOUT });
}

async function openProgram(page, name) {
  await page.getByRole("link", { name: "Mini programs", exact: true }).click();
  // The page before (approvals, say) may show cards of the same program
  // until the list has replaced it.
  await page.getByRole("heading", { name: "Mini programs", level: 1 }).waitFor();
  await page.locator("a.entity", { hasText: name }).click();
  await page.getByRole("heading", { level: 1, name: new RegExp(`^${name}`) }).waitFor();
}

describe("mnpd web console", { timeout: 240000 }, () => {
  before(async () => {
    rmSync(RESULTS, { recursive: true, force: true });
    mkdirSync(RESULTS, { recursive: true });
    if (UPDATE_DOCS) mkdirSync(DOCS_IMG, { recursive: true });
    work = mkdtempSync(join(tmpdir(), "mnpd-console-"));
    mnpd = await startMnpd({
      dataDir: join(work, "data"),
      logPath: join(RESULTS, "mnpd.log"),
      secretId,
      secretKey,
      platformId,
      adminPassword,
    });
    files = await fileServer({
      "/grey-1.0.0.zip": miniProgram("Grey 1.0.0"),
      "/grey-1.1.0.zip": miniProgram("Grey 1.1.0"),
      "/shop-1.0.0.zip": miniProgram("Shop 1.0.0"),
      "/shop-1.0.1.zip": brokenMiniProgram(),
      "/shop-1.2.0.zip": miniProgram("Shop 1.2.0"),
      "/news-1.0.0.zip": miniProgram("News 1.0.0"),
      "/shop-1.3.0.zip": miniProgram("Shop 1.3.0"),
    });
    api = client({ endpoint: `${mnpd.url}/`, secretId, secretKey });
    gradualCall = client({ endpoint: `${mnpd.url}/`, secretId, secretKey, version: "2026-12-01" });
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: ["--no-sandbox"],
      headless: true,
    });
  });

  after(async () => {
    if (browser) await browser.close();
    if (files) await files.close();
    if (mnpd) await mnpd.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("serves the console with a strict policy and no sniffing", async () => {
    const redirect = await fetch(`${mnpd.url}/console`, { redirect: "manual" });
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.get("location"), "console/");

    const expected = {
      "/console/": "text/html; charset=utf-8",
      "/console/app.css": "text/css; charset=utf-8",
      "/console/js/main.js": "text/javascript; charset=utf-8",
      "/console/js/tc3.js": "text/javascript; charset=utf-8",
      "/console/icon.svg": "image/svg+xml",
    };
    for (const [path, type] of Object.entries(expected)) {
      const r = await fetch(`${mnpd.url}${path}`);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get("content-type"), type, path);
      const csp = r.headers.get("content-security-policy");
      assert.match(csp, /default-src 'none'/, path);
      assert.match(csp, /script-src 'self'(;|$)/, path);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
      assert.equal(r.headers.get("x-content-type-options"), "nosniff", path);
      assert.equal(r.headers.get("cache-control"), "no-cache", path);
      const etag = r.headers.get("etag");
      assert.ok(etag, path);
      const again = await fetch(`${mnpd.url}${path}`, { headers: { "If-None-Match": etag } });
      assert.equal(again.status, 304, path);
    }
    const missing = await fetch(`${mnpd.url}/console/nope.js`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("x-content-type-options"), "nosniff");
  });

  describe("a version's life at desktop width", () => {
    let context;
    let page;

    before(async () => {
      ({ context, page } = await desktopPage());
    });

    after(async () => {
      if (context) await context.close();
    });

    it("shows the sign-in form, and the API's error for a wrong key", async () => {
      await page.goto(`${mnpd.url}/console`);
      assert.match(page.url(), /\/console\/$/);
      await page.getByRole("button", { name: "Sign in" }).waitFor();
      // A user account is the default way; the API key is the other tab.
      assert.equal(await page.getByRole("tab", { name: "User account" }).getAttribute("aria-selected"), "true");
      await page.getByLabel("Account", { exact: true }).waitFor();
      await snap(page, "01-sign-in");

      await signIn(page, wrongKey);
      const alert = page.getByRole("alert");
      await alert.getByText("AuthFailure.SignatureFailure").waitFor();
      await alert.getByText("The SecretKey does not match this SecretId").waitFor();
      assert.equal(await page.evaluate(() => sessionStorage.length), 0, "nothing kept after a failed sign-in");
      await snap(page, "02-sign-in-wrong-key");
    });

    it("signs in and offers to create the first mini program", async () => {
      await signIn(page);
      await page.getByRole("heading", { name: "Mini programs", level: 1 }).waitFor();
      await page.getByRole("heading", { name: "New mini program" }).waitFor();
      const stored = await page.evaluate(() => ({
        session: JSON.stringify(sessionStorage),
        local: JSON.stringify(localStorage),
      }));
      assert.ok(stored.session.includes(secretKey), "the key pair is in sessionStorage");
      assert.ok(!stored.local.includes(secretKey), "the key is not in localStorage");
      await snap(page, "03-empty-list");
    });

    it("creates a mini program", async () => {
      const form = page.getByRole("form", { name: "New mini program" });
      await form.getByLabel("Name").fill("shop");
      await form.getByLabel("Category").selectOption({ label: "Weather" });
      await form.getByLabel("Icon URL").fill("https://example.com/shop.png");
      await form.getByLabel("Short introduction").fill("A corner shop");
      await form.getByLabel("Description").fill("Order groceries from the corner shop.");
      await form.getByRole("button", { name: "Create mini program" }).click();
      await page.getByRole("heading", { level: 1, name: /^shop/ }).waitFor();
      assert.match(page.url(), /#\/programs\/mp[a-z0-9]{14}$/);
      await stage(page, "Develop").getByText("No version yet").waitFor();
      await snap(page, "04-new-program");
    });

    it("adds a host application on the platforms page", async () => {
      await page.getByRole("link", { name: "Platforms", exact: true }).click();
      const form = page.getByRole("form", { name: "New host application" });
      await form.waitFor();
      await hasValue(form.getByLabel("Team ID"), mnpd.teamId());
      await form.getByLabel("Name").fill("superapp");
      await form.getByLabel("Logo URL").fill("https://example.com/superapp.png");
      await form.getByLabel("Introduction").fill("Our super app");
      await form.getByRole("button", { name: "Add host application" }).click();
      await page.getByRole("cell", { name: /superapp/ }).waitFor();
      await page.getByText("Current", { exact: true }).waitFor();
      await snap(page, "05-platforms");
    });

    it("creates a version from a package URL and follows its task to success", async () => {
      await openProgram(page, "shop");
      const form = page.getByRole("form", { name: "New version" });
      await hasValue(form.getByLabel("Version"), "1.0.0");
      await form.getByLabel("Package URL").fill(files.url("/shop-1.0.0.zip"));
      await form.getByLabel("What's new").fill("First version");
      await form.getByRole("button", { name: "Create version" }).click();
      await waitTask(page, "1.0.0", "Succeeded");
      await stage(page, "Develop").getByText("1.0.0", { exact: true }).waitFor();
      await stage(page, "Develop").getByText("Not submitted").waitFor();
      assert.equal(files.hits["/shop-1.0.0.zip"], 1);
    });

    it("shows a failed task with its message", async () => {
      const form = page.getByRole("form", { name: "New version" });
      await form.getByLabel("Version").fill("1.0.1");
      await form.getByLabel("Package URL").fill(files.url("/shop-1.0.1.zip"));
      await form.getByLabel("What's new").fill("Broken package");
      await form.getByRole("button", { name: "Create version" }).click();
      const row = await waitTask(page, "1.0.1", "Failed");
      const message = await row.locator("td.wrap").innerText();
      assert.match(message, /pages\/missing\/missing/);
      await snap(page, "06-versions-and-tasks");

      await page.getByRole("link", { name: "Tasks", exact: true }).click();
      await page.locator("tr[data-task]").nth(1).waitFor();
      await page.getByText("Succeeded", { exact: true }).waitFor();
      await page.getByText("Failed", { exact: true }).waitFor();
      await snap(page, "07-tasks");
    });

    it("submits the version for approval", async () => {
      await openProgram(page, "shop");
      await stage(page, "Develop").getByRole("button", { name: "Submit for approval" }).click();
      await stage(page, "Platform").getByText("In review").waitFor();
      await stage(page, "Platform").getByRole("button", { name: "Withdraw" }).waitFor();
      await snap(page, "08-in-review");
    });

    it("approves it on the approvals page", async () => {
      await page.getByRole("link", { name: "Approvals", exact: true }).click();
      const card = page.getByRole("article", { name: "Approval of shop 1.0.0" });
      await card.getByText("superapp").waitFor();
      await snap(page, "09-approvals");
      await card.getByRole("button", { name: "Approve", exact: true }).click();
      await page.getByText("Nothing waits for a decision", { exact: false }).waitFor();
      await page.getByRole("link", { name: "Approved", exact: true }).click();
      const approved = page.getByRole("article", { name: "Approval of shop 1.0.0" });
      await approved.getByText("Approved").waitFor();
      // Who submitted and who decided, as recorded: the signed-in key.
      await approved.getByText(`Submitted`, { exact: false }).filter({ hasText: `by ${secretId}` }).waitFor();
      assert.ok((await approved.innerText()).split(`by ${secretId}`).length >= 3, "submitter and approver shown");
      await snap(page, "10-approved");
    });

    it("releases the approved version", async () => {
      await openProgram(page, "shop");
      const platform = stage(page, "Platform");
      await platform.getByText("Approved").waitFor();
      await platform.getByRole("button", { name: "Release", exact: true }).click();
      await platform.getByText("Release 1.0.0 to every user?").waitFor();
      await platform.getByRole("button", { name: "Release now" }).click();
      await stage(page, "Online").getByText("1.0.0", { exact: true }).waitFor();
      await stage(page, "Online").getByText("Serving").waitFor();
      await page.locator("h1 .badge").getByText("Released", { exact: true }).waitFor();
      await snap(page, "11-released");
    });

    it("shows a version uploaded from a project folder by `mnpd upload` and carries it through approval", async () => {
      // The everyday path: a project folder on disk, no file server.
      const project = join(work, "shop-project");
      const put = (name, body) => {
        mkdirSync(dirname(join(project, name)), { recursive: true });
        writeFileSync(join(project, name), body);
      };
      put("app.json", JSON.stringify({ pages: ["pages/index/index"] }));
      put("app.js", "App({})\n");
      put("pages/index/index.js", "Page({ data: { title: 'Shop 1.1.0' } })\n");
      put("pages/index/index.wxml", "<view>{{title}}</view>\n");
      put(".mnpdignore", "*.log\n");
      put("debug.log", "left out of the package\n");
      // A second key of the account uploads it: the stages tell the two
      // creators apart (docs/lifecycle.md, Stages).
      const made = spawnSync(
        mnpdBin(),
        ["admin", "--data-dir", join(work, "data"), "--json", "key", "create", "--of", secretId],
        { encoding: "utf8", timeout: 30000 },
      );
      assert.equal(made.status, 0, `mnpd admin key create failed: ${made.stdout}${made.stderr}`);
      const second = JSON.parse(made.stdout.trim());
      secondId = second.SecretId;
      const upload = spawnSync(
        mnpdBin(),
        [
          "upload", "--endpoint", mnpd.url, "--platform-id", platformId,
          "--mnp-id", page.url().split("/programs/")[1], "--version", "1.1.0",
          "--intro", "Uploaded from a folder", "--json", project,
        ],
        {
          env: { ...process.env, TENCENTCLOUD_SECRET_ID: second.SecretId, TENCENTCLOUD_SECRET_KEY: second.SecretKey },
          encoding: "utf8",
          timeout: 60000,
        },
      );
      assert.equal(upload.status, 0, `mnpd upload failed: ${upload.stdout}${upload.stderr}`);
      const summary = JSON.parse(upload.stdout.trim().split("\n").pop());
      assert.equal(summary.TaskStatus, 60, upload.stdout);
      assert.ok(!upload.stdout.includes(second.SecretKey) && !upload.stderr.includes(second.SecretKey));
      await page.getByRole("button", { name: "Refresh" }).click();
      const develop = stage(page, "Develop");
      const byCreator = (id) => develop.locator(`.stage-entry[data-creator="${id}"]`);
      await byCreator(secondId).getByText("1.1.0", { exact: true }).waitFor();
      await byCreator(secondId).getByText(`by ${secondId}`, { exact: false }).waitFor();
      await byCreator(secretId).getByText("1.0.0", { exact: true }).waitFor();
      assert.equal(await develop.locator(".stage-entry").count(), 2, "one Develop entry per creator");
      await develop.getByText("Uploaded from a folder").waitFor();
      await develop.getByRole("button", { name: "Submit for approval" }).click();
      await stage(page, "Platform").getByText("1.1.0", { exact: true }).waitFor();
      await approveIn(page, "shop", "1.1.0");

      // A follow-up version, so that each stage shows another one.
      await openProgram(page, "shop");
      const form = page.getByRole("form", { name: "New version" });
      await hasValue(form.getByLabel("Version"), "1.1.1");
      await form.getByLabel("Version").fill("1.2.0");
      await form.getByLabel("Package URL").fill(files.url("/shop-1.2.0.zip"));
      await form.getByLabel("What's new").fill("Faster checkout");
      await form.getByRole("button", { name: "Create version" }).click();
      await waitTask(page, "1.2.0", "Succeeded");
      await stage(page, "Develop").getByText("1.2.0", { exact: true }).waitFor();
      await stage(page, "Platform").getByText("Approved").waitFor();
      await stage(page, "Online").getByText("1.0.0", { exact: true }).waitFor();
      await page.evaluate(() => window.scrollTo(0, 0));
      await snap(page, "12-three-stages", { docs: true });
      await page.setViewportSize(PHONE);
      await page.waitForTimeout(150);
      await page.screenshot({ path: join(RESULTS, "console-phone.png"), fullPage: false });
      if (UPDATE_DOCS) {
        for (const f of DOCS_PICTURES) copyFileSync(join(RESULTS, f), join(DOCS_IMG, f));
      }
      await page.setViewportSize(DESKTOP);

      const platform = stage(page, "Platform");
      await platform.getByRole("button", { name: "Release", exact: true }).click();
      await platform.getByRole("button", { name: "Release now" }).click();
      await stage(page, "Online").getByText("1.1.0", { exact: true }).waitFor();
    });

    it("lists the releases and rolls back", async () => {
      await page.getByRole("link", { name: "Releases", exact: true }).click();
      const latest = page.locator("tr[data-version='1.1.0']");
      await latest.getByText("Online", { exact: true }).waitFor();
      // Created by the second key; submitted and approved in the console.
      await page.getByRole("region", { name: "Online now" }).getByText(`Created by ${secondId}`).waitFor();
      assert.equal(await latest.getByRole("cell", { name: secretId, exact: true }).count(), 2);
      const older = page.locator("tr[data-version='1.0.0']");
      await snap(page, "13-releases");
      await older.getByRole("button", { name: "Roll back to this" }).click();
      await older.getByText("Put 1.0.0 back online instead of 1.1.0?").waitFor();
      await older.getByRole("button", { name: "Roll back", exact: true }).click();
      const online = page.getByRole("region", { name: "Online now" });
      await online.getByText("1.0.0", { exact: true }).waitFor();
      await online.getByText("Rolled back").waitFor();
      const current = await api("DescribeOnlineVersion", {
        PlatformId: platformId,
        MNPId: page.url().split("/programs/")[1].split("/")[0],
      });
      assert.equal(current.Data.DataList[0].MNPVersion, "1.0.0");
      await snap(page, "14-rolled-back");
    });

    it("shows the preview QR code", async () => {
      await page.getByRole("link", { name: "Preview", exact: true }).click();
      const form = page.getByRole("form", { name: "Preview a version" });
      await form.getByLabel("Version").selectOption({ label: "1.2.0 (Develop)" });
      await form.getByLabel("Entrance path (optional)").fill("pages/about/about");
      await form.getByRole("button", { name: "Show QR code" }).click();
      const img = page.getByRole("img", { name: /QR code opening shop 1\.2\.0/ });
      await img.waitFor();
      await page.waitForFunction(() => {
        const i = document.querySelector(".qr img");
        return i && i.complete && i.naturalWidth > 0;
      });
      const src = await img.getAttribute("src");
      assert.match(src, /^\/qrcode\/preview\/mp[a-z0-9]{14}\/\d+\.png$/);
      const png = await fetch(`${mnpd.url}${src}`);
      assert.equal(png.headers.get("content-type"), "image/png");
      await page.getByText("pages/about/about", { exact: true }).waitFor();
      await snap(page, "15-preview");
    });

    it("signs out and forgets the key", async () => {
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("button", { name: "Sign in" }).waitFor();
      const left = await page.evaluate(() => JSON.stringify(sessionStorage) + JSON.stringify(localStorage));
      assert.ok(!left.includes(secretKey));
      assert.ok(!left.includes(secretId), "no session left");
    });
  });

  describe("on a phone (390 px, touch) whose clock is two hours fast", () => {
    let context;
    let page;

    before(async () => {
      context = await browser.newContext({
        viewport: PHONE,
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
      });
      watch(context);
      // The console learns the server's time from its Date header when a
      // signature is refused as expired, and signs with that.
      await context.clock.install({ time: Date.now() + 2 * 3600 * 1000 });
      page = await context.newPage();
      page.setDefaultTimeout(STEP_TIMEOUT);
    });

    after(async () => {
      if (context) await context.close();
    });

    const shot = async (name) => {
      await page.evaluate(() => document.querySelectorAll(".toast").forEach((t) => t.remove()));
      await noSideways(page, name);
      await page.screenshot({ path: join(RESULTS, `mobile-${name}.png`), fullPage: true });
    };

    it("signs in and lists the mini programs as cards", async () => {
      await page.goto(`${mnpd.url}/console/`);
      const skew = await page.evaluate(() => Date.now()) - Date.now();
      assert.ok(skew > 3600 * 1000, "the page's clock is fast");
      await signIn(page);
      const card = page.locator("table.data tr", { hasText: "shop" });
      await card.waitFor();
      const display = await card.evaluate((el) => getComputedStyle(el).display);
      assert.equal(display, "block", "table rows are cards");
      await shot("01-programs");
    });

    it("creates a mini program and a version", async () => {
      await page.getByRole("button", { name: "New mini program" }).tap();
      const form = page.getByRole("form", { name: "New mini program" });
      await form.getByLabel("Name").fill("news");
      await form.getByLabel("Category").selectOption({ index: 3 });
      await form.getByLabel("Icon URL").fill("https://example.com/news.png");
      await form.getByLabel("Short introduction").fill("Local news");
      await shot("02-new-program");
      await form.getByRole("button", { name: "Create mini program" }).tap();
      await page.getByRole("heading", { level: 1, name: /^news/ }).waitFor();

      const v = page.getByRole("form", { name: "New version" });
      await v.getByLabel("Package URL").fill(files.url("/news-1.0.0.zip"));
      await v.getByLabel("What's new").fill("Launch");
      await v.getByRole("button", { name: "Create version" }).tap();
      await waitTask(page, "1.0.0", "Succeeded");
      await stage(page, "Develop").getByText("1.0.0", { exact: true }).waitFor();
      await shot("03-versions");
    });

    it("rejects with a note, then approves and releases", async () => {
      await stage(page, "Develop").getByRole("button", { name: "Submit for approval" }).tap();
      await stage(page, "Platform").getByText("In review").waitFor();
      await page.getByRole("link", { name: "Approvals", exact: true }).tap();
      const card = page.getByRole("article", { name: "Approval of news 1.0.0" });
      await card.getByRole("button", { name: "Reject" }).tap();
      await card.getByRole("textbox").fill("The icon is blurry");
      await shot("04-reject");
      await card.getByRole("button", { name: "Reject" }).tap();
      await page.getByText("Nothing waits for a decision", { exact: false }).waitFor();
      await page.getByRole("link", { name: "Rejected", exact: true }).tap();
      const rejected = page.getByRole("article", { name: "Approval of news 1.0.0" });
      await rejected.getByText("The icon is blurry").waitFor();
      await rejected.getByText("Rejected", { exact: true }).waitFor();
      await shot("05-rejected");

      await openProgram(page, "news");
      await stage(page, "Platform").getByRole("button", { name: "Resubmit for approval" }).tap();
      await stage(page, "Platform").getByText("In review").waitFor();
      await approveIn(page, "news", "1.0.0");
      await openProgram(page, "news");
      await stage(page, "Platform").getByRole("button", { name: "Release", exact: true }).tap();
      await stage(page, "Platform").getByRole("button", { name: "Release now" }).tap();
      await stage(page, "Online").getByText("1.0.0", { exact: true }).waitFor();
      await shot("06-released");
    });

    it("shows the preview QR code", async () => {
      await page.getByRole("link", { name: "Preview", exact: true }).tap();
      await page.getByRole("button", { name: "Show QR code" }).tap();
      await page.waitForFunction(() => {
        const i = document.querySelector(".qr img");
        return i && i.complete && i.naturalWidth > 0;
      });
      await shot("07-preview");
    });
  });

  describe("users signed in with a password, by role", () => {
    const MNP_DEVELOPER = 20065;
    const REVIEW_STAFF = 20073;
    const developer = { account: `dev${randomBytes(3).toString("hex")}`, name: "Lin Developer", password: `Dev-${randomBytes(6).toString("hex")}7` };
    const reviewer = { account: `rev${randomBytes(3).toString("hex")}`, name: "Ada Reviewer", password: `Rev-${randomBytes(6).toString("hex")}7` };
    let context;
    let page;

    /** A user of the platform with `role` in the default team, made with the official API. */
    async function makeUser(person, role) {
      userPasswords.push(person.password);
      const key = (await api("CreatePresetKey", {})).Data.Key;
      const made = await api("CreateUser", {
        PlatformId: platformId,
        UserAccount: person.account,
        UserName: person.name,
        AccountType: 3,
        KeyId: key,
        Password: encrypt(key, person.password),
      });
      person.userId = made.Data.ResourceId;
      await api("AddTeamMember", {
        PlatformId: platformId,
        TeamId: mnpd.teamId(),
        MemberList: [{ UserId: person.userId, UserRoleId: role }],
      });
    }

    async function signInAs(person, password = person.password) {
      await page.getByRole("tab", { name: "User account" }).click();
      await page.getByLabel("Account", { exact: true }).fill(person.account);
      await page.getByLabel("Password", { exact: true }).fill(password);
      await page.getByRole("button", { name: "Sign in" }).click();
    }

    const sessionCookie = async () => (await context.cookies()).find((c) => c.name === "mnpd_console");

    /** What the server says of a session cookie now: GET /console/session's status and an API call's error code. */
    async function cookieWorks(token) {
      const headers = { Cookie: `mnpd_console=${token}`, "X-Mnpd-Console": "1" };
      const who = await fetch(`${mnpd.url}/console/session`, { headers });
      const call = await fetch(`${mnpd.url}/`, {
        method: "POST",
        headers: { ...headers, "Content-Type": "application/json", "X-TC-Action": "DescribeMNPList", "X-TC-Version": "2024-08-01" },
        body: JSON.stringify({ PlatformId: platformId, Offset: 0, Limit: 1 }),
      });
      return { who: who.status, call: (await call.json()).Response.Error?.Code || "" };
    }

    async function signOutAndCheckTheCookieDies() {
      const cookie = await sessionCookie();
      assert.ok(cookie, "signed in: the session cookie is set");
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, "Strict");
      assert.deepEqual(await cookieWorks(cookie.value), { who: 200, call: "" });
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("button", { name: "Sign in" }).waitFor();
      assert.equal(await sessionCookie(), undefined, "the browser dropped the cookie");
      assert.deepEqual(await cookieWorks(cookie.value), { who: 401, call: "AuthFailure" }, "the session is over on the server");
    }

    before(async () => {
      await makeUser(developer, MNP_DEVELOPER);
      await makeUser(reviewer, REVIEW_STAFF);
      ({ context, page } = await desktopPage());
    });

    after(async () => {
      if (context) await context.close();
    });

    it("refuses a wrong password with the server's answer", async () => {
      await page.goto(`${mnpd.url}/console/`);
      await signInAs(developer, "Wrong-passw0rd");
      const alert = page.getByRole("alert");
      await alert.getByText("AuthFailure", { exact: true }).waitFor();
      await alert.getByText("the account or the password is wrong", { exact: false }).waitFor();
      await alert.getByText("Five failures within 15 minutes", { exact: false }).waitFor();
      assert.equal(await sessionCookie(), undefined);
    });

    it("signs the developer in, with name and role in the header", async () => {
      await signInAs(developer);
      await page.getByRole("heading", { name: "Mini programs", level: 1 }).waitFor();
      await page.locator("#who").getByText(developer.name).waitFor();
      await page.locator("#roles").getByText(/Mini Program Developer · /).waitFor();
      assert.equal(await page.evaluate(() => document.cookie.includes("mnpd_console")), false, "scripts cannot read the cookie");
      const stored = await page.evaluate(() => JSON.stringify(sessionStorage) + JSON.stringify(localStorage));
      assert.ok(!stored.includes(developer.password), "the password is kept nowhere");
      // Creating a mini program needs mnp.manage: greyed out, saying why.
      const create = page.getByRole("button", { name: "New mini program" });
      assert.equal(await create.isDisabled(), true);
      assert.match(await create.getAttribute("title"), /CreateMNP .*mnp\.manage/);
      await snap(page, "20-developer-programs");
      await page.getByRole("link", { name: "Platforms", exact: true }).click();
      await page.getByRole("table", { name: "Your roles" }).getByText("Mini Program Developer").waitFor();
      assert.equal(await page.getByRole("button", { name: "Add platform" }).count(), 0, "a user has one platform");
    });

    it("lets the developer create a version and submit it", async () => {
      await openProgram(page, "shop");
      const v = page.getByRole("form", { name: "New version" });
      await v.getByLabel("Package URL").fill(files.url("/shop-1.3.0.zip"));
      await v.getByLabel("Version", { exact: true }).fill("1.3.0");
      await v.getByLabel("What's new").fill("Made by a developer");
      await v.getByRole("button", { name: "Create version" }).click();
      await waitTask(page, "1.3.0", "Succeeded");
      const mine = stage(page, "Develop").locator(`[data-creator="${developer.account}"]`);
      await mine.getByText("1.3.0", { exact: true }).waitFor();
      await mine.getByText(`by ${developer.account}`, { exact: false }).waitFor();
      await mine.getByRole("button", { name: "Submit for approval" }).click();
      await stage(page, "Platform").getByText("In review").waitFor();
      await snap(page, "21-developer-submitted");
    });

    it("does not offer the developer the approval, and the server refuses it when forced", async () => {
      await page.getByRole("link", { name: "Approvals", exact: true }).click();
      const card = page.getByRole("article", { name: "Approval of shop 1.3.0" });
      await card.waitFor();
      await card.getByText(`by ${developer.account}`, { exact: false }).waitFor();
      const approve = card.getByRole("button", { name: "Approve", exact: true });
      assert.equal(await approve.isDisabled(), true);
      assert.match(await approve.getAttribute("title"), /ProcessMNPApproval .*mnp\.approve/);
      await snap(page, "22-developer-approvals");
      // As a script or an edited page would: the click goes through, the server says no.
      await approve.evaluate((b) => {
        b.disabled = false;
      });
      await approve.click();
      const alert = card.getByRole("alert");
      await alert.getByText("UnauthorizedOperation", { exact: true }).waitFor();
      await alert.getByText("mnp.approve", { exact: false }).first().waitFor();
      await alert.getByText("Your roles do not allow this action", { exact: false }).waitFor();
      await snap(page, "23-developer-refused");
      await page.getByRole("link", { name: "In review", exact: true }).click();
      await page.getByRole("article", { name: "Approval of shop 1.3.0" }).getByText("In review").waitFor();
    });

    it("signs the developer out, and the cookie no longer works", async () => {
      await signOutAndCheckTheCookieDies();
    });

    it("lets the reviewer approve, and not release", async () => {
      await signInAs(reviewer);
      await page.locator("#roles").getByText(/Review Staff · /).waitFor();
      await page.getByRole("link", { name: "Approvals", exact: true }).click();
      const card = page.getByRole("article", { name: "Approval of shop 1.3.0" });
      const approve = card.getByRole("button", { name: "Approve", exact: true });
      await approve.waitFor();
      assert.equal(await approve.isDisabled(), false);
      await approve.click();
      await page.getByText("Nothing waits for a decision", { exact: false }).waitFor({ timeout: STEP_TIMEOUT });
      await page.getByRole("link", { name: "Approved", exact: true }).click();
      const approved = page.getByRole("article", { name: "Approval of shop 1.3.0" });
      await approved.getByText(`by ${reviewer.account}`, { exact: false }).first().waitFor();
      await approved.getByText(`by ${developer.account}`, { exact: false }).first().waitFor();
      await snap(page, "24-reviewer-approved");

      await openProgram(page, "shop");
      const release = stage(page, "Platform").getByRole("button", { name: "Release", exact: true });
      assert.equal(await release.isDisabled(), true);
      assert.match(await release.getAttribute("title"), /ReleaseMNPVersion .*mnp\.release/);
      assert.equal(await page.getByRole("form", { name: "New version" }).getByRole("button", { name: "Create version" }).isDisabled(), true);
    });

    it("signs the reviewer out, and the cookie no longer works", async () => {
      await signOutAndCheckTheCookieDies();
    });

    it("returns to sign-in, saying so, when the session ends", async () => {
      await signInAs(developer);
      await page.getByRole("heading", { name: "Mini programs", level: 1 }).waitFor();
      // A password change (here by the platform's API key) ends the user's sessions.
      developer.password = `Dev-${randomBytes(6).toString("hex")}8`;
      userPasswords.push(developer.password);
      const key = (await api("CreatePresetKey", {})).Data.Key;
      await api("ModifyUserPassword", {
        PlatformId: platformId,
        UserId: developer.userId,
        KeyId: key,
        Password: encrypt(key, developer.password),
      });
      await page.getByRole("link", { name: "Approvals", exact: true }).click();
      await page.getByRole("button", { name: "Sign in" }).waitFor();
      await page.getByText("Your session has ended", { exact: false }).waitFor();
      await snap(page, "25-session-ended");
      // And so after a reload with the dead cookie.
      await signInAs(developer);
      await page.getByRole("heading", { name: "Mini programs", level: 1 }).waitFor();
      const token = (await sessionCookie()).value;
      await fetch(`${mnpd.url}/console/session`, { method: "DELETE", headers: { Cookie: `mnpd_console=${token}`, "X-Mnpd-Console": "1" } });
      await page.reload();
      await page.getByText("Your session has ended", { exact: false }).waitFor();
      await page.getByRole("button", { name: "Sign in" }).waitFor();
    });
  });

  describe("teams and users, as the platform admin and as a member", () => {
    const MNP_DEVELOPER = 20065;
    const newcomer = {
      account: `new${randomBytes(3).toString("hex")}`,
      name: "Noor Newcomer",
      password: `New-${randomBytes(6).toString("hex")}7`,
    };
    const spareTeam = `spare-${randomBytes(3).toString("hex")}`;
    let context;
    let page;

    async function signInUser(account, password) {
      await page.getByRole("tab", { name: "User account" }).click();
      await page.getByLabel("Account", { exact: true }).fill(account);
      await page.getByLabel("Password", { exact: true }).fill(password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Mini programs", level: 1 }).waitFor();
    }

    const defaultTeam = () => `#/teams/${mnpd.teamId()}`;

    before(async () => {
      ({ context, page } = await desktopPage());
      await page.goto(`${mnpd.url}/console/`);
    });

    after(async () => {
      if (context) await context.close();
    });

    it("lets the platform admin create a user, with an encrypted password", async () => {
      userPasswords.push(newcomer.password);
      await signInUser("admin", adminPassword);
      await page.getByRole("link", { name: "Users", exact: true }).click();
      await page.getByRole("heading", { name: "Users", level: 1 }).waitFor();
      await page.getByRole("button", { name: "New user" }).click();
      const form = page.getByRole("form", { name: "New user" });
      await form.getByLabel("Account", { exact: true }).fill(newcomer.account);
      await form.getByLabel("Name", { exact: true }).fill(newcomer.name);
      await form.getByLabel("Password", { exact: true }).fill(newcomer.password);
      await form.getByRole("button", { name: "Create user" }).click();
      const row = page.locator(`tr[data-user="${newcomer.account}"]`);
      await row.getByText(newcomer.name).waitFor();
      await row.getByText("Member", { exact: true }).waitFor();
      await row.getByText("Enabled", { exact: true }).waitFor();
      // A reset of the password, sealed the same way.
      newcomer.password = `New-${randomBytes(6).toString("hex")}8`;
      userPasswords.push(newcomer.password);
      await row.getByRole("button", { name: `Reset the password of ${newcomer.account}` }).click();
      await row.getByLabel(`New password for ${newcomer.account}`).fill(newcomer.password);
      await row.getByRole("button", { name: "Save password" }).click();
      await row.getByRole("button", { name: `Reset the password of ${newcomer.account}` }).waitFor();
      await page.getByText(`New password set for ${newcomer.account}`, { exact: false }).waitFor();
      await snap(page, "30-admin-users");
    });

    it("lets the platform admin add them to the default team as a developer", async () => {
      await page.getByRole("link", { name: "Teams", exact: true }).click();
      await page.getByRole("heading", { name: "Teams", level: 1 }).waitFor();
      await page.locator(`a.entity[href="${defaultTeam()}"]`).waitFor();
      await snap(page, "31-admin-teams");
      await page.locator(`a.entity[href="${defaultTeam()}"]`).click();
      const form = page.getByRole("form", { name: "Add member" });
      await form.getByLabel("User", { exact: true }).selectOption({ label: `${newcomer.name} (${newcomer.account})` });
      await form.getByLabel("Role", { exact: true }).selectOption({ label: "Mini Program Developer" });
      await form.getByRole("button", { name: "Add member" }).click();
      const row = page.locator(`tr[data-member="${newcomer.account}"]`);
      await hasValue(row.getByLabel(`Role of ${newcomer.account}`, { exact: true }), String(MNP_DEVELOPER));
      // The admin's own row offers no change: the admin role is CreateTeam's.
      await page.locator('tr[data-member="admin"]').getByText("Team admin").waitFor();
      await snap(page, "32-admin-members");
    });

    it("lets the platform admin create a team and delete it while empty", async () => {
      await page.getByRole("link", { name: "Teams", exact: true }).click();
      await page.getByRole("button", { name: "New team" }).click();
      const form = page.getByRole("form", { name: "New team" });
      await form.getByLabel("Team name").fill(spareTeam);
      await form.getByLabel("Type").selectOption({ label: "Host application team" });
      assert.equal(await form.getByLabel("Host application team").isVisible(), false, "only a mini program team binds to one");
      await form.getByLabel("Admin", { exact: true }).selectOption({ label: "Administrator (admin)" });
      await form.getByRole("button", { name: "Create team" }).click();
      const link = page.locator("a.entity", { hasText: spareTeam });
      await link.waitFor();
      const row = page.locator("tr", { has: link });
      await row.getByRole("button", { name: `Delete team ${spareTeam}` }).click();
      await row.getByRole("button", { name: "Delete team", exact: true }).click();
      await page.getByText(`Deleted team ${spareTeam}`).waitFor();
      await link.waitFor({ state: "detached" });
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("button", { name: "Sign in" }).waitFor();
    });

    it("shows the member the teams, without adding members, and the server refuses it when forced", async () => {
      await signInUser(newcomer.account, newcomer.password);
      await page.locator("#roles").getByText(/Mini Program Developer · /).waitFor();
      assert.equal(await page.getByRole("link", { name: "Users", exact: true }).count(), 0, "the Users page is the admins'");
      await page.getByRole("link", { name: "Teams", exact: true }).click();
      const create = page.getByRole("button", { name: "New team" });
      assert.equal(await create.isDisabled(), true);
      assert.match(await create.getAttribute("title"), /CreateTeam .*platform\.teams/);
      await page.locator(`a.entity[href="${defaultTeam()}"]`).click();
      await page.locator(`tr[data-member="${newcomer.account}"]`).waitFor();
      const form = page.getByRole("form", { name: "Add member" });
      const add = form.getByRole("button", { name: "Add member" });
      assert.equal(await add.isDisabled(), true);
      assert.match(await add.getAttribute("title"), /AddTeamMember .*team\.members/);
      const change = page.getByRole("button", { name: `Change the role of ${newcomer.account}` });
      assert.equal(await change.isDisabled(), true);
      await snap(page, "33-member-teams");
      await form.getByLabel("User", { exact: true }).selectOption({ label: "Administrator (admin)" });
      await add.evaluate((b) => {
        b.disabled = false;
      });
      await add.click();
      const alert = form.getByRole("alert");
      await alert.getByText("UnauthorizedOperation", { exact: true }).waitFor();
      await alert.getByText("team.members", { exact: false }).first().waitFor();
      await snap(page, "34-member-refused");
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("button", { name: "Sign in" }).waitFor();
    });
  });

  describe("a gradual release", () => {
    // A mini program of its own, made through the API: 1.0.0 online and
    // 1.1.0 approved, and a host application with an AndroidAppKey whose
    // install reports draw the chart.
    const appKey = "com.example.greyhost";
    const name = `grey${randomBytes(3).toString("hex")}`;
    let context;
    let page;
    let mnpId;
    let applicationId;
    let v2;

    const ours = (params = {}) => ({ PlatformId: platformId, ...params });

    async function approvedVersion(version) {
      const task = (await api("CreateMNPVersion", ours({
        MNPId: mnpId,
        MNPVersion: version,
        FileUrl: files.url(`/grey-${version}.zip`),
        MNPVersionIntro: `grey ${version}`,
      }))).Data.TaskId;
      const deadline = Date.now() + STEP_TIMEOUT;
      for (;;) {
        const t = (await api("DescribeMNPVersion", ours({ BusinessId: task }))).Data;
        if (t.TaskStatus === 60) break;
        assert.notEqual(t.TaskStatus, 30, `the task of ${version} failed: ${t.TaskMsg || ""}`);
        assert.ok(Date.now() < deadline, `the task of ${version} did not finish`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const stages = async () => Object.fromEntries(
        (await api("DescribeMNPAllStageVersions", ours({ MNPId: mnpId }))).Data.map((r) => [r.Phase, r]),
      );
      const id = (await stages()).Develop.MNPVersionId;
      await api("CreateMNPApproval", ours({ MNPVersionId: id, ApplyAction: "submit" }));
      await api("ProcessMNPApproval", ours({
        ApprovalNo: (await stages()).Platform.ApprovalNo,
        // An approval asks every host application of the platform.
        ApprovalItems: (await api("DescribeApplicationList", ours({ Offset: 0, Limit: 100 }))).Data.DataList.map(
          (a) => ({ AppId: a.ApplicationID, ApprovalResult: 3 }),
        ),
      }));
      return id;
    }

    async function report(deviceIds, versionId) {
      const res = await fetch(`${mnpd.url}/host/v1/${platformId}/${applicationId}/reports`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Mnpd-App-Key": appKey },
        body: JSON.stringify({
          reports: deviceIds.map((deviceId) => ({ deviceId, mnpId, mnpVersionId: versionId, event: "installed" })),
        }),
      });
      assert.equal(res.status, 200, await res.text());
    }

    const panel = () => page.getByRole("region", { name: /^Gradual release/ });

    before(async () => {
      applicationId = (await api("CreateApplication", ours({
        ApplicationName: name,
        TeamId: mnpd.teamId(),
        Logo: `https://example.com/${name}.png`,
        ApplicationType: 2,
        Intro: "a host for the gradual release",
      }))).Data.ResourceId;
      await api("ModifyApplicationAppKey", ours({ ApplicationId: applicationId, AndroidAppKey: appKey }));
      mnpId = (await api("CreateMNP", ours({
        MNPType: "Life Service->144_Lilliputian Services",
        MNPName: name,
        MNPIcon: `https://example.com/${name}.png`,
        MNPIntro: "Released gradually",
        MNPDesc: "A mini program released to a growing share of devices.",
      }))).Data.ResourceId;
      const v1 = await approvedVersion("1.0.0");
      await api("ReleaseMNPVersion", ours({ MNPVersionId: v1 }));
      v2 = await approvedVersion("1.1.0");
      ({ context, page } = await desktopPage());
    });

    after(async () => {
      if (context) await context.close();
    });

    it("starts one at 10 % from the program's page", async () => {
      await page.goto(`${mnpd.url}/console/`);
      await signIn(page);
      await page.getByRole("heading", { name: "Mini programs", level: 1 }).waitFor();
      await openProgram(page, name);
      await page.getByRole("link", { name: "Gradual release", exact: true }).click();
      await panel().getByText("never had a gradual release").waitFor();
      const form = page.getByRole("form", { name: "Start a gradual release" });
      await form.getByLabel("Version", { exact: true }).selectOption({ label: `1.1.0 (id ${v2})` });
      await form.getByLabel("Percentage", { exact: true }).fill("10");
      await form.getByLabel("Listed devices (optional)").fill("qa-phone");
      await form.getByRole("button", { name: "Start gradual release" }).click();
      await panel().locator(".gradual-percentage", { hasText: "10 %" }).waitFor();
      await panel().locator('[data-state="active"]').waitFor();
      await panel().getByText("qa-phone", { exact: true }).waitFor();
      assert.equal(await form.count(), 0, "no second release can start while one is live");
      await snap(page, "40-gradual-started");
    });

    it("grows it to 30 % and draws the installs reported", async () => {
      await panel().getByLabel("New percentage").fill("30");
      await panel().getByRole("button", { name: "Set share" }).click();
      await panel().locator(".gradual-percentage", { hasText: "30 %" }).waitFor();
      await report(["qa-phone", "d-1", "d-2"], v2);
      await report(["d-3"], (await api("DescribeOnlineVersion", ours({ MNPId: mnpId }))).Data.DataList[0].MNPVersionId);
      await panel().getByRole("button", { name: "Refresh" }).click();
      const installed = page.locator('[data-count="installed"] .figure-value');
      await installed.getByText("3", { exact: true }).waitFor();
      const chart = page.getByRole("img", { name: /Installs per version over time/ });
      await chart.waitFor();
      assert.ok((await chart.locator("path.chart-line").count()) >= 1, "a line per version");
      await chart.locator(`path.chart-line[data-version="${v2}"]`).waitFor();
      assert.equal(await chart.locator('path[data-series="share"]').count(), 1, "the share as a step line");
      await page.locator(".chart-legend").getByText("1.1.0 — 3 installed").waitFor();
      const history = page.getByRole("table", { name: "History of the gradual release" });
      await history.locator('tr[data-event="modified"]').getByText("30 %").waitFor();
      await snap(page, "41-gradual-grown");
    });

    it("halts it with a reason", async () => {
      await panel().getByRole("button", { name: "Halt…" }).click();
      const halt = panel().getByRole("form", { name: "Halt the release" });
      await halt.getByLabel("Reason").fill("crash on start");
      await halt.getByRole("button", { name: "Halt now" }).click();
      await panel().locator('[data-state="halted"]').waitFor();
      await panel().locator(".halt-reason", { hasText: "crash on start" }).waitFor();
      assert.doesNotMatch(await panel().innerText(), /\b(null|undefined|NaN)\b/, "no missing value shown");
      await page.getByRole("form", { name: "Start a gradual release" }).waitFor();
      const rollout = (await gradualCall("DescribeGradualRelease", ours({ MNPId: mnpId }))).Rollout;
      assert.equal(rollout.State, "halted");
      assert.equal(rollout.HaltReason, "crash on start");
      assert.equal(rollout.Percentage, 30);
      await snap(page, "42-gradual-halted");
    });
  });

  it("never sent the SecretKey, and mnpd never logged it", async () => {
    // mnpd's own actions go under their own version, TCMPP's under 2024-08-01.
    const versionOf = (r) => (/GradualRelease|InstallReport/.test(r.headers["x-tc-action"]) ? "2026-12-01" : "2024-08-01");
    assert.ok(requests.some((r) => versionOf(r) === "2026-12-01"), "the gradual release page called mnpd's actions");
    const all_calls = requests.filter((r) => r.method === "POST" && r.headers["x-tc-action"]);
    // A user's calls carry the session cookie and the console's header, no signature.
    const user_calls = all_calls.filter((r) => r.headers["x-mnpd-console"] === "1");
    const api_calls = all_calls.filter((r) => !user_calls.includes(r));
    assert.ok(api_calls.length > 40, `only ${api_calls.length} API calls seen`);
    assert.ok(user_calls.length > 10, `only ${user_calls.length} calls by users seen`);
    for (const r of user_calls) {
      assert.equal(new URL(r.url).pathname, "/");
      assert.equal(r.headers.authorization, undefined);
      assert.equal(r.headers["x-tc-version"], versionOf(r));
    }
    const secrets = [secretKey, wrongKey, "Wrong-passw0rd", ...userPasswords];
    for (const r of requests) {
      const all = [r.url, decodeURIComponent(r.url), JSON.stringify(r.headers), r.body].join("\n");
      for (const key of secrets) {
        assert.ok(!all.includes(key), `a SecretKey or password appears in ${r.method} ${r.url}`);
      }
    }
    for (const r of api_calls) {
      assert.equal(new URL(r.url).pathname, "/", "API calls go to the root, like the SDKs'");
      assert.equal(new URL(r.url).search, "");
      assert.equal(r.headers["content-type"], "application/json");
      assert.equal(r.headers["x-tc-version"], versionOf(r));
      assert.match(r.headers["x-tc-timestamp"], /^\d{10}$/);
      assert.match(
        r.headers.authorization,
        new RegExp(`^TC3-HMAC-SHA256 Credential=${secretId}/\\d{4}-\\d{2}-\\d{2}/tcmpp/tc3_request, SignedHeaders=content-type;host, Signature=[0-9a-f]{64}$`),
      );
    }
    // The fast phone's first call was refused as expired; the console then
    // signed with the server's time.
    const now = Date.now() / 1000;
    const ahead = api_calls.filter((r) => Number(r.headers["x-tc-timestamp"]) - now > 3600);
    assert.ok(ahead.length >= 1 && ahead.length <= 2, `${ahead.length} calls signed with the fast clock`);

    await mnpd.stop();
    const log = readFileSync(join(RESULTS, "mnpd.log"), "utf8") + mnpd.stdout();
    assert.ok(log.length > 0);
    assert.ok(!log.includes(secretKey), "the SecretKey is in mnpd's log");
    assert.ok(!log.includes(wrongKey), "the wrong SecretKey is in mnpd's log");
    for (const p of userPasswords) assert.ok(!log.includes(p), "a user's password is in mnpd's log");
    assert.deepEqual(browserProblems, [], "no script error or CSP violation in the browser");
  });
});

