//! People (schema 9): goals and their measured values, check-ins between a
//! member and their lead, the anonymous pulse, and forgetting a person.
//! Part of the store: the only place that runs SQL.
//!
//! The pulse's anonymity is in the layout: a survey's answers are one row,
//! a JSON array reshuffled at every answer, holding no respondent, account,
//! link or time; who answered is a flag on the invitation, in another table
//! with nothing to join on.

use super::db::{Db, DbError, Row, params};
use super::{Store, StoreError};

/// A goal as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GoalRow {
    /// Its id.
    pub id: i64,
    /// `person` or `team`.
    pub owner_kind: String,
    /// An account name or a team name.
    pub owner: String,
    /// Its title.
    pub title: String,
    /// The metric measuring it, `None` for a manual goal.
    pub metric: Option<String>,
    /// `repo:PATH`, `team:NAME` or `service:NAME`.
    pub scope: Option<String>,
    /// A directory of the repository (the truck factor of a directory).
    pub directory: Option<String>,
    /// The target, in the metric's base unit.
    pub target: Option<f64>,
    /// `at_most` or `at_least`.
    pub direction: Option<String>,
    /// The trailing window the metric is measured over, days.
    pub window_days: i64,
    /// Due, UTC seconds.
    pub due_at: i64,
    /// The goal it serves.
    pub parent_id: Option<i64>,
    /// Why it matters.
    pub reason: Option<String>,
    /// `private`, `team` or `everyone`.
    pub visibility: String,
    /// When it was set.
    pub created_at: i64,
    /// Who set it (an account; `None` from the command line).
    pub created_by: Option<String>,
    /// The value over the window before it was set.
    pub baseline: Option<f64>,
    /// The SMART check made when it was set (JSON; shown parsed).
    #[serde(skip)]
    pub smart: String,
    /// When it was closed.
    pub closed_at: Option<i64>,
    /// How it ended (`achieved`, `missed`, `dropped`, or words).
    pub outcome: Option<String>,
}

const GOAL_COLUMNS: &str = "id, owner_kind, owner, title, metric, scope, directory, target, direction, window_days, \
     due_at, parent_id, reason, visibility, created_at, created_by, baseline, smart, closed_at, outcome";

fn goal(r: &Row<'_, '_>) -> Result<GoalRow, DbError> {
    Ok(GoalRow {
        id: r.get(0)?,
        owner_kind: r.get(1)?,
        owner: r.get(2)?,
        title: r.get(3)?,
        metric: r.get(4)?,
        scope: r.get(5)?,
        directory: r.get(6)?,
        target: r.get(7)?,
        direction: r.get(8)?,
        window_days: r.get(9)?,
        due_at: r.get(10)?,
        parent_id: r.get(11)?,
        reason: r.get(12)?,
        visibility: r.get(13)?,
        created_at: r.get(14)?,
        created_by: r.get(15)?,
        baseline: r.get(16)?,
        smart: r.get(17)?,
        closed_at: r.get(18)?,
        outcome: r.get(19)?,
    })
}

/// A value of a goal: the day (UTC seconds of its midnight), the value,
/// a note.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GoalValue {
    /// Midnight UTC of its day.
    pub day: i64,
    /// The value, `None` when the metric had no data that day.
    pub value: Option<f64>,
    /// A comment (a check-in's, or why there was no data).
    pub note: Option<String>,
}

/// A member and their lead, meeting at a cadence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PairRow {
    /// Its id.
    pub id: i64,
    /// The member's account.
    pub member: String,
    /// The lead's account.
    pub lead: String,
    /// Days between check-ins (7 or 14).
    pub cadence_days: i64,
    /// When the pair was made.
    pub created_at: i64,
    /// The last check-in.
    pub last_checkin_at: Option<i64>,
}

