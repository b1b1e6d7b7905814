//! The edge: turns parsed flags, the process environment and the terminal into plain settings,
//! calls the library, prints, and returns an exit code. The only code that reads the
//! environment or decides about colors.
//!
//! One file per command: [`run`], [`pending`] (`accept`, `reject`), [`review`], [`init`],
//! [`inspect`] (`validate`, `list`), [`merge`]; [`signals`] turns Ctrl-C and SIGTERM into the
//! run's cancellation.

mod init;
mod inspect;
mod merge;
mod pending;
mod review;
mod run;
mod scripts;
mod signals;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::{ColorChoice, Command, PathArgs, RunArgs, SelectArgs};
use crate::diag::render_all;
use crate::exit;
use crate::run::select::{self, Partition, Selection};
use crate::suite::{self, BaseUrl, EndpointOverrides, LoadOptions, Loaded, Suite};
use crate::util::{parse_duration, parse_rate};

pub use run::exit_code;

/// `println!` that never panics: a reader that went away (`agenttest list | head`) is not an
/// error of ours, and a panic there would hide the real exit code.
#[macro_export]
#[doc(hidden)]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!($crate::report::console::out(), $($arg)*);
    }};
}

/// `eprintln!` that never panics: with stderr's reader gone (`agenttest run 2>&1 | head`) a
/// panic would end the command with the wrong code, or, in the signal handler, eat a Ctrl-C.
#[macro_export]
#[doc(hidden)]
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `eprint!` that never panics (see [`errln!`]).
#[macro_export]
#[doc(hidden)]
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

pub fn main(command: Command) -> i32 {
    match command {
        Command::Run(args) => run::cmd_run(args),
        Command::Validate(args) => inspect::cmd_validate(args),
        Command::List(args) => inspect::cmd_list(args),
        Command::Accept(args) => pending::cmd_pending(args, true),
        Command::Reject(args) => pending::cmd_pending(args, false),
        Command::Review(args) => review::cmd_review(args),
        Command::Init(args) => init::cmd_init(args),
        Command::Mock(args) => {
            let color = use_color(args.color, std::io::stderr().is_terminal());
            crate::mock::cli_main(args, color, load_options(EndpointOverrides::default()).env)
        }
        Command::Merge(args) => merge::cmd_merge(args),
    }
}

pub(super) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Colors on stdout: `--color`, then `NO_COLOR`, then whether stdout is a terminal.
pub(super) fn use_color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            terminal && env_var("NO_COLOR").is_none() && env_var("TERM").as_deref() != Some("dumb")
        }
    }
}

pub(super) fn paths_or_default(paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from("suites")]
    } else {
        paths.to_vec()
    }
}

/// Readies the reports' paths before anything is sent, so a run's results are never lost to a
/// path found wrong only when they are written at the end.
///
/// Each report asked for names a file of its own: two reports at one file would leave only
/// the one written last, and a report is never lost without a word. Two paths that the writer
/// would replace as one file (the same path, `./x` and `x`, a link to it) are a usage error. A
/// device or FIFO may take both (`/dev/stdout`, `/dev/null`): each is written in turn.
///
/// A report's directory that does not exist yet is made, as CI configurations expect
/// (`--junit reports/junit.xml` on a fresh checkout); one that cannot be made (a file in the
/// way, no permission) is a usage error naming the flag, as is a report path that is a
/// directory (`--junit reports/`). A report written to standard output (`-`, `/dev/stdout`)
/// moves the console to standard error, so that a pipe reads the report alone.
pub(super) fn ready_report_paths(
    junit: Option<&Path>,
    json: Option<&Path>,
    html: Option<&Path>,
) -> Result<(), String> {
    distinct_report_paths(junit, json, html)?;
    if report_flags(junit, json, html).any(|(_, p)| crate::fsutil::writes_to_stdout(p)) {
        crate::report::console::to_stderr();
    }
    for (flag, path) in report_flags(junit, json, html) {
        if path.is_dir() {
            return Err(format!("{flag} {}: is a directory", path.display()));
        }
        let dir = path.parent().unwrap_or(Path::new(""));
        if dir.as_os_str().is_empty() || dir.is_dir() {
            continue;
        }
        if dir.exists() {
            return Err(format!(
                "{flag} {}: {} is not a directory",
                path.display(),
                dir.display()
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "{flag} {}: cannot make its directory {}: {e}",
                path.display(),
                dir.display()
            )
        })?;
    }
    // Through links, and whether the directory takes a file at all: a link to a missing
    // directory, `/sys`, a read-only mount are found here, not once every request was sent.
    for (flag, path) in report_flags(junit, json, html) {
        crate::fsutil::ready_to_write(path)
            .map_err(|e| format!("{flag} {}: {e}", path.display()))?;
    }
    Ok(())
}

