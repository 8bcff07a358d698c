#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets into fuzz/corpus/<target>/.

    python3 fuzz/make_corpus.py

Each target's folder is emptied and filled again; the output depends only on
this script and the files it reads (the Python SDK's recorded requests in
crates/mnpd-wire/tests/vectors/vectors.json and the examples of
spec/tcmpp-2024-08-01.json), so running it twice gives the same files (the
deflated bytes also depend on the zlib in use). Standard library only.

- package_validate: zip files: mini programs and a mini game as the IDE exports
  them, and broken or hostile ones (truncated, zip bomb, overlapping entries,
  path traversal, symlink, encrypted, bad CRC, lying sizes, zip64, ...).
- wire_decode: HTTP requests in the target's format (method line, query line,
  header lines, empty line, body): every request of vectors.json plus two TC3
  requests signed here (a form POST, and a JSON POST signing more headers with
  lowercased values as the API documentation does).
- api_params: one byte choosing the action (its index in Action::ALL, which is
  sorted by name), then the spec's example request as JSON, or flattened into
  `Name.0.Field=value&...` form pairs as the v1 SDKs send them.
"""

import hashlib
import hmac
import io
import json
import random
import shutil
import struct
import urllib.parse
import zipfile
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
CORPUS = FUZZ / "corpus"
DATE = (2024, 8, 1, 12, 0, 0)


# ---------------------------------------------------------------------------
# package_validate


def rand_bytes(seed, n):
    return random.Random(seed).randbytes(n)


def zinfo(name, method=zipfile.ZIP_DEFLATED, mode=None):
    info = zipfile.ZipInfo(name, date_time=DATE)
    info.compress_type = method
    info.create_system = 3  # unix
    if mode is None:
        mode = 0o40755 if name.endswith("/") else 0o100644
    info.external_attr = mode << 16
    if name.endswith("/"):
        info.external_attr |= 0x10
        info.compress_type = zipfile.ZIP_STORED
    return info


def build(entries, comment=b"", method=zipfile.ZIP_DEFLATED, stream=False, zip64=False):
    """entries: (name, bytes) or (name, bytes, method) or (name, bytes, method, mode)."""
    buf = io.BytesIO()
    out = buf
    if stream:
        # A writer that cannot seek makes zipfile use data descriptors (flag bit 3).
        class NoSeek(io.RawIOBase):
            def writable(self):
                return True

            def write(self, b):
                return buf.write(b)

        out = NoSeek()
    with zipfile.ZipFile(out, "w") as zf:
        for entry in entries:
            name, data = entry[0], entry[1]
            m = entry[2] if len(entry) > 2 else method
            mode = entry[3] if len(entry) > 3 else None
            info = zinfo(name, m, mode)
            if zip64 and not name.endswith("/"):
                with zf.open(info, "w", force_zip64=True) as f:
                    f.write(data)
            else:
                zf.writestr(info, data, compresslevel=9 if m == zipfile.ZIP_DEFLATED else None)
        zf.comment = comment
    return buf.getvalue()


APP_JSON = json.dumps(
    {
        "pages": ["pages/index/index", "pages/logs/logs"],
        "subpackages": [{"root": "packageA", "pages": ["pages/cat/cat"]}],
        "window": {
            "backgroundTextStyle": "light",
            "navigationBarBackgroundColor": "#fff",
            "navigationBarTitleText": "Demo",
            "navigationBarTextStyle": "black",
        },
        "tabBar": {
            "list": [
                {"pagePath": "pages/index/index", "text": "Home"},
                {"pagePath": "pages/logs/logs", "text": "Logs"},
            ]
        },
        "sitemapLocation": "sitemap.json",
        "style": "v2",
    },
    indent=2,
).encode()


def page(path):
    return [
        (f"{path}.js", b"Page({ data: { motto: 'hi' }, onLoad() {} })\n"),
        (f"{path}.json", b'{ "usingComponents": {} }\n'),
        (f"{path}.wxml", b'<view class="container">{{motto}}</view>\n'),
        (f"{path}.wxss", b".container { padding: 20rpx; }\n"),
    ]


def mini_program(app_json=APP_JSON, skip=()):
    entries = [
        ("app.js", b"App({ onLaunch() { console.log('launch') } })\n"),
        ("app.json", app_json),
        ("app.wxss", b"page { background: #f6f6f6; }\n"),
        ("project.config.json", b'{"appid": "mpabc123", "compileType": "miniprogram"}'),
        ("sitemap.json", b'{"rules": [{"action": "allow", "page": "*"}]}'),
        ("pages/", b""),
        ("pages/index/", b""),
        *page("pages/index/index"),
        ("pages/logs/", b""),
        *page("pages/logs/logs"),
        *page("packageA/pages/cat/cat"),
        ("images/", b""),
        ("images/logo.png", b"\x89PNG\r\n\x1a\n" + rand_bytes(7, 400), zipfile.ZIP_STORED),
    ]
    return [e for e in entries if e[0] not in skip]


def mini_game(skip=()):
    entries = [
        ("game.json", b'{"deviceOrientation": "portrait", "showStatusBar": false}'),
        ("game.js", b"import './js/main'\nnew Main()\n"),
        ("js/", b""),
        ("js/main.js", b"export default class Main { constructor() { this.t = 0 } }\n"),
        ("images/bg.jpg", b"\xff\xd8\xff\xe0" + rand_bytes(9, 300), zipfile.ZIP_STORED),
    ]
    return [e for e in entries if e[0] not in skip]


def wrapped(entries, folder):
    return [(f"{folder}/", b"")] + [(f"{folder}/{e[0]}", *e[1:]) for e in entries]


def central_records(z):
    """(offset of each central directory record, its name, local header offset)."""
    eocd = z.rindex(b"PK\x05\x06")
    count = struct.unpack_from("<H", z, eocd + 10)[0]
    at = struct.unpack_from("<I", z, eocd + 16)[0]
    records = []
    for _ in range(count):
        nlen, xlen, clen = struct.unpack_from("<HHH", z, at + 28)
        local = struct.unpack_from("<I", z, at + 42)[0]
        records.append((at, bytes(z[at + 46 : at + 46 + nlen]), local))
        at += 46 + nlen + xlen + clen
    return records


def record_of(z, name):
    for cd, n, local in central_records(z):
        if n == name:
            return cd, local
    raise KeyError(name)


def patch_both(z, name, central_field, local_field, value):
    """Writes `value` (bytes) at a field of both the central and the local header."""
    z = bytearray(z)
    cd, local = record_of(z, name)
    z[cd + central_field : cd + central_field + len(value)] = value
    z[local + local_field : local + local_field + len(value)] = value
    return bytes(z)


def overlapping():
    """Central records with different names all pointing at one local entry."""
    z = bytearray(build([("game.json", b"{}"), ("game.js", bytes(512 * 1024))]))
    eocd = z.rindex(b"PK\x05\x06")
    cd_start = struct.unpack_from("<I", z, eocd + 16)[0]
    records = central_records(z)
    big_cd = records[1][0]
    big = bytes(z[big_cd:eocd])
    extra = b""
    for i in range(6):
        rec = bytearray(big)
        rec[46 + 5] = ord("0") + i  # "game.j?" -> distinct names
        extra += rec
    new_cd = bytes(z[cd_start:eocd]) + extra
    tail = bytearray(z[eocd:])
    struct.pack_into("<HHII", tail, 8, len(records) + 6, len(records) + 6, len(new_cd), cd_start)
    return bytes(z[:cd_start]) + new_cd + bytes(tail)


def with_zip64_end(z):
    """The same archive with a zip64 end record and locator, the classic record
    pointing to them."""
    eocd = z.rindex(b"PK\x05\x06")
    count, cd_size, cd_start = struct.unpack_from("<HII", z, eocd + 10)
    body = z[:eocd]
    rec64 = struct.pack(
        "<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, cd_size, cd_start
    )
    locator = struct.pack("<IIQI", 0x07064B50, 0, len(body), 1)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return body + rec64 + locator + end


def package_corpus():
    good = build(mini_program())
    out = {}
    out["mini_program.zip"] = good
    out["mini_program_in_folder_macos.zip"] = build(
        wrapped(mini_program(), "demo")
        + [("__MACOSX/", b""), ("__MACOSX/demo/._app.js", b"\x00\x05\x16\x07"), ("demo/.DS_Store", rand_bytes(3, 64))]
    )
    out["mini_game.zip"] = build(mini_game())
    sub = json.dumps(
        {
            "pages": ["pages/index/index"],
            "subPackages": [
                {"root": "packageA/", "pages": ["pages/cat/cat"]},
                {"root": "packageB", "name": "b", "pages": []},
            ],
            "entryPagePath": "packageA/pages/cat/cat",
        }
    ).encode()
    out["subPackages_entry_page.zip"] = build(mini_program(sub, skip=("pages/logs/logs.js",)))
    out["stored_only.zip"] = build(mini_game(), method=zipfile.ZIP_STORED)
    out["data_descriptors.zip"] = build(mini_game(), stream=True)
    out["zip64_entries.zip"] = build(mini_game(), zip64=True)
    out["zip64_end_record.zip"] = with_zip64_end(build(mini_game()))
    out["prepended_stub.zip"] = b"#!/bin/sh\necho self-extracting\nexit 0\n" + build(mini_game())
    out["comment.zip"] = build(mini_game(), comment=b"exported by the IDE v1.06 \xe2\x9c\x93")
    out["empty.zip"] = build([])
    out["not_a_zip.txt"] = b"PK\x03\x04 this only starts like a zip\n" + b"{\"pages\": []}\n"
    out["truncated_half.zip"] = good[: len(good) // 2]
    out["truncated_end_record.zip"] = good[:-9]
    # 1.5 MiB of zeros deflates to ~1.5 KiB: over the 200:1 ratio.
    out["bomb_ratio.zip"] = build(mini_game() + [("level.dat", bytes(3 * 512 * 1024))])
    out["bomb_overlapping.zip"] = overlapping()
    lying = build(mini_game())
    out["lying_size.zip"] = patch_both(lying, b"js/main.js", 24, 22, struct.pack("<I", 10))
    crc = bytearray(build(mini_game()))
    _, local = record_of(crc, b"images/bg.jpg")
    crc[local + 30 + len(b"images/bg.jpg") + 8] ^= 0x40
    out["bad_crc.zip"] = bytes(crc)
    out["encrypted_flag.zip"] = patch_both(build(mini_game()), b"game.js", 8, 6, b"\x01\x00")
    out["symlink.zip"] = build(mini_game() + [("js/link.js", b"../../../../etc/passwd", zipfile.ZIP_STORED, 0o120777)])
    out["bzip2.zip"] = build(mini_game(skip=("images/bg.jpg",)), method=zipfile.ZIP_BZIP2)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["duplicate_file.zip"] = build(mini_game() + [("game.js", b"evil()\n")])
    out["duplicate_dir_and_file.zip"] = build(mini_game() + [("js", b"not a folder")])
    non_utf8 = build(mini_game() + [("js/l~gs.js", b"x")])
    out["non_utf8_name.zip"] = patch_both(
        patch_both(non_utf8, b"js/l~gs.js", 46 + 4, 30 + 4, b"\xff"), b"js/l\xffgs.js", 8, 6, b"\x00\x00"
    )
    out["path_traversal.zip"] = build(mini_game() + [("../../evil.js", b"x")])
    out["path_absolute.zip"] = build(mini_game() + [("/etc/cron.d/x", b"x")])
    out["path_backslash_drive.zip"] = build(mini_game() + [("C:\\Windows\\x.js", b"x")])
    out["path_dot_segments.zip"] = build(mini_game() + [("js/./a//b.js", b"x")])
    out["manifest_bom.zip"] = build(mini_program(b"\xef\xbb\xbf" + APP_JSON))
    out["manifest_invalid_json.zip"] = build(mini_program(b'{"pages": ["pages/index/index",]'))
    out["manifest_deep.zip"] = build(
        mini_program(b'{"pages": ["pages/index/index"], "x": ' + b"[" * 40 + b"]" * 40 + b"}")
    )
    out["manifest_entry_not_listed.zip"] = build(
        mini_program(b'{"pages": ["pages/index/index"], "entryPagePath": "pages/nope/nope"}')
    )
    out["manifest_both_kinds.zip"] = build(mini_program() + [("game.json", b"{}"), ("game.js", b"")])
    out["no_manifest.zip"] = build(mini_program(skip=("app.json",)))
    out["missing_page_wxml.zip"] = build(mini_program(skip=("packageA/pages/cat/cat.wxml",)))
    out["missing_game_js.zip"] = build(mini_game(skip=("game.js",)))
    many = bytearray(build(mini_game()))
    eocd = many.rindex(b"PK\x05\x06")
    struct.pack_into("<HH", many, eocd + 8, 0xFFFF, 0xFFFF)
    out["declares_65535_entries.zip"] = bytes(many)
    # Central records followed by many end records claiming 9,000 entries each:
    # the zip crate tries every candidate end record (the read budget bounds it).
    record = struct.pack("<I", 0x02014B50) + bytes(42)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 9000, 9000, 0, 16, 0)
    out["repeated_end_records.zip"] = b"j" * 16 + record * 40 + end * 90
    out["many_small_entries.zip"] = build(
        mini_game() + [(f"js/m{i:02}.js", b"", zipfile.ZIP_STORED) for i in range(30)]
    )
    return out


# ---------------------------------------------------------------------------
# wire_decode


def wire_input(method, query, headers, body):
    head = "".join(f"{k}: {v}\n" for k, v in headers)
    return f"{method}\n{query}\n{head}\n".encode() + body


def tc3_sign(key, method, query, headers, signed, body, timestamp, date, lowercase=False):
    values = {k.lower(): v.strip() for k, v in headers}
    canonical_headers = "".join(
        f"{n}:{values[n].lower() if lowercase else values[n]}\n" for n in signed
    )
    payload = b"" if method == "GET" else body
    canonical = "\n".join(
        [method, "/", query, canonical_headers, ";".join(signed), hashlib.sha256(payload).hexdigest()]
    )
    to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            f"{date}/tcmpp/tc3_request",
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    k = hmac.new(b"TC3" + key.encode(), date.encode(), hashlib.sha256).digest()
    k = hmac.new(k, b"tcmpp", hashlib.sha256).digest()
    k = hmac.new(k, b"tc3_request", hashlib.sha256).digest()
    return hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()


def wire_corpus():
    vectors = json.loads((ROOT / "crates/mnpd-wire/tests/vectors/vectors.json").read_text())
    out = {}
    for v in vectors["vectors"]:
        r = v["request"]
        out[v["name"] + ".req"] = wire_input(
            r["method"], r["query"], r["headers"], (r["body"] or "").encode()
        )
    key, secret_id = vectors["secret_key"], vectors["secret_id"]
    ts, date = 1735689599, "2024-12-31"

    body = b"PlatformId=plat-1&Offset=0&Limit=20&Keyword=%E5%9B%A2+x"
    headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Host", "127.0.0.1:9080"),
        ("X-TC-Action", "DescribeMNPList"),
        ("X-TC-Timestamp", str(ts)),
        ("X-TC-Version", "2024-08-01"),
    ]
    sig = tc3_sign(key, "POST", "", headers, ["content-type", "host"], body, ts, date)
    headers.append(
        (
            "Authorization",
            f"TC3-HMAC-SHA256 Credential={secret_id}/{date}/tcmpp/tc3_request, "
            f"SignedHeaders=content-type;host, Signature={sig}",
        )
    )
    out["made_tc3_post_form.req"] = wire_input("POST", "", headers, body)

    body = b'{"PlatformId": "Plat-1", "Limit": 5}'
    headers = [
        ("Content-Type", "application/json; charset=utf-8"),
        ("Host", "TCMPP.Example.com"),
        ("X-TC-Action", "DescribeTeamList"),
        ("X-TC-Timestamp", str(ts)),
        ("X-TC-Version", "2024-08-01"),
        ("X-TC-Region", "ap-guangzhou"),
        ("X-TC-Content-SHA256", hashlib.sha256(body).hexdigest()),
    ]
    signed = ["content-type", "host", "x-tc-action", "x-tc-region"]
    sig = tc3_sign(key, "POST", "", headers, signed, body, ts, date, lowercase=True)
    headers.append(
        (
            "Authorization",
            f"TC3-HMAC-SHA256 Credential={secret_id}/{date}/tcmpp/tc3_request, "
            f"SignedHeaders={';'.join(signed)}, Signature={sig}",
        )
    )
    out["made_tc3_doc_style_signed_headers.req"] = wire_input("POST", "", headers, body)
    return out


# ---------------------------------------------------------------------------
# api_params


def flatten(value, prefix, out):
    if value is None:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(v, f"{prefix}.{k}" if prefix else k, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            flatten(v, f"{prefix}.{i}", out)
    elif isinstance(value, bool):
        out.append((prefix, "True" if value else "False"))  # as the Python SDK sends them
    else:
        out.append((prefix, str(value)))


def api_corpus():
    spec = json.loads((ROOT / "spec/tcmpp-2024-08-01.json").read_text())
    actions = sorted(spec["actions"])  # the order of Action::ALL
    requests = {}
    for name, examples in spec["examples"].items():
        for ex in examples:
            if isinstance(ex.get("request"), dict):
                requests[name] = ex["request"]
                break
    by_size = sorted(requests, key=lambda n: (-len(json.dumps(requests[n])), n))
    out = {}
    for name in by_size[:26]:
        out[f"json_{name}"] = bytes([actions.index(name)]) + json.dumps(
            requests[name], ensure_ascii=False
        ).encode()
    nested = [
        n for n in by_size if any(isinstance(v, (list, dict)) for v in requests[n].values())
    ]
    for name in nested[:14]:
        pairs = []
        flatten(requests[name], "", pairs)
        form = "&".join(
            f"{urllib.parse.quote(k, safe='.')}={urllib.parse.quote(v, safe='')}" for k, v in pairs
        )
        out[f"form_{name}"] = bytes([actions.index(name)]) + form.encode()
    return out


def main():
    for target, files in [
        ("package_validate", package_corpus()),
        ("wire_decode", wire_corpus()),
        ("api_params", api_corpus()),
    ]:
        folder = CORPUS / target
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, data in sorted(files.items()):
            (folder / name).write_bytes(data)
        total = sum(len(d) for d in files.values())
        largest = max(len(d) for d in files.values())
        print(f"{target}: {len(files)} files, {total} bytes, largest {largest}")


if __name__ == "__main__":
    main()
