//! `agenttest run`, in the order it happens: settings from flags and environment, the suites
//! loaded and the dialogues selected, the in-process servers started, the run executed with the
//! console following its events, then the reports written and the exit code decided.

use std::collections::HashMap;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::signals::spawn_signal_handler;
use super::{
    empty_partition_is_fine, env_var, load_all, overrides, selection, usage_error, use_color,
};
use crate::cli::RunArgs;
use crate::diag::render_all;
use crate::exit;
use crate::judge::golden;
use crate::outln;
use crate::record::{BlessAction, Event, RunReport, Slice};
use crate::redact::Redactor;
use crate::report;
use crate::report::console::{Console, ConsoleOptions, Verbosity};
use crate::report::spill::Spill;
use crate::run::select::{self, Selection};
use crate::run::{self, GoldenPolicy, Job, LocalServers, RunConfig};
use crate::suite::model::MinPass;
use crate::suite::{BaseUrl, EndpointOverrides, Suite};

pub(super) fn cmd_run(args: RunArgs) -> i32 {
    let (overrides, sel, cfg) = match settings(&args) {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    let (suites, inputs) = match load_all(&args.paths, overrides) {
        Ok(loaded) => (loaded.suites, loaded.inputs),
        Err(code) => return code,
    };
    if let Err(e) = reports_clear_of_suites(&args, &suites, &inputs) {
        return usage_error(&e);
    }
    let picked = select::select(&suites, &sel);
    if picked.is_empty() {
        return nothing_selected(&args, &suites, &sel);
    }
    // Before the suites are shared: the slice records the selection it was cut from.
    let partition = slice(&suites, &sel);
    let suites: Vec<Arc<Suite>> = suites.into_iter().map(Arc::new).collect();
    let jobs: Vec<Job> = picked
        .iter()
        .map(|(si, di)| Job {
            suite: suites[*si].clone(),
            dialogue: *di,
        })
        .collect();
    let scripts = match served(&args, &jobs) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let redactor = redactor(&suites);
    // One thread runs every dialogue: requests spend their time waiting on the network, and
    // on a small machine shared with a local agent a second worker thread costs more in
    // wake-ups and cross-thread hand-offs than it gives (measured in benches/run_bench.rs).
    // The console prints on a thread of its own, and blocking file work has tokio's pool.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return usage_error(&format!("failed to start the async runtime: {e}")),
    };
    let servers = Servers {
        demo: uses_demo_mock(&jobs),
        scripts: scripts.into_iter().collect(),
    };
    let (printer, events) = Printer::spawn(console(&args));
    let cancel = CancellationToken::new();
    let spill = Spill::for_reports(
        args.json.as_deref(),
        args.junit.as_deref(),
        args.html.as_deref(),
    );
    let keep = |index, result| match &spill {
        Some(spill) => spill.keep(index, result),
        None => result,
    };
    let executed = runtime.block_on(execute(
        jobs, cfg, redactor, events, servers, &cancel, &keep,
    ));
    let Some(mut report) = executed else {
        return exit::USAGE;
    };
    report.partition = partition;
    let printed = |report, bless| runtime.block_on(printer.finish(report, bless, &cancel));
    let code = finish(&args, &suites, &mut report, spill.as_ref(), printed);
    // A Ctrl-C (or SIGTERM) after the last dialogue, while the reports were written (to a FIFO
    // that waited for its reader, say), still ends the run as interrupted (SPEC §4: exit 130),
    // as the notice it printed said; the reports hold every result, and say so.
    if cancel.is_cancelled() {
        exit::INTERRUPTED
    } else {
        code
    }
}

