//! End-to-end benchmark: N dialogues × T turns run by the real `agenttest` binary against the
//! mock (started from the same binary) or any URL, with every check on (expectations, goldens,
//! JUnit and JSON). Prints requests/s, wall time and the runner's peak memory for each variant
//! asked for, on the same work: the platform's agent API (`thinnest`), chat completions
//! (`openai`, which sends the whole history every turn), streamed chat completions
//! (`openai-stream`), the platform kind with a `facts` check on every turn (`facts`) and with a
//! judge rubric on every turn whose verdicts the blessing run cached (`judge-cached`); each
//! variant's request-phase rate is given as a share of the platform kind's (target: >= 90%),
//! and its CPU per request (the run's user and system time less that of `validate` on the same
//! suite, so the load is left out and the checks, goldens and reports are in; the median over
//! the rounds) against the platform kind's (target: at most +10%). The CPU is the steadier of
//! the two, and this tool's alone: the rate also moves with the server's own work.
//! When `oha` is on the PATH, each round also measures it against the same server at the same
//! concurrency, and prints the runner's rates as shares of oha's, with their range over the
//! rounds (targets: >= 60% in the request phase, >= 50% end to end).
//!
//!     cargo bench --bench run_bench -- --dialogues 1000 --turns 5 --jobs 8
//!     cargo bench --bench run_bench -- --dialogues 200 --turns 5 --jobs 50 --latency 100ms
//!     cargo bench --bench run_bench -- --kinds thinnest --dialogues 10000 --turns 5
//!     cargo bench --bench run_bench -- --rounds 3      # the variants in turn, three times over
//!     cargo bench --bench run_bench -- --dialogues 400 --instructions   # and callgrind's counts
//!     cargo bench --bench run_bench -- --files 8       # the dialogues in 8 suite files
//!     cargo bench --bench run_bench -- --keep /tmp/b   # leave the suites there, to profile
//!     cargo bench --bench run_bench -- --dialogues 400 --repeat 20 --rounds 12   # CPU, paired
//!     cargo bench --bench run_bench -- --url http://127.0.0.1:8080 --agent ag_x --key ak_x
//!
//! `--kinds` takes a comma-separated list of the variants above (default: all of them against
//! the mock; only `thinnest` with `--url`, whose server may speak nothing else). `--rounds N`
//! runs the variants in turn N times and compares each one's best request phase: on a shared
//! 2-core machine one run of each, minutes apart in load, can differ by half. It also gives
//! each round's share of the same round's platform kind, measured seconds apart, and their
//! median, and the same for the CPU per request. `--repeat N` runs each measured suite with
//! `--repeat N` (N times the requests, the blessing and `validate` unchanged), so that what a
//! run spends once beyond the load (starting, the judge's index, the reports' ends, which
//! differ by kind) weighs 1/N as much in its CPU per request: the paired CPU shares of many
//! such rounds are this machine's steadiest CPU figure. `--instructions`
//! then counts each kind's instructions per request under callgrind (needs `valgrind`), the
//! one figure here that such a machine does not move (without `--repeat`).
//!
//! Peak memory is the child's maximum resident set (getrusage), so it measures the runner
//! alone: the mock runs in a separate process. Timings belong here, never in unit tests.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

mod common;
use common::{bin, start_mock, Child};

struct Opts {
    dialogues: usize,
    turns: usize,
    jobs: usize,
    latency: String,
    url: Option<String>,
    agent: String,
    key: String,
    no_golden: bool,
    kinds: Vec<Kind>,
    rounds: usize,
    /// Count instructions under callgrind too (`--instructions`).
    instructions: bool,
    /// Each measured run repeats every dialogue this many times (`--repeat N`).
    repeat: usize,
    /// Deal the dialogues into this many suite files (`--files K`).
    files: usize,
    /// Write the suites, goldens, reports and the mock's script here and leave them
    /// (`--keep DIR`), so a profiler can run the same work again; a temporary directory
    /// otherwise.
    keep: Option<std::path::PathBuf>,
}

