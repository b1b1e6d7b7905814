//! Every structural YAML error of a file in one pass (SPEC §4): unknown fields, wrong types,
//! missing fields and duplicate keys all reported by one `agenttest validate`, each at its own
//! `file:line:column` with its caret, exit 2; none that only follows from another (a "missing
//! field" whose value was the error); and a bounded run whatever the file.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{agenttest, assert_code, run_in, stderr, Workspace};

const ENDPOINT: &str = "endpoint: {base_url: mock, agent_id: ag_test}\n";

/// `agenttest validate suite.yaml` on `text`: exit 2, and stderr.
fn refused(text: &str) -> String {
    let ws = Workspace::new();
    ws.write("suite.yaml", text);
    let out = run_in(ws.path(), &["validate", "suite.yaml", "--color", "never"]);
    assert_code(&out, 2);
    stderr(&out)
}

/// The `error:` headlines with the location under each: `("unknown field `x`", "f:3:5")`.
fn errors(stderr: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = stderr.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(message) = line.strip_prefix("error: ") else {
            continue;
        };
        let Some(location) = lines.get(i + 1).and_then(|l| l.trim().strip_prefix("--> ")) else {
            continue;
        };
        out.push((message.to_string(), location.to_string()));
    }
    out
}

/// The headline and location of each error, for an exact comparison.
fn pairs<'a>(expected: &[(&'a str, &'a str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(m, l)| (m.to_string(), l.to_string()))
        .collect()
}

#[test]
fn three_errors_of_one_file_in_one_run_each_with_its_place() {
    let text = format!(
        "{ENDPOINT}defaults:\n  expect: {{max_tokens: many}}\ndialogues:\n  - name: first\n    \
         turnz:\n      - user: hello\n  - name: second\n    turns:\n      - user: hi\n        \
         expekt: {{contains: x}}\n"
    );
    let err = refused(&text);
    assert_eq!(
        errors(&err),
        pairs(&[
            ("expected a non-negative integer", "suite.yaml:3:24"),
            ("unknown field `turnz`", "suite.yaml:6:5"),
            ("unknown field `expekt`", "suite.yaml:11:9"),
        ]),
        "{err}"
    );
    // Each with its own quoted line and caret.
    let caret = format!(
        "3 |   expect: {{max_tokens: many}}\n  | {}^^^^\n",
        " ".repeat(23)
    );
    assert!(err.contains(&caret), "{err}");
    assert!(err.contains("6 |     turnz:\n  |     ^^^^^"), "{err}");
    assert!(
        err.contains("11 |         expekt: {contains: x}\n   |         ^^^^^^"),
        "{err}"
    );
    assert!(err.contains("help: did you mean `turns`?"), "{err}");
    assert!(err.contains("help: did you mean `expect`?"), "{err}");
    assert!(
        err.ends_with("error: 3 errors found, nothing was sent\n"),
        "{err}"
    );
}

#[test]
fn a_second_bad_dialogue_is_not_hidden_behind_the_first() {
    let text = format!(
        "{ENDPOINT}dialogues:\n  - name: a\n    repeat: many\n    turns: [{{user: hi}}]\n  \
         - name: b\n    session: sometimes\n    turns: [{{user: hi}}]\n"
    );
    let err = refused(&text);
    assert_eq!(
        errors(&err),
        pairs(&[
            ("expected a non-negative integer", "suite.yaml:4:13"),
            (
                "unknown variant `sometimes`, expected one of fresh, server",
                "suite.yaml:7:14"
            ),
        ]),
        "{err}"
    );
}

#[test]
fn a_wrong_required_field_is_one_error_not_two() {
    // `pattern` is required: once its wrong value is reported, "missing field `pattern`"
    // would only repeat it. The same for `mode` of a golden, in flow style, and for a
    // misspelt required key (its did-you-mean says it all).
    let text = format!(
        "{ENDPOINT}normalize:\n  - pattern: [x]\n    replace: y\n  - patern: a\n    \
         replace: b\ndialogues:\n  - name: a\n    golden: {{mode: bogus}}\n    turns: [{{user: hi}}]\n"
    );
    let err = refused(&text);
    assert_eq!(
        errors(&err),
        pairs(&[
            ("expected a string", "suite.yaml:3:14"),
            ("unknown field `patern`", "suite.yaml:5:5"),
            (
                "unknown variant `bogus`, expected one of exact, similar, facts, judge",
                "suite.yaml:9:20"
            ),
        ]),
        "{err}"
    );
    assert!(!err.contains("missing field"), "{err}");
}

