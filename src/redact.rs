//! Keeps secrets out of every output. The runner passes every piece of text that came from the
//! network or from the config through one [`Redactor`] before any reporter, golden or pending
//! file sees it, so the reporters never need to know what a secret is.
//!
//! What is replaced, for each secret (an api key, a header value taken from an env var, each
//! `${VAR}` inside such a header):
//!
//! - the secret as configured, and trimmed of surrounding whitespace: a key read from a file
//!   with a stray space is sent trimmed (HTTP drops the whitespace around a header value), so
//!   the trimmed form is the one an agent can echo;
//! - the base64 of the secret and of `Bearer <secret>`, standard and URL-safe alphabets, with and
//!   without `=` padding;
//! - the secret inside a longer base64 blob (say a base64'd JSON of the request headers): at
//!   each of the three byte offsets modulo 3 the secret encodes to a fixed run of characters,
//!   give or take the one or two characters it shares with its neighbours, and that run is
//!   replaced (so one or two boundary characters, worth a few bits, may stay);
//! - the percent-encoding of the secret and of `Bearer <secret>`: every byte other than
//!   RFC 3986's unreserved `A-Z a-z 0-9 - . _ ~` encoded, with upper- or lower-case hex, and
//!   the form encoding that writes a space as `+`.
//!
//! Encodings are made only of secrets of at least [`MIN_ENCODED_LEN`] bytes: the encoding of a
//! short word would match by chance inside unrelated base64.
//!
//! What is not covered: any other encoding (hex, base32, JSON `\u` escapes, HTML entities,
//! quoted-printable), base64 wrapped over several lines (MIME's 76-column lines), an encoding
//! of an encoding, an encoder that leaves a different set of characters unescaped than those
//! above (a key made only of unreserved characters, as keys are, is the same under all of
//! them), a key that was split, truncated, re-cased or spelled out, and anything derived from a
//! key (a hash, a signature). A reply that does any of this to a key was built to leak it; the
//! redactor stops an agent that simply repeats back what it was sent.
//!
//! A secret shorter than [`MIN_KEY_LEN`] is still replaced where it appears verbatim, so a
//! one-letter key would turn every report into `[REDACTED]`: the suite loader refuses such an
//! api key with [`not_a_key`] instead.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use percent_encoding::utf8_percent_encode;

use crate::util::NOT_UNRESERVED;
use secrecy::{ExposeSecret, SecretString};

pub const REDACTED: &str = "[REDACTED]";

/// The shortest api key accepted, after trimming. Real keys are dozens of characters
/// (`ak_…`, `thns_sk_…`, `sk-…`); anything this short is a placeholder or a mistake, and
/// redacting it would blank every word it happens to be part of.
/// Four, not more: local servers take placeholder keys such as `EMPTY` (vLLM) or `ollama`.
pub const MIN_KEY_LEN: usize = 4;

/// Whether a value the environment gave a header or a URL's query is kept as a secret: not
/// when it is too short to be accepted as a key ([`not_a_key`]). No credential is that short, and
/// redacting `en` or `1` verbatim would blank it in every reply, report and golden (and make
/// goldens depend on the environment that recorded them).
pub fn env_secret(value: &str) -> bool {
    not_a_key(value).is_none()
}

/// The mark a truncation leaves where it cut a text.
const CUT: char = '…';

/// The fewest leading characters of a secret, cut short by a truncation, that are redacted:
/// fewer tell nothing a key's public prefix (`ak_`, `sk-`) does not.
pub const MIN_CUT_LEN: usize = 4;

/// The shortest secret whose encodings are redacted too.
pub const MIN_ENCODED_LEN: usize = 8;

/// Why `key` cannot be an api key, for the suite loader to report at the key's place: `None`
/// when it is fine. The message is a lowercase fragment.
pub fn not_a_key(key: &str) -> Option<String> {
    let len = key.trim().chars().count();
    (len < MIN_KEY_LEN).then(|| {
        format!(
            "`api_key` is {len} character{} long, too short to be a key (at least {MIN_KEY_LEN})",
            if len == 1 { "" } else { "s" }
        )
    })
}

