//! The mock server's mutable memory: accepted keys, sessions, rate-limit windows, balances and
//! the request log that tests read back through `/_mock/*`.
//!
//! It is shared by every connection, so each piece has its own small lock (sessions are
//! sharded by id) and no lock is held across an `.await` or a regex over more than one
//! message. Nothing here ever stores or returns an api key except the key set itself: the log
//! keeps each request's headers, but the value of every header that can carry a key is
//! replaced before it is stored ([`is_secret_header`]).
//!
//! Request text (headers included) is kept once, in the log, within a byte budget (the oldest
//! entries go first): sessions keep only what the rules need (turn count, earned `after`
//! bits), and `/_mock/sessions` is read back from the log. So no client, however large its
//! messages or headers or however many, can grow the mock past the budget plus a fixed amount
//! per session.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::HeaderMap;
use serde::ser::SerializeMap;
use serde::Serialize;

use super::draw::fnv1a;
use super::replay::{Answer, Asked, Goldens, Kept};
use super::script::{Agent, RateLimit, Script};
use crate::redact::REDACTED;

/// Sessions an agent remembers; past it the least recently used tenth is forgotten, so a load
/// test without session ids cannot grow the mock without bound.
pub const MAX_SESSIONS: usize = 100_000;
/// Bytes of requests the log keeps by default (`MockOptions::log_budget_bytes`).
pub const DEFAULT_LOG_BUDGET: usize = 64 * 1024 * 1024;
/// What a log entry costs beyond its text: the record itself and the deque's slot.
const RECORD_OVERHEAD: usize = 128;
/// What one kept header costs beyond its text: the two `String`s of its pair.
const HEADER_OVERHEAD: usize = 2 * std::mem::size_of::<String>();

const SHARDS: usize = 16;

/// Locks without caring about poisoning: every critical section here leaves the data
/// consistent at each step, so a panicking holder cannot leave a half-made value behind.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) struct State {
    pub agents: HashMap<String, AgentState>,
    /// `None`: any non-empty key (the script listed none).
    keys: Option<RwLock<HashSet<String>>>,
    log: Mutex<RequestLog>,
    log_budget: usize,
    pub api_keys_created: AtomicU64,
    pub replay: Option<Replayed>,
}

impl State {
    /// The state for `script`, its log kept within `log_budget` bytes.
    pub fn new(script: Script, log_budget: usize) -> State {
        State {
            keys: script
                .keys
                .map(|keys| RwLock::new(keys.into_iter().collect())),
            agents: script
                .agents
                .into_iter()
                .map(|(id, agent)| (id, AgentState::new(agent)))
                .collect(),
            log: Mutex::new(RequestLog::default()),
            log_budget,
            api_keys_created: AtomicU64::new(0),
            replay: script.replay.map(Replayed::new),
        }
    }

    pub fn key_accepted(&self, key: &str) -> bool {
        match &self.keys {
            None => true,
            Some(keys) => keys
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .contains(key),
        }
    }

    pub fn add_key(&self, key: String) {
        if let Some(keys) = &self.keys {
            keys.write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key);
        }
    }

    /// Appends `record`, then drops the oldest entries until the log is within its budget
    /// (the newest entry is always kept, so the last request can be inspected).
    pub fn log(&self, record: RequestRecord) {
        let mut log = lock(&self.log);
        log.total += 1;
        log.bytes += record.cost();
        log.records.push_back(record);
        while log.bytes > self.log_budget && log.records.len() > 1 {
            if let Some(old) = log.records.pop_front() {
                log.bytes -= old.cost();
            }
        }
    }

    pub fn requests(&self) -> (u64, Vec<RequestRecord>) {
        let log = lock(&self.log);
        (log.total, log.records.iter().cloned().collect())
    }

    /// Every session's messages still in the log, by session id, oldest first. An id used
    /// with two agents lists the messages of both.
    pub fn sessions(&self) -> BTreeMap<String, Vec<String>> {
        let log = lock(&self.log);
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &log.records {
            if let (Some(sid), Some(message)) = (&r.joined, &r.message) {
                out.entry(sid.clone()).or_default().push(message.clone());
            }
        }
        out
    }

    pub fn session_count(&self) -> usize {
        self.agents
            .values()
            .flat_map(|a| a.sessions.iter())
            .map(|s| lock(s).len())
            .sum()
    }
}

