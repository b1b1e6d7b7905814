//! What an agent says, whatever the route it is asked through: the rule a message picks, the
//! reply rendered from its template, the refusals every route makes before the rules (a spent
//! balance, a `fail_rate` draw), and the timing a rule asks for.
//!
//! The three routes (the agent API, chat completions, the generic JSON API) present a message
//! and its conversation differently; they all reduce it to a [`Turn`] and hand it here, so the
//! rules mean the same on every route. This module never builds an HTTP response and never
//! touches a socket or a clock.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::draw::{fnv1a, unit_draw};
use super::script::{Agent, Fault, Pace, Rule};
use super::state::{bit, AgentState};

/// Tokens are counted as whitespace-separated words. Deterministic, so budgets and
/// `max_tokens` tests are exact; each route documents which text it counts as the input.
pub fn count_tokens(text: &str) -> u64 {
    if !text.is_ascii() {
        return text.split_whitespace().count() as u64;
    }
    // The same count eight bytes at a time: `split_whitespace` decodes and classifies every
    // char, and a byte loop still cost several instructions a byte, which had been a
    // twentieth of what the mock spent on a completion (it counts the whole history).
    WordStarts::of(text.as_bytes()).count()
}

/// Each byte's high bit.
const HIGH: u64 = 0x8080_8080_8080_8080;
/// Each byte's low seven bits.
const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const fn splat(b: u8) -> u64 {
    u64::from_le_bytes([b; 8])
}

/// The high bit of each byte of `w` (all ASCII) that is white space as `char::is_whitespace`
/// says on ASCII: tab to carriage return, vertical tab included, and space.
fn spaces(w: u64) -> u64 {
    // Each byte plus (0x80 - n) carries into its high bit exactly when it is n or more (an
    // ASCII byte never carries out of its byte), so no byte sees another's result.
    let at_least = |n: u8| w.wrapping_add(splat(0x80 - n)) & HIGH;
    let controls = at_least(0x09) & !at_least(0x0e);
    // A byte is zero exactly when nothing of it is set: its low bits plus 0x7f reach its
    // high bit unless they are all clear.
    let x = w ^ splat(b' ');
    let blank = !(((x & LOW).wrapping_add(LOW)) | x) & HIGH;
    controls | blank
}

/// Where the words of an ASCII text start, as `split_whitespace` splits it: for each eight
/// bytes in turn, the high bit of each byte that starts a word. Meaningless on other text.
struct WordStarts<'a> {
    text: &'a [u8],
    /// Where the next eight bytes start.
    at: usize,
    /// The high bit of the byte before `at`: set when it was white space (as before the
    /// text's first byte).
    before: u64,
}

impl<'a> WordStarts<'a> {
    fn of(text: &'a [u8]) -> WordStarts<'a> {
        WordStarts {
            text,
            at: 0,
            before: 0x80,
        }
    }

    /// The number of words of the (ASCII) text: each mask's high bits shifted down to ones,
    /// summed by a multiplication (a population count is a dozen instructions on the
    /// baseline x86-64 this is built for).
    fn count(self) -> u64 {
        self.map(|starts| ((starts >> 7).wrapping_mul(splat(1))) >> 56)
            .sum()
    }

    /// The eight bytes at `at`, those past the end read as spaces (which start no word).
    fn eight(&self) -> u64 {
        let (text, at) = (self.text, self.at);
        let load = |i: usize| {
            text.get(i..i + 8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes)
        };
        if let Some(w) = load(at) {
            return w;
        }
        let n = text.len() - at;
        if let Some(w) = text.len().checked_sub(8).and_then(load) {
            // The text's last eight bytes, moved down past those already read.
            return (w >> (8 * (8 - n))) | (splat(b' ') << (8 * n));
        }
        let mut w = splat(b' ');
        for (i, &b) in text[at..].iter().enumerate() {
            w = (w & !(0xff << (8 * i))) | (u64::from(b) << (8 * i));
        }
        w
    }
}

impl Iterator for WordStarts<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        if self.at >= self.text.len() {
            return None;
        }
        let space = spaces(self.eight());
        self.at += 8;
        // A word starts at each byte that is not white space after one that is.
        let after_space = (space << 8) | self.before;
        self.before = space >> 56;
        Some(!space & after_space & HIGH)
    }
}

