-- Schema 15: each repository's author signatures (name and e-mail as
-- recorded) stored once, and each commit's author by id in the index the
-- graph is read from: knowledge reads who wrote every commit with the
-- graph, two integers a commit, instead of a second pass over the table's
-- text. No unique index on the text (see schema 14); readers take two rows
-- recording one signature as one.
CREATE TABLE signatures (
    id INTEGER PRIMARY KEY,
    repo_id INTEGER NOT NULL REFERENCES repos (id),
    name TEXT NOT NULL,
    email TEXT NOT NULL
);
INSERT INTO signatures (repo_id, name, email) SELECT DISTINCT repo_id, author_name, author_email FROM commits;
ALTER TABLE commits ADD COLUMN author_id INTEGER REFERENCES signatures (id);
-- `+ 0`: each commit looks its signature up (SQLite in a transient index,
-- PostgreSQL in a hash), not each signature every commit of its repository.
UPDATE commits SET author_id = s.id FROM signatures s
    WHERE s.repo_id = commits.repo_id + 0 AND s.name = commits.author_name AND s.email = commits.author_email;
-- Made after the join, as in schema 14.
CREATE INDEX signatures_repo ON signatures (repo_id);
DROP INDEX commits_graph;
CREATE INDEX commits_graph
    ON commits (repo_id, id, committer_time, missing_blobs, parent_rows, reverts, author_time, author_id);
