//! The fact extractor's vocabulary: number words, months, currencies, units, and the words that
//! end a unit phrase or mark a number as a label. Flat tables and pure lookups; no parsing.
//! Each table sits behind a sieve that refuses, in a few instructions, nearly every word not
//! in it: the scanner asks the tables about most words of every reply, and the answer is
//! nearly always no.

use std::borrow::Cow;

/// FNV-1a of a word's bytes: where a [`Vocab`] keeps it. The tables are asked about nearly
/// every word of a reply, and SipHash's defence against chosen keys buys nothing for a fixed
/// table that is only read.
const fn fnv(word: &str) -> u64 {
    let b = word.as_bytes();
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut i = 0;
    while i < b.len() {
        h = (h ^ b[i] as u64).wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

/// A first, lossy test of whether a word may be in a table: one bit per first byte, last byte
/// and length, each taken mod 32 (so an ASCII letter falls on the same bit in either case).
/// A word of the table is never refused, since it set its own bit; nearly every other word
/// of a reply is, for a dozen instructions, where hashing it and probing a set or walking a
/// `match` of string arms cost a hundred or more. The tables are asked about most words of a
/// reply, and nearly every answer is no.
pub(super) struct Sieve([u32; 1024]);

impl Sieve {
    /// The sieve of a table's words, made when the crate is compiled.
    const fn of_entries<T>(entries: &[(&str, T)]) -> Sieve {
        Sieve([0; 1024]).with(entries)
    }

    const fn of_words(words: &[&str]) -> Sieve {
        Sieve([0; 1024]).with_words(words)
    }

    const fn with_words(mut self, words: &[&str]) -> Sieve {
        let mut i = 0;
        while i < words.len() {
            self = self.add(words[i]);
            i += 1;
        }
        self
    }

    /// The sieve with the words of `list` too, a whitespace-separated list.
    const fn with_list(mut self, list: &'static str) -> Sieve {
        let mut i = 0;
        while let Some((word, next)) = next_word(list, i) {
            self = self.add(word);
            i = next;
        }
        self
    }

    const fn with<T>(mut self, entries: &[(&str, T)]) -> Sieve {
        let mut i = 0;
        while i < entries.len() {
            self = self.add(entries[i].0);
            i += 1;
        }
        self
    }

    /// [`Self::slot`] of a word's second and second-to-last bytes (of a word of one byte, that
    /// byte twice): the key of [`Vocab`]'s second sieve.
    #[inline]
    const fn inner_slot(word: &str) -> (usize, u32) {
        let b = word.as_bytes();
        let (second, before_last) = match b.len() {
            0 => (0, 0),
            1 => (b[0], b[0]),
            n => (b[1], b[n - 2]),
        };
        Self::key(second, before_last, b.len())
    }

    #[inline]
    const fn slot(word: &str) -> (usize, u32) {
        let (first, last) = match word.as_bytes() {
            [] => (0, 0),
            [one] => (*one, *one),
            [first, .., last] => (*first, *last),
        };
        Self::key(first, last, word.len())
    }

    /// The slot and bit of a word with bytes `a` and `b` at the places a sieve looks and of
    /// length `len`: each byte mod 32 (so an ASCII letter falls on the same bit in either
    /// case), the length mod 32. Every sieve, and [`Self::may_hold`], keys by this.
    #[inline]
    const fn key(a: u8, b: u8, len: usize) -> (usize, u32) {
        (
            ((a & 31) as usize) << 5 | (b & 31) as usize,
            1 << (len & 31),
        )
    }

    /// The sieve with `word` let by.
    const fn add(mut self, word: &str) -> Sieve {
        let (slot, bit) = Self::slot(word);
        self.0[slot] |= bit;
        self
    }

    /// False only when `word` is none of the words the sieve was made of. [`Self::slot`]
    /// again, with the ends taken without its pattern of none, one or several bytes, whose
    /// branches cost a hundred instructions on a reply of a dozen words, each asked twice
    /// (measured). A word of one byte is its own first and last byte, as there; the test
    /// `sieves_refuse_no_word_of_their_table` holds the two together.
    #[inline]
    pub(super) fn may_hold(&self, word: &str) -> bool {
        let b = word.as_bytes();
        let (first, last) = match (b.first(), b.last()) {
            (Some(&first), Some(&last)) => (first, last),
            _ => (0, 0),
        };
        let (slot, bit) = Self::key(first, last, b.len());
        self.0[slot] & bit != 0
    }
}

/// A word set behind its [`Sieve`], made when the crate is compiled: its words written as one
/// whitespace-separated string, so that the tables stay readable, each kept in one of `N`
/// slots (a power of two, at least twice as many as the words) and looked for from the slot
/// its hash names up to the first empty one. A `HashSet` made at the first lookup had cost
/// 110,000 instructions a run to make, and every lookup a check that it was made; a word
/// past the sieve, eighty instructions more than this probe. A word the sieve lets by is
/// asked a second one, of its second and second-to-last bytes, before it is hashed: the
/// first lets by a word of the same ends and length as one of the set's (`days` for `does`,
/// `turn` for `then`): of the words of the facts corpus's replies that are no stop word, the
/// stop words' first sieve lets one in eight by, the two together one in thirty-five.
struct Vocab<const N: usize> {
    sieve: Sieve,
    inner: Sieve,
    slots: [&'static str; N],
}

impl<const N: usize> Vocab<N> {
    const fn of(words: &'static str) -> Self {
        assert!(N.is_power_of_two());
        let mut vocab = Vocab {
            sieve: Sieve([0; 1024]),
            inner: Sieve([0; 1024]),
            slots: [""; N],
        };
        let (mut i, mut count) = (0, 0);
        while let Some((word, next)) = next_word(words, i) {
            i = next;
            let mut at = fnv(word) as usize & (N - 1);
            while !vocab.slots[at].is_empty() && !same(vocab.slots[at], word) {
                at = (at + 1) & (N - 1);
            }
            if vocab.slots[at].is_empty() {
                vocab.slots[at] = word;
                vocab.sieve = vocab.sieve.add(word);
                let (slot, bit) = Sieve::inner_slot(word);
                vocab.inner.0[slot] |= bit;
                count += 1;
                assert!(
                    2 * count <= N,
                    "a vocabulary has twice as many slots as words"
                );
            }
        }
        vocab
    }

    #[inline]
    fn contains(&self, word: &str) -> bool {
        if !self.sieve.may_hold(word) {
            return false;
        }
        let (slot, bit) = Sieve::inner_slot(word);
        if self.inner.0[slot] & bit == 0 {
            return false;
        }
        let mut at = fnv(word) as usize & (N - 1);
        loop {
            let slot = self.slots[at];
            if slot.is_empty() {
                return false;
            }
            if slot == word {
                return true;
            }
            at = (at + 1) & (N - 1);
        }
    }

    /// The words, in no order.
    #[cfg(test)]
    fn words(&self) -> Vec<&'static str> {
        self.slots
            .iter()
            .copied()
            .filter(|w| !w.is_empty())
            .collect()
    }
}

/// The first word of `list`, a whitespace-separated list, at or after byte `i`, and the byte
/// after it; `None` past the last. For lists read when the crate is compiled.
const fn next_word(list: &'static str, mut i: usize) -> Option<(&'static str, usize)> {
    let b = list.as_bytes();
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let start = i;
    while i < b.len() && !b[i].is_ascii_whitespace() {
        i += 1;
    }
    if start == i {
        return None;
    }
    match std::str::from_utf8(b.split_at(i).0.split_at(start).1) {
        Ok(word) => Some((word, i)),
        Err(_) => panic!("a word list is split at ASCII whitespace"),
    }
}

/// Whether two words are one, where `==` cannot be asked (when the crate is compiled).
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A table of words and what each stands for, behind its [`Sieve`]. Kept as a list rather
/// than a `match` so that the sieve, and [`may_start_or_month`]'s, are made of the very words looked up.
struct Table<T: 'static> {
    sieve: Sieve,
    entries: &'static [(&'static str, T)],
}

