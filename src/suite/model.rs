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
use crate::facts::{self, Fact};

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
    /// SPEC §9.2: the `judge:` endpoint (always kind `openai`), the suite's block merged over
    /// agenttest.yaml's. Every `judge` expectation and `golden: {mode: judge}` has one.
    pub judge: Option<Arc<Endpoint>>,
}

#[derive(Debug, Clone)]
pub struct Dialogue {
    pub name: String,
    /// Where `- name:` is.
    pub span: Span,
    /// Which row of the dialogue's `matrix:` or `matrix_file:` this is, counted from 1; `None`
    /// without a matrix. Reports carry it so that `merge` puts a matrix's rows back in the
    /// order they are written: the rows of a `matrix_file:` all point at that one line.
    pub row: Option<u32>,
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
    pub min_pass: MinPass,
    /// SPEC §9.3: the significance level of the baseline gate, in (0, 1); `None` leaves the
    /// run's (`--alpha`, default 0.01).
    pub alpha: Option<f64>,
    pub turns: Vec<Turn>,
}

/// How many of a dialogue's runs must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinPass {
    /// At least this many (at most `repeat`, checked at load).
    Count(u32),
    /// Not significantly fewer than the blessed baseline (SPEC §9.3).
    Baseline,
}

impl MinPass {
    /// The fixed count, if it is one.
    pub fn count(self) -> Option<u32> {
        match self {
            MinPass::Count(n) => Some(n),
            MinPass::Baseline => None,
        }
    }
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
    /// SPEC §9.1: the reply states every typed fact of the golden turn; with `strict`, and
    /// no other.
    Facts {
        strict: bool,
    },
    /// SPEC §9.2: the suite's judge compares the reply with the golden turn.
    Judge,
}

#[derive(Debug, Clone)]
pub struct Turn {
    /// The message template: `{{name}}` takes a var or an earlier capture.
    pub user: String,
    /// Where `- user:` is.
    pub span: Span,
    /// After `defaults.expect` was applied: a turn's own key replaces the default's. Boxed
    /// slices, not vectors: a suite holds one per turn for the whole run, and they never grow.
    pub expect: Box<[Expectation]>,
    pub capture: Box<[Capture]>,
}

/// A compiled regex shared by every place that uses it. Cloning a `regex::Regex` shares the
/// program but gives the clone its own cache pool, so a pattern repeated on thousands of turns
/// would rebuild its lazy DFA on each first use (measured: a quarter of a run's CPU). An `Arc`
/// shares the caches too.
#[derive(Debug, Clone)]
pub struct Pattern(std::sync::Arc<Regex>);

/// Two patterns are the same when their sources are: the same regex, compiled alike.
impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Pattern {}

impl std::hash::Hash for Pattern {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

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
    /// Shared by every turn that expects the same (the suite's defaults, a pattern or a
    /// phrase repeated on each turn): the loader keeps one of each per file.
    pub kind: Arc<ExpectKind>,
    /// Where the key is (in the turn, or in `defaults.expect` when inherited); for one rubric
    /// of a `judge:` list, which the loader makes an expectation of its own, where its item is.
    pub span: Span,
}

/// Every expectation of SPEC §3.2. Strings are templates (`{{order}}`), expanded per run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
    /// SPEC §8.3: the first piece of the reply's text arrived within this.
    MaxFirstToken(Duration),
    /// SPEC §9.2: rubrics the suite's judge must find true of the reply, each.
    Judge(Vec<String>),
    /// SPEC §9.1: typed values the reply must state.
    Facts(Vec<FactSpec>),
    /// SPEC §9.1: typed values the reply must not state.
    NotFacts(Vec<FactSpec>),
}

/// One typed fact as written (`- number: 30` / `unit: day`), and as the fact extractor reads
/// it. Only its key and shape are checked at load; a value the extractor cannot read is kept,
/// and is no check.
#[derive(Debug, Clone)]
pub struct FactSpec {
    /// `time`, `number`, `money`, `percent` or `date` ([`FactSpec::KINDS`]).
    pub kind: String,
    /// As written (`"09:00"`, `30`, `"99 USD"`).
    pub value: String,
    /// Only with `number`.
    pub unit: Option<String>,
    /// Where its kind key is.
    pub span: Span,
    /// `kind`, `value` and `unit` read by [`facts::parse_spec`] once, here, rather than on
    /// every turn that checks them. A spec it cannot read is a suite error, never a spec.
    pub fact: Fact,
}

