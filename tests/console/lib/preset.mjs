// A password encrypted for a preset key in Node, as clients/python/mnpd_preset.py
// does it (docs/organization.md, "Preset keys"), for the test's own API calls
// (CreateUser, ModifyUserPassword); and the way back, to check what the
// console's browser code produces.

import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
} from "node:crypto";

const INFO = "mnpd preset key v1";

const rawPublic = (key) => Buffer.from(key.export({ format: "jwk" }).x, "base64url");
const publicOf = (raw) =>
  createPublicKey({ key: { kty: "OKP", crv: "X25519", x: Buffer.from(raw).toString("base64url") }, format: "jwk" });
const aesKey = (shared, salt) => Buffer.from(hkdfSync("sha256", shared, salt, INFO, 32));

export function encrypt(key, password) {
  const server = Buffer.from(key, "base64");
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  const mine = rawPublic(publicKey);
  const shared = diffieHellman({ privateKey, publicKey: publicOf(server) });
  const nonce = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", aesKey(shared, Buffer.concat([mine, server])), nonce);
  const sealed = Buffer.concat([c.update(password, "utf8"), c.final(), c.getAuthTag()]);
  return Buffer.concat([mine, nonce, sealed]).toString("base64");
}

/** A key pair standing for the server's: `{key (base64), open(ciphertext)}`. */
export function serverKey() {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  const server = rawPublic(publicKey);
  return {
    key: server.toString("base64"),
    open(ciphertext) {
      const raw = Buffer.from(ciphertext, "base64");
      const mine = raw.subarray(0, 32);
      const nonce = raw.subarray(32, 44);
      const body = raw.subarray(44, raw.length - 16);
      const tag = raw.subarray(raw.length - 16);
      const shared = diffieHellman({ privateKey, publicKey: publicOf(mine) });
      const d = createDecipheriv("aes-256-gcm", aesKey(shared, Buffer.concat([mine, server])), nonce);
      d.setAuthTag(tag);
      return Buffer.concat([d.update(body), d.final()]).toString("utf8");
    },
  };
}
