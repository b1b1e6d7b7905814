//! The loaded, checked suite: plain types with a source span on every dialogue, turn and
//! expectation, so a verdict can point at `suite.yaml:line:column`. Nothing here parses YAML
//! or does I/O; `suite::load` builds these from files, and tests build them directly.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use secrecy::{ExposeSecret, SecretString};

use crate::diag::Span;

/// One suite file, fully resolved: config merged, env vars expanded, regexes compiled.
#[derive(Debug, Clone)]
pub struct Suite {
    /// `name:` or the file's stem.
    pub name: String,
    /// The path as discovered (relative to where the user pointed), used in messages and JUnit.
    pub path: PathBuf,
    /// `<suite dir>/<suite stem>.golden`.
    pub golden_dir: PathBuf,
    /// Config rules first, then the suite's own, applied in order.
    pub normalize: Vec<NormalizeRule>,
    pub dialogues: Vec<Dialogue>,
}

#[derive(Debug, Clone)]
pub struct Dialogue {
    pub name: String,
    /// Where `- name:` is.
    pub span: Span,
    pub tags: Vec<String>,
    /// `skip: reason`.
    pub skip: Option<String>,
    pub vars: BTreeMap<String, String>,
    /// Fully merged: `agenttest.yaml` < suite < dialogue < environment < flags.
    pub endpoint: Arc<Endpoint>,
    pub session: SessionMode,
    pub golden: GoldenMode,
    /// SPEC §7: run N times, pass when at least `min_pass` runs pass. 1/1 by default.
    pub repeat: u32,
    pub min_pass: u32,
    pub turns: Vec<Turn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionMode {
    /// The harness makes a new unique id and sends it on every turn.
    Fresh,
    /// The first turn sends none; later turns reuse the id the server returned.
    Server,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GoldenMode {
    Off,
    Exact,
    /// Passes a turn whose agent text is at least `threshold` (0..=1) similar to the golden's.
    Similar {
        threshold: f64,
    },
}

#[derive(Debug, Clone)]
pub struct Turn {
    /// The message template: `{{name}}` takes a var or an earlier capture.
    pub user: String,
    /// Where `- user:` is.
    pub span: Span,
    /// After `defaults.expect` was applied: a turn's own key replaces the default's.
    pub expect: Vec<Expectation>,
    pub capture: Vec<Capture>,
}

/// A compiled regex shared by every place that uses it. Cloning a `regex::Regex` shares the
/// program but gives the clone its own cache pool, so a pattern repeated on thousands of turns
/// would rebuild its lazy DFA on each first use (measured: a quarter of a run's CPU). An `Arc`
/// shares the caches too.
#[derive(Debug, Clone)]
pub struct Pattern(std::sync::Arc<Regex>);

impl Pattern {
    pub fn new(re: Regex) -> Self {
        Pattern(std::sync::Arc::new(re))
    }
}

impl std::ops::Deref for Pattern {
    type Target = Regex;
    fn deref(&self) -> &Regex {
        &self.0
    }
}

impl From<Regex> for Pattern {
    fn from(re: Regex) -> Self {
        Pattern::new(re)
    }
}

#[derive(Debug, Clone)]
pub struct Capture {
    pub name: String,
    pub pattern: Pattern,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Expectation {
    pub kind: ExpectKind,
    /// Where the key is (in the turn, or in `defaults.expect` when inherited).
    pub span: Span,
}

/// Every expectation of SPEC §3.2. Strings are templates (`{{order}}`), expanded per run.
#[derive(Debug, Clone)]
pub enum ExpectKind {
    Status(Vec<u16>),
    Contains(Vec<String>),
    ContainsAny(Vec<String>),
    NotContains(Vec<String>),
    Regex(Vec<Pattern>),
    NotRegex(Vec<Pattern>),
    Equals(String),
    MaxTokens(u64),
    MaxLatency(Duration),
}

impl ExpectKind {
    /// The YAML key, used in failure messages and reports.
    pub fn key(&self) -> &'static str {
        match self {
            ExpectKind::Status(_) => "status",
            ExpectKind::Contains(_) => "contains",
            ExpectKind::ContainsAny(_) => "contains_any",
            ExpectKind::NotContains(_) => "not_contains",
            ExpectKind::Regex(_) => "regex",
            ExpectKind::NotRegex(_) => "not_regex",
            ExpectKind::Equals(_) => "equals",
            ExpectKind::MaxTokens(_) => "max_tokens",
            ExpectKind::MaxLatency(_) => "max_latency",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NormalizeRule {
    pub pattern: Pattern,
    pub replace: String,
}

/// Which API an endpoint speaks. One variant per file in `client/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointKind {
    Thinnest,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BaseUrl {
    Url(String),
    /// The built-in mock agent, started in-process on a free loopback port.
    Mock,
    /// The suite's own goldens served as an agent (SPEC §7).
    Replay,
}

/// Where and how to send a dialogue's messages.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub kind: EndpointKind,
    pub base_url: BaseUrl,
    pub agent_id: String,
    /// Never printed: `SecretString`'s `Debug` is redacted.
    pub api_key: Option<SecretString>,
    pub headers: Vec<Header>,
    pub timeout: Duration,
    pub retries: u32,
    /// Requests per second for this endpoint across the whole run.
    pub rate_limit: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Header {
    pub name: String,
    pub value: HeaderValue,
    /// The value of each `${VAR}` the header used, each a secret on its own: an agent that
    /// echoes only the token of `Bearer ${TOKEN}` must still show `[REDACTED]`.
    pub env_values: Vec<SecretString>,
}

#[derive(Debug, Clone)]
pub enum HeaderValue {
    Plain(String),
    /// Taken from an env var: a secret, redacted everywhere.
    Secret(SecretString),
}

impl Endpoint {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    pub const DEFAULT_RETRIES: u32 = 2;

    /// Identity of the limiter / client this endpoint shares with others: same URL and agent.
    pub fn limiter_key(&self) -> String {
        let url = match &self.base_url {
            BaseUrl::Url(u) => u.as_str(),
            BaseUrl::Mock => "mock",
            BaseUrl::Replay => "replay",
        };
        format!("{url}|{}", self.agent_id)
    }

    /// Every secret this endpoint holds, for the run's redactor.
    pub fn secrets(&self) -> Vec<SecretString> {
        let mut out: Vec<SecretString> = self.api_key.iter().cloned().collect();
        for h in &self.headers {
            let whole = match &h.value {
                HeaderValue::Secret(s) => {
                    out.push(s.clone());
                    s.expose_secret()
                }
                HeaderValue::Plain(v) => v.as_str(),
            };
            // A header that is exactly one `${VAR}` is already there whole.
            out.extend(
                h.env_values
                    .iter()
                    .filter(|v| v.expose_secret() != whole)
                    .cloned(),
            );
        }
        out
    }
}

impl Suite {
    /// `suite › dialogue`, the display name used by `list`, `--filter` and the console.
    pub fn display_name(&self, dialogue: &Dialogue) -> String {
        format!("{} › {}", self.name, dialogue.name)
    }
}

/// Lower-cased dialogue name with every run of other than `[a-z0-9]` replaced by `-`
/// (SPEC §3.3, to the letter: `"Hi!"` is `hi-`), so a user or a script can compute the path.
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
            dash = false;
        } else if !dash {
            out.push('-');
            dash = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs() {
        assert_eq!(slug("business hours"), "business-hours");
        assert_eq!(slug("Order follow-up!"), "order-follow-up-");
        assert_eq!(slug("  A  B"), "-a-b");
        assert_eq!(slug("naïve café"), "na-ve-caf-");
        assert_eq!(slug("v2 API / 401"), "v2-api-401");
    }
}
