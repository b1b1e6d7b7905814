//! Typed facts (SPEC §9.1): the times, numbers with units, money, percents and dates a reply
//! states, whatever the wording, and whether one list of them states another's.
//!
//! A leaf: suite loading parses `facts:` / `not_facts:` with [`parse_spec`], judging calls
//! [`extract`] (or [`extract_only`] or [`each_fact`] for the kinds a check asks about), [`states`] and
//! [`compare`]. Pure functions of their inputs; no I/O, no
//! configuration, nothing from the rest of the crate. docs/facts.md lists every accepted form,
//! what is not a fact and why, and how matching works; keep it true to this code.

mod extract;
mod lex;
mod words;

use std::fmt;

pub use extract::{each_fact, extract, extract_only};

/// One typed value a text states.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// Minutes since midnight, 0..1440.
    Time(u16),
    /// A count or measure; the unit is its head noun, singular and lower-case (`day`).
    Number {
        value: f64,
        unit: Option<String>,
    },
    /// An amount in an ISO 4217 currency (`USD`).
    Money {
        amount: f64,
        currency: String,
    },
    Percent(f64),
    /// A calendar date; the year is `None` where the text gives none ("Dec 24").
    Date {
        year: Option<u16>,
        month: u8,
        day: u8,
    },
}

impl Fact {
    /// The kind as the suite spells it: `time`, `number`, `money`, `percent`, `date`.
    pub fn kind(&self) -> &'static str {
        match self {
            Fact::Time(_) => "time",
            Fact::Number { .. } => "number",
            Fact::Money { .. } => "money",
            Fact::Percent(_) => "percent",
            Fact::Date { .. } => "date",
        }
    }
}

/// A set of fact kinds, for [`extract_only`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Kinds(u8);

impl Kinds {
    pub const ALL: Kinds = Kinds(0b1_1111);

    /// The kind a suite names (`time`, `number`, `money`, `percent`, `date`), if it is one.
    /// Only tests name kinds: a check takes its kinds from its specs' facts ([`Kinds::of`]).
    #[cfg(test)]
    pub fn named(name: &str) -> Option<Kinds> {
        let bit = match name {
            "time" => 1,
            "number" => 2,
            "money" => 4,
            "percent" => 8,
            "date" => 16,
            _ => return None,
        };
        Some(Kinds(bit))
    }

    /// The kind of `fact`, which for a spec's fact is the kind the spec names.
    pub fn of(fact: &Fact) -> Kinds {
        Kinds(match fact {
            Fact::Time(_) => 1,
            Fact::Number { .. } => 2,
            Fact::Money { .. } => 4,
            Fact::Percent(_) => 8,
            Fact::Date { .. } => 16,
        })
    }

    /// Both sets.
    pub fn with(self, other: Kinds) -> Kinds {
        Kinds(self.0 | other.0)
    }

    /// Whether the fact is of a kind of the set.
    pub fn holds(self, fact: &Fact) -> bool {
        self.0 & Kinds::of(fact).0 != 0
    }

    pub(crate) fn numbers(self) -> bool {
        self.0 & 2 != 0
    }

    pub(crate) fn money(self) -> bool {
        self.0 & 4 != 0
    }
}

/// A number as people write it: `30`, `2.5`, `0.99`, never `30.0` or `3e1`.
struct Plain(f64);

impl fmt::Display for Plain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `-0` would be a surprise in a failure message.
        let v = if self.0 == 0.0 { 0.0 } else { self.0 };
        write!(f, "{v}")
    }
}

/// The stable form shown in failure messages and goldens: `time 09:00`, `number 30 day`,
/// `number 3`, `money 99 USD`, `percent 15`, `date 2026-12-24`, `date 12-24`.
impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fact::Time(m) => write!(f, "time {:02}:{:02}", m / 60, m % 60),
            Fact::Number { value, unit: None } => write!(f, "number {}", Plain(*value)),
            Fact::Number {
                value,
                unit: Some(u),
            } => write!(f, "number {} {u}", Plain(*value)),
            Fact::Money { amount, currency } => write!(f, "money {} {currency}", Plain(*amount)),
            Fact::Percent(p) => write!(f, "percent {}", Plain(*p)),
            Fact::Date {
                year: Some(y),
                month,
                day,
            } => write!(f, "date {y:04}-{month:02}-{day:02}"),
            Fact::Date {
                year: None,
                month,
                day,
            } => write!(f, "date {month:02}-{day:02}"),
        }
    }
}