#[test]
fn a_field_missing_on_its_own_is_still_reported() {
    let text = format!(
        "{ENDPOINT}normalize:\n  - patern: a\n    replace: b\n  - replace: c\n\
         dialogues:\n  - name: a\n    turns: [{{user: hi}}]\n"
    );
    let err = refused(&text);
    assert_eq!(
        errors(&err),
        pairs(&[
            ("unknown field `patern`", "suite.yaml:3:5"),
            ("missing field `pattern`", "suite.yaml:5:5"),
        ]),
        "{err}"
    );
}

#[test]
fn flow_style_entries_are_each_reported() {
    let text = format!(
        "{ENDPOINT}dialogues:\n  - {{name: a, turns: [{{user: hi, expekt: {{}}}}, \
         {{bad: 1, user: there, worse: 2}}]}}\n"
    );
    let err = refused(&text);
    assert_eq!(
        errors(&err),
        pairs(&[
            ("unknown field `expekt`", "suite.yaml:3:34"),
            ("unknown field `bad`", "suite.yaml:3:48"),
            ("unknown field `worse`", "suite.yaml:3:69"),
        ]),
        "{err}"
    );
}

#[test]
fn columns_stay_right_after_a_blanked_multibyte_character() {
    let text =
        format!("{ENDPOINT}dialogues:\n  - {{name: a, bad: \"héllo→\", worse: 1, turns: []}}\n");
    let err = refused(&text);
    assert_eq!(
        errors(&err),
        pairs(&[
            ("unknown field `bad`", "suite.yaml:3:15"),
            ("unknown field `worse`", "suite.yaml:3:30"),
            ("dialogue `a` has no turns", "suite.yaml:3:50"),
        ]),
        "{err}"
    );
    assert!(
        err.contains(&format!("  | {}^^^^^ expected one of", " ".repeat(29))),
        "{err}"
    );
}

#[test]
fn an_error_inside_an_anchored_block_is_reported_once_where_it_is_written() {
    // The block is read three times (where it is defined and through two aliases).
    let text = format!(
        "{ENDPOINT}dialogues:\n  - name: a\n    turns: &t\n      - user: hi\n        \
         expekt: {{}}\n  - name: b\n    turns: *t\n  - name: c\n    turns: *t\n"
    );
    let err = refused(&text);
    assert_eq!(
        errors(&err),
        pairs(&[("unknown field `expekt`", "suite.yaml:6:9")]),
        "{err}"
    );
}

#[test]
fn an_error_only_through_an_alias_points_at_the_block_and_names_the_alias() {
    // `vars` takes any keys, so the block is fine where it is defined; as a turn it is not.
    let text = format!(
        "{ENDPOINT}dialogues:\n  - name: a\n    vars: &v\n      user: hi\n      expekt: x\n    \
         turns: [{{user: hi}}]\n  - name: b\n    turns:\n      - *v\n  - name: c\n    turnz: []\n"
    );
    let err = refused(&text);
    assert_eq!(
        errors(&err),
        pairs(&[
            ("unknown field `expekt`", "suite.yaml:6:7"),
            ("unknown field `turnz`", "suite.yaml:12:5"),
        ]),
        "{err}"
    );
    assert!(
        err.contains("this block is used through the alias at line 10, column 9"),
        "{err}"
    );
}

#[test]
fn an_alias_to_a_blanked_anchor_is_not_an_error_of_its_own() {
    // The anchor sits on the misspelt entry: once that entry is set aside, `*t` names
    // nothing, which is not the user's mistake; the error after it is.
    let text = format!(
        "{ENDPOINT}dialogues:\n  - name: a\n    turnz: &t [{{user: hi}}]\n  - name: b\n    \
         turns: *t\n    repeat: many\n"
    );
    let err = refused(&text);
    assert_eq!(
        errors(&err),
        pairs(&[
            ("unknown field `turnz`", "suite.yaml:4:5"),
            ("expected a non-negative integer", "suite.yaml:7:13"),
        ]),
        "{err}"
    );
}

#[test]
fn a_duplicate_key_is_reported_with_the_rest() {
    let text = format!(
        "{ENDPOINT}dialogues:\n  - name: a\n    name: b\n    turnz: []\n  - name: c\n    \
         turns: [{{user: hi, user: again}}]\n"
    );
    let err = refused(&text);
    assert_eq!(
        errors(&err),
        pairs(&[
            ("duplicate mapping key: name", "suite.yaml:4:5"),
            ("unknown field `turnz`", "suite.yaml:5:5"),
            ("duplicate mapping key: user", "suite.yaml:7:24"),
        ]),
        "{err}"
    );
}

