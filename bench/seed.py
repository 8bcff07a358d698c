"""Seeding a deployment's metadata by direct SQL, fast, with rows shaped as
the server writes them: ids of the real shapes, succeeded tasks, versions
with the manifest of a real package, approvals with one item per host
application, releases and the online version.

Every seeded mini program has VERSIONS versions 1.0.0, 1.1.0, ...; all but
the last are approved and released in turn (the online version is the
second to last), the last is in approval. Its package is the template's:
packages are stored by content, so one blob serves every seeded version.
"""
from __future__ import annotations

import random
import sqlite3
import string
import subprocess
import time
from dataclasses import dataclass

from lab import MNP_TYPE, PLATFORM, Deployment

VERSIONS = 10
LOWER_ALNUM = string.ascii_lowercase + string.digits


@dataclass
class Template:
    """What a real mini program released through the API left in the store."""
    team_id: str
    application_id: str
    user: str
    sha256: str
    size: int
    manifest: str
    file_url: str
    next_version_id: int
    next_release_id: int


def _query(dep: Deployment, sql: str) -> list[tuple]:
    if dep.database_url:
        out = subprocess.run(["psql", dep.database_url, "-X", "-q", "-A", "-t", "-F", "\t",
                              "-v", "ON_ERROR_STOP=1", "-c", sql],
                             capture_output=True, text=True, check=True).stdout
        return [tuple(line.split("\t")) for line in out.splitlines() if line]
    with sqlite3.connect(dep.sqlite_path) as db:
        return [tuple(str(v) for v in row) for row in db.execute(sql)]


def template(dep: Deployment) -> Template:
    """Reads the template from a store holding one released version (the
    server must be stopped for SQLite)."""
    (team_id, user), = _query(dep, "SELECT team_id, create_user FROM mini_programs LIMIT 1")
    (application_id,), = _query(dep, "SELECT application_id FROM applications LIMIT 1")
    (sha256, size, manifest, max_version), = _query(
        dep, "SELECT sha256, size, manifest, (SELECT max(mnp_version_id) FROM versions) "
             "FROM versions ORDER BY mnp_version_id LIMIT 1")
    (file_url,), = _query(dep, "SELECT file_url FROM tasks LIMIT 1")
    (max_release,), = _query(dep, "SELECT max(release_id) FROM releases")
    return Template(team_id, application_id, user, sha256, int(size), manifest, file_url,
                    int(max_version) + 1, int(max_release) + 1)


