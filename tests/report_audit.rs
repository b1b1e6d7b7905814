//! What a user reads in the reports, for the report problems an outside audit found: every
//! report lists the facts a passing `golden: {mode: facts}` reply adds, `merge` included (SPEC
//! §9.1); a golden failure's JUnit `message` says why in one line; the console and JUnit word a
//! repeat's tally alike; a judge that could not answer is a `judge` error, not a transport one;
//! a shard's HTML names its slice, and an empty slice does not read like an empty selection;
//! an unreadable golden of a repeated dialogue keeps the tally one line and its diagnostic is
//! shown once. Each runs the real binary against in-process `base_url: mock` agents.

mod common;

use common::{assert_code, assert_valid_junit, run_in, stdout, Workspace};
use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::Value;

/// The note a passing facts golden gets when the reply also states a closing time.
const NOTE: &str = "turn 1: the facts differ from the golden's: added time 18:00";

const AGENT: &str = r#"agents:
  ag1:
    rules:
      - when: 'hours'
        reply: 'We open at 9 AM and close at 6 PM.'
      - when: 'where'
        reply: 'We are on Main Street.'
      - when: 'boom'
        status: 500
        detail: Agent execution error
    fallback: 'fine'
"#;

const JUDGE: &str = r#"agents:
  judge:
    rules:
      - when: 'NOTJSON'
        reply: 'I think it is fine'
    fallback: '{"pass": false, "reason": "it opens at 9, the golden says 10"}'
"#;

/// A golden file of suite `g` for `dialogue`, one `(user, agent)` pair a turn.
fn golden(dialogue: &str, turns: &[(&str, &str)]) -> String {
    let mut out = format!(
        "# agenttest golden transcript. Update with: agenttest run --bless\nsuite: g\n\
         dialogue: {dialogue}\nturns:\n"
    );
    for (user, agent) in turns {
        out.push_str(&format!(
            "  - user: {user}\n    status: 200\n    agent: {agent}\n"
        ));
    }
    out
}

/// A workspace with the agent and judge scripts and `suites/g.yaml` holding `dialogues` (the
/// YAML list's items), with goldens for the dialogues named `added`, `facts`, `judged` and
/// `exact`.
fn workspace(dialogues: &str) -> Workspace {
    let ws = Workspace::new();
    ws.write("agent.yaml", AGENT);
    ws.write("judge.yaml", JUDGE);
    ws.write(
        "suites/g.yaml",
        &format!(
            "endpoint: {{base_url: mock, mock_script: ../agent.yaml, agent_id: ag1, \
             api_key: ak_test_1, retries: 0}}\n\
             judge: {{base_url: mock, mock_script: ../judge.yaml, model: judge, \
             api_key: jk_test_1}}\ndialogues:\n{dialogues}"
        ),
    );
    ws.write(
        "suites/g.golden/added.yaml",
        &golden("added", &[("hours", "We open at 9 AM.")]),
    );
    ws.write(
        "suites/g.golden/facts.yaml",
        &golden("facts", &[("hours", "We open at 10 AM.")]),
    );
    ws.write(
        "suites/g.golden/judged.yaml",
        &golden("judged", &[("hours", "We open at 10 AM.")]),
    );
    ws.write(
        "suites/g.golden/exact.yaml",
        &golden(
            "exact",
            &[
                ("hours", "We open at 9 AM and close at 6 PM."),
                ("where", "We are on Elm Street."),
            ],
        ),
    );
    ws
}

/// One testcase of a JUnit file, as a CI system reads it.
#[derive(Debug, Default)]
struct Case {
    name: String,
    /// `failure` or `error`, with its `message` and `type`, and its text.
    verdict: Option<(String, String, String)>,
    verdict_text: String,
    system_out: String,
}

fn cases(xml: &str) -> Vec<Case> {
    let mut reader = Reader::from_str(xml);
    let mut out: Vec<Case> = Vec::new();
    let mut inside = String::new();
    let attr = |e: &quick_xml::events::BytesStart<'_>, name: &str| {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == name.as_bytes())
            .map(|a| a.unescape_value().expect("attribute").into_owned())
            .unwrap_or_default()
    };
    loop {
        match reader.read_event().expect("well-formed JUnit") {
            Event::Start(e) | Event::Empty(e) => {
                let tag = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                match tag.as_str() {
                    "testcase" => out.push(Case {
                        name: attr(&e, "name"),
                        ..Case::default()
                    }),
                    "failure" | "error" => {
                        let case = out.last_mut().expect("a testcase");
                        case.verdict = Some((tag.clone(), attr(&e, "message"), attr(&e, "type")));
                    }
                    _ => {}
                }
                inside = tag;
            }
            Event::Text(t) => {
                let text = t.unescape().expect("text").into_owned();
                if let Some(case) = out.last_mut() {
                    match inside.as_str() {
                        "failure" | "error" => case.verdict_text.push_str(&text),
                        "system-out" => case.system_out.push_str(&text),
                        _ => {}
                    }
                }
            }
            Event::End(_) => inside.clear(),
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn case<'a>(cases: &'a [Case], name: &str) -> &'a Case {
    cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no testcase {name:?} in {cases:#?}"))
}

/// The `(tag, message, type)` of a testcase's verdict.
fn verdict<'a>(cases: &'a [Case], name: &str) -> (&'a str, &'a str, &'a str) {
    let (tag, message, kind) = case(cases, name)
        .verdict
        .as_ref()
        .unwrap_or_else(|| panic!("{name:?} has no failure or error"));
    (tag, message, kind)
}

