//! What an amount means once its neighbours are read: a kind for each end of a quantity,
//! ranges that share a kind, times placed on the clock, and the rules that keep labels, list
//! markers and pronouns from becoming facts. Never reads text; the scanner hands it the ends.

use super::{amount, round6, Conn, DayPart, End, Found, Scanner, Suffix, Val, UNKNOWN_DOLLAR};
use crate::facts::lex::Kind;
use crate::facts::words;
use crate::facts::Fact;

/// A time not yet placed on the clock: `Amb(9, 0)` is 09:00 or 21:00.
#[derive(Debug, Clone, Copy, PartialEq)]
enum T {
    Known(u16),
    Amb(u32, u32),
}

/// What an end turned out to be.
#[derive(Debug, Clone, PartialEq)]
enum K<'e> {
    Percent,
    Money(&'static str, f64),
    /// Money in a currency the extractor does not know (`RD$50`): states nothing, and a
    /// bare end beside it is in the same currency (`RD$10-20`).
    UnknownMoney,
    Time(T),
    Unit(&'e str),
    Bare,
    /// Looked like a time but is not one (`14 PM`): states nothing.
    Invalid,
}

impl Scanner<'_> {
    pub(super) fn resolve(&self, e1: &End, second: Option<&(Conn, End)>) -> Found {
        let k1 = kind_of(e1);
        let Some((conn, e2)) = second else {
            return [self.single(e1, k1), None];
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
            return [Some(Fact::Time(x)), Some(Fact::Time(y))];
        }
        // "pages 1-5", "press 1 or 2", "ages 3-5": a label before the first makes both labels.
        if self.labelled(e1, &k1) && matches!(k2, K::Bare | K::Unit(_)) {
            return [None, None];
        }
        [self.single(e1, k1), self.single(e2, k2)]
    }

    fn single(&self, e: &End, k: K) -> Option<Fact> {
        let v = amount(&e.val);
        match k {
            K::Percent => Some(Fact::Percent(v?)),
            // Not wanted: nothing reads what `single` gives but the list of facts.
            K::Money(..) if !self.kinds.money() => None,
            K::Unit(_) if !self.kinds.numbers() => None,
            K::Money(code, div) => {
                // `€1.000`, `R$ 2.500`: where dots group thousands, three digits after one
                // are a thousand times more, not a decimal (`$3.499` keeps its point).
                let thousands = div == 1.0
                    && words::groups_by_dots(code)
                    && matches!(
                        e.val,
                        Val::Digits {
                            dot_group: true,
                            ..
                        }
                    );
                let v = if thousands { v? * 1000.0 } else { v? };
                Some(Fact::Money {
                    amount: round6(v / div),
                    currency: code.to_string(),
                })
            }
            K::UnknownMoney => None,
            K::Time(T::Known(t)) => Some(Fact::Time(t)),
            K::Time(T::Amb(h, m)) => Some(Fact::Time(self.bare_clock(e.start, h, m))),
            K::Unit(unit) => {
                if self.is_pronoun(e) || self.labelled(e, &K::Unit("")) {
                    return None;
                }
                let lone_one = matches!(e.val, Val::Words { lone_one: true, .. });
                if lone_one && (!words::is_known_unit(unit) || unit == "time") {
                    return None;
                }
                Some(Fact::Number {
                    value: v?,
                    unit: Some(unit.to_string()),
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
        // The digits, after the sign of a negative ("-12345" is a code all the same).
        let d = e.start + usize::from(e.neg);
        let list_marker = self.line_start(e.start)
            && matches!(self.sym(d + 1), Some('.' | ')'))
            && self.glued(d + 1);
        // "1) cancel or 2) pause", but not "(30)".
        let enumeration = self.sym(d + 1) == Some(')')
            && self.glued(d + 1)
            && !(self.sym(e.start.wrapping_sub(1)) == Some('(') && self.glued(e.start));
        // Five digits or more with nothing after them: a code, zip or account number.
        let code = self.num(d).is_some_and(|n| {
            n.digits >= 5 && !n.grouped && n.whole().is_some() && v.abs() == n.value
        });
        if leading_zero
            || list_marker
            || enumeration
            || code
            || self.label_before(e.start)
            || self.listed_after_label(e.start)
        {
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
        let id_word = |p: usize| match self.t.get(p).map(|t| &t.kind) {
            Some(Kind::Word { text, .. }) => words::is_id_label(text),
            _ => false,
        };
        match self.t[p].kind {
            Kind::Sym('#') => true,
            // "No. 5", "ext. 3"; after a colon only an id's name: "Order number: 123", but
            // "Returns desk: 10-6" is a heading.
            Kind::Sym('.') => p >= 1 && word_at(p - 1),
            Kind::Sym(':') => p >= 1 && id_word(p - 1),
            _ => word_at(p),
        }
    }

    /// Whether a label makes `e` an id: always when bare ("room 101"), and before a noun
    /// too ("Tier 2 team"), unless the label word is a verb there ("order 3 boxes").
    fn labelled(&self, e: &End, k: &K) -> bool {
        let verb = matches!(self.word_before(e.start), Some("order" | "press" | "dial"));
        match k {
            K::Bare => self.label_before(e.start),
            K::Unit(_) => self.label_before(e.start) && !verb,
            _ => false,
        }
    }

    /// "press 1 for billing or 2 for support", "steps 2, 3 and 4": a bare number listed after a
    /// labelled one, in the same clause, is a label too.
    fn listed_after_label(&self, i: usize) -> bool {
        let listed = matches!(self.word_before(i), Some("or" | "and"))
            || i.checked_sub(1).and_then(|p| self.sym(p)) == Some(',');
        if !listed {
            return false;
        }
        for k in (i.saturating_sub(8)..i.saturating_sub(1)).rev() {
            match &self.t[k].kind {
                Kind::Sym('.' | '!' | '?' | ';') => return false,
                Kind::Num(_) => return self.label_before(k) || self.listed_after_label(k),
                _ if self.line_start(k + 1) => return false,
                _ => {}
            }
        }
        false
    }

    /// "one" after "the", "that", "no", "any"…: a pronoun, not a number. Not when a hyphen
    /// joins it to its unit: `a one-year warranty` counts a year as `a two-year warranty`
    /// counts two, and read as a pronoun it stated nothing, so a change to two years passed.
    fn is_pronoun(&self, e: &End) -> bool {
        let hyphened = matches!(e.suffix, Suffix::Unit(_))
            && self.sym(e.start + 1) == Some('-')
            && self.glued(e.start + 1)
            && self.glued(e.start + 2);
        matches!(e.val, Val::Words { lone_one: true, .. })
            && !hyphened
            && self
                .word_before(e.start)
                .is_some_and(words::is_pronoun_determiner)
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

fn kind_of<'e>(e: &'e End<'_>) -> K<'e> {
    if let Some(code) = e.prefix {
        if code == UNKNOWN_DOLLAR {
            return K::UnknownMoney;
        }
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
        Suffix::Unit(u) => K::Unit(u),
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
fn clock_kind(h: u32, m: u32, leading_zero: bool) -> K<'static> {
    if leading_zero || h == 0 || h > 12 {
        K::Time(T::Known((h * 60 + m) as u16))
    } else {
        K::Time(T::Amb(h, m))
    }
}

/// The other end's kind, taken by a bare end: "5-7 business days", "$10-20", "9 to 6 PM".
fn inherit<'e>(e: &End, k: &K<'e>) -> K<'e> {
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

/// Two bare whole numbers from 1 to 12 read as a range of opening hours. Spelled ones must
/// differ: "9 to 9" is 09:00 to 21:00, "one to one" is no range.
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
    let spelled = matches!(e1.val, Val::Words { .. }) || matches!(e2.val, Val::Words { .. });
    match (hour(e1), hour(e2)) {
        (Some(a), Some(b)) => {
            (1..=12).contains(&a) && (1..=12).contains(&b) && !(spelled && a == b)
        }
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
