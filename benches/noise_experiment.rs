//! How well each gate tells a regression from noise, measured. A seeded paraphrasing agent
//! (every answer one of several wordings; now and then one that loses a fact, as an LLM does)
//! is run under many seeds, as it is and with three injected regressions: a changed fact, lost
//! context from an earlier turn, and a refusal. Each gate configuration runs against each
//! (variant, seed); a failing baseline is a false alarm, a failing regression a detection.
//!
//!     cargo bench --bench noise_experiment -- --seeds 40
//!
//! Goldens are recorded once against the baseline agent under seed 0, as a team would bless
//! them against today's agent; every later seed is another day of the same agent.

use std::path::Path;
use std::process::{Command, Stdio};

mod common;
use common::{bin, start_mock};

const HOURS: [&str; 6] = [
    "Our business hours are Monday through Friday, 9 AM to 6 PM EST.",
    "We're open Monday to Friday, from 9 AM until 6 PM EST.",
    "You can reach us Monday to Friday between 9 AM and 6 PM EST.",
    "Monday through Friday, 9 AM to 6 PM EST, is when we are open.",
    "Our team is available from 9 AM to 6 PM EST, Monday to Friday.",
    // The occasional lapse: true, but the facts are gone.
    "We're open on weekdays during normal office hours.",
];
const SATURDAY: [&str; 3] = [
    "On Saturdays we're open 10 AM to 2 PM EST.",
    "Saturday hours are 10 AM to 2 PM EST.",
    "We open at 10 AM on Saturdays and close at 2 PM EST.",
];
const ORDER: [&str; 3] = [
    "Thanks! I found order ORD-4711 for a blue kettle.",
    "Got it, order ORD-4711 (blue kettle) is in our system.",
    "I see ORD-4711, a blue kettle, on your account.",
];
const SHIP: [&str; 3] = [
    "Order ORD-4711 ships within 2 business days.",
    "Your blue kettle (ORD-4711) will ship within 2 business days.",
    "ORD-4711 is scheduled to ship within 2 business days.",
];
const REFUND: [&str; 3] = [
    "Yes, you can request a full refund within 30 days of purchase.",
    "Refunds are available within 30 days of purchase.",
    "You have 30 days from purchase to ask for a full refund.",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    Baseline,
    ChangedFact,
    LostContext,
    Refusal,
}

impl Variant {
    const ALL: [Variant; 4] = [
        Variant::Baseline,
        Variant::ChangedFact,
        Variant::LostContext,
        Variant::Refusal,
    ];

    fn label(self) -> &'static str {
        match self {
            Variant::Baseline => "false alarms (no regression)",
            Variant::ChangedFact => "detected: changed fact",
            Variant::LostContext => "detected: lost context",
            Variant::Refusal => "detected: refusal",
        }
    }
}

fn yaml_list(items: &[&str], f: impl Fn(&str) -> String) -> String {
    items
        .iter()
        .map(|s| format!("          - {:?}\n", f(s)))
        .collect()
}

fn script(variant: Variant, seed: u64) -> String {
    let fact = |s: &str| {
        if variant == Variant::ChangedFact {
            s.replace("9 AM", "10 AM").replace("30 days", "14 days")
        } else {
            s.to_string()
        }
    };
    let ship = if variant == Variant::LostContext {
        "          - \"Which order do you mean? Please share the order number.\"\n".to_string()
    } else {
        yaml_list(&SHIP, fact)
    };
    let rules = if variant == Variant::Refusal {
        String::new()
    } else {
        format!(
            "    rules:\n      - when: '(?i)business hours'\n        replies:\n{}      - when: '(?i)saturday'\n        replies:\n{}      - when: '(?i)when will it ship'\n        after: 'ORD-4711'\n        replies:\n{}      - when: 'ORD-4711'\n        replies:\n{}      - when: '(?i)refund'\n        replies:\n{}",
            yaml_list(&HOURS, fact),
            yaml_list(&SATURDAY, fact),
            ship,
            yaml_list(&ORDER, fact),
            yaml_list(&REFUND, fact),
        )
    };
    let fallback = if variant == Variant::Refusal {
        "I'm sorry, but I can't help with that request."
    } else {
        "Which order do you mean? Please share the order number."
    };
    format!("keys: [ak_noise]\nagents:\n  ag_noisy:\n    seed: {seed}\n{rules}    fallback: {fallback:?}\n")
}

struct Gate {
    name: &'static str,
    expectations: bool,
    golden: &'static str,
    repeat: u32,
}