/// A fact as a suite writes it: `{time: "09:00"}`, `{number: 30, unit: day}`,
/// `{money: "99 USD"}`, `{percent: 15}`, `{date: 2026-12-24}`. `kind` is the key, `value` its
/// scalar as text, `unit` the `unit:` key if present. Errors are lowercase fragments that say
/// which form is expected.
pub fn parse_spec(kind: &str, value: &str, unit: Option<&str>) -> Result<Fact, String> {
    if unit.is_some() && kind != "number" {
        return Err(format!("`unit` goes only with `number`, not with `{kind}`"));
    }
    let v = trimmed(value);
    match kind {
        "time" => spec_time(v).ok_or_else(|| {
            format!("expected a time like \"09:00\", \"18:30\" or \"9 AM\", found {v:?}")
        }),
        "number" => spec_number(v, unit),
        "money" => spec_money(v).ok_or_else(|| {
            let forms = r#""99 USD", "USD 99" or "$99""#;
            format!("expected an amount and a currency like {forms}, found {v:?}")
        }),
        "percent" => spec_percent(v)
            .ok_or_else(|| format!("expected a percent like 15, 12.5 or \"15%\", found {v:?}")),
        "date" => spec_date(v).ok_or_else(|| {
            format!(
                "expected a date like 2026-12-24, 12-24 (any year) or \"December 24\", found {v:?}"
            )
        }),
        other => Err(format!(
            "unknown fact kind `{other}`: expected time, number, money, percent or date"
        )),
    }
}

/// `value.trim()`, which walks both ends as characters: a value that starts and ends with
/// a printable ASCII byte, as nearly every spec does, has nothing to trim, and every turn's
/// specs are parsed.
fn trimmed(value: &str) -> &str {
    match value.as_bytes() {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => value,
        [only] if only.is_ascii_graphic() => value,
        _ => value.trim(),
    }
}

/// The one fact of `kind` that `text` states alone, if that is all it states.
fn only_fact(text: &str, kind: &str) -> Option<Fact> {
    match extract(text).as_slice() {
        [f] if f.kind() == kind => Some(f.clone()),
        _ => None,
    }
}

/// `HH:MM` is read on the 24-hour clock as written (`6:00` is 06:00, unlike in a reply);
/// anything else must be one time the extractor reads (`9 AM`, `noon`).
fn spec_time(v: &str) -> Option<Fact> {
    // `H:MM` or `HH:MM` read by hand, digit by digit: every turn's expectation is parsed.
    if let [h @ .., b':', m1, m2] = v.as_bytes() {
        let digits = |d: &[u8]| d.iter().all(u8::is_ascii_digit);
        if (1..=2).contains(&h.len()) && digits(h) && digits(&[*m1, *m2]) {
            let n = |d: &[u8]| d.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
            let (h, m) = (n(h), n(&[*m1, *m2]));
            return (h < 24 && m < 60).then_some(Fact::Time(h * 60 + m));
        }
    }
    only_fact(v, "time")
}

fn spec_number(v: &str, unit: Option<&str>) -> Result<Fact, String> {
    let value =
        parse_plain(v).ok_or_else(|| format!("expected a number like 30 or 2.5, found {v:?}"))?;
    let unit = match unit {
        None => None,
        Some(u) => {
            let head = u
                .split(|c: char| !c.is_alphabetic())
                .rfind(|w| !w.is_empty())
                .ok_or_else(|| format!("expected a unit word like `day` or `item`, found {u:?}"))?;
            Some(words::canonical_unit(head).into_owned())
        }
    };
    Ok(Fact::Number { value, unit })
}

/// `30`, `2.5`, `1,000`: a finite plain number.
fn parse_plain(v: &str) -> Option<f64> {
    let v = v.replace(',', "");
    let ok = !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && v.bytes().any(|b| b.is_ascii_digit());
    ok.then(|| v.parse::<f64>().ok())
        .flatten()
        .filter(|f| f.is_finite())
}

/// `99 USD`, `USD 99` with any three-letter code, or one amount the extractor reads (`$99`).
fn spec_money(v: &str) -> Option<Fact> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    let code = |s: &str| s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase());
    let pair = match parts.as_slice() {
        [a, c] if code(c) => parse_plain(a).map(|x| (x, *c)),
        [c, a] if code(c) => parse_plain(a).map(|x| (x, *c)),
        _ => None,
    };
    if let Some((amount, currency)) = pair {
        return Some(Fact::Money {
            amount,
            currency: currency.to_string(),
        });
    }
    only_fact(v, "money")
}

fn spec_percent(v: &str) -> Option<Fact> {
    let bare = v
        .strip_suffix('%')
        .or_else(|| v.strip_suffix("percent"))
        .unwrap_or(v)
        .trim();
    parse_plain(bare).map(Fact::Percent)
}

