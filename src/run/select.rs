//! Which dialogues run: `--filter`, `--tag` and `--partition K/N`. Pure functions of the
//! loaded suites, so `list` and `run` select exactly the same dialogues; and the digest of a
//! selection, which tells `merge` whether shards were cut from the same one.

use crate::suite::model::Suite;
use crate::util::fnv1a;

#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Substrings of `suite › dialogue`; a dialogue matching any of them is kept.
    pub filters: Vec<String>,
    /// A dialogue with any of these tags is kept.
    pub tags: Vec<String>,
    pub partition: Option<Partition>,
}

/// The `k`-th (1-based) of `n` slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub k: u32,
    pub n: u32,
}

impl Partition {
    pub fn parse(text: &str) -> Result<Partition, String> {
        let bad = || format!("`{text}` is not a partition: write K/N with 1 <= K <= N, e.g. `2/4`");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let k: u32 = k.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || k == 0 || k > n {
            return Err(bad());
        }
        Ok(Partition { k, n })
    }

    /// By a stable hash of the display name, not by position: adding a dialogue moves no
    /// other one to another slice, so CI shards stay comparable run to run.
    pub fn contains(&self, display_name: &str) -> bool {
        (fnv1a(display_name.as_bytes()) % u64::from(self.n)) as u32 == self.k - 1
    }
}

/// `(suite index, dialogue index)` of every selected dialogue, in suite and file order.
pub fn select(suites: &[Suite], sel: &Selection) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (si, suite) in suites.iter().enumerate() {
        for (di, d) in suite.dialogues.iter().enumerate() {
            let name = suite.display_name(d);
            let by_filter = sel.filters.is_empty() || sel.filters.iter().any(|f| name.contains(f));
            let by_tag = sel.tags.is_empty() || d.tags.iter().any(|t| sel.tags.contains(t));
            let by_part = sel.partition.is_none_or(|p| p.contains(&name));
            if by_filter && by_tag && by_part {
                out.push((si, di));
            }
        }
    }
    out
}

/// A digest of the dialogues `sel` selects before any `--partition` slicing: the names the
/// slices are cut by (`suite › dialogue`, matrix rows included), in order. Every shard of one
/// CI run computes the same; one cut from another suite version, or under another filter or
/// tag, does not, and `merge` refuses it rather than pass on part of the suite.
pub fn selection_digest(suites: &[Suite], sel: &Selection) -> u64 {
    let whole = Selection {
        partition: None,
        ..sel.clone()
    };
    let mut names = String::new();
    for (si, di) in select(suites, &whole) {
        let suite = &suites[si];
        names.push_str(&suite.display_name(&suite.dialogues[di]));
        names.push('\n');
    }
    fnv1a(names.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_partitions() {
        assert_eq!(Partition::parse("2/4"), Ok(Partition { k: 2, n: 4 }));
        assert!(Partition::parse("0/4").is_err());
        assert!(Partition::parse("5/4").is_err());
        assert!(Partition::parse("1/0").is_err());
        assert!(Partition::parse("x").is_err());
    }

    #[test]
    fn partitions_are_disjoint_complete_and_stable() {
        let names: Vec<String> = (0..500).map(|i| format!("suite › dialogue {i}")).collect();
        let n = 4;
        let slice_of = |name: &str| {
            (1..=n)
                .filter(|k| Partition { k: *k, n }.contains(name))
                .collect::<Vec<_>>()
        };
        let before: Vec<Vec<u32>> = names.iter().map(|s| slice_of(s)).collect();
        assert!(
            before.iter().all(|s| s.len() == 1),
            "each in exactly one slice"
        );
        for k in 1..=n {
            let count = before.iter().filter(|s| s[0] == k).count();
            assert!(count > 80, "slice {k} has only {count} of 500");
        }
    }

    /// A dialogue's slice is a function of its name alone, through a hash that must never
    /// change (CI shards of two runs must agree): pinned here to known answers.
    #[test]
    fn slices_are_pinned_to_the_name() {
        let slice = |name: &str| (1..=4).find(|k| Partition { k: *k, n: 4 }.contains(name));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
        for name in ["support › business hours", "billing › refund", "x › y"] {
            let expected = (fnv1a(name.as_bytes()) % 4) as u32 + 1;
            assert_eq!(slice(name), Some(expected), "{name}");
        }
    }
}
