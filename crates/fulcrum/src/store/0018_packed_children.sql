-- Schema 18: a pull request's commits and activities packed into one row
-- of `pr_children` (their times, and the activities) and one of
-- `pr_commit_ids` (the commits' ids and authors), replacing `pr_commits` and
-- `pr_activities` (a row per commit and per activity: at 2,000,000 pull
-- requests, 15 million rows that every import wrote and every organisation
-- view stepped through). A window's reports read no commit id: their table
-- is not read then (at 2,000,000 pull requests, 400 of 680 MB).
--
-- The text of each column (`store/packed.rs` reads and writes it):
-- - `commit_times`: each commit's author time, decimal, separated by ',';
-- - `activities`: `AT,KIND,LEN:AUTHOR` for each activity, one after
--   another (`LEN`: the author's length in bytes, so that any text may
--   follow; `KIND`: review, review_comment or comment);
-- - `commit_ids`: `LEN:SHA` then `LEN:AUTHOR` for each commit, in the
--   order of `commit_times`.
-- Both lists keep the order of the old `seq`. A pull request with neither
-- commits nor activities has no row in `pr_children`, one without commits
-- none in `pr_commit_ids`.
--
-- `first_commit_at` (the earliest commit time) and `first_review_at` (the
-- earliest activity of anyone but the pull request's author) are what the
-- public views read of the children; they are written with them.
DROP VIEW changes_v1;
DROP VIEW pull_requests_v1;

CREATE TABLE pr_children (
    pr_id INTEGER NOT NULL PRIMARY KEY,
    first_commit_at INTEGER,
    first_review_at INTEGER,
    commit_times TEXT NOT NULL,
    activities TEXT NOT NULL
);
CREATE TABLE pr_commit_ids (
    pr_id INTEGER NOT NULL PRIMARY KEY,
    commit_ids TEXT NOT NULL
);
INSERT INTO pr_commit_ids (pr_id, commit_ids)
SELECT pr_id, string_agg(octet_length(sha) || ':' || sha || octet_length(author) || ':' || author, '' ORDER BY seq)
FROM pr_commits GROUP BY pr_id;
INSERT INTO pr_children (pr_id, first_commit_at, first_review_at, commit_times, activities)
SELECT p.id, c.first_commit_at, r.first_review_at, COALESCE(c.times, ''), COALESCE(a.list, '')
FROM pull_requests p
LEFT JOIN (SELECT pr_id, MIN(authored_at) AS first_commit_at,
                  string_agg('' || authored_at, ',' ORDER BY seq) AS times
           FROM pr_commits GROUP BY pr_id) c ON c.pr_id = p.id
LEFT JOIN (SELECT pr_id, string_agg(at || ',' || kind || ',' || octet_length(author) || ':' || author, ''
                                    ORDER BY seq) AS list
           FROM pr_activities GROUP BY pr_id) a ON a.pr_id = p.id
LEFT JOIN (SELECT a.pr_id AS pr_id, MIN(a.at) AS first_review_at
           FROM pr_activities a JOIN pull_requests q ON q.id = a.pr_id
           WHERE a.author <> q.author GROUP BY a.pr_id) r ON r.pr_id = p.id
WHERE c.pr_id IS NOT NULL OR a.pr_id IS NOT NULL;
DROP TABLE pr_commits;
DROP TABLE pr_activities;

-- As in schema 7, the children's figures read from their columns.
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
           c.first_review_at AS first_review_at,
           (SELECT MIN(d.finished_at) FROM deployment_commits dc JOIN deployments d ON d.id = dc.deployment_id
            WHERE dc.sha = p.merge_commit AND d.status = 'success'
              AND lower(d.environment) IN ('prod', 'production', 'live') AND d.finished_at >= p.merged_at)
               AS deployed_at
    FROM pull_requests p
    LEFT JOIN pr_children c ON c.pr_id = p.id
) stages;

CREATE VIEW changes_v1 AS
SELECT repo, number, merged_at, deployed_at, deployed_at - COALESCE(first_commit_at, created_at) AS lead_time_seconds,
       (deployed_at / 86400 - (deployed_at / 86400 + 3) % 7) * 86400 AS week_start
FROM pull_requests_v1
WHERE merged_at IS NOT NULL AND deployed_at IS NOT NULL;