#[test]
fn a_syntax_error_is_the_one_answer() {
    // Nothing after it can be read, and a type error before it is not worth a second run.
    let text = format!("{ENDPOINT}dialogues:\n  - name: a\n    turnz: []\n  - name: 'open\n");
    let err = refused(&text);
    assert_eq!(errors(&err).len(), 1, "{err}");
    assert!(err.contains("error: unclosed quote"), "{err}");
}

#[test]
fn meaning_is_checked_away_from_structural_errors() {
    // SPEC §4, all errors at once: the invalid regex of dialogue a is reported with dialogue
    // b's unknown field, and b's own unknown `{{name}}` too: a misspelt `turnz` defines no
    // variable (a misspelt `varz` could, and would silence it: see the test below).
    let text = format!(
        "{ENDPOINT}dialogues:\n  - name: a\n    turns: [{{user: hi, expect: {{regex: '(oops'}}}}]\n  \
         - name: b\n    turnz: []\n    turns: [{{user: '{{{{nope}}}}'}}]\n"
    );
    let err = refused(&text);
    assert_eq!(
        errors(&err),
        pairs(&[
            ("invalid regex: unclosed group", "suite.yaml:4:40"),
            ("unknown field `turnz`", "suite.yaml:6:5"),
            ("unknown variable `{{nope}}`", "suite.yaml:7:21"),
        ]),
        "{err}"
    );
}

#[test]
fn a_misspelt_vars_does_not_make_its_names_unknown() {
    // `varz` looks like `vars`: the `{{who}}` it was meant to define is not reported as
    // unknown (an echo of the one mistake), while dialogue a's bad regex still is.
    let text = format!(
        "{ENDPOINT}dialogues:\n  - name: a\n    turns: [{{user: hi, expect: {{regex: '(oops'}}}}]\n  \
         - name: b\n    varz: {{who: x}}\n    turns: [{{user: '{{{{who}}}}'}}]\n"
    );
    let err = refused(&text);
    assert_eq!(
        errors(&err),
        pairs(&[
            ("invalid regex: unclosed group", "suite.yaml:4:40"),
            ("unknown field `varz`", "suite.yaml:6:5"),
        ]),
        "{err}"
    );
}

#[test]
fn a_structural_error_in_the_head_leaves_only_structural_errors() {
    // A blanked `kind` would make every dialogue's `model` a field of another kind: echoes.
    let text = "endpoint: {kind: opneai, base_url: mock, model: m}\ndialogues:\n  - name: a\n    \
                turns: [{user: hi, expect: {regex: '(oops'}}]\n";
    let err = refused(text);
    let found = errors(&err);
    assert_eq!(found.len(), 1, "{err}");
    assert_eq!(found[0].1, "suite.yaml:1:18", "{err}");
}

#[test]
fn fifty_errors_at_most_then_a_note() {
    let mut text = format!("{ENDPOINT}dialogues:\n");
    for i in 0..70 {
        text.push_str(&format!("  - name: d{i}\n    turnz: []\n"));
    }
    let started = Instant::now();
    let err = refused(&text);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let found = errors(&err);
    assert_eq!(found.len(), 50, "{err}");
    assert_eq!(found[0].1, "suite.yaml:4:5");
    assert_eq!(found[49].1, "suite.yaml:102:5");
    assert!(
        err.contains("warning: stopped after 50 errors in this file\n  --> suite.yaml\n"),
        "{err}"
    );
    assert!(
        err.ends_with("error: 50 errors found, nothing was sent\n"),
        "{err}"
    );
}

#[test]
fn a_long_file_with_errors_all_through_it_is_read_in_bounded_time() {
    // Each repair reads the file again from the top; what was read already is set aside, so
    // 40 errors over 4,000 dialogues take a few reads of the file, not 40.
    let mut text = format!("{ENDPOINT}dialogues:\n");
    for i in 0..4_000 {
        text.push_str(&format!(
            "  - name: d{i}\n    turns:\n      - user: hello {i}\n        expect: {{contains: x}}\n"
        ));
        if i % 100 == 0 {
            text.push_str("        expekt: 1\n");
        }
    }
    let started = Instant::now();
    let err = refused(&text);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(errors(&err).len(), 40, "{err}");
}

