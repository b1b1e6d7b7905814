//! The scanner: reads typed values out of the lexed tokens, left to right, trying at each token
//! that can start one a date first, then a quantity (an amount with what follows it, or a range
//! of two). Knows English wordings; never looks at expectations or goldens. docs/facts.md
//! lists every form it accepts.

mod dates;
mod resolve;

use std::borrow::Cow;
use std::cell::RefCell;

use super::lex::{self, Kind, Num, Token};
use super::words;
use super::{Fact, Kinds};

pub(super) use dates::numeric_date;

thread_local! {
    /// The lower-cased copy of the reply being read (see [`lex::lower`]) and the room for
    /// its tokens and for where readings may start, kept from reply to reply so that reading
    /// one allocates nothing of its own.
    static BUFS: RefCell<Bufs> = const {
        RefCell::new(Bufs {
            lower: String::new(),
            toks: Vec::new(),
            starts: Vec::new(),
        })
    };
}

/// What [`BUFS`] keeps. The tokens borrow the reply and its lower-cased copy, so between
/// replies the vector is empty and holds its room under no lifetime but `'static`.
struct Bufs {
    lower: String,
    toks: Vec<Token<'static>>,
    starts: Vec<usize>,
}

/// A buffer kept longer than this is given back after the reply that grew it: one long
/// reply should not hold its size for the rest of the run.
const KEPT: usize = 1 << 16;

/// Every typed value `text` states, in order of appearance, without duplicates.
pub fn extract(text: &str) -> Vec<Fact> {
    extract_only(text, Kinds::ALL)
}

/// What [`extract`] gives of the kinds `kinds` holds, without making the others: a check
/// that asks for times has no use for the reply's amounts, each a string of its unit or
/// currency. The text is read as wholly as by [`extract`], since where a reading of one kind
/// ends decides where the next, of any kind, starts.
pub fn extract_only(text: &str, kinds: Kinds) -> Vec<Fact> {
    let mut out: Vec<Fact> = Vec::new();
    each_fact(text, kinds, |f| {
        if !out.contains(&f) {
            out.push(f);
        }
    });
    out
}

/// Hands `found` each fact of the kinds `kinds` holds that [`extract_only`] lists, in the
/// order it lists them, and again each time the text states one again. For a check that
/// only asks whether some facts are stated: it keeps no list, so it allocates nothing.
pub fn each_fact(text: &str, kinds: Kinds, mut found: impl FnMut(Fact)) {
    // One reader for every caller, handed the caller's sink to call: it is called for a
    // fact or two a reply, and a reader made for each caller was inlined worse (measured).
    let found: &mut dyn FnMut(Fact) = &mut found;
    BUFS.with(|bufs| match bufs.try_borrow_mut() {
        Ok(mut bufs) => {
            let Bufs {
                lower,
                toks,
                starts,
            } = &mut *bufs;
            let room = read(
                text,
                lower,
                recycle(std::mem::take(toks)),
                starts,
                kinds,
                found,
            );
            *toks = room;
            if lower.capacity() > KEPT {
                *lower = String::new();
            }
            if toks.capacity() * std::mem::size_of::<Token>() > KEPT {
                *toks = Vec::new();
            }
            if starts.capacity() * std::mem::size_of::<usize>() > KEPT {
                *starts = Vec::new();
            }
        }
        // Only when extracting within an extraction, which nothing does.
        Err(_) => {
            read(
                text,
                &mut String::new(),
                Vec::new(),
                &mut Vec::new(),
                kinds,
                found,
            );
        }
    });
}

/// An empty vector's room under another lifetime: collected in place, as the two token
/// types are one layout, so nothing is allocated; `unreachable` since there is no element.
fn recycle<'b>(toks: Vec<Token<'_>>) -> Vec<Token<'b>> {
    debug_assert!(toks.is_empty());
    toks.into_iter().map(|_| unreachable!()).collect()
}

/// [`each_fact`] with `buf` for the lower-cased copy, `room` for the tokens, which it gives
/// back empty, and `starts` for where readings may start, which it leaves empty. Most
/// replies take the one-pass lexer, which lists the starts as it lexes.
fn read<'r>(
    text: &str,
    buf: &mut String,
    room: Vec<Token<'r>>,
    starts: &mut Vec<usize>,
    kinds: Kinds,
    found: &mut dyn FnMut(Fact),
) -> Vec<Token<'r>> {
    let lower = lex::lower(text, buf);
    // Only the full road's words beyond ASCII are written here, so it is seldom given room.
    let wide = &mut String::new();
    starts.clear();
    let (mut toks, months) = match lex::tokenize_ascii_into(text, lower, room, starts) {
        Ok(lexed) => lexed,
        Err(room) => {
            let toks = lex::tokenize(text, lower, wide);
            drop(room);
            let months = starts_of(&toks, starts);
            (toks, months)
        }
    };
    scan_starts(&toks, kinds, months, starts, found);
    toks.clear();
    recycle(toks)
}

