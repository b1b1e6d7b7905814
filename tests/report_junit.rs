//! The JUnit reporter against the contract (SPEC §5, §7): the file validates against the
//! Jenkins schema beside the repository (shared/junit/junit-10.xsd) whatever the agent said,
//! and the counts, names and texts read back from the XML are the ones CI systems rely on.

mod common;

#[path = "fixtures/report/mixed.rs"]
mod mixed;

use std::path::{Path, PathBuf};

use agenttest::report::junit;
use quick_xml::events::Event;
use quick_xml::Reader;

/// A parsed XML element: enough of a DOM to assert on.
#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<El>,
    text: String,
}

impl El {
    fn attr(&self, name: &str) -> &str {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("<{}> has no attribute {name}: {:?}", self.name, self.attrs))
    }

    fn has_attr(&self, name: &str) -> bool {
        self.attrs.iter().any(|(k, _)| k == name)
    }

    fn all(&self, name: &str) -> Vec<&El> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    fn one(&self, name: &str) -> &El {
        let all = self.all(name);
        assert_eq!(all.len(), 1, "<{}> should have one <{name}>", self.name);
        all[0]
    }
}

fn parse(xml: &str) -> El {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<El> = vec![El::default()];
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => stack.push(element(&e)),
            Event::Empty(e) => {
                let el = element(&e);
                stack.last_mut().expect("parent").children.push(el);
            }
            Event::End(_) => {
                let el = stack.pop().expect("open element");
                stack.last_mut().expect("parent").children.push(el);
            }
            Event::Text(t) => {
                let text = t.unescape().expect("valid escapes");
                stack.last_mut().expect("element").text.push_str(&text);
            }
            Event::CData(c) => {
                let text = String::from_utf8(c.into_inner().into_owned()).expect("utf-8");
                stack.last_mut().expect("element").text.push_str(&text);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut doc = stack.pop().expect("document");
    assert_eq!(doc.children.len(), 1, "one root element");
    doc.children.remove(0)
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> El {
    El {
        name: String::from_utf8(e.name().as_ref().to_vec()).expect("utf-8 name"),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.expect("attribute");
                (
                    String::from_utf8(a.key.as_ref().to_vec()).expect("utf-8 key"),
                    a.unescape_value().expect("attribute value").into_owned(),
                )
            })
            .collect(),
        ..El::default()
    }
}

/// xmllint against junit-10.xsd (see `common::assert_valid_junit`).
fn validate(file: &Path) {
    common::assert_valid_junit(file);
}

fn write_and_validate(
    report: &agenttest::record::RunReport,
) -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.xml");
    junit::write(report, &path).expect("write report");
    validate(&path);
    let xml = std::fs::read_to_string(&path).expect("read back");
    assert_eq!(
        xml,
        junit::render(report),
        "write() writes what render() renders"
    );
    (dir, path, xml)
}

fn testcase<'a>(root: &'a El, classname: &str, name: &str) -> &'a El {
    root.all("testsuite")
        .into_iter()
        .flat_map(|s| s.all("testcase"))
        .find(|c| c.attr("classname") == classname && c.attr("name") == name)
        .unwrap_or_else(|| panic!("no testcase {classname} / {name}"))
}

fn property<'a>(suite: &'a El, name: &str) -> Option<&'a str> {
    suite
        .one("properties")
        .all("property")
        .into_iter()
        .find(|p| p.attr("name") == name)
        .map(|p| p.attr("value"))
}

