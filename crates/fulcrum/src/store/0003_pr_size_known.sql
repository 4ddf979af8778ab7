-- Schema 3: a pull request's size may be unknown (a host that gives no line
-- counts); such a pull request is in no size bucket.
ALTER TABLE pull_requests ADD COLUMN size_known INTEGER NOT NULL DEFAULT 1;
