//! The scanner: reads typed values out of the lexed tokens, left to right, trying a date first,
//! then a quantity (an amount with what follows it, or a range of two). Knows English wordings;
//! never looks at expectations or goldens. docs/facts.md lists every form it accepts.

use super::lex::{self, Kind, Num, Token};
use super::words;
use super::Fact;

/// Every typed value `text` states, in order of appearance, without duplicates.
pub fn extract(text: &str) -> Vec<Fact> {
    let toks = lex::tokenize(text);
    let sc = Scanner { t: &toks };
    let mut out: Vec<Fact> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match sc.step(i) {
            Some((facts, next)) => {
                for f in facts {
                    if !out.contains(&f) {
                        out.push(f);
                    }
                }
                i = next.max(i + 1);
            }
            None => i += 1,
        }
    }
    out
}

/// The date a `A sep B sep C` run of numbers states: `2026-12-24` (year first, any
/// separator), `12/24/2026` (month first unless the first is over 12, then day first),
/// `24.12.2026` (day first), two-digit years in the 2000s.
pub(super) fn numeric_date(a: &Num, sep: char, b: &Num, c: &Num) -> Option<Fact> {
    let (x, y, z) = (a.whole()?, b.whole()?, c.whole()?);
    if a.int.len() == 4 {
        if b.int.len() > 2 || c.int.len() > 2 {
            return None;
        }
        return date(Some(x), y, z);
    }
    if a.int.len() > 2 || b.int.len() > 2 {
        return None;
    }
    let year = match c.int.len() {
        4 => z,
        2 => 2000 + z,
        _ => return None,
    };
    if sep == '.' || x > 12 {
        date(Some(year), y, x)
    } else {
        date(Some(year), x, y)
    }
}

