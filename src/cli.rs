//! Command-line arguments: clap types only. `main` resolves them, with the environment and the
//! files, into plain settings; nothing below reads these types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "agenttest",
    version,
    about = "Regression gate for LLM chat agents: YAML dialogue suites, golden transcripts, JUnit and JSON reports",
    propagate_version = true
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
    Run(RunArgs),
    /// Check suites and send nothing: every error of every file at once, exit 2 on any.
    Validate(PathArgs),
    /// Print `suite › dialogue` for every dialogue that would run.
    List(ListArgs),
    /// Promote the pending `.new` goldens the last run wrote, sending nothing.
    Accept(PathArgs),
    /// Delete the pending `.new` goldens under the paths.
    Reject(PathArgs),
    /// Serve the mock agent API.
    Mock(MockArgs),
    /// Combine the JSON reports of CI shards into one report, and exit as one run would.
    #[command(after_help = MERGE_HELP)]
    Merge(MergeArgs),
}

const MERGE_HELP: &str = "\
Examples:
  agenttest run suites/ --partition 1/3 --json shard-1.json   # on each CI shard
  agenttest merge shard-*.json --html report.html --junit report.xml

Reports of different schema versions, or that hold the same dialogue (same suite file and
name), are refused with exit 2.

Exit status (the merged run's, as `run` would give):
  0    every dialogue passed (skips allowed; also when no report holds a dialogue)
  1    at least one dialogue failed
  2    a report could not be read, or the reports cannot be merged
  3    none failed, but at least one errored (or an output could not be written)
  130  a shard was interrupted

Environment: NO_COLOR turns colors off (as --color never).";

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
    /// How many runs must pass (with --repeat), or `baseline`: not significantly fewer than
    /// the blessed baseline (SPEC §9.3). Sets every dialogue's gate.
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
