//! Command-line arguments: clap types only. `main` resolves them, with the environment and the
//! files, into plain settings; nothing below reads these types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "agenttest",
    version,
    about = "Regression gate for LLM chat agents: YAML dialogue suites, golden transcripts, JUnit and JSON reports",
    propagate_version = true,
    after_help = help::TOP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: a boxed `RunArgs` would only cost readability at every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run suites against their endpoints; exit 0 only if every selected dialogue passed.
    #[command(after_help = help::SHORT, after_long_help = help::run())]
    Run(RunArgs),
    /// Check suites and send nothing: every error of every file at once, exit 2 on any.
    #[command(after_help = help::SHORT, after_long_help = help::validate())]
    Validate(PathArgs),
    /// Print `suite › dialogue` for every dialogue that would run.
    #[command(after_help = help::SHORT, after_long_help = help::list())]
    List(ListArgs),
    /// Promote pending goldens (`.new` files, or those under a directory or suite) to goldens,
    /// sending nothing.
    #[command(after_help = help::SHORT, after_long_help = help::accept())]
    Accept(PendingArgs),
    /// Delete pending goldens (`.new` files, or those under a directory or suite).
    #[command(after_help = help::SHORT, after_long_help = help::reject())]
    Reject(PendingArgs),
    /// Walk the pending goldens on a terminal: show each diff, then accept, reject or skip.
    #[command(after_help = help::SHORT, after_long_help = help::review())]
    Review(PendingArgs),
    /// Write a starter `agenttest.yaml` and a suite with its goldens that pass against the mock.
    #[command(after_help = help::SHORT, after_long_help = help::init())]
    Init(InitArgs),
    /// Serve the mock agent API.
    #[command(after_help = help::SHORT, after_long_help = help::mock())]
    Mock(MockArgs),
    /// Combine the JSON reports of CI shards into one report, and exit as one run would.
    #[command(after_help = help::SHORT, after_long_help = help::merge())]
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON reports written by `agenttest run --json` (one per shard).
    #[arg(required = true, value_name = "REPORT.json")]
    pub reports: Vec<PathBuf>,
    /// Write the merged JUnit XML report.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the merged JSON report.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the merged HTML report.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// When to use colors.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Args)]
pub struct PathArgs {
    /// Suite files or directories (default: `suites`).
    pub paths: Vec<PathBuf>,
    /// When to use colors.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// The pending goldens `accept`, `reject` and `review` act on.
#[derive(Debug, Args)]
pub struct PendingArgs {
    /// Pending goldens (`x.golden/NAME.yaml.new`), suite files (their `.golden` directory), or
    /// directories searched for `*.golden/*.yaml.new` (default: `suites`).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// When to use colors.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to write into (created if missing).
    #[arg(default_value = "suites")]
    pub dir: PathBuf,
    /// Which endpoint kind the starter config speaks.
    #[arg(long, value_enum, default_value_t = InitKind::Thinnest)]
    pub kind: InitKind,
}

/// The endpoint kinds `init` has a template for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitKind {
    /// The hosted agent platform's chat API.
    Thinnest,
    /// Chat completions (OpenAI and compatible servers).
    Openai,
    /// Any JSON-over-HTTP agent: a body template and JSON Pointers.
    Http,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub paths: PathArgs,
    #[command(flatten)]
    pub select: SelectArgs,
}

/// Which dialogues to run.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Only dialogues whose `suite › dialogue` contains TEXT (repeatable: any of them).
    #[arg(long = "filter", value_name = "TEXT")]
    pub filter: Vec<String>,
    /// Only dialogues with this tag (repeatable: any of them).
    #[arg(long = "tag", value_name = "TAG")]
    pub tag: Vec<String>,
    /// Only the K-th of N deterministic slices, for CI matrices (1-based: `1/4`).
    #[arg(long, value_name = "K/N")]
    pub partition: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub paths: PathArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Send every dialogue to this base URL, or `mock` for the built-in mock agent.
    #[arg(long, value_name = "URL|mock")]
    pub endpoint: Option<String>,
    /// Override every suite's agent id.
    #[arg(long, value_name = "ID")]
    pub agent: Option<String>,
    /// Dialogues running at once.
    #[arg(short = 'j', long, value_name = "N", default_value_t = 8)]
    pub jobs: usize,
    /// Per-request timeout (`30s`, `800ms`).
    #[arg(long, value_name = "DUR")]
    pub timeout: Option<String>,
    /// Retries on connect errors, timeouts, 429 and 5xx.
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,
    /// Requests per second per endpoint across the run (`5/s`).
    #[arg(long, value_name = "N/s")]
    pub rate: Option<String>,
    /// Run every dialogue N times, each in a fresh session.
    #[arg(long, value_name = "N")]
    pub repeat: Option<u32>,
    /// How many runs must pass (at most a dialogue's runs: its `repeat`, or --repeat), or
    /// `baseline`: not significantly fewer than the blessed baseline. Sets every dialogue's
    /// gate.
    #[arg(long, value_name = "K|baseline")]
    pub min_pass: Option<String>,
    /// Ask the LLM judge again instead of reading its cached verdicts.
    #[arg(long)]
    pub no_cache: bool,
    /// The baseline gate's significance level (default 0.01).
    #[arg(long, value_name = "ALPHA")]
    pub alpha: Option<f64>,
    /// Run a failed or errored dialogue again, up to N more times; a later pass is FLAKY.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub reruns: u32,
    /// Accept today's transcripts as the new goldens.
    #[arg(long)]
    pub bless: bool,
    /// Skip golden comparison.
    #[arg(long)]
    pub no_golden: bool,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML report (no network, readable with scripts off).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Stop starting dialogues after the first failure or error.
    #[arg(long)]
    pub fail_fast: bool,
    /// Only the summary and failures.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also print every turn of every dialogue.
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct MockArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    pub addr: String,
    /// Mock script (YAML); without it, the built-in demo agent.
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Serve the golden transcripts under these paths as an agent.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub replay: Vec<PathBuf>,
    /// When to use colors (in the diagnostics of a refused script).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// The text after each command's options: examples, the environment variables the command