/// A valid calendar date; February 29th only in leap years (or without a year).
fn date(year: Option<u32>, month: u32, day: u32) -> Option<Fact> {
    if let Some(y) = year {
        if !(1900..=2199).contains(&y) {
            return None;
        }
    }
    let leap = year.is_none_or(|y| y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > days {
        return None;
    }
    Some(Fact::Date {
        year: year.map(|y| y as u16),
        month: month as u8,
        day: day as u8,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum DayPart {
    Morning,
    Afternoon,
    Evening,
    Night,
}

/// An amount as written, before what follows it says what it is.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Digits {
        v: f64,
        whole: Option<u32>,
        leading_zero: bool,
        /// Digits after the point, for `9.30am`.
        frac: Option<String>,
    },
    Clock {
        h: u32,
        m: u32,
        leading_zero: bool,
    },
    /// Spelled out; `one` alone is flagged, since it is usually a pronoun.
    Words {
        v: f64,
        lone_one: bool,
    },
    /// `noon`, `midnight`: minutes since midnight.
    Named(u16),
}

#[derive(Debug, Clone, PartialEq)]
enum Suffix {
    None,
    Percent,
    /// Currency code and divisor (100 for cents).
    Money(&'static str, f64),
    Meridiem {
        pm: bool,
    },
    /// `12 noon`, `12 midnight`.
    At(u16),
    DayPart(DayPart),
    OClock(Option<DayPart>),
    Unit(String),
}

/// One end of a quantity: `$10`, `9 AM`, `5`, `thirty days`.
#[derive(Debug, Clone)]
struct End {
    start: usize,
    next: usize,
    val: Val,
    prefix: Option<&'static str>,
    suffix: Suffix,
}

/// A time not yet placed on the clock: `Amb(9, 0)` is 09:00 or 21:00.
#[derive(Debug, Clone, Copy, PartialEq)]
enum T {
    Known(u16),
    Amb(u32, u32),
}

/// What an end turned out to be.
#[derive(Debug, Clone, PartialEq)]
enum K {
    Percent,
    Money(&'static str, f64),
    Time(T),
    Unit(String),
    Bare,
    /// Looked like a time but is not one (`14 PM`): states nothing.
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Conn {
    /// `-`, `to`, `until`, `through`, `between … and`.
    Range,
    /// `or`: two values, but not a range of hours.
    Or,
}

struct Scanner<'a> {
    t: &'a [Token],
}

impl Scanner<'_> {
    // ---- token access: blocked tokens read as nothing ----

    fn tok(&self, i: usize) -> Option<&Token> {
        self.t.get(i).filter(|t| !t.blocked)
    }

    fn word(&self, i: usize) -> Option<&str> {
        match &self.tok(i)?.kind {
            Kind::Word { text, .. } => Some(text),
            _ => None,
        }
    }

    fn is_word(&self, i: usize, w: &str) -> bool {
        self.word(i) == Some(w)
    }

    fn num(&self, i: usize) -> Option<&Num> {
        match &self.tok(i)?.kind {
            Kind::Num(n) => Some(n),
            _ => None,
        }
    }

    fn sym(&self, i: usize) -> Option<char> {
        match self.tok(i)?.kind {
            Kind::Sym(c) => Some(c),
            _ => None,
        }
    }

    fn glued(&self, i: usize) -> bool {
        self.t.get(i).is_some_and(|t| t.glued)
    }

    fn line_start(&self, i: usize) -> bool {
        self.t.get(i).is_some_and(|t| t.line_start)
    }

    /// The word right before `i`, if that token is a word.
    fn word_before(&self, i: usize) -> Option<&str> {
        i.checked_sub(1).and_then(|p| self.word(p))
    }

    fn step(&self, i: usize) -> Option<(Vec<Fact>, usize)> {
        let t = self.tok(i)?;
        if t.kind == Kind::Barrier {
            return None;
        }
        self.date(i).or_else(|| self.quantity(i))
    }

    // ---- dates ----

    fn date(&self, i: usize) -> Option<(Vec<Fact>, usize)> {
        self.numeric_date_at(i)
            .or_else(|| self.month_first(i))
            .or_else(|| self.day_first(i))
    }

    fn numeric_date_at(&self, i: usize) -> Option<(Vec<Fact>, usize)> {
        let a = self.num(i)?;
        let sep = self.sym(i + 1)?;
        if !matches!(sep, '-' | '/' | '.') || !(1..5).all(|k| self.glued(i + k)) {
            return None;
        }
        let (b, c) = (self.num(i + 2)?, self.num(i + 4)?);
        if self.sym(i + 3) != Some(sep) {
            return None;
        }
        Some((vec![numeric_date(a, sep, b, c)?], i + 5))
    }

    fn month_at(&self, i: usize) -> Option<(u32, usize)> {
        let t = self.tok(i)?;
        let Kind::Word { text, cap } = &t.kind else {
            return None;
        };
        let m = words::month(text)?;
        if text == "may" && !cap {
            return None;
        }
        let dot = text.len() <= 4 && self.sym(i + 1) == Some('.') && self.glued(i + 1);
        Some((u32::from(m), if dot { i + 2 } else { i + 1 }))
    }

    /// A day of the month: `24`, `24th`, `twenty-fourth`, `first`.
    fn day_at(&self, i: usize) -> Option<(u32, usize)> {
        if let Some(n) = self.num(i) {
            let d = n
                .whole()
                .filter(|d| (1..=31).contains(d) && n.int.len() <= 2)?;
            if self.glued(i + 1) && self.sym(i + 1) == Some(':') {
                return None;
            }
            return match self.word(i + 1) {
                Some("st" | "nd" | "rd" | "th") if self.glued(i + 1) => Some((d, i + 2)),
                Some(_) if self.glued(i + 1) => None,
                _ => Some((d, i + 1)),
            };
        }
        let w = self.word(i)?;
        if let Some(d) = words::ordinal(w) {
            return Some((u32::from(d), i + 1));
        }
        let tens = words::cardinal(w).filter(|t| *t == 20 || *t == 30)?;
        let k = if self.sym(i + 1) == Some('-') && self.glued(i + 1) {
            i + 2
        } else {
            i + 1
        };
        let ones = self.word(k).and_then(words::ordinal).filter(|o| *o < 10)?;
        Some((tens + u32::from(ones), k + 1))
    }

    /// `, 2026` or ` 2026` after a day.
    fn year_at(&self, i: usize) -> Option<(u32, usize)> {
        let k = if self.sym(i) == Some(',') { i + 1 } else { i };
        let n = self.num(k)?;
        let y = n
            .whole()
            .filter(|y| n.int.len() == 4 && (1900..=2199).contains(y))?;
        if self.glued(k + 1) && matches!(self.sym(k + 1), Some(':' | '%')) {
            return None;
        }
        Some((y, k + 1))
    }

    fn date_connector(&self, i: usize) -> Option<usize> {
        let ok = matches!(self.sym(i), Some('-' | '–' | '—' | '&'))
            || matches!(
                self.word(i),
                Some("to" | "through" | "thru" | "until" | "till" | "and" | "or")
            );
        (ok && !self.line_start(i)).then_some(i + 1)
    }

    /// `Dec 24`, `December 24th, 2026`, `December the 24th`, `Dec 24-26`, and `December 2026`
    /// (a month, no fact, consumed so that the year is not read as a number).
    fn month_first(&self, i: usize) -> Option<(Vec<Fact>, usize)> {
        let (m, j) = self.month_at(i)?;
        let with_the = if self.is_word(j, "the") { j + 1 } else { j };
        let Some((d1, mut k)) = self.day_at(with_the).or_else(|| self.day_at(j)) else {
            let (_, k) = self.year_at(j).filter(|_| self.sym(j) != Some(','))?;
            return Some((Vec::new(), k));
        };
        let mut days = vec![d1];
        if let Some(c) = self.date_connector(k) {
            if let Some((d2, k2)) = self.day_at(c) {
                if self.month_at(k2).is_none() && !self.is_quantity_suffix(k2) {
                    days.push(d2);
                    k = k2;
                }
            }
        }
        if days.len() == 1 && self.is_quantity_suffix(k) {
            return None;
        }
        let year = self.year_at(k).map(|(y, k3)| {
            k = k3;
            y
        });
        // An impossible date ("February 30") is still consumed: its day is no count.
        let facts = days.iter().filter_map(|d| date(year, m, *d)).collect();
        Some((facts, k))
    }

    /// `24 December`, `24th of December 2026`, `24-26 December`.
    fn day_first(&self, i: usize) -> Option<(Vec<Fact>, usize)> {
        let (d1, mut j) = self.day_at(i)?;
        let mut days = vec![d1];
        if let Some(c) = self.date_connector(j) {
            if let Some((d2, k)) = self.day_at(c) {
                let of = if self.is_word(k, "of") { k + 1 } else { k };
                if self.month_at(of).is_some() {
                    days.push(d2);
                    j = k;
                }
            }
        }
        let of = if self.is_word(j, "of") { j + 1 } else { j };
        let (m, mut k) = self.month_at(of)?;
        let year = self.year_at(k).map(|(y, k3)| {
            k = k3;
            y
        });
        let facts = days.iter().filter_map(|d| date(year, m, *d)).collect();
        Some((facts, k))
    }

    /// Whether `i` starts something that makes the number before it a quantity, not a day:
    /// "March 3 hours" is no date.
    fn is_quantity_suffix(&self, i: usize) -> bool {
        matches!(self.sym(i), Some('%'))
            || self.meridiem_at(i).is_some()
            || self
                .word(i)
                .is_some_and(|w| words::is_known_unit(&words::canonical_unit(w)))
    }

    // ---- quantities ----

    fn quantity(&self, i: usize) -> Option<(Vec<Fact>, usize)> {
        let e1 = self.end(i)?;
        let between = self.word_before(i) == Some("between");
        let second = self.connector(e1.next, between).and_then(|(conn, j)| {
            if self.date(j).is_some() {
                return None;
            }
            self.end(j).map(|e2| (conn, e2))
        });
        let next = second.as_ref().map_or(e1.next, |(_, e)| e.next);
        Some((self.resolve(&e1, second.as_ref()), next))
    }

    fn connector(&self, j: usize, between: bool) -> Option<(Conn, usize)> {
        if self.line_start(j) || self.line_start(j + 1) {
            return None;
        }
        let conn = match (self.sym(j), self.word(j)) {
            (Some('-' | '–' | '—'), _) => Conn::Range,
            (_, Some("to" | "until" | "till" | "til" | "through" | "thru")) => Conn::Range,
            (_, Some("and")) if between => Conn::Range,
            (_, Some("or")) => Conn::Or,
            _ => return None,
        };
        Some((conn, j + 1))
    }

    /// One end: a currency prefix and amount, or an amount and what follows it.
    fn end(&self, i: usize) -> Option<End> {
        if let Some((code, j)) = self.currency_prefix(i) {
            let n = self.num(j)?;
            if self.sym(j + 1) == Some(':') && self.glued(j + 1) {
                return None;
            }
            let (v, k) = self.with_multiplier(n.value, j + 1, true);
            return Some(End {
                start: i,
                next: k,
                val: digits(n, v),
                prefix: Some(code),
                suffix: Suffix::None,
            });
        }
        let (val, j) = self.value(i)?;
        let (suffix, k) = self.suffix(&val, j);
        Some(End {
            start: i,
            next: k,
            val,
            prefix: None,
            suffix,
        })
    }

    fn currency_prefix(&self, i: usize) -> Option<(&'static str, usize)> {
        if let Some(code) = self.sym(i).and_then(words::currency_symbol) {
            return Some((code, i + 1));
        }
        let w = self.word(i)?;
        if self.sym(i + 1) == Some('$') && self.glued(i + 1) {
            return words::dollar_prefix(w).map(|c| (c, i + 2));
        }
        let code = words::currency_code(w)?;
        self.num(i + 1).map(|_| (code, i + 1))
    }

    /// `5k`, `$1.5M`, `2 million`: the amount times its multiplier, rounded to the micro-unit
    /// so that `2.3k` is 2300 and not 2299.9999999999995.
    fn with_multiplier(&self, v: f64, j: usize, money: bool) -> (f64, usize) {
        let glued = self.glued(j);
        let factor = match self.word(j) {
            Some("k") if glued => 1e3,
            Some("m" | "mm") if glued && money => 1e6,
            Some("bn") if glued && money => 1e9,
            Some(w) => match words::scale_word(w) {
                Some(f) if f > 100.0 => f,
                _ => return (v, j),
            },
            None => return (v, j),
        };
        ((v * factor * 1e6).round() / 1e6, j + 1)
    }

    fn value(&self, i: usize) -> Option<(Val, usize)> {
        match &self.tok(i)?.kind {
            Kind::Num(n) => self.digit_value(n, i),
            Kind::Word { text, .. } => match text.as_str() {
                "noon" | "midday" => Some((Val::Named(720), i + 1)),
                "midnight" => Some((Val::Named(0), i + 1)),
                _ => self.words_value(i),
            },
            _ => None,
        }
    }

    fn digit_value(&self, n: &Num, i: usize) -> Option<(Val, usize)> {
        if self.sym(i + 1) == Some(':') && self.glued(i + 1) {
            return self.clock_value(n, i);
        }
        if self.glued(i + 1) && matches!(self.word(i + 1), Some("st" | "nd" | "rd" | "th")) {
            return None;
        }
        let (v, k) = self.with_multiplier(n.value, i + 1, false);
        Some((digits(n, v), k))
    }

    /// `9:00`, `18:30`, `10:00:00`; `5:75` is no time and no number either.
    fn clock_value(&self, n: &Num, i: usize) -> Option<(Val, usize)> {
        let m = self
            .num(i + 2)
            .filter(|m| self.glued(i + 2) && m.int.len() == 2)?;
        let (h, mm) = (n.whole()?, m.whole()?);
        if h > 24 || mm > 59 || (h == 24 && mm > 0) || n.int.len() > 2 {
            return None;
        }
        let mut k = i + 3;
        let seconds = self.sym(k) == Some(':')
            && self.glued(k)
            && self.num(k + 1).is_some_and(|s| s.int.len() == 2)
            && self.glued(k + 1);
        if seconds {
            k += 2;
        }
        let val = Val::Clock {
            h: h % 24,
            m: mm,
            leading_zero: n.leading_zero() || h == 24,
        };
        Some((val, k))
    }

    /// `thirty`, `twenty-four`, `one hundred and fifty`, `two thousand`.
    fn words_value(&self, i: usize) -> Option<(Val, usize)> {
        let (mut total, mut cur) = (0f64, 0u64);
        let (mut count, mut k) = (0, i);
        let (mut last_small, mut last_tens) = (false, false);
        while let Some(w) = self.word(k) {
            if let Some(v) = words::cardinal(w) {
                let v = u64::from(v);
                let fits = match v {
                    0..=9 => cur % 10 == 0 && !last_small,
                    _ => cur % 100 == 0 && !last_small && !last_tens,
                };
                if !fits {
                    break;
                }
                cur += v;
                (last_small, last_tens) = (v < 20, v >= 20);
            } else if let Some(s) = words::scale_word(w) {
                // "a hundred dollars", but not "million" alone ("a million thanks" is no count).
                if count == 0 && !(s <= 1e3 && self.word_before(i) == Some("a")) {
                    break;
                }
                if s == 100.0 {
                    cur = cur.max(1) * 100;
                } else {
                    total += cur.max(1) as f64 * s;
                    cur = 0;
                }
                (last_small, last_tens) = (false, false);
            } else if w == "and" && count > 0 && (cur % 100 == 0 || total > 0.0) {
                let after = self.word(k + 1).and_then(words::cardinal);
                if after.is_none() {
                    break;
                }
                k += 1;
                continue;
            } else {
                break;
            }
            count += 1;
            k += 1;
            let hyphen = self.sym(k) == Some('-') && self.glued(k) && self.glued(k + 1);
            if hyphen && self.word(k + 1).and_then(words::cardinal).is_some() {
                k += 1;
            }
        }
        if count == 0 {
            return None;
        }
        let lone_one = count == 1 && self.is_word(i, "one");
        Some((
            Val::Words {
                v: total + cur as f64,
                lone_one,
            },
            k,
        ))
    }

    fn suffix(&self, val: &Val, j: usize) -> (Suffix, usize) {
        match val {
            Val::Named(_) => (Suffix::None, j),
            Val::Clock { .. } => self.clock_suffix(j).unwrap_or((Suffix::None, j)),
            _ => self.amount_suffix(val, j).unwrap_or((Suffix::None, j)),
        }
    }

    fn clock_suffix(&self, j: usize) -> Option<(Suffix, usize)> {
        if let Some((pm, k)) = self.meridiem_at(j) {
            return Some((Suffix::Meridiem { pm }, k));
        }
        self.daypart_at(j).map(|(dp, k)| (Suffix::DayPart(dp), k))
    }

    fn amount_suffix(&self, val: &Val, j: usize) -> Option<(Suffix, usize)> {
        if let Some(k) = self.percent_at(j) {
            return Some((Suffix::Percent, k));
        }
        if let Some((code, div, k)) = self.currency_suffix(j) {
            return Some((Suffix::Money(code, div), k));
        }
        if let Some(r) = self.clock_suffix(j) {
            return Some(r);
        }
        let twelve = matches!(
            val,
            Val::Digits {
                whole: Some(12),
                ..
            }
        ) || matches!(val, Val::Words { v, .. } if *v == 12.0);
        match self.word(j) {
            Some("noon" | "midday") if twelve => return Some((Suffix::At(720), j + 1)),
            Some("midnight") if twelve => return Some((Suffix::At(0), j + 1)),
            _ => {}
        }
        if let Some(k) = self.oclock_at(j) {
            let dp = self.daypart_at(k);
            let next = dp.map_or(k, |(_, n)| n);
            return Some((Suffix::OClock(dp.map(|(d, _)| d)), next));
        }
        if let Some((unit, k)) = self.hyphen_unit(j) {
            return Some((Suffix::Unit(unit), k));
        }
        self.noun_run(j).map(|(unit, k)| (Suffix::Unit(unit), k))
    }

    fn percent_at(&self, j: usize) -> Option<usize> {
        if self.sym(j) == Some('%') {
            return Some(j + 1);
        }
        match self.word(j)? {
            "percent" | "pct" => Some(j + 1),
            "per" if self.is_word(j + 1, "cent") => Some(j + 2),
            _ => None,
        }
    }

    fn currency_suffix(&self, j: usize) -> Option<(&'static str, f64, usize)> {
        if let Some(c) = self.sym(j) {
            let code = words::currency_symbol(c)?;
            // `20€`, `20 €`; a spaced `$` or symbol before a number starts the next amount.
            let spaced_ok = c != '$' && self.num(j + 1).is_none();
            return (self.glued(j) || spaced_ok).then_some((code, 1.0, j + 1));
        }
        let w = self.word(j)?;
        if let Some(code) = words::currency_code(w) {
            return Some((code, 1.0, j + 1));
        }
        if let Some((code, scale)) = words::currency_word(w) {
            return Some((code, if scale < 1.0 { 100.0 } else { 1.0 }, j + 1));
        }
        if let Some(code) = words::dollar_country(w) {
            return matches!(self.word(j + 1), Some("dollar" | "dollars")).then_some((
                code,
                1.0,
                j + 2,
            ));
        }
        let sterling = matches!(w, "pound" | "pounds") && self.is_word(j + 1, "sterling");
        sterling.then_some(("GBP", 1.0, j + 2))
    }

    /// `am`, `PM`, `a.m.`, `P.M`.
    fn meridiem_at(&self, j: usize) -> Option<(bool, usize)> {
        match self.word(j)? {
            "am" => Some((false, j + 1)),
            "pm" => Some((true, j + 1)),
            w @ ("a" | "p") => {
                let dotted = self.sym(j + 1) == Some('.')
                    && self.glued(j + 1)
                    && self.is_word(j + 2, "m")
                    && self.glued(j + 2);
                if !dotted {
                    return None;
                }
                let end = if self.sym(j + 3) == Some('.') && self.glued(j + 3) {
                    j + 4
                } else {
                    j + 3
                };
                Some((w == "p", end))
            }
            _ => None,
        }
    }

    fn daypart_at(&self, j: usize) -> Option<(DayPart, usize)> {
        if self.is_word(j, "at") && self.is_word(j + 1, "night") {
            return Some((DayPart::Night, j + 2));
        }
        if !(self.is_word(j, "in") && self.is_word(j + 1, "the")) {
            return None;
        }
        let dp = match self.word(j + 2)? {
            "morning" => DayPart::Morning,
            "afternoon" => DayPart::Afternoon,
            "evening" => DayPart::Evening,
            "night" => DayPart::Night,
            _ => return None,
        };
        Some((dp, j + 3))
    }

    /// `o'clock`, `o’clock`, `oclock`.
    fn oclock_at(&self, j: usize) -> Option<usize> {
        if self.is_word(j, "oclock") {
            return Some(j + 1);
        }
        let ok = self.is_word(j, "o")
            && matches!(self.sym(j + 1), Some('\'' | '’'))
            && self.is_word(j + 2, "clock")
            && self.glued(j + 1)
            && self.glued(j + 2);
        ok.then_some(j + 3)
    }

    /// `30-day`, `24-hour`: the word glued after a hyphen is the unit, whatever follows.
    fn hyphen_unit(&self, j: usize) -> Option<(String, usize)> {
        if self.sym(j) != Some('-') || !self.glued(j) || !self.glued(j + 1) {
            return None;
        }
        let w = self.word(j + 1)?;
        let usable = w.chars().count() >= 2
            && !words::is_stop(w)
            && words::cardinal(w).is_none()
            && words::scale_word(w).is_none();
        usable.then(|| (words::canonical_unit(w), j + 2))
    }

    /// The noun phrase after an amount, up to three words, and its head as the unit: the
    /// first known unit ("30 day window" → day), else the first plural noun that is not a
    /// modifier ("3 free returns" → return), else the first word that is not a modifier.
    fn noun_run(&self, j: usize) -> Option<(String, usize)> {
        let mut run: Vec<String> = Vec::new();
        let mut k = j;
        while run.len() < 3 && !self.line_start(k) {
            let Some(w) = self.word(k) else { break };
            let ends_phrase = words::is_stop(w)
                || words::cardinal(w).is_some()
                || words::month(w).is_some()
                || words::currency_word(w).is_some()
                || words::currency_code(w).is_some();
            if ends_phrase {
                break;
            }
            let mut compound = w.to_string();
            k += 1;
            while self.sym(k) == Some('-') && self.glued(k) && self.glued(k + 1) {
                let Some(part) = self.word(k + 1) else { break };
                compound.push('-');
                compound.push_str(part);
                k += 2;
            }
            run.push(compound);
        }
        let head = run
            .iter()
            .map(|w| words::canonical_unit(w))
            .find(|u| words::is_known_unit(u))
            .or_else(|| {
                run.iter()
                    .find(|w| !words::is_modifier(w) && words::looks_plural(w))
                    .or_else(|| run.iter().find(|w| !words::is_modifier(w)))
                    .map(|w| words::canonical_unit(w))
            })?;
        Some((head, k))
    }

    // ---- turning ends into facts ----

    fn resolve(&self, e1: &End, second: Option<&(Conn, End)>) -> Vec<Fact> {
        let k1 = kind_of(e1);
        let Some((conn, e2)) = second else {
            return self.single(e1, k1).into_iter().collect();
        };
        let k2 = kind_of(e2);
        let (k1, k2) = match (k1, k2) {
            (K::Bare, K::Bare) => {
                let hours =
                    *conn == Conn::Range && business_pair(e1, e2) && !self.label_before(e1.start);
                match (hours, hour_of(&e1.val), hour_of(&e2.val)) {
                    (true, Some((h1, _)), Some((h2, _))) => {
                        (K::Time(T::Amb(h1, 0)), K::Time(T::Amb(h2, 0)))
                    }
                    _ => (K::Bare, K::Bare),
                }
            }
            (K::Bare, k) => (inherit(e1, &k), k),
            (k, K::Bare) => {
                let k2 = inherit(e2, &k);
                (k, k2)
            }
            pair => pair,
        };
        if let (K::Time(a), K::Time(b)) = (&k1, &k2) {
            let (x, y) = pair_times(*a, *b);
            return vec![Fact::Time(x), Fact::Time(y)];
        }
        let mut out: Vec<Fact> = self.single(e1, k1).into_iter().collect();
        out.extend(self.single(e2, k2));
        out
    }

    fn single(&self, e: &End, k: K) -> Option<Fact> {
        let v = amount(&e.val);
        match k {
            K::Percent => Some(Fact::Percent(v?)),
            K::Money(code, div) => Some(Fact::Money {
                amount: round6(v? / div),
                currency: code.to_string(),
            }),
            K::Time(T::Known(t)) => Some(Fact::Time(t)),
            K::Time(T::Amb(h, m)) => Some(Fact::Time(self.bare_clock(e.start, h, m))),
            K::Unit(unit) => {
                if self.is_pronoun(e) {
                    return None;
                }
                let lone_one = matches!(e.val, Val::Words { lone_one: true, .. });
                if lone_one && (!words::is_known_unit(&unit) || unit == "time") {
                    return None;
                }
                Some(Fact::Number {
                    value: v?,
                    unit: Some(unit),
                })
            }
            K::Bare => self.bare(e),
            K::Invalid => None,
        }
    }

    /// A single time with no am/pm: after `until` it is a closing time (afternoon or
    /// evening), otherwise it is read on the business clock.
    fn bare_clock(&self, start: usize, h: u32, m: u32) -> u16 {
        let closing = self
            .word_before(start)
            .is_some_and(words::is_closing_preposition);
        if closing && (1..=11).contains(&h) {
            return ((h + 12) * 60 + m) as u16;
        }
        business(h, m)
    }

    /// A number with nothing after it that says what it is.
    fn bare(&self, e: &End) -> Option<Fact> {
        let before = self.word_before(e.start);
        let clock_word = before
            .is_some_and(|w| words::is_clock_preposition(w) || words::is_closing_preposition(w));
        if clock_word {
            if let Some((h, 0)) = hour_of(&e.val).filter(|(h, _)| (1..=12).contains(h)) {
                return Some(Fact::Time(self.bare_clock(e.start, h, 0)));
            }
        }
        let Val::Digits {
            v, leading_zero, ..
        } = e.val
        else {
            return None;
        };
        let list_marker = self.line_start(e.start)
            && matches!(self.sym(e.start + 1), Some('.' | ')'))
            && self.glued(e.start + 1);
        if leading_zero || list_marker || self.label_before(e.start) {
            return None;
        }
        Some(Fact::Number {
            value: v,
            unit: None,
        })
    }

    /// "room 101", "step 2", "#5", "No. 5", "order number: 12345".
    fn label_before(&self, i: usize) -> bool {
        let word_at = |p: usize| match self.t.get(p).map(|t| &t.kind) {
            Some(Kind::Word { text, .. }) => words::is_label(text),
            _ => false,
        };
        let Some(p) = i.checked_sub(1) else {
            return false;
        };
        match self.t[p].kind {
            Kind::Sym('#') => true,
            Kind::Sym('.' | ':') => p >= 1 && word_at(p - 1),
            _ => word_at(p),
        }
    }

    /// "one" after "the", "that", "no", "any"…: a pronoun, not a number.
    fn is_pronoun(&self, e: &End) -> bool {
        matches!(e.val, Val::Words { lone_one: true, .. })
            && self
                .word_before(e.start)
                .is_some_and(words::is_pronoun_determiner)
    }
}

fn digits(n: &Num, v: f64) -> Val {
    Val::Digits {
        v,
        whole: if v == n.value { n.whole() } else { None },
        leading_zero: n.leading_zero(),
        frac: n.frac.clone(),
    }
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn amount(val: &Val) -> Option<f64> {
    match val {
        Val::Digits { v, .. } | Val::Words { v, .. } => Some(*v),
        _ => None,
    }
}

/// Hour and minute of an amount that can be a clock reading: `9`, `nine`, `9.30`, `9:30`.
fn hour_of(val: &Val) -> Option<(u32, u32)> {
    match val {
        Val::Digits { whole: Some(h), .. } => Some((*h, 0)),
        Val::Digits {
            v, frac: Some(f), ..
        } if f.len() == 2 => {
            let m: u32 = f.parse().ok()?;
            (m < 60).then_some((v.trunc() as u32, m))
        }
        Val::Words { v, .. } if v.fract() == 0.0 && *v <= 24.0 => Some((*v as u32, 0)),
        Val::Clock { h, m, .. } => Some((*h, *m)),
        _ => None,
    }
}

fn kind_of(e: &End) -> K {
    if let Some(code) = e.prefix {
        return K::Money(code, 1.0);
    }
    let time = |t: Option<u16>| t.map_or(K::Invalid, |t| K::Time(T::Known(t)));
    match &e.suffix {
        Suffix::Percent => K::Percent,
        Suffix::Money(code, div) => K::Money(code, *div),
        Suffix::Meridiem { pm } => time(hour_of(&e.val).and_then(|hm| meridiem(hm, *pm))),
        Suffix::At(t) => K::Time(T::Known(*t)),
        Suffix::DayPart(dp) | Suffix::OClock(Some(dp)) => {
            time(hour_of(&e.val).and_then(|hm| daypart(hm, *dp)))
        }
        Suffix::OClock(None) => match hour_of(&e.val) {
            Some((h, 0)) if (1..=12).contains(&h) => K::Time(T::Amb(h, 0)),
            _ => K::Invalid,
        },
        Suffix::Unit(u) => K::Unit(u.clone()),
        Suffix::None => match e.val {
            Val::Clock {
                h, m, leading_zero, ..
            } => clock_kind(h, m, leading_zero),
            Val::Named(t) => K::Time(T::Known(t)),
            _ => K::Bare,
        },
    }
}

/// `09:00`, `18:00`, `0:30` are 24-hour readings; `9:00` and `5:30` are read like bare hours.
fn clock_kind(h: u32, m: u32, leading_zero: bool) -> K {
    if leading_zero || h == 0 || h > 12 {
        K::Time(T::Known((h * 60 + m) as u16))
    } else {
        K::Time(T::Amb(h, m))
    }
}

/// The other end's kind, taken by a bare end: "5-7 business days", "$10-20", "9 to 6 PM".
fn inherit(e: &End, k: &K) -> K {
    match k {
        K::Time(_) => match hour_of(&e.val) {
            Some((h, m))
                if h <= 12
                    && !matches!(
                        e.val,
                        Val::Digits {
                            leading_zero: true,
                            ..
                        }
                    ) =>
            {
                if h == 0 {
                    K::Time(T::Known(m as u16))
                } else {
                    K::Time(T::Amb(h, m))
                }
            }
            Some((h, m)) if h <= 23 => K::Time(T::Known((h * 60 + m) as u16)),
            _ => K::Bare,
        },
        K::Invalid => K::Bare,
        other => other.clone(),
    }
}

/// Two bare whole numbers from 1 to 12, different, read as a range of opening hours.
fn business_pair(e1: &End, e2: &End) -> bool {
    let hour = |e: &End| match &e.val {
        Val::Digits {
            whole: Some(h),
            leading_zero: false,
            ..
        } => Some(*h),
        Val::Words { v, .. } if v.fract() == 0.0 => Some(*v as u32),
        _ => None,
    };
    match (hour(e1), hour(e2)) {
        (Some(a), Some(b)) => (1..=12).contains(&a) && (1..=12).contains(&b) && a != b,
        _ => false,
    }
}

fn meridiem((h, m): (u32, u32), pm: bool) -> Option<u16> {
    match h {
        1..=12 => Some((((h % 12) + if pm { 12 } else { 0 }) * 60 + m) as u16),
        0 if !pm => Some(m as u16),
        _ => None,
    }
}

fn daypart((h, m): (u32, u32), dp: DayPart) -> Option<u16> {
    if !(1..=12).contains(&h) {
        return None;
    }
    let hour = match dp {
        DayPart::Morning => h % 12,
        DayPart::Afternoon | DayPart::Evening => h % 12 + 12,
        DayPart::Night if h == 12 => 0,
        DayPart::Night if h <= 5 => h,
        DayPart::Night => h + 12,
    };
    Some((hour * 60 + m) as u16)
}

/// The business clock for an hour with no am/pm: 7 to 11 in the morning, 12 noon, 1 to 6 in
/// the afternoon or evening.
fn business(h: u32, m: u32) -> u16 {
    let hour = match h {
        1..=6 => h + 12,
        _ => h % 24,
    };
    (hour * 60 + m) as u16
}

/// Both readings of an ambiguous time, morning first.
fn readings(h: u32, m: u32) -> [u16; 2] {
    let base = (h % 12) * 60 + m;
    [base as u16, (base + 720) as u16]
}

/// Places the ends of a range of times: an ambiguous start takes the latest reading before
/// a known end, an ambiguous end the earliest after the start; two ambiguous ends start on the
/// business clock.
fn pair_times(a: T, b: T) -> (u16, u16) {
    let after = |x: u16, h: u32, m: u32| {
        let r = readings(h, m);
        r.into_iter().find(|t| *t > x).unwrap_or(r[0])
    };
    match (a, b) {
        (T::Known(x), T::Known(y)) => (x, y),
        (T::Amb(h, m), T::Known(y)) => {
            let r = readings(h, m);
            let x = r
                .into_iter()
                .rev()
                .find(|t| *t < y)
                .unwrap_or(business(h, m));
            (x, y)
        }
        (T::Known(x), T::Amb(h, m)) => (x, after(x, h, m)),
        (T::Amb(h1, m1), T::Amb(h2, m2)) => {
            let x = business(h1, m1);
            (x, after(x, h2, m2))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str) -> Vec<String> {
        extract(text).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn business_hours_in_common_formats() {
        let want = ["time 09:00", "time 18:00"];
        for text in [
            "9 AM to 6 PM",
            "9am-6pm",
            "9:00 a.m. – 6:00 p.m.",
            "09:00-18:00",
            "9-6",
            "from 9 until 6",
            "nine in the morning to six in the evening",
            "between 9 and 6",
            "9 to 6 PM",
        ] {
            assert_eq!(shown(text), want, "{text}");
        }
    }

    #[test]
    fn hour_ranges_use_the_business_clock() {
        assert_eq!(shown("10 to 2"), ["time 10:00", "time 14:00"]);
        assert_eq!(shown("12-4"), ["time 12:00", "time 16:00"]);
        assert_eq!(shown("1-5"), ["time 13:00", "time 17:00"]);
        assert_eq!(shown("10:00-14:00"), ["time 10:00", "time 14:00"]);
        assert_eq!(shown("9:30-5:30"), ["time 09:30", "time 17:30"]);
    }

    #[test]
    fn ranges_share_their_unit() {
        assert_eq!(shown("5-7 business days"), ["number 5 day", "number 7 day"]);
        assert_eq!(shown("$10-20"), ["money 10 USD", "money 20 USD"]);
        assert_eq!(shown("15-20%"), ["percent 15", "percent 20"]);
    }

    #[test]
    fn dates_with_and_without_year() {
        assert_eq!(shown("Dec 24"), ["date 12-24"]);
        assert_eq!(shown("24 December 2026"), ["date 2026-12-24"]);
        assert_eq!(shown("December 24th, 2026"), ["date 2026-12-24"]);
        assert_eq!(shown("2026-12-24"), ["date 2026-12-24"]);
        assert_eq!(shown("the twenty-fourth of December"), ["date 12-24"]);
        assert!(shown("February 30").is_empty());
    }

    #[test]
    fn not_facts() {
        for text in [
            "ORD-9999",
            "A12",
            "call 555-123-4567",
            "https://example.com/returns?days=30",
            "24/7",
            "the 1990s",
            "<ORDER>",
            "room 101",
            "the one you ordered",
        ] {
            assert_eq!(shown(text), Vec::<String>::new(), "{text}");
        }
    }

    #[test]
    fn bare_and_counted_numbers() {
        assert_eq!(shown("9 items"), ["number 9 item"]);
        assert_eq!(shown("we have 3"), ["number 3"]);
        assert_eq!(shown("thirty days"), ["number 30 day"]);
        assert_eq!(shown("a 30-day window"), ["number 30 day"]);
    }
}
