//! Endpoints: where a dialogue's messages go and how a reply comes back, one file per kind.
//!
//! The runner sees two traits and nothing else: an [`Endpoint`] opens a [`Conversation`] per
//! dialogue execution, and a conversation sends one message at a time and knows its session
//! (a fresh id, one the server returned, or the history it keeps itself). [`connect`] is the
//! one place that matches on the endpoint kind: a new kind is one new file here plus one arm
//! there.
//!
//! Endpoints never retry, sleep, judge or redact: the runner does that the same way for every
//! kind. The HTTP work they share (headers, capped reads, rate headers) is in [`transport`].

mod client;
pub mod http;
pub mod openai;
mod pool;
pub mod session;
pub mod sse;
pub mod thinnest;
pub mod transport;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use crate::record::{Reply, SendError};
use crate::suite::model::{self, BaseUrl, EndpointKind, SessionMode};

/// One message of a dialogue, with what a kind may put around it (a path or body template).
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The user's message, `{{name}}`s already expanded.
    pub text: &'a str,
    /// 1 for the dialogue's first turn.
    pub turn: usize,
    /// The dialogue's vars and the captures so far.
    pub values: &'a BTreeMap<String, String>,
}

/// An endpoint built from the suite model: cheap to share between dialogues.
pub trait Endpoint: Send + Sync {
    /// A new conversation for one dialogue execution (a repeat or a rerun gets its own), of
    /// the dialogue named `dialogue`: under `base_url: replay` the conversation names it to the
    /// replay server ([`transport::Transport::naming`]), which answers it from its own golden.
    fn open(self: Arc<Self>, mode: SessionMode, dialogue: &str) -> Box<dyn Conversation>;
}

/// One dialogue execution's conversation with the endpoint.
pub trait Conversation: Send {
    /// Sends one message and returns the reply, whatever its status. A reply with text moves
    /// the conversation on (the server's session id adopted, the history grown); anything else
    /// leaves it as it was, so the runner may send the same message again.
    fn send<'a>(
        &'a mut self,
        message: Message<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<Reply, SendError>> + Send + 'a>>;

    /// The session id sent or adopted, for the reports.
    fn session_id(&self) -> Option<&str>;

    /// The method and URL of the last message sent ([`transport::Transport::request_line`]), for an
    /// error that must say where the request went. Empty before the first.
    fn request(&self) -> String;

    /// Whether a next turn can continue this conversation: `false` when it relies on the
    /// server's session id and the server has not returned one.
    fn can_continue(&self) -> bool {
        true
    }

    /// Where this conversation looks for the server's session id in a reply, when the suite
    /// said (the http kind's pointer), so a missing id can name the place it was looked for.
    fn session_pointer(&self) -> Option<&str> {
        None
    }
}

/// Where the in-process servers listen: the built-in mock for `base_url: mock`, one mock per
/// `mock_script:`, and one replay server per suite for `base_url: replay` (each serves that
/// suite's own goldens).
#[derive(Debug, Clone, Default)]
pub struct LocalServers {
    pub mock: Option<String>,
    pub scripted: HashMap<PathBuf, String>,
    pub replay: HashMap<PathBuf, String>,
}

impl LocalServers {
    /// The URL requests go to: the endpoint's own, or an in-process server's.
    pub fn resolve(&self, endpoint: &model::Endpoint, suite_path: &Path) -> Result<String, String> {
        match &endpoint.base_url {
            BaseUrl::Url(u) => Ok(u.clone()),
            BaseUrl::Mock => match &endpoint.mock_script {
                Some(script) => self.scripted.get(script).cloned().ok_or_else(|| {
                    format!("no mock is running for the script {}", script.display())
                }),
                None => self
                    .mock
                    .clone()
                    .ok_or_else(|| "the built-in mock agent is not running".to_string()),
            },
            BaseUrl::Replay => {
                self.replay.get(suite_path).cloned().ok_or_else(|| {
                    format!("no replay server is running for {}", suite_path.display())
                })
            }
        }
    }
}

/// Builds the endpoint a dialogue talks to. The one `match` on the kind.
pub fn connect(
    http: &transport::Client,
    local: &LocalServers,
    endpoint: &model::Endpoint,
    suite_path: &Path,
) -> Result<Arc<dyn Endpoint>, String> {
    let base = local.resolve(endpoint, suite_path)?;
    let http = http.clone();
    Ok(match &endpoint.kind {
        EndpointKind::Thinnest => Arc::new(thinnest::Thinnest::new(http, &base, endpoint)?),
        EndpointKind::OpenAi(spec) => Arc::new(openai::OpenAi::new(http, &base, endpoint, spec)?),
        EndpointKind::Http(spec) => Arc::new(http::Http::new(http, &base, endpoint, spec)?),
    })
}

/// A token count as a reply's JSON gives it: a whole number, also when written `7.0` (gateways
/// in Python or JavaScript that do arithmetic on the counts write them so) or as the string
/// `"7"`. Anything else (a fraction, a negative, a word) is no count.
pub fn token_count(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            let f = n.as_f64()?;
            // Below 2^53 a whole `f64` is the count exactly.
            (f >= 0.0 && f.fract() == 0.0 && f < 9_007_199_254_740_992.0).then_some(f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::token_count;
    use serde_json::json;

    #[test]
    fn a_count_is_a_whole_number_however_written() {
        for (v, n) in [
            (json!(7), Some(7)),
            (json!(7.0), Some(7)),
            (json!("7"), Some(7)),
            (json!(" 12 "), Some(12)),
        ] {
            assert_eq!(token_count(&v), n, "{v}");
        }
        for v in [
            json!(7.5),
            json!(-1),
            json!(-1.0),
            json!("seven"),
            json!(null),
            json!([7]),
            json!(1e300),
        ] {
            assert_eq!(token_count(&v), None, "{v}");
        }
    }
}
