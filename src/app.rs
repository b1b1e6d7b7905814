//! The edge: turns parsed flags, the process environment and the terminal into plain settings,
//! calls the library, prints, and returns an exit code. The only module that reads the
//! environment or decides about colors.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::cli::{ColorChoice, Command, ListArgs, PathArgs, RunArgs, SelectArgs};
use crate::diag::render_all;
use crate::exit;
use crate::judge::golden;
use crate::redact::Redactor;
use crate::report::console::{Console, ConsoleOptions, Verbosity};
use crate::run::select::{self, Partition, Selection};
use crate::run::{self, GoldenPolicy, Job, RunConfig};
use crate::suite::{self, BaseUrl, EndpointOverrides, LoadOptions, Suite};
use crate::util::{parse_duration, parse_rate};

/// `println!` that never panics: a reader that went away (`agenttest list | head`) is not an
/// error of ours, and a panic there would hide the real exit code.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

pub fn main(command: Command) -> i32 {
    match command {
        Command::Run(args) => cmd_run(args),
        Command::Validate(args) => cmd_validate(args),
        Command::List(args) => cmd_list(args),
        Command::Accept(args) => cmd_pending(args, true),
        Command::Reject(args) => cmd_pending(args, false),
        Command::Mock(args) => crate::mock::cli_main(args),
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Colors on stdout: `--color`, then `NO_COLOR`, then whether stdout is a terminal.
fn use_color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            terminal && env_var("NO_COLOR").is_none() && env_var("TERM").as_deref() != Some("dumb")
        }
    }
}

fn paths_or_default(paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from("suites")]
    } else {
        paths.to_vec()
    }
}

fn usage_error(message: &str) -> i32 {
    eprintln!("error: {message}");
    exit::USAGE
}

fn load_options(overrides: EndpointOverrides) -> LoadOptions {
    LoadOptions {
        env: Arc::new(|name: &str| std::env::var(name).ok()),
        overrides,
    }
}

/// Loads and checks every suite; on any error prints every diagnostic and returns the exit
/// code to leave with.
fn load(paths: &PathArgs, overrides: EndpointOverrides) -> Result<Vec<Suite>, i32> {
    let color = use_color(paths.color, std::io::stderr().is_terminal());
    match suite::load_paths(&paths_or_default(&paths.paths), &load_options(overrides)) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprint!("{}", w.render(color));
            }
            Ok(loaded.suites)
        }
        Err(diags) => {
            eprint!("{}", render_all(&diags, color));
            Err(exit::USAGE)
        }
    }
}

fn selection(args: &SelectArgs) -> Result<Selection, String> {
    Ok(Selection {
        filters: args.filter.clone(),
        tags: args.tag.clone(),
        partition: args
            .partition
            .as_deref()
            .map(Partition::parse)
            .transpose()?,
    })
}

/// Flag beats environment beats files.
fn overrides(args: &RunArgs) -> Result<EndpointOverrides, String> {
    let base_url = args
        .endpoint
        .clone()
        .or_else(|| env_var("AGENTTEST_BASE_URL"))
        .map(|u| parse_base_url(&u))
        .transpose()?;
    Ok(EndpointOverrides {
        base_url,
        agent_id: args.agent.clone().or_else(|| env_var("AGENTTEST_AGENT_ID")),
        timeout: args
            .timeout
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|e| format!("--timeout: {e}"))?
            .map(|t| {
                if t.is_zero() {
                    Err("--timeout must be more than zero".to_string())
                } else {
                    Ok(t)
                }
            })
            .transpose()?,
        retries: args.retries,
        rate_limit: args
            .rate
            .as_deref()
            .map(parse_rate)
            .transpose()
            .map_err(|e| format!("--rate: {e}"))?,
    })
}

fn env_overrides() -> Result<EndpointOverrides, String> {
    Ok(EndpointOverrides {
        base_url: env_var("AGENTTEST_BASE_URL")
            .map(|u| parse_base_url(&u))
            .transpose()?,
        agent_id: env_var("AGENTTEST_AGENT_ID"),
        ..EndpointOverrides::default()
    })
}