/// Replaces every known secret, and the encodings listed in the module comment, with
/// `[REDACTED]`. Built once per run from the api keys and the header values taken from env
/// vars of every loaded endpoint.
#[derive(Default, Clone)]
pub struct Redactor {
    /// Every form to replace, longest first, so that a form which contains another is replaced
    /// whole. Kept as secrets: they are the key itself, or decode to it.
    patterns: Vec<SecretString>,
    /// Whether a text holds any of `patterns`, in one pass over it. Almost no text does, and
    /// asking each form in turn (a `contains` apiece, two texts a turn) had been 4% of a
    /// request's instructions, and grows with the number of keys. `None` when there are no
    /// patterns, or the automaton could not be built, and then every form is asked. Like the
    /// endpoint's header holding the key, it keeps the forms in memory not wiped on drop.
    any: Option<aho_corasick::AhoCorasick>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} patterns)", self.patterns.len())
    }
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = SecretString>) -> Self {
        // The same key comes once per dialogue that uses it: its forms are made once.
        let mut secrets: Vec<SecretString> = secrets.into_iter().collect();
        secrets.sort_unstable_by(|a, b| a.expose_secret().cmp(b.expose_secret()));
        secrets.dedup_by(|a, b| a.expose_secret() == b.expose_secret());
        let mut forms = Vec::new();
        for s in &secrets {
            forms_of(s.expose_secret(), &mut forms);
        }
        forms.retain(|f| !f.is_empty());
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        // A contiguous NFA builds in tens of microseconds for one key's forms, where the
        // default's DFA takes a few hundred, and answers as fast on a reply's few bytes.
        let any = (!forms.is_empty())
            .then(|| {
                aho_corasick::AhoCorasick::builder()
                    .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
                    // Leftmost matching lets it search with SIMD (Teddy); whether a text holds
                    // a form at all is the same question under any match kind.
                    .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                    .build(&forms)
                    .ok()
            })
            .flatten();
        Redactor {
            patterns: forms.into_iter().map(SecretString::from).collect(),
            any,
        }
    }

    /// Whether any form it replaces holds `c`. The judge redacts a conversation line by line
    /// (src/judge/grader.rs), which replaces what redacting the lines joined does only while
    /// no form holds the line's end.
    pub fn any_form_contains(&self, c: char) -> bool {
        self.patterns.iter().any(|p| p.expose_secret().contains(c))
    }

    /// `text` with every secret replaced. Allocates only when something was found.
    pub fn redact<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        let mut out = std::borrow::Cow::Borrowed(text);
        let whole = self.any.as_ref().is_none_or(|any| any.is_match(text));
        if whole {
            for s in &self.patterns {
                let s = s.expose_secret();
                if out.contains(s) {
                    out = std::borrow::Cow::Owned(out.replace(s, REDACTED));
                }
            }
        }
        if out.contains(CUT) {
            if let Some(cut) = self.redact_cut(&out) {
                out = std::borrow::Cow::Owned(cut);
            }
        }
        out
    }

    /// Whether [`Redactor::redact`] would change `text` (answer `Owned`), asked without the
    /// copy: the judge asks it of a question's new text, in one pass, to learn whether its
    /// pieces can be hashed as they stand. The `…` is looked for by its last byte alone, as
    /// `memchr` finds one (a `contains` of the character had cost half of the whole question's
    /// search for a secret's forms); it is a continuation byte, found only inside some
    /// character, which is then checked. Held to `redact` by a test.
    pub fn would_redact(&self, text: &str) -> bool {
        let found = match &self.any {
            Some(any) => any.is_match(text),
            None => self
                .patterns
                .iter()
                .any(|p| text.contains(p.expose_secret())),
        };
        found || (holds_cut(text) && self.redact_cut(text).is_some())
    }

    /// `text` with every secret that a truncation cut short (its first [`MIN_CUT_LEN`] or more
    /// characters right before a `…`) replaced, or `None` when there is none. The endpoints
    /// quote at most a few hundred characters of a body they cannot read, cut with `…`, and
    /// they cut before the redactor sees the text: a key straddling the cut would otherwise
    /// show all but its last characters.
    fn redact_cut(&self, text: &str) -> Option<String> {
        let mut out = String::new();
        let mut done = 0;
        for (at, _) in text.match_indices(CUT) {
            let before = &text[done..at];
            let longest = self
                .patterns
                .iter()
                .filter_map(|p| {
                    let p = p.expose_secret();
                    (MIN_CUT_LEN..p.len())
                        .rev()
                        .filter(|&k| p.is_char_boundary(k))
                        .find(|&k| before.ends_with(&p[..k]))
                })
                .max();
            if let Some(k) = longest {
                out.push_str(&before[..before.len() - k]);
                out.push_str(REDACTED);
                done = at;
            }
        }
        (done > 0).then(|| {
            out.push_str(&text[done..]);
            out
        })
    }

    /// Redacts `text` where it is; leaves it untouched (no allocation) when it holds no secret.
    pub fn redact_in_place(&self, text: &mut String) {
        if let std::borrow::Cow::Owned(s) = self.redact(text) {
            *text = s;
        }
    }

    pub fn redact_string(&self, text: String) -> String {
        match self.redact(&text) {
            std::borrow::Cow::Borrowed(_) => text,
            std::borrow::Cow::Owned(s) => s,
        }
    }
}

