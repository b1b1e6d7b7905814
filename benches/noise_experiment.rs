//! How well each gate tells a regression from noise, measured. A seeded rewording support
//! agent (benches/common/noise_agent.rs: formats of times, numbers and day ranges, bullets or
//! prose, sentence order; now and then an answer that loses its facts) is run under many
//! seeds, as it is and with six injected regressions: a changed time, a changed number, a
//! dropped fact, lost context, a wrong refusal, and a refusal on 30% of answers. Every gate
//! (benches/common/noise_gates.rs) runs against every (variant, seed); a failing run of the
//! unchanged agent is a false alarm, a failing run of a regressed one a detection.
//!
//!     cargo bench --bench noise_experiment -- --seeds 100          # the README table
//!     cargo bench --bench noise_experiment -- --seeds 0 --baseline-seeds 1000
//!
//! `--baseline-seeds N` also measures the baseline gate's false alarms alone over N more
//! seeds (100 seeds cannot resolve a rate near 1%); `--dir PATH` keeps the suites, goldens,
//! scripts and last report there. The last table is exact arithmetic, not a measurement.
//!
//! The goldens of the golden gates are recorded once, against the unchanged agent under seed
//! 0, as a team blesses today's agent; every later seed is another day of the same agent. The
//! baseline gate's goldens are recorded for every seed with `--bless --repeat 100` against an
//! independent sample of that seed's unchanged agent (another seed of the same script), then
//! gated with `repeat: 20, min_pass: baseline`: so its false-alarm rate covers the noise of
//! the bless as well as of the gate.
//!
//! One mock process per (seed, variant) serves every gate under its own agent id: each id
//! counts its own sessions, so gates that run side by side never race for the same draws, and
//! every figure is reproducible. All gates but the one with `--reruns` share one run.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

#[path = "common/noise_agent.rs"]
mod agent;
mod common;
#[path = "common/noise_gates.rs"]
mod gates;

use agent::Variant;
use agenttest::judge::baseline::fisher_less;
use common::{bin, start_mock};
use gates::{BASELINE_RUNS, BLESS_RUNS, GATES};

/// Seeds of the bless sample: far from the gate seeds, so no draw is shared.
const BLESS_SEED: u64 = 1_000_000;
/// Seeds of `--baseline-seeds`: after any table's.
const EXTRA_SEED: u64 = 10_000;

fn main() {
    let started = Instant::now();
    let seeds = arg("--seeds").unwrap_or(100);
    if let Err(e) = agent::check_wordings() {
        panic!("a wording is not what the experiment assumes: {e}");
    }
    let temp = tempfile::tempdir().expect("tempdir");
    // `--dir PATH` keeps the suites, goldens, scripts and last reports for a look afterwards.
    let dir = match std::env::args().skip_while(|a| a != "--dir").nth(1) {
        Some(d) => std::path::PathBuf::from(d),
        None => temp.path().to_path_buf(),
    };
    std::fs::create_dir_all(&dir).expect("work dir");
    for g in &GATES {
        std::fs::write(dir.join(g.file()), gates::suite(g)).expect("write suite");
    }
    bless_goldens(&dir);
    let mut tally = Tally::default();
    for seed in 1..=seeds {
        for v in Variant::ALL {
            run_variant(&dir, v, seed, &mut tally);
        }
    }
    if seeds > 0 {
        print_table(&tally, seeds);
        print_bless_rates(&tally);
    }
    if let Some(more) = arg("--baseline-seeds") {
        baseline_false_alarms(&dir, EXTRA_SEED + 1..=EXTRA_SEED + more);
    }
    print_statistics();
    println!(
        "\n{seeds} seeds x {} variants x {} gates in {:.1} s",
        Variant::ALL.len(),
        GATES.len(),
        started.elapsed().as_secs_f64()
    );
}

fn arg(name: &str) -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1)?.parse().ok()
}

