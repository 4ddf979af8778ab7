-- Schema 7: the public SQL interface, for Grafana, Metabase or a notebook,
-- on SQLite and PostgreSQL alike (README, "SQL interface"). The views are
-- versioned by name (`_v1`): a later schema may add columns to them, never
-- remove or change one; a breaking change is a new `_v2` beside the old.
-- They hold the stored facts with simple joins; fulcrum's own reports also
-- apply the configuration (bots, `deploy.env_pattern`, clock tolerance), so
-- the views take the default environment rule: prod, production or live.
-- No view exposes a person: authors are used to tell reviewers apart, never
-- shown.

-- The teams of the configuration, as the last `fulcrum sync` or `fulcrum org` saw them.
CREATE TABLE team_services (
    team TEXT NOT NULL,
    service TEXT NOT NULL,
    PRIMARY KEY (team, service)
);

-- Every deployment event, with its Monday (UTC, seconds) and whether it is
-- a successful production deployment (what the DORA keys count).
CREATE VIEW deployments_v1 AS
SELECT d.id AS id, d.source AS source, d.service AS service, d.environment AS environment, d.repo AS repo,
       d.commit_sha AS commit_sha, d.finished_at AS finished_at,
       (d.finished_at / 86400 - (d.finished_at / 86400 + 3) % 7) * 86400 AS week_start,
       d.status AS status,
       CASE WHEN d.status = 'success' AND lower(d.environment) IN ('prod', 'production', 'live') THEN 1 ELSE 0 END
           AS production_success
FROM deployments d;

-- Every pull request with the times of its stages (seconds; NULL where a
-- stage did not happen): first commit, ready for review (creation unless it
-- was a draft), first review activity by someone else, merge, and the first
-- successful production deployment listing its merge commit that finished
-- at or after the merge.
CREATE INDEX deployment_commits_sha ON deployment_commits (sha);

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

-- Changes that reached production: merged pull requests with their
-- deployment and lead time (first commit, or creation, to deployment).
CREATE VIEW changes_v1 AS
SELECT repo, number, merged_at, deployed_at, deployed_at - COALESCE(first_commit_at, created_at) AS lead_time_seconds,
       (deployed_at / 86400 - (deployed_at / 86400 + 3) % 7) * 86400 AS week_start
FROM pull_requests_v1
WHERE merged_at IS NOT NULL AND deployed_at IS NOT NULL;

-- Every incident with its duration (NULL while open) and its Monday.
CREATE VIEW incidents_v1 AS
SELECT source, external_id, service, title, started_at, resolved_at, resolved_at - started_at AS duration_seconds,
       (started_at / 86400 - (started_at / 86400 + 3) % 7) * 86400 AS week_start
FROM incidents;

-- Per service and week: successful production deployments, failed ones,
-- incidents started and their mean duration.
CREATE VIEW weekly_services_v1 AS
SELECT service, week_start, CAST(SUM(deployments) AS INTEGER) AS deployments, CAST(SUM(failed_deployments) AS INTEGER) AS failed_deployments,
       CAST(SUM(incidents) AS INTEGER) AS incidents, CAST(SUM(incident_seconds) AS DOUBLE PRECISION) / NULLIF(SUM(resolved), 0)
           AS mean_time_to_restore_seconds
FROM (
    SELECT service, week_start, production_success AS deployments,
           CASE WHEN status = 'failure' THEN 1 ELSE 0 END AS failed_deployments,
           0 AS incidents, 0 AS incident_seconds, 0 AS resolved
    FROM deployments_v1
    UNION ALL
    SELECT service, week_start, 0, 0, 1, COALESCE(duration_seconds, 0),
           CASE WHEN duration_seconds IS NULL THEN 0 ELSE 1 END
    FROM incidents_v1
) facts
GROUP BY service, week_start;

-- The same per team (a service in several teams counts for each).
CREATE VIEW weekly_teams_v1 AS
SELECT t.team AS team, w.week_start AS week_start, CAST(SUM(w.deployments) AS INTEGER) AS deployments,
       CAST(SUM(w.failed_deployments) AS INTEGER) AS failed_deployments, CAST(SUM(w.incidents) AS INTEGER) AS incidents
FROM weekly_services_v1 w JOIN team_services t ON t.service = w.service
GROUP BY t.team, w.week_start;