/// `2026-12-24`, `12-24` (any year), or one date the extractor reads (`Dec 24, 2026`).
fn spec_date(v: &str) -> Option<Fact> {
    let parts: Vec<&str> = v.split('-').collect();
    let n = |s: &str| {
        (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u16>().ok())
            .flatten()
    };
    let ymd = match parts.as_slice() {
        [y, m, d] if y.len() == 4 => Some((Some(n(y)?), n(m)?, n(d)?)),
        [m, d] if m.len() <= 2 && d.len() <= 2 => Some((None, n(m)?, n(d)?)),
        _ => None,
    };
    match ymd {
        Some((year, month, day)) => {
            let text = match year {
                Some(y) => format!("{y:04}-{month:02}-{day:02}"),
                None => format!("2000-{month:02}-{day:02}"),
            };
            // Validate through the extractor's calendar; 2000 is a leap year, so any Feb 29.
            match only_fact(&text, "date")? {
                Fact::Date { month, day, .. } => Some(Fact::Date { year, month, day }),
                _ => None,
            }
        }
        None => only_fact(v, "date"),
    }
}

/// Whether `found` (a reply's facts) states `wanted`. Times, percents and money (same
/// currency) compare by value; a number compares by value and, when `wanted` has a unit, by
/// unit (a `wanted` without a unit matches any unit); a date compares month and day, and the
/// year only when both have one. Inlined where it is called: the `facts` check asks it of
/// each fact a reply states against each spec, and the call was most of what that cost.
#[inline]
pub fn states(found: &[Fact], wanted: &Fact) -> bool {
    found.iter().any(|f| matches(f, wanted))
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn matches(found: &Fact, wanted: &Fact) -> bool {
    match (found, wanted) {
        (Fact::Time(a), Fact::Time(b)) => a == b,
        (Fact::Percent(a), Fact::Percent(b)) => same(*a, *b),
        (
            Fact::Money {
                amount: a,
                currency: x,
            },
            Fact::Money {
                amount: b,
                currency: y,
            },
        ) => x.eq_ignore_ascii_case(y) && same(*a, *b),
        (Fact::Number { value: a, unit: u }, Fact::Number { value: b, unit: w }) => {
            same(*a, *b) && (w.is_none() || u == w)
        }
        (
            Fact::Date {
                year: y1,
                month: m1,
                day: d1,
            },
            Fact::Date {
                year: y2,
                month: m2,
                day: d2,
            },
        ) => m1 == m2 && d1 == d2 && (y1.is_none() || y2.is_none() || y1 == y2),
        _ => false,
    }
}

/// What a reply's facts miss from the golden's, and what they add.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FactDiff {
    /// Golden facts the reply does not state: these fail the turn.
    pub missing: Vec<Fact>,
    /// Reply facts the golden does not state: listed, failing only with `strict: true`.
    pub added: Vec<Fact>,
}

impl FactDiff {
    /// Whether the turn passes: nothing missing, and in strict mode nothing added.
    pub fn passes(&self, strict: bool) -> bool {
        self.missing.is_empty() && (!strict || self.added.is_empty())
    }
}

/// `golden: {mode: facts}`: each golden fact the reply does not state is missing; each reply
/// fact the golden does not state is added. Both ways use [`states`].
pub fn compare(golden: &[Fact], reply: &[Fact]) -> FactDiff {
    FactDiff {
        missing: golden
            .iter()
            .filter(|g| !states(reply, g))
            .cloned()
            .collect(),
        added: reply
            .iter()
            .filter(|r| !states(golden, r))
            .cloned()
            .collect(),
    }
}

