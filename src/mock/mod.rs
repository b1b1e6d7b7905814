//! The mock agent server (SPEC §6): a real HTTP server speaking the chat API of SPEC §2,
//! scripted by a YAML file or the built-in demo, for running suites offline and for testing
//! clients (including their handling of broken upstreams, through fault modes).
//!
//! `agenttest mock` runs it in the foreground ([`cli_main`]); `base_url: mock` and tests start
//! it in-process on a free loopback port ([`start_local`]). It never prints or logs an api key.
//! The script format is documented in `docs/mock.md`.

mod cli;
mod conn;
mod deliver;
mod draw;
mod engine;
mod replay;
mod routes;
mod sample;
mod script;
mod server;
mod state;
mod wire;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use cli::cli_main;
pub use engine::count_tokens;
pub use script::{Fault, RetryHeader, Script, DEFAULT_FALLBACK, DEFAULT_MODEL};
pub use state::{Api, RequestRecord};

/// How long a stop waits for in-flight requests before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The mock's limits. [`Default`] is what `agenttest mock` and `base_url: mock` use; tests
/// shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MockOptions {
    /// A client must send a whole request head within this, or its connection is closed; it is
    /// also how long an idle keep-alive connection is kept. Default 10 s.
    pub header_read_timeout: Duration,
    /// The largest request body read; a larger one is a 413 in the route's error shape.
    /// Default 2 MiB.
    pub max_body_bytes: usize,
    /// Bytes of requests kept for `/_mock/requests` and `/_mock/sessions` (bodies, messages,
    /// ids, headers, and a fixed cost per entry and per header); past it the oldest entries
    /// go. Default 64 MiB.
    pub log_budget_bytes: usize,
}

impl Default for MockOptions {
    fn default() -> Self {
        MockOptions {
            header_read_timeout: Duration::from_secs(10),
            max_body_bytes: 2 * 1024 * 1024,
            log_budget_bytes: state::DEFAULT_LOG_BUDGET,
        }
    }
}

/// A running mock. Dropping it stops the server (in the background); [`MockServer::shutdown`]
/// stops it and waits.
pub struct MockServer {
    /// The bound address (with the real port when 0 was asked for).
    pub addr: SocketAddr,
    shared: Arc<wire::Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// Counters for tests and the runner's "nothing was sent" checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MockStats {
    /// Chat requests received, whatever their outcome.
    pub chat_requests: u64,
    /// Sessions currently remembered, across agents.
    pub sessions: usize,
    /// Keys minted through `POST /agents/{id}/api-keys`.
    pub api_keys_created: u64,
}

impl MockServer {
    /// `http://HOST:PORT`, with a wildcard bind address replaced by loopback so the URL can be
    /// used by a client.
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    pub fn stats(&self) -> MockStats {
        let (total, _) = self.shared.state.requests();
        MockStats {
            chat_requests: total,
            sessions: self.shared.state.session_count(),
            api_keys_created: self.shared.state.api_keys_created.load(Ordering::Relaxed),
        }
    }

    /// Every chat request still in the log (the newest, within
    /// [`MockOptions::log_budget_bytes`]), as `/_mock/requests`.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.state.requests().1
    }

    /// Each session id and its messages still in the log, as `/_mock/sessions`.
    pub fn sessions(&self) -> BTreeMap<String, Vec<String>> {
        self.shared.state.sessions()
    }

    /// Stops accepting, lets in-flight requests finish (bodies the mock stretches on purpose
    /// are cut) and waits for that, at most a few seconds.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(mut task) = self.task.take() {
            // The serve task itself gives up on a connection after the grace period.
            if tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_secs(1), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Binds `addr` (port 0: a free port) and serves `script` in the background on the current
/// tokio runtime, with the default [`MockOptions`].
pub async fn start(script: Script, addr: SocketAddr) -> std::io::Result<MockServer> {
    start_with(script, addr, MockOptions::default()).await
}

/// [`start`] with other limits.
pub async fn start_with(
    script: Script,
    addr: SocketAddr,
    options: MockOptions,
) -> std::io::Result<MockServer> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, shutdown) = watch::channel(false);
    let shared = Arc::new(wire::Shared {
        state: state::State::new(script, options.log_budget_bytes),
        shutdown: shutdown.clone(),
        max_body: options.max_body_bytes,
    });
    let serve = conn::ServeOptions {
        header_read_timeout: options.header_read_timeout,
        grace: SHUTDOWN_GRACE,
    };
    let task = tokio::spawn(conn::serve(
        listener,
        server::router(shared.clone()),
        serve,
        shutdown,
    ));
    Ok(MockServer {
        addr,
        shared,
        stop,
        task: Some(task),
    })
}