class Rows:
    """The rows of mini programs `first` .. `first + count - 1`, table by
    table, in an order the foreign keys accept."""

    COLUMNS = {
        "mini_programs": ("mnp_id", "platform_id", "team_id", "name", "mnp_type", "icon", "intro",
                          "description", "status", "create_user", "created_at", "update_user",
                          "updated_at"),
        "tasks": ("task_id", "platform_id", "mnp_id", "mnp_version", "file_url", "intro", "sha256",
                  "size", "status", "msg", "attempts", "lease_owner", "lease_until",
                  "mnp_version_id", "create_user", "created_at", "updated_at"),
        "versions": ("mnp_version_id", "mnp_id", "platform_id", "version", "intro", "sha256",
                     "size", "manifest", "task_id", "create_user", "created_at"),
        "approvals": ("approval_no", "platform_id", "mnp_id", "mnp_version_id", "status",
                      "apply_user", "apply_time", "updated_at"),
        "approval_items": ("approval_no", "application_id", "status", "note", "approval_user",
                           "approval_time"),
        "releases": ("release_id", "mnp_id", "platform_id", "mnp_version_id", "kind",
                     "release_user", "released_at"),
        "online_versions": ("mnp_id", "mnp_version_id", "release_id", "updated_at"),
    }

    def __init__(self, t: Template, first: int, count: int, now: int, taken: set[str]):
        self.tables: dict[str, list[tuple]] = {name: [] for name in self.COLUMNS}
        rng = random.Random(first)
        used = set(taken)

        def unique(make) -> str:
            while True:
                value = make()
                if value not in used:
                    used.add(value)
                    return value

        def task_id(at: int) -> str:
            return time.strftime("%Y%m%d%H%M%S", time.gmtime(at)) + f"{rng.randrange(100_000):05d}"

        # Mini program i is created i * 10 s after the base, a version each
        # hour after it: everything lies in the past.
        base = now - 40 * 86400
        version_id, release_id = t.next_version_id, t.next_release_id
        add = {name: rows.append for name, rows in self.tables.items()}
        for i in range(first, first + count):
            mnp = unique(lambda: "mp" + "".join(rng.choices(LOWER_ALNUM, k=14)))
            created = base + i * 10
            first_release = created + 3600 + 1800
            add["mini_programs"]((mnp, PLATFORM, t.team_id, f"seed-{i:06d}", MNP_TYPE,
                                  "https://example.com/i.png", "seeded", "seeded", 1, t.user,
                                  created, t.user, first_release))
            online = None
            for j in range(VERSIONS):
                at = created + 3600 * (j + 1)
                task = unique(lambda: task_id(at))
                add["tasks"]((task, PLATFORM, mnp, f"1.{j}.0", t.file_url, "seeded", t.sha256,
                              t.size, 60, "Success", 1, None, None, version_id, t.user, at, at + 1))
                add["versions"]((version_id, mnp, PLATFORM, f"1.{j}.0", "seeded", t.sha256, t.size,
                                 t.manifest, task, t.user, at + 1))
                approval = unique(lambda: "aud" + "".join(rng.choices(LOWER_ALNUM, k=15)))
                decided = j < VERSIONS - 1
                status = 3 if decided else 1
                add["approvals"]((approval, PLATFORM, mnp, version_id, status, t.user, at + 60,
                                  at + 600 if decided else at + 60))
                add["approval_items"]((approval, t.application_id, status, "",
                                       t.user if decided else "", at + 600 if decided else 0))
                if decided:
                    add["releases"]((release_id, mnp, PLATFORM, version_id, "release", t.user,
                                     at + 1800))
                    online = (mnp, version_id, release_id, at + 1800)
                    release_id += 1
                version_id += 1
            add["online_versions"](online)
        self.versions = count * VERSIONS

    def into_sqlite(self, path):
        with sqlite3.connect(path) as db:
            # A bulk load: durability comes from the commit at the end.
            db.execute("PRAGMA synchronous = OFF")
            db.execute("PRAGMA cache_size = -262144")
            for table, columns in self.COLUMNS.items():
                marks = ", ".join("?" * len(columns))
                db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                               self.tables[table])

    @staticmethod
    def has_counts(url: str) -> bool:
        """Whether the schema keeps per-platform counts (migration 0005)."""
        out = subprocess.run(["psql", url, "-X", "-q", "-A", "-t", "-c",
                              "SELECT to_regclass('mini_program_counts') IS NOT NULL"],
                             capture_output=True, text=True, check=True).stdout
        return out.strip() == "t"

    def into_postgres(self, url: str):
        """One psql process, one transaction, COPY per table. Foreign keys
        and triggers are off while loading (the rows refer only to each
        other and to the template), so what the mini_programs triggers
        keep is brought up to date after: their numbers, in creation order,
        and the per-platform counts. The id sequences are moved past the
        ids given."""
        def field(v) -> str:
            if v is None:
                return r"\N"
            return (str(v).replace("\\", "\\\\").replace("\t", "\\t")
                    .replace("\n", "\\n").replace("\r", "\\r"))

        script = ["SET LOCAL session_replication_role = replica;"]
        for table, columns in self.COLUMNS.items():
            script.append(f"COPY {table} ({', '.join(columns)}) FROM STDIN;")
            script.extend("\t".join(field(v) for v in row) for row in self.tables[table])
            script.append("\\.")
        script.append("SET LOCAL session_replication_role = origin;")
        script.append("INSERT INTO mini_program_numbers (mnp_id)"
                      " SELECT m.mnp_id FROM mini_programs m"
                      " WHERE NOT EXISTS (SELECT 1 FROM mini_program_numbers n"
                      " WHERE n.mnp_id = m.mnp_id) ORDER BY m.created_at, m.mnp_id;")
        if self.has_counts(url):
            script.append("INSERT INTO mini_program_counts (platform_id, n)"
                          " SELECT platform_id, count(*) FROM mini_programs GROUP BY platform_id"
                          " ON CONFLICT (platform_id) DO UPDATE SET n = excluded.n;")
        for table, column in (("versions", "mnp_version_id"), ("releases", "release_id")):
            script.append(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                          f"(SELECT max({column}) FROM {table}));")
        subprocess.run(["psql", url, "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-f", "-"],
                       input="\n".join(script) + "\n", text=True, check=True,
                       stdout=subprocess.DEVNULL)
        # What autovacuum does soon after a bulk load on a live server.
        subprocess.run(["psql", url, "-X", "-q", "-c", "ANALYZE"], check=True,
                       stdout=subprocess.DEVNULL)


def seed(dep: Deployment, first: int, count: int) -> int:
    """Adds mini programs `first` .. `first + count - 1` (server stopped for
    SQLite); the number of versions added."""
    taken = {task for task, in _query(dep, "SELECT task_id FROM tasks")}
    rows = Rows(template(dep), first, count, int(time.time()), taken)
    if dep.database_url:
        rows.into_postgres(dep.database_url)
    else:
        rows.into_sqlite(dep.sqlite_path)
    return rows.versions


def seeded_mnp(dep: Deployment, index: int = 0) -> str:
    (mnp,), = _query(dep, f"SELECT mnp_id FROM mini_programs WHERE name = 'seed-{index:06d}'")
    return mnp


def count_versions(dep: Deployment) -> int:
    (n,), = _query(dep, "SELECT count(*) FROM versions")
    return int(n)
