//! The baseline gate (SPEC §9.3) through the real binary against a seeded mock agent that is
//! right about 95% of the time (tests/fixtures/noise/baseline_agent.yaml): `--bless --repeat
//! 100` records the pass rate in the golden, `repeat: 20, min_pass: baseline` passes the
//! unchanged agent and fails one that refuses 30% of answers, with both rates and the p-value
//! in the console and the JSON; no recorded baseline fails and says how to record one;
//! `--repeat N` keeps a dialogue's own `min_pass`; `accept` keeps the recorded baseline.
//!
//! The mock draws a paraphrase per (seed, opening message, how many sessions of that agent
//! opened with it), so every verdict here is the same on every run of a fresh mock.

mod common;

use common::*;

const REFUSAL: &str = r"'(?i)\bsorry\b|can.t (help|assist)|not able to'";

/// A suite whose one dialogue is gated against its baseline.
fn gate_suite(url: &str) -> String {
    format!(
        r#"endpoint: {{base_url: "{url}", agent_id: ag_steady_1, api_key: ak_test_123, retries: 0}}
dialogues:
  - name: business hours
    repeat: 20
    min_pass: baseline
    turns:
      - user: What are your business hours?
        expect:
          facts: [{{time: "9 AM"}}, {{time: "6 PM"}}]
          not_regex: {REFUSAL}
"#
    )
}

const GOLDEN: &str = "s.golden/business-hours.yaml";

fn json(ws: &Workspace, name: &str) -> serde_json::Value {
    serde_json::from_str(&ws.read(name)).expect("JSON report")
}

/// `agenttest run --bless --repeat 100` against `agent`; returns the recorded (runs, passed).
fn bless(ws: &Workspace, agent: &str) -> (u64, u64) {
    let out = run_in(
        ws.path(),
        &[
            "run", "s.yaml", "--bless", "--repeat", "100", "--agent", agent, "--color", "never",
        ],
    );
    // A bless records the pass rate; it is not judged against the baseline it replaces.
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains(GOLDEN), "bless names the golden: {text}");
    recorded(ws).expect("the bless records a baseline")
}