/// Texts of pieces each followed by one of `gaps`, fewer than `most` of them: the replies the
/// fast roads' property tests hold to the full roads.
#[cfg(test)]
pub(crate) fn texts(
    pieces: Vec<&'static str>,
    gaps: Vec<&'static str>,
    most: usize,
) -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let piece = (
        proptest::sample::select(pieces),
        proptest::sample::select(gaps),
    );
    proptest::collection::vec(piece, 0..most)
        .prop_map(|ps| ps.into_iter().flat_map(|(p, s)| [p, s]).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spec's fact is of the kind the spec names, so a check may take the kinds to read
    /// from its specs' facts (`judge::expect`) rather than from their names.
    #[test]
    fn a_spec_fact_is_of_the_kind_named() {
        let specs = [
            ("time", "09:00", None),
            ("time", "9 AM", None),
            ("number", "30", Some("days")),
            ("number", "12.5", None),
            ("money", "99 USD", None),
            ("money", "$5", None),
            ("percent", "15%", None),
            ("percent", "12.5", None),
            ("date", "2026-12-24", None),
            ("date", "December 24", None),
        ];
        for (kind, value, unit) in specs {
            let fact = parse_spec(kind, value, unit).expect(value);
            assert_eq!(Some(Kinds::of(&fact)), Kinds::named(kind), "{kind} {value}");
        }
    }

    fn spec(kind: &str, value: &str, unit: Option<&str>) -> String {
        parse_spec(kind, value, unit).map_or_else(|e| format!("error: {e}"), |f| f.to_string())
    }

    #[test]
    fn specs_parse_to_the_display_form() {
        assert_eq!(spec("time", "09:00", None), "time 09:00");
        assert_eq!(spec("time", "6:00", None), "time 06:00");
        assert_eq!(spec("time", "6 PM", None), "time 18:00");
        assert_eq!(spec("number", "30", Some("days")), "number 30 day");
        assert_eq!(
            spec("number", "30.0", Some("business days")),
            "number 30 day"
        );
        assert_eq!(spec("number", "3", None), "number 3");
        assert_eq!(spec("money", "99 USD", None), "money 99 USD");
        assert_eq!(spec("money", "$99.00", None), "money 99 USD");
        assert_eq!(spec("money", "EUR 20", None), "money 20 EUR");
        assert_eq!(spec("percent", "15", None), "percent 15");
        assert_eq!(spec("percent", "12.5%", None), "percent 12.5");
        assert_eq!(spec("date", "2026-12-24", None), "date 2026-12-24");
        assert_eq!(spec("date", "12-24", None), "date 12-24");
        assert_eq!(spec("date", "02-29", None), "date 02-29");
        assert_eq!(spec("date", "Dec 24, 2026", None), "date 2026-12-24");
    }

    /// `spec_time` reads `H:MM` by hand; over texts of digits, colons and the odd letter it
    /// answers what splitting at the first colon and parsing both sides answered.
    #[test]
    fn clock_specs_read_by_hand_as_by_parsing() {
        use proptest::prelude::*;
        fn by_parsing(v: &str) -> Option<Fact> {
            if let Some((h, m)) = v.split_once(':') {
                let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                if digits(h) && digits(m) && h.len() <= 2 && m.len() == 2 {
                    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
                    return (h < 24 && m < 60).then_some(Fact::Time(h * 60 + m));
                }
            }
            only_fact(v, "time")
        }
        let text = "[0-9٣]{0,3}:{0,2}[0-9]{0,3}( pm|a|:00)?";
        proptest!(ProptestConfig::with_cases(5000), |(v in text)| {
            prop_assert_eq!(spec_time(&v), by_parsing(&v), "{:?}", v);
        });
    }

    /// The values with nothing to trim are left as they are, the others trimmed: as
    /// `str::trim` does, over values of ASCII and Unicode spaces, controls and letters.
    #[test]
    fn trimming_as_str_trim() {
        use proptest::prelude::*;
        let text = "[ \t\n\u{b}\u{c}\r\u{a0}\u{2003}\u{85}\u{1}a9:é]{0,6}";
        proptest!(ProptestConfig::with_cases(5000), |(v in text)| {
            prop_assert_eq!(trimmed(&v), v.trim(), "{:?}", v);
        });
    }

    #[test]
    fn bad_specs_say_what_is_expected() {
        assert!(spec("time", "25:00", None).starts_with("error: expected a time"));
        assert!(spec("time", "soon", None).starts_with("error: expected a time"));
        assert!(spec("number", "thirty", None).starts_with("error: expected a number"));
        assert!(spec("number", "3", Some("42")).starts_with("error: expected a unit"));
        assert!(spec("money", "99", None).starts_with("error: expected an amount"));
        assert!(spec("percent", "lots", None).starts_with("error: expected a percent"));
        assert!(spec("date", "2026-02-30", None).starts_with("error: expected a date"));
        assert!(spec("size", "3", None).starts_with("error: unknown fact kind `size`"));
        assert!(spec("time", "09:00", Some("day")).starts_with("error: `unit` goes only"));
    }

    #[test]
    fn states_compares_values_not_wording() {
        let reply = extract("Refunds take 30 days; we open Dec 24 at 9am and charge $99.00.");
        let want = |k, v, u| parse_spec(k, v, u).unwrap();
        assert!(states(&reply, &want("number", "30", Some("day"))));
        assert!(states(&reply, &want("number", "30.0", None)));
        assert!(!states(&reply, &want("number", "30", Some("week"))));
        assert!(states(&reply, &want("date", "2026-12-24", None)));
        assert!(states(&reply, &want("time", "09:00", None)));
        assert!(states(&reply, &want("money", "99 USD", None)));
        assert!(!states(&reply, &want("money", "99 EUR", None)));
    }

    #[test]
    fn compare_lists_missing_and_added() {
        let golden = extract("Open 9 AM to 6 PM, refunds within 30 days.");
        let reply = extract("We're open from nine to six and refunds take 14 days.");
        let diff = compare(&golden, &reply);
        let shown = |v: &[Fact]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(shown(&diff.missing), ["number 30 day"]);
        assert_eq!(shown(&diff.added), ["number 14 day"]);
        assert!(!diff.passes(false));
        let same = compare(
            &golden,
            &extract("Hours: 09:00-18:00. Refund window: 30-day."),
        );
        assert!(same.passes(true), "{same:?}");
    }
}