impl<T: Copy> Table<T> {
    const fn new(entries: &'static [(&'static str, T)]) -> Self {
        Table {
            sieve: Sieve::of_entries(entries),
            entries,
        }
    }

    #[inline]
    fn get(&self, word: &str) -> Option<T> {
        if !self.sieve.may_hold(word) {
            return None;
        }
        self.entries
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, v)| *v)
    }
}

/// The value of a cardinal number word that can start or continue a spelled-out number.
const CARDINALS_LIST: &[(&str, u32)] = &[
    ("zero", 0),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
];
static CARDINALS: Table<u32> = Table::new(CARDINALS_LIST);

#[inline]
pub(super) fn cardinal(word: &str) -> Option<u32> {
    CARDINALS.get(word)
}

/// `hundred`, `thousand`, `million`, `billion` as multipliers.
const SCALES_LIST: &[(&str, f64)] = &[
    ("hundred", 100.0),
    ("thousand", 1e3),
    ("million", 1e6),
    ("billion", 1e9),
];
static SCALES: Table<f64> = Table::new(SCALES_LIST);

#[inline]
pub(super) fn scale_word(word: &str) -> Option<f64> {
    SCALES.get(word)
}

/// Ordinal words up to the 31st, the ones a date can use: `first` … `thirty-first` is
/// `thirty` + `first`, so only the last word is listed here.
const ORDINALS_LIST: &[(&str, u8)] = &[
    ("first", 1),
    ("second", 2),
    ("third", 3),
    ("fourth", 4),
    ("fifth", 5),
    ("sixth", 6),
    ("seventh", 7),
    ("eighth", 8),
    ("ninth", 9),
    ("tenth", 10),
    ("eleventh", 11),
    ("twelfth", 12),
    ("thirteenth", 13),
    ("fourteenth", 14),
    ("fifteenth", 15),
    ("sixteenth", 16),
    ("seventeenth", 17),
    ("eighteenth", 18),
    ("nineteenth", 19),
    ("twentieth", 20),
    ("thirtieth", 30),
];
static ORDINALS: Table<u8> = Table::new(ORDINALS_LIST);

