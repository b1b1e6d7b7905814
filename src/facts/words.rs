//! The fact extractor's vocabulary: number words, months, currencies, units, and the words that
//! end a unit phrase or mark a number as a label. Flat tables and pure lookups; no parsing.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

/// FNV-1a. The tables are asked about nearly every word of a reply, and SipHash's defence
/// against chosen keys buys nothing for a fixed table that is only read.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

type Set = HashSet<&'static str, BuildHasherDefault<Fnv>>;

/// A word list written as one whitespace-separated string, so that the tables stay readable.
fn set(words: &'static str) -> Set {
    words.split_whitespace().collect()
}

/// The value of a cardinal number word that can start or continue a spelled-out number.
pub(super) fn cardinal(word: &str) -> Option<u32> {
    Some(match word {
        "zero" => 0,
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        "thirty" => 30,
        "forty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    })
}

/// `hundred`, `thousand`, `million`, `billion` as multipliers.
pub(super) fn scale_word(word: &str) -> Option<f64> {
    Some(match word {
        "hundred" => 100.0,
        "thousand" => 1e3,
        "million" => 1e6,
        "billion" => 1e9,
        _ => return None,
    })
}

/// Ordinal words up to the 31st, the ones a date can use: `first` … `thirty-first` is
/// `thirty` + `first`, so only the last word is listed here.
pub(super) fn ordinal(word: &str) -> Option<u8> {
    Some(match word {
        "first" => 1,
        "second" => 2,
        "third" => 3,
        "fourth" => 4,
        "fifth" => 5,
        "sixth" => 6,
        "seventh" => 7,
        "eighth" => 8,
        "ninth" => 9,
        "tenth" => 10,
        "eleventh" => 11,
        "twelfth" => 12,
        "thirteenth" => 13,
        "fourteenth" => 14,
        "fifteenth" => 15,
        "sixteenth" => 16,
        "seventeenth" => 17,
        "eighteenth" => 18,
        "nineteenth" => 19,
        "twentieth" => 20,
        "thirtieth" => 30,
        _ => return None,
    })
}

/// The month a (lower-case) name or abbreviation stands for. `may` is checked for its capital
/// by the caller, since "you may 2…" is English.
pub(super) fn month(word: &str) -> Option<u8> {
    Some(match word {
        "january" | "jan" => 1,
        "february" | "feb" => 2,
        "march" | "mar" => 3,
        "april" | "apr" => 4,
        "may" => 5,
        "june" | "jun" => 6,
        "july" | "jul" => 7,
        "august" | "aug" => 8,
        "september" | "sep" | "sept" => 9,
        "october" | "oct" => 10,
        "november" | "nov" => 11,
        "december" | "dec" => 12,
        _ => return None,
    })
}

/// ISO codes accepted before or after an amount (`USD 99`, `20 EUR`). Asked of every word of
/// every reply, so it refuses anything not three letters long before comparing, and compares
/// against a sorted table rather than walking a set.
pub(super) fn currency_code(word: &str) -> Option<&'static str> {
    const CODES: [&str; 20] = [
        "AUD", "BRL", "CAD", "CHF", "CNY", "DKK", "EUR", "GBP", "HKD", "INR", "JPY", "KRW", "MXN",
        "NOK", "NZD", "PLN", "SEK", "SGD", "USD", "ZAR",
    ];
    let &[a, b, c] = word.as_bytes() else {
        return None;
    };
    let upper = [a, b, c].map(|x| x.to_ascii_uppercase());
    CODES
        .binary_search_by(|code| code.as_bytes().cmp(&upper[..]))
        .ok()
        .map(|i| CODES[i])
}

/// Whether a date or a quantity can start at this (lower-case) word: a number word or a
/// multiplier (`thirty`, "a `hundred`"), an ordinal or a month (a date), a currency code or a
/// `$` prefix (`USD 99`, `US$99`), `noon`, `midday`, `midnight`. The scanner tries no reading
/// at any other word, so a reader that starts at a new kind of word must add it here.
pub(super) fn may_start(word: &str) -> bool {
    currency_code(word).is_some()
        || dollar_prefix(word).is_some()
        || matches!(word, "noon" | "midday" | "midnight")
        || cardinal(word).is_some()
        || scale_word(word).is_some()
        || ordinal(word).is_some()
        || month(word).is_some()
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

/// The code of a word glued before `$`: `US$`, `CA$`, `C$`, `A$`, `AU$`, `NZ$`, `HK$`.
pub(super) fn dollar_prefix(word: &str) -> Option<&'static str> {
    Some(match word {
        "us" => "USD",
        "ca" | "c" | "can" => "CAD",
        "a" | "au" => "AUD",
        "nz" => "NZD",
        "hk" => "HKD",
        _ => return None,
    })
}

/// A currency named by a word after the amount, with the factor to the main unit
/// (`cents` are hundredths of a dollar, `pence` of a pound). Not `p`: `50p` may as well be
/// pages, points or `1080p`.
pub(super) fn currency_word(word: &str) -> Option<(&'static str, f64)> {
    Some(match word {
        "dollar" | "dollars" | "buck" | "bucks" => ("USD", 1.0),
        "cent" | "cents" => ("USD", 0.01),
        "pence" => ("GBP", 0.01),
        "euro" | "euros" => ("EUR", 1.0),
        "yen" => ("JPY", 1.0),
        "rupee" | "rupees" => ("INR", 1.0),
        _ => return None,
    })
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
static STOP: LazyLock<Set> = LazyLock::new(|| {
    set("\
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
        hundred thousand million billion")
});

pub(super) fn is_stop(word: &str) -> bool {
    STOP.contains(&word)
}

/// Words before a head noun that are not it: "5 business days", "3 free returns".
static MODIFIERS: LazyLock<Set> = LazyLock::new(|| {
    set("\
        business calendar working full whole extra additional more free new different separate
        other main quick easy simple great big small large consecutive standard express premium
        basic short few further last first next previous following same single double straight
        complimentary paid available open easy-to-use")
});

pub(super) fn is_modifier(word: &str) -> bool {
    word.ends_with("ly") || MODIFIERS.contains(&word)
}

/// The modifiers that only qualify a count's unit ("5 business days", "3 calendar weeks"),
/// so that after a month they make the number a count, not a day. Not `next`, `last`,
/// `first` and the like, which follow a date as often ("May 5 next year").
pub(super) fn is_count_modifier(word: &str) -> bool {
    matches!(word, "business" | "calendar" | "working" | "consecutive")
}

/// Words before a bare number that make it a label, not a quantity: "room 101", "step 2",
/// "press 1", "version 3". Only consulted when nothing after the number gives it a kind.
static LABELS: LazyLock<Set> = LazyLock::new(|| {
    set("\
        room rooms suite apt apartment unit floor building bldg gate terminal platform door desk
        counter aisle bay lane lot box route highway exit seat table step steps option options
        page pages line lines chapter section sections article clause paragraph item question
        version ver level tier model flight order ticket case invoice account acct reference ref
        id number no nr num extension ext press dial code pin zip postcode part figure fig slide
        category group team batch release phase stage round episode season volume vol issue rule
        form size sizes age ages store branch station channel port error status http iphone
        windows ios android macos")
});

pub(super) fn is_label(word: &str) -> bool {
    LABELS.contains(&word)
}

/// Label words that still mark an id after a colon: "Order number: 12345".
static ID_LABELS: LazyLock<Set> = LazyLock::new(|| {
    set("\
        number no id code pin ref reference order ticket case invoice account extension ext room
        seat gate flight")
});

pub(super) fn is_id_label(word: &str) -> bool {
    ID_LABELS.contains(&word)
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
static DETERMINERS: LazyLock<Set> = LazyLock::new(|| {
    set("\
        the this that any no every each which another one a")
});

pub(super) fn is_pronoun_determiner(word: &str) -> bool {
    DETERMINERS.contains(&word)
}

/// Units the head-noun rule prefers: in "30 day window" and "10 GB storage" the unit is the
/// known one, not the last noun.
static KNOWN_UNITS: LazyLock<Set> = LazyLock::new(|| {
    set("\
        second minute hour day week month year night decade time item unit piece pound ounce
        gram kilogram kg g mg gb mb kb tb km mile meter metre cm mm foot inch liter litre ml
        gallon user seat license device person star attempt")
});

pub(super) fn is_known_unit(unit: &str) -> bool {
    KNOWN_UNITS.contains(&unit)
}

/// Word suffixes that may be glued to digits without making an identifier: `9am`, `24th`,
/// `10GB`, `5k`, `24hrs`, `99USD`.
static NUMBER_SUFFIXES: LazyLock<Set> = LazyLock::new(|| {
    set("\
        am pm a p st nd rd th k m mm bn h hr hrs min mins sec secs d day days wk wks mo mos yr
        yrs gb mb kb tb kg mg lb lbs oz km cm ml ft in mi")
});

pub(super) fn is_number_suffix(word: &str) -> bool {
    NUMBER_SUFFIXES.contains(&word) || currency_code(word).is_some()
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

    #[test]
    fn plural_looking_words() {
        assert!(looks_plural("returns"));
        assert!(looks_plural("people"));
        assert!(!looks_plural("return"));
        assert!(!looks_plural("status"));
    }
}