#[test]
fn mixed_report_validates_and_counts_match() {
    let (_dir, _path, xml) = write_and_validate(&mixed::mixed());
    let root = parse(&xml);
    assert_eq!(root.name, "testsuites");
    assert_eq!(root.attr("name"), "agenttest");
    assert_eq!(root.attr("tests"), "9");
    assert_eq!(root.attr("failures"), "2");
    assert_eq!(root.attr("errors"), "1");
    assert_eq!(root.attr("time"), "5.432");

    let suites = root.all("testsuite");
    let summary: Vec<(&str, &str, &str, &str, &str)> = suites
        .iter()
        .map(|s| {
            (
                s.attr("name"),
                s.attr("tests"),
                s.attr("failures"),
                s.attr("errors"),
                s.attr("skipped"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("support (suites/a/support.yaml)", "4", "1", "1", "1"),
            ("support (suites/b/support.yaml)", "3", "1", "0", "0"),
            ("billing", "2", "0", "0", "2"),
        ]
    );
    for s in &suites {
        assert_eq!(s.attr("timestamp"), "2024-05-01T12:34:56");
        // Counts in the attributes agree with the testcases' children.
        let cases = s.all("testcase");
        assert_eq!(s.attr("tests"), cases.len().to_string());
        let with = |tag: &str| cases.iter().filter(|c| !c.all(tag).is_empty()).count();
        assert_eq!(s.attr("failures"), with("failure").to_string());
        assert_eq!(s.attr("errors"), with("error").to_string());
        assert_eq!(s.attr("skipped"), with("skipped").to_string());
    }
    assert_eq!(property(suites[0], "file"), Some("suites/a/support.yaml"));
    assert_eq!(property(suites[1], "file"), Some("suites/b/support.yaml"));
    assert_eq!(property(suites[2], "file"), Some("suites/billing.yaml"));
    assert_eq!(property(suites[0], "flaky"), None);
    assert_eq!(property(suites[1], "flaky"), Some("1"));

    // classname + name unique in the file.
    let mut keys: Vec<(String, String)> = suites
        .iter()
        .flat_map(|s| s.all("testcase"))
        .map(|c| (c.attr("classname").to_string(), c.attr("name").to_string()))
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "classname+name must be unique: {keys:?}");
    // Testcases never carry attributes the schema forbids.
    for c in suites.iter().flat_map(|s| s.all("testcase")) {
        assert!(!c.has_attr("file"));
        assert!(c.all("properties").is_empty());
    }
}

#[test]
fn failure_text_has_locations_messages_agent_text_and_diff() {
    let root = parse(&junit::render(&mixed::mixed()));
    let case = testcase(&root, "support (suites/a/support.yaml)", "order follow-up");
    let failure = case.one("failure");
    assert_eq!(failure.attr("type"), "expectation");
    assert_eq!(
        failure.attr("message"),
        "turn 1: expected the text to contain \"Enterprise\" (and 3 more)"
    );
    let text = &failure.text;
    for needle in [
        "turn 1 (suites/a/support.yaml:15:9)",
        "expect.contains (suites/a/support.yaml:17:21): expected the text to contain \"Enterprise\"",
        "agent [200]: Your order ORD-1 is on its way.",
        "turn 2 (suites/a/support.yaml:18:9)",
        "expect.regex (suites/a/support.yaml:20:18)",
        "expect.max_tokens (suites/a/support.yaml:21:23): expected at most 10 output tokens, got 32",
        "agent [200]: I cannot find that order.\nthe transcript differs from the golden at suites/a/support.golden/order-follow-up.yaml:\n  turn 2: the agent text differs\n\n--- golden",
        "-    agent: Yes, <ORDER> shipped yesterday.\n+    agent: I cannot find that order.",
        "to accept this run's transcript as the golden (sends nothing): agenttest accept suites/a/support.yaml",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in failure text:\n{text}");
    }
    let out = case.one("system-out");
    assert!(out.text.starts_with("session: s-fail-1\n"), "{}", out.text);
    assert!(out
        .text
        .contains("> Where is my Enterprise order?\n< [200] Your order ORD-1 is on its way.\n"));
}

#[test]
fn errors_skips_and_not_run() {
    let root = parse(&junit::render(&mixed::mixed()));
    let case = testcase(&root, "support (suites/a/support.yaml)", "wrong key");
    let error = case.one("error");
    assert_eq!(error.attr("type"), "transport");
    assert_eq!(
        error.attr("message"),
        "turn 2: connection failed: connection refused (after 2 retries)"
    );
    assert!(
        error.text.contains("turn 2 (suites/a/support.yaml:27:9)"),
        "{}",
        error.text
    );
    assert!(
        error
            .text
            .contains("error (suites/a/support.yaml:27:9): connection failed"),
        "{}",
        error.text
    );
    assert!(case
        .one("system-out")
        .text
        .starts_with("session: s-err-1\n"));
    assert!(case
        .one("system-out")
        .text
        .contains("< (no response)\n! error: connection failed"));

    let skip = testcase(&root, "support (suites/a/support.yaml)", "slow upstream");
    assert_eq!(
        skip.one("skipped").attr("message"),
        "upstream outage, see ticket 123"
    );
    assert!(skip.all("system-out").is_empty());

    let not_run = testcase(&root, "billing", "refund");
    assert_eq!(
        not_run.one("skipped").attr("message"),
        "not run (the run was interrupted)"
    );
    let partial = testcase(&root, "billing", "partial");
    assert!(!partial.all("skipped").is_empty());
    assert!(partial
        .one("system-out")
        .text
        .starts_with("session: s-partial\n> one\n< [200] half"));
}

#[test]
fn flaky_passes_and_lists_the_failed_attempt() {
    let root = parse(&junit::render(&mixed::mixed()));
    let case = testcase(&root, "support (suites/b/support.yaml)", "greeting");
    assert!(case.all("failure").is_empty() && case.all("error").is_empty());
    let out = &case.one("system-out").text;
    assert!(
        out.starts_with("session: s-flaky-1\nattempt: first run, FAIL\n"),
        "{out}"
    );
    assert!(
        out.contains("failures:\nturn 1 (suites/b/support.yaml:10:9)"),
        "{out}"
    );
    assert!(out.contains("expect.contains (suites/b/support.yaml:12:21): expected the text to contain \"Welcome\""), "{out}");
    assert!(
        out.contains("session: s-flaky-2\nattempt: rerun 1, PASS\n> hello\n< [200] Welcome!"),
        "{out}"
    );
    assert!(
        out.contains("flaky: passed on rerun 1 after 1 attempt that did not pass"),
        "{out}"
    );
}

#[test]
fn repeat_is_one_testcase_with_k_of_n_and_failing_runs() {
    let root = parse(&junit::render(&mixed::mixed()));
    let case = testcase(&root, "support (suites/b/support.yaml)", "pricing");
    let failure = case.one("failure");
    assert_eq!(failure.attr("message"), "3/5 runs passed (needs 4)");
    let text = &failure.text;
    for needle in [
        "3/5 runs passed (needs 4)\n",
        "turn 1 contains (suites/b/support.yaml:18:21): met in 3/5 runs (failed in runs 2, 4)",
        "golden: matched in 4/5 runs",
        "--- run 2/5 (session s-rep-2): FAIL ---",
        "--- run 4/5 (session s-rep-4): FAIL ---",
        "+    agent: I cannot find that order.",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(
        !text.contains("run 1/5 (session"),
        "passing runs are not listed:\n{text}"
    );
    let out = &case.one("system-out").text;
    assert!(
        out.starts_with("session: s-rep-1\nattempt: run 1/5, PASS\n"),
        "{out}"
    );
    for i in 1..=5 {
        assert!(out.contains(&format!("session: s-rep-{i}\n")), "{out}");
    }
}

#[test]
fn hostile_text_validates_and_the_visible_text_survives() {
    let hostile = mixed::hostile();
    let report = mixed::mixed_with(|s| format!("{s} {hostile}"));
    let (_dir, _path, xml) = write_and_validate(&report);
    assert!(!xml.contains('\u{1b}') && !xml.contains('\0'));
    // The only `]]>` allowed would be inside CDATA, and there is none.
    assert!(!xml.contains("]]>"));
    assert!(!xml.contains("CDATA"));

    let root = parse(&xml);
    let visible = "red link ]]> <&>\"' 🎉 nul:: c0:: nonchars:: end";
    let case = testcase(
        &root,
        "support (suites/a/support.yaml)",
        &format!("order follow-up {visible}"),
    );
    let failure = case.one("failure");
    assert!(
        failure
            .text
            .contains(&format!("Your order ORD-1 is on its way. {visible}")),
        "{}",
        failure.text
    );
    // The expected strings are quoted (control characters escaped) in the sentence.
    assert!(
        failure.attr("message").contains(r#"]]> <&>\"' 🎉"#),
        "{}",
        failure.attr("message")
    );
    assert!(failure
        .text
        .contains("+    agent: I cannot find that order."));
    let out = &case.one("system-out").text;
    assert!(
        out.contains(&format!(
            "< [200] Your order ORD-1 is on its way. {visible}"
        )),
        "{out}"
    );

    let error = testcase(&root, "support (suites/a/support.yaml)", "wrong key").one("error");
    assert!(
        error.attr("message").contains(visible),
        "{}",
        error.attr("message")
    );
    let skip = testcase(&root, "support (suites/a/support.yaml)", "slow upstream");
    assert!(skip.one("skipped").attr("message").ends_with(visible));
    // Multi-line agent text keeps its line break (indented continuation).
    let pass = testcase(
        &root,
        "support (suites/a/support.yaml)",
        &format!("business hours {visible}"),
    );
    assert!(pass
        .one("system-out")
        .text
        .contains("weekend.\n    Second line."));
}

#[test]
fn empty_and_interrupted_reports_validate() {
    let (_dir, _path, xml) = write_and_validate(&mixed::empty());
    let root = parse(&xml);
    assert_eq!(root.attr("tests"), "0");
    assert!(root.children.is_empty());

    // Only not-run dialogues, as after an early Ctrl-C.
    let mut report = mixed::mixed();
    report
        .dialogues
        .retain(|d| d.outcome == agenttest::record::Outcome::NotRun);
    let (_dir, _path, xml) = write_and_validate(&report);
    let root = parse(&xml);
    let suite = root.one("testsuite");
    assert_eq!((suite.attr("tests"), suite.attr("skipped")), ("2", "2"));
}

#[test]
fn write_to_missing_directory_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(junit::write(&mixed::mixed(), &dir.path().join("no/such/report.xml")).is_err());
}

#[test]
fn passing_repeat_reports_k_of_n_and_failed_runs_in_system_out() {
    let mut report = mixed::mixed();
    for d in &mut report.dialogues {
        if d.name == "pricing" {
            d.min_pass = 3;
            d.outcome = agenttest::record::Outcome::Pass;
        }
    }
    let (_dir, _path, xml) = write_and_validate(&report);
    let root = parse(&xml);
    let case = testcase(&root, "support (suites/b/support.yaml)", "pricing");
    assert!(case.all("failure").is_empty());
    let out = &case.one("system-out").text;
    assert!(out.starts_with("session: s-rep-1\n"), "{out}");
    assert!(out.contains("attempt: run 2/5, FAIL\n> how much is premium?\n< [200] It is free.\nfailures:\nturn 1"), "{out}");
    assert!(out.contains("3/5 runs passed (needs 3)\nturn 1 contains (suites/b/support.yaml:18:21): met in 3/5 runs (failed in runs 2, 4)\ngolden: matched in 4/5 runs\n"), "{out}");
}