/// The golden's `baseline: {runs: N, passed: K}`.
fn recorded(ws: &Workspace) -> Option<(u64, u64)> {
    let text = ws.read(GOLDEN);
    let line = text.lines().find(|l| l.starts_with("baseline:"))?;
    let num = |key: &str| -> Option<u64> {
        let rest = line.split(key).nth(1)?;
        rest.trim_start_matches([':', ' '])
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    Some((num("runs")?, num("passed")?))
}

/// The one-sided Fisher exact p-value in exact integer arithmetic: P(X <= k) for X
/// hypergeometric (N + n runs, K + k passes, n drawn). Independent of the product's.
fn fisher_less(big_n: u64, big_k: u64, n: u64, k: u64) -> f64 {
    fn choose(n: u64, k: u64) -> u128 {
        if k > n {
            return 0;
        }
        (0..k).fold(1u128, |acc, i| acc * u128::from(n - i) / u128::from(i + 1))
    }
    let (total, passes) = (big_n + n, big_k + k);
    let fails = total - passes;
    let tail: u128 = (0..=k)
        .filter(|&x| n - x <= fails)
        .map(|x| choose(passes, x) * choose(fails, n - x))
        .sum();
    tail as f64 / choose(total, n) as f64
}

/// As the console prints a p-value: at least four decimals and four significant digits, small
/// ones in scientific notation.
fn shown(p: f64) -> String {
    if p >= 0.0001 {
        let decimals = (3 - p.log10().floor() as i32).max(4) as usize;
        format!("{p:.decimals$}")
    } else {
        format!("{p:.2e}")
    }
}

#[test]
fn the_unchanged_agent_passes_against_its_own_baseline_under_every_seed() {
    let mock = Mock::start(&fixture("noise/baseline_agent.yaml"));
    for agent in ["ag_steady_1", "ag_steady_2", "ag_steady_3"] {
        let ws = Workspace::new();
        ws.write("s.yaml", &gate_suite(&mock.url));
        let (runs, passed) = bless(&ws, agent);
        assert_eq!(runs, 100);
        assert!(
            (88..=100).contains(&passed),
            "{agent}: about 95% right, recorded {passed}/100"
        );
        let out = run_in(
            ws.path(),
            &[
                "run", "s.yaml", "--agent", agent, "--color", "never", "--json", "r.json",
            ],
        );
        assert_code(&out, 0);
        let text = stdout(&out);
        assert!(text.contains("PASS  s › business hours"), "{agent}: {text}");
        assert!(
            text.contains(&format!("/20 runs passed; baseline {passed}/100; p = ")),
            "{agent}: {text}"
        );
        assert!(text.contains(">= alpha 0.01"), "{agent}: {text}");
        let b = &json(&ws, "r.json")["dialogues"][0]["baseline"];
        assert_eq!(b["recorded_runs"], 100, "{agent}: {b}");
        assert_eq!(b["runs"], 20, "{agent}: {b}");
        assert!(b["p_value"].as_f64().is_some_and(|p| p >= 0.01), "{b}");
        // The gate leaves the recorded baseline as it was.
        assert_eq!(recorded(&ws), Some((runs, passed)), "{agent}");
    }
}

#[test]
fn a_refusal_on_30_percent_of_answers_fails_with_both_rates_and_the_p_value() {
    let mock = Mock::start(&fixture("noise/baseline_agent.yaml"));
    let ws = Workspace::new();
    ws.write("s.yaml", &gate_suite(&mock.url));
    let (big_n, big_k) = bless(&ws, "ag_steady_1");
    let out = run_in(
        ws.path(),
        &[
            "run",
            "s.yaml",
            "--agent",
            "ag_refusing",
            "--color",
            "never",
            "--json",
            "r.json",
            "--junit",
            "r.xml",
        ],
    );
    assert_code(&out, 1);
    let text = stdout(&out);

    let d = &json(&ws, "r.json")["dialogues"][0];
    assert_eq!(d["outcome"], "fail", "{d}");
    let b = &d["baseline"];
    assert_eq!(b["recorded_runs"], big_n, "{b}");
    assert_eq!(b["recorded_passed"], big_k, "{b}");
    assert_eq!(b["runs"], 20, "{b}");
    assert_eq!(b["alpha"], 0.01, "{b}");
    let k = b["passed"].as_u64().expect("passed");
    let p = b["p_value"].as_f64().expect("p_value");
    let exact = fisher_less(big_n, big_k, 20, k);
    assert!((p - exact).abs() <= 1e-9 * exact, "p {p} vs exact {exact}");
    assert!(p < 0.01, "{b}");
    assert!(k <= 15, "three in ten refused, yet {k}/20 passed");

    let line = format!(
        "{k}/20 runs passed; baseline {big_k}/{big_n}; p = {} < alpha 0.01",
        shown(p)
    );
    assert!(
        text.contains(&format!("FAIL  s › business hours  (1 turn, {line}")),
        "{text}"
    );
    // The failure says which runs failed and shows a refusal.
    assert!(text.contains("turn 1 not_regex: met in"), "{text}");
    assert!(text.contains("sorry") || text.contains("Sorry"), "{text}");
    assert_valid_junit(&ws.path().join("r.xml"));
    let xml = ws.read("r.xml");
    assert!(xml.contains(&line.replace('<', "&lt;")), "{xml}");
}

#[test]
fn no_recorded_baseline_fails_and_says_how_to_record_one() {
    let mock = Mock::start(&fixture("noise/baseline_agent.yaml"));
    let ws = Workspace::new();
    ws.write("s.yaml", &gate_suite(&mock.url));
    let hint = "no baseline is recorded in the golden: record one with \
                `agenttest run --bless --repeat N`";
    // No golden at all, then a golden blessed from a single run (which records no rate).
    for bless_first in [false, true] {
        if bless_first {
            let out = run_in(ws.path(), &["run", "s.yaml", "--bless", "--repeat", "1"]);
            assert!(ws.exists(GOLDEN), "{}", stdout(&out));
            assert_eq!(recorded(&ws), None, "{}", ws.read(GOLDEN));
        }
        let out = run_in(
            ws.path(),
            &["run", "s.yaml", "--color", "never", "--json", "r.json"],
        );
        assert_code(&out, 1);
        let text = stdout(&out);
        assert!(text.contains("FAIL  s › business hours"), "{text}");
        assert!(text.contains(hint), "{text}");
        let b = &json(&ws, "r.json")["dialogues"][0]["baseline"];
        assert!(b["recorded_runs"].is_null(), "{b}");
        assert!(b["p_value"].is_null(), "{b}");
        assert_eq!(b["runs"], 20, "{b}");
    }
}

/// A dialogue that asks 3 of 5 runs, against the agent that is right half the time.
fn coin_suite(url: &str) -> String {
    format!(
        r#"endpoint: {{base_url: "{url}", agent_id: ag_coin, api_key: ak_test_123, retries: 0}}
dialogues:
  - name: business hours
    repeat: 5
    min_pass: 3
    golden: false
    turns:
      - user: What are your business hours?
        expect: {{facts: [{{time: "9 AM"}}, {{time: "6 PM"}}]}}
"#
    )
}

#[test]
fn repeat_on_the_command_line_keeps_the_dialogues_own_min_pass() {
    // A fresh mock each time: its first five sessions pass exactly three times (seed 3).
    let mock = Mock::start(&fixture("noise/baseline_agent.yaml"));
    let ws = Workspace::new();
    ws.write("c.yaml", &coin_suite(&mock.url));
    let out = run_in(
        ws.path(),
        &[
            "run", "c.yaml", "--repeat", "5", "--color", "never", "--json", "r.json",
        ],
    );
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("PASS  c › business hours  (1 turn, 3/5 runs passed"),
        "{text}"
    );
    let d = &json(&ws, "r.json")["dialogues"][0];
    assert_eq!(d["repeat"], 5, "{d}");
    assert_eq!(d["min_pass"], 3, "{d}");
    assert_eq!(d["passed_runs"], 3, "{d}");

    // `--min-pass` is what sets it for every dialogue: the same draws then need all five.
    let mock = Mock::start(&fixture("noise/baseline_agent.yaml"));
    ws.write("c.yaml", &coin_suite(&mock.url));
    let out = run_in(
        ws.path(),
        &[
            "run",
            "c.yaml",
            "--repeat",
            "5",
            "--min-pass",
            "5",
            "--color",
            "never",
        ],
    );
    assert_code(&out, 1);
    assert!(
        stdout(&out).contains("3/5 runs passed (needs 5)"),
        "{}",
        stdout(&out)
    );

    // Alone, too, over the dialogue's own `repeat: 5`; more than its runs is held to them.
    for k in ["5", "9"] {
        let mock = Mock::start(&fixture("noise/baseline_agent.yaml"));
        ws.write("c.yaml", &coin_suite(&mock.url));
        let out = run_in(
            ws.path(),
            &["run", "c.yaml", "--min-pass", k, "--color", "never"],
        );
        assert_code(&out, 1);
        assert!(
            stdout(&out).contains("3/5 runs passed (needs 5)"),
            "--min-pass {k}: {}",
            stdout(&out)
        );
    }
    let out = run_in(ws.path(), &["run", "c.yaml", "--min-pass", "0"]);
    assert_code(&out, 2);
    assert_eq!(stderr(&out), "error: --min-pass must be at least 1\n");
}