/// The report flags given, each with its path, in the order their errors name them.
pub(super) fn report_flags<'a>(
    junit: Option<&'a Path>,
    json: Option<&'a Path>,
    html: Option<&'a Path>,
) -> impl Iterator<Item = (&'static str, &'a Path)> {
    [("--junit", junit), ("--json", json), ("--html", html)]
        .into_iter()
        .filter_map(|(flag, path)| Some((flag, path?)))
}

fn distinct_report_paths(
    junit: Option<&Path>,
    json: Option<&Path>,
    html: Option<&Path>,
) -> Result<(), String> {
    let named: Vec<(&str, &Path, PathBuf)> = report_flags(junit, json, html)
        .filter_map(|(flag, p)| Some((flag, p, crate::fsutil::replaced_file(p)?)))
        .collect();
    for (i, (flag_a, _, a)) in named.iter().enumerate() {
        if let Some((flag_b, b, _)) = named[i + 1..].iter().find(|(_, _, f)| f == a) {
            return Err(format!(
                "{flag_a} and {flag_b} both name {}: one report would replace the other",
                b.display()
            ));
        }
    }
    // Standard output takes one report: two would run together there (XML, then JSON), and
    // the pipe that reads it (`| jq`) could parse neither.
    let piped: Vec<(&str, &Path)> = report_flags(junit, json, html)
        .filter(|(_, p)| crate::fsutil::writes_to_stdout(p))
        .collect();
    if let [(flag_a, a), (flag_b, _), ..] = piped.as_slice() {
        return Err(format!(
            "{flag_a} and {flag_b} both write to standard output ({}): the two reports would \
             run together; give one of them a file",
            a.display()
        ));
    }
    Ok(())
}

pub(super) fn usage_error(message: &str) -> i32 {
    crate::errln!("error: {message}");
    exit::USAGE
}

pub(super) fn load_options(overrides: EndpointOverrides) -> LoadOptions {
    LoadOptions {
        env: Arc::new(|name: &str| std::env::var(name).ok()),
        overrides,
        read: Default::default(),
    }
}

/// Loads and checks every suite; on any error prints every diagnostic and returns the exit
/// code to leave with.
pub(super) fn load(paths: &PathArgs, overrides: EndpointOverrides) -> Result<Vec<Suite>, i32> {
    load_all(paths, overrides).map(|loaded| loaded.suites)
}

/// [`load`], with the other files the suites are made of. When some suite has errors, the
/// mock scripts and replayed goldens of those that loaded are checked too, and their errors
/// said with the suites': every error at once (SPEC §4), not the scripts' only once the
/// suites are mended.
pub(super) fn load_all(paths: &PathArgs, overrides: EndpointOverrides) -> Result<Loaded, i32> {
    let color = use_color(paths.color, std::io::stderr().is_terminal());
    let opts = load_options(overrides);
    let (loaded, mut diags) = suite::load_paths_all(&paths_or_default(&paths.paths), &opts);
    if diags.is_empty() {
        release_freed_memory();
        return Ok(loaded);
    }
    let every = scripts::every_dialogue(&loaded.suites);
    diags.extend(scripts::pre_send_errors(&loaded.suites, &every));
    crate::err!("{}", render_all(&diags, color));
    Err(exit::USAGE)
}