/// Bit i set when `message` matches the agent's `after` pattern i.
pub(crate) fn after_bits(def: &Agent, message: &str) -> Vec<u64> {
    let mut bits = vec![0u64; def.afters.len().div_ceil(64)];
    for (i, re) in def.afters.iter().enumerate() {
        if re.is_match(message) {
            bits[i / 64] |= 1 << (i % 64);
        }
    }
    bits
}

/// The `after` patterns earned by `earlier` messages: what a stateless route (its history in
/// the request) knows instead of a session.
pub(crate) fn earned_by<'m>(def: &Agent, earlier: impl IntoIterator<Item = &'m str>) -> Vec<u64> {
    let mut earned = vec![0u64; def.afters.len().div_ceil(64)];
    for message in earlier {
        for (w, m) in earned.iter_mut().zip(after_bits(def, message)) {
            *w |= m;
        }
    }
    earned
}

/// One message as the rules see it.
pub(crate) struct Turn<'m> {
    pub message: &'m str,
    /// 1 for the conversation's first message.
    pub turn: u64,
    /// The `after` patterns earlier messages of the conversation matched.
    pub earned: Vec<u64>,
    /// Hash of the conversation's first message, and which conversation with that opening it
    /// is (0 for the first): what seeded paraphrases are drawn from.
    pub opening: u64,
    pub ordinal: u64,
}

/// The rules' view of a stateless conversation: the last user message, the earlier ones for
/// `after`, and the opening for seeded paraphrases.
pub(crate) fn stateless_turn<'m>(agent: &AgentState, users: &'m [String]) -> Turn<'m> {
    let (message, earlier) = users
        .split_last()
        .map_or(("", &[][..]), |(m, e)| (m.as_str(), e));
    let opening = fnv1a(users.first().map_or("", String::as_str).as_bytes());
    Turn {
        message,
        turn: users.len() as u64,
        earned: earned_by(&agent.def, earlier.iter().map(String::as_str)),
        opening,
        ordinal: agent.ordinal(opening, users.len() == 1),
    }
}

/// What the agent will do with a message: the rule that matched and the fault and timing it
/// asks for (a rule's own settings win over the agent's).
pub(crate) struct Plan<'a> {
    pub rule: Option<(usize, &'a Rule)>,
    pub fault: Option<Fault>,
    pub latency: Duration,
    pub trickle_interval: Duration,
    pub pace: Pace,
}

impl Plan<'_> {
    /// The reply's text as the answer carries it: none under `no_response`, whose answer is a
    /// 200 without the text on every route (and whose tokens are not counted).
    pub(crate) fn shown<'t>(&self, text: &'t str) -> Option<&'t str> {
        (self.fault != Some(Fault::NoResponse)).then_some(text)
    }
}

/// Picks the first rule whose `after` is earned and whose `when` matches.
pub(crate) fn plan<'a>(def: &'a Agent, turn: &Turn<'_>) -> Plan<'a> {
    let rule = def.rules.iter().enumerate().find(|(_, r)| {
        r.after.is_none_or(|i| bit(&turn.earned, i))
            && r.when.as_ref().is_none_or(|w| w.is_match(turn.message))
    });
    let r = rule.map(|(_, r)| r);
    Plan {
        rule,
        fault: r.and_then(|r| r.fault).or(def.fault),
        latency: r.and_then(|r| r.latency).unwrap_or(def.latency),
        trickle_interval: r
            .and_then(|r| r.trickle_interval)
            .unwrap_or(def.trickle_interval),
        pace: Pace {
            first_chunk_delay: r
                .and_then(|r| r.first_chunk_delay)
                .unwrap_or(def.pace.first_chunk_delay),
            chunk_delay: r
                .and_then(|r| r.chunk_delay)
                .unwrap_or(def.pace.chunk_delay),
        },
    }
}

/// The agent's answer: a reply with its (2xx) status, or an error status with its detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Said {
    Reply { status: u16, text: String },
    Error { status: u16, detail: String },
}

pub(crate) fn say(def: &Agent, plan: &Plan<'_>, turn: &Turn<'_>) -> Said {
    match plan.rule {
        Some((_, r)) if r.is_error() => Said::Error {
            status: r.status,
            detail: r
                .detail
                .clone()
                .unwrap_or_else(|| default_detail(r.status).to_string()),
        },
        rule => Said::Reply {
            status: rule.map_or(200, |(_, r)| r.status),
            text: render_reply(def, rule, turn),
        },
    }
}

