-- fulcrum schema, version 1. Times are UTC seconds since the epoch (INTEGER),
-- offsets are minutes east of UTC. Only src/store.rs runs SQL.

CREATE TABLE repos (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    head_branch TEXT,
    shallow INTEGER NOT NULL DEFAULT 0,
    mailmap TEXT,
    -- 0 while a sync is under way (or was interrupted), 1 once it finished.
    sync_complete INTEGER NOT NULL DEFAULT 0,
    last_sync_at INTEGER
);

CREATE TABLE commits (
    id INTEGER PRIMARY KEY,
    repo_id INTEGER NOT NULL REFERENCES repos (id),
    sha TEXT NOT NULL,
    author_name TEXT NOT NULL,
    author_email TEXT NOT NULL,
    author_time INTEGER NOT NULL,
    author_offset INTEGER NOT NULL,
    committer_name TEXT NOT NULL,
    committer_email TEXT NOT NULL,
    committer_time INTEGER NOT NULL,
    committer_offset INTEGER NOT NULL,
    subject TEXT NOT NULL,
    reverts TEXT,
    -- parent ids in order, separated by single spaces ('' for a root commit)
    parents TEXT NOT NULL,
    missing_blobs INTEGER NOT NULL DEFAULT 0,
    UNIQUE (repo_id, sha)
);

CREATE TABLE file_changes (
    repo_id INTEGER NOT NULL REFERENCES repos (id),
    commit_id INTEGER NOT NULL REFERENCES commits (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    old_path TEXT,
    kind TEXT NOT NULL,
    added INTEGER,
    removed INTEGER
);
CREATE INDEX file_changes_commit ON file_changes (commit_id);

CREATE TABLE commit_trailers (
    commit_id INTEGER NOT NULL REFERENCES commits (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX commit_trailers_commit ON commit_trailers (commit_id);

CREATE TABLE refs (
    repo_id INTEGER NOT NULL REFERENCES repos (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    tagged_at INTEGER,
    PRIMARY KEY (repo_id, name)
);
