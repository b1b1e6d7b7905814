//! Mock scripts: the YAML a user writes to describe the mock's keys and agents, read through the
//! crate's one YAML entry point and checked into a compiled [`Script`] (regexes compiled,
//! durations and rates parsed, templates split) before a single socket is bound.
//!
//! Everything that can be wrong with a script is found here and reported as a [`Diagnostic`]
//! at `file:line:column`, all at once; the server never meets an unchecked value. This module
//! does no I/O besides reading the script file in [`Script::load`].

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::replay::Goldens;
use crate::diag::{Diagnostic, SourceFile, Span};

/// Said by an agent whose script gives no `fallback`.
pub const DEFAULT_FALLBACK: &str = "I'm not sure I can help with that.";
/// The `model` a `metadata`-shaped agent reports when the script names none.
pub const DEFAULT_MODEL: &str = "mock-1";
/// The built-in demo script, kept as YAML so it goes through the same loader and checks as a
/// user's script.
const DEMO_YAML: &str = include_str!("demo.yaml");
/// How long a `trickle` fault waits between two bytes when the script does not say.
pub const DEFAULT_TRICKLE_INTERVAL: Duration = Duration::from_millis(100);

// ---------------------------------------------------------------------------------------------
// What the user writes.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScript {
    #[serde(default)]
    keys: Option<Vec<Spanned<String>>>,
    agents: Spanned<BTreeMap<String, Spanned<RawAgent>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    #[serde(default)]
    shape: Shape,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    latency: Option<Spanned<String>>,
    #[serde(default)]
    rate_limit: Option<Spanned<String>>,
    #[serde(default)]
    balance_tokens: Option<u64>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    fail_rate: Option<Spanned<f64>>,
    #[serde(default)]
    fault: Option<Fault>,
    #[serde(default)]
    trickle_interval: Option<Spanned<String>>,
    #[serde(default)]
    chunk_delay: Option<Spanned<String>>,
    #[serde(default)]
    first_chunk_delay: Option<Spanned<String>>,
    #[serde(default)]
    rate_limit_header: RetryHeader,
    #[serde(default)]
    rules: Vec<Spanned<RawRule>>,
    #[serde(default)]
    fallback: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    when: Option<Spanned<String>>,
    #[serde(default)]
    after: Option<Spanned<String>>,
    #[serde(default)]
    reply: Option<Spanned<String>>,
    #[serde(default)]
    replies: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    status: Option<Spanned<u16>>,
    #[serde(default)]
    detail: Option<Spanned<String>>,
    #[serde(default)]
    fault: Option<Fault>,
    #[serde(default)]
    latency: Option<Spanned<String>>,
    #[serde(default)]
    trickle_interval: Option<Spanned<String>>,
    #[serde(default)]
    chunk_delay: Option<Spanned<String>>,
    #[serde(default)]
    first_chunk_delay: Option<Spanned<String>>,
}

// ---------------------------------------------------------------------------------------------
// What the server runs.

/// Which of the three documented 200 bodies an agent sends (SPEC §2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Shape {
    /// `{"response", "session_id", "usage": {input_tokens, output_tokens, total_tokens}}`
    #[default]
    Usage,
    /// `{"success": true, "response", "session_id", "metadata": {model, latency_ms}}`
    Metadata,
    /// `{"response", "session_id", "tokens_used": total}`
    TokensUsed,
}

/// A deliberate misbehaviour, for testing how clients cope with a broken upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Drop the connection without writing a response.
    Close,
    /// Answer 200 with an HTML body.
    NonJson,
    /// Answer 200 with the agent's JSON shape minus `response`.
    NoResponse,
    /// Send the normal 200 body one byte per `trickle_interval`.
    Trickle,
    /// Never answer (until the server shuts down).
    Hang,
    /// Send part of the body (about half of a JSON body, or the first half of a stream's
    /// pieces), then drop the connection: no end of body, no `[DONE]`.
    Cut,
    /// A body that never ends: the reply's words over and over (streamed: its pieces), until
    /// the client gives up or the server stops.
    Endless,
    /// Send the start of the body (streamed: the role event and the first piece), then nothing,
    /// holding the connection open until the server stops.
    Stall,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Close => "close",
            Fault::NonJson => "non_json",
            Fault::NoResponse => "no_response",
            Fault::Trickle => "trickle",
            Fault::Hang => "hang",
            Fault::Cut => "cut",
            Fault::Endless => "endless",
            Fault::Stall => "stall",
        }
    }
}