/// The endpoint kinds the benchmark can drive, each on the same dialogues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Thinnest,
    OpenAi,
    OpenAiStream,
    /// The platform kind with a `facts` check on every turn.
    Facts,
    /// The platform kind with a `judge` rubric on every turn, its verdicts cached by the
    /// blessing run (the measured run asks the judge nothing).
    Judge,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Thinnest,
        Kind::OpenAi,
        Kind::OpenAiStream,
        Kind::Facts,
        Kind::Judge,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Thinnest => "thinnest",
            Kind::OpenAi => "openai",
            Kind::OpenAiStream => "openai-stream",
            Kind::Facts => "facts",
            Kind::Judge => "judge-cached",
        }
    }

    fn parse(s: &str) -> Kind {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s.trim())
            .unwrap_or_else(|| {
                panic!("--kinds: unknown kind {s:?} (thinnest, openai, openai-stream, facts, judge-cached)")
            })
    }

    /// The suite's `endpoint:` block for this kind against `url`.
    fn endpoint(self, o: &Opts, url: &str) -> String {
        let common = format!("  api_key: {}\n  timeout: 30s\n  retries: 0\n", o.key);
        match self {
            Kind::Thinnest | Kind::Facts => format!(
                "endpoint:\n  base_url: {url}\n  agent_id: {}\n{common}",
                o.agent
            ),
            Kind::Judge => format!(
                "endpoint:\n  base_url: {url}\n  agent_id: {}\n{common}judge:\n  base_url: {url}/v1\n  model: judge\n  api_key: {}\n",
                o.agent, o.key
            ),
            Kind::OpenAi | Kind::OpenAiStream => format!(
                "endpoint:\n  kind: openai\n  base_url: {url}/v1\n  model: {}\n  stream: {}\n{common}",
                o.agent,
                self == Kind::OpenAiStream
            ),
        }
    }
}

fn parse_args() -> Opts {
    let mut o = Opts {
        dialogues: 1000,
        turns: 5,
        jobs: 8,
        latency: "0ms".into(),
        url: None,
        agent: "ag_bench".into(),
        key: "ak_bench_1".into(),
        no_golden: false,
        kinds: Vec::new(),
        rounds: 1,
        instructions: false,
        repeat: 1,
        files: 1,
        keep: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let val = || args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--dialogues" => o.dialogues = val().parse().expect("--dialogues N"),
            "--turns" => o.turns = val().parse().expect("--turns N"),
            "--jobs" => o.jobs = val().parse().expect("--jobs N"),
            "--latency" => o.latency = val(),
            "--url" => o.url = Some(val()),
            "--agent" => o.agent = val(),
            "--key" => o.key = val(),
            "--rounds" => o.rounds = val().parse().expect("--rounds N"),
            "--repeat" => o.repeat = val().parse().expect("--repeat N"),
            "--files" => o.files = val().parse().expect("--files K"),
            "--keep" => o.keep = Some(val().into()),
            "--kinds" => o.kinds = val().split(',').map(Kind::parse).collect(),
            "--instructions" => {
                o.instructions = true;
                i += 1;
                continue;
            }
            "--no-golden" => {
                o.no_golden = true;
                i += 1;
                continue;
            }
            // `cargo bench` passes `--bench`; ignore anything we do not know.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    if o.kinds.is_empty() {
        o.kinds = match o.url {
            Some(_) => vec![Kind::Thinnest],
            None => Kind::ALL.to_vec(),
        };
    }
    o
}

fn start_bench_mock(dir: &Path, o: &Opts) -> (Child, String) {
    let script = dir.join("mock.yaml");
    std::fs::write(
        &script,
        format!(
            "keys: [{key}]\nagents:\n  {agent}:\n    latency: {lat}\n    rules:\n      - when: 'turn'\n        reply: 'Answer to {{{{message}}}}: our business hours are 9 AM to 6 PM EST.'\n    fallback: fallback\n  judge:\n    rules:\n      - when: '.'\n        reply: '{{\"pass\": true, \"reason\": \"states the hours\"}}'\n",
            key = o.key,
            agent = o.agent,
            lat = o.latency
        ),
    )
    .expect("write mock script");
    start_mock(&script)
}