/// Replay's goldens and what each replayed session has said so far (the matched messages
/// only: an unmatched one does not join, so a client can retry with the right text).
pub(crate) struct Replayed {
    goldens: Goldens,
    sessions: Mutex<ReplaySessions>,
}

#[derive(Default)]
struct ReplaySessions {
    said: HashMap<String, Vec<String>>,
    /// Session ids oldest first, to forget the oldest past [`MAX_SESSIONS`].
    order: VecDeque<String>,
}

impl Replayed {
    fn new(goldens: Goldens) -> Replayed {
        Replayed {
            goldens,
            sessions: Mutex::new(ReplaySessions::default()),
        }
    }

    /// Answers the last of `said` (every user message of a stateless request, such as a chat
    /// completion whose history the client sends) to `asked`: the client kept the
    /// conversation ([`Kept::Client`]).
    pub fn answer_stateless(&self, asked: Asked<'_>, said: &[&str]) -> Answer<'_> {
        self.goldens.answer(asked, Kept::Client, said)
    }

    /// Answers `message` to `asked` in `session_id`, a conversation the server keeps
    /// ([`Kept::Server`]); a matched message joins the session, whatever status it is answered.
    pub fn answer(&self, session_id: &str, asked: Asked<'_>, message: &str) -> Answer<'_> {
        let mut sessions = lock(&self.sessions);
        let earlier = sessions.said.get(session_id).map_or(&[][..], Vec::as_slice);
        let said: Vec<&str> = earlier
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(message))
            .collect();
        let answer = self.goldens.answer(asked, Kept::Server, &said);
        if matches!(answer, Answer::Turn { .. }) {
            let s = &mut *sessions;
            if !s.said.contains_key(session_id) {
                if s.order.len() >= MAX_SESSIONS {
                    if let Some(oldest) = s.order.pop_front() {
                        s.said.remove(&oldest);
                    }
                }
                s.order.push_back(session_id.to_string());
            }
            s.said
                .entry(session_id.to_string())
                .or_default()
                .push(message.to_string());
        }
        answer
    }
}

#[derive(Default)]
struct RequestLog {
    total: u64,
    /// What the kept records cost, by [`RequestRecord::cost`].
    bytes: usize,
    records: VecDeque<RequestRecord>,
}

/// Which of the mock's chat APIs a request came through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// `POST /v1/agents/{agent_id}/chat` (SPEC §2).
    #[default]
    Thinnest,
    /// `POST /v1/chat/completions` and `POST /chat/completions`.
    OpenAi,
    /// `POST /http/{agent_id}/chat`, the generic JSON API.
    Http,
}

impl Api {
    /// The agent API's records keep the fields they always had, so older readers of
    /// `/_mock/requests` see exactly what they saw before.
    fn is_thinnest(&self) -> bool {
        *self == Api::Thinnest
    }
}

/// Whether a header's value is replaced by [`REDACTED`] in the log. Any header can carry a key:
/// `Authorization`, Azure's `api-key`, the generic API's `X-API-Key`, and whatever header a
/// suite names as its `auth_header`, so the rule goes by words in the name rather than a list
/// of names. Redacting a harmless header costs a test one value it cannot see; listing a key
/// would put it in every client test's output. The value becomes the runner's own marker for a
/// secret, [`REDACTED`]. Names are lower-case here (hyper's form).
pub(crate) fn is_secret_header(name: &str) -> bool {
    const WORDS: [&str; 9] = [
        "auth",
        "key",
        "token",
        "secret",
        "cookie",
        "session",
        "pass",
        "credential",
        "signature",
    ];
    // One walk over the name, each word tried only where a byte is its first letter (six
    // letters start all nine): a `contains` per word set up a searcher each time, 1,500
    // instructions a header, on every header of every request the mock logs.
    let b = name.as_bytes();
    (0..b.len()).any(|i| {
        matches!(b[i], b'a' | b'k' | b't' | b's' | b'c' | b'p')
            && WORDS
                .iter()
                .any(|w| w.as_bytes()[0] == b[i] && b[i..].starts_with(w.as_bytes()))
    })
}

