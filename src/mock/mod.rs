//! The mock agent server (SPEC §6): a real HTTP server speaking the chat API of SPEC §2,
//! scripted by a YAML file or the built-in demo, for running suites offline and for testing
//! clients (including their handling of broken upstreams, through fault modes).
//!
//! `agenttest mock` runs it in the foreground ([`cli_main`]); `base_url: mock` and tests start
//! it in-process on a free loopback port ([`start_local`]). It never prints or logs an api key.
//! The script format is documented in `docs/mock.md`.

mod conn;
mod deliver;
mod draw;
mod engine;
mod replay;
mod routes;
mod script;
mod server;
mod state;
mod wire;

pub(crate) mod demo {
    //! The built-in demo script, kept as YAML so it goes through the same loader and checks
    //! as a user's script.
    pub const DEMO_YAML: &str = include_str!("demo.yaml");
}

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use engine::count_tokens;
pub use script::{Fault, RetryHeader, Script, DEFAULT_FALLBACK, DEFAULT_MODEL};
pub use state::{Api, RequestRecord};

use crate::diag::Diagnostic;

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
    /// ids, and a fixed cost per entry); past it the oldest entries go. Default 64 MiB.
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

/// `agenttest mock`: serve until Ctrl-C or SIGTERM; returns the exit code.
pub fn cli_main(args: crate::cli::MockArgs) -> i32 {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let loaded = match (&args.script, args.replay.is_empty()) {
        (Some(_), false) => {
            eprintln!("error: --script and --replay cannot be combined: replay serves goldens, not a script");
            return crate::exit::USAGE;
        }
        (Some(path), true) => Script::load(path),
        (None, false) => Script::replay(&args.replay),
        (None, true) => Ok(Script::demo()),
    };
    let mut script = match loaded {
        Ok(s) => s,
        Err(diags) => {
            eprint!("{}", render_refusal(&diags, color));
            return crate::exit::USAGE;
        }
    };
    if !args.replay.is_empty() {
        attach_replayed_suites(&mut script, &args.replay);
    }
    let addr = match resolve(&args.addr) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("error: {msg}");
            return crate::exit::USAGE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return crate::exit::USAGE;
        }
    };
    runtime.block_on(async move {
        let server = match start(script, addr).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: failed to listen on {addr}: {e}");
                return crate::exit::USAGE;
            }
        };
        let mut out = std::io::stdout().lock();
        // Scripts and tests wait for this exact line; a closed stdout is no reason to stop.
        let _ = writeln!(out, "listening on http://{}", server.addr);
        let _ = out.flush();
        drop(out);
        wait_for_stop_signal().await;
        server.shutdown().await;
        crate::exit::PASS
    })
}

/// Loads the suites beside the replayed goldens, so that replay compares messages after each
/// suite's `normalize` rules and answers only its dialogues' agent ids (SPEC §7). A suite that
/// does not load (an unset `${VAR}`, no agent id) only costs that precision: replay still
/// serves its goldens, matching messages exactly for any agent, and says so.
fn attach_replayed_suites(script: &mut Script, paths: &[std::path::PathBuf]) {
    let suite_paths: Vec<std::path::PathBuf> = paths
        .iter()
        .filter_map(|p| {
            let in_golden_dir = p
                .parent()
                .and_then(|d| d.file_name())
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".golden"))
                .map(str::to_string);
            match in_golden_dir {
                // `x.golden/<slug>.yaml`: the suite is `x.yaml` (or `x.yml`) beside the folder.
                Some(stem) if p.is_file() => {
                    let dir = p.parent()?.parent()?;
                    ["yaml", "yml"]
                        .iter()
                        .map(|ext| dir.join(format!("{stem}.{ext}")))
                        .find(|s| s.is_file())
                }
                _ => Some(p.clone()),
            }
        })
        .collect();
    let opts = crate::suite::LoadOptions {
        env: std::sync::Arc::new(|name: &str| std::env::var(name).ok()),
        overrides: crate::suite::EndpointOverrides {
            base_url: Some(crate::suite::BaseUrl::Replay),
            ..Default::default()
        },
    };
    match crate::suite::load_paths(&suite_paths, &opts) {
        Ok(loaded) => script.attach_suites(&loaded.suites),
        Err(diags) => {
            let first = diags
                .first()
                .map(|d| format!("{}: {}", d.location(), d.message))
                .unwrap_or_default();
            eprintln!(
                "warning: the suites beside the goldens did not load ({first}); replay matches \
                 messages exactly, without their normalize rules, for any agent id"
            );
        }
    }
}

fn render_refusal(diags: &[Diagnostic], color: bool) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&d.render(color));
        out.push('\n');
    }
    let n = diags.len();
    out.push_str(&format!(
        "error: {n} error{} found; not starting\n",
        if n == 1 { "" } else { "s" }
    ));
    out
}

fn resolve(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    text.to_socket_addrs()
        .map_err(|e| format!("invalid --addr `{text}`: {e} (expected HOST:PORT)"))?
        .next()
        .ok_or_else(|| format!("invalid --addr `{text}`: it resolves to no address"))
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_addresses() {
        assert_eq!(resolve("127.0.0.1:0").unwrap().port(), 0);
        assert!(resolve("nonsense").is_err());
    }
}