/// reads, and the exit codes it can return (`--help`; `-h` points there). Codes come from
/// [`crate::exit`], so the numbers cannot drift from what the program returns.
pub mod help {
    use crate::exit;

    /// After `-h`: the short help stays short.
    pub const SHORT: &str = "Examples, environment variables and exit codes: --help";

    /// After `agenttest --help`.
    pub const TOP: &str = "\
Examples:
  agenttest init                        # a starter suite that passes against the built-in mock
  agenttest run suites/                 # run everything, exit 0 only if all pass
  agenttest run suites/ --bless         # accept today's transcripts as the new goldens
  agenttest run suites/ --junit report.xml --json report.json
  agenttest review                      # walk the pending goldens: accept, reject, skip
  agenttest accept suites/              # promote every pending golden the last run wrote
  agenttest validate suites/            # check suites, send nothing
  agenttest mock --addr 127.0.0.1:8080  # serve the mock agent API

Exit status: 0 passed, 1 failed, 2 usage or suite error (nothing sent), 3 errored (could not
judge), 4 nothing selected, 130 interrupted. `agenttest COMMAND --help` has each command's
examples, environment variables and exit codes.";

    type Row = (&'static str, &'static str);

    const BASE_URL: Row = (
        "AGENTTEST_BASE_URL",
        "base URL of every suite's endpoint, or `mock` (--endpoint beats it)",
    );
    const AGENT_ID: Row = (
        "AGENTTEST_AGENT_ID",
        "agent id of every suite (--agent beats it)",
    );
    const NO_COLOR: Row = ("NO_COLOR", "set: no colors unless --color always");
    const CI: Row = ("CI", "set: no progress line");
    const SUITE_VARS: Row = (
        "${VAR}",
        "any variable a suite or agenttest.yaml names (unset, no default: an error)",
    );

    /// SPEC §4.2, the table `run` and `merge` share.
    const RUN_EXITS: &[(i32, &str)] = &[
        (exit::PASS, "every selected dialogue passed (skips allowed)"),
        (
            exit::FAILED,
            "at least one dialogue failed (an expectation or its golden)",
        ),
        (
            exit::USAGE,
            "usage, config or suite error: nothing was sent",
        ),
        (
            exit::ERRORED,
            "no dialogue failed, but at least one errored (transport, timeout, malformed \
             reply): the gate could not judge; or a report or golden could not be written",
        ),
        (
            exit::NOTHING_SELECTED,
            "the paths and filters selected no dialogue",
        ),
        (
            exit::INTERRUPTED,
            "interrupted (Ctrl-C); reports are still written for what completed",
        ),
    ];

    fn page(examples: &str, env: &[Row], exits: &[(i32, &str)]) -> String {
        let mut out = format!("Examples:\n{}\n\nEnvironment:\n", examples.trim_end());
        if env.is_empty() {
            out.push_str("  (none read)\n");
        }
        for (name, meaning) in env {
            out.push_str(&format!("  {name:<20} {meaning}\n"));
        }
        out.push_str("\nExit status:\n");
        for (code, meaning) in exits {
            out.push_str(&format!("  {code:<4} {meaning}\n"));
        }
        out
    }

    pub fn run() -> String {
        page(
            "  agenttest run                                 # every suite under ./suites
  agenttest run suites/support.yaml --filter hours
  agenttest run suites/ --endpoint mock         # offline, against the built-in mock agent
  agenttest run suites/ --bless                 # record today's transcripts as the goldens
  agenttest run suites/ --reruns 2 --junit report.xml --json report.json
  agenttest run suites/ --partition 2/3 --json shard-2.json   # CI shard 2 of 3",
            &[BASE_URL, AGENT_ID, NO_COLOR, CI, SUITE_VARS],
            RUN_EXITS,
        )
    }

