-- Packages of failed tasks are deleted while requests may be storing the
-- same content. The two meet here (docs/architecture.md, Durability): a
-- request pins the content before storing it and until its task is
-- recorded; a sweep writes a deletion row, then checks what needs the
-- content (pins included), deletes it, and removes the row. A request that
-- sees a deletion row waits for it to end before storing.
CREATE TABLE package_deletions (
    deletion_id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL,
    started_at INTEGER NOT NULL
);
CREATE INDEX package_deletions_sha256 ON package_deletions(sha256);
CREATE TABLE package_pins (
    pin_id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL,
    pinned_at INTEGER NOT NULL
);
CREATE INDEX package_pins_sha256 ON package_pins(sha256);
