// The password of a sign-in, encrypted for the server's preset key the way
// docs/organization.md ("Preset keys") and clients/python/mnpd_preset.py do:
// an ephemeral X25519 key pair, HKDF-SHA256 (salt = ephemeral public || key,
// info "mnpd preset key v1") to an AES-256-GCM key, and
// base64(ephemeral public || nonce || ciphertext and tag).

import { x25519, publicKey } from "./x25519.js";

const INFO = new TextEncoder().encode("mnpd preset key v1");

function fromBase64(text) {
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function toBase64(bytes) {
  let raw = "";
  for (const b of bytes) raw += String.fromCharCode(b);
  return btoa(raw);
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `[ephemeral public key, shared secret]`, by WebCrypto where it has X25519. */
async function agree(serverPublic) {
  let pair;
  try {
    pair = await crypto.subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]);
  } catch {
    pair = null;
  }
  if (pair) {
    const server = await crypto.subtle.importKey("raw", serverPublic, { name: "X25519" }, false, []);
    const shared = await crypto.subtle.deriveBits({ name: "X25519", public: server }, pair.privateKey, 256);
    const mine = await crypto.subtle.exportKey("raw", pair.publicKey);
    return [new Uint8Array(mine), new Uint8Array(shared)];
  }
  const secret = crypto.getRandomValues(new Uint8Array(32));
  const mine = publicKey(secret);
  const shared = x25519(secret, serverPublic);
  secret.fill(0);
  if (shared.every((b) => b === 0)) throw new Error("the server's key is not a usable X25519 key");
  return [mine, shared];
}

/** The `Password` to send with `KeyId` = `key` (base64 X25519 public key). */
export async function encryptPassword(key, password) {
  const serverPublic = fromBase64(key);
  if (serverPublic.length !== 32) throw new Error("the sign-in key is not a 32-byte X25519 key");
  const [mine, shared] = await agree(serverPublic);
  const ikm = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
  shared.fill(0);
  const aes = await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: concat(mine, serverPublic), info: INFO },
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt"],
  );
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce }, aes, new TextEncoder().encode(password));
  return toBase64(concat(mine, nonce, new Uint8Array(sealed)));
}
