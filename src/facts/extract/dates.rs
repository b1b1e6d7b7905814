//! Dates in a reply: `2026-12-24`, `12/24/2026`, `Dec 24`, `24th of December 2026`, ranges of
//! days in one month. Calendar checks only; never reads a number that is not a day or year.

use super::{Found, Scanner};
use crate::facts::lex::{Kind, Num};
use crate::facts::words;
use crate::facts::Fact;

/// The date a `A sep B sep C` run of numbers states: `2026-12-24` (year first, any
/// separator), `12/24/2026` (month first unless the first is over 12, then day first),
/// `24.12.2026` (day first), two-digit years in the 2000s.
pub(in crate::facts) fn numeric_date(a: &Num, sep: char, b: &Num, c: &Num) -> Option<Fact> {
    let (x, y, z) = (a.whole()?, b.whole()?, c.whole()?);
    if a.digits == 4 {
        if b.digits > 2 || c.digits > 2 {
            return None;
        }
        return date(Some(x), y, z);
    }
    if a.digits > 2 || b.digits > 2 {
        return None;
    }
    let year = match c.digits {
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

impl Scanner<'_> {
    /// A date at `i`. Asked at every number a reading starts at, and of nearly none is there
    /// one: in a text that names no month only a numeric date can start (`2026-12-24`), whose
    /// first separator is glued to its digits, so that much is asked here, inlined, before the
    /// readers are called. The call, and the answer copied back, cost sixty instructions a
    /// number of a reply that states no date; always inlined, since the scanner's loop that
    /// calls it is too large for a plain hint to be taken.
    #[inline(always)]
    pub(super) fn date(&self, i: usize) -> Option<(Found, usize)> {
        let numeric = self.glued(i + 1) && matches!(self.sym(i + 1), Some('-' | '/' | '.'));
        if !numeric && !self.months {
            return None;
        }
        self.date_at(i)
    }

    /// [`Self::date`] past its first question.
    fn date_at(&self, i: usize) -> Option<(Found, usize)> {
        let numeric = self.numeric_date_at(i);
        if numeric.is_some() || !self.months {
            return numeric;
        }
        self.month_first(i).or_else(|| self.day_first(i))
    }

    fn numeric_date_at(&self, i: usize) -> Option<(Found, usize)> {
        let a = self.num(i)?;
        let sep = self.sym(i + 1)?;
        if !matches!(sep, '-' | '/' | '.') || !(1..5).all(|k| self.glued(i + k)) {
            return None;
        }
        let (b, c) = (self.num(i + 2)?, self.num(i + 4)?);
        if self.sym(i + 3) != Some(sep) {
            return None;
        }
        Some(([Some(numeric_date(a, sep, b, c)?), None], i + 5))
    }

    fn month_at(&self, i: usize) -> Option<(u32, usize)> {
        let t = self.tok(i)?;
        let Kind::Word { text, cap } = t.kind else {
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
                .filter(|d| (1..=31).contains(d) && n.digits <= 2)?;
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
            .filter(|y| n.digits == 4 && (1900..=2199).contains(y))?;
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
    fn month_first(&self, i: usize) -> Option<(Found, usize)> {
        let (m, j) = self.month_at(i)?;
        let with_the = if self.is_word(j, "the") { j + 1 } else { j };
        let Some((d1, mut k)) = self.day_at(with_the).or_else(|| self.day_at(j)) else {
            let (_, k) = self.year_at(j).filter(|_| self.sym(j) != Some(','))?;
            return Some(([None, None], k));
        };
        let mut last = None;
        if let Some(c) = self.date_connector(k) {
            if let Some((d2, k2)) = self.day_at(c) {
                // "May 5-7 hours" is a range of hours, as "March 3 hours" is hours: read as a
                // date it kept 5 as a day and 7 hours alone. Not after `and`, `or`, `&`, which
                // join two values rather than make a range.
                let joins = matches!(self.word(k), Some("and" | "or")) || self.sym(k) == Some('&');
                if !joins && (self.is_unit_word(k2) || self.hour_range(k, d1, d2, k2)) {
                    return None;
                }
                if self.month_at(k2).is_none() && !self.is_quantity_suffix(k2) {
                    last = Some(d2);
                    k = k2;
                }
            }
        }
        if last.is_none() && self.is_quantity_suffix(k) {
            return None;
        }
        let year = self.year_at(k).map(|(y, k3)| {
            k = k3;
            y
        });
        // An impossible date ("February 30") is still consumed: its day is no count.
        let facts = [date(year, m, d1), last.and_then(|d| date(year, m, d))];
        Some((facts, k))
    }

    /// `24 December`, `24th of December 2026`, `24-26 December`.
    fn day_first(&self, i: usize) -> Option<(Found, usize)> {
        let (d1, mut j) = self.day_at(i)?;
        let mut last = None;
        if let Some(c) = self.date_connector(j) {
            let c = if self.is_word(c, "the") { c + 1 } else { c };
            if let Some((d2, k)) = self.day_at(c) {
                let of = if self.is_word(k, "of") { k + 1 } else { k };
                if self.month_at(of).is_some() {
                    last = Some(d2);
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
        let facts = [date(year, m, d1), last.and_then(|d| date(year, m, d))];
        Some((facts, k))
    }

    /// Whether `i` starts something that makes the number before it a quantity, not a day:
    /// "March 3 hours" is no date.
    fn is_quantity_suffix(&self, i: usize) -> bool {
        matches!(self.sym(i), Some('%')) || self.meridiem_at(i).is_some() || self.is_unit_word(i)
    }

    /// Whether the range of days `d1`, connector at `k`, `d2` ending before `k2` is a range of
    /// hours: "Dec 5-7 PM" is 5 to 7 PM on a day in December, since am/pm fits hours and not
    /// days; read as a date it kept December 5 and left 7 PM alone. Only a tight range of two
    /// plain numbers from 1 to 12: spaced or worded, the date ends and a time follows ("Dec 24
    /// to 2 PM", "Dec 5 - 7 PM"), and an ordinal is a day ("Dec 5th-7th").
    fn hour_range(&self, k: usize, d1: u32, d2: u32, k2: usize) -> bool {
        let tight = matches!(self.sym(k), Some('-' | '–' | '—'))
            && self.glued(k)
            && self.glued(k + 1)
            && k2 == k + 2
            && k.checked_sub(1).and_then(|p| self.num(p)).is_some();
        tight && (1..=12).contains(&d1) && (1..=12).contains(&d2) && self.meridiem_at(k2).is_some()
    }

    /// A known unit (`hours`, `days`), as opposed to a time of day or a percent, also after a
    /// word that says which kind of day it counts ("business days"): "May 5-7 business days"
    /// is the modal "may", not May 5 to 7.
    pub(super) fn is_unit_word(&self, i: usize) -> bool {
        let i = if self.word(i).is_some_and(words::is_count_modifier) {
            i + 1
        } else {
            i
        };
        self.word(i)
            .is_some_and(|w| words::is_known_unit(&words::canonical_unit(w)))
    }
}