/// Every flag checked and resolved with the environment, before anything is loaded.
fn settings(args: &RunArgs) -> Result<(EndpointOverrides, Selection, RunConfig), String> {
    let overrides = overrides(args)?;
    let sel = selection(&args.select)?;
    if args.jobs == 0 {
        return Err("--jobs must be at least 1".into());
    }
    if args.repeat == Some(0) {
        return Err("--repeat must be at least 1".into());
    }
    let min_pass = match args.min_pass.as_deref().map(str::trim) {
        None => None,
        Some("baseline") => Some(MinPass::Baseline),
        Some(text) => {
            let k: u32 = text
                .parse()
                .map_err(|_| format!("--min-pass `{text}`: write a count K or `baseline`"))?;
            // Alone it sets K for every dialogue (SPEC §9.3), each held to at most its own
            // `repeat`, as `--repeat N` caps a dialogue's own `min_pass`.
            match args.repeat {
                _ if k == 0 => return Err("--min-pass must be at least 1".into()),
                Some(n) if k > n => return Err("--min-pass must be between 1 and --repeat".into()),
                _ => Some(MinPass::Count(k)),
            }
        }
    };
    if let Some(a) = args.alpha {
        if !(a > 0.0 && a < 1.0) {
            return Err("--alpha must be between 0 and 1 (exclusive)".into());
        }
    }
    if args.bless && args.no_golden {
        return Err("--bless and --no-golden contradict each other".into());
    }
    // Last: it makes the reports' directories, which a flag refused above must not leave
    // behind.
    super::ready_report_paths(
        args.junit.as_deref(),
        args.json.as_deref(),
        args.html.as_deref(),
    )?;
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
        min_pass,
        alpha: args.alpha,
        reruns: args.reruns,
        judge_cache: !args.no_cache,
    };
    Ok((overrides, sel, cfg))
}

/// A report never replaces a file of the run's own: a suite, a file the suites are made of
/// (`agenttest.yaml`, a `mock_script:`, `matrix_file:` or `system_file:`: a typo of a flag
/// would otherwise leave the next run nothing to read), or anything in a suite's golden
/// directory (`--json suites/<TAB>` completed to a golden). A plain run never writes a golden
/// (SPEC §4), and a report flag must be no way round that. Checked once the suites are known,
/// before anything is sent.
fn reports_clear_of_suites(
    args: &RunArgs,
    suites: &[Suite],
    inputs: &[PathBuf],
) -> Result<(), String> {
    let canonical = |p: &std::path::Path| std::fs::canonicalize(p).ok();
    let files: std::collections::HashSet<PathBuf> =
        suites.iter().filter_map(|s| canonical(&s.path)).collect();
    let judges = suites.iter().filter_map(|s| s.judge.as_deref());
    let endpoints = suites
        .iter()
        .flat_map(|s| s.dialogues.iter().map(|d| &*d.endpoint))
        .chain(judges);
    let read: std::collections::HashSet<PathBuf> = inputs
        .iter()
        .chain(endpoints.filter_map(|e| e.mock_script.as_ref()))
        .filter_map(|p| canonical(p))
        .collect();
    let golden_dirs: std::collections::HashSet<PathBuf> = suites
        .iter()
        .filter_map(|s| canonical(&s.golden_dir))
        .collect();
    let reports = super::report_flags(
        args.junit.as_deref(),
        args.json.as_deref(),
        args.html.as_deref(),
    );
    for (flag, path) in reports {
        // Only a file the write would replace: a device or stdout replaces nothing.
        let Some(target) = crate::fsutil::replaced_file(path) else {
            continue;
        };
        let shown = path.display();
        if files.contains(&target) {
            return Err(format!(
                "{flag} {shown}: is a suite of this run, which the report would replace"
            ));
        }
        if read.contains(&target) {
            return Err(format!(
                "{flag} {shown}: is a file this run's suites are made of (a config, mock script, \
                 matrix or system prompt), which the report would replace"
            ));
        }
        if target.parent().is_some_and(|d| golden_dirs.contains(d)) {
            return Err(format!(
                "{flag} {shown}: is in a golden directory of this run, which only --bless and \
                 accept write"
            ));
        }
    }
    Ok(())
}

/// Exit 4, unless a CI partition simply holds none of the selected dialogues: that passes.
/// Either way the reports asked for are written, empty (SPEC §10), so the CI step that
/// publishes them still finds them.
fn nothing_selected(args: &RunArgs, suites: &[Suite], sel: &Selection) -> i32 {
    let partition_is_fine = empty_partition_is_fine(suites, sel);
    let empty = RunReport {
        started_at: std::time::SystemTime::now(),
        duration: std::time::Duration::ZERO,
        interrupted: false,
        dialogues: Vec::new(),
        warnings: Vec::new(),
        judge: Default::default(),
        nothing_selected: !partition_is_fine,
        partition: slice(suites, sel),
    };
    let report_failed = write_reports(args, &empty, None);
    if partition_is_fine {
        if report_failed {
            return exit::ERRORED;
        }
        outln!("this partition holds none of the selected dialogues: nothing to run");
        outln!("0 passed, 0 failed, 0 errored, 0 skipped");
        return exit::PASS;
    }
    let _ = writeln!(
        std::io::stderr(),
        "error: the paths and filters selected no dialogue"
    );
    exit::NOTHING_SELECTED
}