#[test]
fn accept_keeps_the_recorded_baseline() {
    let mock = Mock::start(&fixture("noise/baseline_agent.yaml"));
    let ws = Workspace::new();
    ws.write("s.yaml", &gate_suite(&mock.url));
    let baseline = bless(&ws, "ag_steady_1");
    // A failing gate writes what its first differing run said beside the golden.
    let out = run_in(
        ws.path(),
        &[
            "run",
            "s.yaml",
            "--agent",
            "ag_refusing",
            "--color",
            "never",
        ],
    );
    assert_code(&out, 1);
    let pending = format!("{GOLDEN}.new");
    assert!(ws.exists(&pending), "{}", stdout(&out));
    let reviewed = ws.read(&pending);
    let said = reviewed
        .lines()
        .find_map(|l| l.trim().strip_prefix("agent: "))
        .expect("agent text in the pending golden")
        .to_string();

    let out = run_in(ws.path(), &["accept", "s.yaml"]);
    assert_code(&out, 0);
    assert!(!ws.exists(&pending));
    let golden = ws.read(GOLDEN);
    assert!(
        golden.contains(&said),
        "the reviewed text is the golden: {golden}"
    );
    assert_eq!(recorded(&ws), Some(baseline), "{golden}");
}

/// Against the in-process mock: `gated` asks for the baseline, `plain` keeps no golden.
const GATED_AND_PLAIN: &str = r#"endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_test_123, retries: 0}
dialogues:
  - name: gated
    repeat: 3
    min_pass: baseline
    turns:
      - user: What are your business hours?
        expect: {contains: 9 AM}
  - name: plain
    golden: false
    turns:
      - user: What are your business hours?
        expect: {contains: 9 AM}
