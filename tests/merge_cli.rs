//! `agenttest merge` (SPEC §10) from the outside: CI shards cut with `--partition K/N` and
//! merged give what one unsharded run gives (its JSON equal but for timing and session ids,
//! its exit code), overlapping or mixed-version reports and incomplete sets of shards (one
//! missing, one given twice, shards of different N) are refused with exit 2, and a report
//! read back renders exactly as the run that wrote it.

#[path = "fixtures/report/mixed.rs"]
mod mixed;

mod common;

use std::path::{Path, PathBuf};

use agenttest::record::{BaselineGate, BlessAction, JudgeTotals, Slice};
use agenttest::report::{html, json, json_read, junit};
use common::{assert_code, assert_valid_junit, run_in, stderr, stdout, Workspace};
use serde_json::Value;

/// The fields that differ between two runs of the same dialogues: times and session ids.
const VARYING: [&str; 5] = [
    "duration_ms",
    "started_at",
    "latency_ms",
    "first_token_ms",
    "session_id",
];

fn normalized(text: &str) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for key in VARYING {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: Value = serde_json::from_str(text).expect("valid JSON");
    strip(&mut v);
    v
}

/// The last line of a console run, without its time: `N passed, N failed, ...`.
fn summary(out: &str) -> String {
    let last = out.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
    last.rsplit_once(" in ")
        .map_or(last, |(s, _)| s)
        .to_string()
}

/// `run`'s JSON report, read.
fn json_of(ws: &Workspace, report: &str) -> Value {
    serde_json::from_str(&ws.read(report)).expect("valid JSON")
}