#[test]
fn agenttest_yaml_reports_all_its_errors_too() {
    let ws = Workspace::new();
    ws.write(
        "agenttest.yaml",
        "endpoint:\n  base_url: mock\n  agent_id: ag_test\n  retires: 3\n  timeout: [1]\n\
         normalize:\n  - {pattern: x, replce: y}\n",
    );
    ws.write(
        "suite.yaml",
        "dialogues:\n  - name: a\n    turns: [{user: hi}]\n",
    );
    let out = run_in(ws.path(), &["validate", "suite.yaml", "--color", "never"]);
    assert_code(&out, 2);
    let err = stderr(&out);
    let found = errors(&err);
    let places: Vec<&str> = found.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(
        places,
        [
            "./agenttest.yaml:4:3",
            "./agenttest.yaml:5:12",
            "./agenttest.yaml:7:18"
        ],
        "{err}"
    );
}

#[test]
fn a_mock_script_reports_all_its_errors_too() {
    let ws = Workspace::new();
    let script = ws.write(
        "script.yaml",
        "agents:\n  ag_x:\n    rulez: []\n  ag_y:\n    balance_tokens: lots\n",
    );
    let err = mock_refused(&script);
    let found = errors(&err);
    let places: Vec<&str> = found.iter().map(|(_, l)| l.as_str()).collect();
    let shown = script.display().to_string();
    assert_eq!(
        places,
        [format!("{shown}:3:5"), format!("{shown}:5:21")],
        "{err}"
    );
    assert!(err.contains("error: unknown field `rulez`"), "{err}");
}

/// `agenttest mock --script PATH`, which must refuse the script and exit 2 at once.
fn mock_refused(script: &Path) -> String {
    let mut child = agenttest()
        .args(["mock", "--addr", "127.0.0.1:0", "--script"])
        .arg(script)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn agenttest mock");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert_eq!(status.code(), Some(2));
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the mock served a broken script instead of refusing it");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut err = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut err).expect("read stderr");
    }
    err
}

#[test]
fn every_dialogue_of_the_example_suites_with_a_bad_key_is_reported() {
    // Real suites of every shape (flow and block, anchors, matrices, judges): a bad key in
    // each dialogue gives one error per dialogue, at its own line, and nothing else.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = [
        "suites/support.yaml",
        "suites/sales.yaml",
        "suites/http.yaml",
        "suites/legacy.yaml",
        "suites/openai.yaml",
        "tests/fixtures/suites/support.yaml",
        "tests/fixtures/suites/judging/support.yaml",
        "tests/fixtures/suites/kinds/http.yaml",
        "tests/fixtures/suites/matrix/languages.yaml",
    ];
    for seed in seeds {
        let text = std::fs::read_to_string(root.join(seed)).expect("read seed");
        let mut broken = String::new();
        let mut expected = Vec::new();
        for line in text.lines() {
            broken.push_str(line);
            broken.push('\n');
            if line.starts_with("  - name: ") {
                broken.push_str("    zzz_not_a_field: 1\n");
                let at = broken.lines().count();
                expected.push(format!("suite.yaml:{at}:5"));
            }
        }
        assert!(
            expected.len() >= 2,
            "{seed} has fewer dialogues than expected"
        );
        let err = refused(&broken);
        let bad_key = |(m, _): &(String, String)| m == "unknown field `zzz_not_a_field`";
        let (found, others): (Vec<_>, Vec<_>) = errors(&err).into_iter().partition(bad_key);
        let places: Vec<&str> = found.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(places, expected, "{seed}:\n{err}");
        // An unknown field neither hides nor adds an error: the others are exactly the
        // errors of the seed alone (alone, without its agenttest.yaml, it may lack an
        // endpoint or an env var this test does not set).
        let alone = {
            let ws = Workspace::new();
            ws.write("suite.yaml", &text);
            let out = run_in(ws.path(), &["validate", "suite.yaml", "--color", "never"]);
            errors(&stderr(&out))
        };
        let mut said: Vec<&String> = others.iter().map(|(m, _)| m).collect();
        let mut due: Vec<&String> = alone.iter().map(|(m, _)| m).collect();
        said.sort();
        due.sort();
        assert_eq!(said, due, "{seed}:\n{err}");
    }
}

/// A team whose files end in `.yml` names its shared config `agenttest.yml`: it is read as a
/// suite, and the error says why and what the config must be called.
#[test]
fn a_config_named_agenttest_yml_is_told_its_name() {
    let ws = Workspace::new();
    ws.write("s/agenttest.yml", ENDPOINT);
    ws.write(
        "s/x.yml",
        "dialogues:\n  - {name: a, golden: false, turns: [{user: hi}]}\n",
    );
    let out = run_in(ws.path(), &["validate", "s", "--color", "never"]);
    assert_code(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("s/agenttest.yml:1:1"), "{err}");
    assert!(
        err.contains("the shared config is read only from a file named `agenttest.yaml`"),
        "{err}"
    );
}