impl FactSpec {
    pub const KINDS: [&'static str; 5] = ["time", "number", "money", "percent", "date"];

    /// The spec as written, read by the fact extractor; the extractor's reason when it
    /// cannot read it.
    pub fn new(
        kind: &str,
        value: &str,
        unit: Option<&str>,
        span: Span,
    ) -> Result<FactSpec, String> {
        Ok(FactSpec {
            kind: kind.to_string(),
            value: value.to_string(),
            unit: unit.map(str::to_string),
            span,
            fact: facts::parse_spec(kind, value, unit)?,
        })
    }

    /// What it was written as: `fact` follows from it, and holds floats, which have no `Eq`
    /// or `Hash` (expectations are interned by both).
    fn written(&self) -> (&str, &str, Option<&str>, Span) {
        (&self.kind, &self.value, self.unit.as_deref(), self.span)
    }
}

impl PartialEq for FactSpec {
    fn eq(&self, other: &Self) -> bool {
        self.written() == other.written()
    }
}

impl Eq for FactSpec {}

impl std::hash::Hash for FactSpec {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.written().hash(state);
    }
}

impl ExpectKind {
    /// The YAML key, used in failure messages and reports.
    pub fn key(&self) -> &'static str {
        self.id().name()
    }

    /// Which key of [`ExpectKey::ALL`] this is.
    pub fn id(&self) -> ExpectKey {
        match self {
            ExpectKind::Status(_) => ExpectKey::Status,
            ExpectKind::Contains(_) => ExpectKey::Contains,
            ExpectKind::ContainsAny(_) => ExpectKey::ContainsAny,
            ExpectKind::NotContains(_) => ExpectKey::NotContains,
            ExpectKind::Regex(_) => ExpectKey::Regex,
            ExpectKind::NotRegex(_) => ExpectKey::NotRegex,
            ExpectKind::Equals(_) => ExpectKey::Equals,
            ExpectKind::MaxTokens(_) => ExpectKey::MaxTokens,
            ExpectKind::MaxLatency(_) => ExpectKey::MaxLatency,
            ExpectKind::MaxFirstToken(_) => ExpectKey::MaxFirstToken,
            ExpectKind::Judge(_) => ExpectKey::Judge,
            ExpectKind::Facts(_) => ExpectKey::Facts,
            ExpectKind::NotFacts(_) => ExpectKey::NotFacts,
        }
    }
}

/// The keys an `expect:` mapping may hold. [`ExpectKey::ALL`] is the one table of their
/// names and order (SPEC §3.2's, so a turn's expectations read the same whatever the file's
/// order): the parser takes its accepted keys from it and the loader its order. Everything
/// else matches on the enum, so a new key does not compile until every phase handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpectKey {
    Status,
    Contains,
    ContainsAny,
    NotContains,
    Regex,
    NotRegex,
    Equals,
    MaxTokens,
    MaxLatency,
    MaxFirstToken,
    Judge,
    Facts,
    NotFacts,
}

impl ExpectKey {
    /// Every key with its YAML name, in declaration (and display) order.
    pub const ALL: [(ExpectKey, &'static str); 13] = [
        (ExpectKey::Status, "status"),
        (ExpectKey::Contains, "contains"),
        (ExpectKey::ContainsAny, "contains_any"),
        (ExpectKey::NotContains, "not_contains"),
        (ExpectKey::Regex, "regex"),
        (ExpectKey::NotRegex, "not_regex"),
        (ExpectKey::Equals, "equals"),
        (ExpectKey::MaxTokens, "max_tokens"),
        (ExpectKey::MaxLatency, "max_latency"),
        (ExpectKey::MaxFirstToken, "max_first_token"),
        (ExpectKey::Judge, "judge"),
        (ExpectKey::Facts, "facts"),
        (ExpectKey::NotFacts, "not_facts"),
    ];

    /// The names alone, as serde's "expected one of" list wants them.
    pub const NAMES: [&'static str; Self::ALL.len()] = {
        let mut out = [""; Self::ALL.len()];
        let mut i = 0;
        while i < out.len() {
            out[i] = Self::ALL[i].1;
            i += 1;
        }
        out
    };

    pub fn name(self) -> &'static str {
        Self::ALL[self.order()].1
    }

    /// The key's place in [`ExpectKey::ALL`] (a unit test holds the table to this).
    pub fn order(self) -> usize {
        self as usize
    }

    pub fn from_name(name: &str) -> Option<ExpectKey> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }
}

#[derive(Debug, Clone)]
pub struct NormalizeRule {
    pub pattern: Pattern,
    pub replace: String,
}

/// Which API an endpoint speaks (SPEC §8), with what that API needs beyond the common fields.
#[derive(Debug, Clone, PartialEq)]
pub enum EndpointKind {
    /// The hosted agent platform's chat API (SPEC §2).
    Thinnest,
    /// OpenAI-style chat completions (SPEC §8.1).
    OpenAi(OpenAiSpec),
    /// Any JSON-over-HTTP agent, by a body template and JSON Pointers (SPEC §8.2).
    Http(HttpSpec),
}