/// Runs `paths` once whole and as `shards` partitions, merges the partitions (given last
/// first: their order does not matter), and checks the merge against the whole run: same JSON
/// but for timing, same exit code, same summary, a valid JUnit and an HTML page. Each shard's
/// report records its slice; the whole run's and the merge's record none. Returns the exit
/// code.
fn shard_and_merge(ws: &Workspace, paths: &str, shards: usize) -> i32 {
    let whole = run_in(
        ws.path(),
        &["run", paths, "--json", "whole.json", "--color", "never"],
    );
    let code = whole.status.code().expect("exit code");
    assert!(json_of(ws, "whole.json")["run"].get("partition").is_none());
    let mut merge_args: Vec<String> = vec!["merge".into()];
    let mut cut_from: Option<String> = None;
    for k in (1..=shards).rev() {
        let report = format!("shard-{k}.json");
        let out = run_in(
            ws.path(),
            &[
                "run",
                paths,
                "--partition",
                &format!("{k}/{shards}"),
                "--json",
                &report,
                "--color",
                "never",
            ],
        );
        assert!(
            matches!(out.status.code(), Some(0 | 1 | 3)),
            "shard {k}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        let partition = &json_of(ws, &report)["run"]["partition"];
        assert_eq!(
            (&partition["k"], &partition["n"]),
            (&serde_json::json!(k), &serde_json::json!(shards)),
            "shard {k}"
        );
        // Every shard records the same selection it was cut from.
        let selection = partition["selection"]
            .as_str()
            .expect("selection")
            .to_string();
        assert_eq!(selection.len(), 16, "{partition}");
        assert!(
            cut_from.get_or_insert_with(|| selection.clone()) == &selection,
            "shard {k}: {partition}"
        );
        merge_args.push(report);
    }
    merge_args.extend(
        [
            "--json",
            "merged.json",
            "--junit",
            "merged.xml",
            "--html",
            "merged.html",
            "--color",
            "never",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = merge_args.iter().map(String::as_str).collect();
    let merged = run_in(ws.path(), &args);
    assert_code(&merged, code);
    assert_eq!(
        normalized(&ws.read("merged.json")),
        normalized(&ws.read("whole.json")),
        "the merged report is the whole run's"
    );
    assert_eq!(summary(&stdout(&merged)), summary(&stdout(&whole)));
    // One console line per dialogue, as `run` prints them.
    let whole_json: Value = serde_json::from_str(&ws.read("whole.json")).expect("json");
    for d in whole_json["dialogues"].as_array().expect("dialogues") {
        let line = format!(
            "{} › {}",
            d["suite"].as_str().unwrap_or_default(),
            d["name"].as_str().unwrap_or_default()
        );
        assert!(stdout(&merged).contains(&line), "no line for {line}");
    }
    assert_valid_junit(&ws.path().join("merged.xml"));
    assert!(ws.read("merged.html").contains("<section class=\"dialogue"));
    code
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn partitions_of_the_example_suites_merge_into_the_whole_run() {
    let ws = Workspace::new();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("suites"),
        &ws.path().join("suites"),
    );
    assert_eq!(shard_and_merge(&ws, "suites", 3), 0);
}

/// Suites against the built-in mock with the outcomes given: `pass`, `fail` (an
/// expectation), `golden` (a golden that differs), `error` (a 500), `skip`.
fn workspace(outcomes: &[&str]) -> Workspace {
    let ws = Workspace::new();
    ws.write(
        "suites/agenttest.yaml",
        "endpoint:\n  base_url: mock\n  agent_id: ag_support\n  api_key: ak_demo_key\n  retries: 0\n",
    );
    let mut files: [String; 2] = [
        "name: a\ndialogues:\n".into(),
        "name: b\ndialogues:\n".into(),
    ];
    for (i, o) in outcomes.iter().enumerate() {
        let body = match *o {
            "pass" => "    turns:\n      - user: What are your business hours?\n        expect: {contains: Monday}\n",
            "fail" => "    turns:\n      - user: Can I get my money back?\n        expect: {contains: 60 days}\n",
            "golden" => "    turns:\n      - user: And on Saturdays?\n",
            "error" => "    golden: false\n    turns:\n      - user: boom\n",
            "skip" => "    skip: later\n    turns: [{user: hi}]\n",
            other => panic!("no outcome {other}"),
        };
        files[i % 2].push_str(&format!("  - name: {o} {i}\n{body}"));
    }
    ws.write("suites/a.yaml", &files[0]);
    if outcomes.len() > 1 {
        ws.write("suites/sub/b.yaml", &files[1]);
    }
    // Record goldens, then make each `golden` dialogue's differ.
    run_in(ws.path(), &["run", "suites", "--bless"]);
    for (i, o) in outcomes.iter().enumerate() {
        if *o == "golden" {
            let file = if i % 2 == 0 {
                format!("suites/a.golden/golden-{i}.yaml")
            } else {
                format!("suites/sub/b.golden/golden-{i}.yaml")
            };
            let text = ws.read(&file);
            ws.write(&file, &text.replace("Saturday", "Sunday"));
        }
    }
    ws
}

#[test]
fn a_failing_mix_merges_into_the_whole_run_and_exits_1() {
    let ws = workspace(&["pass", "fail", "golden", "error", "skip", "pass", "golden"]);
    assert_eq!(shard_and_merge(&ws, "suites", 3), 1);
    assert_eq!(shard_and_merge(&ws, "suites", 2), 1);
}

#[test]
fn errors_without_failures_exit_3_and_passes_exit_0() {
    let ws = workspace(&["pass", "error", "pass", "skip"]);
    assert_eq!(shard_and_merge(&ws, "suites", 2), 3);
    let ws = workspace(&["pass", "pass", "skip"]);
    assert_eq!(shard_and_merge(&ws, "suites", 4), 0);
}

/// Runs `path` as partitions `1/n` to `n/n`, the K-th writing `{prefix}{K}.json`, and
/// returns the reports' names, slice 1 first.
fn partitions(ws: &Workspace, path: &str, prefix: &str, n: usize) -> Vec<String> {
    (1..=n)
        .map(|k| {
            let report = format!("{prefix}{k}.json");
            let part = format!("{k}/{n}");
            let out = run_in(
                ws.path(),
                &["run", path, "--partition", &part, "--json", &report],
            );
            assert!(
                matches!(out.status.code(), Some(0 | 1 | 3)),
                "{part}: {}{}",
                stdout(&out),
                stderr(&out)
            );
            report
        })
        .collect()
}

/// `merge` of `reports`, asked to write all three reports: it exits 2, says `message`, and
/// writes none of them.
fn refused(ws: &Workspace, reports: &[&str], message: &str) {
    let mut args = vec!["merge"];
    args.extend(reports);
    args.extend([
        "--json", "out.json", "--html", "out.html", "--junit", "out.xml",
    ]);
    let out = run_in(ws.path(), &args);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains(message),
        "expected {message:?} in:\n{}",
        stderr(&out)
    );
    for written in ["out.json", "out.html", "out.xml"] {
        assert!(!ws.exists(written), "{written} was written");
    }
}

/// The reports among `reports` that hold no dialogue, and the one that holds some.
fn empty_and_not(ws: &Workspace, reports: &[String]) -> (Vec<String>, String) {
    let (empty, held): (Vec<String>, Vec<String>) = reports.iter().cloned().partition(|r| {
        json_of(ws, r)["dialogues"]
            .as_array()
            .is_some_and(Vec::is_empty)
    });
    assert_eq!(held.len(), 1, "one dialogue, one slice holds it");
    (empty, held[0].clone())
}

/// A small suite on many shards: the slices that hold no dialogue still write a report, which
/// counts as present. Merged with the one that holds it, they are the whole run; merged alone,
/// the slice that holds it is missing (before the reports recorded their slice, this passed
/// with nothing run).
#[test]
fn an_empty_slice_counts_as_present() {
    let ws = workspace(&["pass"]);
    assert_eq!(shard_and_merge(&ws, "suites", 3), 0);
    let reports: Vec<String> = (1..=3).map(|k| format!("shard-{k}.json")).collect();
    let (empty, held) = empty_and_not(&ws, &reports);
    assert_eq!(empty.len(), 2);
    let slice = held.trim_start_matches("shard-").trim_end_matches(".json");
    let empty: Vec<&str> = empty.iter().map(String::as_str).collect();
    refused(
        &ws,
        &empty,
        &format!(
            "error: cannot merge: shard {slice}/3 is missing: its report was not given, so no \
             report holds its dialogues"
        ),
    );
}

/// Reports written before the run recorded its `--partition` slice merge as they did: each is
/// taken as a run of its own, so empty slices merge to a pass.
#[test]
fn reports_without_the_partition_merge_as_before() {
    let ws = workspace(&["pass"]);
    let reports = partitions(&ws, "suites", "p", 3);
    let (empty, _) = empty_and_not(&ws, &reports);
    for report in &empty {
        let mut v = json_of(&ws, report);
        let run = v["run"].as_object_mut().expect("run");
        assert!(
            run.remove("partition").is_some(),
            "{report} records its slice"
        );
        ws.write(report, &v.to_string());
    }
    let mut args = vec!["merge"];
    args.extend(empty.iter().map(String::as_str));
    args.extend(["--json", "m.json", "--html", "m.html"]);
    let out = run_in(ws.path(), &args);
    assert_code(&out, 0);
    assert!(stdout(&out).contains("0 passed, 0 failed, 0 errored, 0 skipped"));
    let v = json_of(&ws, "m.json");
    assert_eq!(v["run"]["totals"]["dialogues"], 0);
    assert!(v["run"].get("nothing_selected").is_none(), "{v}");
    assert!(v["run"].get("partition").is_none(), "{v}");
    assert!(ws.read("m.html").contains("No dialogue in this report"));
}

/// Outcomes for [`workspace`]: `suites/a.yaml` passes (three dialogues), `suites/sub/b.yaml`
/// fails, errors and skips.
const SPLIT: [&str; 6] = ["pass", "fail", "pass", "error", "pass", "skip"];

/// A CI job whose shard 2 of 3 died uploaded no report: merging shards 1 and 3 must not pass
/// the gate on two thirds of the suite (found by a review). Nor does a whole run of another
/// suite stand in for the missing shard.
#[test]
fn a_missing_shard_is_refused_naming_it_and_nothing_is_written() {
    let ws = workspace(&SPLIT);
    let shards = partitions(&ws, "suites/a.yaml", "a", 3);
    let out = run_in(ws.path(), &["run", "suites/sub/b.yaml", "--json", "b.json"]);
    assert_code(&out, 1);
    let missing_2 = "error: cannot merge: shard 2/3 is missing: its report was not given";
    refused(&ws, &["a1.json", "a3.json"], missing_2);
    refused(&ws, &["a3.json", "b.json", "a1.json"], missing_2);
    refused(
        &ws,
        &["a2.json"],
        "error: cannot merge: shards 1/3 and 3/3 are missing: their reports were not given",
    );
    // Every shard, and the whole run of the other suite beside them: the whole suite ran.
    let mut args = vec!["merge", "b.json"];
    args.extend(shards.iter().map(String::as_str));
    args.extend(["--json", "m.json", "--color", "never"]);
    let out = run_in(ws.path(), &args);
    assert_code(&out, 1);
    assert!(
        summary(&stdout(&out)).starts_with("3 passed, 1 failed, 1 errored, 1 skipped"),
        "{}",
        stdout(&out)
    );
    // A whole run of the same suite beside its shards repeats their dialogues.
    let out = run_in(
        ws.path(),
        &["run", "suites/a.yaml", "--json", "whole-a.json"],
    );
    assert_code(&out, 0);
    let mut args = vec!["merge", "whole-a.json"];
    args.extend(shards.iter().map(String::as_str));
    let out = run_in(ws.path(), &args);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("shards must not overlap"),
        "{}",
        stderr(&out)
    );
}

/// A shard's report given twice (a retried CI job's and the first one's, or a copy), and shards
/// cut into different numbers of slices, are not one whole set.
#[test]
fn a_slice_given_twice_or_shards_of_different_sizes_are_refused() {
    let ws = workspace(&SPLIT);
    partitions(&ws, "suites", "p", 3);
    partitions(&ws, "suites", "h", 2);
    ws.write("p2-retried.json", &ws.read("p2.json"));
    refused(
        &ws,
        &["p1.json", "p2.json", "p3.json", "p2-retried.json"],
        "error: cannot merge: shard 2/3 is both p2.json and p2-retried.json; give each shard's \
         report once",
    );
    refused(
        &ws,
        &["p1.json", "p2.json", "p3.json", "p2.json"],
        "error: cannot merge: shard 2/3 is p2.json twice",
    );
    refused(
        &ws,
        &["p1.json", "p2.json", "p3.json", "h1.json", "h2.json"],
        "error: cannot merge partitions of different sizes: p1.json is shard 1/3, h1.json is \
         shard 1/2",
    );
    // A slice no `--partition` takes is not a report.
    let mut v = json_of(&ws, "p3.json");
    v["run"]["partition"] = serde_json::json!({"k": 4, "n": 3});
    ws.write("p4.json", &v.to_string());
    refused(
        &ws,
        &["p1.json", "p2.json", "p4.json"],
        "error: p4.json: not an agenttest JSON report: partition {\"k\": 4, \"n\": 3} is not a \
         slice K/N with 1 <= K <= N",
    );
}

/// Shards whose paths and filters selected nothing each exit 4 and write an empty report;
/// merged they still exit 4 (SPEC §4.2), not 0 as empty `--partition` slices do: the reports
/// record which they are. The merged reports are written, and the merged JSON says so too.
#[test]
fn reports_of_runs_that_selected_nothing_merge_to_exit_4() {
    let ws = workspace(&["pass", "fail"]);
    let mut args = vec!["merge".to_string()];
    for k in 1..=2 {
        let report = format!("n{k}.json");
        let part = format!("{k}/2");
        let out = run_in(
            ws.path(),
            &[
                "run",
                "suites",
                "--filter",
                "no such dialogue",
                "--partition",
                &part,
                "--json",
                &report,
            ],
        );
        assert_code(&out, 4);
        let v: Value = serde_json::from_str(&ws.read(&report)).expect("json");
        assert_eq!(v["run"]["nothing_selected"], true, "{v}");
        args.push(report);
    }
    args.extend(["--json", "m.json", "--junit", "m.xml", "--color", "never"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_in(ws.path(), &args);
    assert_code(&out, 4);
    assert!(
        stderr(&out).contains("error: the runs of these reports selected no dialogue"),
        "{}",
        stderr(&out)
    );
    let v: Value = serde_json::from_str(&ws.read("m.json")).expect("json");
    assert_eq!(v["run"]["totals"]["dialogues"], 0);
    assert_eq!(v["run"]["nothing_selected"], true);
    assert_valid_junit(&ws.path().join("m.xml"));
    // The merged report read back is still a run that selected nothing.
    let out = run_in(ws.path(), &["merge", "m.json"]);
    assert_code(&out, 4);
    // A plain run's report has no such field: it selected something.
    let out = run_in(ws.path(), &["run", "suites", "--json", "r.json"]);
    assert_code(&out, 1);
    let v: Value = serde_json::from_str(&ws.read("r.json")).expect("json");
    assert!(v["run"].get("nothing_selected").is_none(), "{v}");
}

#[test]
fn overlapping_and_mixed_version_reports_are_refused() {
    let ws = workspace(&["pass", "fail"]);
    run_in(ws.path(), &["run", "suites", "--json", "r.json"]);
    let refuse = |args: &[&str], message: &str| refused(&ws, args, message);
    // The same report twice: every dialogue is in both.
    let text = ws.read("r.json");
    ws.write("copy.json", &text);
    refuse(
        &["r.json", "copy.json"],
        "error: cannot merge: dialogue `a › pass 0` of suites/a.yaml is in r.json and in copy.json; shards must not overlap",
    );
    // Another schema version.
    let mut v: Value = serde_json::from_str(&text).expect("json");
    v["schema_version"] = 2.into();
    v["dialogues"] = Value::Array(Vec::new());
    ws.write("v2.json", &v.to_string());
    refuse(
        &["r.json", "v2.json"],
        "error: cannot merge reports of different schema versions: r.json has schema_version 1, v2.json has 2",
    );
    refuse(
        &["v2.json"],
        "error: v2.json: schema_version 2 is not supported (this agenttest reads version 1)",
    );
    // Not a report at all, a missing file, a value the schema does not allow: each named.
    ws.write(
        "notes.json",
        "these are not the reports you are looking for",
    );
    let bad = text.replacen("\"outcome\": \"pass\"", "\"outcome\": \"great\"", 1);
    ws.write("bad.json", &bad);
    refuse(
        &["notes.json", "missing.json"],
        "error: notes.json:1:2: not an agenttest JSON report: expected ident\n",
    );
    refuse(
        &["missing.json"],
        "error: failed to read the report missing.json",
    );
    refuse(&["bad.json"], "outcome \"great\"");
}

#[test]
fn a_report_read_back_renders_as_the_run_that_wrote_it() {
    let hostile = mixed::hostile();
    // The judge's totals and a baseline gate ride along too.
    let mut gated = mixed::mixed();
    gated.judge = JudgeTotals {
        asked: 3,
        cached: 2,
    };
    gated.dialogues[6].baseline = Some(BaselineGate {
        recorded: Some((100, 95)),
        problem: None,
        runs: 5,
        passed: 3,
        errored: 0,
        p_value: Some(0.0006),
        alpha: 0.01,
    });
    // What `--bless` did, each kind of it: the console and the HTML page say so.
    let mut blessed = mixed::mixed();
    let golden = |name: &str| PathBuf::from(format!("suites/s.golden/{name}.yaml"));
    let actions = [
        BlessAction::Created(golden("a")),
        BlessAction::Changed(golden("b")),
        BlessAction::Unchanged(golden("c")),
        BlessAction::LeftAlone(golden("d")),
        BlessAction::Failed(golden("e"), "read-only file system".into()),
    ];
    for (d, action) in blessed.dialogues.iter_mut().zip(actions) {
        d.bless = Some(action);
    }
    assert!(html::render(&blessed).contains("bless: FAILED to write"));
    // A shard's slice rides along.
    let mut cut = mixed::mixed();
    cut.partition = Some(Slice {
        k: 2,
        n: 3,
        selection: None,
    });
    assert!(json::render(&cut).contains("\"partition\": {\n      \"k\": 2,\n      \"n\": 3\n    }"));
    for report in [
        mixed::mixed(),
        mixed::mixed_with(|s| format!("{s}{hostile}<script>x</script>")),
        mixed::empty(),
        gated,
        blessed,
        cut,
    ] {
        let written = json::render(&report);
        let back = json_read::parse(&written).expect("reads its own report");
        assert_eq!(json::render(&back), written, "JSON");
        assert_eq!(junit::render(&back), junit::render(&report), "JUnit");
        assert_eq!(html::render(&back), html::render(&report), "HTML");
    }
}

/// A shard whose `--bless` could not write a golden exited 3 though every dialogue passed;
/// merged, it still does (SPEC §4.2: the combined exit code).
#[test]
fn a_shard_whose_bless_failed_to_write_merges_to_exit_3() {
    use agenttest::record::Outcome;
    let ws = Workspace::new();
    let mut passing = mixed::mixed();
    passing.dialogues.retain(|d| d.outcome == Outcome::Pass);
    passing.interrupted = false;
    assert!(!passing.dialogues.is_empty());
    ws.write("ok.json", &json::render(&passing));
    let mut failed_write = passing.clone();
    for d in &mut passing.dialogues {
        d.bless = Some(BlessAction::Unchanged(PathBuf::from("s.golden/x.yaml")));
    }
    ws.write("blessed.json", &json::render(&passing));
    failed_write.dialogues[0].bless = Some(BlessAction::Failed(
        PathBuf::from("s.golden/x.yaml"),
        "Is a directory (os error 21)".into(),
    ));
    ws.write("failed.json", &json::render(&failed_write));
    for (report, code) in [("ok.json", 0), ("blessed.json", 0), ("failed.json", 3)] {
        let out = run_in(ws.path(), &["merge", report, "--color", "never"]);
        assert_code(&out, code);
    }
    let out = run_in(ws.path(), &["merge", "failed.json", "--color", "never"]);
    assert!(
        stdout(&out).contains("1 failed to write"),
        "{}",
        stdout(&out)
    );
}

/// Two shards that name one suite `s.yaml` and `./s.yaml` (as two CI jobs may type it) hold
/// the same dialogues: refused as overlapping, not counted twice (found by a review). Shards
/// of its partitions named either way merge into one suite.
#[test]
fn a_suite_named_with_and_without_dot_slash_is_one_suite() {
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        "endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_test_123}\n\
         dialogues:\n  - name: one\n    golden: false\n    turns: [{user: hi}]\n  \
         - name: two\n    golden: false\n    turns: [{user: hi}]\n",
    );
    let out = run_in(ws.path(), &["run", "s.yaml", "--json", "plain.json"]);
    assert_code(&out, 0);
    let out = run_in(ws.path(), &["run", "./s.yaml", "--json", "dot.json"]);
    assert_code(&out, 0);
    let out = run_in(ws.path(), &["merge", "plain.json", "dot.json"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("one"), "{}", stderr(&out));

    for (k, path) in [(1, "s.yaml"), (2, "./s.yaml")] {
        let part = format!("{k}/2");
        let json = format!("p{k}.json");
        let out = run_in(
            ws.path(),
            &["run", path, "--partition", &part, "--json", &json],
        );
        assert_code(&out, 0);
    }
    let out = run_in(
        ws.path(),
        &[
            "merge", "p1.json", "p2.json", "--junit", "m.xml", "--color", "never",
        ],
    );
    assert_code(&out, 0);
    assert!(
        summary(&stdout(&out)).starts_with("2 passed"),
        "{}",
        stdout(&out)
    );
    let xml = ws.read("m.xml");
    assert_eq!(xml.matches("<testsuite ").count(), 1, "{xml}");
}

/// Shards cut from different selections (a shard run under another `--filter`, here one that
/// selects only suite `a`, or an older suite) are not one run: merged, they would pass on part
/// of the suite. Refused, naming both.
#[test]
fn shards_of_different_selections_are_refused() {
    let ws = workspace(&["pass", "fail", "pass", "pass"]);
    let whole = partitions(&ws, "suites", "p", 2);
    let out = run_in(
        ws.path(),
        &[
            "run",
            "suites",
            "--partition",
            "2/2",
            "--filter",
            "a ›",
            "--json",
            "f2.json",
        ],
    );
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    refused(
        &ws,
        &[&whole[0], "f2.json"],
        "were cut from different selections",
    );
    // The same selection merges, as before.
    let mut args = vec!["merge"];
    args.extend(whole.iter().map(String::as_str));
    assert_code(&run_in(ws.path(), &args), 1);
}

/// `merge` never writes a report over one of the reports it reads: that shard would be lost
/// and the next merge of the same files would fail. Nor do two reports share standard output.
#[test]
fn a_merged_report_is_never_written_over_a_shard_and_stdout_takes_one_report() {
    let ws = workspace(&["pass", "pass"]);
    let shards = partitions(&ws, "suites", "p", 2);
    let before = ws.read(&shards[1]);
    let out = run_in(
        ws.path(),
        &[
            "merge",
            &shards[0],
            &shards[1],
            "--html",
            &format!("./{}", shards[1]),
        ],
    );
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("is one of the reports being merged"),
        "{}",
        stderr(&out)
    );
    assert_eq!(ws.read(&shards[1]), before);
    for args in [
        vec![
            "merge", &shards[0], &shards[1], "--json", "-", "--junit", "-",
        ],
        vec!["run", "suites", "--json", "-", "--junit", "/dev/stdout"],
    ] {
        let out = run_in(ws.path(), &args);
        assert_code(&out, 2);
        assert!(
            stderr(&out).contains("both write to standard output"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// One suite of two passing dialogues against the built-in mock, at `suites/a.yaml`, with an
/// empty `suites/sub/` to spell it `suites/sub/../a.yaml`. Partition 1/2 holds `refund`,
/// 2/2 holds `hours`.
fn one_suite() -> Workspace {
    let ws = Workspace::new();
    ws.write(
        "suites/a.yaml",
        "endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_test_123}\n\
         dialogues:\n  - name: hours\n    golden: false\n    turns: [{user: What are your \
         business hours?, expect: {contains: Monday}}]\n  - name: refund\n    golden: false\n    \
         turns: [{user: Can I get a refund?}]\n",
    );
    std::fs::create_dir_all(ws.path().join("suites/sub")).expect("mkdir");
    ws
}

/// `run PATH [--partition K/N] --json REPORT` in `ws`, which passes.
fn run_as(ws: &Workspace, path: &str, partition: Option<&str>, report: &str) {
    let mut args = vec!["run", path, "--json", report];
    if let Some(part) = partition {
        args.extend(["--partition", part]);
    }
    let out = run_in(ws.path(), &args);
    assert_code(&out, 0);
}

/// `run` takes `suites/a.yaml`, `$PWD/suites/a.yaml` and `suites/sub/../a.yaml` for one file
/// (found by an audit: merge compared the text, so two whole runs of one suite merged with
/// doubled totals and two JUnit testsuites). Merge tells them apart the way `run` does:
/// refused as overlapping, exit 2, nothing written.
#[test]
fn a_suite_named_by_an_absolute_or_a_dotdot_path_is_one_suite() {
    let ws = one_suite();
    let absolute = ws.path().join("suites/a.yaml").display().to_string();
    run_as(&ws, "suites/a.yaml", None, "rel.json");
    run_as(&ws, &absolute, None, "abs.json");
    run_as(&ws, "suites/sub/../a.yaml", None, "dotdot.json");
    assert_eq!(
        json_of(&ws, "abs.json")["dialogues"][0]["suite_file"],
        absolute
    );
    refused(
        &ws,
        &["rel.json", "abs.json"],
        "error: cannot merge: dialogue `a › hours` of suites/a.yaml is in rel.json and in \
         abs.json; shards must not overlap\n",
    );
    refused(
        &ws,
        &["dotdot.json", "rel.json"],
        "error: cannot merge: dialogue `a › hours` of suites/a.yaml is in dotdot.json and in \
         rel.json; shards must not overlap\n",
    );
    refused(&ws, &["abs.json", "dotdot.json"], "shards must not overlap");
}

/// Shards of one run are still one run: cut with the suite named two ways, they merge into one
/// suite (one JUnit testsuite, shown by its relative path). Merged where the suite is not (the
/// shards' reports downloaded from CI machines into another directory), the paths are
/// compared as written, `..` resolved: the shards of one checkout merge, a repeat is refused.
#[test]
fn shards_merge_into_one_suite_however_named_and_wherever_merged() {
    let ws = one_suite();
    let absolute = ws.path().join("suites/a.yaml").display().to_string();
    run_as(&ws, "suites/a.yaml", Some("1/2"), "p1.json");
    run_as(&ws, &absolute, Some("2/2"), "p2.json");
    for report in ["p1.json", "p2.json"] {
        let held = json_of(&ws, report)["dialogues"].as_array().map(Vec::len);
        assert_eq!(held, Some(1), "{report} holds one dialogue of the two");
    }
    let out = run_in(
        ws.path(),
        &[
            "merge", "p2.json", "p1.json", "--junit", "m.xml", "--json", "m.json", "--color",
            "never",
        ],
    );
    assert_code(&out, 0);
    assert_eq!(
        summary(&stdout(&out)),
        "2 passed, 0 failed, 0 errored, 0 skipped"
    );
    let xml = ws.read("m.xml");
    assert_eq!(xml.matches("<testsuite ").count(), 1, "{xml}");
    assert!(xml.contains("<testsuite name=\"a\" tests=\"2\""), "{xml}");
    let merged = json_of(&ws, "m.json");
    let files: Vec<&str> = merged["dialogues"]
        .as_array()
        .expect("dialogues")
        .iter()
        .filter_map(|d| d["suite_file"].as_str())
        .collect();
    assert_eq!(files, ["suites/a.yaml", "suites/a.yaml"]);

    // Downloaded into `ci/`, where no `suites/a.yaml` is: CI shards of one checkout.
    run_as(&ws, "suites/a.yaml", Some("2/2"), "p2-rel.json");
    run_as(&ws, "suites/a.yaml", None, "rel.json");
    run_as(&ws, "suites/sub/../a.yaml", None, "dotdot.json");
    for report in ["p1.json", "p2-rel.json", "rel.json", "dotdot.json"] {
        ws.write(&format!("ci/{report}"), &ws.read(report));
    }
    let ci = ws.path().join("ci");
    let out = run_in(
        &ci,
        &["merge", "p1.json", "p2-rel.json", "--junit", "m.xml"],
    );
    assert_code(&out, 0);
    assert_eq!(
        summary(&stdout(&out)),
        "2 passed, 0 failed, 0 errored, 0 skipped"
    );
    assert_eq!(ws.read("ci/m.xml").matches("<testsuite ").count(), 1);
    let out = run_in(&ci, &["merge", "rel.json", "dotdot.json"]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains(
            "error: cannot merge: dialogue `a › hours` of suites/a.yaml is in rel.json and in \
             dotdot.json; shards must not overlap"
        ),
        "{}",
        stderr(&out)
    );
}

/// A report cut short (an upload that died) is named at the place the JSON ends, as every
/// other diagnostic names a place: `file:line:column: message`, not serde's `at line L column
/// C` after the message (found by an audit).
#[test]
fn a_report_that_is_not_json_is_named_at_its_line_and_column() {
    let ws = one_suite();
    ws.write(
        "trunc.json",
        "{\n  \"schema_version\": 1,\n  \"run\": {\n    \"started_at\": \"2024-",
    );
    refused(
        &ws,
        &["trunc.json"],
        "error: trunc.json:4:24: not an agenttest JSON report: EOF while parsing a string\n",
    );
    // A whole report cut short, and one with a value of the wrong type, are said the same way.
    run_as(&ws, "suites", None, "r.json");
    let text = ws.read("r.json");
    ws.write("cut.json", &text[..text.len() / 2]);
    ws.write(
        "typed.json",
        &text.replacen("\"interrupted\": false", "\"interrupted\": 3", 1),
    );
    for (report, message) in [
        (
            "cut.json",
            "not an agenttest JSON report: EOF while parsing",
        ),
        (
            "typed.json",
            "not an agenttest JSON report: invalid type: integer `3`, expected a boolean\n",
        ),
    ] {
        let out = run_in(ws.path(), &["merge", report]);
        assert_code(&out, 2);
        let err = stderr(&out);
        let (place, rest) = err
            .strip_prefix("error: ")
            .and_then(|e| e.split_once(": "))
            .unwrap_or_else(|| panic!("{err}"));
        let mut parts = place.split(':');
        assert_eq!(parts.next(), Some(report), "{err}");
        assert!(
            parts.all(|n| n.parse::<u32>().is_ok_and(|n| n > 0)) && place.matches(':').count() == 2,
            "{err}"
        );
        assert!(rest.starts_with(message), "{err}");
        assert!(!err.contains(" at line "), "{err}");
    }
}