/// The `--partition` slice the report records, so that `merge` can find a missing shard.
fn slice(suites: &[Suite], sel: &Selection) -> Option<Slice> {
    let p = sel.partition?;
    Some(Slice {
        k: p.k,
        n: p.n,
        selection: Some(select::selection_digest(suites, sel)),
    })
}

/// The in-process servers a run needs: the built-in demo mock, and one server per script
/// (`replay` says whether it serves a suite's goldens or a `mock_script:`).
struct Servers {
    demo: bool,
    scripts: Vec<(PathBuf, crate::mock::Script, bool)>,
}

/// Every endpoint a job talks to: its dialogue's, and its suite's judge.
fn endpoints_of(jobs: &[Job]) -> impl Iterator<Item = &crate::suite::model::Endpoint> {
    jobs.iter().flat_map(|j| {
        std::iter::once(&*j.suite.dialogues[j.dialogue].endpoint).chain(j.suite.judge.as_deref())
    })
}

fn uses_demo_mock(jobs: &[Job]) -> bool {
    endpoints_of(jobs).any(|ep| ep.base_url == BaseUrl::Mock && ep.mock_script.is_none())
}

/// The scripts the run's in-process servers serve (replayed goldens, then `mock_script:`s),
/// or every error of every one of them at once (exit 2: nothing was sent).
fn served(args: &RunArgs, jobs: &[Job]) -> Result<Vec<super::scripts::Served>, i32> {
    let uses = || jobs.iter().map(|j| (&*j.suite, j.dialogue));
    let (mut served, mut errors) = super::scripts::replay_scripts(uses());
    let (scripts, script_errors) = super::scripts::mock_scripts(uses());
    served.extend(scripts);
    errors.extend(script_errors);
    refused(args, errors).map(|()| served)
}

/// Prints every error of the scripts that could not be loaded (exit 2: nothing was sent).
fn refused(args: &RunArgs, errors: Vec<crate::diag::Diagnostic>) -> Result<(), i32> {
    if errors.is_empty() {
        return Ok(());
    }
    let color = use_color(args.paths.color, std::io::stderr().is_terminal());
    let _ = write!(std::io::stderr(), "{}", render_all(&errors, color));
    Err(exit::USAGE)
}

/// One redactor for every secret of every loaded endpoint, judges' included.
fn redactor(suites: &[Arc<Suite>]) -> Redactor {
    let endpoints = suites.iter().flat_map(|s| {
        s.dialogues
            .iter()
            .map(|d| &*d.endpoint)
            .chain(s.judge.as_deref())
    });
    Redactor::new(endpoints.flat_map(|ep| {
        let mut secrets = ep.secrets();
        // Credentials in a URL (`https://user:pass@host`) would otherwise ride along in
        // every transport error message.
        if let BaseUrl::Url(u) = &ep.base_url {
            secrets.extend(url_credentials(u).map(secrecy::SecretString::from));
        }
        secrets
    }))
}

fn console(args: &RunArgs) -> Console {
    Console::new(ConsoleOptions {
        color: use_color(args.paths.color, crate::report::console::out_is_terminal()),
        progress: std::io::stderr().is_terminal() && env_var("CI").is_none() && !args.quiet,
        verbosity: if args.quiet {
            Verbosity::Quiet
        } else if args.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        },
    })
}

/// Starts the in-process servers the jobs need, runs the jobs with their events going to the
/// console, and stops the servers once every dialogue is done.
async fn execute(
    jobs: Vec<Job>,
    cfg: RunConfig,
    redactor: Redactor,
    events: UnboundedSender<Event>,
    servers: Servers,
    cancel: &CancellationToken,
    keep: run::Keep<'_>,
) -> Option<RunReport> {
    let (local, servers) = start_servers(servers).await?;
    spawn_signal_handler(cancel.clone());
    let report = run::run(jobs, cfg, redactor, local, events, cancel.clone(), keep).await;
    drop(servers);
    Some(report)
}

/// How long an interrupted run still waits for the console to say its last word: plenty for
/// a terminal, and a bound when nobody reads the pipe any more.
const PRINT_GRACE: Duration = Duration::from_secs(2);

/// The console on a thread of its own. A reader that stops reading (a full pipe, a paused
/// pager) blocks that thread's writes and nothing else: the runtime goes on running the
/// dialogues, the signal handler has a thread of its own, and the reports are written
/// whatever the console does.
struct Printer {
    last_word: std::sync::mpsc::Sender<(RunReport, Option<usize>)>,
    done: tokio::sync::oneshot::Receiver<()>,
    thread: std::thread::Thread,
}