/// Which header a 429 of the OpenAI-compatible route carries to say when to retry: each is a
/// header some real gateway sends alone, so a client test can make sure it honours each one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryHeader {
    /// `retry-after: SECONDS` (whole seconds, at least 1).
    #[default]
    RetryAfter,
    /// `retry-after-ms: MILLISECONDS`.
    RetryAfterMs,
    /// `x-ratelimit-reset-requests: 1s` / `6m0s` (OpenAI's duration format).
    ResetRequests,
}

/// The pauses of a streamed answer: before the first piece of text (after the headers and
/// the role event), and between two pieces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pace {
    pub first_chunk_delay: Duration,
    pub chunk_delay: Duration,
}

/// A checked mock script: accepted keys and agents, ready to serve.
#[derive(Debug, Clone)]
pub struct Script {
    /// `None`: any non-empty bearer key is accepted.
    pub(crate) keys: Option<Vec<String>>,
    pub(crate) agents: BTreeMap<String, Agent>,
    /// Set by [`Script::replay`]: golden transcripts answer instead of agents.
    pub(crate) replay: Option<Goldens>,
}

#[derive(Debug, Clone)]
pub(crate) struct Agent {
    pub shape: Shape,
    pub model: String,
    pub latency: Duration,
    pub rate_limit: Option<RateLimit>,
    pub balance_tokens: Option<u64>,
    pub seed: u64,
    pub fail_rate: f64,
    pub fault: Option<Fault>,
    pub trickle_interval: Duration,
    pub pace: Pace,
    pub rate_limit_header: RetryHeader,
    pub rules: Vec<Rule>,
    /// The distinct `after` patterns of the rules; a session remembers, per pattern, whether
    /// one of its messages matched it, so `after` costs one bit per session.
    pub afters: Vec<Regex>,
    pub fallback: Template,
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub when: Option<Regex>,
    /// Index into [`Agent::afters`].
    pub after: Option<usize>,
    pub status: u16,
    /// Empty: the agent's fallback.
    pub replies: Vec<Template>,
    pub detail: Option<String>,
    pub fault: Option<Fault>,
    pub latency: Option<Duration>,
    pub trickle_interval: Option<Duration>,
    pub chunk_delay: Option<Duration>,
    pub first_chunk_delay: Option<Duration>,
    /// Whether a reply names a `when` group, so only then the slower `captures` runs.
    pub needs_captures: bool,
}

impl Rule {
    pub fn is_error(&self) -> bool {
        !(200..300).contains(&self.status)
    }
}

/// Requests allowed per key in a fixed window that starts at a key's first request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RateLimit {
    pub limit: u32,
    pub window: Duration,
}

/// A reply split once at load time into literal text and placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Lit(String),
    Message,
    Turn,
    /// Capture group N of the rule's `when`.
    Group(usize),
}

impl Template {
    fn literal(text: &str) -> Template {
        Template {
            parts: vec![Part::Lit(text.to_string())],
        }
    }