/// A check-in as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CheckinRow {
    /// Its id.
    pub id: i64,
    /// The pair.
    pub pair_id: i64,
    /// When it was held.
    pub held_at: i64,
    /// Who wrote it (the member or the lead).
    pub written_by: String,
    /// How the member feels, 1–5.
    pub feeling: Option<i64>,
    /// Progress on each of the member's goals (JSON array).
    pub goals: String,
    /// Wins.
    pub wins: String,
    /// Blockers.
    pub blockers: String,
    /// Help wanted.
    pub help_wanted: String,
    /// Hours spent learning since the last check-in.
    pub learning_hours: Option<f64>,
}

/// A talking point or an action item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ItemRow {
    /// Its id.
    pub id: i64,
    /// The text.
    pub text: String,
    /// An action item's owner.
    pub owner: Option<String>,
    /// An action item's due date.
    pub due_at: Option<i64>,
    /// The check-in it was raised in.
    pub raised_in: Option<i64>,
    /// Done (ticked off): the check-in, or for action items the time.
    pub done: Option<i64>,
}

/// What a new check-in writes.
#[derive(Debug, Clone, Default)]
pub struct NewCheckin {
    /// When it was held.
    pub held_at: i64,
    /// Who wrote it.
    pub written_by: String,
    /// 1–5.
    pub feeling: Option<i64>,
    /// JSON array of goal progress.
    pub goals: String,
    /// Wins.
    pub wins: String,
    /// Blockers.
    pub blockers: String,
    /// Help wanted.
    pub help_wanted: String,
    /// Hours spent learning.
    pub learning_hours: Option<f64>,
    /// New talking points.
    pub talking_points: Vec<String>,
    /// Talking points ticked off (ids of this pair).
    pub points_done: Vec<i64>,
    /// New action items: text, owner, due.
    pub actions: Vec<(String, String, Option<i64>)>,
    /// Action items done (ids of this pair).
    pub actions_done: Vec<i64>,
}

/// A survey as stored, with how many were invited and how many answered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SurveyRow {
    /// Its id.
    pub id: i64,
    /// The team asked.
    pub team: String,
    /// Its title.
    pub title: String,
    /// Who opened it.
    pub opened_by: String,
    /// Its period (`2026-12`): the only time kept about its answers.
    pub period: String,
    /// When it opened.
    pub opened_at: i64,
    /// When it closes on its own.
    pub closes_at: i64,
    /// When it was closed.
    pub closed_at: Option<i64>,
    /// The anonymity threshold.
    pub min_group: i64,
    /// Whether it takes free text.
    pub free_text: bool,
    /// The questions (JSON).
    pub questions: String,
    /// How many were invited.
    pub invited: i64,
    /// How many answered.
    pub answered: i64,
    /// The release decision made once it closed (JSON), kept.
    pub verdict: Option<String>,
}

/// Why an answer was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerRefusal {
    /// No such survey, or the person (or link) is not invited to it.
    NotInvited,
    /// Already answered.
    AlreadyAnswered,
    /// The survey is closed.
    Closed,
}

/// Who answers: an invited person through their account, or a one-time link.
#[derive(Debug, Clone, Copy)]
pub enum Respondent<'a> {
    /// The person's name.
    Person(&'a str),
    /// The SHA-256 of the link's token.
    Link(&'a str),
}

/// What forgetting a person erased: rows per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Forgotten {
    /// Commits whose author or committer was renamed to the pseudonym.
    pub commits: usize,
    /// Pull-request rows (authors, commits, reviews) renamed.
    pub pull_request_rows: usize,
    /// Goals deleted (with their values).
    pub goals: usize,
    /// Check-in pairs deleted (with their check-ins, points and actions).
    pub checkin_pairs: usize,
    /// Survey invitations deleted (anonymous answers stay, anonymous).
    pub survey_invitations: usize,
    /// Accounts deleted (with their sessions).
    pub accounts: usize,
}