/// The JSON report's `golden.notes` of every attempt of dialogue `name`.
fn json_notes(report: &str, name: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(report).expect("JSON report");
    let d = v["dialogues"]
        .as_array()
        .expect("dialogues")
        .iter()
        .find(|d| d["name"] == name)
        .expect("the dialogue");
    d["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .flat_map(|a| a["golden"]["notes"].as_array().cloned().unwrap_or_default())
        .map(|n| n.as_str().expect("a note is text").to_string())
        .collect()
}

#[test]
fn the_facts_a_passing_reply_adds_are_in_every_report_and_after_merge() {
    let ws = workspace("  - name: added\n    golden: {mode: facts}\n    turns: [{user: hours}]\n");
    let out = run_in(
        ws.path(),
        &[
            "run", "suites", "--json", "r.json", "--junit", "r.xml", "--html", "r.html", "--color",
            "never",
        ],
    );
    assert_code(&out, 0);
    let console = stdout(&out);
    assert!(
        console.contains(&format!("      note: {NOTE}\n")),
        "{console}"
    );
    assert_eq!(json_notes(&ws.read("r.json"), "added"), [NOTE]);
    let run_xml = ws.read("r.xml");
    assert_valid_junit(&ws.path().join("r.xml"));
    let added = &cases(&run_xml)[0];
    assert!(
        added.system_out.contains(&format!("note: {NOTE}\n")),
        "the JUnit <system-out> lists the note:\n{}",
        added.system_out
    );
    let note_html = format!("note: {}", NOTE.replace('\'', "&#39;"));
    let page = ws.read("r.html");
    assert!(
        page.contains(&note_html),
        "the HTML lists the note:\n{page}"
    );

    // Merged, the shard's note is still listed on the console and in every report.
    let out = run_in(
        ws.path(),
        &[
            "merge", "r.json", "--json", "m.json", "--junit", "m.xml", "--html", "m.html",
            "--color", "never",
        ],
    );
    assert_code(&out, 0);
    let console = stdout(&out);
    assert!(
        console.contains(&format!("      note: {NOTE}\n")),
        "merge's console lists the note:\n{console}"
    );
    assert_eq!(json_notes(&ws.read("m.json"), "added"), [NOTE]);
    assert_valid_junit(&ws.path().join("m.xml"));
    let merged = &cases(&ws.read("m.xml"))[0];
    assert_eq!(merged.system_out, added.system_out);
    assert!(ws.read("m.html").contains(&note_html));
}

#[test]
fn a_golden_failure_s_junit_message_is_one_line_with_its_reason() {
    let ws = workspace(
        "  - name: facts\n    golden: {mode: facts}\n    turns: [{user: hours}]\n\
         \x20 - name: judged\n    golden: {mode: judge}\n    turns: [{user: hours}]\n\
         \x20 - name: exact\n    turns: [{user: hours}, {user: where}]\n",
    );
    let out = run_in(
        ws.path(),
        &[
            "run", "suites", "--json", "r.json", "--junit", "r.xml", "--color", "never",
        ],
    );
    assert_code(&out, 1);
    assert_valid_junit(&ws.path().join("r.xml"));
    let out = run_in(
        ws.path(),
        &["merge", "r.json", "--junit", "m.xml", "--color", "never"],
    );
    assert_code(&out, 1);
    assert_valid_junit(&ws.path().join("m.xml"));
    // The run's JUnit and the merged one say the same.
    for file in ["r.xml", "m.xml"] {
        let cases = cases(&ws.read(file));
        let (_, facts, kind) = verdict(&cases, "facts");
        assert_eq!(kind, "golden");
        assert!(
            facts.starts_with("turn 1: the facts differ from the golden's: missing time 10:00"),
            "{file}: {facts}"
        );
        assert_eq!(
            verdict(&cases, "judged").1,
            "turn 1: the judge found it differs from the golden: it opens at 9, the golden says 10",
            "{file}"
        );
        assert_eq!(
            verdict(&cases, "exact").1,
            "the transcript differs from the golden at suites/g.golden/exact.yaml (turn 2)",
            "{file}"
        );
        for c in &cases {
            let (_, message, _) = verdict(&cases, &c.name);
            assert!(
                !message.ends_with(':') && !message.contains('\n'),
                "{file}: {message:?}"
            );
        }
        // The element text keeps the whole explanation, the diff included.
        let exact = case(&cases, "exact");
        for needle in [
            "the transcript differs from the golden at suites/g.golden/exact.yaml:\n  turn 2: the agent text differs\n",
            "-    agent: We are on Elm Street.\n+    agent: We are on Main Street.",
        ] {
            assert!(exact.verdict_text.contains(needle), "{file}: {}", exact.verdict_text);
        }
    }
}

#[test]
fn a_judge_that_does_not_answer_json_is_a_judge_error_not_a_transport_one() {
    let ws = workspace(
        "  - name: not json\n    golden: false\n    turns:\n      - user: hours\n\
         \x20       expect: {judge: \"NOTJSON please\"}\n\
         \x20 - name: refused\n    golden: false\n    turns: [{user: boom}]\n",
    );
    let out = run_in(
        ws.path(),
        &[
            "run", "suites", "--json", "r.json", "--junit", "r.xml", "--color", "never",
        ],
    );
    assert_code(&out, 3);
    let out = run_in(
        ws.path(),
        &["merge", "r.json", "--junit", "m.xml", "--color", "never"],
    );
    assert_code(&out, 3);
    for file in ["r.xml", "m.xml"] {
        assert_valid_junit(&ws.path().join(file));
        let cases = cases(&ws.read(file));
        let (tag, message, kind) = verdict(&cases, "not json");
        assert_eq!(tag, "error", "{file}");
        assert!(
            message.starts_with("turn 1: could not judge: the judge did not answer JSON"),
            "{file}: {message}"
        );
        assert_eq!(kind, "judge", "{file}: no transport failed");
        let (tag, message, kind) = verdict(&cases, "refused");
        assert_eq!(tag, "error", "{file}");
        assert!(
            message.starts_with("turn 1: unexpected status 500"),
            "{file}: {message}"
        );
        assert_eq!(kind, "transport", "{file}");
    }
}

#[test]
fn a_repeat_s_tally_words_run_and_runs_alike_on_the_console_and_in_junit() {
    let ws = Workspace::new();
    // With this seed, turn 1 fails in one of the six runs and turn 2 in two of them
    // (`replies` draws are stable across platforms: docs/mock.md).
    ws.write(
        "agent.yaml",
        "agents:\n  ag1:\n    seed: 4\n    rules:\n      - when: 'first'\n        replies: \
         [good answer, good answer, good answer, good answer, good answer, bad answer]\n      \
         - when: 'second'\n        replies: [good answer, bad answer]\n",
    );
    ws.write(
        "suites/r.yaml",
        "endpoint: {base_url: mock, mock_script: ../agent.yaml, agent_id: ag1, api_key: ak_1, \
         retries: 0}\ndialogues:\n  - name: rep\n    golden: false\n    repeat: 6\n    \
         min_pass: 6\n    turns:\n      - user: first\n        expect: {contains: good}\n      \
         - user: second\n        expect: {contains: good}\n",
    );
    let out = run_in(
        ws.path(),
        &["run", "suites", "--junit", "r.xml", "--color", "never"],
    );
    assert_code(&out, 1);
    assert_valid_junit(&ws.path().join("r.xml"));
    let console = stdout(&out);
    let junit = cases(&ws.read("r.xml"));
    let text = &case(&junit, "rep").verdict_text;
    let phrases = |text: &str| -> Vec<String> {
        let re = regex::Regex::new(r"\(failed in runs? [0-9, ]+\)").expect("regex");
        re.find_iter(text).map(|m| m.as_str().to_string()).collect()
    };
    let said = phrases(&console);
    assert_eq!(said.len(), 2, "{console}");
    assert_eq!(
        said,
        phrases(text),
        "console and JUnit word the tally alike"
    );
    for phrase in &said {
        let one = !phrase.contains(',');
        assert_eq!(
            phrase.starts_with("(failed in run "),
            one,
            "one run is `run N`, several are `runs N, M`: {phrase}"
        );
    }
    assert!(
        said.iter().any(|p| p.starts_with("(failed in run ")),
        "{said:?}"
    );
    assert!(
        said.iter().any(|p| p.starts_with("(failed in runs ")),
        "{said:?}"
    );
}

#[test]
fn a_shard_s_page_names_its_slice_and_an_empty_slice_is_no_empty_selection() {
    let ws = workspace("  - name: exact\n    turns: [{user: hours}, {user: where}]\n");
    let mut empty_slices = 0;
    for k in 1..=3 {
        let page_file = format!("p{k}.html");
        let slice = format!("{k}/3");
        let out = run_in(
            ws.path(),
            &[
                "run",
                "suites",
                "--partition",
                &slice,
                "--html",
                &page_file,
                "--color",
                "never",
            ],
        );
        let page = ws.read(&page_file);
        assert!(
            page.contains(&format!("<dt>partition</dt><dd>{slice}</dd>")),
            "the page of shard {slice} says which it is:\n{page}"
        );
        if page.contains("<section class=\"dialogue") {
            assert_code(&out, 1);
            continue;
        }
        assert_code(&out, 0);
        empty_slices += 1;
        assert!(
            page.contains(&format!(
                "this slice (partition {slice}) holds no dialogue of the selection"
            )),
            "{page}"
        );
        assert!(!page.contains("nothing matched the selection"), "{page}");
    }
    assert_eq!(empty_slices, 2, "one dialogue, three slices");

    let out = run_in(
        ws.path(),
        &[
            "run",
            "suites",
            "--tag",
            "nope",
            "--html",
            "none.html",
            "--color",
            "never",
        ],
    );
    assert_code(&out, 4);
    let page = ws.read("none.html");
    assert!(
        page.contains("nothing matched the selection"),
        "an empty selection is a gate problem:\n{page}"
    );
    assert!(!page.contains("<dt>partition</dt>"), "{page}");
    assert!(!page.contains("this slice"), "{page}");
}

#[test]
fn an_unreadable_baseline_keeps_the_tally_one_line_and_is_shown_once() {
    let ws = Workspace::new();
    ws.write(
        "agent.yaml",
        "agents:\n  ag1:\n    rules:\n      - when: coin\n        reply: bad answer\n",
    );
    ws.write(
        "suites/b.yaml",
        "endpoint: {base_url: mock, mock_script: ../agent.yaml, agent_id: ag1, api_key: ak_1}\n\
         dialogues:\n  - name: coin\n    repeat: 4\n    min_pass: baseline\n    turns:\n      \
         - user: coin\n        expect: {contains: good}\n",
    );
    ws.write(
        "suites/b.golden/coin.yaml",
        "# agenttest golden transcript. Update with: agenttest run --bless\nsuite: b\n\
         dialogue: coin\nbaseline: {runs: 40, passed: 50}\nturns:\n  - user: coin\n    \
         status: 200\n    agent: bad answer\n",
    );
    let out = run_in(
        ws.path(),
        &[
            "run", "suites", "--json", "r.json", "--junit", "r.xml", "--html", "r.html", "--color",
            "never",
        ],
    );
    let code = out.status.code();
    assert!(matches!(code, Some(1 | 3)), "{code:?}\n{}", stdout(&out));
    // The rustc-style diagnostic's pointer line, once per report.
    let arrow = " --> suites/b.golden/coin.yaml:4:11";
    let console = stdout(&out);
    let tally: Vec<&str> = console
        .lines()
        .filter(|l| l.contains("golden: matched in"))
        .collect();
    assert_eq!(
        tally,
        ["   golden: matched in 0/4 runs; it cannot be read (see below)"],
        "{console}"
    );
    assert_eq!(console.matches(arrow).count(), 1, "{console}");
    assert_valid_junit(&ws.path().join("r.xml"));
    let junit = cases(&ws.read("r.xml"));
    let coin = case(&junit, "coin");
    let text = format!("{}{}", coin.verdict_text, coin.system_out);
    assert!(
        text.contains("\ngolden: matched in 0/4 runs; it cannot be read (see below)\n"),
        "{text}"
    );
    assert_eq!(text.matches(arrow).count(), 1, "{text}");
    let page = ws.read("r.html");
    assert_eq!(
        page.matches(&arrow.replace('>', "&gt;")).count(),
        1,
        "{page}"
    );
    assert!(page.contains("<div>golden: matched in 0/4 runs; it cannot be read (see below)</div>"));

    // A merge of the run's report says it the same way.
    let out = run_in(ws.path(), &["merge", "r.json", "--color", "never"]);
    assert_eq!(out.status.code(), code);
    let merged = stdout(&out);
    assert_eq!(merged.matches(arrow).count(), 1, "{merged}");
    assert!(
        merged.contains("   golden: matched in 0/4 runs; it cannot be read (see below)\n"),
        "{merged}"
    );
}
