-- Schema 20: deployments a windowed read takes whatever their age
-- (`pinned` <> 0), so an organisation's view reads the deployments of its
-- window and these, not every deployment ever recorded (at 400,000
-- deployments a 90-day window finishes 53,000 of them).
--
-- A deployment is pinned when its age alone cannot decide whether a
-- window's figures need it:
-- - it has no commit list (`commit_list` NULL): what it shipped comes from
--   the history, where its group's first deployment is a baseline;
-- - a commit of its list is listed by another deployment as well: a change
--   belongs to the earliest deployment shipping it, however old;
-- - it is the first deployment of its repository, service, environment
--   and status: a scope with deployments somewhere in its history keeps
--   one of each kind, whatever the window (a successful one: the flow's
--   cycle then ends at a deployment; any: the scope is not empty).
--
-- Writes keep it (`store/events.rs`: `PIN_BATCH_*`; a bulk import at its
-- end, `PIN_ALL`); it only ever goes from 0 to 1, so a stale 1 costs a
-- row read, never a wrong figure.
ALTER TABLE deployments ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
UPDATE deployments SET pinned = 1
WHERE commit_list IS NULL
   OR id IN (SELECT c.deployment_id FROM deployment_commits c
             WHERE c.sha IN (SELECT sha FROM deployment_commits GROUP BY sha HAVING COUNT(*) > 1))
   OR id IN (SELECT f.id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY repo, service, environment, status
                                                            ORDER BY finished_at, id) AS n
                               FROM deployments) f
             WHERE f.n = 1);
-- A service's deployments in time (the first of a group, a span before an
-- incident), a window's (by finish), the pinned before it.
DROP INDEX IF EXISTS deployments_service;
CREATE INDEX deployments_service ON deployments (service, finished_at);
CREATE INDEX deployments_finished ON deployments (finished_at);
CREATE INDEX deployments_pinned ON deployments (finished_at) WHERE pinned <> 0;