/// Reads `toks` at each token of `starts` (left empty), where [`starts_of`] says a reading
/// may start and `months` whether a word names a month: what every reply takes, and what
/// `skipping_changes_nothing` holds to reading at every token.
fn scan_starts(
    toks: &[Token<'_>],
    kinds: Kinds,
    months: bool,
    starts: &mut Vec<usize>,
    found: &mut dyn FnMut(Fact),
) {
    let sc = Scanner {
        t: toks,
        months,
        kinds,
    };
    scan(&sc, starts.iter().copied(), Scanner::read_at, found);
    starts.clear();
}

/// Pushes onto `starts` the index of each token a reading may start at, and says whether some
/// word of the text names a month (see [`Scanner::months`]), each as [`may_start`] answers.
/// A blocked token is listed as its kind says: it reads as nothing, so a reading tried there
/// finds nothing and consumes nothing, as one not tried; blocked tokens are few, and the
/// one-pass lexer, which lists them as it lexes, learns which they are only once their chunk
/// ends. One pass answers both, where the month had a pass of its own and the scan asked
/// each token again. The one-pass lexer answers them as it lexes
/// (`one_pass_lexes_as_the_full_road` holds it to this), and the test
/// `skipping_changes_nothing` holds the scan of these to the scan of every token.
pub(super) fn starts_of(t: &[Token<'_>], starts: &mut Vec<usize>) -> bool {
    let mut months = false;
    for (i, tok) in t.iter().enumerate() {
        let (start, month) = may_start(&tok.kind);
        months |= month;
        if start {
            starts.push(i);
        }
    }
    months
}

/// Whether a reading may start at a token of `kind`, and whether it is a word that names a
/// month. Only a number, a currency symbol, a minus sign or a word that
/// [`words::may_start_or_month`] starts either; most tokens are none of these.
fn may_start(kind: &Kind<'_>) -> (bool, bool) {
    match kind {
        Kind::Num(_) => (true, false),
        Kind::Sym(c) => (sym_may_start(*c), false),
        Kind::Word { text, .. } => words::may_start_or_month(text),
        Kind::Barrier => (false, false),
    }
}

/// [`may_start`] of a symbol: a currency symbol or a minus sign.
#[inline]
pub(super) fn sym_may_start(c: char) -> bool {
    words::currency_symbol(c).is_some() || is_minus(c)
}

/// Reads at each token of `at` with `read`, handing `found` each fact of the kinds wanted,
/// in order, and going on after what a reading consumed: a token within it is not read at.
fn scan<'a>(
    sc: &Scanner<'a>,
    at: impl Iterator<Item = usize>,
    read: impl Fn(&Scanner<'a>, usize) -> Option<(Found, usize)>,
    found: &mut dyn FnMut(Fact),
) {
    let mut i = 0;
    for at in at {
        if at < i {
            continue;
        }
        i = match read(sc, at) {
            Some(([first, second], next)) => {
                // Each end asked by itself: a loop over the pair left an iterator to drop.
                if let Some(f) = first.filter(|f| sc.kinds.holds(f)) {
                    found(f);
                }
                if let Some(f) = second.filter(|f| sc.kinds.holds(f)) {
                    found(f);
                }
                next.max(at + 1)
            }
            None => at + 1,
        }
    }
}

/// What one reading states: at most two facts, the ends of a range, held without a heap
/// allocation since a reading is tried at nearly every token. `None`s are skipped.
type Found = [Option<Fact>; 2];

#[derive(Debug, Clone, Copy, PartialEq)]
enum DayPart {
    Morning,
    Afternoon,
    Evening,
    Night,
}

/// An amount as written, before what follows it says what it is.
#[derive(Debug, Clone, PartialEq)]
enum Val<'a> {
    Digits {
        v: f64,
        whole: Option<u32>,
        leading_zero: bool,
        /// Digits after the point, for `9.30am`.
        frac: Option<&'a str>,
        /// Written `1.299`: one to three digits (not `0`), a dot and three digits, nothing
        /// multiplied. Beside a currency that groups thousands by dots (`€1.000`) the dot
        /// groups thousands; elsewhere it is a decimal point (`8.875%`, `1.5 kg`).
        dot_group: bool,
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
enum Suffix<'a> {
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
    /// Borrowed from the reply's words where it can be; copied once into the fact it makes.
    Unit(Cow<'a, str>),
}

/// One end of a quantity: `$10`, `9 AM`, `5`, `thirty days`.
#[derive(Debug, Clone)]
struct End<'a> {
    start: usize,
    next: usize,
    val: Val<'a>,
    prefix: Option<&'static str>,
    suffix: Suffix<'a>,
    /// Read with a minus sign (`-5°`, `-$20`): `start` is the sign, not the digits.
    neg: bool,
}

/// The prefix code of an amount after a word glued to `$` that names no currency the
/// extractor knows (`RD$50`, `J$50`): money, but in no known currency, so it states nothing.
/// Read as `$` alone it was US dollars, a changed currency that no reply could match.
pub(super) const UNKNOWN_DOLLAR: &str = "";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Conn {
    /// `-`, `to`, `until`, `through`, `between … and`.
    Range,
    /// `or`: two values, but not a range of hours.
    Or,
}

/// Reads facts at a token index; every reader returns the facts and the index after them.
struct Scanner<'a> {
    t: &'a [Token<'a>],
    /// Whether some word of the text names a month. Every date but a numeric one
    /// (`2026-12-24`) needs one, so without it [`Self::date`] tries only that: the other two
    /// readings were most of what dates cost a reply that states none.
    months: bool,
    /// The kinds of fact wanted; the others are read but not made (see [`extract_only`]).
    kinds: Kinds,
}