/// `headers` as the log keeps them: names lower-cased, in the order first sent, a repeated
/// header's values joined with `, ` in order (as HTTP combines them, RFC 9110 §5.3), so none
/// is lost and each name appears once; secret values replaced ([`is_secret_header`]). Copied
/// out rather than kept as `HeaderValue`s, which share hyper's read buffer and would hold all
/// of it past the log's budget.
fn kept_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .keys()
        .map(|name| {
            let value = if is_secret_header(name.as_str()) {
                REDACTED.to_string()
            } else {
                let mut joined = String::new();
                for (i, v) in headers.get_all(name).iter().enumerate() {
                    if i > 0 {
                        joined.push_str(", ");
                    }
                    joined.push_str(&String::from_utf8_lossy(v.as_bytes()));
                }
                joined
            };
            (name.as_str().to_string(), value)
        })
        .collect()
}

/// One chat request as `/_mock/requests` shows it. It never holds an api key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// The route; not listed for the agent API.
    pub api: Api,
    /// The agent: from the path, or the `model` of a chat completion (empty when it named
    /// none).
    pub agent_id: String,
    /// As the client sent it; `None` when it sent none (or the body did not parse).
    pub session_id: Option<String>,
    /// The message the rules were (or would have been) given: `None` when the body had none
    /// (or was over the cap).
    pub message: Option<String>,
    /// `None` when the connection was dropped (`close`) or never answered (`hang`).
    pub status: Option<u16>,
    pub fault: Option<&'static str>,
    /// The request's headers, name and value: lower-case names in the order first sent, each
    /// once (a repeated header's values joined with `, `), and the value of every header that
    /// can carry a key (a name holding `auth`, `key`, `token`, `secret`, `cookie`, `session`,
    /// `pass`, `credential` or `signature`) replaced by
    /// [`REDACTED`](crate::redact::REDACTED). `/_mock/requests` lists them for every route
    /// but the agent API's, whose entries list them when asked (`?headers=true`).
    pub headers: Vec<(String, String)>,
    /// The request body as sent, for the routes whose history travels in it (chat
    /// completions, the generic API): listed as JSON, or as a string when it is not JSON.
    pub(crate) body: Option<Bytes>,
    /// The session the message became part of (the server's id when the client sent none):
    /// what `/_mock/sessions` is read from.
    pub(crate) joined: Option<String>,
}

/// A record as `/_mock/requests` lists it.
#[derive(Serialize)]
pub(crate) struct Listed<'a> {
    #[serde(skip_serializing_if = "Api::is_thinnest")]
    api: Api,
    agent_id: &'a str,
    session_id: &'a Option<String>,
    message: &'a Option<String>,
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault: Option<&'static str>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "body_as_json"
    )]
    body: &'a Option<Bytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<HeaderObject<'a>>,
}

/// Headers as one JSON object, in the order kept (each name is once in the list, so no key
/// is written twice).
struct HeaderObject<'a>(&'a [(String, String)]);

impl Serialize for HeaderObject<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl Serialize for RequestRecord {
    /// As `/_mock/requests` lists it without `?headers=true`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.listed(false).serialize(s)
    }
}

impl RequestRecord {
    /// A record of a request to `agent_id` on `api` with `headers`, not yet answered.
    pub(crate) fn new(api: Api, agent_id: String, headers: &HeaderMap) -> RequestRecord {
        RequestRecord {
            api,
            agent_id,
            session_id: None,
            message: None,
            status: None,
            fault: None,
            headers: kept_headers(headers),
            body: None,
            joined: None,
        }
    }