impl Store {
    /// Stores a new goal; its id.
    pub fn add_goal(&mut self, g: &GoalRow) -> Result<i64, StoreError> {
        self.write(|db| {
            db.query_row(
                "INSERT INTO goals (owner_kind, owner, title, metric, scope, directory, target, direction, window_days,
                    due_at, parent_id, reason, visibility, created_at, created_by, baseline, smart)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) RETURNING id",
                params![
                    g.owner_kind,
                    g.owner,
                    g.title,
                    g.metric,
                    g.scope,
                    g.directory,
                    g.target,
                    g.direction,
                    g.window_days,
                    g.due_at,
                    g.parent_id,
                    g.reason,
                    g.visibility,
                    g.created_at,
                    g.created_by,
                    g.baseline,
                    g.smart
                ],
                |r| r.get(0),
            )
        })
    }

    /// Every goal, by id; closed ones too when `closed`.
    pub fn goals(&self, closed: bool) -> Result<Vec<GoalRow>, StoreError> {
        let filter = if closed { "" } else { " WHERE closed_at IS NULL" };
        self.db
            .query_map(&format!("SELECT {GOAL_COLUMNS} FROM goals{filter} ORDER BY id"), params![], goal)
            .map_err(self.sql())
    }

    /// The goal `id`.
    pub fn goal(&self, id: i64) -> Result<Option<GoalRow>, StoreError> {
        self.db
            .query_opt(&format!("SELECT {GOAL_COLUMNS} FROM goals WHERE id = ?1"), params![id], goal)
            .map_err(self.sql())
    }

    /// Closes the goal `id` with `outcome`; whether it was open.
    pub fn close_goal(&self, id: i64, outcome: &str, now: i64) -> Result<bool, StoreError> {
        let changed = self.write(|db| {
            db.execute(
                "UPDATE goals SET closed_at = ?2, outcome = ?3 WHERE id = ?1 AND closed_at IS NULL",
                params![id, now, outcome],
            )
        })?;
        Ok(changed > 0)
    }

    /// Records goals' values of a day (one per goal and day: the latest wins).
    pub fn record_goal_values(&mut self, values: &[(i64, GoalValue)]) -> Result<(), StoreError> {
        self.write(|db| {
            for (id, v) in values {
                db.execute(
                    "INSERT INTO goal_values (goal_id, day, value, note) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (goal_id, day) DO UPDATE SET value = excluded.value, note = excluded.note",
                    params![id, v.day, v.value, v.note],
                )?;
            }
            Ok(())
        })
    }

    /// A goal's values, oldest first.
    pub fn goal_values(&self, id: i64) -> Result<Vec<GoalValue>, StoreError> {
        self.db
            .query_map("SELECT day, value, note FROM goal_values WHERE goal_id = ?1 ORDER BY day", params![id], |r| {
                Ok(GoalValue { day: r.get(0)?, value: r.get(1)?, note: r.get(2)? })
            })
            .map_err(self.sql())
    }

    /// Makes a check-in pair; `None` when it exists.
    pub fn add_pair(&self, member: &str, lead: &str, cadence_days: i64, now: i64) -> Result<Option<i64>, StoreError> {
        self.write(|db| {
            db.query_opt(
                "INSERT INTO checkin_pairs (member, lead, cadence_days, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (member, lead) DO NOTHING RETURNING id",
                params![member, lead, cadence_days, now],
                |r| r.get(0),
            )
        })
    }

    /// Every pair, with its last check-in.
    pub fn pairs(&self) -> Result<Vec<PairRow>, StoreError> {
        self.db
            .query_map(
                "SELECT p.id, p.member, p.lead, p.cadence_days, p.created_at,
                        (SELECT MAX(held_at) FROM checkins c WHERE c.pair_id = p.id)
                 FROM checkin_pairs p ORDER BY p.lead, p.member",
                params![],
                |r| {
                    Ok(PairRow {
                        id: r.get(0)?,
                        member: r.get(1)?,
                        lead: r.get(2)?,
                        cadence_days: r.get(3)?,
                        created_at: r.get(4)?,
                        last_checkin_at: r.get(5)?,
                    })
                },
            )
            .map_err(self.sql())
    }

    /// Writes a check-in of `pair` with its talking points and action items; its id.
    pub fn add_checkin(&mut self, pair: i64, c: &NewCheckin) -> Result<i64, StoreError> {
        self.write(|db| {
            let id: i64 = db.query_row(
                "INSERT INTO checkins (pair_id, held_at, written_by, feeling, goals, wins, blockers, help_wanted,
                    learning_hours)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
                params![
                    pair,
                    c.held_at,
                    c.written_by,
                    c.feeling,
                    c.goals,
                    c.wins,
                    c.blockers,
                    c.help_wanted,
                    c.learning_hours
                ],
                |r| r.get(0),
            )?;
            for text in &c.talking_points {
                db.execute(
                    "INSERT INTO talking_points (pair_id, text, raised_in) VALUES (?1, ?2, ?3)",
                    params![pair, text, id],
                )?;
            }
            for point in &c.points_done {
                db.execute(
                    "UPDATE talking_points SET done_in = ?3 WHERE id = ?1 AND pair_id = ?2 AND done_in IS NULL",
                    params![point, pair, id],
                )?;
            }
            for (text, owner, due) in &c.actions {
                db.execute(
                    "INSERT INTO action_items (pair_id, checkin_id, text, owner, due_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![pair, id, text, owner, due],
                )?;
            }
            for action in &c.actions_done {
                db.execute(
                    "UPDATE action_items SET done_at = ?3 WHERE id = ?1 AND pair_id = ?2 AND done_at IS NULL",
                    params![action, pair, c.held_at],
                )?;
            }
            Ok(id)
        })
    }

    /// A pair's check-ins, newest first.
    pub fn checkins(&self, pair: i64) -> Result<Vec<CheckinRow>, StoreError> {
        self.db
            .query_map(
                "SELECT id, pair_id, held_at, written_by, feeling, goals, wins, blockers, help_wanted, learning_hours
                 FROM checkins WHERE pair_id = ?1 ORDER BY held_at DESC, id DESC",
                params![pair],
                |r| {
                    Ok(CheckinRow {
                        id: r.get(0)?,
                        pair_id: r.get(1)?,
                        held_at: r.get(2)?,
                        written_by: r.get(3)?,
                        feeling: r.get(4)?,
                        goals: r.get(5)?,
                        wins: r.get(6)?,
                        blockers: r.get(7)?,
                        help_wanted: r.get(8)?,
                        learning_hours: r.get(9)?,
                    })
                },
            )
            .map_err(self.sql())
    }

    /// A pair's talking points (`actions` false) or action items, oldest first.
    pub fn pair_items(&self, pair: i64, actions: bool) -> Result<Vec<ItemRow>, StoreError> {
        let sql = if actions {
            "SELECT id, text, owner, due_at, checkin_id, done_at FROM action_items WHERE pair_id = ?1 ORDER BY id"
        } else {
            "SELECT id, text, NULL, NULL, raised_in, done_in FROM talking_points WHERE pair_id = ?1 ORDER BY id"
        };
        self.db
            .query_map(sql, params![pair], |r| {
                Ok(ItemRow {
                    id: r.get(0)?,
                    text: r.get(1)?,
                    owner: r.get(2)?,
                    due_at: r.get(3)?,
                    raised_in: r.get(4)?,
                    done: r.get(5)?,
                })
            })
            .map_err(self.sql())
    }

    /// Learning hours of the check-ins of `members` whose lead is not
    /// `except` (member, held at, hours).
    pub fn learning_hours(
        &self,
        members: &[String],
        except: Option<&str>,
    ) -> Result<Vec<(String, i64, f64)>, StoreError> {
        let rows: Vec<(String, String, i64, f64)> = self
            .db
            .query_map(
                "SELECT p.member, p.lead, c.held_at, c.learning_hours FROM checkins c
                 JOIN checkin_pairs p ON p.id = c.pair_id WHERE c.learning_hours IS NOT NULL ORDER BY c.held_at",
                params![],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .map_err(self.sql())?;
        Ok(rows
            .into_iter()
            .filter(|(member, lead, _, _)| members.contains(member) && Some(lead.as_str()) != except)
            .map(|(member, _, at, hours)| (member, at, hours))
            .collect())
    }

    /// Opens a survey inviting `invitees` (person, SHA-256 of their one-time
    /// link when they have one); its id.
    pub fn add_survey(&mut self, s: &SurveyRow, invitees: &[(String, Option<String>)]) -> Result<i64, StoreError> {
        self.write(|db| {
            let id: i64 = db.query_row(
                "INSERT INTO surveys (team, title, opened_by, period, opened_at, closes_at, min_group, free_text,
                    questions, invited)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
                params![
                    s.team,
                    s.title,
                    s.opened_by,
                    s.period,
                    s.opened_at,
                    s.closes_at,
                    s.min_group,
                    s.free_text,
                    s.questions,
                    invitees.len() as i64
                ],
                |r| r.get(0),
            )?;
            db.execute("INSERT INTO survey_answers (survey_id, answers) VALUES (?1, '[]')", params![id])?;
            for (person, token) in invitees {
                db.execute(
                    "INSERT INTO survey_invitees (survey_id, person, token_hash) VALUES (?1, ?2, ?3)",
                    params![id, person, token],
                )?;
            }
            Ok(id)
        })
    }

    /// Every survey, oldest first.
    pub fn surveys(&self) -> Result<Vec<SurveyRow>, StoreError> {
        self.db
            .query_map(
                "SELECT s.id, s.team, s.title, s.opened_by, s.period, s.opened_at, s.closes_at, s.closed_at,
                        s.min_group, s.free_text, s.questions, s.invited,
                        (SELECT COUNT(*) FROM survey_invitees i WHERE i.survey_id = s.id AND i.answered = 1),
                        s.verdict
                 FROM surveys s ORDER BY s.id",
                params![],
                |r| {
                    Ok(SurveyRow {
                        id: r.get(0)?,
                        team: r.get(1)?,
                        title: r.get(2)?,
                        opened_by: r.get(3)?,
                        period: r.get(4)?,
                        opened_at: r.get(5)?,
                        closes_at: r.get(6)?,
                        closed_at: r.get(7)?,
                        min_group: r.get(8)?,
                        free_text: r.get(9)?,
                        questions: r.get(10)?,
                        invited: r.get(11)?,
                        answered: r.get(12)?,
                        verdict: r.get(13)?,
                    })
                },
            )
            .map_err(self.sql())
    }

    /// The invitees of survey `id`: person and whether they answered.
    pub fn survey_invitees(&self, id: i64) -> Result<Vec<(String, bool)>, StoreError> {
        self.db
            .query_map(
                "SELECT person, answered FROM survey_invitees WHERE survey_id = ?1 ORDER BY person",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(self.sql())
    }

    /// The survey a one-time link's hash opens, with whether it was used.
    pub fn survey_of_link(&self, token_hash: &str) -> Result<Option<(i64, bool)>, StoreError> {
        self.db
            .query_opt(
                "SELECT survey_id, answered FROM survey_invitees WHERE token_hash = ?1",
                params![token_hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(self.sql())
    }

    /// Stores one answer (`answer`, JSON) of survey `id`: the invitation is
    /// marked answered and the answer put at position `slot` (taken modulo
    /// the count plus one) of the survey's answers, in one transaction.
    pub fn answer_survey(
        &mut self,
        id: i64,
        who: Respondent<'_>,
        answer: serde_json::Value,
        slot: u64,
        now: i64,
    ) -> Result<Result<(), AnswerRefusal>, StoreError> {
        let sqlite = !self.is_postgres();
        if sqlite {
            // Freed pages are overwritten, so the previous order is not left behind in the file.
            self.db.batch("PRAGMA secure_delete = ON").map_err(self.sql())?;
        }
        let outcome = self.write(|db| {
            let open: Option<Option<i64>> = db.query_opt(
                "SELECT CASE WHEN closed_at IS NULL AND closes_at > ?2 THEN NULL ELSE 1 END FROM surveys WHERE id = ?1",
                params![id, now],
                |r| r.get(0),
            )?;
            match open {
                None => return Ok(Err(AnswerRefusal::NotInvited)),
                Some(Some(_)) => return Ok(Err(AnswerRefusal::Closed)),
                Some(None) => {}
            }
            let (sql, key) = match who {
                Respondent::Person(person) => (
                    "SELECT answered FROM survey_invitees WHERE survey_id = ?1 AND person = ?2",
                    person,
                ),
                Respondent::Link(hash) => (
                    "SELECT answered FROM survey_invitees WHERE survey_id = ?1 AND token_hash = ?2",
                    hash,
                ),
            };
            match db.query_opt(sql, params![id, key], |r| r.get::<bool>(0))? {
                None => return Ok(Err(AnswerRefusal::NotInvited)),
                Some(true) => return Ok(Err(AnswerRefusal::AlreadyAnswered)),
                Some(false) => {}
            }
            let update = match who {
                // The link is spent with the answer: its hash goes too.
                Respondent::Link(_) => {
                    "UPDATE survey_invitees SET answered = 1, token_hash = NULL WHERE survey_id = ?1 AND token_hash = ?2"
                }
                Respondent::Person(_) => "UPDATE survey_invitees SET answered = 1 WHERE survey_id = ?1 AND person = ?2",
            };
            db.execute(update, params![id, key])?;
            let stored: String =
                db.query_row("SELECT answers FROM survey_answers WHERE survey_id = ?1", params![id], |r| r.get(0))?;
            let mut answers: Vec<serde_json::Value> = serde_json::from_str(&stored).unwrap_or_default();
            let at = (slot % (answers.len() as u64 + 1)) as usize;
            answers.insert(at, answer.clone());
            let text = serde_json::Value::Array(answers).to_string();
            db.execute("UPDATE survey_answers SET answers = ?2 WHERE survey_id = ?1", params![id, text])?;
            Ok(Ok(()))
        });
        if sqlite {
            self.db.batch("PRAGMA secure_delete = OFF").map_err(self.sql())?;
            // The write-ahead log holds the pages as they were: fold it into the
            // database and empty it, so no earlier order of answers stays beside
            // the invitation written with it. (Busy readers may delay it: best effort.)
            let _ = self.db.batch("PRAGMA wal_checkpoint(TRUNCATE)");
        }
        outcome
    }

    /// The answers of survey `id` (JSON objects), in their stored order.
    pub fn survey_answers(&self, id: i64) -> Result<Vec<serde_json::Value>, StoreError> {
        let stored: Option<String> = self
            .db
            .query_opt("SELECT answers FROM survey_answers WHERE survey_id = ?1", params![id], |r| r.get(0))
            .map_err(self.sql())?;
        Ok(stored.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default())
    }

    /// Closes survey `id` before its date; whether it was still open (one
    /// past its date closed then, and keeps that time).
    pub fn close_survey(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let changed = self.write(|db| {
            db.execute(
                "UPDATE surveys SET closed_at = ?2 WHERE id = ?1 AND closed_at IS NULL AND closes_at > ?2",
                params![id, now],
            )
        })?;
        Ok(changed > 0)
    }

    /// Keeps the release decision of a closed survey; a decision made
    /// already is not replaced.
    pub fn set_survey_verdict(&self, id: i64, verdict: &str) -> Result<(), StoreError> {
        self.write(|db| {
            db.execute("UPDATE surveys SET verdict = ?2 WHERE id = ?1 AND verdict IS NULL", params![id, verdict])
        })?;
        Ok(())
    }

    /// Erases a person: `identities` (account name, e-mails, names, logins)
    /// are renamed to `pseudonym` in the history (and kept, hashed, so a
    /// later sync renames them too); their goals, check-in pairs (as member
    /// or lead, with every check-in, point and action), survey invitations
    /// and account are deleted. Anonymous answers stay as they are.
    pub fn forget_person(&mut self, identities: &[String], pseudonym: &str) -> Result<Forgotten, StoreError> {
        // Signatures are renamed below: the ids a sync remembers are read again.
        self.known_ids = None;
        self.write(|db| {
            let mut out = Forgotten::default();
            let email = format!("{pseudonym}@forgotten.invalid");
            for who in identities {
                let hash = crate::trust::sha256_hex(who.to_lowercase().as_bytes());
                db.execute(
                    "INSERT INTO forgotten (hash, pseudonym) VALUES (?1, ?2) ON CONFLICT (hash) DO NOTHING",
                    params![hash, pseudonym],
                )?;
                // Every stored spelling of them, in any case: compared in
                // Rust (SQL's `lower` folds ASCII letters only, on SQLite
                // and in PostgreSQL's "C" collation), then renamed by value.
                let spellings = |pairs: [(&str, &str); 2]| -> Result<Vec<String>, DbError> {
                    let mut found = Vec::new();
                    for (table, column) in pairs {
                        for spelling in spellings_of(db, table, column, who)? {
                            if !found.contains(&spelling) {
                                found.push(spelling);
                            }
                        }
                    }
                    Ok(found)
                };
                for spelling in spellings([("commits", "author_name"), ("commits", "author_email")])? {
                    out.commits += db.execute(
                        "UPDATE commits SET author_name = ?2, author_email = ?3 WHERE author_name = ?1 OR author_email = ?1",
                        params![spelling, pseudonym, email],
                    )?;
                }
                // The same commits' signature (schema 15), renamed in place.
                for spelling in spellings([("signatures", "name"), ("signatures", "email")])? {
                    db.execute(
                        "UPDATE signatures SET name = ?2, email = ?3 WHERE name = ?1 OR email = ?1",
                        params![spelling, pseudonym, email],
                    )?;
                }
                for spelling in spellings([("commits", "committer_name"), ("commits", "committer_email")])? {
                    db.execute(
                        "UPDATE commits SET committer_name = ?2, committer_email = ?3
                         WHERE committer_name = ?1 OR committer_email = ?1",
                        params![spelling, pseudonym, email],
                    )?;
                }
                // A pull request naming them loses its raw payload, which names them too.
                for spelling in spellings_of(db, "pull_requests", "author", who)? {
                    out.pull_request_rows += db.execute(
                        "UPDATE pull_requests SET author = ?2, raw = NULL WHERE author = ?1",
                        params![spelling, pseudonym],
                    )?;
                }
                out.pull_request_rows += rename_in_children(db, who, pseudonym)?;
                db.execute(
                    "DELETE FROM goal_values WHERE goal_id IN (SELECT id FROM goals WHERE owner_kind = 'person' AND owner = ?1)",
                    params![who],
                )?;
                out.goals += db.execute("DELETE FROM goals WHERE owner_kind = 'person' AND owner = ?1", params![who])?;
                for table in ["checkins", "talking_points", "action_items"] {
                    db.execute(
                        &format!(
                            "DELETE FROM {table} WHERE pair_id IN (SELECT id FROM checkin_pairs WHERE member = ?1 OR lead = ?1)"
                        ),
                        params![who],
                    )?;
                }
                out.checkin_pairs +=
                    db.execute("DELETE FROM checkin_pairs WHERE member = ?1 OR lead = ?1", params![who])?;
                out.survey_invitations += db.execute("DELETE FROM survey_invitees WHERE person = ?1", params![who])?;
                db.execute("UPDATE goals SET created_by = NULL WHERE created_by = ?1", params![who])?;
                db.execute("UPDATE surveys SET opened_by = ?2 WHERE opened_by = ?1", params![who, pseudonym])?;
                db.execute("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE name = ?1)", params![who])?;
                out.accounts += db.execute("DELETE FROM users WHERE name = ?1", params![who])?;
            }
            Ok(out)
        })
    }

    /// The pseudonyms of forgotten identities, by the SHA-256 of each
    /// (lower-cased) identity, for a sync to apply.
    pub fn forgotten(&self) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let rows: Vec<(String, String)> = self
            .db
            .query_map("SELECT hash, pseudonym FROM forgotten", params![], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.sql())?;
        Ok(rows.into_iter().collect())
    }
}

/// Renames `who` (any case) to `pseudonym` among the authors of every pull
/// request's packed activities (`pr_children`) and commits
/// (`pr_commit_ids`, see `store/packed.rs`), and clears the raw payload of
/// each pull request it renamed someone in; how many activities and
/// commits it renamed. Every row is read: the text holds the authors,
/// unindexed (forgetting is rare).
fn rename_in_children(db: &Db, who: &str, pseudonym: &str) -> Result<usize, DbError> {
    use super::packed;
    let who = who.to_lowercase();
    let name = |author: &str, n: &mut usize| -> String {
        if author.to_lowercase() == who {
            *n += 1;
            pseudonym.to_owned()
        } else {
            author.to_owned()
        }
    };
    // (table, column, the column's text with the renames and how many).
    type Rewrite<'a> = &'a dyn Fn(&str) -> Result<(String, usize), String>;
    let activities = |text: &str| {
        let (mut out, mut n) = (String::new(), 0);
        packed::activities(text, |at, kind, author| packed::push_activity(&mut out, at, kind, &name(author, &mut n)))?;
        Ok((out, n))
    };
    let commits = |text: &str| {
        let (mut out, mut n) = (String::new(), 0);
        packed::commit_ids(text, |sha, author| packed::push_commit_id(&mut out, sha, &name(author, &mut n)))?;
        Ok((out, n))
    };
    let rewrites: [(&str, &str, Rewrite<'_>); 2] =
        [("pr_children", "activities", &activities), ("pr_commit_ids", "commit_ids", &commits)];
    let mut renamed = 0;
    for (table, column, rewrite) in rewrites {
        let mut changed: Vec<(i64, String)> = Vec::new();
        db.for_each(&format!("SELECT pr_id, {column} FROM {table}"), params![], |row| {
            let (text, n) = row.with_text(1, rewrite)?.map_err(|message| DbError::Column { index: 1, message })?;
            if n > 0 {
                renamed += n;
                changed.push((row.get(0)?, text));
            }
            Ok(())
        })?;
        for (id, text) in &changed {
            db.execute(&format!("UPDATE {table} SET {column} = ?2 WHERE pr_id = ?1"), params![id, text])?;
            db.execute("UPDATE pull_requests SET raw = NULL WHERE id = ?1", params![id])?;
        }
    }
    Ok(renamed)
}

/// The distinct stored values of `table.column` that are `who` in any case
/// (`to_lowercase` on both: every letter folded, where SQL's `lower` folds
/// ASCII letters only on SQLite and in PostgreSQL's "C" collation).
fn spellings_of(db: &Db, table: &str, column: &str, who: &str) -> Result<Vec<String>, DbError> {
    let who = who.to_lowercase();
    let mut found = Vec::new();
    db.for_each(&format!("SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL"), params![], |row| {
        row.with_text(0, |value| {
            if value.to_lowercase() == who {
                found.push(value.to_owned());
            }
        })
    })?;
    Ok(found)
}
