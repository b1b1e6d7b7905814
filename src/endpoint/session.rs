//! Session ids. Each dialogue execution (every repeat and rerun) gets one that no other
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
    #[test]
    fn ids_are_unique() {
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| super::new_id()).collect();
        assert_eq!(ids.len(), 10_000);
    }
}