pub(super) fn ordinal(word: &str) -> Option<u8> {
    ORDINALS.get(word)
}

/// The month a (lower-case) name or abbreviation stands for. `may` is checked for its capital
/// by the caller, since "you may 2…" is English.
const MONTHS_LIST: &[(&str, u8)] = &[
    ("january", 1),
    ("jan", 1),
    ("february", 2),
    ("feb", 2),
    ("march", 3),
    ("mar", 3),
    ("april", 4),
    ("apr", 4),
    ("may", 5),
    ("june", 6),
    ("jun", 6),
    ("july", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("october", 10),
    ("oct", 10),
    ("november", 11),
    ("nov", 11),
    ("december", 12),
    ("dec", 12),
];
static MONTHS: Table<u8> = Table::new(MONTHS_LIST);

#[inline]
pub(super) fn month(word: &str) -> Option<u8> {
    MONTHS.get(word)
}

/// Sorted, for [`currency_code`]'s binary search. Each code a `$` prefix names
/// ([`DOLLAR_PREFIXES_LIST`]) is here, so that `NT$50` and `50 TWD` state the same fact.
const CODES: [&str; 21] = [
    "AUD", "BRL", "CAD", "CHF", "CNY", "DKK", "EUR", "GBP", "HKD", "INR", "JPY", "KRW", "MXN",
    "NOK", "NZD", "PLN", "SEK", "SGD", "TWD", "USD", "ZAR",
];

/// ISO codes accepted before or after an amount (`USD 99`, `20 EUR`). Asked of every word of
/// every reply, so it refuses what its sieve does (anything not three letters long, nearly
/// any word) before comparing, and compares against a sorted table rather than walking a set.
#[inline]
pub(super) fn currency_code(word: &str) -> Option<&'static str> {
    const SIEVE: Sieve = Sieve::of_words(&CODES);
    let &[a, b, c] = word.as_bytes() else {
        return None;
    };
    if !SIEVE.may_hold(word) {
        return None;
    }
    let upper = [a, b, c].map(|x| x.to_ascii_uppercase());
    CODES
        .binary_search_by(|code| code.as_bytes().cmp(&upper[..]))
        .ok()
        .map(|i| CODES[i])
}

/// Named times, which start a quantity as numbers do.
const NAMED_TIMES: [&str; 3] = ["noon", "midday", "midnight"];

/// Every word [`may_start_or_month`] says yes to, and some more: it refuses most words of a reply by
/// this alone.
static START: Sieve = Sieve::of_words(&CODES)
    .with_words(&NAMED_TIMES)
    .with(DOLLAR_PREFIXES_LIST)
    .with(CARDINALS_LIST)
    .with(SCALES_LIST)
    .with(ORDINALS_LIST)
    .with(MONTHS_LIST);

/// Whether a date or a quantity can start at this (lower-case) word: a number word or a
/// multiplier (`thirty`, "a `hundred`"), an ordinal or a month (a date), a currency code or a
/// `$` prefix (`USD 99`, `US$99`), `noon`, `midday`, `midnight`; and whether it names a month.
/// The scanner tries no reading at any other word, so a reader that starts at a new kind of
/// word must add it here, and its words to [`START`]. Both asked behind the one sieve, since
/// the one-pass lexer asks them of every word it makes. The sieve is always inlined, and what
/// it lets by asked out of line: as one call of 36 instructions a word it had cost a quarter
/// of the lexer's work on the benchmark's reply, whenever the compiler chose not to inline it.
#[inline(always)]
pub(super) fn may_start_or_month(word: &str) -> (bool, bool) {
    if !START.may_hold(word) {
        return (false, false);
    }
    start_or_month(word)
}

