//! Spilled reports (`report::spill`): the JSON and JUnit reports written from a run whose
//! passing dialogues were spilled as they finished, and kept only as verdicts, are the reports
//! the whole results give, byte for byte; through the binary, the same reports as a run that
//! keeps everything (times and session ids aside).

mod common;
#[path = "fixtures/report/mixed.rs"]
mod mixed;

use std::sync::Arc;

use agenttest::record::{Outcome, RunReport};
use agenttest::report::spill::Spill;
use agenttest::report::{html, json, junit};

/// What the runner holds at the end of a spilled run: every dialogue through `Spill::keep`,
/// in the order they finished (last first here, as a run's need not be the jobs' order).
fn kept(report: &RunReport, spill: &Spill) -> RunReport {
    let mut dialogues: Vec<_> = report.dialogues.iter().cloned().map(Some).collect();
    for i in (0..dialogues.len()).rev() {
        let Some(d) = dialogues[i].take() else {
            continue;
        };
        let kept = spill.keep(i, Arc::new(d));
        dialogues[i] = Some(Arc::try_unwrap(kept).unwrap_or_else(|d| (*d).clone()));
    }
    RunReport {
        dialogues: dialogues.into_iter().flatten().collect(),
        warnings: report.warnings.clone(),
        ..*report
    }
}

fn check(report: &RunReport) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (json_path, junit_path) = (dir.path().join("r.json"), dir.path().join("r.xml"));
    let html_path = dir.path().join("r.html");
    let spill =
        Spill::for_reports(Some(&json_path), Some(&junit_path), Some(&html_path)).expect("spill");
    let slim = kept(report, &spill);
    let passing = report
        .dialogues
        .iter()
        .filter(|d| d.outcome == Outcome::Pass && !d.attempts.is_empty())
        .count();
    let dropped = slim
        .dialogues
        .iter()
        .zip(&report.dialogues)
        .filter(|(s, d)| s.attempts.len() < d.attempts.len())
        .count();
    assert!(passing > 0, "the fixture has passing dialogues to spill");
    assert_eq!(
        dropped, passing,
        "only passing dialogues are kept as verdicts"
    );

    json::write_spilled(&slim, spill.json(), &json_path).expect("write JSON");
    junit::write_spilled(&slim, spill.junit(), &junit_path).expect("write JUnit");
    html::write_spilled(&slim, spill.html(), &html_path).expect("write HTML");
    let read = |p| std::fs::read_to_string(p).expect("read back");
    assert_eq!(read(&json_path), json::render(report), "JSON");
    assert_eq!(read(&junit_path), junit::render(report), "JUnit");
    assert_eq!(read(&html_path), html::render(report), "HTML");
    // Only the three reports are left: the scratch files have no names.
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 3);
}

#[test]
fn spilled_reports_are_the_whole_reports() {
    check(&mixed::mixed());
}

#[test]
fn spilled_hostile_text_is_sanitized_the_same() {
    let hostile = mixed::hostile();
    check(&mixed::mixed_with(|s| {
        format!("{s}{hostile}<script>x</script>")
    }));
}

/// The scratch file is read back a window at a time: a part larger than a window, and many
/// parts over many windows (written last first, so read back out of the order written), come
/// back whole.
#[test]
fn parts_larger_than_a_read_and_over_many_reads_come_back_whole() {
    check(&mixed::mixed_with(|s| {
        s.repeat(40_000 / s.len().max(1) + 1)
    }));
    let base = mixed::mixed();
    let mut many = mixed::mixed();
    many.dialogues = (0..300)
        .flat_map(|i| {
            base.dialogues.iter().cloned().map(move |mut d| {
                d.name = format!("{} #{i}", d.name);
                d
            })
        })
        .collect();
    check(&many);
}

#[test]
fn no_report_spills_nothing_and_any_report_spills() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("r.any");
    assert!(Spill::for_reports(None, None, None).is_none());
    for (json, junit, html) in [
        (Some(&path), None, None),
        (None, Some(&path), None),
        (None, None, Some(&path)),
    ] {
        let spill = Spill::for_reports(
            json.map(|p| p.as_path()),
            junit.map(|p| p.as_path()),
            html.map(|p| p.as_path()),
        );
        let spill = spill.expect("a spill for one report");
        assert_eq!(
            (
                spill.json().is_some(),
                spill.junit().is_some(),
                spill.html().is_some()
            ),
            (json.is_some(), junit.is_some(), html.is_some())
        );
    }
}