fn render_reply(def: &Agent, rule: Option<(usize, &Rule)>, turn: &Turn<'_>) -> String {
    let Some((index, rule)) = rule else {
        return def.fallback.render(turn.message, turn.turn, None);
    };
    let template = match rule.replies.len() {
        0 => return def.fallback.render(turn.message, turn.turn, None),
        1 => &rule.replies[0],
        n => {
            // A paraphrase is a pure function of (seed, the conversation's opening message,
            // which conversation with that opening it is, turn, rule). Not of the session id:
            // clients make random ids, and a seeded test must see the same paraphrases on
            // every run. Repeats of one dialogue run one after another, so their numbering is
            // stable whatever else runs concurrently.
            let draw = unit_draw(
                def.seed,
                &[
                    &turn.opening.to_le_bytes(),
                    &turn.ordinal.to_le_bytes(),
                    &turn.turn.to_le_bytes(),
                    &(index as u64).to_le_bytes(),
                ],
            );
            &rule.replies[((draw * n as f64) as usize).min(n - 1)]
        }
    };
    let caps = if rule.needs_captures {
        rule.when.as_ref().and_then(|w| w.captures(turn.message))
    } else {
        None
    };
    template.render(turn.message, turn.turn, caps.as_ref())
}

/// The usual phrase of an error status, for a rule that gives no `detail`.
pub(crate) fn default_detail(status: u16) -> &'static str {
    match status {
        400 => "Bad request",
        401 => "Invalid API key",
        402 => "Insufficient balance",
        403 => "Forbidden",
        404 => "Not found",
        422 => "Invalid request body",
        429 => "Rate limit exceeded",
        500 => "Agent execution error",
        502 => "Bad gateway",
        503 => "Service unavailable",
        504 => "Gateway timeout",
        _ => "Error",
    }
}

/// Why an agent refuses a valid request before its rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its `balance_tokens` is spent: 402.
    Balance,
    /// Its `fail_rate` drew a failure: 500.
    Injected,
}

impl Refusal {
    pub fn status(self) -> u16 {
        match self {
            Refusal::Balance => 402,
            Refusal::Injected => 500,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Refusal::Balance => "Insufficient balance: this agent's token balance is spent",
            Refusal::Injected => "Agent execution error (injected by the mock's fail_rate)",
        }
    }
}

/// The checks after the body is known to be valid: balance, then the `fail_rate` draw (which
/// numbers the request, so it runs only for requests that got this far).
pub(crate) fn admit(agent: &AgentState) -> Result<(), Refusal> {
    if agent.balance_spent() {
        return Err(Refusal::Balance);
    }
    if agent.def.fail_rate > 0.0 {
        let n = agent.seq.fetch_add(1, Ordering::Relaxed);
        if unit_draw(agent.def.seed, &[&n.to_le_bytes()]) < agent.def.fail_rate {
            return Err(Refusal::Injected);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_words() {
        assert_eq!(count_tokens("  What are  your hours? "), 4);
        assert_eq!(count_tokens(""), 0);
    }

    /// The eight-byte count is split_whitespace's on any text: ASCII of every byte, at every
    /// place in a word of eight, and texts with other characters (which take the slow road).
    #[test]
    fn the_word_count_is_split_whitespace_on_any_text() {
        use proptest::prelude::*;
        let ascii = proptest::collection::vec(0u8..128, 0..40)
            .prop_map(|b| String::from_utf8(b).unwrap_or_default());
        let mixed = proptest::collection::vec(
            proptest::sample::select(vec![
                "a", " ", "\t", "\u{b}", "\u{1c}", "é", "\u{a0}", "\u{85}", "\u{3000}", "x y",
            ]),
            0..24,
        )
        .prop_map(|p| p.concat());
        proptest!(ProptestConfig::with_cases(20_000), |(text in prop_oneof![ascii, mixed])| {
            prop_assert_eq!(count_tokens(&text), text.split_whitespace().count() as u64, "{:?}", text);
        });
    }

    #[test]
    fn the_byte_count_is_split_whitespace() {
        let ascii: Vec<char> = (0u8..128).map(char::from).collect();
        // Every ASCII byte at each place of a short text, and texts with Unicode spaces.
        for c in &ascii {
            for text in [
                format!("{c}"),
                format!("a{c}b"),
                format!("{c}{c}x y{c}"),
                format!("one\u{a0}two{c}"),
                format!("x\u{2003}{c}y"),
            ] {
                let words = text.split_whitespace().count() as u64;
                assert_eq!(count_tokens(&text), words, "{text:?}");
            }
        }
    }
}