/// [`may_start_or_month`] past its sieve.
fn start_or_month(word: &str) -> (bool, bool) {
    let month = month(word).is_some();
    (month || starts_but_month(word), month)
}

/// [`may_start_or_month`]'s first answer without its sieve: what it answered before it had one.
#[cfg(test)]
fn may_start_unsieved(word: &str) -> bool {
    starts_but_month(word) || month(word).is_some()
}

/// Whether a word other than a month starts a reading, without the sieve: the month is asked
/// by [`may_start_or_month`] for its own answer, and not again here.
fn starts_but_month(word: &str) -> bool {
    currency_code(word).is_some()
        || dollar_prefix(word).is_some()
        || NAMED_TIMES.contains(&word)
        || cardinal(word).is_some()
        || scale_word(word).is_some()
        || ordinal(word).is_some()
}

/// Every word other than a noun's that a reader of what follows an amount looks for as its
/// first word, and some more: `or` (`3 or more`), `am`, `pm`, `a` and `p` (`a.m.`), `at` and
/// `in` (`at night`, `in the morning`), a percent, a currency's code, word or country, `noon`,
/// `o'clock` and `m`.
static SUFFIX: Sieve = Sieve::of_words(&CODES)
    .with_words(&NAMED_TIMES)
    .with(CURRENCY_WORDS_LIST)
    .with_list("or am pm a p at in percent pct per us american canadian australian pound pounds")
    .with_list("oclock o m");

/// Whether a reader of what follows an amount may take `word`, right after it, for something
/// else than the first word of a noun phrase: false for nearly every word, which leaves the
/// noun phrase the only suffix to read. The scanner reads no other at a word this refuses,
/// so a suffix reader that looks for a new word must add it here; the test
/// `a_plain_word_names_no_other_suffix` in `extract` holds the readers to it.
#[inline]
pub(super) fn may_name_suffix(word: &str) -> bool {
    SUFFIX.may_hold(word)
}

/// A currency symbol's code.
pub(super) fn currency_symbol(c: char) -> Option<&'static str> {
    Some(match c {
        '$' => "USD",
        '€' => "EUR",
        '£' => "GBP",
        '¥' => "JPY",
        '₹' => "INR",
        '₩' => "KRW",
        _ => return None,
    })
}

/// The code of a word glued before `$`: `US$`, `CA$`, `C$`, `A$`, `AU$`, `NZ$`, `HK$`, and
/// the currencies other than dollars written with a `$` (`R$` the real, `MX$` the peso). A
/// word glued before `$` that is not here names a currency the extractor does not know
/// (`RD$`, `J$`), which is not US dollars: the scanner reads no money there.
const DOLLAR_PREFIXES_LIST: &[(&str, &str)] = &[
    ("us", "USD"),
    ("ca", "CAD"),
    ("c", "CAD"),
    ("can", "CAD"),
    ("a", "AUD"),
    ("au", "AUD"),
    ("nz", "NZD"),
    ("hk", "HKD"),
    ("s", "SGD"),
    ("r", "BRL"),
    ("nt", "TWD"),
    ("mx", "MXN"),
];
static DOLLAR_PREFIXES: Table<&'static str> = Table::new(DOLLAR_PREFIXES_LIST);

pub(super) fn dollar_prefix(word: &str) -> Option<&'static str> {
    DOLLAR_PREFIXES.get(word)
}

/// Whether amounts in `code` are written with dots between thousands (`€1.000`, `R$ 2.500`),
/// so that three digits after a dot are thousands, not decimals. The euro's and the real's
/// (the euro in most of the countries that use it); others keep the dot a decimal point,
/// since `$3.499` is a price to the tenth of a cent as often as anything else.
pub(super) fn groups_by_dots(code: &str) -> bool {
    matches!(code, "EUR" | "BRL")
}

