//! `agenttest mock`: loads the script (or the goldens to replay), refuses a bad one with
//! every diagnostic and exit 2, serves until Ctrl-C or SIGTERM, and says `listening on` once
//! ready. The command's edge: it prints, but reads neither the environment nor the terminal
//! (the app layer hands it colors and variables).

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use super::{start, Script};
use crate::cli::MockArgs;
use crate::diag::Diagnostic;
use crate::suite::EnvLookup;

/// `agenttest mock`: serve until Ctrl-C or SIGTERM; returns the exit code.
///
/// `color` says whether diagnostics on stderr are colored and `env` looks up the variables
/// the suites beside replayed goldens name: the CLI layer resolves both, so nothing here reads
/// the process environment.
pub fn cli_main(args: MockArgs, color: bool, env: EnvLookup) -> i32 {
    let loaded = match (&args.script, args.replay.is_empty()) {
        (Some(_), false) => {
            crate::errln!("error: --script and --replay cannot be combined: replay serves goldens, not a script");
            return crate::exit::USAGE;
        }
        (Some(path), true) => Script::load(path),
        (None, false) => Script::replay(&args.replay),
        (None, true) => Ok(Script::demo()),
    };
    let mut script = match loaded {
        Ok(s) => s,
        Err(diags) => {
            crate::err!("{}", render_refusal(&diags, color));
            return crate::exit::USAGE;
        }
    };
    if !args.replay.is_empty() {
        attach_replayed_suites(&mut script, &args.replay, env);
    }
    let addr = match resolve(&args.addr) {
        Ok(a) => a,
        Err(msg) => {
            crate::errln!("error: {msg}");
            return crate::exit::USAGE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            crate::errln!("error: failed to start the async runtime: {e}");
            return crate::exit::USAGE;
        }
    };
    runtime.block_on(async move {
        let server = match start(script, addr).await {
            Ok(s) => s,
            Err(e) => {
                crate::errln!("error: failed to listen on {addr}: {e}");
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
fn attach_replayed_suites(script: &mut Script, paths: &[PathBuf], env: EnvLookup) {
    let suite_paths: Vec<PathBuf> = paths
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
        env,
        read: Default::default(),
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
            crate::errln!(
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

    #[test]
    fn refusals_count_their_errors() {
        let d = Diagnostic::error("m.yaml", crate::diag::Span::new(1, 1), "bad");
        let text = render_refusal(&[d.clone(), d], false);
        assert!(
            text.ends_with("error: 2 errors found; not starting\n"),
            "{text}"
        );
    }
}
