-- Schema 11: a work item's estimate (story points) and its last sprint,
-- when the tracker has them (Jira; an events file's `points`, `sprint`).
ALTER TABLE work_items ADD COLUMN points REAL;
ALTER TABLE work_items ADD COLUMN sprint TEXT;