/// How long the console gathers events before it prints them: a person cannot see 5 ms, and
/// waking its thread once per batch rather than once per dialogue spares a fast run
/// thousands of wake-ups.
const PRINT_BATCH: Duration = Duration::from_millis(5);

impl Printer {
    /// The printer, and the sender the run's events go to.
    fn spawn(console: Console) -> (Printer, UnboundedSender<Event>) {
        let (events, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
        let (last_word, report) = std::sync::mpsc::channel::<(RunReport, Option<usize>)>();
        let (done_tx, done) = tokio::sync::oneshot::channel();
        let spawned = std::thread::spawn(move || {
            while let Some(ev) = rx.blocking_recv() {
                console.event(&ev);
                while let Ok(ev) = rx.try_recv() {
                    console.event(&ev);
                }
                // Woken early by `finish`, so the last batch is not waited for.
                std::thread::park_timeout(PRINT_BATCH);
            }
            match report.recv() {
                Ok((report, Some(not_created))) => console.finish_blessed(&report, not_created),
                Ok((report, None)) => console.finish(&report),
                Err(_) => {}
            }
            let _ = done_tx.send(());
        });
        let thread = spawned.thread().clone();
        (
            Printer {
                last_word,
                done,
                thread,
            },
            events,
        )
    }

    /// Hands the console the finished report (and, under `--bless`, how many dialogues had no
    /// golden to leave alone) and waits until it has printed everything; once the run is
    /// interrupted, at most [`PRINT_GRACE`] more. False when it gave up.
    async fn finish(
        self,
        report: RunReport,
        bless: Option<usize>,
        cancel: &CancellationToken,
    ) -> bool {
        let _ = self.last_word.send((report, bless));
        self.thread.unpark();
        tokio::select! {
            _ = self.done => true,
            _ = async {
                cancel.cancelled().await;
                tokio::time::sleep(PRINT_GRACE).await;
            } => false,
        }
    }
}

/// The built-in mock (when an endpoint says `base_url: mock` without a script), one mock per
/// `mock_script:` and one replay server per replayed suite, on free loopback ports.
async fn start_servers(wanted: Servers) -> Option<(LocalServers, Vec<crate::mock::MockServer>)> {
    let mut servers = Vec::new();
    let mut local = LocalServers::default();
    if wanted.demo {
        match crate::mock::start_local(crate::mock::Script::demo()).await {
            Ok(m) => {
                local.mock = Some(m.base_url());
                servers.push(m);
            }
            Err(e) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "error: failed to start the built-in mock agent: {e}"
                );
                return None;
            }
        }
    }
    for (path, script, replay) in wanted.scripts {
        match crate::mock::start_local(script).await {
            Ok(m) => {
                let table = if replay {
                    &mut local.replay
                } else {
                    &mut local.scripted
                };
                table.insert(path, m.base_url());
                servers.push(m);
            }
            Err(e) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "error: failed to start the in-process server for {}: {e}",
                    path.display()
                );
                return None;
            }
        }
    }
    Some((local, servers))
}

/// Orphan warnings, the reports, the console's last word (`printed` hands it the report and,
/// under `--bless`, how many goldens were not created, and says whether it was printed), and
/// the exit code. The files come first: they must land whatever the console's reader does.
/// The results go to the console at the end, so `report` is left without its dialogues and
/// warnings.
fn finish(
    args: &RunArgs,
    suites: &[Arc<Suite>],
    report: &mut RunReport,
    spill: Option<&Spill>,
    printed: impl FnOnce(RunReport, Option<usize>) -> bool,
) -> i32 {
    if !args.no_golden {
        for orphan in golden::orphans(suites.iter().map(|s| &**s)) {
            report.warnings.push(format!(
                "golden file {} has no dialogue behind it",
                orphan.display()
            ));
        }
    }
    let not_created = args.bless.then(|| settle_bless(suites, report));
    let report_failed = write_reports(args, report, spill);
    let bless_failed = bless_failed(report);
    let verdict = exit_code(report);
    // The console's last word gets the results themselves: a copy would hold every
    // transcript twice at the end of a big run.
    let handed = RunReport {
        dialogues: std::mem::take(&mut report.dialogues),
        warnings: std::mem::take(&mut report.warnings),
        ..*report
    };
    let code = if printed(handed, not_created) {
        verdict
    } else {
        // Interrupted while nobody read the console: the reports are written; leave.
        exit::INTERRUPTED
    };
    // A golden that could not be written is not a pass: the gate did not do what was asked.
    if (report_failed || bless_failed) && code == exit::PASS {
        exit::ERRORED
    } else {
        code
    }
}

