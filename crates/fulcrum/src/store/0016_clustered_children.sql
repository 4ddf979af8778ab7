-- Schema 16: a pull request's commits and activities stored together, keyed
-- by `(pr_id, seq)` (`seq`: the child's place among its pull request's, from
-- 0). On SQLite the tables are `WITHOUT ROWID`, so the rows are the key's
-- B-tree: a team's report reads each of its pull requests' children from
-- one page, where it used to seek every child's row by id across the whole
-- file (an organisation interleaves its teams' pull requests). PostgreSQL
-- keeps ordinary tables with that primary key. No foreign key, as on
-- PostgreSQL since schema 2: pull requests are never deleted, their
-- children are written with them in one transaction, and the check cost a
-- lookup of the pull request for every child an import stores.
--
-- `pull_requests.last_event_at`: the latest of a pull request's creation,
-- merge, close and review activities, NULL while it is open. A windowed
-- report reads the pull requests its windows reach (open ones, and those
-- with an event since the window's start) from one index range per
-- repository, where it used to read every pull request of its repositories
-- and look for a recent activity of each.
--
-- The views reading the children are dropped and made again, unchanged.
DROP VIEW changes_v1;
DROP VIEW pull_requests_v1;

CREATE TABLE pr_commits_16 (
    pr_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    sha TEXT NOT NULL,
    author TEXT NOT NULL,
    authored_at INTEGER NOT NULL,
    PRIMARY KEY (pr_id, seq)
) WITHOUT ROWID;
INSERT INTO pr_commits_16 (pr_id, seq, sha, author, authored_at)
    SELECT pr_id, ROW_NUMBER() OVER (PARTITION BY pr_id ORDER BY authored_at, sha, author) - 1, sha, author, authored_at
    FROM pr_commits;
DROP TABLE pr_commits;
ALTER TABLE pr_commits_16 RENAME TO pr_commits;

CREATE TABLE pr_activities_16 (
    pr_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    author TEXT NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (pr_id, seq)
) WITHOUT ROWID;
INSERT INTO pr_activities_16 (pr_id, seq, author, at, kind)
    SELECT pr_id, ROW_NUMBER() OVER (PARTITION BY pr_id ORDER BY at, kind, author) - 1, author, at, kind
    FROM pr_activities;
DROP TABLE pr_activities;
ALTER TABLE pr_activities_16 RENAME TO pr_activities;

-- As in schema 7.
CREATE VIEW pull_requests_v1 AS
SELECT repo, number, created_at, ready_at, merged_at, closed_at, additions, deletions, first_commit_at,
       first_review_at, deployed_at,
       ready_at - first_commit_at AS coding_seconds,
       first_review_at - ready_at AS pickup_seconds,
       merged_at - first_review_at AS review_seconds,
       deployed_at - merged_at AS deploy_seconds,
       CASE WHEN merged_at IS NULL THEN NULL
            ELSE (merged_at / 86400 - (merged_at / 86400 + 3) % 7) * 86400 END AS merged_week_start
FROM (
    SELECT p.repo AS repo, p.number AS number, p.created_at AS created_at,
           COALESCE(p.ready_at, p.created_at) AS ready_at, p.merged_at AS merged_at, p.closed_at AS closed_at,
           p.additions AS additions, p.deletions AS deletions, c.first_commit_at AS first_commit_at,
           r.first_review_at AS first_review_at,
           (SELECT MIN(d.finished_at) FROM deployment_commits dc JOIN deployments d ON d.id = dc.deployment_id
            WHERE dc.sha = p.merge_commit AND d.status = 'success'
              AND lower(d.environment) IN ('prod', 'production', 'live') AND d.finished_at >= p.merged_at)
               AS deployed_at
    FROM pull_requests p
    LEFT JOIN (SELECT pr_id, MIN(authored_at) AS first_commit_at FROM pr_commits GROUP BY pr_id) c ON c.pr_id = p.id
    LEFT JOIN (SELECT a.pr_id AS pr_id, MIN(a.at) AS first_review_at
               FROM pr_activities a JOIN pull_requests q ON q.id = a.pr_id
               WHERE a.author <> q.author GROUP BY a.pr_id) r ON r.pr_id = p.id
) stages;

CREATE VIEW changes_v1 AS
SELECT repo, number, merged_at, deployed_at, deployed_at - COALESCE(first_commit_at, created_at) AS lead_time_seconds,
       (deployed_at / 86400 - (deployed_at / 86400 + 3) % 7) * 86400 AS week_start
FROM pull_requests_v1
WHERE merged_at IS NOT NULL AND deployed_at IS NOT NULL;

ALTER TABLE pull_requests ADD COLUMN last_event_at INTEGER;
UPDATE pull_requests SET last_event_at = (
    SELECT MAX(t) FROM (
        SELECT created_at AS t UNION ALL SELECT merged_at UNION ALL SELECT closed_at
        UNION ALL SELECT MAX(a.at) FROM pr_activities a WHERE a.pr_id = pull_requests.id
    ) events)
    WHERE merged_at IS NOT NULL OR closed_at IS NOT NULL;
CREATE INDEX pull_requests_reach ON pull_requests (repo, last_event_at);