/// Whether `text` holds a [`CUT`], found by its last byte.
fn holds_cut(text: &str) -> bool {
    let mut buf = [0u8; 4];
    let cut = CUT.encode_utf8(&mut buf).as_bytes();
    let last = cut[cut.len() - 1];
    let bytes = text.as_bytes();
    memchr::memchr_iter(last, bytes)
        .any(|end| end + 1 >= cut.len() && bytes.get(end + 1 - cut.len()..=end) == Some(cut))
}

/// Every form of one secret that the module comment promises to replace.
fn forms_of(secret: &str, out: &mut Vec<String>) {
    let trimmed = secret.trim();
    let bases: &[&str] = if trimmed == secret {
        &[secret]
    } else {
        &[secret, trimmed]
    };
    for &base in bases {
        out.push(base.to_string());
        if base.len() < MIN_ENCODED_LEN {
            continue;
        }
        for text in [base.to_string(), format!("Bearer {base}")] {
            base64_forms(text.as_bytes(), out);
            percent_forms(&text, out);
        }
        base64_runs(base.as_bytes(), out);
    }
}

/// The aligned base64 of `bytes` in both alphabets, padded and not.
fn base64_forms(bytes: &[u8], out: &mut Vec<String>) {
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        out.push(engine.encode(bytes));
    }
}

/// The characters that `bytes` alone decide when they sit at each offset (mod 3) of a longer
/// base64 blob: with `shift` bytes before them, characters `ceil(8·shift/6)` up to
/// `floor(8·(shift+n)/6)` of the encoding hold only their bits.
fn base64_runs(bytes: &[u8], out: &mut Vec<String>) {
    for shift in 0..3usize {
        let mut shifted = vec![0u8; shift];
        shifted.extend_from_slice(bytes);
        let encoded = STANDARD_NO_PAD.encode(&shifted);
        let start = (8 * shift).div_ceil(6);
        let end = (8 * (shift + bytes.len()) / 6).min(encoded.len());
        if end <= start || end - start < MIN_ENCODED_LEN {
            continue;
        }
        let run = &encoded[start..end];
        out.push(run.to_string());
        out.push(run.replace('+', "-").replace('/', "_"));
    }
}