/// Whether `--bless` failed to write a golden: not a pass, though every dialogue passed (the
/// gate did not do what was asked). `merge` asks it of the shards' reports too.
pub(super) fn bless_failed(report: &RunReport) -> bool {
    report
        .dialogues
        .iter()
        .any(|d| matches!(d.bless, Some(BlessAction::Failed(..))))
}

/// `--bless` leaves the golden of a skipped, errored or not-run dialogue alone, and says so
/// (SPEC §3.3). The runner records that for the dialogues it ran; one that never started
/// (`--fail-fast`, Ctrl-C) or whose task panicked has no record, and its golden is left alone
/// all the same, so it is recorded here. A golden that does not exist was left nowhere, and
/// saying "left alone" about it would send a reviewer looking for it: it is forgotten, and
/// counted (the number returned) so that the console can say none was created.
fn settle_bless(suites: &[Arc<Suite>], report: &mut RunReport) -> usize {
    let unrecorded = |d: &crate::record::DialogueResult| {
        d.bless.is_none()
            && matches!(
                d.outcome,
                crate::record::Outcome::NotRun | crate::record::Outcome::Error
            )
    };
    // Their goldens by dialogue, made once: a Ctrl-C early in a big run leaves thousands of
    // dialogues unstarted, and looking each up by name among all was quadratic.
    let goldens = match report.dialogues.iter().any(unrecorded) {
        true => goldens_by_dialogue(suites),
        false => HashMap::new(),
    };
    let mut not_created = 0;
    for d in &mut report.dialogues {
        if unrecorded(d) {
            let key = (d.suite.path.as_path(), d.name.as_str(), d.row);
            d.bless = goldens.get(&key).cloned().map(BlessAction::LeftAlone);
        }
        if matches!(&d.bless, Some(BlessAction::LeftAlone(p)) if !p.exists()) {
            d.bless = None;
            not_created += 1;
        }
    }
    not_created
}

/// The golden file of each dialogue that keeps one, by its suite file, name and matrix row
/// (how a result names its dialogue).
fn goldens_by_dialogue(suites: &[Arc<Suite>]) -> HashMap<(&Path, &str, Option<u32>), PathBuf> {
    let mut goldens = HashMap::new();
    for suite in suites {
        for d in &suite.dialogues {
            if d.golden != crate::suite::model::GoldenMode::Off {
                let key = (suite.path.as_path(), d.name.as_str(), d.row);
                goldens.insert(key, golden::golden_path(suite, &d.name));
            }
        }
    }
    goldens
}

/// The `user:pass` of `scheme://user:pass@host/...`, if any.
fn url_userinfo(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    (!userinfo.is_empty()).then(|| userinfo.to_string())
}

/// The secrets of a URL's credentials: its whole `user:pass`, and the password alone, as
/// written and percent-decoded (an agent that echoes it, or an error that quotes it, shows it
/// without the user name). The user name alone is no secret: it would blank the word
/// wherever a reply says it. A password too short to be a key is left, as for any secret
/// ([`crate::redact::env_secret`]).
fn url_credentials(url: &str) -> impl Iterator<Item = String> {
    let userinfo = url_userinfo(url);
    let password = userinfo
        .as_deref()
        .and_then(|u| u.split_once(':'))
        .map(|(_, p)| p.to_string())
        .filter(|p| crate::redact::env_secret(p));
    let decoded = password
        .as_deref()
        .and_then(percent_decoded)
        .filter(|d| Some(d) != password.as_ref() && crate::redact::env_secret(d));
    userinfo.into_iter().chain(password).chain(decoded)
}

/// `%XX` escapes decoded, when the text has any and decodes to UTF-8.
fn percent_decoded(text: &str) -> Option<String> {
    if !text.contains('%') {
        return None;
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|d| d.into_owned())
}

/// Writes the `--junit`, `--json` and `--html` reports that were asked for, with the parts
/// `spill` kept of the dialogues as they finished; true when one failed.
fn write_reports(args: &RunArgs, report: &RunReport, spill: Option<&Spill>) -> bool {
    let files = ReportFiles {
        junit: args.junit.as_deref(),
        json: args.json.as_deref(),
        html: args.html.as_deref(),
    };
    write_spilled_report_files(files, report, spill)
}