/// A currency named by a word after the amount, with the factor to the main unit
/// (`cents` are hundredths of a dollar, `pence` of a pound). Not `p`: `50p` may as well be
/// pages, points or `1080p`.
const CURRENCY_WORDS_LIST: &[(&str, (&str, f64))] = &[
    ("dollar", ("USD", 1.0)),
    ("dollars", ("USD", 1.0)),
    ("buck", ("USD", 1.0)),
    ("bucks", ("USD", 1.0)),
    ("cent", ("USD", 0.01)),
    ("cents", ("USD", 0.01)),
    ("pence", ("GBP", 0.01)),
    ("euro", ("EUR", 1.0)),
    ("euros", ("EUR", 1.0)),
    ("yen", ("JPY", 1.0)),
    ("rupee", ("INR", 1.0)),
    ("rupees", ("INR", 1.0)),
];
static CURRENCY_WORDS: Table<(&'static str, f64)> = Table::new(CURRENCY_WORDS_LIST);

#[inline]
pub(super) fn currency_word(word: &str) -> Option<(&'static str, f64)> {
    CURRENCY_WORDS.get(word)
}

/// The country adjective in "99 Canadian dollars".
pub(super) fn dollar_country(word: &str) -> Option<&'static str> {
    Some(match word {
        "us" | "american" => "USD",
        "canadian" => "CAD",
        "australian" => "AUD",
        _ => return None,
    })
}

/// Words that end a unit phrase: function words, words that start another value, weekdays,
/// time zones. "9-5 weekdays" and "9-5 EST" must not make `weekday` or `est` a unit.
static STOP: Vocab<512> = Vocab::of(
    "\
    a an the this that these those my your our their his her its of to for in on at by with
    within without from into onto over under after before until till til through thru during
    per via and or but nor so yet if then than as is are was were be been being will would
    can could should may might must shall do does did have has had not no only just also
    each every all any some less ago later earlier left remaining long old away total max
    maximum minimum apiece back off out up down here there now today tomorrow tonight
    yesterday when where which who what how why it they we you i he she them us me please
    plus minus x instead either anytime local sharp eastern pacific central mountain est edt
    et pst pdt pt cst cdt ct mst mdt mt gmt bst utc cet cest ist aest weekday weekdays
    weekend weekends daily monday tuesday wednesday thursday friday saturday sunday mondays
    tuesdays wednesdays thursdays fridays saturdays sundays mon tue tues wed thu thur thurs
    fri sat sun noon midday midnight morning afternoon evening night am pm percent pct
    hundred thousand million billion",
);

#[inline]
pub(super) fn is_stop(word: &str) -> bool {
    STOP.contains(word)
}

/// Words before a head noun that are not it: "5 business days", "3 free returns".
static MODIFIERS: Vocab<128> = Vocab::of(
    "\
    business calendar working full whole extra additional more free new different separate
    other main quick easy simple great big small large consecutive standard express premium
    basic short few further last first next previous following same single double straight
    complimentary paid available open easy-to-use",
);

#[inline]
pub(super) fn is_modifier(word: &str) -> bool {
    word.ends_with("ly") || MODIFIERS.contains(word)
}

/// The modifiers that only qualify a count's unit ("5 business days", "3 calendar weeks"),
/// so that after a month they make the number a count, not a day. Not `next`, `last`,
/// `first` and the like, which follow a date as often ("May 5 next year").
pub(super) fn is_count_modifier(word: &str) -> bool {
    matches!(word, "business" | "calendar" | "working" | "consecutive")
}

/// Words before a bare number that make it a label, not a quantity: "room 101", "step 2",
/// "press 1", "version 3". Only consulted when nothing after the number gives it a kind.
static LABELS: Vocab<256> = Vocab::of(
    "\
    room rooms suite apt apartment unit floor building bldg gate terminal platform door desk
    counter aisle bay lane lot box route highway exit seat table step steps option options
    page pages line lines chapter section sections article clause paragraph item question
    version ver level tier model flight order ticket case invoice account acct reference ref
    id number no nr num extension ext press dial code pin zip postcode part figure fig slide
    category group team batch release phase stage round episode season volume vol issue rule
    form size sizes age ages store branch station channel port error status http iphone
    windows ios android macos",
);

#[inline]
pub(super) fn is_label(word: &str) -> bool {
    LABELS.contains(word)
}

/// Label words that still mark an id after a colon: "Order number: 12345".
static ID_LABELS: Vocab<64> = Vocab::of(
    "\
    number no id code pin ref reference order ticket case invoice account extension ext room
    seat gate flight",
);

pub(super) fn is_id_label(word: &str) -> bool {
    ID_LABELS.contains(word)
}

/// The second word of "3 or more", "5 or fewer": a bound on the count before it.
pub(super) fn is_bound(word: &str) -> bool {
    matches!(
        word,
        "more" | "fewer" | "less" | "so" | "greater" | "higher" | "longer" | "above" | "over"
    )
}