/// Writes `bench-<kind>.yaml`: the same dialogues for every kind, only the endpoint differs;
/// with `--files K`, the dialogues dealt in turn into K suites in the directory `bench-<kind>`
/// (a suite directory, whose files load in parallel). Written through a small buffer, never
/// held whole: see [`timed`] on why this process must stay small.
fn write_suite(dir: &Path, o: &Opts, url: &str, kind: Kind) -> String {
    use std::io::Write as _;
    let name = suite_name(o, kind);
    let files: Vec<std::path::PathBuf> = if o.files > 1 {
        std::fs::create_dir_all(dir.join(&name)).expect("create suite directory");
        (0..o.files)
            .map(|i| dir.join(&name).join(format!("part-{i}.yaml")))
            .collect()
    } else {
        vec![dir.join(&name)]
    };
    let mut writers: Vec<_> = files
        .iter()
        .map(|f| std::io::BufWriter::new(std::fs::File::create(f).expect("create suite")))
        .collect();
    for s in &mut writers {
        write!(
            s,
            "name: bench\n{}defaults:\n  expect: {{status: 200}}\ndialogues:\n",
            kind.endpoint(o, url)
        )
        .expect("write suite");
    }
    let extra = match kind {
        Kind::Facts => "          facts: [{time: \"09:00\"}, {time: \"18:00\"}]\n",
        Kind::Judge => "          judge: states the business hours\n",
        _ => "",
    };
    for d in 0..o.dialogues {
        let s = &mut writers[d % files.len()];
        write!(s, "  - name: dialogue {d}\n    turns:\n").expect("write suite");
        for t in 0..o.turns {
            write!(
                s,
                "      - user: dialogue {d} turn {t}\n        expect:\n          contains: [business hours, \"dialogue {d}\"]\n          regex: '\\b9 AM\\b'\n          not_contains: sorry\n{extra}"
            )
            .expect("write suite");
        }
    }
    for s in &mut writers {
        s.flush().expect("write suite");
    }
    name
}

/// The report's `run.duration_ms`, read line by line: the report is megabytes, and this
/// process must stay small (see [`timed`]). The run's block comes first in the report.
fn run_duration(path: &Path) -> Option<f64> {
    use std::io::BufRead as _;
    let file = std::io::BufReader::new(std::fs::File::open(path).ok()?);
    file.lines().map_while(Result::ok).take(200).find_map(|l| {
        let rest = l.trim().strip_prefix("\"duration_ms\":")?;
        rest.trim().trim_end_matches(',').parse().ok()
    })
}

/// Runs the binary in `dir` ([`common::timed`]).
fn timed(bin: &str, dir: &Path, args: &[&str]) -> common::Timed {
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir).args(args).env("CI", "1");
    common::timed(cmd)
}

/// One kind's measured run.
struct Measured {
    kind: Kind,
    wall: Duration,
    rss_kib: u64,
    code: i32,
    /// The request phase alone (from the JSON report): the run minus start-up, loading and
    /// writing reports.
    phase: Option<f64>,
    /// CPU time of the run beyond that of loading the same suite (`validate`): the cost of
    /// its requests, checks, goldens and reports.
    cpu_beyond_load: Duration,
}

/// The suite file of `kind`, or its directory of `--files` suites.
fn suite_name(o: &Opts, kind: Kind) -> String {
    if o.files > 1 {
        format!("bench-{}", kind.name())
    } else {
        format!("bench-{}.yaml", kind.name())
    }
}