/// Where each report goes, when it is asked for.
struct ReportFiles<'a> {
    junit: Option<&'a std::path::Path>,
    json: Option<&'a std::path::Path>,
    html: Option<&'a std::path::Path>,
}

/// Writes each report that has a path (atomically), saying on stderr which could not be
/// written; true when one failed. Shared with `merge`.
pub(super) fn write_report_files(
    junit: Option<&std::path::Path>,
    json: Option<&std::path::Path>,
    html: Option<&std::path::Path>,
    report: &RunReport,
) -> bool {
    write_spilled_report_files(ReportFiles { junit, json, html }, report, None)
}

/// [`write_report_files`], with the report parts of the dialogues `spill` kept copied
/// from it rather than made from the results (which no longer hold them).
fn write_spilled_report_files(
    files: ReportFiles<'_>,
    report: &RunReport,
    spill: Option<&Spill>,
) -> bool {
    let (json, junit, html) = (
        spill.and_then(Spill::json),
        spill.and_then(Spill::junit),
        spill.and_then(Spill::html),
    );
    // Each report on a thread of its own: a big run's reports are megabytes to copy from
    // their scratch files, and two cores copy two at once. The errors are said in a fixed
    // order.
    let errors = std::thread::scope(|s| {
        let junit = s.spawn(|| {
            write_error("JUnit", files.junit, |p| {
                report::junit::write_spilled(report, junit, p)
            })
        });
        let json = s.spawn(|| {
            write_error("JSON", files.json, |p| {
                report::json::write_spilled(report, json, p)
            })
        });
        let html = write_error("HTML", files.html, |p| {
            report::html::write_spilled(report, html, p)
        });
        let joined = |t: std::thread::ScopedJoinHandle<'_, Option<String>>, what: &str| {
            t.join().unwrap_or_else(|_| {
                Some(format!(
                    "error: failed to write the {what} report: it panicked"
                ))
            })
        };
        [joined(junit, "JUnit"), joined(json, "JSON"), html]
    });
    let mut failed = false;
    for e in errors.into_iter().flatten() {
        let _ = writeln!(std::io::stderr(), "{e}");
        failed = true;
    }
    failed
}

/// Writes the `what` report to `path` when there is one; what to say on stderr when it could
/// not be written.
fn write_error(
    what: &str,
    path: Option<&std::path::Path>,
    write: impl FnOnce(&std::path::Path) -> std::io::Result<()>,
) -> Option<String> {
    let path = path?;
    let e = write(path).err()?;
    Some(format!(
        "error: failed to write the {what} report {}: {e}",
        path.display()
    ))
}

/// SPEC §4.2: interrupted beats failed beats errored; a run whose paths and filters selected
/// nothing exits 4 (also when `merge` reads it back: nothing in it passed).
pub fn exit_code(report: &RunReport) -> i32 {
    let t = report.totals();
    if report.interrupted {
        exit::INTERRUPTED
    } else if t.failed > 0 {
        exit::FAILED
    } else if t.errored > 0 {
        exit::ERRORED
    } else if report.nothing_selected && report.dialogues.is_empty() {
        exit::NOTHING_SELECTED
    } else {
        exit::PASS
    }
}

#[cfg(test)]
mod tests {
    use super::{url_credentials, url_userinfo};

    #[test]
    fn finds_credentials_in_urls() {
        assert_eq!(
            url_userinfo("https://bob:s3cret@api.example.com/x").as_deref(),
            Some("bob:s3cret")
        );
        assert_eq!(url_userinfo("https://api.example.com/x@y"), None);
        assert_eq!(url_userinfo("http://127.0.0.1:8080"), None);
    }

    #[test]
    fn a_urls_password_is_a_secret_alone_too() {
        let got: Vec<String> = url_credentials("http://juser:jpass%2F99@127.0.0.1:9/v1").collect();
        assert_eq!(got, ["juser:jpass%2F99", "jpass%2F99", "jpass/99"]);
        // No password, or one too short to be a key: the user info alone.
        let got: Vec<String> = url_credentials("http://juser@h/").collect();
        assert_eq!(got, ["juser"]);
        let got: Vec<String> = url_credentials("http://juser:ab@h/").collect();
        assert_eq!(got, ["juser:ab"]);
    }
}
