//! End-to-end benchmark: N dialogues × T turns run by the real `agenttest` binary against the
//! mock (started from the same binary) or any URL, with every check on (expectations, goldens,
//! JUnit and JSON). Prints requests/s, wall time and the runner's peak memory.
//!
//!     cargo bench --bench run_bench -- --dialogues 1000 --turns 5 --jobs 8
//!     cargo bench --bench run_bench -- --dialogues 200 --turns 5 --jobs 50 --latency 100ms
//!     cargo bench --bench run_bench -- --url http://127.0.0.1:8080 --agent ag_x --key ak_x
//!
//! Peak memory is the child's maximum resident set (getrusage), so it measures the runner
//! alone: the mock runs in a separate process. Timings belong here, never in unit tests.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    o
}

fn start_bench_mock(dir: &Path, o: &Opts) -> (Child, String) {
    let script = dir.join("mock.yaml");
    std::fs::write(
        &script,
        format!(
            "keys: [{key}]\nagents:\n  {agent}:\n    latency: {lat}\n    rules:\n      - when: 'turn'\n        reply: 'Answer to {{{{message}}}}: our business hours are 9 AM to 6 PM EST.'\n    fallback: fallback\n",
            key = o.key,
            agent = o.agent,
            lat = o.latency
        ),
    )
    .expect("write mock script");
    start_mock(&script)
}

fn write_suite(dir: &Path, o: &Opts, url: &str) {
    let mut s = format!(
        "name: bench\nendpoint:\n  base_url: {url}\n  agent_id: {}\n  api_key: {}\n  timeout: 30s\n  retries: 0\ndefaults:\n  expect: {{status: 200}}\ndialogues:\n",
        o.agent, o.key
    );
    for d in 0..o.dialogues {
        s.push_str(&format!("  - name: dialogue {d}\n    turns:\n"));
        for t in 0..o.turns {
            s.push_str(&format!(
                "      - user: dialogue {d} turn {t}\n        expect:\n          contains: [business hours, \"dialogue {d}\"]\n          regex: '\\b9 AM\\b'\n          not_contains: sorry\n"
            ));
        }
    }
    std::fs::write(dir.join("bench.yaml"), s).expect("write suite");
}

/// Runs the binary and returns (wall time, peak RSS of that child in KiB, exit code).
// The child is reaped by `wait4` below, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn timed(bin: &str, dir: &Path, args: &[&str]) -> (Duration, u64, i32) {
    let start = Instant::now();
    let child = Command::new(bin)
        .current_dir(dir)
        .args(args)
        .env("CI", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run agenttest");
    // wait4 rather than Child::wait: it returns this child's own rusage, so the peak is the
    // runner's alone, not the mock's or an earlier run's.
    let mut status: libc::c_int = 0;
    // SAFETY: wait4 only writes into the two out-parameters we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert!(rc == pid, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (wall, usage.ru_maxrss as u64, code)
}

fn main() {
    let o = parse_args();
    let bin = bin();
    let dir = tempfile::tempdir().expect("tempdir");
    let (_mock, url) = match &o.url {
        Some(u) => (None, u.clone()),
        None => {
            let (c, u) = start_bench_mock(dir.path(), &o);
            (Some(c), u)
        }
    };
    write_suite(dir.path(), &o, &url);
    let jobs = o.jobs.to_string();
    if !o.no_golden {
        // Record goldens first, so the measured run compares every transcript.
        let (_, _, code) = timed(
            bin,
            dir.path(),
            &["run", "bench.yaml", "--bless", "-q", "-j", &jobs],
        );
        assert!(code == 0, "bless run failed with {code}");
    }
    let mut args = vec![
        "run",
        "bench.yaml",
        "-q",
        "-j",
        &jobs,
        "--junit",
        "report.xml",
        "--json",
        "report.json",
    ];
    if o.no_golden {
        args.push("--no-golden");
    }
    let (wall, rss, code) = timed(bin, dir.path(), &args);
    let requests = o.dialogues * o.turns;
    println!(
        "dialogues={} turns={} jobs={} latency={} goldens={} exit={}",
        o.dialogues, o.turns, o.jobs, o.latency, !o.no_golden, code
    );
    println!(
        "requests={} wall={:.3}s requests/s={:.0} peak_rss={:.1}MiB",
        requests,
        wall.as_secs_f64(),
        requests as f64 / wall.as_secs_f64(),
        rss as f64 / 1024.0
    );
    // The request phase alone (from the JSON report): the run minus start-up, loading and
    // writing reports.
    let phase = std::fs::read_to_string(dir.path().join("report.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["run"]["duration_ms"].as_f64())
        .map(|ms| ms / 1000.0);
    if let Some(secs) = phase {
        println!(
            "request phase={secs:.3}s requests/s={:.0}",
            requests as f64 / secs
        );
    }
    if o.url.is_none() && ideal_wall(&o).is_none() {
        if let Some(raw) = oha_rate(&url, &o, requests) {
            let e2e = requests as f64 / wall.as_secs_f64();
            print!(
                "oha (raw load, same mock, {} connections): requests/s={raw:.0}; agenttest reaches {:.0}% of it end to end",
                o.jobs,
                100.0 * e2e / raw
            );
            if let Some(secs) = phase {
                print!(
                    ", {:.0}% in the request phase",
                    100.0 * (requests as f64 / secs) / raw
                );
            }
            println!();
        }
    }
    if let Some(ideal) = ideal_wall(&o) {
        println!(
            "ideal wall (latency-bound)={:.3}s efficiency={:.1}%",
            ideal.as_secs_f64(),
            100.0 * ideal.as_secs_f64() / wall.as_secs_f64()
        );
    }
}

/// The request rate a raw load generator gets from the same mock at the same concurrency, for
/// comparison; `None` when `oha` is not installed (`cargo install oha`).
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