fn parse_base_url(text: &str) -> Result<BaseUrl, String> {
    match text.trim() {
        "mock" => Ok(BaseUrl::Mock),
        "replay" => Ok(BaseUrl::Replay),
        u if u.starts_with("http://") || u.starts_with("https://") => {
            Ok(BaseUrl::Url(u.trim_end_matches('/').to_string()))
        }
        other => Err(format!(
            "endpoint `{other}` is not a URL: use http(s)://HOST[:PORT] or `mock`"
        )),
    }
}

/// A CI matrix slice can be empty when there are few dialogues: that is not the "filters
/// selected nothing" mistake exit 4 reports, so it passes with a note.
fn empty_partition_is_fine(suites: &[Suite], sel: &Selection) -> bool {
    sel.partition.is_some()
        && !select::select(
            suites,
            &Selection {
                partition: None,
                ..sel.clone()
            },
        )
        .is_empty()
}

fn cmd_validate(args: PathArgs) -> i32 {
    let overrides = match env_overrides() {
        Ok(o) => o,
        Err(e) => return usage_error(&e),
    };
    match load(&args, overrides) {
        Ok(suites) => {
            let dialogues: usize = suites.iter().map(|s| s.dialogues.len()).sum();
            outln!(
                "{} suite{} and {} dialogue{} are valid",
                suites.len(),
                if suites.len() == 1 { "" } else { "s" },
                dialogues,
                if dialogues == 1 { "" } else { "s" }
            );
            exit::PASS
        }
        Err(code) => code,
    }
}

