-- Schema 12: each commit's parents as row ids ('' for a root commit), so
-- a report can attribute the whole graph from integers and read in full
-- only the commits its window needs. NULL until the sync that stored the
-- commit finishes (and while a parent is not stored: a shallow clone's edge).
ALTER TABLE commits ADD COLUMN parent_rows TEXT;
CREATE INDEX commits_graph_todo ON commits (repo_id) WHERE parent_rows IS NULL;
-- What a report reads of every commit, in an index it can scan alone
-- (a few bytes a commit) instead of the table (hundreds). `reverts` is
-- NULL but for reverts: an unreleased revert still fails what it reverts.
CREATE INDEX commits_graph ON commits (repo_id, id, committer_time, missing_blobs, parent_rows, reverts);