"#;

/// A baseline edited by hand into one of no runs, or of more passes than runs, is no baseline:
/// the gate fails, says how to record one (a baseline of 0 runs had passed any run) and why
/// the golden is no baseline.
#[test]
fn a_hand_edited_baseline_that_says_nothing_fails_and_says_why() {
    let ws = Workspace::new();
    ws.write("s.yaml", GATED_AND_PLAIN);
    let out = run_in(ws.path(), &["run", "s.yaml", "--bless", "--repeat", "5"]);
    assert_code(&out, 0);
    let golden = ws.read("s.golden/gated.yaml");
    assert!(
        golden.contains("baseline: {runs: 5, passed: 5}"),
        "{golden}"
    );
    for edited in ["{runs: 0, passed: 0}", "{runs: 10, passed: 20}"] {
        ws.write(
            "s.golden/gated.yaml",
            &golden.replace("{runs: 5, passed: 5}", edited),
        );
        let out = run_in(ws.path(), &["run", "s.yaml", "--color", "never"]);
        assert_code(&out, 1);
        let text = stdout(&out);
        assert!(text.contains("FAIL  s › gated"), "{edited}: {text}");
        // It says the baseline is there but cannot be read, and why: the golden file is
        // invalid at the baseline's line; not that none was recorded.
        assert!(
            text.contains("the golden's baseline cannot be read: s.golden/gated.yaml:4:"),
            "{edited}: {text}"
        );
        assert!(
            !text.contains("no baseline is recorded"),
            "{edited}: {text}"
        );
        assert!(text.contains("PASS  s › plain"), "{edited}: {text}");
    }
}

/// `min_pass: baseline` on a dialogue with `golden: false` could never pass: refused at load,
/// at its place. `--min-pass baseline` for every dialogue leaves such a dialogue its own gate.
#[test]
fn a_baseline_gate_needs_a_golden() {
    let ws = Workspace::new();
    ws.write(
        "bad.yaml",
        &GATED_AND_PLAIN.replace(
            "    golden: false\n",
            "    golden: false\n    min_pass: baseline\n    repeat: 2\n",
        ),
    );
    let out = run_in(ws.path(), &["run", "bad.yaml", "--color", "never"]);
    assert_code(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("`min_pass: baseline` needs the dialogue's golden file"),
        "{err}"
    );
    assert!(err.contains("bad.yaml:11:15"), "{err}");

    ws.write("s.yaml", GATED_AND_PLAIN);
    let out = run_in(ws.path(), &["run", "s.yaml", "--bless", "--repeat", "3"]);
    assert_code(&out, 0);
    let out = run_in(
        ws.path(),
        &[
            "run",
            "s.yaml",
            "--color",
            "never",
            "--repeat",
            "2",
            "--min-pass",
            "baseline",
        ],
    );
    let text = stdout(&out);
    assert_code(&out, 0);
    assert!(
        text.contains("PASS  s › plain  (1 turn, 2/2 runs passed"),
        "{text}"
    );
    assert!(text.contains("PASS  s › gated"), "{text}");
    assert!(text.contains("baseline 3/3"), "{text}");
}

