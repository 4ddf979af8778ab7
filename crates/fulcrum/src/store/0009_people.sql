-- Schema 9: people. Goals measured by fulcrum's metrics, check-ins between
-- a member and their lead, and the anonymous pulse.

CREATE TABLE goals (
    id INTEGER PRIMARY KEY,
    -- `person` (an account name) or `team` (a [[team]] name).
    owner_kind TEXT NOT NULL,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    -- NULL: a manual goal, updated in check-ins.
    metric TEXT,
    -- `repo:PATH`, `team:NAME` or `service:NAME`; `directory` inside a repository.
    scope TEXT,
    directory TEXT,
    target REAL,
    -- `at_most` or `at_least`.
    direction TEXT,
    -- Days of the trailing window the metric is measured over.
    window_days INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    parent_id INTEGER,
    reason TEXT,
    -- `private` (owner and their lead), `team` or `everyone`.
    visibility TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT,
    baseline REAL,
    -- The SMART check made at creation, JSON.
    smart TEXT NOT NULL,
    closed_at INTEGER,
    outcome TEXT
);

-- A goal's measured (or, for a manual goal, reported) values: one per day.
CREATE TABLE goal_values (
    goal_id INTEGER NOT NULL,
    day INTEGER NOT NULL,
    value REAL,
    note TEXT,
    PRIMARY KEY (goal_id, day)
);

CREATE TABLE checkin_pairs (
    id INTEGER PRIMARY KEY,
    member TEXT NOT NULL,
    lead TEXT NOT NULL,
    cadence_days INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (member, lead)
);

CREATE TABLE checkins (
    id INTEGER PRIMARY KEY,
    pair_id INTEGER NOT NULL,
    held_at INTEGER NOT NULL,
    written_by TEXT NOT NULL,
    -- 1 to 5, or NULL.
    feeling INTEGER,
    -- JSON: each of the member's goals, its value then and a comment.
    goals TEXT NOT NULL,
    wins TEXT NOT NULL,
    blockers TEXT NOT NULL,
    help_wanted TEXT NOT NULL,
    learning_hours REAL
);
CREATE INDEX checkins_pair ON checkins (pair_id);

-- Talking points carry over until ticked off.
CREATE TABLE talking_points (
    id INTEGER PRIMARY KEY,
    pair_id INTEGER NOT NULL,
    text TEXT NOT NULL,
    raised_in INTEGER,
    done_in INTEGER
);

CREATE TABLE action_items (
    id INTEGER PRIMARY KEY,
    pair_id INTEGER NOT NULL,
    checkin_id INTEGER,
    text TEXT NOT NULL,
    owner TEXT NOT NULL,
    due_at INTEGER,
    done_at INTEGER
);

CREATE TABLE surveys (
    id INTEGER PRIMARY KEY,
    team TEXT NOT NULL,
    title TEXT NOT NULL,
    opened_by TEXT NOT NULL,
    -- The only time kept about answers: the survey's period, `2026-12`.
    period TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    closes_at INTEGER NOT NULL,
    closed_at INTEGER,
    min_group INTEGER NOT NULL,
    free_text INTEGER NOT NULL,
    -- JSON: the questions.
    questions TEXT NOT NULL,
    -- How many were invited.
    invited INTEGER NOT NULL,
    -- Once closed, whether its results are shown (JSON), decided once and kept.
    verdict TEXT
);

-- Every answer of a survey in one row: a JSON array whose order is
-- shuffled at each new answer. No respondent, no account, no link, no time.
CREATE TABLE survey_answers (
    survey_id INTEGER PRIMARY KEY,
    answers TEXT NOT NULL
);

-- Who may answer and who has, only to refuse a second answer; nothing joins
-- it to survey_answers. `token_hash` is the SHA-256 of a one-time link.
CREATE TABLE survey_invitees (
    survey_id INTEGER NOT NULL,
    person TEXT NOT NULL,
    token_hash TEXT UNIQUE,
    answered INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (survey_id, person)
);

-- People whose identities were erased (`fulcrum person forget`): the
-- SHA-256 of each identity, so a later sync stores a pseudonym instead.
CREATE TABLE forgotten (
    hash TEXT PRIMARY KEY,
    pseudonym TEXT NOT NULL
);