/// Before a bare hour, these make it a time: "we open at 9", "orders before 2".
pub(super) fn is_clock_preposition(word: &str) -> bool {
    matches!(word, "at" | "before" | "after")
}

/// Before a bare hour, these make it a closing time, read in the afternoon or evening:
/// "open until 8" is 20:00.
pub(super) fn is_closing_preposition(word: &str) -> bool {
    matches!(word, "until" | "till" | "til")
}

/// Before "one", these make it a pronoun: "the one", "that one", "no one".
static DETERMINERS: Vocab<32> = Vocab::of(
    "\
    the this that any no every each which another one a",
);

pub(super) fn is_pronoun_determiner(word: &str) -> bool {
    DETERMINERS.contains(word)
}

/// Units the head-noun rule prefers: in "30 day window" and "10 GB storage" the unit is the
/// known one, not the last noun.
static KNOWN_UNITS: Vocab<128> = Vocab::of(
    "\
    second minute hour day week month year night decade time item unit piece pound ounce
    gram kilogram kg g mg gb mb kb tb km mile meter metre cm mm foot inch liter litre ml
    gallon user seat license device person star attempt",
);

#[inline]
pub(super) fn is_known_unit(unit: &str) -> bool {
    KNOWN_UNITS.contains(unit)
}

/// Word suffixes that may be glued to digits without making an identifier: `9am`, `24th`,
/// `10GB`, `5k`, `24hrs`, `99USD`.
static NUMBER_SUFFIXES: Vocab<128> = Vocab::of(
    "\
    am pm a p st nd rd th k m mm bn h hr hrs min mins sec secs d day days wk wks mo mos yr
    yrs gb mb kb tb kg mg lb lbs oz km cm ml ft in mi",
);

pub(super) fn is_number_suffix(word: &str) -> bool {
    NUMBER_SUFFIXES.contains(word) || currency_code(word).is_some()
}

/// The singular of an English plural, good enough for unit nouns. Borrowed wherever it can
/// be: it runs on every word after every amount in a reply, and a copy each time was most of
/// what reading a unit cost.
pub(super) fn singular(word: &str) -> Cow<'_, str> {
    let irregular = match word {
        "people" => Some("person"),
        "children" => Some("child"),
        "men" => Some("man"),
        "women" => Some("woman"),
        "feet" => Some("foot"),
        "teeth" => Some("tooth"),
        "mice" => Some("mouse"),
        "geese" => Some("goose"),
        "series" | "species" | "news" | "lens" | "yes" | "gas" | "plus" | "bonus" | "status"
        | "campus" | "business" | "access" | "address" | "process" | "class" => Some(word),
        _ => None,
    };
    if let Some(s) = irregular {
        return Cow::Borrowed(s);
    }
    let n = word.len();
    if n > 4 && word.ends_with("ies") {
        return Cow::Owned(format!("{}y", &word[..n - 3]));
    }
    for tail in ["ches", "shes", "sses", "xes", "zes"] {
        if n > tail.len() + 1 && word.ends_with(tail) {
            return Cow::Borrowed(&word[..n - 2]);
        }
    }
    if n > 2
        && word.ends_with('s')
        && !word.ends_with("ss")
        && !word.ends_with("us")
        && !word.ends_with("is")
    {
        return Cow::Borrowed(&word[..n - 1]);
    }
    Cow::Borrowed(word)
}

/// Abbreviations spelled out, so `24 hrs` and `24 hours` state the same unit.
fn expand_abbreviation(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "h" | "hr" => "hour",
        "min" => "minute",
        "sec" => "second",
        "d" => "day",
        "wk" => "week",
        "mo" => "month",
        "yr" => "year",
        "lb" => "pound",
        "oz" => "ounce",
        "ft" => "foot",
        _ => return None,
    })
}

/// A unit word as it is compared: lower-case, singular, abbreviations spelled out.
pub(super) fn canonical_unit(word: &str) -> Cow<'_, str> {
    // Words from a reply are lower-cased already; a unit in an expectation may not be.
    if !word.is_ascii() || word.bytes().any(|b| b.is_ascii_uppercase()) {
        return Cow::Owned(canonical_lower(&word.to_lowercase()).into_owned());
    }
    canonical_lower(word)
}

/// [`canonical_unit`] of a lower-case word.
fn canonical_lower(word: &str) -> Cow<'_, str> {
    match singular(word) {
        Cow::Borrowed(one) => Cow::Borrowed(expand_abbreviation(one).unwrap_or(one)),
        Cow::Owned(one) => expand_abbreviation(&one).map_or(Cow::Owned(one), Cow::Borrowed),
    }
}

