-- Schema 13: a pull request's activities with their times in the index, so
-- a report reading only the pull requests its windows reach finds those
-- reviewed lately from the index alone (no table row per activity).
DROP INDEX pr_activities_pr;
CREATE INDEX pr_activities_pr ON pr_activities (pr_id, at);
-- A scope's deployments by service or repository (a team's among an
-- organisation's hundreds of thousands), and the distinct repositories
-- found one index seek each.
CREATE INDEX deployments_service ON deployments (service);
CREATE INDEX deployments_repo ON deployments (repo);
-- What a report counts of every pull request (stored, merged, merged
-- without a merge commit, per repository and source) from indexes alone,
-- not from rows that carry each pull request's raw payload.
CREATE INDEX pull_requests_counts ON pull_requests (repo, source, merged_at);
CREATE INDEX pull_requests_merged_without_commit ON pull_requests (repo, source)
    WHERE merged_at IS NOT NULL AND merge_commit IS NULL;