const GATES: [Gate; 5] = [
    Gate {
        name: "exact goldens",
        expectations: false,
        golden: "true",
        repeat: 1,
    },
    Gate {
        name: "similar goldens, threshold 0.9",
        expectations: false,
        golden: "{mode: similar, threshold: 0.9}",
        repeat: 1,
    },
    Gate {
        name: "similar goldens, threshold 0.3",
        expectations: false,
        golden: "{mode: similar, threshold: 0.3}",
        repeat: 1,
    },
    Gate {
        name: "expectations, 1 run",
        expectations: true,
        golden: "false",
        repeat: 1,
    },
    Gate {
        name: "expectations, 3 of 5 runs",
        expectations: true,
        golden: "false",
        repeat: 5,
    },
];

fn suite(g: &Gate) -> String {
    let e = |text: &str| {
        if g.expectations {
            format!("\n        expect: {text}")
        } else {
            String::new()
        }
    };
    let repeat = if g.repeat > 1 {
        format!("\n    repeat: {}\n    min_pass: 3", g.repeat)
    } else {
        String::new()
    };
    let refusal = "not_regex: '(?i)sorry|can.t help'";
    format!(
        r#"endpoint: {{base_url: mock, agent_id: ag_noisy, api_key: ak_noise, retries: 0}}
dialogues:
  - name: hours
    golden: {golden}{repeat}
    turns:
      - user: What are your business hours?{e1}
      - user: And on Saturday?{e2}
  - name: order context
    golden: {golden}{repeat}
    turns:
      - user: I ordered a blue kettle, order ORD-4711. Can you check it?{e3}
      - user: When will it ship?{e4}
  - name: refund
    golden: {golden}{repeat}
    turns:
      - user: Can I get a refund?{e5}
"#,
        golden = g.golden,
        e1 = e(&format!(
            "{{contains: [Monday, '9 AM', '6 PM'], {refusal}}}"
        )),
        e2 = e(&format!("{{contains: ['10 AM', '2 PM'], {refusal}}}")),
        e3 = e(&format!("{{contains: ORD-4711, {refusal}}}")),
        e4 = e(&format!(
            "{{contains: ORD-4711, regex: '(?i)ship', {refusal}}}"
        )),
        e5 = e(&format!("{{contains: '30 days', {refusal}}}")),
    )
}

/// Runs one gate's suite against the mock at `url`; true when the gate failed the build.
fn fails(dir: &Path, file: &str, url: &str, extra: &[&str]) -> bool {
    let status = Command::new(bin())
        .current_dir(dir)
        .args(["run", file, "-q", "--endpoint", url])
        .args(extra)
        .env("CI", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run agenttest");
    match status.code() {
        Some(0) => false,
        Some(1) => true,
        other => panic!("{file}: unexpected exit {other:?}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seeds: u64 = args
        .iter()
        .position(|a| a == "--seeds")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let dir = tempfile::tempdir().expect("tempdir");
    let files: Vec<String> = (0..GATES.len()).map(|i| format!("gate{i}.yaml")).collect();
    for (g, f) in GATES.iter().zip(&files) {
        std::fs::write(dir.path().join(f), suite(g)).expect("write suite");
    }
    // Bless every gate's goldens against the baseline agent, seed 0.
    {
        let script = dir.path().join("agent.yaml");
        std::fs::write(&script, script_text(Variant::Baseline, 0)).expect("script");
        let (_mock, url) = start_mock(&script);
        for f in &files {
            let _ = fails(dir.path(), f, &url, &["--bless"]);
        }
    }
    // counts[gate][variant] = how many seeds the gate failed.
    let mut counts = vec![[0u64; 4]; GATES.len()];
    for seed in 1..=seeds {
        for (vi, v) in Variant::ALL.iter().enumerate() {
            let script = dir.path().join("agent.yaml");
            std::fs::write(&script, script_text(*v, seed)).expect("script");
            let (_mock, url) = start_mock(&script);
            for (gi, f) in files.iter().enumerate() {
                if fails(dir.path(), f, &url, &[]) {
                    counts[gi][vi] += 1;
                }
            }
        }
    }
    println!("{seeds} seeds; each cell: share of seeds on which the gate failed the build\n");
    print!("| gate |");
    for v in Variant::ALL {
        print!(" {} |", v.label());
    }
    println!("\n| --- | --- | --- | --- | --- |");
    for (g, row) in GATES.iter().zip(&counts) {
        print!("| {} |", g.name);
        for c in row {
            print!(" {:.0}% ({c}/{seeds}) |", 100.0 * *c as f64 / seeds as f64);
        }
        println!();
    }
}

fn script_text(v: Variant, seed: u64) -> String {
    script(v, seed)
}