    /// Splits `{{message}}`, `{{turn}}` and `{{N}}` out of `text`. Anything else between
    /// double braces is an error, since a typo there would otherwise reach the reply verbatim.
    fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut lit = String::new();
        while let Some(open) = rest.find("{{") {
            let Some(close) = rest[open + 2..].find("}}") else {
                break;
            };
            lit.push_str(&rest[..open]);
            let name = rest[open + 2..open + 2 + close].trim();
            let part = match name {
                "message" => Part::Message,
                "turn" => Part::Turn,
                n if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => Part::Group(
                    n.parse()
                        .map_err(|_| format!("`{{{{{n}}}}}` is too large"))?,
                ),
                other => {
                    return Err(format!(
                        "unknown placeholder `{{{{{other}}}}}`: use `{{{{message}}}}`, \
                         `{{{{turn}}}}` or a group of `when` such as `{{{{1}}}}`"
                    ))
                }
            };
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            parts.push(part);
            rest = &rest[open + 2 + close + 2..];
        }
        lit.push_str(rest);
        if !lit.is_empty() || parts.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template { parts })
    }

    fn max_group(&self) -> Option<usize> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Group(n) => Some(*n),
                _ => None,
            })
            .max()
    }

    /// Fills the placeholders. A group that did not take part in the match is empty.
    pub fn render(&self, message: &str, turn: u64, caps: Option<&regex::Captures<'_>>) -> String {
        let mut out = String::with_capacity(64);
        for part in &self.parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Message => out.push_str(message),
                Part::Turn => {
                    use std::fmt::Write;
                    let _ = write!(out, "{turn}");
                }
                Part::Group(n) => {
                    if let Some(m) = caps.and_then(|c| c.get(*n)) {
                        out.push_str(m.as_str());
                    }
                }
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Loading and checking.

impl Script {
    /// Reads and checks the script at `path`. It is read the way suites are: a regular file
    /// within the size cap, and text that is not UTF-8 is refused at its first bad byte's
    /// `line:column`.
    pub fn load(path: &Path) -> Result<Script, Vec<Diagnostic>> {
        let file = crate::suite::load::read_source(path).map_err(|mut d| {
            // Say which kind of file could not be read; the reason stays in the label.
            if d.message.starts_with("failed to read") {
                d.message = format!("failed to read mock script `{}`", path.display());
            }
            vec![d]
        })?;
        Script::parse(&file)
    }

    /// Checks a script already in memory; every problem is reported, not just the first.
    pub fn parse(file: &SourceFile) -> Result<Script, Vec<Diagnostic>> {
        if file.text.trim().is_empty() {
            return Err(vec![Diagnostic::at(
                file,
                Span::new(1, 1),
                "the mock script is empty",
            )
            .with_help("a mock script needs `agents:` with at least one agent")]);
        }
        let raw: RawScript = crate::yaml::parse_all(file)?;
        let mut c = Checker {
            file,
            diags: Vec::new(),
        };
        let script = c.script(raw);
        if c.diags.is_empty() {
            Ok(script)
        } else {
            Err(c.diags)
        }
    }

    /// The built-in demo agents served without `--script` and by `base_url: mock`.
    pub fn demo() -> Script {
        let file = SourceFile::new("<built-in demo script>", DEMO_YAML);
        match Script::parse(&file) {
            Ok(script) => script,
            // The demo is a constant checked by a unit test; failing here is a build defect.
            Err(diags) => panic!(
                "the built-in demo script is invalid:\n{}",
                crate::diag::render_all(&diags, false)
            ),
        }
    }

    /// Serves the golden transcripts under `paths` (files, `*.golden` directories, or
    /// directories searched for them) as an agent: any agent id, any non-empty key.
    pub fn replay(paths: &[std::path::PathBuf]) -> Result<Script, Vec<Diagnostic>> {
        Ok(Script {
            keys: None,
            agents: BTreeMap::new(),
            replay: Some(Goldens::load(paths)?),
        })
    }

    /// Replay of a loaded suite's own goldens (`base_url: replay`): messages are compared after
    /// the suite's `normalize` rules, and each golden answers only its dialogue's agent id.
    pub fn replay_suite(suite: &crate::suite::model::Suite) -> Result<Script, Vec<Diagnostic>> {
        let mut replay = Goldens::load(std::slice::from_ref(&suite.golden_dir))?;
        replay.attach_suite(suite);
        Ok(Script {
            keys: None,
            agents: BTreeMap::new(),
            replay: Some(replay),
        })
    }

    /// Gives the replayed goldens of these suites their suite's `normalize` rules and agent
    /// ids (SPEC §7). A no-op for an ordinary script.
    pub fn attach_suites(&mut self, suites: &[crate::suite::model::Suite]) {
        if let Some(replay) = &mut self.replay {
            for suite in suites {
                replay.attach_suite(suite);
            }
        }
    }
}

struct Checker<'a> {
    file: &'a SourceFile,
    diags: Vec<Diagnostic>,
}

fn span<T>(s: &Spanned<T>) -> Span {
    Span::from(s.referenced)
}

