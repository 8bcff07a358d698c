// The real mnpd binary on a loopback port and a fresh data directory, with
// bootstrap credentials chosen by the test; and a tiny package file server.

import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { existsSync, openSync, closeSync, accessSync, constants } from "node:fs";
import { resolve } from "node:path";
import { once } from "node:events";

export const REPO_ROOT = resolve(import.meta.dirname, "..", "..", "..");

export function mnpdBin() {
  const raw = process.env.MNPD_BIN || "target/debug/mnpd";
  const bin = resolve(REPO_ROOT, raw);
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(`mnpd binary not found at ${bin}: build it with \`cargo build -p mnpd\` or set MNPD_BIN`);
  }
  return bin;
}

/** The environment of the server: no proxies, none of the caller's MNPD_* settings. */
function cleanEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(https?|all|no)_proxy$/i.test(k)) continue;
    if (k.startsWith("MNPD_")) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

export async function startMnpd({ dataDir, logPath, secretId, secretKey, platformId, adminPassword }) {
  const log = openSync(logPath, "a");
  const proc = spawn(
    mnpdBin(),
    ["serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir],
    {
      env: cleanEnv({
        MNPD_BOOTSTRAP_SECRET_ID: secretId,
        MNPD_BOOTSTRAP_SECRET_KEY: secretKey,
        MNPD_BOOTSTRAP_PLATFORM_ID: platformId,
        ...(adminPassword ? { MNPD_BOOTSTRAP_ADMIN_PASSWORD: adminPassword } : {}),
        MNPD_LOG: "debug",
      }),
      stdio: ["ignore", "pipe", log],
    },
  );
  closeSync(log);
  const stdout = [];
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`mnpd did not start within 30 s: ${stdout.join("")}`)), 30000);
    proc.stdout.setEncoding("utf8");
    proc.stdout.on("data", (chunk) => {
      stdout.push(chunk);
      const m = /mnpd listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(stdout.join(""));
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`mnpd exited with ${code} before listening; see ${logPath}`));
    });
  });
  for (let i = 0; i < 100; i += 1) {
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const text = () => stdout.join("");
  return {
    url,
    proc,
    stdout: text,
    teamId: () => (/^\s*TeamId\s+(\S+)\s*$/m.exec(text()) || [])[1],
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 10000);
      const [code] = await once(proc, "exit");
      clearTimeout(timer);
      return code;
    },
  };
}

/** Serves `files` ({"/path": Buffer}) on a loopback port; counts the downloads. */
export async function fileServer(files) {
  const hits = {};
  const server = createServer((req, res) => {
    const body = files[req.url];
    hits[req.url] = (hits[req.url] || 0) + 1;
    if (!body) {
      res.writeHead(404).end("not found\n");
      return;
    }
    res.writeHead(200, { "Content-Type": "application/zip", "Content-Length": body.length });
    res.end(body);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    hits,
    close: () => new Promise((r) => server.close(r)),
  };
}

export function chromiumPath() {
  const path = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
  if (!existsSync(path)) {
    throw new Error(`Chromium not found at ${path}: install it (apt-get install -y chromium) or set CHROMIUM_BIN`);
  }
  return path;
}
