"""Encrypt a password for mnpd's CreateUser, CreateTeamMember and
ModifyUserPassword (docs/organization.md, "Preset keys").

    key = client.CreatePresetKey(models.CreatePresetKeyRequest()).Data.Key
    req.KeyId, req.Password = key, mnpd_preset.encrypt(key, "S3cret-pass")

`Key` is an X25519 public key in base64. The ciphertext is
base64(ephemeral public key (32) || nonce (12) || AES-256-GCM(password)),
the AES key being HKDF-SHA256 of the X25519 shared secret with salt
ephemeral public key || Key and info "mnpd preset key v1". A key serves one
request and lives ten minutes: ask for a new one each time.

Needs the `cryptography` package.
"""

import base64
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"mnpd preset key v1"


def encrypt(key: str, password: str) -> str:
    """The `Password` (or `UserPassword`) to send with `KeyId` = `key`."""
    server_public = base64.b64decode(key)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(server_public))
    aes_key = HKDF(algorithm=hashes.SHA256(), length=32,
                   salt=ephemeral_public + server_public, info=INFO).derive(shared)
    nonce = os.urandom(12)
    sealed = AESGCM(aes_key).encrypt(nonce, password.encode("utf-8"), None)
    return base64.b64encode(ephemeral_public + nonce + sealed).decode("ascii")