/// In a baseline-gated dialogue with `golden: {mode: judge}`, a judge that cannot compare a
/// turn leaves the comparison a mismatch saying why; the run stands on its expectations
/// (SPEC §9.3: the comparison does not fail the dialogue). It had errored the dialogue.
#[test]
fn a_judge_that_cannot_compare_does_not_error_a_baseline_gated_dialogue() {
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        r#"endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_test_123}
judge: {base_url: mock, model: judge-mock, api_key: ak_demo_key, retries: 0}
dialogues:
  - name: gated
    repeat: 3
    min_pass: baseline
    golden: {mode: judge}
    turns:
      - user: What are your business hours?
        expect: {contains: 9 AM}
"#,
    );
    let out = run_in(ws.path(), &["run", "s.yaml", "--bless", "--repeat", "4"]);
    assert_code(&out, 0);
    // A golden turn whose wording makes the demo judge answer 500.
    let golden = ws.read("s.golden/gated.yaml");
    let (head, _) = golden.split_once("    agent:").expect("an agent line");
    ws.write(
        "s.golden/gated.yaml",
        &format!("{head}    agent: MOCK_JUDGE_ERROR We open 9 to 6.\n"),
    );
    let out = run_in(
        ws.path(),
        &["run", "s.yaml", "--color", "never", "--json", "r.json"],
    );
    let text = stdout(&out);
    assert_code(&out, 0);
    assert!(text.contains("PASS  s › gated"), "{text}");
    assert!(text.contains("3/3 runs passed; baseline 4/4"), "{text}");
    let report = ws.read("r.json");
    assert!(
        report.contains("the judge could not compare this turn"),
        "{report}"
    );
}

/// `--bless` with repeats records a run that met its expectations when one did: the golden is
/// the answer later runs are held to, and ag_coin's first two sessions on a fresh mock fail.
#[test]
fn a_bless_with_repeats_records_a_run_that_passed() {
    let mock = Mock::start(&fixture("noise/baseline_agent.yaml"));
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        &coin_suite(&mock.url).replace("    golden: false\n", ""),
    );
    let out = run_in(
        ws.path(),
        &[
            "run", "c.yaml", "--bless", "--color", "never", "--json", "r.json",
        ],
    );
    assert_code(&out, 0);
    let d = &json(&ws, "r.json")["dialogues"][0];
    assert_eq!(
        d["attempts"][0]["outcome"], "fail",
        "the draw this test needs: {d}"
    );
    let golden = ws.read("c.golden/business-hours.yaml");
    assert!(
        golden.contains("agent: Our business hours are Monday through Friday, 9 AM to 6 PM EST."),
        "{golden}"
    );
    assert!(
        golden.contains("baseline: {runs: 5, passed: 3}"),
        "{golden}"
    );
}

/// Runs that errored say nothing about the agent, and nothing for it: the gate passes only if
/// it would pass had they all failed. An outage that leaves two runs of twenty is an error
/// (exit 3), never a pass on those two; a blip of one or two errors that could not change the
/// verdict passes, saying how many errored. A bless during the outage records nothing.
#[test]
fn errored_runs_never_pass_a_baseline_gate_they_could_have_failed() {
    let mock = Mock::start(&fixture("noise/baseline_agent.yaml"));
    let ws = Workspace::new();
    ws.write("s.yaml", &gate_suite(&mock.url));
    let (runs, passed) = bless(&ws, "ag_steady_1");
    let golden = ws.read(GOLDEN);

    let out = run_in(
        ws.path(),
        &[
            "run",
            "s.yaml",
            "--agent",
            "ag_outage",
            "--color",
            "never",
            "--json",
            "r.json",
        ],
    );
    let text = stdout(&out);
    assert_code(&out, 3);
    assert!(text.contains("ERROR s › business hours"), "{text}");
    let d = &json(&ws, "r.json")["dialogues"][0];
    let b = &d["baseline"];
    let errored = b["errored"].as_u64().expect("errored");
    assert!(errored >= 10, "nine in ten answer 500: {b}");
    assert_eq!(b["runs"].as_u64(), Some(20 - errored), "{b}");
    assert!(
        text.contains(&format!(
            ", {errored} errored; baseline {passed}/{runs}; p = "
        )),
        "{text}"
    );
    assert!(text.contains("it could not judge"), "{text}");
    // `min_pass: baseline` is no count: the JSON says null, not 0.
    assert_eq!(d["min_pass"], serde_json::Value::Null, "{d}");

    // A bless during the outage leaves the recorded baseline alone.
    let out = run_in(
        ws.path(),
        &[
            "run",
            "s.yaml",
            "--bless",
            "--repeat",
            "20",
            "--agent",
            "ag_outage",
            "--color",
            "never",
        ],
    );
    assert_code(&out, 3);
    assert!(
        stdout(&out).contains(&format!("left alone {GOLDEN}")),
        "{}",
        stdout(&out)
    );
    assert_eq!(ws.read(GOLDEN), golden);

    // One in ten: the runs that errored could not have failed the gate.
    let out = run_in(
        ws.path(),
        &[
            "run", "s.yaml", "--agent", "ag_blip", "--color", "never", "--json", "r.json",
        ],
    );
    let text = stdout(&out);
    let b = &json(&ws, "r.json")["dialogues"][0]["baseline"];
    let errored = b["errored"].as_u64().expect("errored");
    let judged_passes = b["passed"].as_u64().expect("passed");
    assert!((1..=3).contains(&errored), "the draw this test needs: {b}");
    let worst = fisher_less(runs, passed, 20, judged_passes);
    assert!(
        worst >= 0.01,
        "the draw this test needs: p = {worst} with every error a failure"
    );
    assert_code(&out, 0);
    assert!(text.contains("PASS  s › business hours"), "{text}");
    assert!(
        text.contains(&format!(", {errored} errored; baseline")),
        "{text}"
    );
}