/// Hands what the load freed back to the system. Suites are loaded on rayon's threads, a file
/// to a core (a big file's pieces parsed on a thread of their own), and glibc keeps what a
/// thread freed in that thread's arena, out of reach of the run's one thread: at 1,000 × 5
/// turns and 64 connections that was 1.5 MB resident for the whole run (20.0 → 18.5 MB at the
/// peak, measured when pieces were parsed on every core), at 10,000 × 5 turns 4 MB. Other
/// allocators are left alone.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` has no preconditions: it only returns free pages to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

pub(super) fn selection(args: &SelectArgs) -> Result<Selection, String> {
    Ok(Selection {
        filters: args.filter.clone(),
        tags: args.tag.clone(),
        partition: args
            .partition
            .as_deref()
            .map(Partition::parse)
            .transpose()
            .map_err(|e| format!("--partition: {e}"))?,
    })
}

/// Flag beats environment beats files.
pub(super) fn overrides(args: &RunArgs) -> Result<EndpointOverrides, String> {
    Ok(EndpointOverrides {
        base_url: base_url_override(args.endpoint.as_deref())?,
        agent_id: agent_override(args.agent.clone())?,
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

pub(super) fn env_overrides() -> Result<EndpointOverrides, String> {
    Ok(EndpointOverrides {
        base_url: base_url_override(None)?,
        agent_id: agent_override(None)?,
        ..EndpointOverrides::default()
    })
}

/// `--endpoint`, else `AGENTTEST_BASE_URL`; a bad one is named, since the files are fine.
/// Its value is not echoed: a URL may carry a password (`https://user:pass@host`).
fn base_url_override(flag: Option<&str>) -> Result<Option<BaseUrl>, String> {
    let Some((url, source)) =
        flag_or_env(flag.map(str::to_string), "--endpoint", "AGENTTEST_BASE_URL")
    else {
        return Ok(None);
    };
    parse_base_url(&url)
        .map(Some)
        .map_err(|e| format!("{source}: {e}"))
}

/// `--agent`, else `AGENTTEST_AGENT_ID`, held to the files' rule for an `agent_id`: a value
/// that is not one segment of the path would send the message and the key to another of the
/// server's paths (SPEC §4.2: exit 2, nothing sent).
fn agent_override(flag: Option<String>) -> Result<Option<String>, String> {
    let Some((id, source)) = flag_or_env(flag, "--agent", "AGENTTEST_AGENT_ID") else {
        return Ok(None);
    };
    match crate::suite::load::agent_id_fault(&id) {
        None => Ok(Some(id)),
        Some(crate::suite::load::AgentIdFault::Empty) => {
            Err(format!("{source}: the agent id is empty"))
        }
        Some(fault) => Err(format!(
            "{source}: the agent id {fault}: {}",
            crate::suite::load::AgentIdFault::WHY
        )),
    }
}

/// The flag's value, else the environment variable's, with the name of the one it came from
/// (flag beats environment), for a message that says which is wrong.
fn flag_or_env(
    flag: Option<String>,
    flag_name: &'static str,
    var: &'static str,
) -> Option<(String, &'static str)> {
    match flag {
        Some(value) => Some((value, flag_name)),
        None => env_var(var).map(|value| (value, var)),
    }
}

pub(super) fn parse_base_url(text: &str) -> Result<BaseUrl, String> {
    BaseUrl::parse(text)
}

/// A CI matrix slice can be empty when there are few dialogues: that is not the "filters
/// selected nothing" mistake exit 4 reports, so it passes with a note.
pub(super) fn empty_partition_is_fine(suites: &[Suite], sel: &Selection) -> bool {
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