fn cmd_list(args: ListArgs) -> i32 {
    let overrides = match env_overrides() {
        Ok(o) => o,
        Err(e) => return usage_error(&e),
    };
    let sel = match selection(&args.select) {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    let suites = match load(&args.paths, overrides) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let picked = select::select(&suites, &sel);
    for (si, di) in &picked {
        outln!("{}", suites[*si].display_name(&suites[*si].dialogues[*di]));
    }
    if picked.is_empty() {
        if empty_partition_is_fine(&suites, &sel) {
            eprintln!("this partition holds none of the selected dialogues");
            return exit::PASS;
        }
        eprintln!("no dialogue selected");
        exit::NOTHING_SELECTED
    } else {
        exit::PASS
    }
}

/// `accept` and `reject`: act on the pending `.new` goldens under the paths. Sends nothing.
fn cmd_pending(args: PathArgs, accept: bool) -> i32 {
    let color = use_color(args.color, std::io::stderr().is_terminal());
    let pending = match golden::find_pending(&paths_or_default(&args.paths)) {
        Ok(p) => p,
        Err(diags) => {
            eprint!("{}", render_all(&diags, color));
            return exit::USAGE;
        }
    };
    if pending.is_empty() {
        outln!("no pending goldens");
        return exit::PASS;
    }
    let actions = if accept {
        golden::accept(&pending)
    } else {
        golden::reject(&pending)
    };
    let mut failed = 0;
    let (mut created, mut changed, mut kept, mut rejected) = (0, 0, 0, 0);
    for a in &actions {
        match a {
            golden::PendingAction::Created(p) => {
                created += 1;
                outln!("created   {}", p.display());
            }
            golden::PendingAction::Changed(p) => {
                changed += 1;
                outln!("changed   {}", p.display());
            }
            golden::PendingAction::Kept(p) => {
                kept += 1;
                outln!("unchanged {}", p.display());
            }
            golden::PendingAction::Rejected(p) => {
                rejected += 1;
                outln!("deleted   {}", p.display());
            }
            golden::PendingAction::Failed(p, e) => {
                failed += 1;
                eprintln!("error: {}: {e}", p.display());
            }
        }
    }
    if accept {
        outln!("accepted: {created} created, {changed} changed, {kept} unchanged");
    } else {
        outln!("rejected: {rejected} deleted");
    }
    if failed > 0 {
        eprintln!(
            "{failed} pending golden{} could not be processed and {} left in place",
            if failed == 1 { "" } else { "s" },
            if failed == 1 { "was" } else { "were" }
        );
        exit::USAGE
    } else {
        exit::PASS
    }
}

fn cmd_run(args: RunArgs) -> i32 {
    let overrides = match overrides(&args) {
        Ok(o) => o,
        Err(e) => return usage_error(&e),
    };
    let sel = match selection(&args.select) {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    if args.jobs == 0 {
        return usage_error("--jobs must be at least 1");
    }
    if args.repeat == Some(0) {
        return usage_error("--repeat must be at least 1");
    }
    if let Some(k) = args.min_pass {
        match args.repeat {
            None => return usage_error("--min-pass needs --repeat N"),
            Some(n) if k == 0 || k > n => {
                return usage_error("--min-pass must be between 1 and --repeat")
            }
            Some(_) => {}
        }
    }
    if args.bless && args.no_golden {
        return usage_error("--bless and --no-golden contradict each other");
    }
    let suites = match load(&args.paths, overrides) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let picked = select::select(&suites, &sel);
    if picked.is_empty() {
        if empty_partition_is_fine(&suites, &sel) {
            // The CI step that publishes the reports still finds them.
            let empty = crate::record::RunReport {
                started_at: std::time::SystemTime::now(),
                duration: std::time::Duration::ZERO,
                interrupted: false,
                dialogues: Vec::new(),
                warnings: Vec::new(),
            };
            if write_reports(&args, &empty) {
                return exit::ERRORED;
            }
            outln!("this partition holds none of the selected dialogues: nothing to run");
            outln!("0 passed, 0 failed, 0 errored, 0 skipped");
            return exit::PASS;
        }
        eprintln!("error: the paths and filters selected no dialogue");
        return exit::NOTHING_SELECTED;
    }
    let suites: Vec<Arc<Suite>> = suites.into_iter().map(Arc::new).collect();
    let jobs: Vec<Job> = picked
        .iter()
        .map(|(si, di)| Job {
            suite: suites[*si].clone(),
            dialogue: *di,
        })
        .collect();
    let redactor = Redactor::new(suites.iter().flat_map(|s| &s.dialogues).flat_map(|d| {
        let mut secrets = d.endpoint.secrets();
        // Credentials in a URL (`https://user:pass@host`) would otherwise ride along in
        // every transport error message.
        if let BaseUrl::Url(u) = &d.endpoint.base_url {
            secrets.extend(url_userinfo(u).map(secrecy::SecretString::from));
        }
        secrets
    }));
    let stdout_tty = std::io::stdout().is_terminal();
    let console = Console::new(ConsoleOptions {
        color: use_color(args.paths.color, stdout_tty),
        progress: std::io::stderr().is_terminal() && env_var("CI").is_none() && !args.quiet,
        verbosity: if args.quiet {
            Verbosity::Quiet
        } else if args.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        },
    });
    let cfg = RunConfig {
        jobs: args.jobs,
        fail_fast: args.fail_fast,
        golden: if args.bless {
            GoldenPolicy::Bless
        } else if args.no_golden {
            GoldenPolicy::Off
        } else {
            GoldenPolicy::Compare
        },
        repeat: args.repeat,
        min_pass: args.min_pass,
        reruns: args.reruns,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return usage_error(&format!("failed to start the async runtime: {e}")),
    };
    let uses_mock = jobs
        .iter()
        .any(|j| j.suite.dialogues[j.dialogue].endpoint.base_url == BaseUrl::Mock);
    // Replay serves each suite's own goldens; a suite that has none cannot run offline, and
    // that is a config error found before anything is sent.
    let mut replay_scripts = Vec::new();
    let mut replay_errors = Vec::new();
    for suite in &suites {
        let replayed = jobs.iter().any(|j| {
            Arc::ptr_eq(&j.suite, suite)
                && j.suite.dialogues[j.dialogue].endpoint.base_url == BaseUrl::Replay
        });
        if replayed {
            match crate::mock::Script::replay_suite(suite) {
                Ok(script) => replay_scripts.push((suite.path.clone(), script)),
                Err(diags) => replay_errors.extend(diags),
            }
        }
    }
    if !replay_errors.is_empty() {
        eprint!(
            "{}",
            render_all(
                &replay_errors,
                use_color(args.paths.color, std::io::stderr().is_terminal())
            )
        );
        return exit::USAGE;
    }

    let mut report = runtime.block_on(async {
        let mut servers = Vec::new();
        let mut local = run::LocalServers::default();
        if uses_mock {
            match crate::mock::start_local(crate::mock::Script::demo()).await {
                Ok(m) => {
                    local.mock = Some(m.base_url());
                    servers.push(m);
                }
                Err(e) => {
                    eprintln!("error: failed to start the built-in mock agent: {e}");
                    return None;
                }
            }
        }
        for (path, script) in replay_scripts {
            match crate::mock::start_local(script).await {
                Ok(m) => {
                    local.replay.insert(path, m.base_url());
                    servers.push(m);
                }
                Err(e) => {
                    eprintln!(
                        "error: failed to start the replay server for {}: {e}",
                        path.display()
                    );
                    return None;
                }
            }
        }
        let cancel = CancellationToken::new();
        spawn_signal_handler(cancel.clone());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let printer = tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                console.event(&ev);
            }
            console
        });
        let report = run::run(jobs, cfg, redactor, local, tx, cancel).await;
        let console = printer.await.ok()?;
        // The in-process servers live until every dialogue is done.
        drop(servers);
        Some((report, console))
    });
    let Some((ref mut report, ref console)) = report else {
        return exit::USAGE;
    };

    if !args.no_golden {
        for orphan in golden::orphans(suites.iter().map(|s| &**s)) {
            report.warnings.push(format!(
                "golden file {} has no dialogue behind it",
                orphan.display()
            ));
        }
    }
    let report_failed = write_reports(&args, report);
    console.finish(report);
    let code = exit_code(report);
    let bless_failed = report
        .dialogues
        .iter()
        .any(|d| matches!(d.bless, Some(crate::record::BlessAction::Failed(..))));
    // A golden that could not be written is not a pass: the gate did not do what was asked.
    if (report_failed || bless_failed) && code == exit::PASS {
        exit::ERRORED
    } else {
        code
    }
}