impl Checker<'_> {
    fn error(&mut self, at: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::at(self.file, at, message));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    fn script(&mut self, raw: RawScript) -> Script {
        let keys = raw.keys.and_then(|keys| {
            let mut out = Vec::new();
            for k in keys {
                if k.value.trim().is_empty() || k.value.chars().any(char::is_whitespace) {
                    self.error(span(&k), "an api key must be non-empty and without spaces");
                } else {
                    out.push(k.value);
                }
            }
            // An empty list means "none listed": any key, as documented.
            (!out.is_empty()).then_some(out)
        });
        if raw.agents.value.is_empty() {
            self.error(span(&raw.agents), "the mock script has no agents")
                .help = Some("add one under `agents:`, e.g. `ag_support: {rules: []}`".into());
        }
        let mut agents = BTreeMap::new();
        for (id, agent) in raw.agents.value {
            let at = span(&agent);
            if id.is_empty() || id.contains('/') || id.chars().any(char::is_whitespace) {
                self.error(at, format!("invalid agent id `{id}`")).label =
                    Some("an agent id is one URL path segment: no `/` or spaces".into());
            }
            let agent = self.agent(agent.value);
            agents.insert(id, agent);
        }
        Script {
            keys,
            agents,
            replay: None,
        }
    }

    fn agent(&mut self, raw: RawAgent) -> Agent {
        let latency = self.duration(raw.latency.as_ref()).unwrap_or_default();
        let trickle_interval = self
            .duration(raw.trickle_interval.as_ref())
            .unwrap_or(DEFAULT_TRICKLE_INTERVAL);
        let pace = Pace {
            first_chunk_delay: self
                .duration(raw.first_chunk_delay.as_ref())
                .unwrap_or_default(),
            chunk_delay: self.duration(raw.chunk_delay.as_ref()).unwrap_or_default(),
        };
        let rate_limit = raw
            .rate_limit
            .as_ref()
            .and_then(|r| match rate_limit(&r.value) {
                Ok(rl) => Some(rl),
                Err(msg) => {
                    self.error(span(r), "invalid `rate_limit`").label = Some(msg);
                    None
                }
            });
        let fail_rate = match &raw.fail_rate {
            Some(f) if !(0.0..=1.0).contains(&f.value) => {
                self.error(span(f), "`fail_rate` must be between 0 and 1")
                    .label = Some(format!("found {}", f.value));
                0.0
            }
            Some(f) => f.value,
            None => 0.0,
        };
        let fallback = match &raw.fallback {
            Some(f) => self.template(f, 0),
            None => Template::literal(DEFAULT_FALLBACK),
        };
        let mut afters: Vec<(String, Regex)> = Vec::new();
        let mut rules = Vec::new();
        for rule in raw.rules {
            if let Some(r) = self.rule(rule, &mut afters) {
                rules.push(r);
            }
        }
        Agent {
            shape: raw.shape,
            model: raw.model.unwrap_or_else(|| DEFAULT_MODEL.to_string()),
            latency,
            rate_limit,
            balance_tokens: raw.balance_tokens,
            seed: raw.seed.unwrap_or(0),
            fail_rate,
            fault: raw.fault,
            trickle_interval,
            pace,
            rate_limit_header: raw.rate_limit_header,
            rules,
            afters: afters.into_iter().map(|(_, re)| re).collect(),
            fallback,
        }
    }

    fn rule(&mut self, raw: Spanned<RawRule>, afters: &mut Vec<(String, Regex)>) -> Option<Rule> {
        let at = span(&raw);
        let raw = raw.value;
        let when = raw.when.as_ref().and_then(|w| self.regex("when", w));
        let after = raw.after.as_ref().and_then(|a| {
            if let Some(i) = afters.iter().position(|(src, _)| *src == a.value) {
                return Some(i);
            }
            let re = self.regex("after", a)?;
            afters.push((a.value.clone(), re));
            Some(afters.len() - 1)
        });
        let groups = when.as_ref().map_or(1, Regex::captures_len);
        let status = match &raw.status {
            Some(s) if !(100..=599).contains(&s.value) => {
                self.error(
                    span(s),
                    "`status` must be an HTTP status between 100 and 599",
                );
                500
            }
            Some(s) => s.value,
            None => 200,
        };
        let is_error = !(200..300).contains(&status);
        let mut replies = Vec::new();
        match (&raw.reply, &raw.replies) {
            (Some(_), Some(list)) => {
                self.error(span(list), "a rule takes `reply` or `replies`, not both");
            }
            (Some(r), None) => replies.push((span(r), self.template(r, groups))),
            (None, Some(list)) => {
                if list.value.is_empty() {
                    self.error(span(list), "`replies` is empty").help =
                        Some("list at least one reply, or use `reply`".into());
                }
                for r in &list.value {
                    replies.push((span(r), self.template(r, groups)));
                }
            }
            (None, None) => {}
        }
        if is_error && !replies.is_empty() {
            let (first, _) = replies[0];
            self.error(
                first,
                format!("a rule with `status: {status}` answers with `detail`, not a reply"),
            )
            .help = Some("write the error text as `detail:`".into());
        }
        if let Some(d) = &raw.detail {
            if !is_error {
                self.error(span(d), "`detail` needs a non-2xx `status`")
                    .help = Some("a 2xx answer is a `reply`".into());
            }
        }
        // A rule with both `reply` and `replies` said what it answers (its error is above).
        let says = raw.reply.is_some() || raw.replies.is_some();
        if replies.is_empty() && !says && raw.status.is_none() && raw.fault.is_none() {
            self.error(at, "this rule answers nothing").help =
                Some("give it `reply`, `replies`, `status` or `fault`".into());
        }
        let latency = self.duration(raw.latency.as_ref());
        let trickle_interval = self.duration(raw.trickle_interval.as_ref());
        let chunk_delay = self.duration(raw.chunk_delay.as_ref());
        let first_chunk_delay = self.duration(raw.first_chunk_delay.as_ref());
        let replies: Vec<Template> = replies.into_iter().map(|(_, t)| t).collect();
        let needs_captures = replies.iter().any(|t| t.max_group().is_some());
        Some(Rule {
            when,
            after,
            status,
            replies,
            detail: raw.detail.map(|d| d.value),
            fault: raw.fault,
            latency,
            trickle_interval,
            chunk_delay,
            first_chunk_delay,
            needs_captures,
        })
    }

    fn regex(&mut self, field: &str, src: &Spanned<String>) -> Option<Regex> {
        match Regex::new(&src.value) {
            Ok(re) => Some(re),
            Err(e) => {
                self.error(span(src), format!("invalid regex in `{field}`"))
                    .label = Some(regex_error_summary(&e));
                None
            }
        }
    }

    fn duration(&mut self, src: Option<&Spanned<String>>) -> Option<Duration> {
        let src = src?;
        match crate::util::parse_duration(&src.value) {
            Ok(d) => Some(d),
            Err(msg) => {
                self.error(span(src), "invalid duration").label = Some(msg);
                None
            }
        }
    }

    /// `groups` is `when`'s capture count including group 0; 0 skips the group check (the
    /// fallback has no `when`).
    fn template(&mut self, src: &Spanned<String>, groups: usize) -> Template {
        match Template::parse(&src.value) {
            Ok(t) => {
                if let Some(max) = t.max_group() {
                    if max >= groups.max(1) {
                        self.error(
                            span(src),
                            format!("`{{{{{max}}}}}` names a group `when` lacks"),
                        )
                        .label = Some(format!(
                            "`when` has {} capture group{}",
                            groups.saturating_sub(1),
                            if groups == 2 { "" } else { "s" }
                        ));
                    }
                }
                t
            }
            Err(msg) => {
                self.error(span(src), "invalid reply template").label = Some(msg);
                Template::literal(&src.value)
            }
        }
    }
}

