//! Load benchmark: `agenttest validate` on generated suites of N dialogues × 5 turns (the
//! dialogues of `run_bench`: three expectations a turn, one a regex, and `defaults`), timed
//! and measured by the real binary. Prints, per size, the suite's bytes, the best wall time of
//! the rounds and the largest peak resident set (getrusage of the child).
//!
//!     cargo bench --bench load_bench                          # 1000 and 10000 dialogues
//!     cargo bench --bench load_bench -- --sizes 200,1000 --turns 5 --rounds 5
//!     cargo bench --bench load_bench -- --keep /tmp/suites   # keep the suites, e.g. for
//!                                                             # valgrind --tool=callgrind
//!
//! Wall times on a shared machine are noisy; instruction counts (callgrind on a kept suite)
//! are repeatable. Timings belong here, never in unit tests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod common;
use common::bin;

struct Opts {
    sizes: Vec<usize>,
    turns: usize,
    rounds: usize,
    keep: Option<PathBuf>,
}

fn opts() -> Opts {
    let mut o = Opts {
        sizes: vec![1000, 10_000],
        turns: 5,
        rounds: 3,
        keep: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_default();
        match a.as_str() {
            "--sizes" => {
                o.sizes = value()
                    .split(',')
                    .map(|s| s.trim().parse().expect("--sizes: numbers"))
                    .collect();
            }
            "--turns" => o.turns = value().parse().expect("--turns: a number"),
            "--rounds" => o.rounds = value().parse::<usize>().expect("--rounds: a number").max(1),
            "--keep" => o.keep = Some(PathBuf::from(value())),
            // `cargo bench` passes `--bench`; anything else is ignored the same way.
            _ => {}
        }
    }
    o
}

/// The suite `run_bench` writes for the platform kind, with an endpoint nothing listens on:
/// `validate` sends nothing.
fn suite_text(dialogues: usize, turns: usize) -> String {
    let mut s = String::from(
        "name: bench\nendpoint:\n  base_url: http://127.0.0.1:1\n  agent_id: ag_bench\n  \
         api_key: ak_bench_1\n  timeout: 30s\n  retries: 0\n\
         defaults:\n  expect: {status: 200}\ndialogues:\n",
    );
    for d in 0..dialogues {
        s.push_str(&format!("  - name: dialogue {d}\n    turns:\n"));
        for t in 0..turns {
            s.push_str(&format!(
                "      - user: dialogue {d} turn {t}\n        expect:\n          contains: [business hours, \"dialogue {d}\"]\n          regex: '\\b9 AM\\b'\n          not_contains: sorry\n"
            ));
        }
    }
    s
}

/// Runs `validate` on `suite`: wall time, the child's peak resident set in KiB, exit code.
fn timed(suite: &Path) -> common::Timed {
    let mut cmd = Command::new(bin());
    cmd.arg("validate").arg(suite);
    common::timed(cmd)
}

fn main() {
    let o = opts();
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = o.keep.clone().unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).expect("suite dir");
    println!(
        "{:>9} {:>5} {:>10} {:>10} {:>10}",
        "dialogues", "turns", "bytes", "best s", "peak MiB"
    );
    for &n in &o.sizes {
        let path = dir.join(format!("load-{n}x{}.yaml", o.turns));
        let text = suite_text(n, o.turns);
        std::fs::write(&path, &text).expect("write suite");
        let mut best = Duration::MAX;
        let mut peak = 0;
        for _ in 0..o.rounds {
            let common::Timed {
                wall,
                rss_kib: rss,
                code,
                ..
            } = timed(&path);
            assert!(code == 0, "validate {} exited {code}", path.display());
            best = best.min(wall);
            peak = peak.max(rss);
        }
        println!(
            "{n:>9} {:>5} {:>10} {:>10.3} {:>10.1}",
            o.turns,
            text.len(),
            best.as_secs_f64(),
            peak as f64 / 1024.0
        );
    }
    if let Some(keep) = &o.keep {
        println!("suites kept in {}", keep.display());
    }
}
