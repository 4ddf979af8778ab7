//! Sync jobs shared by workers (schema 8): claimed with a lease, the lease
//! renewed while the work goes on, taken over when it runs out. On
//! PostgreSQL a claim skips rows other workers hold (`FOR UPDATE SKIP
//! LOCKED`); on SQLite the write transaction is already exclusive.
//! Part of the store: the only place that runs SQL.

use super::db::params;
use super::{Store, StoreError};

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Job {
    /// `repository` (a path) or `source` (a `[[source]]`'s repository).
    pub kind: String,
    /// What to sync.
    pub target: String,
    /// The worker holding it, while its lease runs.
    pub worker: Option<String>,
    /// When the lease ends, UTC seconds.
    pub lease_until: Option<i64>,
    /// When the last run started.
    pub last_started_at: Option<i64>,
    /// When the last run finished (successfully or not).
    pub last_finished_at: Option<i64>,
    /// The last run's error, if it failed.
    pub last_error: Option<String>,
    /// Runs finished.
    pub runs: i64,
}

impl Store {
    /// Registers jobs (`kind`, each target); ones already there are kept
    /// as they are. Returns how many were new.
    pub fn add_jobs(&mut self, kind: &str, targets: &[String]) -> Result<usize, StoreError> {
        self.write(|db| {
            let mut added = 0;
            for target in targets {
                added += db.execute(
                    "INSERT INTO sync_jobs (kind, target) VALUES (?1, ?2) ON CONFLICT (kind, target) DO NOTHING",
                    params![kind, target],
                )?;
            }
            Ok(added)
        })
    }

    /// Every job, by kind and target.
    pub fn jobs(&self) -> Result<Vec<Job>, StoreError> {
        self.db
            .query_map(
                "SELECT kind, target, worker, lease_until, last_started_at, last_finished_at, last_error, runs
                 FROM sync_jobs ORDER BY kind, target",
                params![],
                |r| {
                    Ok(Job {
                        kind: r.get(0)?,
                        target: r.get(1)?,
                        worker: r.get(2)?,
                        lease_until: r.get(3)?,
                        last_started_at: r.get(4)?,
                        last_finished_at: r.get(5)?,
                        last_error: r.get(6)?,
                        runs: r.get(7)?,
                    })
                },
            )
            .map_err(self.sql())
    }

    /// Claims the job that waited longest among those not finished since
    /// `due_before` and not leased (or whose lease ran out before `now`),
    /// for `worker` until `now + lease`.
    pub fn claim_job(
        &mut self,
        worker: &str,
        now: i64,
        lease: i64,
        due_before: i64,
    ) -> Result<Option<Job>, StoreError> {
        let skip_locked = if self.is_postgres() { " FOR UPDATE SKIP LOCKED" } else { "" };
        let claimed = self.write(|db| {
            db.query_opt(
                &format!(
                    "UPDATE sync_jobs SET worker = ?1, lease_until = ?2, last_started_at = ?3
                     WHERE (kind, target) IN (
                         SELECT kind, target FROM sync_jobs
                         WHERE (lease_until IS NULL OR lease_until < ?3)
                           AND (last_finished_at IS NULL OR last_finished_at < ?4)
                         ORDER BY last_finished_at NULLS FIRST, kind, target LIMIT 1{skip_locked})
                     RETURNING kind, target"
                ),
                params![worker, now + lease, now, due_before],
                |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
            )
        })?;
        let Some((kind, target)) = claimed else { return Ok(None) };
        Ok(self.jobs()?.into_iter().find(|j| j.kind == kind && j.target == target))
    }

    /// Extends `worker`'s lease of a job to `until`; `false` when the job
    /// is no longer its own (the lease ran out and another took it over).
    pub fn renew_lease(&mut self, kind: &str, target: &str, worker: &str, until: i64) -> Result<bool, StoreError> {
        self.write(|db| {
            db.execute(
                "UPDATE sync_jobs SET lease_until = ?4 WHERE kind = ?1 AND target = ?2 AND worker = ?3",
                params![kind, target, worker, until],
            )
        })
        .map(|changed| changed > 0)
    }

    /// Ends `worker`'s run of a job at `now`, with its error if it failed;
    /// the lease is released.
    pub fn finish_job(
        &mut self,
        kind: &str,
        target: &str,
        worker: &str,
        now: i64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.write(|db| {
            db.execute(
                "UPDATE sync_jobs SET worker = NULL, lease_until = NULL, last_finished_at = ?4, last_error = ?5,
                     runs = runs + 1
                 WHERE kind = ?1 AND target = ?2 AND worker = ?3",
                params![kind, target, worker, now, error],
            )
        })?;
        Ok(())
    }
}