/// The last line of a regex syntax error ("error: unclosed group"), which says what is wrong
/// without repeating the pattern the diagnostic already quotes.
fn regex_error_summary(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .unwrap_or(text.lines().last().unwrap_or("invalid regex"))
        .trim()
        .to_string()
}

/// `10/s` → 10 per 1 s window; `60/m` → 60 per 60 s; `0.5/s` → 1 per 2 s. A fixed window per
/// key is what `X-RateLimit-Reset` can describe exactly.
fn rate_limit(text: &str) -> Result<RateLimit, String> {
    let per_second = crate::util::parse_rate(text)?;
    let unit_secs = match text.split_once('/').map(|(_, u)| u.trim()) {
        Some("m" | "min") => 60.0,
        Some("h") => 3600.0,
        _ => 1.0,
    };
    let n = per_second * unit_secs;
    let (limit, window) = if n >= 1.0 {
        (n.floor().min(f64::from(u32::MAX)) as u32, unit_secs)
    } else {
        (1, unit_secs / n)
    };
    Ok(RateLimit {
        limit,
        window: Duration::from_secs_f64(window),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Script, Vec<Diagnostic>> {
        Script::parse(&SourceFile::new("m.yaml", text))
    }

    fn errors(text: &str) -> Vec<(Span, String)> {
        parse(text)
            .unwrap_err()
            .into_iter()
            .map(|d| (d.span, d.message))
            .collect()
    }

    #[test]
    fn demo_loads() {
        let s = Script::demo();
        for id in ["demo", "ag_support", "ag_sales", "ag_legacy", "judge-mock"] {
            assert!(s.agents.contains_key(id), "{id}");
        }
        assert_eq!(s.agents["ag_sales"].shape, Shape::Metadata);
        assert_eq!(s.agents["ag_legacy"].shape, Shape::TokensUsed);
        assert!(s
            .keys
            .as_ref()
            .is_some_and(|k| k.iter().any(|k| k == "ak_demo_key")));
    }

    #[test]
    fn spec_example_loads() {
        let s = parse(
            "keys: [ak_test_123]\nagents:\n  ag_support:\n    shape: usage\n    latency: 50ms\n    rate_limit: 10/s\n    balance_tokens: 100000\n    rules:\n      - when: '(?i)business hours'\n        reply: Our hours.\n      - when: '(?i)how much'\n        after: '(?i)products'\n        reply: $99\n      - when: boom\n        status: 500\n    fallback: I'm not sure.\n",
        )
        .unwrap();
        let a = &s.agents["ag_support"];
        assert_eq!(a.latency, Duration::from_millis(50));
        assert_eq!(
            a.rate_limit,
            Some(RateLimit {
                limit: 10,
                window: Duration::from_secs(1)
            })
        );
        assert_eq!(a.rules.len(), 3);
        assert_eq!(a.rules[1].after, Some(0));
        assert!(a.rules[2].is_error());
    }

    #[test]
    fn bad_regex_points_at_the_value() {
        let e = errors("agents:\n  a:\n    rules:\n      - when: '(unclosed'\n        reply: x\n");
        assert_eq!(
            e,
            vec![(Span::new(4, 15), "invalid regex in `when`".into())]
        );
    }

    #[test]
    fn all_errors_at_once() {
        let e = errors(
            "agents:\n  a:\n    latency: fast\n    rate_limit: 5\n    rules:\n      - after: '['\n        reply: '{{nope}}'\n",
        );
        let lines: Vec<u32> = e.iter().map(|(s, _)| s.line).collect();
        assert_eq!(lines, vec![3, 4, 6, 7], "{e:?}");
    }

    #[test]
    fn group_beyond_when_is_refused() {
        let e = errors("agents:\n  a:\n    rules:\n      - when: 'x(y)'\n        reply: '{{2}}'\n");
        assert_eq!(e[0].0, Span::new(5, 16));
        assert!(e[0].1.contains("{{2}}"), "{e:?}");
    }

    #[test]
    fn rule_must_answer() {
        let e = errors("agents:\n  a:\n    rules:\n      - when: x\n");
        assert_eq!(e[0].1, "this rule answers nothing");
        // Both `reply` and `replies` is one mistake, said once: it does answer.
        let e = errors("agents:\n  a:\n    rules:\n      - reply: x\n        replies: [y]\n");
        let said: Vec<&str> = e.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(said, ["a rule takes `reply` or `replies`, not both"]);
    }

    #[test]
    fn templates() {
        let t = Template::parse("turn {{turn}}: {{ message }}!{{1}}").unwrap();
        assert_eq!(t.render("hi", 3, None), "turn 3: hi!");
        assert!(Template::parse("{{foo}}").is_err());
        assert_eq!(
            Template::parse("a {{ b").unwrap().render("", 1, None),
            "a {{ b"
        );
    }

    #[test]
    fn rates() {
        assert_eq!(
            rate_limit("60/m").unwrap(),
            RateLimit {
                limit: 60,
                window: Duration::from_secs(60)
            }
        );
        assert_eq!(
            rate_limit("0.5/s").unwrap(),
            RateLimit {
                limit: 1,
                window: Duration::from_secs(2)
            }
        );
    }
}