#[derive(Default)]
struct Tally {
    /// (gate id, variant) -> seeds on which the gate failed the build.
    failed: HashMap<(&'static str, usize), u64>,
    /// dialogue -> (runs, passed) summed over every recorded baseline.
    blessed: HashMap<String, (u64, u64)>,
}

/// Records the golden gates' goldens once, against the unchanged agent. A careful team
/// reviews what it blesses: a seed whose first answers lapsed would not be accepted, so the
/// first seed whose goldens state every fact is taken.
fn bless_goldens(dir: &Path) {
    let files: Vec<String> = GATES
        .iter()
        .filter(|g| g.blessed_once())
        .map(|g| g.file())
        .collect();
    for seed in 0..20 {
        let script = dir.join("agent.yaml");
        let text = agent::script(Variant::Baseline, seed, &gates::agents(), BLESS_SEED);
        std::fs::write(&script, text).expect("write script");
        let (_mock, url) = start_mock(&script);
        let mut args = vec!["--bless".to_string()];
        args.extend(files.iter().cloned());
        run(dir, &url, &args);
        if !goldens_lapsed(dir) {
            return;
        }
    }
    panic!("no seed in 0..20 blessed goldens without a lapse");
}

fn goldens_lapsed(dir: &Path) -> bool {
    let lapses = [
        "normal office hours",
        "will ship soon",
        "see our refund policy",
    ];
    GATES.iter().filter(|g| g.blessed_once()).any(|g| {
        let golden = dir.join(format!("{}.golden", g.id));
        std::fs::read_dir(&golden)
            .expect("golden dir")
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .any(|text| lapses.iter().any(|l| text.contains(l)))
    })
}

/// One (variant, seed): a mock serving it, the baseline recorded when the variant is the
/// unchanged agent, then every gate.
fn run_variant(dir: &Path, v: Variant, seed: u64, tally: &mut Tally) {
    let script = dir.join("agent.yaml");
    let text = agent::script(v, seed, &gates::agents(), BLESS_SEED + seed);
    std::fs::write(&script, text).expect("write script");
    let (_mock, url) = start_mock(&script);
    if v == Variant::Baseline {
        bless_baseline(dir, &url, tally);
    }
    let vi = Variant::ALL.iter().position(|x| *x == v).unwrap_or(0);
    for reruns in [0, 1] {
        let files: Vec<String> = GATES
            .iter()
            .filter(|g| g.reruns == reruns)
            .map(|g| g.file())
            .collect();
        let expected = 3 * files.len();
        let mut args = files;
        args.extend(["--reruns".into(), reruns.to_string()]);
        args.extend(["--json".into(), "report.json".into()]);
        let report = dir.join("report.json");
        let _ = std::fs::remove_file(&report);
        let out = run(dir, &url, &args);
        if !report.exists() {
            panic!(
                "seed {seed}, {v:?}: no JSON report\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for id in failed_gates(&report, expected) {
            *tally.failed.entry((id, vi)).or_default() += 1;
        }
    }
}

/// `agenttest run --bless --repeat 100` of the baseline gate against the bless sample.
fn bless_baseline(dir: &Path, url: &str, tally: &mut Tally) {
    let args = [
        "baseline.yaml",
        "--bless",
        "--repeat",
        &BLESS_RUNS.to_string(),
        "--agent",
        "bless",
    ]
    .map(String::from);
    run(dir, url, &args);
    for name in ["hours", "order-context", "refund"] {
        let path = dir.join(format!("baseline.golden/{name}.yaml"));
        let b = match agenttest::judge::golden::recorded_baseline(&path) {
            Ok(Some(b)) => b,
            Ok(None) => panic!("{} records no baseline", path.display()),
            Err(why) => panic!("{}: {why}", path.display()),
        };
        assert_eq!(b.runs, BLESS_RUNS, "{}", path.display());
        let e = tally.blessed.entry(name.to_string()).or_default();
        e.0 += u64::from(b.runs);
        e.1 += u64::from(b.passed);
    }
}

/// `--baseline-seeds N`: the false alarms of the baseline gate alone, over N more seeds of
/// the unchanged agent (a bless and a gate each), to resolve rates near 1% that 100 seeds
/// cannot.
fn baseline_false_alarms(dir: &Path, seeds: std::ops::RangeInclusive<u64>) {
    let (mut suites, mut dialogues, mut n) = (0u64, 0u64, 0u64);
    for seed in seeds {
        let script = dir.join("agent.yaml");
        let text = agent::script(Variant::Baseline, seed, &["baseline"], BLESS_SEED + seed);
        std::fs::write(&script, text).expect("write script");
        let (_mock, url) = start_mock(&script);
        bless_baseline(dir, &url, &mut Tally::default());
        let report = dir.join("report.json");
        let _ = std::fs::remove_file(&report);
        run(
            dir,
            &url,
            &["baseline.yaml", "--json", "report.json"].map(String::from),
        );
        let failed = failed_dialogues(&report);
        dialogues += failed;
        suites += u64::from(failed > 0);
        n += 1;
    }
    println!(
        "\nThe baseline gate alone, unchanged agent, {n} more seeds: the suite failed {suites}/{n} \
         ({:.2}%), a dialogue {dialogues}/{} ({:.2}%)",
        100.0 * suites as f64 / n.max(1) as f64,
        3 * n,
        100.0 * dialogues as f64 / (3 * n).max(1) as f64
    );
}

fn failed_dialogues(report: &Path) -> u64 {
    let text = std::fs::read_to_string(report).expect("read report");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON report");
    json["dialogues"]
        .as_array()
        .expect("dialogues")
        .iter()
        .filter(|d| d["outcome"] == "fail")
        .count() as u64
}

/// Runs agenttest against `url`; exit 0 and 1 are verdicts, anything else is a broken
/// experiment.
fn run(dir: &Path, url: &str, args: &[String]) -> Output {
    let out = Command::new(bin())
        .current_dir(dir)
        .args([
            "run",
            "-q",
            "--jobs",
            "8",
            "--color",
            "never",
            "--endpoint",
            url,
        ])
        .args(args)
        .env("CI", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run agenttest");
    match out.status.code() {
        Some(0 | 1) => out,
        other => panic!(
            "agenttest {args:?}: exit {other:?}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The gates (by file stem) with a failed dialogue in the JSON report.
fn failed_gates(report: &Path, expected: usize) -> Vec<&'static str> {
    let text = std::fs::read_to_string(report).expect("read report");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON report");
    let dialogues = json["dialogues"].as_array().expect("dialogues");
    assert_eq!(
        dialogues.len(),
        expected,
        "dialogues in {}",
        report.display()
    );
    let mut out = Vec::new();
    for d in dialogues {
        let file = d["suite_file"].as_str().unwrap_or_default();
        let outcome = d["outcome"].as_str().unwrap_or_default();
        assert!(
            matches!(outcome, "pass" | "flaky" | "fail"),
            "{file} › {}: {outcome}",
            d["name"]
        );
        let Some(g) = GATES.iter().find(|g| g.file() == file) else {
            panic!("a report for an unknown suite {file}");
        };
        if outcome == "fail" && !out.contains(&g.id) {
            out.push(g.id);
        }
    }
    out
}

fn print_table(tally: &Tally, seeds: u64) {
    println!(
        "{seeds} seeds; each cell: share of seeds on which the gate failed the build (suite of 3 dialogues)\n"
    );
    print!("| gate |");
    for v in Variant::ALL {
        print!(" {} |", v.label());
    }
    println!("\n|---{}", "|---".repeat(Variant::ALL.len()) + "|");
    for g in &GATES {
        print!("| {} |", g.name);
        for vi in 0..Variant::ALL.len() {
            let c = tally.failed.get(&(g.id, vi)).copied().unwrap_or(0);
            print!(" {:.0}% ({c}/{seeds}) |", 100.0 * c as f64 / seeds as f64);
        }
        println!();
    }
}

fn print_bless_rates(tally: &Tally) {
    println!("\nPass rates the baseline blesses recorded ({BLESS_RUNS} runs each):");
    let mut names: Vec<&String> = tally.blessed.keys().collect();
    names.sort();
    for name in names {
        let (runs, passed) = tally.blessed[name];
        println!(
            "  {name}: {passed}/{runs} = {:.1}%",
            100.0 * passed as f64 / runs.max(1) as f64
        );
    }
}

/// The experiment's suite: turns per dialogue. Each dialogue is right at about the same rate.
const SUITE_TURNS: [i32; 3] = [2, 2, 1];

/// Exact rates from the binomial distribution (the baseline gate by summing over both
/// counts): the arithmetic behind the README, per dialogue and for the experiment's suite.
fn print_statistics() {
    println!(
        "\nExact rates. One dialogue: false alarms at pass rate p0; detection of a refusal on 30% \
         of answers (pass rate 0.7·p0 for one turn, 0.49·p0 for two). Suite: the experiment's \
         three dialogues (2, 2 and 1 turns), each at p0; it fails when one does.\n"
    );
    println!(
        "| gate | p0 | false alarms | detects (1 turn) | detects (2 turns) | suite: false alarms | suite: detects |"
    );
    println!("|---|---|---|---|---|---|---|");
    for p0 in [0.95, 0.90] {
        for (n, k) in [(5, 3), (10, 10), (10, 9), (10, 8), (10, 7), (20, 16)] {
            print_row(&format!("{k} of {n}"), p0, &|p| binomial_below(n, k, p));
        }
        let name = format!("baseline: {BASELINE_RUNS} runs vs {BLESS_RUNS}, alpha 0.01");
        print_row(&name, p0, &|p| {
            baseline_rejects(BLESS_RUNS, BASELINE_RUNS, p0, p, 0.01)
        });
    }
}

/// One row: `fails(p)` is the chance the gate fails a dialogue whose runs pass at rate p.
fn print_row(name: &str, p0: f64, fails: &dyn Fn(f64) -> f64) {
    let suite = |refusal: bool| {
        let holds: f64 = SUITE_TURNS
            .iter()
            .map(|&t| 1.0 - fails(if refusal { p0 * 0.7f64.powi(t) } else { p0 }))
            .product();
        100.0 * (1.0 - holds)
    };
    println!(
        "| {name} | {p0} | {:.2}% | {:.1}% | {:.1}% | {:.2}% | {:.1}% |",
        100.0 * fails(p0),
        100.0 * fails(0.7 * p0),
        100.0 * fails(0.49 * p0),
        suite(false),
        suite(true)
    );
}

fn binomial_pmf(n: u32, p: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(n as usize + 1);
    let mut c = 1.0f64;
    for k in 0..=n {
        out.push(c * p.powi(k as i32) * (1.0 - p).powi((n - k) as i32));
        c = c * f64::from(n - k) / f64::from(k + 1);
    }
    out
}

/// P(fewer than `k` of `n` runs pass) at pass rate `p`: a fixed k-of-n gate fails.
fn binomial_below(n: u32, k: u32, p: f64) -> f64 {
    binomial_pmf(n, p).iter().take(k as usize).sum()
}

/// P(the baseline gate fails): the bless passes K of `big_n` at `p0`, the gate k of `n` at
/// `p1`, and the one-sided Fisher test says p < alpha.
fn baseline_rejects(big_n: u32, n: u32, p0: f64, p1: f64, alpha: f64) -> f64 {
    let (a, b) = (binomial_pmf(big_n, p0), binomial_pmf(n, p1));
    let mut total = 0.0;
    for (big_k, pa) in a.iter().enumerate() {
        for (k, pb) in b.iter().enumerate() {
            if fisher_less(big_n, big_k as u32, n, k as u32) < alpha {
                total += pa * pb;
            }
        }
    }
    total
}