/// Whether a word looks like a plural noun, the likeliest head after a number > 1.
pub(super) fn looks_plural(word: &str) -> bool {
    matches!(
        word,
        "people" | "children" | "men" | "women" | "feet" | "teeth"
    ) || singular(word) != word
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `canonical_unit` as it was written before it borrowed: lower-case, singular,
    /// abbreviation expanded, each a new string.
    fn canonical_unit_by_copies(word: &str) -> String {
        let lower = word.to_lowercase();
        let one = singular(&lower).into_owned();
        expand_abbreviation(&one).unwrap_or(&one).to_string()
    }

    #[test]
    fn canonical_units_borrow_what_the_copies_said() {
        let words = "days Days DAYS hrs Hr mins categories boxes wishes classes glasses people \
            business Business lbs oz ft h d items ITEMS nights Ünits ÉTAGES straße bus is as s \
            ies flies Flies x xes buzzes watches dishes kisses taxis menus";
        for w in words.split_whitespace() {
            assert_eq!(canonical_unit(w), canonical_unit_by_copies(w), "{w}");
        }
    }

    #[test]
    fn currency_codes_are_found_in_any_case_and_only_whole() {
        // Every code of the old set, in three cases: the sorted table must find them all.
        let codes =
            "USD EUR GBP JPY CAD AUD NZD CHF CNY INR SEK NOK DKK MXN BRL SGD HKD ZAR PLN KRW";
        for code in codes.split_whitespace() {
            let title = code[..1].to_string() + &code[1..].to_lowercase();
            for written in [code.to_string(), code.to_lowercase(), title] {
                assert_eq!(currency_code(&written), Some(code), "{written}");
            }
        }
        for word in ["us", "usdx", "xyz", "", "eu", "dollars", "ÉUR", "U\u{0}D"] {
            assert_eq!(currency_code(word), None, "{word}");
        }
    }

    /// Each `$` prefix names a currency the codes know, so that `NT$50` and `50 TWD` are
    /// one fact; the dollars that are not US dollars are not USD.
    #[test]
    fn dollar_prefixes_name_known_codes() {
        for (word, code) in DOLLAR_PREFIXES_LIST {
            assert_eq!(currency_code(code), Some(*code), "{word}");
            assert_eq!(dollar_prefix(word), Some(*code), "{word}");
        }
        let named = |w| dollar_prefix(w);
        assert_eq!(
            ["r", "s", "nt", "mx", "us"].map(named),
            [
                Some("BRL"),
                Some("SGD"),
                Some("TWD"),
                Some("MXN"),
                Some("USD")
            ]
        );
        assert_eq!(["rd", "j", "xy"].map(named), [None, None, None]);
        assert!(
            CODES.windows(2).all(|w| w[0] < w[1]),
            "sorted for the search"
        );
    }

    #[test]
    fn units_compare_by_their_singular_spelled_out() {
        assert_eq!(canonical_unit("Days"), "day");
        assert_eq!(canonical_unit("hrs"), "hour");
        assert_eq!(canonical_unit("mins"), "minute");
        assert_eq!(canonical_unit("categories"), "category");
        assert_eq!(canonical_unit("boxes"), "box");
        assert_eq!(canonical_unit("people"), "person");
        assert_eq!(canonical_unit("business"), "business");
        assert_eq!(canonical_unit("lbs"), "pound");
    }

    /// Every table's words, each with the lookup that answers for it with its sieve and the
    /// one that answers without.
    fn sieved_and_not() -> Vec<(Vec<&'static str>, SievedPair)> {
        fn table<T: Copy + PartialEq + std::fmt::Debug>(t: &'static Table<T>) -> Vec<&'static str> {
            t.entries.iter().map(|(w, _)| *w).collect()
        }
        fn pair<T: Copy + PartialEq + std::fmt::Debug>(t: &'static Table<T>) -> SievedPair {
            Box::new(move |w| {
                let plain = t.entries.iter().find(|(e, _)| *e == w).map(|(_, v)| *v);
                (format!("{:?}", t.get(w)), format!("{plain:?}"))
            })
        }
        fn vocab<const N: usize>(v: &'static Vocab<N>) -> (Vec<&'static str>, SievedPair) {
            let words = v.words();
            let listed = words.clone();
            (
                words,
                Box::new(move |w| (v.contains(w).to_string(), listed.contains(&w).to_string())),
            )
        }
        let mut all = vec![
            (table(&CARDINALS), pair(&CARDINALS)),
            (table(&SCALES), pair(&SCALES)),
            (table(&ORDINALS), pair(&ORDINALS)),
            (table(&MONTHS), pair(&MONTHS)),
            (table(&DOLLAR_PREFIXES), pair(&DOLLAR_PREFIXES)),
            (table(&CURRENCY_WORDS), pair(&CURRENCY_WORDS)),
        ];
        all.extend([
            vocab(&STOP),
            vocab(&MODIFIERS),
            vocab(&LABELS),
            vocab(&ID_LABELS),
            vocab(&DETERMINERS),
            vocab(&KNOWN_UNITS),
            vocab(&NUMBER_SUFFIXES),
        ]);
        let code: SievedPair = Box::new(|w| {
            let plain = match w.as_bytes() {
                &[a, b, c] => {
                    let upper = [a, b, c].map(|x| x.to_ascii_uppercase());
                    CODES.iter().copied().find(|code| code.as_bytes() == upper)
                }
                _ => None,
            };
            (format!("{:?}", currency_code(w)), format!("{plain:?}"))
        });
        all.push((CODES.to_vec(), code));
        let start: SievedPair = Box::new(|w| {
            let plain = (may_start_unsieved(w), month(w).is_some());
            (format!("{:?}", may_start_or_month(w)), format!("{plain:?}"))
        });
        let starts = all[..5].iter().flat_map(|(w, _)| w.clone());
        let starts = starts.chain(CODES).chain(NAMED_TIMES).collect();
        all.push((starts, start));
        all
    }

    type SievedPair = Box<dyn Fn(&str) -> (String, String)>;

    /// A sieve never refuses a word of its table: over every word of every table, in three
    /// cases, and over words made from them by cutting, adding and changing letters, each
    /// lookup answers what it answers without its sieve.
    #[test]
    fn sieves_refuse_no_word_of_their_table() {
        use proptest::prelude::*;
        let tables = sieved_and_not();
        let mut words: Vec<String> = Vec::new();
        for (list, lookup) in &tables {
            for w in list {
                let (sieved, plain) = lookup(w);
                assert_eq!(sieved, plain, "{w}");
                assert!(
                    !matches!(plain.as_str(), "None" | "false"),
                    "{w} is in its table"
                );
                words.extend([
                    w.to_string(),
                    w.to_uppercase(),
                    w[..1].to_uppercase() + &w[1..],
                ]);
            }
        }
        words.extend(["", "x", "answer", "dialogue", "é", "é1", "30-day"].map(String::from));
        let word = (
            proptest::sample::select(words),
            0..5u8,
            proptest::sample::select(vec!['s', 'x', 'a', 'E', '-', '\'', 'é', '1']),
        )
            .prop_map(|(w, how, c)| {
                let mut w: Vec<char> = w.chars().collect();
                match how {
                    0 => {}
                    1 => w.push(c),
                    2 => {
                        w.pop();
                    }
                    3 => w.insert(0, c),
                    _ => {
                        let n = w.len();
                        if n > 0 {
                            w[n / 2] = c;
                        }
                    }
                }
                w.into_iter().collect::<String>()
            });
        proptest!(ProptestConfig::with_cases(20000), |(w in word)| {
            for (_, lookup) in &tables {
                let (sieved, plain) = lookup(&w);
                prop_assert_eq!(sieved, plain, "{:?}", w);
            }
        });
    }

    #[test]
    fn sieves_refuse_most_words_of_a_reply() {
        let reply = "answer to dialogue turn our business hours are am pm est";
        let refused = reply.split(' ').filter(|w| !START.may_hold(w)).count();
        assert_eq!(refused, 11, "{reply}");
    }

    /// A vocabulary made from a list holds each of its words once, whatever whitespace parts
    /// them, and no other word.
    #[test]
    fn a_vocabulary_holds_the_words_of_its_list() {
        static LIST: Vocab<16> = Vocab::of("  one two\n three  one\tfour\n    five ");
        let mut words = LIST.words();
        words.sort_unstable();
        assert_eq!(words, ["five", "four", "one", "three", "two"]);
        for w in ["one", "two", "three", "four", "five"] {
            assert!(LIST.contains(w), "{w}");
        }
        for w in ["", "on", "ones", "six", "One", "one two"] {
            assert!(!LIST.contains(w), "{w}");
        }
    }

    #[test]
    fn plural_looking_words() {
        assert!(looks_plural("returns"));
        assert!(looks_plural("people"));
        assert!(!looks_plural("return"));
        assert!(!looks_plural("status"));
    }
}