impl<'a> Scanner<'a> {
    /// A scanner of `t` for tests, which ask its readers at tokens of their choosing.
    #[cfg(test)]
    fn new(t: &'a [Token<'a>], kinds: Kinds) -> Self {
        let months = starts_of(t, &mut Vec::new());
        Scanner { t, months, kinds }
    }

    // ---- token access: blocked tokens read as nothing ----

    fn tok(&self, i: usize) -> Option<&'a Token<'a>> {
        self.t.get(i).filter(|t| !t.blocked)
    }

    fn word(&self, i: usize) -> Option<&'a str> {
        match &self.tok(i)?.kind {
            Kind::Word { text, .. } => Some(text),
            _ => None,
        }
    }

    fn is_word(&self, i: usize, w: &str) -> bool {
        self.word(i) == Some(w)
    }

    fn num(&self, i: usize) -> Option<&'a Num<'a>> {
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

    /// Whether the word at `i` starts with a capital (`M`, `May`).
    fn cap(&self, i: usize) -> bool {
        matches!(
            self.tok(i).map(|t| &t.kind),
            Some(Kind::Word { cap: true, .. })
        )
    }

    fn glued(&self, i: usize) -> bool {
        self.t.get(i).is_some_and(|t| t.glued)
    }

    fn line_start(&self, i: usize) -> bool {
        self.t.get(i).is_some_and(|t| t.line_start)
    }

    /// The word right before `i`, if that token is a word.
    fn word_before(&self, i: usize) -> Option<&'a str> {
        i.checked_sub(1).and_then(|p| self.word(p))
    }

    /// A date, else a quantity, at `i`: asked at each token [`starts_of`] lists, and in a
    /// test at every token.
    fn read_at(&self, i: usize) -> Option<(Found, usize)> {
        self.date(i).or_else(|| self.quantity(i))
    }

    // ---- quantities ----

    fn quantity(&self, i: usize) -> Option<(Found, usize)> {
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
        // The token asked once, and the lines only of a connector: most readings end before
        // a token that is none.
        let conn = match &self.tok(j)?.kind {
            Kind::Sym('-' | '–' | '—') => Conn::Range,
            Kind::Word {
                text: "to" | "until" | "till" | "til" | "through" | "thru",
                ..
            } => Conn::Range,
            Kind::Word { text: "and", .. } if between => Conn::Range,
            Kind::Word { text: "or", .. } => Conn::Or,
            _ => return None,
        };
        if self.line_start(j) || self.line_start(j + 1) {
            return None;
        }
        Some((conn, j + 1))
    }

    /// Whether `i` is a minus sign of the digits (or currency symbol) glued after it: `-5`,
    /// `−5`, `-$20`. Not when the sign is glued to what comes before it, where it joins
    /// (`5-7`, `ID-5`), nor when spaced from the digits (`- 5 items` is a bullet).
    fn minus_at(&self, i: usize) -> bool {
        self.sym(i).is_some_and(is_minus)
            && !self.glued(i)
            && self.glued(i + 1)
            && self.tok(i + 1).is_some_and(|t| match t.kind {
                Kind::Num(_) => true,
                Kind::Sym(c) => words::currency_symbol(c).is_some(),
                _ => false,
            })
    }

    /// A signed end: `-5 degrees`, `-10%`, `-$20`. A time has no sign (`-9am` is a bullet
    /// glued to its time, read as the time), nor does a date, so neither is read here.
    fn negative(&self, i: usize) -> Option<End<'a>> {
        if self.date(i + 1).is_some() {
            return None;
        }
        let e = self.end(i + 1)?;
        if e.neg {
            return None;
        }
        let Val::Digits { v, .. } = e.val else {
            return None;
        };
        let timed = matches!(
            e.suffix,
            Suffix::Meridiem { .. } | Suffix::DayPart(_) | Suffix::OClock(_) | Suffix::At(_)
        );
        if timed {
            return None;
        }
        Some(End {
            start: i,
            val: Val::Digits {
                v: -v,
                // Not an hour, not a year, not a day: a whole number read as one is positive.
                whole: None,
                leading_zero: matches!(
                    e.val,
                    Val::Digits {
                        leading_zero: true,
                        ..
                    }
                ),
                frac: None,
                dot_group: matches!(
                    e.val,
                    Val::Digits {
                        dot_group: true,
                        ..
                    }
                ),
            },
            neg: true,
            ..e
        })
    }

    /// One end: a currency prefix and amount, or an amount and what follows it.
    fn end(&self, i: usize) -> Option<End<'a>> {
        if self.minus_at(i) {
            return self.negative(i);
        }
        if let Some((code, j)) = self.currency_prefix(i) {
            // `$-20`, `$ -20`, `USD -20`: the sign after the symbol or code, glued to the digits.
            let neg = self.sym(j).is_some_and(is_minus) && self.glued(j + 1);
            let j = if neg { j + 1 } else { j };
            let sign = if neg { -1.0 } else { 1.0 };
            // `$.99`
            let point = self.sym(j) == Some('.') && self.glued(j) && self.glued(j + 1);
            let j = if point { j + 1 } else { j };
            let n = self.num(j)?;
            if point {
                let v: f64 = format!("0.{}", n.int()).parse().ok()?;
                return Some(End {
                    start: i,
                    next: j + 1,
                    val: digits(n, sign * v),
                    prefix: Some(code),
                    suffix: Suffix::None,
                    neg,
                });
            }
            if self.sym(j + 1) == Some(':') && self.glued(j + 1) {
                return None;
            }
            let (v, k) = match self.decimal_comma(j) {
                Some(amount) => amount,
                None => self.with_multiplier(n.value, j + 1, true),
            };
            return Some(End {
                start: i,
                next: k,
                val: digits(n, sign * v),
                prefix: Some(code),
                suffix: Suffix::None,
                neg,
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
            neg: false,
        })
    }

    fn currency_prefix(&self, i: usize) -> Option<(&'static str, usize)> {
        if let Some(c) = self.sym(i) {
            let code = words::currency_symbol(c)?;
            // `R$50`, `XY$50`: a word glued before `$` says whose dollar it is (read from the
            // word when it is known), and one not known is no US dollar.
            if c == '$' && self.glued(i) {
                let before = i.checked_sub(1).and_then(|p| self.t.get(p));
                if let Some(Kind::Word { text, .. }) = before.map(|t| &t.kind) {
                    // An ISO code names its dollar too (`USD$100`, `CAD$20`).
                    let named = words::dollar_prefix(text).or_else(|| words::currency_code(text));
                    return Some((named.unwrap_or(UNKNOWN_DOLLAR), i + 1));
                }
            }
            return Some((code, i + 1));
        }
        let w = self.word(i)?;
        if self.sym(i + 1) == Some('$') && self.glued(i + 1) {
            return words::dollar_prefix(w)
                .or_else(|| words::currency_code(w))
                .map(|c| (c, i + 2));
        }
        let code = words::currency_code(w)?;
        // `USD -20`, signed as `-20 USD` is; in `USD-20`, glued like `ORD-9999`, `-` is no sign.
        let signed = self.sym(i + 1).is_some_and(is_minus) && !self.glued(i + 1);
        let digits = if signed { i + 2 } else { i + 1 };
        self.num(digits).map(|_| (code, i + 1))
    }

    /// `5k`, `$1.5M`, `1.5M users`, `2 million`: the amount times its multiplier, rounded to
    /// the micro-unit so that `2.3k` is 2300 and not 2299.9999999999995. Beside no currency a
    /// glued `m` may be metres (`5m cable`) and `mm` is millimetres, so only a capital `M`
    /// multiplies there; [`Self::amount_suffix`] keeps a lower-case `m` as the unit.
    fn with_multiplier(&self, v: f64, j: usize, money: bool) -> (f64, usize) {
        let glued = self.glued(j);
        let factor = match self.word(j) {
            Some("k") if glued => 1e3,
            Some("m") if glued && (money || self.cap(j)) => 1e6,
            Some("mm") if glued && money => 1e6,
            Some("bn") if glued => 1e9,
            Some(w) => match words::scale_word(w) {
                Some(f) if f > 100.0 => f,
                _ => return (v, j),
            },
            None => return (v, j),
        };
        ((v * factor * 1e6).round() / 1e6, j + 1)
    }

    fn value(&self, i: usize) -> Option<(Val<'a>, usize)> {
        match &self.tok(i)?.kind {
            Kind::Num(n) => self.digit_value(n, i),
            Kind::Word { text, .. } => match *text {
                "noon" | "midday" => Some((Val::Named(720), i + 1)),
                "midnight" => Some((Val::Named(0), i + 1)),
                _ => self.words_value(i),
            },
            _ => None,
        }
    }

    /// `59,90` in `€59,90` or `59,90 €`: a decimal comma, read only beside a currency.
    fn decimal_comma(&self, i: usize) -> Option<(f64, usize)> {
        // The glued comma first: it is asked at every amount, and nearly none has one.
        if self.sym(i + 1) != Some(',') || !self.glued(i + 1) {
            return None;
        }
        let n = self.num(i)?;
        let cents = self.num(i + 2)?;
        let ok = n.frac().is_none()
            && !n.grouped
            && self.glued(i + 2)
            && cents.digits == 2
            && cents.frac().is_none();
        ok.then(|| (round6(n.value + cents.value / 100.0), i + 3))
    }

    fn digit_value(&self, n: &Num<'a>, i: usize) -> Option<(Val<'a>, usize)> {
        // The token after the number says which of the rarer forms may be there, asked once
        // at every amount (each form asked for itself cost a `facts` check some hundred
        // instructions a reply): a glued comma (`12,5 %`, `1.000,- €`), a spaced group
        // (`1 299 €`), a glued colon (a clock).
        match self.tok(i + 1).map(|t| (&t.kind, t.glued)) {
            Some((Kind::Sym(','), true)) => {
                if let Some((v, k)) = self.comma_decimal(n, i) {
                    return Some((digits(n, v), k));
                }
                if let Some(k) = self.comma_dash(i) {
                    return Some((digits(n, n.value), k));
                }
            }
            Some((Kind::Num(_), false)) => {
                if let Some((v, k)) = self.spaced_thousands(n, i) {
                    return Some((digits(n, v), k));
                }
            }
            Some((Kind::Sym(':'), true)) => return self.clock_value(n, i),
            _ => {}
        }
        let (glued, next) = (self.glued(i + 1), self.word(i + 1));
        if glued && matches!(next, Some("st" | "nd" | "rd" | "th")) {
            return None;
        }
        // Only a word glued to the digits (`5k`) or a scale word (`2 million`) can multiply
        // them, which nearly no number has after it: asked here, without the call that had
        // cost 35 instructions a number (`a_multiplier_is_asked_where_one_can_be`).
        let (v, k) = if next.is_some_and(|w| glued || words::scale_word(w).is_some()) {
            self.with_multiplier(n.value, i + 1, false)
        } else {
            (n.value, i + 1)
        };
        Some((digits(n, v), k))
    }

    /// `12,5 %`, `2,5 kg`, `1,5 million euros`, `59,90 €`: a decimal comma, read where what
    /// follows says the amount is a measure (a percent, a currency, a known unit, `°`) and no
    /// English reading fits: the digits after the comma are not three (`1,000` is a thousand),
    /// and the pair is not part of a list (`1,2,3 days`). Read as English these were two
    /// amounts, the second taking the unit (`2,5 kg` was 2 and 5 kg). Before a word that is
    /// no known unit (`2,3 returns`) the comma may as well list two counts, and is read as
    /// before. The value and where the reading ends, after a multiplier if any.
    #[cold]
    fn comma_decimal(&self, n: &Num<'a>, i: usize) -> Option<(f64, usize)> {
        // The glued comma first: it is asked at every amount, and nearly none has one.
        if self.sym(i + 1) != Some(',') || !self.glued(i + 1) || !self.glued(i + 2) {
            return None;
        }
        let m = self.num(i + 2)?;
        if n.frac().is_some() || n.grouped || m.frac().is_some() || m.grouped || m.digits == 3 {
            return None;
        }
        let listed = self.glued(i)
            && i.checked_sub(1)
                .is_some_and(|p| matches!(self.t[p].kind, Kind::Num(_) | Kind::Sym(',' | '.')));
        let goes_on = matches!(self.sym(i + 3), Some(',' | '.'))
            && self.glued(i + 3)
            && self.glued(i + 4)
            && self.num(i + 4).is_some();
        if listed || goes_on || m.digits > 6 {
            return None;
        }
        // One integer over a power of ten, divided once: 1299,99 is 1299.99 exactly as
        // parsed, where adding 0.99 to 1299 need not be.
        let scale = 10f64.powi(m.digits as i32);
        let v = (n.value * scale + m.value) / scale;
        let (v, k) = self.with_multiplier(v, i + 3, false);
        // `2,5-3,5 kg`: the end of a range whose other end is such an amount.
        let ranged = || {
            self.connector(k, true).is_some_and(|(_, j)| {
                self.num(j)
                    .is_some_and(|n2| self.comma_decimal(n2, j).is_some())
            })
        };
        let measure = self.percent_at(k).is_some()
            || self.currency_suffix(k).is_some()
            || self.sym(k) == Some('°')
            || (self.is_word(k, "m") && self.glued(k))
            || self.is_unit_word(k)
            || self
                .hyphen_unit(k)
                .is_some_and(|(u, _)| words::is_known_unit(&u))
            || ranged();
        measure.then_some((v, k))
    }

    /// `1 299 €`, `12 500 EUR`, `1 299,99 €`: thousands grouped by spaces (or no-break
    /// spaces), as French, Polish or Swedish write amounts, read before a currency symbol
    /// or code. Read as English they were two amounts, the last taking the currency (`1 299 €`
    /// was 1 and 299 EUR). Elsewhere (`3 500 users`) the numbers are read as before. The
    /// value and where the reading ends, before the currency.
    #[cold]
    fn spaced_thousands(&self, n: &Num<'a>, i: usize) -> Option<(f64, usize)> {
        // A spaced number of three digits next: asked first, since nearly no amount has one.
        let group = |k: usize| {
            self.num(k).filter(|g| {
                g.digits == 3
                    && !g.grouped
                    && g.frac().is_none()
                    && !self.glued(k)
                    && !self.line_start(k)
            })
        };
        group(i + 1)?;
        if n.digits > 3 || n.grouped || n.frac().is_some() || n.leading_zero() {
            return None;
        }
        // Between the groups a no-break or thin space (U+00A0, U+202F, U+2009: two or three
        // bytes, where an ASCII space is one), as French typography sets them: an ASCII space
        // may as well part a count from an amount (`2 100 USD gift cards`), which is read
        // as two, as before.
        let spaced = |before: &Num<'_>, g: &Num<'_>| matches!(before.gap_to(g), 2 | 3);
        let (mut v, mut k, mut before) = (n.value, i + 1, n);
        while let Some(g) = group(k).filter(|g| spaced(before, g)) {
            v = v * 1000.0 + g.value;
            k += 1;
            before = g;
        }
        if k == i + 1 {
            return None;
        }
        // `1 299,99 €`: cents after the last group.
        let cents = (self.sym(k) == Some(',') && self.glued(k) && self.glued(k + 1))
            .then(|| self.num(k + 1))
            .flatten()
            .filter(|c| c.digits == 2 && c.frac().is_none());
        if let Some(c) = cents {
            v = (v * 100.0 + c.value) / 100.0;
            k += 2;
        }
        let currency = match self.word(k) {
            Some(w) => words::currency_code(w).is_some(),
            None => self.currency_suffix(k).is_some(),
        };
        currency.then_some((v, k))
    }

    /// `1.000,- €`, `50,-- EUR`: a whole amount, its cents written as a dash, before a
    /// currency; where the reading ends, before the currency. Read as English the dash ended
    /// the amount and left it no currency (`1.000,- €` was the number 1).
    #[cold]
    fn comma_dash(&self, i: usize) -> Option<usize> {
        // The glued comma first: it is asked at every amount, and nearly none has one.
        if self.sym(i + 1) != Some(',') || !self.glued(i + 1) {
            return None;
        }
        let dash = |k: usize| self.sym(k) == Some('-') && self.glued(k);
        if !dash(i + 2) {
            return None;
        }
        let k = if dash(i + 3) { i + 4 } else { i + 3 };
        // Whole: no decimals, or a dot before three digits (`1.000,-`), a thousands dot.
        let whole = |n: &Num<'_>| n.frac().is_none_or(|f| f.len() == 3);
        let ok = self.num(i).is_some_and(whole) && self.currency_suffix(k).is_some();
        ok.then_some(k)
    }

    /// `9:00`, `18:30`, `10:00:00`; `5:75` is no time and no number either.
    fn clock_value(&self, n: &Num<'a>, i: usize) -> Option<(Val<'a>, usize)> {
        let m = self
            .num(i + 2)
            .filter(|m| self.glued(i + 2) && m.digits == 2)?;
        let (h, mm) = (n.whole()?, m.whole()?);
        if h > 24 || mm > 59 || (h == 24 && mm > 0) || n.digits > 2 {
            return None;
        }
        let mut k = i + 3;
        let seconds = self.sym(k) == Some(':')
            && self.glued(k)
            && self.num(k + 1).is_some_and(|s| s.digits == 2)
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
    fn words_value(&self, i: usize) -> Option<(Val<'a>, usize)> {
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

    fn suffix(&self, val: &Val, j: usize) -> (Suffix<'a>, usize) {
        match val {
            Val::Named(_) => (Suffix::None, j),
            Val::Clock { .. } => self.clock_suffix(j).unwrap_or((Suffix::None, j)),
            // `3 days`, `12 turn`: a word that none of the other readers of a suffix names, so
            // only the noun phrase can be one. Many amounts are followed by such a word, and
            // the dozen readers asked first cost 150 instructions of the benchmark's reply, a
            // third of its `12 turn`. The test `a_plain_word_names_no_other_suffix` holds the
            // two roads together.
            _ if self.plain_word(j) => self.noun_suffix(val, j).unwrap_or((Suffix::None, j)),
            _ => self.amount_suffix(val, j).unwrap_or((Suffix::None, j)),
        }
    }

    /// Whether the token at `j` is a word that [`words::may_name_suffix`] refuses.
    fn plain_word(&self, j: usize) -> bool {
        self.word(j).is_some_and(|w| !words::may_name_suffix(w))
    }

    fn clock_suffix(&self, j: usize) -> Option<(Suffix<'a>, usize)> {
        if let Some((pm, k)) = self.meridiem_at(j) {
            return Some((Suffix::Meridiem { pm }, k));
        }
        self.daypart_at(j).map(|(dp, k)| (Suffix::DayPart(dp), k))
    }

    fn amount_suffix(&self, val: &Val, j: usize) -> Option<(Suffix<'a>, usize)> {
        // "thirty (30) days": the digits repeat the words.
        let repeat = matches!(val, Val::Words { .. })
            && self.sym(j) == Some('(')
            && self.num(j + 1).map(|n| n.value) == amount(val)
            && self.sym(j + 2) == Some(')');
        let j = if repeat { j + 3 } else { j };
        // "30+ days", "3 or more items": the bound does not end the count.
        let j = if self.sym(j) == Some('+') && self.glued(j) {
            j + 1
        } else if self.is_word(j, "or") && self.word(j + 1).is_some_and(words::is_bound) {
            j + 2
        } else {
            j
        };
        // A time's suffix first, the commonest (`9 AM`): asked after the other three, it
        // waited on a dozen look-ups that could not answer. No token reads as both it and
        // one of them, so the order changes nothing (`a_clock_suffix_is_no_other`).
        if let Some(r) = self.clock_suffix(j) {
            return Some(r);
        }
        if let Some(k) = self.percent_at(j) {
            return Some((Suffix::Percent, k));
        }
        if let Some((code, div, k)) = self.currency_suffix(j) {
            return Some((Suffix::Money(code, div), k));
        }
        if self.sym(j) == Some('°') {
            return Some((Suffix::Unit(Cow::Borrowed("degree")), j + 1));
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
        // `5m`, `1.5m users`: metres or millions, so `m` itself is the unit. Reading the noun
        // after it as the unit dropped the `m` and read 1.5 million users as 1.5 users.
        if self.is_word(j, "m") && self.glued(j) && matches!(val, Val::Digits { .. }) {
            return Some((Suffix::Unit(Cow::Borrowed("m")), j + 1));
        }
        if let Some((unit, k)) = self.hyphen_unit(j) {
            return Some((Suffix::Unit(unit), k));
        }
        self.noun_suffix(val, j)
    }

    /// The noun phrase at `j` as the unit of `val`: what [`Self::amount_suffix`] reads when
    /// no other suffix is there.
    fn noun_suffix(&self, val: &Val, j: usize) -> Option<(Suffix<'a>, usize)> {
        let (unit, k) = self.noun_run(j)?;
        // "the 2026 price list": a year before a noun qualifies it, it does not count it.
        if is_year(val) && !self.counts_plural(j) {
            return Some((Suffix::None, k));
        }
        Some((Suffix::Unit(unit), k))
    }

    /// Whether the noun phrase at `j` starts with a plural: "2000 customers" counts; in
    /// "2026 roadmap includes" the plural is a verb.
    fn counts_plural(&self, j: usize) -> bool {
        self.word(j).is_some_and(words::looks_plural)
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
    fn hyphen_unit(&self, j: usize) -> Option<(Cow<'a, str>, usize)> {
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
    /// modifier ("3 free returns" → return), else the last word that is not a modifier
    /// ("500 Market Street" → street).
    fn noun_run(&self, j: usize) -> Option<(Cow<'a, str>, usize)> {
        // Without numbers wanted the unit is made into no fact (see `resolve`'s `single`):
        // only where the phrase ends and whether it names one are read, and a word that is
        // no modifier is a head whatever its unit. Canonical units were half of this reader's
        // cost on a time check's reply ("turn 3"), and the phrase's words kept as strings
        // most of the rest. `noun_run_full` answers what [`Self::plain_phrase`] does not;
        // `a_phrase_ends_as_in_full` holds the two together, and `only_some_kinds_are_those_of_all`
        // `extract_only` to `extract`.
        if !self.kinds.numbers() {
            if let Some(k) = self.plain_phrase(j) {
                return Some((Cow::Borrowed(""), k));
            }
        }
        self.noun_run_full(j)
    }

    /// Where the noun phrase at `j` ends, as [`Self::noun_run_full`] reads it, when it has a
    /// word that is no modifier and no word joined by a hyphen (`30 day-pass`); `None`
    /// otherwise, for the full reading to answer.
    fn plain_phrase(&self, j: usize) -> Option<usize> {
        let (mut k, mut head) = (j, false);
        while k < j + 3 && !self.line_start(k) {
            let Some(w) = self.word(k) else { break };
            if ends_phrase(w) {
                break;
            }
            k += 1;
            if self.sym(k) == Some('-') && self.glued(k) && self.glued(k + 1) {
                return None;
            }
            head = head || !words::is_modifier(w);
        }
        head.then_some(k)
    }

    /// [`Self::noun_run`] for any kinds wanted, every phrase read in full.
    fn noun_run_full(&self, j: usize) -> Option<(Cow<'a, str>, usize)> {
        // At most three words, so on the stack: this runs after nearly every amount.
        let mut run: [Cow<'a, str>; 3] = Default::default();
        let mut len = 0;
        let mut k = j;
        while len < 3 && !self.line_start(k) {
            let Some(w) = self.word(k) else { break };
            if ends_phrase(w) {
                break;
            }
            let mut compound = Cow::Borrowed(w);
            k += 1;
            while self.sym(k) == Some('-') && self.glued(k) && self.glued(k + 1) {
                let Some(part) = self.word(k + 1) else { break };
                let joined = compound.to_mut();
                joined.push('-');
                joined.push_str(part);
                k += 2;
            }
            run[len] = compound;
            len += 1;
        }
        let run = &run[..len];
        if !self.kinds.numbers() && run.iter().any(|w| !words::is_modifier(w)) {
            return Some((Cow::Borrowed(""), k));
        }
        // Each word's unit is made once, kept for the fallbacks below when none is known.
        let mut units: [Cow<'a, str>; 3] = Default::default();
        for (n, w) in run.iter().enumerate() {
            let unit = unit_of(w);
            if words::is_known_unit(&unit) {
                return Some((unit, k));
            }
            units[n] = unit;
        }
        // Each word asked once whether it is a modifier: both fallbacks need it.
        let mut modifier = [false; 3];
        for (m, w) in modifier.iter_mut().zip(run) {
            *m = words::is_modifier(w);
        }
        let head = (0..len)
            .position(|n| !modifier[n] && words::looks_plural(&run[n]))
            .or_else(|| (0..len).rposition(|n| !modifier[n]))?;
        Some((std::mem::take(&mut units[head]), k))
    }
}

/// [`words::canonical_unit`] of a word of a noun run, still borrowing the reply when the word
/// does.
fn unit_of<'a>(w: &Cow<'a, str>) -> Cow<'a, str> {
    match w {
        Cow::Borrowed(b) => words::canonical_unit(b),
        Cow::Owned(o) => Cow::Owned(words::canonical_unit(o).into_owned()),
    }
}

fn digits<'a>(n: &Num<'a>, v: f64) -> Val<'a> {
    Val::Digits {
        v,
        whole: if v == n.value { n.whole() } else { None },
        leading_zero: n.leading_zero(),
        frac: n.frac(),
        // Only where a decimal reading is unlikely: `1.000` (no price is a thousandth of a
        // euro to the cent) or two or three digits before the dot (`12.500`). `1.168 EUR` (a
        // rate) and `€1.799 a litre` keep their point: neither reading is sure, and the
        // English one is kept rather than a third value.
        dot_group: n.digits <= 3
            && !n.grouped
            && n.value >= 1.0
            && v.abs() == n.value
            && n.frac()
                .is_some_and(|f| f.len() == 3 && (f == "000" || n.digits >= 2)),
    }
}

fn amount(val: &Val) -> Option<f64> {
    match val {
        Val::Digits { v, .. } | Val::Words { v, .. } => Some(*v),
        _ => None,
    }
}

/// `1990`…`2199` written as four plain digits.
fn is_year(val: &Val) -> bool {
    let year = |y: &u32| (1900..=2199).contains(y);
    matches!(val, Val::Digits { whole: Some(y), leading_zero: false, .. } if year(y))
}

/// `-` and the minus sign U+2212.
fn is_minus(c: char) -> bool {
    matches!(c, '-' | '\u{2212}')
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// Whether `w` ends a noun phrase after an amount rather than being one of its words: a stop
/// word, a number word, a month, or a currency. Both readings of a phrase ask it.
fn ends_phrase(w: &str) -> bool {
    words::is_stop(w)
        || words::cardinal(w).is_some()
        || words::month(w).is_some()
        || words::currency_word(w).is_some()
        || words::currency_code(w).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `agree` holds of each line of the facts corpus and of 5,000 texts of `pieces` (split at
    /// whitespace), joined by `gaps`, at most `most` of them: how three of the property tests
    /// here hold a fast road to a slower one.
    fn holds_over_corpus_and_texts(
        agree: impl Fn(&str) -> Result<(), String>,
        pieces: &'static str,
        gaps: Vec<&'static str>,
        most: usize,
    ) {
        use proptest::prelude::*;
        for line in include_str!("../../tests/fixtures/facts/corpus.yaml").lines() {
            assert_eq!(agree(line), Ok(()));
        }
        let text = crate::facts::texts(pieces.split_whitespace().collect(), gaps, most);
        proptest!(ProptestConfig::with_cases(5000), |(text in text)| {
            prop_assert_eq!(agree(&text), Ok(()));
        });
    }

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

    /// `text`'s tokens, lexed by the full road, handed to `f`: what each of the tests below
    /// that read at every token starts from.
    fn with_tokens<R>(text: &str, f: impl FnOnce(&[Token<'_>]) -> R) -> R {
        let mut buf = String::new();
        let lower = lex::lower(text, &mut buf);
        let mut wide = String::new();
        let toks = lex::tokenize(text, lower, &mut wide);
        f(&toks)
    }

    /// Skipping the tokens no reading starts at, and the dates of a text that names no month,
    /// finds what trying every token and every date finds: over each line of the corpus, and
    /// over texts made of the words and signs readings start with, end with or join.
    #[test]
    fn skipping_changes_nothing() {
        use proptest::prelude::*;
        fn both(text: &str) -> (Vec<Fact>, Vec<Fact>) {
            with_tokens(text, |toks| {
                // The full road: every token tried, every date reading tried.
                let every = Scanner {
                    t: toks,
                    months: true,
                    kinds: Kinds::ALL,
                };
                let mut skipping = Vec::new();
                let mut starts = Vec::new();
                let months = starts_of(toks, &mut starts);
                scan_starts(toks, Kinds::ALL, months, &mut starts, &mut |f| {
                    skipping.push(f)
                });
                let mut tried = Vec::new();
                let every_token = |sc: &Scanner<'_>, i: usize| {
                    let t = sc.tok(i)?;
                    if t.kind == Kind::Barrier {
                        return None;
                    }
                    sc.read_at(i)
                };
                scan(&every, 0..toks.len(), every_token, &mut |f| tried.push(f));
                (skipping, tried)
            })
        }
        for line in include_str!("../../tests/fixtures/facts/corpus.yaml").lines() {
            let (skipping, every) = both(line);
            assert_eq!(skipping, every, "{line}");
        }
        let pieces: Vec<&str> = "\
            zero one two three five nine ten twelve twenty thirty ninety hundred thousand million
            billion first second third fourth ninth twelfth twentieth thirtieth january jan
            February feb mar apr May may june jul aug sept sep oct nov december dec Dec noon
            midday midnight USD usd Usd EUR gbp us US ca c can a A au nz hk and the of to or
            through until between am pm AM p m o clock oclock in morning evening at night per
            cent percent pct dollars dollar cents euros yen sterling pound pounds canadian
            american pence days day hrs items business free room step press order number no id that
            k bn mm st nd rd th 0 1 2 5 6 9 12 24 30 31 99 2026 1,299 5.5 09 007 12345 . - – :
            , ( ) + % ° $ € £ # ' ’ / & x r R nt xy t T z Z kg 1.000 1.299,99 2,5 12 500 − ‑
            2026-12-24T17:00 :00.000Z +01:00"
            .split_whitespace()
            .collect();
        let text = crate::facts::texts(pieces, vec![" ", "", "\n", "-", " "], 14);
        proptest!(ProptestConfig::with_cases(20000), |(text in text)| {
            let (skipping, every) = both(&text);
            prop_assert_eq!(skipping, every, "{:?}", text);
        });
    }

    /// Without numbers wanted, the noun phrase after an amount ends where reading it in full
    /// ends it, and names a unit (of no fact) where the full reading finds a head: at every
    /// token of each line of the corpus and of texts of nouns, modifiers, stops, hyphens and
    /// line breaks.
    #[test]
    fn a_phrase_ends_as_in_full() {
        fn agree(text: &str) -> Result<(), String> {
            with_tokens(text, |toks| {
                for kinds in ["time", "money", "percent", "date"] {
                    let sc = Scanner::new(toks, Kinds::named(kinds).expect("a kind"));
                    for j in 0..=toks.len() {
                        let lean = sc.noun_run(j);
                        let full = sc.noun_run_full(j);
                        if lean != full {
                            return Err(format!("{text:?} at {j}: {lean:?} != {full:?}"));
                        }
                    }
                }
                Ok(())
            })
        }
        holds_over_corpus_and_texts(
            agree,
            "\
            turn days day business free extra new return returns street window hours weekly \
            calendar working the of and to or in at per USD usd dollars euros may May December \
            twelve one first 9 30 - – . , : ' é Straße",
            vec![" ", "", "\n", "-", " "],
            10,
        );
    }

    /// `amount_suffix` asks for a time's suffix before a percent's, a currency's and a
    /// degree's, the commonest first; the order was the other way round, and it is free only
    /// while no token after an amount reads as both. Over each line of the corpus and texts of
    /// the words and signs each of them reads, at every token: where a time's suffix is read,
    /// none of the others is.
    #[test]
    fn a_clock_suffix_is_no_other() {
        fn agree(text: &str) -> Result<(), String> {
            with_tokens(text, |toks| {
                let sc = Scanner::new(toks, Kinds::ALL);
                for j in 0..=toks.len() {
                    let clock = sc.clock_suffix(j);
                    let other = sc.percent_at(j).is_some()
                        || sc.currency_suffix(j).is_some()
                        || sc.sym(j) == Some('°');
                    if clock.is_some() && other {
                        return Err(format!("{text:?} at {j}: {clock:?} and another suffix"));
                    }
                }
                Ok(())
            })
        }
        holds_over_corpus_and_texts(
            agree,
            "\
            am pm AM PM a p A P m M . at night in the morning afternoon evening percent pct \
            per cent % ° $ € £ ¥ usd USD eur us US american canadian australian dollar dollars \
            cents pence euros yen pound pounds sterling 9 12 30",
            vec![" ", "", "\n", " "],
            10,
        );
    }

    /// A word that [`words::may_name_suffix`] refuses after an amount leaves the noun phrase
    /// the only suffix, which `suffix` reads without asking the other readers: at every token
    /// of each line of the corpus and of texts of the words and signs each reader of a suffix
    /// takes, and of nouns, modifiers and stops, every reader answers there as if the word were
    /// a noun's, for amounts of digits and of words, a twelve and a year.
    #[test]
    fn a_plain_word_names_no_other_suffix() {
        fn digits_of(v: f64) -> Val<'static> {
            Val::Digits {
                v,
                whole: (v.fract() == 0.0).then_some(v as u32),
                leading_zero: false,
                frac: None,
                dot_group: false,
            }
        }
        fn agree(text: &str) -> Result<(), String> {
            with_tokens(text, |toks| {
                let vals = [
                    digits_of(5.0),
                    digits_of(12.0),
                    digits_of(2026.0),
                    digits_of(1.5),
                    Val::Words {
                        v: 12.0,
                        lone_one: false,
                    },
                    Val::Words {
                        v: 1.0,
                        lone_one: true,
                    },
                ];
                for kinds in [Kinds::ALL, Kinds::named("time").expect("a kind")] {
                    let sc = Scanner::new(toks, kinds);
                    for j in 0..=toks.len() {
                        if !sc.plain_word(j) {
                            continue;
                        }
                        for val in &vals {
                            let all = sc.amount_suffix(val, j);
                            let noun = sc.noun_suffix(val, j);
                            if all != noun {
                                return Err(format!("{text:?} at {j}: {all:?} != {noun:?}"));
                            }
                        }
                    }
                }
                Ok(())
            })
        }
        holds_over_corpus_and_texts(
            agree,
            "\
            or more less am pm AM PM a p A P m M . at night in the morning afternoon evening \
            percent pct per cent % ° $ € usd USD eur gbp us US american canadian australian \
            dollar dollars bucks cents pence euros yen rupees pound pounds sterling noon midday \
            midnight oclock o ' ’ clock k K bn mm hundred thousand million billion st nd th \
            days day business free hours turn dialogue items street returns window 9 12 30 - ( ) +",
            vec![" ", "", "\n", "-", " "],
            10,
        );
    }

    /// Where neither a word glued to a number nor a scale word follows it, no multiplier is
    /// read, as `digit_value` takes for granted without asking: at every token of each line of
    /// the corpus and of texts of multipliers, scale words, units and numbers.
    #[test]
    fn a_multiplier_is_asked_where_one_can_be() {
        fn agree(text: &str) -> Result<(), String> {
            with_tokens(text, |toks| {
                let sc = Scanner::new(toks, Kinds::ALL);
                for j in 0..=toks.len() {
                    let may = sc
                        .word(j)
                        .is_some_and(|w| sc.glued(j) || words::scale_word(w).is_some());
                    let read = sc.with_multiplier(7.0, j, false);
                    if !may && read != (7.0, j) {
                        return Err(format!("{text:?} at {j}: multiplied to {read:?}"));
                    }
                }
                Ok(())
            })
        }
        holds_over_corpus_and_texts(
            agree,
            "k K m M mm MM bn BN hundred thousand million billion kg km days users $ 5 1.5 12",
            vec![" ", "", "\n", "-"],
            10,
        );
    }

    /// Extracting only some kinds gives what extracting all gives of those kinds, in the same
    /// order: over each line of the corpus and over texts of times, amounts, units, dates and
    /// words, for each kind alone and for pairs of them.
    #[test]
    fn only_some_kinds_are_those_of_all() {
        let sets: Vec<Kinds> = [
            &["time"][..],
            &["number"],
            &["money"],
            &["percent"],
            &["date"],
            &["time", "number"],
            &["money", "date"],
            &["number", "percent"],
        ]
        .iter()
        .map(|names| {
            names.iter().fold(Kinds::default(), |k, n| {
                k.with(Kinds::named(n).expect("a kind"))
            })
        })
        .collect();
        let agree = |text: &str| -> Result<(), String> {
            let all = extract(text);
            for &kinds in &sets {
                let only = extract_only(text, kinds);
                let kept: Vec<Fact> = all.iter().filter(|f| kinds.holds(f)).cloned().collect();
                if only != kept {
                    return Err(format!("{text:?} {kinds:?}: {only:?} != {kept:?}"));
                }
            }
            Ok(())
        };
        holds_over_corpus_and_texts(
            agree,
            "\
            nine noon twelve thirty first May Dec december USD EUR us $ € £ % percent per cent \
            am pm AM PM o'clock in the morning evening at until to - – or and between days day \
            items hours turn dialogue business calendar weekly room order 0 1 3 5 6 9 12 24 30 99 2026 1,299 \
            5.5 9:00 18:30 09 12345 . , : ( ) + ° / é k m R r xy 1.000 1.299,99 2,5 500 kg − ‑ \
            2026-12-24T17:00 Z +01:00 one-year",
            vec![" ", "", "\n", "-", " "],
            14,
        );
    }

    /// "Dec 5-7 PM": am/pm after a tight range of hours makes it 5 to 7 PM on a day in
    /// December, not December 5 to 7; it was read as December 5 and 7 PM. Spaced or worded,
    /// the range is a date and a time ("Dec 24 to 2 PM" is open until 2 PM on December 24).
    #[test]
    fn am_pm_after_a_month_and_a_range_reads_hours() {
        assert_eq!(shown("Dec 5-7 PM"), ["time 17:00", "time 19:00"]);
        assert_eq!(shown("Dec 5–7 p.m."), ["time 17:00", "time 19:00"]);
        assert_eq!(shown("Dec 24 to 2 PM"), ["date 12-24", "time 14:00"]);
        assert_eq!(shown("Dec 5 - 7 PM"), ["date 12-05", "time 19:00"]);
        assert_eq!(
            shown("Dec 5-7, 7 PM"),
            ["date 12-05", "date 12-07", "time 19:00"]
        );
    }

    /// "May 5-7 business days" is "may take" 5-7 days, as "May 5-7 days" is: the unit after
    /// `business`, `calendar` or `working` makes the numbers counts, not days of the month.
    /// Other words before a unit keep the date ("May 5 next year").
    #[test]
    fn a_month_before_a_modified_unit_is_no_date() {
        assert_eq!(
            shown("May 5-7 business days"),
            ["number 5 day", "number 7 day"]
        );
        assert_eq!(shown("May 3 working days"), ["number 3 day"]);
        assert_eq!(
            shown("March 2 to 4 calendar weeks"),
            ["number 2 week", "number 4 week"]
        );
        assert_eq!(shown("May 5 next year"), ["date 05-05"]);
        assert_eq!(
            shown("May 5-7 business hours"),
            ["number 5 hour", "number 7 hour"]
        );
    }

    /// A code before a signed amount is money, as `-$20` and `$-20` are: `USD -20` read the
    /// number -20. The sign must be glued to the digits (`USD - 20` is no amount).
    #[test]
    fn a_currency_before_a_signed_amount_keeps_the_sign() {
        assert_eq!(shown("USD -20"), ["money -20 USD"]);
        assert_eq!(shown("a credit of EUR −12.50"), ["money -12.5 EUR"]);
        assert_eq!(shown("$ -20"), ["money -20 USD"]);
        assert_eq!(shown("USD -20-30"), ["money -20 USD", "money 30 USD"]);
        assert_eq!(shown("USD - 20 items"), ["number 20 item"]);
        assert_eq!(shown("$-20"), ["money -20 USD"]);
    }

    /// `50p` may be pence, pages, points or a resolution (`1080p`), so a glued `p` is the unit
    /// `p`, as a glued `m` is `m`: read as pence, `1080p` would be 10.80 GBP. `50 pence` and
    /// `£0.50` say pence and nothing else.
    #[test]
    fn a_glued_p_is_no_pence_but_pence_are() {
        assert_eq!(shown("50p"), ["number 50 p"]);
        assert_eq!(shown("watch in 1080p"), ["number 1080 p"]);
        assert_eq!(shown("50 pence"), ["money 0.5 GBP"]);
        assert_eq!(shown("£0.50"), ["money 0.5 GBP"]);
    }

    /// `R$`, `S$`, `NT$` and `MX$` are the real, the Singapore and Taiwan dollars and the
    /// Mexican peso; each was read as US dollars, so a reply that changed the currency kept
    /// the fact. A word glued before `$` that names no currency the extractor knows reads no
    /// money at all (nor a number): it is not US dollars, and which currency it is cannot be
    /// told.
    #[test]
    fn dollar_prefixes_name_their_currency() {
        for (text, want) in [
            ("R$ 50", "money 50 BRL"),
            ("R$50", "money 50 BRL"),
            ("S$50", "money 50 SGD"),
            ("NT$50", "money 50 TWD"),
            ("MX$50", "money 50 MXN"),
            ("A$50", "money 50 AUD"),
            ("AU$50", "money 50 AUD"),
            ("C$50", "money 50 CAD"),
            ("CA$50", "money 50 CAD"),
            ("HK$50", "money 50 HKD"),
            ("NZ$50", "money 50 NZD"),
            ("US$50", "money 50 USD"),
            ("$50", "money 50 USD"),
            ("50 TWD", "money 50 TWD"),
        ] {
            assert_eq!(shown(text), [want], "{text}");
        }
        assert_eq!(shown("R$10-20"), ["money 10 BRL", "money 20 BRL"]);
        assert_eq!(shown("a fee of R$ 1.000,00"), ["money 1000 BRL"]);
        for text in ["XY$50", "RD$ 50", "J$10-20", "costs$5"] {
            assert_eq!(shown(text), Vec::<String>::new(), "{text}");
        }
    }

    /// An ISO 8601 date-time states its date and its time, as `2026-12-24 17:00` does: the
    /// letters glued to its digits (`T`, `Z`) made it an identifier, and it stated nothing.
    /// Seconds and the zone are read past, as after `17:00` (`17:00:00 UTC`); no time is
    /// converted, and the zone is neither a time (`+01:00`) nor the end of a range (`-05:00`).
    #[test]
    fn an_iso_date_time_is_its_date_and_time() {
        let want = ["date 2026-12-24", "time 17:00"];
        for text in [
            "2026-12-24T17:00:00Z",
            "2026-12-24T17:00",
            "2026-12-24T17:00:00+01:00",
            "2026-12-24T17:00:00.000Z",
            "2026-12-24T17:00:00-0500",
            "(2026-12-24t17:00z).",
            "2026-12-24 17:00",
            "2026-12-24 17:00:00 UTC",
        ] {
            assert_eq!(shown(text), want, "{text}");
        }
        assert_eq!(
            shown("2026-12-24T09:30:00-05:00"),
            ["date 2026-12-24", "time 09:30"]
        );
        assert_eq!(
            shown("Refunds open 2026-12-24T10:00Z for 30 days."),
            ["date 2026-12-24", "time 10:00", "number 30 day"]
        );
        // Not a date, or more glued after it: an identifier still.
        for text in [
            "2026-13-24T17:00",
            "2026-12-24T17:00X",
            "2026-12-24T17:00+1",
        ] {
            assert_eq!(shown(text), Vec::<String>::new(), "{text}");
        }
    }

    /// The hyphen U+2010, the non-breaking hyphen U+2011, the figure dash U+2012 and the minus
    /// sign U+2212 join and sign as `-` does: `5‑7 days` was 5 and 7 day, the first end
    /// without its unit. Before a lone number each is still its sign.
    #[test]
    fn unicode_hyphens_and_the_minus_sign_read_as_a_hyphen() {
        for dash in ['\u{2010}', '\u{2011}', '\u{2012}', '\u{2212}'] {
            let says = |text: String| (shown(&text), text);
            let (facts, text) = says(format!("5{dash}7 days"));
            assert_eq!(facts, ["number 5 day", "number 7 day"], "{text}");
            let (facts, text) = says(format!("a 30{dash}day window, twenty{dash}four hours"));
            assert_eq!(facts, ["number 30 day", "number 24 hour"], "{text}");
            let (facts, text) = says(format!("{dash}5 °C, ORD{dash}9999, 555{dash}123{dash}4567"));
            assert_eq!(facts, ["number -5 degree"], "{text}");
        }
        assert_eq!(
            shown("from −5 to 5 degrees"),
            ["number -5 degree", "number 5 degree"]
        );
        assert_eq!(shown("a credit of EUR −12.50"), ["money -12.5 EUR"]);
    }

    /// `one` joined to a unit by a hyphen counts it, whatever comes before: `a one-year
    /// warranty` stated nothing (`one` after `a` was a pronoun), so a change to `a two-year
    /// warranty` passed. Loose, `one` after `a` or before `of` is still no number, and
    /// `one-time` is still no count.
    #[test]
    fn one_hyphened_to_a_unit_counts() {
        assert_eq!(shown("a one-year warranty"), ["number 1 year"]);
        assert_eq!(shown("a two-year warranty"), ["number 2 year"]);
        assert_eq!(shown("A 2-year warranty"), ["number 2 year"]);
        assert_eq!(shown("a two year warranty"), ["number 2 year"]);
        assert_eq!(shown("a one-day pass"), ["number 1 day"]);
        assert_eq!(shown("a one-hour call"), ["number 1 hour"]);
        assert_eq!(shown("the one-year plan"), ["number 1 year"]);
        for text in [
            "a one-time fee",
            "a one",
            "one of our agents",
            "no one",
            "the one you ordered",
            "a one-stop shop",
        ] {
            assert_eq!(shown(text), Vec::<String>::new(), "{text}");
        }
    }

    /// European amounts: dots between thousands, a decimal comma, spaces between thousands.
    /// Read as English they gave other values (`€1.000` was 1 EUR, `1.299,99 €` 1.299 and
    /// 99 EUR, `2,5 kg` 2 and 5 kg). Forms no English reading fits are read; `1,000` stays a
    /// thousand, and where neither reading is certain the English one is kept or nothing is
    /// read, never a third value.
    #[test]
    fn european_amounts_read_as_written() {
        for (text, want) in [
            ("€1.000", &["money 1000 EUR"][..]),
            ("1.000 €", &["money 1000 EUR"]),
            ("€12.500", &["money 12500 EUR"]),
            ("1.299,99 €", &["money 1299.99 EUR"]),
            ("€1.000,50", &["money 1000.5 EUR"]),
            ("1.234.567,89 EUR", &["money 1234567.89 EUR"]),
            ("12,5 %", &["percent 12.5"]),
            ("12,5%", &["percent 12.5"]),
            ("1\u{202f}299 €", &["money 1299 EUR"]),
            ("1\u{a0}299,99 €", &["money 1299.99 EUR"]),
            ("12\u{a0}500 EUR", &["money 12500 EUR"]),
            ("1\u{2009}234\u{2009}567 €", &["money 1234567 EUR"]),
            // An ASCII space may part a count from an amount: two, as before.
            ("Buy 2 100 USD gift cards", &["number 2", "money 100 USD"]),
            ("1 299 €", &["number 1", "money 299 EUR"]),
            // A rate or a litre's price to the tenth of a cent keeps its point; `USD$` is
            // US dollars.
            ("1 GBP = 1.168 EUR", &["money 1 GBP", "money 1.168 EUR"]),
            ("€1.799 a litre", &["money 1.799 EUR"]),
            ("USD$100, CAD$20", &["money 100 USD", "money 20 CAD"]),
            ("2,5 kg", &["number 2.5 kg"]),
            ("1,5 business days", &["number 1.5 day"]),
            ("25,5°", &["number 25.5 degree"]),
            ("1,5 million euros", &["money 1500000 EUR"]),
            ("2,5-3,5 kg", &["number 2.5 kg", "number 3.5 kg"]),
            ("€1.000-2.000", &["money 1000 EUR", "money 2000 EUR"]),
            ("1.000,- €", &["money 1000 EUR"]),
            ("50,-- EUR", &["money 50 EUR"]),
            ("€59,90", &["money 59.9 EUR"]),
            ("59,90 €", &["money 59.9 EUR"]),
            // English as before.
            ("1,000", &["number 1000"]),
            ("1,000 €", &["money 1000 EUR"]),
            ("$1,299.99", &["money 1299.99 USD"]),
            ("€0.500", &["money 0.5 EUR"]),
            ("$3.499 a gallon", &["money 3.499 USD"]),
            ("Sales tax is 8.875%", &["percent 8.875"]),
            ("1.5 kg", &["number 1.5 kg"]),
            ("5,6 and 7", &["number 5", "number 6", "number 7"]),
            ("1,2,3 days", &["number 1", "number 2", "number 3 day"]),
            ("3 500 users", &["number 3", "number 500 user"]),
            ("December 24,2026", &["date 2026-12-24"]),
            // Dots between thousands and no decimals: a version, an address, or an amount
            // (`€1.000.000`), which cannot be told from the number alone.
            ("€1.000.000", &[]),
            ("1.5,2.5", &["number 1.5", "number 2.5"]),
        ] {
            assert_eq!(shown(text), want, "{text}");
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