/// A repeated dialogue that passes while its runs differ from the golden (against the
/// baseline, where the comparison is a tally shown for review; or by count, with fewer
/// differing runs than it tolerates) still writes the first differing run beside the golden
/// (SPEC §7), the console names the file, also with the JSON report's parts written as the
/// run goes, and `accept` takes it keeping the baseline. Once every run matches, the stale
/// pending file is removed.
#[test]
fn a_passing_repeated_dialogue_whose_runs_differ_from_the_golden_leaves_it_for_review() {
    let ws = Workspace::with(
        "s.yaml",
        "endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_test_123, retries: 0}
dialogues:
  - name: gated
    repeat: 3
    min_pass: baseline
    turns: [{user: What are your business hours?, expect: {contains: Monday}}]
  - name: counted
    repeat: 3
    min_pass: 2
    golden: {mode: similar, threshold: 0.2}
    turns: [{user: What are your business hours?, expect: {contains: Monday}}]
",
    );
    let old = "# agenttest golden transcript. Update with: agenttest run --bless
suite: s
dialogue: gated
baseline: {runs: 20, passed: 20}
turns:
  - user: What are your business hours?
    status: 200
    agent: We are open Monday to Friday, 10 AM to 4 PM.
";
    ws.write("s.golden/gated.yaml", old);
    // `similar` at 0.2 lets the same reply through, so `counted` matches on every run.
    ws.write(
        "s.golden/counted.yaml",
        &old.replace("dialogue: gated", "dialogue: counted")
            .replace("baseline: {runs: 20, passed: 20}\n", ""),
    );
    ws.write("s.golden/counted.yaml.new", "stale\n");
    let out = run_in(
        ws.path(),
        &["run", "s.yaml", "--color", "never", "--json", "r.json"],
    );
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("1 pending golden written beside its golden"),
        "{text}"
    );
    assert!(text.contains("  s.golden/gated.yaml.new\n"), "{text}");
    assert!(ws.exists("s.golden/gated.yaml.new"));
    assert!(
        !ws.exists("s.golden/counted.yaml.new"),
        "every run of `counted` matched: its stale pending file goes"
    );
    let report = json(&ws, "r.json");
    let pending = report["dialogues"][0]["attempts"][0]["golden"]["pending"].as_str();
    assert_eq!(pending, Some("s.golden/gated.yaml.new"), "{report}");

    let out = run_in(ws.path(), &["accept", "s.yaml"]);
    assert_code(&out, 0);
    let golden = ws.read("s.golden/gated.yaml");
    assert!(golden.contains("Monday through Friday"), "{golden}");
    assert!(
        golden.contains("baseline: {runs: 20, passed: 20}"),
        "{golden}"
    );
    assert!(!ws.exists("s.golden/gated.yaml.new"));
}