    /// The record as `/_mock/requests` lists it. The agent API's record lists its headers
    /// only when `all_headers` (`?headers=true`): its entries are documented to keep exactly
    /// the fields they always had, and a client test comparing one whole would break on a new
    /// field. The other routes' records list them always; they never promised a fixed set.
    pub(crate) fn listed(&self, all_headers: bool) -> Listed<'_> {
        let headers =
            (all_headers || !self.api.is_thinnest()).then_some(HeaderObject(&self.headers));
        Listed {
            api: self.api,
            agent_id: &self.agent_id,
            session_id: &self.session_id,
            message: &self.message,
            status: self.status,
            fault: self.fault,
            body: &self.body,
            headers,
        }
    }

    /// Bytes this record holds, for the log's budget.
    fn cost(&self) -> usize {
        let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        RECORD_OVERHEAD
            + self.agent_id.len()
            + text(&self.session_id)
            + text(&self.message)
            + text(&self.joined)
            + self.body.as_ref().map_or(0, Bytes::len)
            + self
                .headers
                .iter()
                .map(|(n, v)| HEADER_OVERHEAD + n.len() + v.len())
                .sum::<usize>()
    }

    /// The body as sent, when this route records it: parsed JSON, or a string when the body
    /// was not JSON.
    pub fn body(&self) -> Option<serde_json::Value> {
        self.body.as_ref().map(|b| body_value(b))
    }
}

