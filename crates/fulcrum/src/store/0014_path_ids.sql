-- Schema 14: a repository's paths stored once, its file changes naming them
-- by id. Knowledge reads every change of the history (millions at a million
-- commits): integers to read, not a path's text per change, and no path to
-- look up again. Paths belong to a repository (one sync writes them, and a
-- distributed store keeps them beside the repository's other rows). No
-- unique index on the text: a path's length is the repository's to choose,
-- and a PostgreSQL index entry holds at most a third of a page. The sync
-- that first sees a path stores it (syncs of a repository take turns);
-- readers take two rows naming one path as one path.
CREATE TABLE paths (
    id INTEGER PRIMARY KEY,
    repo_id INTEGER NOT NULL REFERENCES repos (id),
    path TEXT NOT NULL
);
INSERT INTO paths (repo_id, path)
    SELECT repo_id, path FROM file_changes
    UNION
    SELECT repo_id, old_path FROM file_changes WHERE old_path IS NOT NULL;
CREATE TABLE file_changes_14 (
    repo_id INTEGER NOT NULL REFERENCES repos (id),
    commit_id INTEGER NOT NULL REFERENCES commits (id) ON DELETE CASCADE,
    path_id INTEGER NOT NULL REFERENCES paths (id),
    old_path_id INTEGER REFERENCES paths (id),
    kind TEXT NOT NULL,
    added INTEGER,
    removed INTEGER
);
INSERT INTO file_changes_14 (repo_id, commit_id, path_id, old_path_id, kind, added, removed)
    SELECT f.repo_id, f.commit_id, p.id, o.id, f.kind, f.added, f.removed
    FROM file_changes f
    JOIN paths p ON p.repo_id = f.repo_id AND p.path = f.path
    LEFT JOIN paths o ON o.repo_id = f.repo_id AND o.path = f.old_path;
DROP TABLE file_changes;
ALTER TABLE file_changes_14 RENAME TO file_changes;
CREATE INDEX file_changes_commit ON file_changes (commit_id);
-- Made last: without it, the joins above look each path up in a transient
-- index on (repo_id, path) (SQLite) or a hash (PostgreSQL), where this one
-- would scan every path of the repository for every change.
CREATE INDEX paths_repo ON paths (repo_id);
