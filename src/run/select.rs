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
    /// `K/N` written exactly: plain decimal digits without sign, space or leading zero, and
    /// `1 <= K <= N`. Strict because the value comes from a CI matrix's template: ` 1/3`,
    /// `+1/3` or `01/03` is a slip in it (a stray space or sign, a padded number) that is
    /// better shown than guessed at, and a slice is then written one way only, as the report
    /// records it and `merge` names it (`shard 2/3`). The error names no flag: the caller
    /// knows which one it parsed.
    pub fn parse(text: &str) -> Result<Partition, String> {
        let bad = || format!("expected K/N with 1 <= K <= N, such as 2/3; got '{text}'");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (k, n) = (
            whole_number(k).ok_or_else(bad)?,
            whole_number(n).ok_or_else(bad)?,
        );
        if k == 0 || k > n {
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

/// A number of one or more ASCII digits with no leading zero (`0` itself is allowed, and left
/// to the range check): `str::parse` alone would also take `+1` and `01`.
fn whole_number(text: &str) -> Option<u32> {
    let digits = text.bytes().all(|b| b.is_ascii_digit());
    let padded = text.len() > 1 && text.starts_with('0');
    if text.is_empty() || !digits || padded {
        return None;
    }
    text.parse().ok()
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
        assert_eq!(Partition::parse("1/1"), Ok(Partition { k: 1, n: 1 }));
        assert_eq!(Partition::parse("10/10"), Ok(Partition { k: 10, n: 10 }));
        assert_eq!(
            Partition::parse("100/4000"),
            Ok(Partition { k: 100, n: 4000 })
        );
        assert!(Partition::parse("0/4").is_err());
        assert!(Partition::parse("5/4").is_err());
        assert!(Partition::parse("1/0").is_err());
        assert!(Partition::parse("0/0").is_err());
        assert!(Partition::parse("x").is_err());
    }

    /// Only plain digits: a sign, a space, a leading zero or anything else around the
    /// numbers is refused, never read as the slice it resembles.
    #[test]
    fn parse_partitions_refuses_all_but_plain_digits() {
        for text in [
            " 1/3",
            "1/3 ",
            "1 /3",
            "1/ 3",
            "\t1/3",
            "1/3\n",
            "+1/3",
            "1/+3",
            "-1/3",
            "01/3",
            "1/03",
            "01/03",
            "00/3",
            "1/3/3",
            "1//3",
            "/3",
            "1/",
            "/",
            "",
            "1",
            "1.0/3",
            "1/3.",
            "1_0/30",
            "0x1/3",
            "１/3",
            "4294967296/4294967296",
        ] {
            assert_eq!(
                Partition::parse(text),
                Err(format!(
                    "expected K/N with 1 <= K <= N, such as 2/3; got '{text}'"
                )),
                "{text:?}"
            );
        }
        // The largest slice still fits.
        assert_eq!(
            Partition::parse("4294967295/4294967295"),
            Ok(Partition {
                k: u32::MAX,
                n: u32::MAX
            })
        );
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