/// `text` percent-encoded with upper- and lower-case hex, and form-encoded (space as `+`).
fn percent_forms(text: &str, out: &mut Vec<String>) {
    let upper = utf8_percent_encode(text, NOT_UNRESERVED).to_string();
    if upper == text {
        return;
    }
    out.push(lower_hex(&upper));
    out.push(upper.replace("%20", "+"));
    out.push(upper);
}

/// `%2F` → `%2f`: the hex digits after each `%` in lower case, nothing else touched.
fn lower_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut hex_left = 0;
    for c in encoded.chars() {
        if c == '%' {
            hex_left = 2;
            out.push(c);
        } else if hex_left > 0 {
            hex_left -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ak_live_Zx9+/q=w";

    fn redactor(secrets: &[&str]) -> Redactor {
        Redactor::new(secrets.iter().map(|s| SecretString::from(s.to_string())))
    }

    #[test]
    fn replaces_every_occurrence_longest_first() {
        let r = redactor(&["ak_short", "ak_short_and_longer", ""]);
        assert_eq!(
            r.redact("a ak_short_and_longer b ak_short c"),
            "a [REDACTED] b [REDACTED] c"
        );
        assert!(matches!(r.redact("clean"), std::borrow::Cow::Borrowed(_)));
    }

    /// The one-pass check only says whether to look: with it and without it, every text comes
    /// out the same, found or not.
    #[test]
    fn the_one_pass_check_changes_no_answer() {
        let r = redactor(&[
            KEY,
            "  ak_padded_key\t",
            "prod",
            "ak_short",
            "ak_short_and_longer",
        ]);
        assert!(r.any.is_some());
        let asked_in_turn = Redactor {
            any: None,
            ..r.clone()
        };
        let b64 = STANDARD.encode(format!("Bearer {KEY}"));
        for text in [
            "clean".to_string(),
            String::new(),
            format!("a {KEY} b"),
            format!("<{b64}>"),
            "ak_live_Zx9%2b%2fq%3dw".to_string(),
            "ak_short_and_longer ak_short prod".to_string(),
            "ak_live_Zx9+/q=".to_string(),
            "é ak_padded_key ü".to_string(),
        ] {
            assert_eq!(r.redact(&text), asked_in_turn.redact(&text), "{text:?}");
        }
    }

    proptest::proptest! {
        /// [`Redactor::would_redact`] says what `redact` answers, with the automaton and
        /// without: for texts of a key's pieces, its forms, a `…` after a part of it, and
        /// other characters whose last byte is the `…`'s (`¦`, `榦`).
        #[test]
        fn would_redact_is_what_redact_does(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("a "),
                    proptest::strategy::Just("…"),
                    proptest::strategy::Just("¦"),
                    proptest::strategy::Just("榦"),
                    proptest::strategy::Just("\u{80}"),
                    proptest::strategy::Just(KEY),
                    proptest::strategy::Just("ak_live_Zx9"),
                    proptest::strategy::Just("ak_l"),
                    proptest::strategy::Just("ak_live_Zx9%2b%2fq%3dw"),
                    proptest::strategy::Just("prod"),
                ],
                0..6,
            ),
        ) {
            let text = pieces.concat();
            let r = redactor(&[KEY, "prod"]);
            let asked_in_turn = Redactor {
                any: None,
                ..r.clone()
            };
            for r in [&r, &asked_in_turn, &Redactor::default()] {
                let redacted = matches!(r.redact(&text), std::borrow::Cow::Owned(_));
                proptest::prop_assert_eq!(r.would_redact(&text), redacted, "{:?}", text);
            }
        }
    }

    /// Many keys are one automaton: each is still found, and a clean text still costs no copy.
    #[test]
    fn every_one_of_many_keys_is_redacted() {
        let keys: Vec<String> = (0..200)
            .map(|i| format!("ak_live_{i:06}_zZ9qW3eR5tY7uI"))
            .collect();
        let r = Redactor::new(keys.iter().map(|k| SecretString::from(k.clone())));
        assert!(r.any.is_some());
        for key in [&keys[0], &keys[99], &keys[199]] {
            assert_eq!(r.redact(&format!("x {key} y")), "x [REDACTED] y");
        }
        assert!(matches!(r.redact("clean"), std::borrow::Cow::Borrowed(_)));
    }

    /// A quoted body is cut at a few hundred characters before it is redacted: a key that
    /// straddles the cut is replaced as far as it goes, and a text cut elsewhere is kept.
    #[test]
    fn a_secret_cut_short_by_a_truncation_is_redacted() {
        let r = redactor(&[KEY, "ak_other_key_123"]);
        for kept in 4..KEY.len() {
            let text = format!("`xx {}…` (s.yaml:1:1)", &KEY[..kept]);
            assert_eq!(r.redact(&text), "`xx [REDACTED]…` (s.yaml:1:1)", "{text}");
        }
        assert_eq!(r.redact("ak_…"), "ak_…");
        assert_eq!(r.redact("more to say…"), "more to say…");
        assert_eq!(
            r.redact(&format!("{KEY} and ak_other_k… then ak_l…")),
            "[REDACTED] and [REDACTED]… then [REDACTED]…"
        );
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let r = redactor(&["ak_visible"]);
        assert!(!format!("{r:?}").contains("ak_visible"));
    }

    #[test]
    fn a_key_with_whitespace_is_redacted_as_sent() {
        let r = redactor(&["  ak_padded_key\t"]);
        assert_eq!(r.redact("key=ak_padded_key."), "key=[REDACTED].");
    }

    #[test]
    fn base64_of_the_key_and_of_its_header_in_both_alphabets() {
        let r = redactor(&[KEY]);
        for text in [KEY.to_string(), format!("Bearer {KEY}")] {
            for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
                let encoded = engine.encode(&text);
                assert_eq!(
                    r.redact(&format!("<{encoded}>")),
                    "<[REDACTED]>",
                    "{encoded}"
                );
            }
        }
    }

    #[test]
    fn base64_of_the_key_inside_a_longer_blob_at_any_offset() {
        let r = redactor(&[KEY]);
        for prefix in ["", "x", "xy", "{\"authorization\":\"Bearer "] {
            let blob = STANDARD.encode(format!("{prefix}{KEY}\",\"more\":1}}"));
            let out = r.redact(&blob);
            assert!(out.contains(REDACTED), "{prefix:?}: {out}");
            // All of the key's characters went: at most the two it shares with its neighbours
            // stay beside the marker.
            let removed = blob.len() - out.replace(REDACTED, "").len();
            assert!(removed >= 4 * KEY.len() / 3 - 2, "{prefix:?}: {out}");
        }
    }

    #[test]
    fn percent_encodings_upper_lower_and_form() {
        let r = redactor(&[KEY]);
        for encoded in [
            "ak_live_Zx9%2B%2Fq%3Dw",
            "ak_live_Zx9%2b%2fq%3dw",
            "Bearer%20ak_live_Zx9%2B%2Fq%3Dw",
            "Bearer+ak_live_Zx9%2B%2Fq%3Dw",
        ] {
            assert_eq!(
                r.redact(&format!("?q={encoded}&")),
                "?q=[REDACTED]&",
                "{encoded}"
            );
        }
    }

    #[test]
    fn a_short_secret_gets_no_encodings() {
        // "prod" in base64 is "cHJvZA": too short a pattern to take out of unrelated base64.
        let r = redactor(&["prod"]);
        assert_eq!(r.redact("cHJvZA== prod"), "cHJvZA== [REDACTED]");
    }

    #[test]
    fn keys_shorter_than_the_minimum_are_not_keys() {
        assert_eq!(
            not_a_key("x").as_deref(),
            Some("`api_key` is 1 character long, too short to be a key (at least 4)")
        );
        assert!(not_a_key("  ak_  ").is_some());
        assert_eq!(not_a_key("EMPTY"), None);
        assert_eq!(not_a_key("ak_test_123"), None);
    }
}
