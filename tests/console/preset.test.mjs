// The console's password encryption (js/preset.js) and its X25519 fallback
// (js/x25519.js) in Node, whose globals (crypto.subtle, atob, btoa) are the
// browser's: what the page sends opens with the scheme of
// docs/organization.md, whether WebCrypto has X25519 or not.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { diffieHellman, generateKeyPairSync } from "node:crypto";

import { x25519, publicKey } from "../../crates/mnpd-server/console/js/x25519.js";
import { encryptPassword } from "../../crates/mnpd-server/console/js/preset.js";
import { serverKey } from "./lib/preset.mjs";

const hex = (s) => Uint8Array.from(Buffer.from(s, "hex"));
const raw = (key, part) => Buffer.from(key.export({ format: "jwk" })[part], "base64url");

describe("X25519 in JavaScript", () => {
  it("gives RFC 7748's test vector", () => {
    const out = x25519(
      hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
      hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"),
    );
    assert.equal(Buffer.from(out).toString("hex"), "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
  });

  it("agrees with OpenSSL on random keys", () => {
    for (let i = 0; i < 16; i += 1) {
      const a = generateKeyPairSync("x25519");
      const b = generateKeyPairSync("x25519");
      const mine = x25519(raw(a.privateKey, "d"), raw(b.publicKey, "x"));
      const theirs = diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey });
      assert.equal(Buffer.from(mine).toString("hex"), theirs.toString("hex"));
      assert.equal(Buffer.from(publicKey(raw(a.privateKey, "d"))).toString("hex"), raw(a.publicKey, "x").toString("hex"));
    }
  });
});

describe("the console's encrypted password", () => {
  it("opens with the server's key (WebCrypto X25519)", async () => {
    const server = serverKey();
    const sealed = await encryptPassword(server.key, "Pässw0rd-ü");
    assert.equal(Buffer.from(sealed, "base64").length, 32 + 12 + Buffer.byteLength("Pässw0rd-ü") + 16);
    assert.equal(server.open(sealed), "Pässw0rd-ü");
  });

  it("opens the same when WebCrypto lacks X25519 (the fallback)", async () => {
    const subtle = globalThis.crypto.subtle;
    const original = subtle.generateKey;
    subtle.generateKey = async (alg, ...rest) => {
      if (alg && alg.name === "X25519") throw new DOMException("Unrecognized name.", "NotSupportedError");
      return original.call(subtle, alg, ...rest);
    };
    try {
      const server = serverKey();
      assert.equal(server.open(await encryptPassword(server.key, "S3cret-pass")), "S3cret-pass");
    } finally {
      subtle.generateKey = original;
    }
  });

  it("refuses a key that is not 32 bytes", async () => {
    await assert.rejects(encryptPassword(Buffer.alloc(16).toString("base64"), "x"), /32-byte/);
  });
});