#[test]
fn a_part_is_never_given_to_another_dialogue() {
    let report = mixed::mixed();
    let dir = tempfile::tempdir().expect("temp dir");
    let json_path = dir.path().join("r.json");
    let spill = Spill::for_reports(Some(&json_path), None, None).expect("spill");
    let mut slim = kept(&report, &spill);
    // A bug that reordered the results after the run must not swap two dialogues' text.
    slim.dialogues.reverse();
    let e = json::write_spilled(&slim, spill.json(), &json_path).unwrap_err();
    assert!(e.to_string().contains("another dialogue's"), "{e}");
    assert!(!json_path.exists(), "no report is left half written");
}

/// The volatile parts of a report (times, session ids), blanked.
fn steady(text: &str) -> String {
    let rules = [
        (
            r#""(duration_ms|latency_ms|first_token_ms)": \d+"#,
            r#""$1": 0"#,
        ),
        (r#""started_at": "[^"]*""#, r#""started_at": """#),
        (r#""session_id": "[^"]*""#, r#""session_id": """#),
        (r#"(time|timestamp)="[^"]*""#, r#"$1="""#),
        (r"session: \S+", "session: S"),
        // The JSON report keeps whole milliseconds, so what is read back from it shows
        // durations rounded: blanked where the pages and JUnit show them.
        (r"· [0-9.]+(ms|s)\b", "· D"),
        (r#"<dd>[0-9.]+(ms|s)</dd>"#, "<dd>D</dd>"),
        (r"session \S+\)", "session S)"),
    ];
    rules.iter().fold(text.to_string(), |t, (from, to)| {
        regex::Regex::new(from)
            .unwrap()
            .replace_all(&t, *to)
            .into_owned()
    })
}

#[test]
fn a_run_that_spills_writes_the_reports_a_run_that_does_not_writes() {
    use common::*;
    let mock = Mock::start(&fixture("run/agent.yaml"));
    let ws = Workspace::new();
    let mut suite = format!(
        "endpoint:\n  base_url: {}\n  agent_id: ag_test\n  api_key: ak_test_123\n  retries: 0\n  timeout: 5s\ndialogues:\n",
        mock.url
    );
    for i in 0..30 {
        suite.push_str(&format!(
            "  - name: hours {i} <&>\n    turns:\n      - user: business hours {i}?\n        expect: {{contains: [\"9 AM\"]}}\n      - user: where is my order {i}\n"
        ));
    }
    suite.push_str("  - name: wrong\n    turns:\n      - user: business hours?\n        expect: {contains: [Sunday]}\n");
    ws.write("s.yaml", &suite);
    std::fs::create_dir(ws.path().join("spilled")).unwrap();
    std::fs::create_dir(ws.path().join("whole")).unwrap();
    let spilled = run_in(
        ws.path(),
        &[
            "run",
            "s.yaml",
            "--no-golden",
            "--json",
            "spilled/r.json",
            "--junit",
            "spilled/r.xml",
            "--html",
            "spilled/r.html",
        ],
    );
    assert_code(&spilled, 1);
    // The same reports made from the whole results: `merge` reads the run's JSON report back
    // whole and writes every report from it, spilling nothing.
    let whole = run_in(
        ws.path(),
        &[
            "merge",
            "spilled/r.json",
            "--json",
            "whole/r.json",
            "--junit",
            "whole/r.xml",
            "--html",
            "whole/r.html",
        ],
    );
    assert_code(&whole, 1);
    for name in ["r.json", "r.xml", "r.html"] {
        let read = |dir: &str| steady(&ws.read(&format!("{dir}/{name}")));
        assert_eq!(read("spilled"), read("whole"), "{name}");
    }
    assert_valid_junit(&ws.path().join("spilled/r.xml"));
    let json: serde_json::Value = serde_json::from_str(&ws.read("spilled/r.json")).unwrap();
    let turns = json["dialogues"][29]["attempts"][0]["turns"]
        .as_array()
        .unwrap();
    assert_eq!(turns[1]["text"], "Your order ORD-4711 is being packed.");
    // The console still explains the failure in full, and no scratch file is left.
    let out = stdout(&spilled);
    assert!(
        out.contains("expected the text to contain \"Sunday\""),
        "{out}"
    );
    let left: Vec<_> = std::fs::read_dir(ws.path().join("spilled"))
        .unwrap()
        .collect();
    assert_eq!(left.len(), 3, "only the three reports: {left:?}");
}
