//! Answers of the analyses, kept for a short time: an analysis of a large
//! store takes far longer than serving a page may, and its answer changes
//! only when the store does. Each (analysis, query) is computed by one
//! request at a time; those arriving meanwhile wait for its answer instead
//! of computing it again. Writes through this server (events, webhooks,
//! background syncs) empty the cache at once; a write by another process
//! (`fulcrum import` on the same database) shows within [`FRESH`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an answer is served without computing it again.
pub const FRESH: Duration = Duration::from_secs(30);

type Slot = Arc<tokio::sync::Mutex<Option<(Instant, u64, String)>>>;

/// The cache of analysis answers.
#[derive(Debug, Default)]
pub struct Cache {
    slots: Mutex<HashMap<String, Slot>>,
    /// Bumped by every write: answers of an older generation are stale.
    generation: std::sync::atomic::AtomicU64,
}

impl Cache {
    /// Forgets every answer (after a write).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// The answer for `key`, computed by `compute` when there is no fresh one.
    pub async fn get<E>(
        &self,
        key: String,
        compute: impl std::future::Future<Output = Result<String, E>>,
    ) -> Result<String, E> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // Bounded: a flood of distinct queries cannot grow it without end.
            if slots.len() > 1024 {
                slots.clear();
            }
            slots.entry(key).or_default().clone()
        };
        let mut entry = slot.lock().await;
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        if let Some((at, g, text)) = entry.as_ref()
            && *g == generation
            && at.elapsed() < FRESH
        {
            return Ok(text.clone());
        }
        let text = compute.await?;
        *entry = Some((Instant::now(), generation, text.clone()));
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_kept_until_a_write() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let cache = Cache::default();
            let calls = std::sync::atomic::AtomicU32::new(0);
            let compute = || async {
                let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok::<_, ()>(format!("answer {n}"))
            };
            assert_eq!(cache.get("a".into(), compute()).await.unwrap(), "answer 0");
            assert_eq!(cache.get("a".into(), compute()).await.unwrap(), "answer 0");
            assert_eq!(cache.get("b".into(), compute()).await.unwrap(), "answer 1");
            cache.invalidate();
            assert_eq!(cache.get("a".into(), compute()).await.unwrap(), "answer 2");
            // An error is not kept.
            assert!(cache.get("c".into(), async { Err::<String, _>(()) }).await.is_err());
            assert_eq!(cache.get("c".into(), compute()).await.unwrap(), "answer 3");
        });
    }
}
