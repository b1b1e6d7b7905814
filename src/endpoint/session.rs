//! Session ids the harness makes (`session: fresh`). Each dialogue execution (every repeat and rerun) gets one that no other
//! dialogue, repeat or run ever used: wall-clock milliseconds, a process-wide counter and
//! 64 random bits, so two runs started in the same millisecond on two CI machines still differ.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub fn new_id() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let r: u64 = rand::rng().random();
    format!("agenttest-{millis:x}-{n:x}-{r:016x}")
}

#[cfg(test)]
mod tests {
    /// Ids made at once on several threads never collide, and the random part really varies
    /// (a run on another machine with the same clock and counter must still differ).
    #[test]
    fn ids_are_unique_across_threads_and_carry_randomness() {
        let threads: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| (0..2_000).map(|_| super::new_id()).collect::<Vec<_>>()))
            .collect();
        let ids: Vec<String> = threads
            .into_iter()
            .flat_map(|t| t.join().expect("thread"))
            .collect();
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        let randoms: std::collections::HashSet<&str> = ids
            .iter()
            .map(|id| id.rsplit('-').next().expect("random part"))
            .collect();
        assert_eq!(randoms.len(), ids.len(), "the random part repeats");
        assert!(ids.iter().all(|id| id.starts_with("agenttest-")));
    }
}
