-- Schema 17: row ids in blocks, so that a team's rows lie together.
--
-- A pull request's id is `block * 2^32 + n`, where `block` is its
-- repository's (`id_blocks`, kind `pull_request`, key: the repository slug)
-- and `n` counts up within it; a deployment's id likewise by its service
-- (kind `deployment`). SQLite stores a table in id order, and the children
-- of schema 16 in their parent's id order, so a team's report reads its
-- repositories' and services' rows from a few runs of pages, where it used
-- to fault in pages shared with every other team (an organisation's events
-- arrive in time order, interleaving every repository). Blocks start at 1:
-- rows stored before this schema keep their ids (all below 2^32, "block 0")
-- and stay readable as they are; the repositories and services they name
-- get a block here, so their next rows are stored together.
CREATE TABLE id_blocks (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    block INTEGER NOT NULL,
    PRIMARY KEY (kind, key),
    UNIQUE (kind, block)
);
INSERT INTO id_blocks (kind, key, block)
    SELECT 'pull_request', repo, ROW_NUMBER() OVER (ORDER BY repo) FROM (SELECT DISTINCT repo FROM pull_requests) r;
INSERT INTO id_blocks (kind, key, block)
    SELECT 'deployment', service, ROW_NUMBER() OVER (ORDER BY service) FROM (SELECT DISTINCT service FROM deployments) s;

-- A deployment's listed commits stored together, keyed by `(deployment_id,
-- seq)` (`seq`: the commit's place in the list, from 0), as schema 16 did for
-- a pull request's children. The list is a set to every reader; the upgrade
-- numbers it by commit id. The views reading it are dropped and made again,
-- unchanged.
DROP VIEW changes_v1;
DROP VIEW pull_requests_v1;

CREATE TABLE deployment_commits_17 (
    deployment_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    sha TEXT NOT NULL,
    PRIMARY KEY (deployment_id, seq)
) WITHOUT ROWID;
INSERT INTO deployment_commits_17 (deployment_id, seq, sha)
    SELECT deployment_id, ROW_NUMBER() OVER (PARTITION BY deployment_id ORDER BY sha) - 1, sha
    FROM deployment_commits;
DROP TABLE deployment_commits;
ALTER TABLE deployment_commits_17 RENAME TO deployment_commits;
CREATE INDEX deployment_commits_sha ON deployment_commits (sha);

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