/// [`start`] on `127.0.0.1:0`.
pub async fn start_local(script: Script) -> std::io::Result<MockServer> {
    start(script, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
}

#[cfg(test)]
mod tests {
    /// The mock's modules, lowest first. Each may use only the modules before it, so they
    /// never import each other in a circle; the routes do not use each other either.
    const LAYERS: &[(&str, &str)] = &[
        ("draw", include_str!("draw.rs")),
        ("sample", include_str!("sample.rs")),
        ("replay", include_str!("replay.rs")),
        ("conn", include_str!("conn.rs")),
        ("script", include_str!("script.rs")),
        ("state", include_str!("state.rs")),
        ("engine", include_str!("engine.rs")),
        ("wire", include_str!("wire.rs")),
        ("deliver", include_str!("deliver.rs")),
        ("routes", include_str!("routes/thinnest.rs")),
        ("routes", include_str!("routes/openai.rs")),
        ("routes", include_str!("routes/openai/body.rs")),
        ("routes", include_str!("routes/http.rs")),
        ("server", include_str!("server.rs")),
        ("cli", include_str!("cli.rs")),
    ];

    fn rank(module: &str) -> Option<usize> {
        LAYERS.iter().position(|(name, _)| *name == module)
    }

    /// The mock modules `source` names through `super::` or `crate::mock::`, outside its tests.
    fn uses(source: &str) -> Vec<String> {
        let code = source.split("#[cfg(test)]").next().unwrap_or(source);
        let mut out = Vec::new();
        for prefix in ["super::", "crate::mock::"] {
            for (at, _) in code.match_indices(prefix) {
                let rest = &code[at + prefix.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.push(format!("{prefix}{name}"));
            }
        }
        out
    }

    #[test]
    fn modules_depend_one_way() {
        for (i, (module, source)) in LAYERS.iter().enumerate() {
            for used in uses(source) {
                let name = used.rsplit("::").next().unwrap_or_default();
                if *module == "routes" && used.starts_with("super::") {
                    panic!("a route uses another route: `{used}`");
                }
                // `super::{start, Script}` and the like name the mod.rs API, above everything.
                let Some(r) = rank(name) else { continue };
                assert!(r < i, "`{module}` uses `{used}`, which is not below it");
            }
        }
    }

    /// `no_response` sends no word of the reply on any route, whole or streamed, and counts
    /// none: a chat completion's message and its streamed role chunk have no `content` (an
    /// empty one is the empty reply a model may give) and no piece follows; the generic
    /// route's `output` has no `text`, streamed too; the agent API's body has no `response`.
    #[tokio::test]
    async fn no_response_sends_no_text_on_any_route_and_counts_none() {
        use serde_json::{json, Value};
        let yaml = "agents:\n  ag:\n    rules: [{when: '.', fault: no_response, reply: Fine words here.}]\n";
        let script = super::Script::parse(&crate::diag::SourceFile::new("m.yaml", yaml))
            .expect("the script parses");
        let server = super::start_local(script).await.expect("the mock starts");
        let base = server.base_url();
        let client = reqwest::Client::new();
        let post = |path: &str, body: Value| {
            let req = client
                .post(format!("{base}{path}"))
                .bearer_auth("k1234")
                .json(&body);
            async move {
                let resp = req.send().await.expect("an answer");
                assert_eq!(resp.status().as_u16(), 200);
                resp.text().await.expect("a body")
            }
        };
        let datas = |body: &str| -> Vec<String> {
            body.lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .map(str::to_string)
                .collect()
        };
        let json = |text: &str| serde_json::from_str::<Value>(text).expect("JSON");

        let chat = json!({"model": "ag", "messages": [{"role": "user", "content": "hi"}]});
        let whole = json(&post("/v1/chat/completions", chat.clone()).await);
        assert_eq!(whole["choices"][0]["message"], json!({"role": "assistant"}));
        assert_eq!(whole["usage"]["completion_tokens"], 0, "{whole}");
        let mut streamed = chat;
        streamed["stream"] = json!(true);
        streamed["stream_options"] = json!({"include_usage": true});
        let body = post("/v1/chat/completions", streamed).await;
        let events = datas(&body);
        assert_eq!(events.len(), 4, "role, finish, usage, [DONE]: {body}");
        assert!(!body.contains("\"content\""), "{body}");
        assert_eq!(
            json(&events[0])["choices"][0]["delta"],
            json!({"role": "assistant"})
        );
        assert_eq!(json(&events[1])["choices"][0]["finish_reason"], "stop");
        assert_eq!(json(&events[2])["usage"]["completion_tokens"], 0);
        assert_eq!(events[3], "[DONE]");

        let whole = json(&post("/http/ag/chat", json!({"input": "hi"})).await);
        assert_eq!(whole["output"], json!({}));
        assert_eq!(whole["usage"]["out"], 0, "{whole}");
        let body = post("/http/ag/chat", json!({"input": "hi", "stream": true})).await;
        let events = datas(&body);
        assert_eq!(events.len(), 2, "one event, then [DONE]: {body}");
        let last = json(&events[0]);
        assert_eq!(last["output"], json!({}), "{body}");
        assert_eq!(last["usage"], json!({"in": 1, "out": 0, "total": 1}));
        assert_eq!(events[1], "[DONE]");

        let agent = json(&post("/v1/agents/ag/chat", json!({"message": "hi"})).await);
        assert!(agent.get("response").is_none(), "{agent}");
        assert_eq!(agent["usage"]["output_tokens"], 0, "{agent}");
        server.shutdown().await;
    }
}