/// The measured run of `kind`'s suite: every report written, goldens compared unless
/// `--no-golden`, every dialogue run `repeat` times. With the JSON report's name, which holds
/// the request phase's duration.
fn run_args(o: &Opts, kind: Kind, repeat: usize) -> (Vec<String>, String) {
    let json = format!("report-{}.json", kind.name());
    let junit = format!("report-{}.xml", kind.name());
    let jobs = o.jobs.to_string();
    let suite = suite_name(o, kind);
    let mut args: Vec<String> = [
        "run", &suite, "-q", "-j", &jobs, "--junit", &junit, "--json", &json,
    ]
    .map(String::from)
    .to_vec();
    if o.no_golden {
        args.push("--no-golden".into());
    }
    if repeat > 1 {
        args.extend(["--repeat".to_string(), repeat.to_string()]);
    }
    (args, json)
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Blesses (unless `--no-golden`), then runs one kind's suite with every report written.
fn measure(bin: &str, dir: &Path, o: &Opts, url: &str, kind: Kind) -> Measured {
    let suite = write_suite(dir, o, url, kind);
    let jobs = o.jobs.to_string();
    if !o.no_golden {
        // Record goldens first, so the measured run compares every transcript.
        let code = timed(bin, dir, &["run", &suite, "--bless", "-q", "-j", &jobs]).code;
        assert!(code == 0, "{}: bless run failed with {code}", kind.name());
    }
    let (args, json) = run_args(o, kind, o.repeat);
    let run = timed(bin, dir, &as_strs(&args));
    let phase = run_duration(&dir.join(&json)).map(|ms| ms / 1000.0);
    let load = timed(bin, dir, &["validate", &suite]);
    Measured {
        kind,
        wall: run.wall,
        rss_kib: run.rss_kib,
        code: run.code,
        phase,
        cpu_beyond_load: run.cpu.saturating_sub(load.cpu),
    }
}

fn main() {
    let o = parse_args();
    let bin = bin();
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = match &o.keep {
        Some(keep) => {
            std::fs::create_dir_all(keep).expect("create --keep directory");
            keep.as_path()
        }
        None => temp.path(),
    };
    let (_mock, url) = match &o.url {
        Some(u) => (None, u.clone()),
        None => {
            let (c, u) = start_bench_mock(dir, &o);
            (Some(c), u)
        }
    };
    let requests = o.dialogues * o.turns * o.repeat.max(1);
    println!(
        "dialogues={} turns={} repeat={} jobs={} latency={} goldens={} files={}",
        o.dialogues,
        o.turns,
        o.repeat.max(1),
        o.jobs,
        o.latency,
        !o.no_golden,
        o.files
    );
    let mut runs = Vec::new();
    let mut shares = Vec::new();
    for _ in 0..o.rounds.max(1) {
        for &kind in &o.kinds {
            let m = measure(bin, dir, &o, &url, kind);
            print_run(&o, &m, requests);
            // The raw-load comparison, in the same round against the same server (the mock,
            // or the one `--url` names, which must speak the platform's chat API as the
            // thinnest kind does).
            if kind == Kind::Thinnest && ideal_wall(&o).is_none() {
                shares.extend(print_oha(&url, &o, &m, requests));
            }
            runs.push(m);
        }
    }
    print_shares(&shares);
    print_comparison(&o.kinds, &runs, requests);
    if o.instructions {
        // Counted on the suite run once: callgrind is some fifty times slower.
        print_instructions(bin, dir, &o, o.dialogues * o.turns);
    }
}

/// How many times each callgrind count is taken, its median kept (odd).
const COUNTS: usize = 3;

/// Instructions per request beyond the load, counted by callgrind, for each kind: the one
/// measure here that a shared machine does not move (CPU time per request moved by half
/// between rounds minutes apart). The suites and goldens are the ones the rounds left.
/// callgrind runs the client about fifty times slower, so the server is never what it waits
/// on; it does not emulate the SHA extensions, so a judge's hashing counts in software.
/// Each count is the median of [`COUNTS`]. While a big suite's pieces were parsed on two
/// threads by rayon, which of them freed what, in whose malloc arena, moved a count by up to
/// 1.3 M instructions from one run to the next (650 a request at 400 × 5, a tenth of what a
/// check adds), bimodally; since each piece is freed by the thread that parsed it, counts of
/// one binary stay within 0.1% but for an odd one (0.7% off, one in four), which the median
/// drops.
fn print_instructions(bin: &str, dir: &Path, o: &Opts, requests: usize) {
    let once = |args: &[&str]| -> Option<u64> {
        let out = Command::new("valgrind")
            .current_dir(dir)
            .args(["--tool=callgrind", "--callgrind-out-file=/dev/null", bin])
            .args(args)
            .env("CI", "1")
            .output()
            .ok()?;
        let err = String::from_utf8_lossy(&out.stderr);
        err.lines()
            .find_map(|l| l.split("Collected :").nth(1))
            .and_then(|n| n.trim().parse().ok())
    };
    let count = |args: &[&str]| -> Option<u64> {
        let mut counts = (0..COUNTS)
            .map(|_| once(args))
            .collect::<Option<Vec<u64>>>()?;
        counts.sort_unstable();
        counts.get(COUNTS / 2).copied()
    };
    let mut base = None;
    for &kind in &o.kinds {
        let suite = suite_name(o, kind);
        let args = run_args(o, kind, 1).0;
        let (Some(run), Some(load)) = (count(&as_strs(&args)), count(&["validate", &suite])) else {
            println!("instructions: valgrind not found or failed (apt install valgrind)");
            return;
        };
        let per = run.saturating_sub(load) as f64 / requests as f64;
        let base = *base.get_or_insert(per);
        println!(
            "[{}] instructions/request={per:.0} beyond the load (callgrind), {:+.0}% over {}",
            kind.name(),
            100.0 * (per / base - 1.0),
            o.kinds[0].name()
        );
    }
}

/// The run of `kind` with the shortest request phase.
fn best(runs: &[Measured], kind: Kind) -> Option<&Measured> {
    runs.iter()
        .filter(|m| m.kind == kind && m.phase.is_some())
        .min_by(|a, b| {
            a.phase
                .unwrap_or(f64::MAX)
                .total_cmp(&b.phase.unwrap_or(f64::MAX))
        })
}

fn print_run(o: &Opts, m: &Measured, requests: usize) {
    println!(
        "[{}] exit={} requests={} wall={:.3}s requests/s={:.0} peak_rss={:.1}MiB",
        m.kind.name(),
        m.code,
        requests,
        m.wall.as_secs_f64(),
        requests as f64 / m.wall.as_secs_f64(),
        m.rss_kib as f64 / 1024.0
    );
    if let Some(secs) = m.phase {
        println!(
            "[{}] request phase={secs:.3}s requests/s={:.0} cpu/request={:.1}us (beyond the load)",
            m.kind.name(),
            requests as f64 / secs,
            per_request_us(m, requests)
        );
    }
    if let Some(ideal) = ideal_wall(o) {
        println!(
            "[{}] ideal wall (latency-bound)={:.3}s efficiency={:.1}%",
            m.kind.name(),
            ideal.as_secs_f64(),
            100.0 * ideal.as_secs_f64() / m.wall.as_secs_f64()
        );
    }
}

/// Runs `oha` and prints `m`'s rates as shares of its rate: (end to end, request phase).
fn print_oha(url: &str, o: &Opts, m: &Measured, requests: usize) -> Option<(f64, f64)> {
    let raw = oha_rate(url, o, requests)?;
    let e2e = 100.0 * requests as f64 / m.wall.as_secs_f64() / raw;
    let phase = 100.0 * m.phase.map_or(0.0, |secs| requests as f64 / secs) / raw;
    println!(
        "oha (raw load, same server, {} connections): requests/s={raw:.0}; agenttest reaches {e2e:.0}% of it end to end, {phase:.0}% in the request phase",
        o.jobs
    );
    Some((e2e, phase))
}

/// The range of the shares over the rounds (the README's table gives these).
fn print_shares(shares: &[(f64, f64)]) {
    if shares.len() < 2 {
        return;
    }
    let range = |pick: fn(&(f64, f64)) -> f64| {
        let v: Vec<f64> = shares.iter().map(pick).collect();
        let lo = v.iter().copied().fold(f64::MAX, f64::min);
        let hi = v.iter().copied().fold(f64::MIN, f64::max);
        format!("{lo:.0}-{hi:.0}%")
    };
    println!(
        "share of oha over {} rounds: request phase {}, end to end {} (targets: >= 60%, >= 50%)",
        shares.len(),
        range(|s| s.1),
        range(|s| s.0)
    );
}

/// CPU microseconds per request beyond the load.
fn per_request_us(m: &Measured, requests: usize) -> f64 {
    m.cpu_beyond_load.as_secs_f64() * 1e6 / requests as f64
}

/// The median over the rounds of a kind's CPU per request.
fn median_cpu(runs: &[Measured], kind: Kind, requests: usize) -> Option<f64> {
    let mut v: Vec<f64> = runs
        .iter()
        .filter(|m| m.kind == kind)
        .map(|m| per_request_us(m, requests))
        .collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// Each kind's best request-phase rate as a share of the platform kind's, and its median CPU
/// per request against the platform kind's (the target: within 10%). The rate moves with
/// what the server does too (a streamed reply is twenty events to write); the CPU is this
/// tool's alone.
fn print_comparison(kinds: &[Kind], runs: &[Measured], requests: usize) {
    let rate = |k: Kind| {
        best(runs, k)
            .and_then(|m| m.phase)
            .map(|secs| requests as f64 / secs)
    };
    let Some(base) = rate(Kind::Thinnest) else {
        return;
    };
    let rounds = runs.len() / kinds.len().max(1);
    for &k in kinds.iter().filter(|k| **k != Kind::Thinnest) {
        if let Some(r) = rate(k) {
            println!(
                "[{}] request phase requests/s={r:.0} = {:.0}% of thinnest ({base:.0}), best of {rounds}; target >= 90%",
                k.name(),
                100.0 * r / base
            );
        }
        let rate = |m: &Measured| m.phase.map(|secs| 1.0 / secs);
        print_paired(k, "request phase", &paired(kinds, runs, k, rate));
        let cpu = |m: &Measured| Some(m.cpu_beyond_load.as_secs_f64());
        print_paired(k, "cpu/request", &paired(kinds, runs, k, cpu));
        if let (Some(c), Some(base)) = (
            median_cpu(runs, k, requests),
            median_cpu(runs, Kind::Thinnest, requests),
        ) {
            println!(
                "[{}] cpu/request={c:.1}us = {:+.0}% over thinnest ({base:.1}us), median of {rounds}; target <= +10%",
                k.name(),
                100.0 * (c / base - 1.0)
            );
        }
    }
}
/// Each round's `measure` of `kind` as a share of the platform kind's in the same round: the
/// two taken seconds apart, where the best or the median of each kind over the rounds may
/// pair a quiet minute with a busy one.
fn paired(
    kinds: &[Kind],
    runs: &[Measured],
    kind: Kind,
    measure: impl Fn(&Measured) -> Option<f64>,
) -> Vec<f64> {
    runs.chunks(kinds.len().max(1))
        .filter_map(|round| {
            let base = round
                .iter()
                .find(|m| m.kind == Kind::Thinnest)
                .and_then(&measure)?;
            let r = round.iter().find(|m| m.kind == kind).and_then(&measure)?;
            Some(100.0 * r / base)
        })
        .collect()
}

/// `paired`'s shares, in round order, and their median.
fn print_paired(kind: Kind, what: &str, paired: &[f64]) {
    if paired.len() < 2 {
        return;
    }
    let mut sorted = paired.to_vec();
    sorted.sort_by(f64::total_cmp);
    let shown: Vec<String> = paired.iter().map(|p| format!("{p:.0}%")).collect();
    println!(
        "[{}] {what}, each round against the same round's thinnest: {} (median {:.0}%)",
        kind.name(),
        shown.join(" "),
        sorted[sorted.len() / 2]
    );
}

/// The request rate a raw load generator gets from the same server at the same concurrency,
/// for comparison; `None` when `oha` is not installed (`cargo install oha`).
fn oha_rate(url: &str, o: &Opts, requests: usize) -> Option<f64> {
    let out = Command::new("oha")
        .args([
            "--no-tui",
            "-n",
            // Longer than the measured run: a short oha run is too noisy to compare against.
            &(requests * 4).to_string(),
            "-c",
            &o.jobs.to_string(),
        ])
        .args(["-m", "POST", "-T", "application/json"])
        .args(["-H", &format!("Authorization: Bearer {}", o.key)])
        .args([
            "-d",
            r#"{"message": "dialogue 1 turn 1", "session_id": "bench"}"#,
        ])
        .arg(format!("{url}/v1/agents/{}/chat", o.agent))
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
}

/// With a fixed mock latency L and J dialogues at once, T turns each: ceil(N/J) * T * L.
fn ideal_wall(o: &Opts) -> Option<Duration> {
    let ms: f64 = o.latency.strip_suffix("ms")?.parse().ok()?;
    if ms == 0.0 {
        return None;
    }
    let waves = o.dialogues.div_ceil(o.jobs) as f64;
    Some(Duration::from_secs_f64(
        waves * o.turns as f64 * ms / 1000.0,
    ))
}