fn body_value(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

fn body_as_json<S: serde::Serializer>(body: &&Option<Bytes>, s: S) -> Result<S::Ok, S::Error> {
    match body {
        Some(b) => body_value(b).serialize(s),
        None => s.serialize_none(),
    }
}

pub(crate) struct AgentState {
    pub def: Agent,
    sessions: [Mutex<HashMap<String, Session>>; SHARDS],
    windows: Mutex<HashMap<String, Window>>,
    /// Tokens left; meaningful only when the script sets `balance_tokens`.
    balance: AtomicI64,
    /// Numbers requests for `fail_rate`'s draws.
    pub seq: AtomicU64,
    /// A logical clock for least-recently-used session eviction.
    clock: AtomicU64,
    /// How many sessions opened with each first message (by hash), to number them.
    openings: Mutex<HashMap<u64, u64>>,
}

struct Session {
    turns: u64,
    /// Bit i: an earlier message matched `after` pattern i.
    earned: Vec<u64>,
    last_used: u64,
    /// Hash of the session's first message, and which session with that opening it is
    /// (0 for the first): what seeded paraphrases are drawn from.
    opening: u64,
    ordinal: u64,
}

/// What a session looked like just before the current message.
pub(crate) struct Step {
    pub session_id: String,
    /// 1 for the session's first message.
    pub turn: u64,
    pub earned: Vec<u64>,
    /// Hash of the session's first message.
    pub opening: u64,
    /// The n-th (0-based) session of this agent that opened with that message.
    pub ordinal: u64,
}

pub(crate) fn bit(bits: &[u64], i: usize) -> bool {
    bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

impl AgentState {
    fn new(def: Agent) -> AgentState {
        let balance = def
            .balance_tokens
            .map_or(0, |b| i64::try_from(b).unwrap_or(i64::MAX));
        AgentState {
            def,
            sessions: std::array::from_fn(|_| Mutex::new(HashMap::new())),
            windows: Mutex::new(HashMap::new()),
            balance: AtomicI64::new(balance),
            seq: AtomicU64::new(0),
            clock: AtomicU64::new(0),
            openings: Mutex::new(HashMap::new()),
        }
    }

    /// Records `message` in the session (creating it, under `session_id` or a new id) and
    /// returns the session as it was before. `matched` has bit i set when the message matches
    /// `after` pattern i; it counts only for later messages.
    pub fn step(&self, session_id: Option<&str>, message: &str, matched: &[u64]) -> Step {
        let session_id = match session_id {
            Some(id) => id.to_string(),
            None => new_session_id(),
        };
        let now = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut shard = lock(&self.sessions[shard_of(&session_id)]);
        if !shard.contains_key(&session_id) && shard.len() >= MAX_SESSIONS / SHARDS {
            evict_oldest(&mut shard);
        }
        let s = shard.entry(session_id.clone()).or_insert_with(|| {
            let opening = fnv1a(message.as_bytes());
            let mut openings = lock(&self.openings);
            let count = openings.entry(opening).or_insert(0);
            let ordinal = *count;
            *count += 1;
            Session {
                turns: 0,
                earned: Vec::new(),
                last_used: now,
                opening,
                ordinal,
            }
        });
        let earned = s.earned.clone();
        if s.earned.len() < matched.len() {
            s.earned.resize(matched.len(), 0);
        }
        for (w, m) in s.earned.iter_mut().zip(matched) {
            *w |= m;
        }
        s.turns += 1;
        s.last_used = now;
        Step {
            session_id,
            turn: s.turns,
            earned,
            opening: s.opening,
            ordinal: s.ordinal,
        }
    }

    /// Which conversation opening with `opening` a stateless request belongs to, numbered
    /// like sessions: a conversation's first message (`first`) opens the next one; a later
    /// message belongs to the latest one, which is exact when a dialogue's repeats run one
    /// after another.
    pub fn ordinal(&self, opening: u64, first: bool) -> u64 {
        let mut openings = lock(&self.openings);
        let count = openings.entry(opening).or_insert(0);
        if first {
            *count += 1;
        }
        count.saturating_sub(1)
    }

    /// Whether the balance is spent (only when the script sets one).
    pub fn balance_spent(&self) -> bool {
        self.def.balance_tokens.is_some() && self.balance.load(Ordering::Relaxed) <= 0
    }

    pub fn spend(&self, tokens: u64) {
        if self.def.balance_tokens.is_some() {
            self.balance
                .fetch_sub(i64::try_from(tokens).unwrap_or(i64::MAX), Ordering::Relaxed);
        }
    }

    /// Counts a request against `key`'s window. `peek` reports without counting (for
    /// requests refused before the key is known to be valid).
    pub fn rate(&self, key: &str, peek: bool) -> Option<RateVerdict> {
        let rl = self.def.rate_limit?;
        if peek {
            return Some(RateVerdict::fresh(rl));
        }
        let now = Instant::now();
        let mut windows = lock(&self.windows);
        let w = match windows.get_mut(key) {
            Some(w) => w,
            None => windows.entry(key.to_string()).or_insert(Window {
                start: now,
                used: 0,
            }),
        };
        if now.duration_since(w.start) >= rl.window {
            *w = Window {
                start: now,
                used: 0,
            };
        }
        let allowed = w.used < rl.limit;
        if allowed {
            w.used += 1;
        }
        let reset_in = rl.window.saturating_sub(now.duration_since(w.start));
        Some(RateVerdict {
            allowed,
            limit: rl.limit,
            remaining: rl.limit - w.used,
            reset_in,
        })
    }
}

struct Window {
    start: Instant,
    used: u32,
}

/// The outcome of a rate-limit check, and what the `X-RateLimit-*` headers say.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateVerdict {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Until the window ends.
    pub reset_in: Duration,
}

impl RateVerdict {
    fn fresh(rl: RateLimit) -> RateVerdict {
        RateVerdict {
            allowed: true,
            limit: rl.limit,
            remaining: rl.limit,
            reset_in: rl.window,
        }
    }

    /// Epoch seconds at which the window ends, rounded up so a client waiting until then is
    /// never early.
    pub fn reset_epoch(&self) -> u64 {
        let at = SystemTime::now() + self.reset_in;
        let d = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        d.as_secs() + u64::from(d.subsec_nanos() > 0)
    }

    /// Whole seconds for `Retry-After`, at least 1 (0 would invite an immediate retry).
    pub fn retry_after(&self) -> u64 {
        let d = self.reset_in;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }
}

fn evict_oldest(shard: &mut HashMap<String, Session>) {
    let mut ages: Vec<u64> = shard.values().map(|s| s.last_used).collect();
    let cut = ages.len() / 10;
    if cut == 0 {
        return;
    }
    let (_, nth, _) = ages.select_nth_unstable(cut);
    let nth = *nth;
    shard.retain(|_, s| s.last_used > nth);
}

fn shard_of(id: &str) -> usize {
    (fnv1a(id.as_bytes()) % SHARDS as u64) as usize
}

/// `sess_` and 24 random alphanumerics: unique enough that two dialogues never meet.
pub(crate) fn new_session_id() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    format!("sess_{}", Alphanumeric.sample_string(&mut rand::rng(), 24))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::SourceFile;

    fn agent(yaml: &str) -> AgentState {
        let script = Script::parse(&SourceFile::new("t.yaml", yaml)).unwrap();
        let mut state = State::new(script, DEFAULT_LOG_BUDGET);
        state.agents.remove("a").unwrap()
    }

    #[test]
    fn sessions_count_turns_and_earn_after_bits_for_later_messages() {
        let a = agent("agents:\n  a: {}\n");
        let s1 = a.step(None, "one", &[1]);
        assert_eq!(s1.turn, 1);
        assert!(!bit(&s1.earned, 0));
        let s2 = a.step(Some(&s1.session_id), "two", &[0]);
        assert_eq!(s2.turn, 2);
        assert!(bit(&s2.earned, 0));
        let other = a.step(Some("other"), "x", &[0]);
        assert_eq!(other.turn, 1);
        assert!(!bit(&other.earned, 0));
    }

    #[test]
    fn every_header_that_can_carry_a_key_is_redacted_and_no_other() {
        let secret = [
            "authorization",
            "proxy-authorization",
            "api-key",
            "x-api-key",
            "cookie",
            "x-auth-token",
            "x-session-id",
            "x-client-secret",
            "ocp-apim-subscription-key",
        ];
        for name in secret {
            assert!(is_secret_header(name), "{name}");
        }
        let shown = [
            "content-type",
            "content-length",
            "user-agent",
            "host",
            "accept",
            "x-env",
            crate::suite::model::REPLAY_IDENTITY_HEADER,
        ];
        for name in shown {
            assert!(!is_secret_header(name), "{name}");
        }
    }

    /// The walk finds a word wherever `contains` does: at the start, the end, inside another
    /// word, overlapping a near miss.
    #[test]
    fn secret_words_are_found_anywhere_in_a_name() {
        use proptest::prelude::*;
        let part = prop::sample::select(vec![
            "auth",
            "ke",
            "key",
            "tok",
            "token",
            "s",
            "secret",
            "session",
            "pas",
            "pass",
            "credential",
            "signature",
            "cookie",
            "-",
            "x",
            "a",
            "c",
            "p",
            "t",
            "k",
        ]);
        proptest!(ProptestConfig::with_cases(3000), |(parts in prop::collection::vec(part, 0..6))| {
            let name = parts.concat();
            let words = ["auth", "key", "token", "secret", "cookie", "session", "pass", "credential", "signature"];
            let want = words.iter().any(|w| name.contains(w));
            prop_assert_eq!(is_secret_header(&name), want, "{}", name);
        });
    }

    #[test]
    fn kept_headers_join_repeats_in_order() {
        use axum::http::HeaderValue;
        let mut h = HeaderMap::new();
        h.append("x-env", HeaderValue::from_static("a"));
        h.append("api-key", HeaderValue::from_static("k1"));
        h.append("x-env", HeaderValue::from_static("b"));
        h.append("api-key", HeaderValue::from_static("k2"));
        let kept = kept_headers(&h);
        let pairs: Vec<(&str, &str)> = kept.iter().map(|(n, v)| (&n[..], &v[..])).collect();
        assert_eq!(pairs, [("x-env", "a, b"), ("api-key", REDACTED)]);
    }

    #[test]
    fn rate_window() {
        let a = agent("agents:\n  a: {rate_limit: 2/m}\n");
        assert!(a.rate("k", false).unwrap().allowed);
        let second = a.rate("k", false).unwrap();
        assert!(second.allowed);
        assert_eq!(second.remaining, 0);
        let third = a.rate("k", false).unwrap();
        assert!(!third.allowed);
        assert!(third.retry_after() >= 59);
        assert!(a.rate("other", false).unwrap().allowed);
    }

    #[test]
    fn eviction_keeps_recent_sessions() {
        let mut shard = HashMap::new();
        for i in 0..20u64 {
            shard.insert(
                i.to_string(),
                Session {
                    turns: 0,
                    earned: Vec::new(),
                    last_used: i,
                    opening: 0,
                    ordinal: 0,
                },
            );
        }
        evict_oldest(&mut shard);
        assert_eq!(shard.len(), 17);
        assert!(shard.contains_key("19") && !shard.contains_key("0"));
    }
}