    pub fn validate() -> String {
        page(
            "  agenttest validate                 # every suite under ./suites
  agenttest validate suites/support.yaml",
            &[BASE_URL, AGENT_ID, NO_COLOR, SUITE_VARS],
            &[
                (exit::PASS, "every suite is valid"),
                (
                    exit::USAGE,
                    "a suite or config has an error (every one is printed)",
                ),
            ],
        )
    }

    pub fn list() -> String {
        page(
            "  agenttest list suites/
  agenttest list suites/ --tag smoke
  agenttest list suites/ --partition 1/3     # what CI shard 1 of 3 runs",
            &[BASE_URL, AGENT_ID, NO_COLOR, SUITE_VARS],
            &[
                (
                    exit::PASS,
                    "printed the selected dialogues (an empty --partition slice too)",
                ),
                (exit::USAGE, "usage, config or suite error"),
                (
                    exit::NOTHING_SELECTED,
                    "the paths and filters selected no dialogue",
                ),
            ],
        )
    }

    fn pending_exits(done: &'static str) -> [(i32, &'static str); 2] {
        [
            (exit::PASS, done),
            (
                exit::USAGE,
                "a path is no pending golden, suite or directory, or a pending golden could \
                 not be processed (it is left in place)",
            ),
        ]
    }

    pub fn accept() -> String {
        page(
            "  agenttest accept                                           # every one under ./suites
  agenttest accept suites/support.yaml                       # those of one suite
  agenttest accept suites/support.golden/greeting.yaml.new   # one file

A golden turn that still matches (its `[..]` wildcards included) is kept as it is, and so is
the golden's `baseline:`. A pending file that no dialogue of the named suites has (renamed or
removed) is skipped; name the file itself to promote it anyway.",
            &[NO_COLOR],
            &pending_exits("every pending golden was promoted (or none was pending)"),
        )
    }

    pub fn reject() -> String {
        page(
            "  agenttest reject                                           # every one under ./suites
  agenttest reject suites/support.yaml                       # those of one suite
  agenttest reject suites/support.golden/greeting.yaml.new   # one file",
            &[NO_COLOR],
            &pending_exits("every pending golden was deleted (or none was pending)"),
        )
    }

    pub fn review() -> String {
        page(
            "  agenttest review                        # every pending golden under ./suites
  agenttest review suites/support.yaml    # those of one suite

Answers: for each, the diff from the golden to what accepting writes, then a letter (or the
word) and Enter; anything else is asked again:
  a  accept: the golden becomes the pending file (its `baseline:` and matching turns kept)
  r  reject: the pending file is deleted
  s  skip: both stay as they are
  q  quit: the rest stay pending
Without a terminal it changes nothing: use `agenttest accept` or `agenttest reject`.",
            &[NO_COLOR],
            &[
                (
                    exit::PASS,
                    "every pending golden was answered or skipped, or `q` quit",
                ),
                (
                    exit::USAGE,
                    "no terminal (stdin and stdout), a bad path, or a pending golden could \
                     not be processed",
                ),
            ],
        )
    }

    pub fn init() -> String {
        page(
            "  agenttest init                            # ./suites, for the agent platform's chat API
  agenttest init agent-tests --kind openai  # chat completions
  agenttest init --kind http                # any JSON-over-HTTP agent
  agenttest init && agenttest run           # passes at once, against the built-in mock",
            &[],
            &[
                (exit::PASS, "the files were written"),
                (
                    exit::USAGE,
                    "one of its files already exists (then nothing is written) or could not \
                     be written",
                ),
            ],
        )
    }

    pub fn mock() -> String {
        page(
            "  agenttest mock                                      # the built-in demo on 127.0.0.1:8080
  agenttest mock --addr 127.0.0.1:0 --script mock.yaml  # port 0: a free port, printed
  agenttest mock --replay suites/                     # serve the recorded goldens",
            &[NO_COLOR],
            &[
                (exit::PASS, "stopped cleanly (Ctrl-C or SIGTERM)"),
                (
                    exit::USAGE,
                    "the script or the address was refused: nothing was served",
                ),
            ],
        )
    }

    /// For `merge` (SPEC §10): shard reports in, one verdict out.
    pub fn merge() -> String {
        page(
            "  agenttest merge shard-*.json --junit report.xml --html report.html
  agenttest merge shard-1.json shard-2.json --json report.json",
            &[NO_COLOR],
            &[
                RUN_EXITS[0],
                RUN_EXITS[1],
                (
                    exit::USAGE,
                    "a report is unreadable, of another schema version, or repeats a dialogue; \
                     a --partition shard is missing or given twice",
                ),
                RUN_EXITS[3],
                (
                    exit::NOTHING_SELECTED,
                    "no report holds a dialogue and a shard's run selected none (empty \
                     --partition slices alone exit 0)",
                ),
                (exit::INTERRUPTED, "a shard was interrupted"),
            ],
        )
    }
}
