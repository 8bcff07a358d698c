"""Open an mnpd host configuration file as a host SDK does (docs/host-apps.md).

    file = mnpd_host_config.decode(resp.Data.File)      # the API's `File`
    material = mnpd_host_config.open_file(file, host_sdk_key_hex)

`host_sdk_key_hex` is the platform's host SDK key (`mnpd admin platform
host-key --platform-id ...`), which the platform's host SDK carries. The
file's key is HKDF-SHA256(ikm = host SDK key, salt = "mnpd-host-config/1",
info = appKey "\\n" appType); `material` is base64(nonce (12) ||
AES-256-GCM(secret JSON)) followed by the 16 hex digits of the key id, and
the associated data is the file's clear fields (format, customId, productId,
packageName, bundleId, appKey, appType), one a line. A change to any of
them, or to any byte of `material`, raises `Tampered`.

Run as a script to check a file: `python mnpd_host_config.py FILE KEY_HEX`
(FILE holds the JSON, or the API's base64 `File`); it prints the material.

Needs the `cryptography` package.
"""

import base64
import binascii
import hashlib
import hmac
import json
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT = "mnpd-host-config/1"
CLEAR_FIELDS = ("format", "customId", "productId", "packageName", "bundleId", "appKey", "appType")


class Tampered(Exception):
    """The file changed since mnpd sealed it, or was sealed for another app."""


class OtherKey(Exception):
    """The file was sealed under another host SDK key (another platform)."""


def decode(file_b64: str) -> dict:
    """The API's `File` (base64 of the JSON document) as a dict."""
    return json.loads(base64.b64decode(file_b64))


def key_id(host_key: bytes) -> str:
    return hmac.new(host_key, b"mnpd host sdk key id", hashlib.sha256).hexdigest()[:16]


def _aad(file: dict) -> bytes:
    return "\n".join(str(file[f]) for f in CLEAR_FIELDS).encode("utf-8")


def open_file(file: dict, host_key_hex: str) -> dict:
    """The sealed material of `file`, checked; raises Tampered or OtherKey."""
    host_key = bytes.fromhex(host_key_hex)
    if file.get("format") != FORMAT:
        raise ValueError(f"not an mnpd configuration file (format {file.get('format')!r})")
    material = file["material"]
    sealed_b64, kid = material[:-16], material[-16:]
    if kid != key_id(host_key):
        raise OtherKey(f"sealed under key {kid}, this host SDK holds {key_id(host_key)}")
    try:
        blob = base64.b64decode(sealed_b64, validate=True)
    except binascii.Error as e:
        raise Tampered("material is not base64") from e
    file_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=FORMAT.encode(),
                    info=f"{file['appKey']}\n{file['appType']}".encode()).derive(host_key)
    try:
        plain = AESGCM(file_key).decrypt(blob[:12], blob[12:], _aad(file))
    except (InvalidTag, ValueError) as e:
        raise Tampered("material does not open: the file was changed") from e
    sealed = json.loads(plain)
    if (sealed["platformId"], sealed["applicationId"], sealed["appType"]) != (
            file["customId"], file["appKey"], file["appType"]):
        raise Tampered("the clear fields disagree with the sealed ones")
    return sealed


def main(argv) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    text = open(argv[1], encoding="utf-8").read().strip()
    file = json.loads(text) if text.startswith("{") else decode(text)
    try:
        material = open_file(file, argv[2])
    except (Tampered, OtherKey) as e:
        print(f"refused: {e}", file=sys.stderr)
        return 1
    print(json.dumps(material, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