/// The `user:pass` of `scheme://user:pass@host/...`, if any.
fn url_userinfo(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    (!userinfo.is_empty()).then(|| userinfo.to_string())
}

/// Writes the `--junit` and `--json` reports that were asked for; true when one failed.
fn write_reports(args: &RunArgs, report: &crate::record::RunReport) -> bool {
    let mut failed = false;
    if let Some(path) = &args.junit {
        if let Err(e) = crate::report::junit::write(report, path) {
            eprintln!(
                "error: failed to write the JUnit report {}: {e}",
                path.display()
            );
            failed = true;
        }
    }
    if let Some(path) = &args.json {
        if let Err(e) = crate::report::json::write(report, path) {
            eprintln!(
                "error: failed to write the JSON report {}: {e}",
                path.display()
            );
            failed = true;
        }
    }
    failed
}

/// SPEC §4.2: interrupted beats failed beats errored.
pub fn exit_code(report: &crate::record::RunReport) -> i32 {
    let t = report.totals();
    if report.interrupted {
        exit::INTERRUPTED
    } else if t.failed > 0 {
        exit::FAILED
    } else if t.errored > 0 {
        exit::ERRORED
    } else {
        exit::PASS
    }
}

/// First Ctrl-C (or SIGTERM, as CI systems send on cancel): stop sending, finish the reports.
/// Second: leave at once.
fn spawn_signal_handler(cancel: CancellationToken) {
    tokio::spawn(async move {
        let mut seen = 0;
        loop {
            wait_for_signal().await;
            seen += 1;
            if seen == 1 {
                eprintln!("\ninterrupted: stopping, writing reports for what completed (Ctrl-C again to quit now)");
                cancel.cancel();
            } else {
                std::process::exit(exit::INTERRUPTED);
            }
        }
    });
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::url_userinfo;

    #[test]
    fn finds_credentials_in_urls() {
        assert_eq!(
            url_userinfo("https://bob:s3cret@api.example.com/x").as_deref(),
            Some("bob:s3cret")
        );
        assert_eq!(url_userinfo("https://api.example.com/x@y"), None);
        assert_eq!(url_userinfo("http://127.0.0.1:8080"), None);
    }
}