impl EndpointKind {
    /// The word written after `kind:`.
    pub fn name(&self) -> &'static str {
        match self {
            EndpointKind::Thinnest => "thinnest",
            EndpointKind::OpenAi(_) => "openai",
            EndpointKind::Http(_) => "http",
        }
    }
}

/// `kind: openai`.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiSpec {
    pub model: String,
    /// `system:`, or the text of `system_file:` (read at load, relative to the file naming it).
    pub system: Option<String>,
    /// Copied into the request body as is.
    pub params: serde_json::Map<String, serde_json::Value>,
    pub stream: bool,
}

/// `kind: http`.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSpec {
    /// Upper-case; `POST` by default.
    pub method: String,
    /// A template (`{{session_id}}`, ...) under `base_url`. Empty when not written: the request
    /// goes to `base_url` exactly as written, so the agent's whole URL there (`.../chat`) is
    /// not turned into `.../chat/`, which frameworks such as FastAPI answer with a redirect.
    pub path: String,
    /// Sent as JSON; every string in it is a template, and a string that is exactly
    /// `{{history}}` (or `{{turn}}`) becomes an array (a number). Always a mapping when set.
    pub body: Option<serde_json::Value>,
    /// The header that carries the key as is, instead of `Authorization: Bearer`.
    pub auth_header: Option<String>,
    pub response: Pointers,
    /// `stream: sse`.
    pub stream: bool,
}

/// The header in which a conversation under `base_url: replay` names its dialogue to the
/// in-process replay server: the dialogue's [`slug`], its golden's file name. The server answers
/// it from that golden before any other that continues the conversation, so dialogues that say
/// the same (prompts compared on one question, a shared opening) each replay their own. Only
/// requests under `base_url: replay` carry it; a replay server reached by URL (`agenttest mock
/// --replay`) is sent what a live agent would be. (An `http` dialogue names itself in the
/// generic route's path instead, where its replayed requests go.)
pub const REPLAY_IDENTITY_HEADER: &str = "x-agenttest-replay-identity";

/// JSON Pointers (RFC 6901) into an `http` endpoint's reply, each checked at load.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pointers {
    /// The agent's text; required.
    pub text: String,
    pub session_id: Option<String>,
    pub input_tokens: Option<String>,
    pub output_tokens: Option<String>,
    pub total_tokens: Option<String>,
    /// The detail of a non-2xx body.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BaseUrl {
    /// An http:// or https:// URL that parses, without its trailing `/`.
    Url(String),
    /// The built-in mock agent, started in-process on a free loopback port.
    Mock,
    /// The suite's own goldens served as an agent (SPEC §7).
    Replay,
}

impl BaseUrl {
    /// What every form accepts, for messages.
    pub const FORMS: &'static str = "expected `mock`, `replay` or an http:// or https:// URL";

    /// THE base_url parser, for files, `--endpoint` and `AGENTTEST_BASE_URL` alike: `mock`,
    /// `replay`, or an http(s) URL that parses (so `http://[::1` is refused here, at load,
    /// not on the first request). The error is a fragment naming the three forms.
    pub fn parse(text: &str) -> Result<BaseUrl, String> {
        let text = text.trim();
        match text {
            "mock" => return Ok(BaseUrl::Mock),
            "replay" => return Ok(BaseUrl::Replay),
            _ => {}
        }
        if !(text.starts_with("http://") || text.starts_with("https://")) {
            return Err(Self::FORMS.to_string());
        }
        match reqwest::Url::parse(text) {
            Ok(url) if url.host_str().is_some_and(|h| !h.is_empty()) => {
                Ok(BaseUrl::Url(text.trim_end_matches('/').to_string()))
            }
            Ok(_) => Err(format!("the URL has no host; {}", Self::FORMS)),
            Err(e) => Err(format!("the URL does not parse ({e}); {}", Self::FORMS)),
        }
    }
}