/// One run against the baseline (`--min-pass baseline` without `--repeat`) is the same gate
/// as twenty: JUnit's failure gives both rates and the p-value, and the golden that differs
/// is a tally for review, not a cause of the failure (SPEC §9.3).
#[test]
fn a_single_run_against_the_baseline_reports_the_gate_in_junit() {
    let ws = Workspace::new();
    ws.write(
        "echo.yaml",
        "agents:\n  echo:\n    rules:\n      - {when: '(?s)^SAY: (.*)$', reply: '{{message}}'}\n",
    );
    ws.write(
        "g.yaml",
        "endpoint: {base_url: mock, mock_script: echo.yaml, agent_id: echo, api_key: ak_x1234}\n\
         dialogues:\n  - name: d\n    turns: [{user: 'SAY: BAD answer', expect: {contains: GOOD}}]\n",
    );
    ws.write(
        "g.golden/d.yaml",
        "suite: g\ndialogue: d\nbaseline: {runs: 100, passed: 100}\nturns:\n  - user: \"SAY: BAD answer\"\n    status: 200\n    agent: \"SAY: GOOD answer\"\n",
    );
    let out = run_in(
        ws.path(),
        &[
            "run",
            "g.yaml",
            "--min-pass",
            "baseline",
            "--junit",
            "g.xml",
            "--color",
            "never",
        ],
    );
    assert_code(&out, 1);
    assert_valid_junit(&ws.path().join("g.xml"));
    let xml = ws.read("g.xml");
    assert!(
        xml.contains(
            r#"<failure message="0/1 runs passed; baseline 100/100; p = 0.009901 &lt; alpha 0.01""#
        ),
        "{xml}"
    );
    assert!(!xml.contains("(and 1 more)"), "{xml}");
    assert!(xml.contains("golden: matched in 0/1 runs"), "{xml}");
}

/// `--bless` of a baseline dialogue whose round had errored runs records nothing and says
/// why, with how many errored; never "(needs 0)", which read as a bar the round met.
#[test]
fn a_bless_with_errored_runs_says_why_no_baseline_is_recorded() {
    let ws = Workspace::new();
    ws.write(
        "flaky.yaml",
        "agents:\n  ag:\n    seed: 3\n    fail_rate: 0.1\n    rules: [{when: '.*', replies: ['GOOD answer', 'GOOD answer', 'BAD answer']}]\n",
    );
    ws.write(
        "bl.yaml",
        "endpoint: {base_url: mock, mock_script: flaky.yaml, agent_id: ag, api_key: ak_x1234, retries: 0}\n\
         dialogues:\n  - name: d\n    min_pass: baseline\n    turns: [{user: hi, expect: {contains: GOOD}}]\n",
    );
    let out = run_in(
        ws.path(),
        &[
            "run", "bl.yaml", "--bless", "--repeat", "20", "--color", "never",
        ],
    );
    assert_code(&out, 3);
    let text = stdout(&out);
    assert!(
        text.contains(
            "errored: no baseline is recorded from a round in which a run could not be judged"
        ),
        "{text}"
    );
    assert!(!text.contains("needs 0"), "{text}");
    assert!(!ws.exists("bl.golden/d.yaml"));
}

/// `--bless` of a baseline dialogue whose every run a missed capture cut short: each run was
/// judged (failed), but none went to its end, so there is no transcript to record the
/// baseline with. A failure, not a pass that recorded nothing.
#[test]
fn a_bless_whose_runs_a_missed_capture_cut_short_fails() {
    let ws = Workspace::new();
    ws.write(
        "bad.yaml",
        "agents:\n  ag: {fallback: 'Sorry, I cannot find it.'}\n",
    );
    ws.write(
        "c.yaml",
        "endpoint: {base_url: mock, mock_script: bad.yaml, agent_id: ag, api_key: ak_x1234}\n\
         dialogues:\n  - name: order\n    min_pass: baseline\n    turns:\n      - user: Where is my order?\n        capture: {order: 'ORD-\\d+'}\n      - user: Has {{order}} shipped?\n",
    );
    let out = run_in(
        ws.path(),
        &[
            "run", "c.yaml", "--bless", "--repeat", "3", "--color", "never",
        ],
    );
    assert_code(&out, 1);
    assert!(stdout(&out).contains("FAIL"), "{}", stdout(&out));
    assert!(!ws.exists("c.golden/order.yaml"));
}
