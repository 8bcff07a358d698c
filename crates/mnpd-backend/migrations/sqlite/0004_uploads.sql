-- Packages uploaded to mnpd itself (DescribeTempSecret4UploadFile2Cos, then
-- PUT /uploads/KEY), kept until CreateMNPVersion takes them by their URL or
-- they expire and the sweep removes them.
CREATE TABLE uploads (
    upload_key TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX uploads_by_expiry ON uploads(expires_at);
-- The sweep asks whether anything still names a blob.
CREATE INDEX uploads_by_sha256 ON uploads(sha256);
CREATE INDEX versions_by_sha256 ON versions(sha256);
CREATE INDEX tasks_by_sha256 ON tasks(sha256);