/// Where and how to send a dialogue's messages.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub kind: EndpointKind,
    pub base_url: BaseUrl,
    /// The values `${VAR}` took from the environment where a key may ride: `base_url`'s
    /// query (`?key=${KEY}`) and the string values of `params` and an `http` body. Each is a
    /// secret: it would otherwise show in every error that names the request and in any reply
    /// that echoes it. (Headers keep their own.)
    pub env_secrets: Vec<SecretString>,
    /// Whom the requests are for, which also keys the rate limiter and replay: the agent id
    /// for `thinnest`, the model for `openai` (the mock serves a model as the agent of that
    /// id), empty for `http` (an `agent_id` inherited from an outer layer is ignored).
    pub agent_id: String,
    /// Never printed: `SecretString`'s `Debug` is redacted.
    pub api_key: Option<SecretString>,
    pub headers: Vec<Header>,
    pub timeout: Duration,
    pub retries: u32,
    /// Requests per second for this endpoint across the whole run.
    pub rate_limit: Option<f64>,
    /// `mock_script:` beside `base_url: mock`, relative to the file that names it (joined
    /// with that file's directory): the script the in-process mock serves instead of the
    /// built-in demo. Only ever set with [`BaseUrl::Mock`].
    pub mock_script: Option<PathBuf>,
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

    /// Whether `other` is the same endpoint in every field (secrets compared as they are):
    /// the loader then shares one between dialogues.
    pub fn same_as(&self, other: &Endpoint) -> bool {
        // Every field named, so that a new one is not forgotten here.
        let Endpoint {
            kind,
            base_url,
            env_secrets,
            agent_id,
            api_key,
            headers,
            timeout,
            retries,
            rate_limit,
            mock_script,
        } = self;
        *kind == other.kind
            && *base_url == other.base_url
            && env_secrets.len() == other.env_secrets.len()
            && env_secrets
                .iter()
                .zip(&other.env_secrets)
                .all(|(a, b)| same_secret(Some(a), Some(b)))
            && *agent_id == other.agent_id
            && same_secret(api_key.as_ref(), other.api_key.as_ref())
            && headers.len() == other.headers.len()
            && headers
                .iter()
                .zip(&other.headers)
                .all(|(a, b)| a.same_as(b))
            && *timeout == other.timeout
            && *retries == other.retries
            && *rate_limit == other.rate_limit
            && *mock_script == other.mock_script
    }

    /// Every secret this endpoint holds, for the run's redactor.
    pub fn secrets(&self) -> Vec<SecretString> {
        let mut out: Vec<SecretString> = self.api_key.iter().cloned().collect();
        out.extend(self.env_secrets.iter().cloned());
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

impl Header {
    /// Whether `other` is the same header, secrets compared as they are.
    fn same_as(&self, other: &Header) -> bool {
        let Header {
            name,
            value,
            env_values,
        } = self;
        let value_same = match (value, &other.value) {
            (HeaderValue::Plain(a), HeaderValue::Plain(b)) => a == b,
            (HeaderValue::Secret(a), HeaderValue::Secret(b)) => same_secret(Some(a), Some(b)),
            _ => false,
        };
        *name == other.name
            && value_same
            && env_values.len() == other.env_values.len()
            && env_values
                .iter()
                .zip(&other.env_values)
                .all(|(a, b)| same_secret(Some(a), Some(b)))
    }
}

fn same_secret(a: Option<&SecretString>, b: Option<&SecretString>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.expose_secret() == b.expose_secret(),
        (None, None) => true,
        _ => false,
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
    use super::{slug, BaseUrl, ExpectKey};

    #[test]
    fn expect_key_table_is_in_declaration_order() {
        for (i, (key, name)) in ExpectKey::ALL.iter().enumerate() {
            assert_eq!(key.order(), i, "{name}");
            assert_eq!(ExpectKey::NAMES[i], *name);
            assert_eq!(ExpectKey::from_name(name), Some(*key));
        }
        assert_eq!(ExpectKey::from_name("contain"), None);
    }

    #[test]
    fn base_urls() {
        assert_eq!(BaseUrl::parse("mock"), Ok(BaseUrl::Mock));
        assert_eq!(BaseUrl::parse(" replay "), Ok(BaseUrl::Replay));
        assert_eq!(
            BaseUrl::parse("https://api.example.test/v1/"),
            Ok(BaseUrl::Url("https://api.example.test/v1".into()))
        );
        assert_eq!(
            BaseUrl::parse("http://[::1]:8080"),
            Ok(BaseUrl::Url("http://[::1]:8080".into()))
        );
        for bad in [
            "ftp://x",
            "Mock",
            "api.example.test",
            "",
            "http://[::1",
            "http://",
            "https://:80",
        ] {
            let err = BaseUrl::parse(bad).expect_err(bad);
            assert!(
                err.contains("`mock`, `replay` or an http:// or https:// URL"),
                "{bad}: {err}"
            );
        }
        assert_eq!(
            BaseUrl::parse("http://[::1").unwrap_err(),
            "the URL does not parse (invalid IPv6 address); \
             expected `mock`, `replay` or an http:// or https:// URL"
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("business hours"), "business-hours");
        assert_eq!(slug("Order follow-up!"), "order-follow-up-");
        assert_eq!(slug("  A  B"), "-a-b");
        assert_eq!(slug("naïve café"), "na-ve-caf-");
        assert_eq!(slug("v2 API / 401"), "v2-api-401");
    }
}
