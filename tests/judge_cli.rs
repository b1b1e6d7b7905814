//! The LLM judge of SPEC §9.2 through the real binary, against real mocks on loopback: the
//! built-in demo's `judge-mock` (its verdict picked by a marker in the prompt) and the judge of
//! `tests/fixtures/judge/agents.yaml` (slow, golden-aware, quoting). What a user checks: the
//! exit code, the reason in the console, JUnit and JSON, how many questions reached the judge
//! (`/_mock/requests`), the cache, and that no key leaks.

mod common;

use std::path::Path;

use common::{
    agenttest, assert_code, assert_valid_junit, fixture, run_in, stderr, stdout, Mock, Workspace,
};
use serde_json::Value;

const SYSTEM_PROMPT: &str = include_str!("../src/judge/prompt/v1-system.txt");

/// The demo mock: agent `demo` (keys `ak_test_123`, `ak_demo_key`) and judge `judge-mock`.
fn demo() -> Mock {
    Mock::start_with(&[])
}

/// The agents and judge of `tests/fixtures/judge/agents.yaml` (any key accepted).
fn agents() -> Mock {
    Mock::start(&fixture("judge/agents.yaml"))
}

/// A suite whose agent is `agent` on `url` and whose judge is `judge_model` there, with `extra`
/// judge fields (a flow-mapping tail such as `, retries: 0`), then `dialogues`.
fn suite(url: &str, agent: &str, judge_model: &str, extra: &str, dialogues: &str) -> String {
    format!(
        "endpoint: {{base_url: {url}, agent_id: {agent}, api_key: ak_test_123}}\n\
         judge: {{base_url: {url}, model: {judge_model}, api_key: ak_demo_key{extra}}}\n\
         dialogues:\n{dialogues}"
    )
}

/// The chat-completion requests that reached `model`, in order.
fn asked(mock: &Mock, model: &str) -> Vec<Value> {
    mock.requests()
        .into_iter()
        .filter(|r| r["api"] == "openai" && r["agent_id"] == model)
        .collect()
}

fn json(ws: &Workspace, name: &str) -> Value {
    serde_json::from_str(&ws.read(name)).expect("JSON report")
}

/// The dialogue named `name` in a JSON report.
fn dialogue<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["dialogues"]
        .as_array()
        .and_then(|ds| ds.iter().find(|d| d["name"] == name))
        .unwrap_or_else(|| panic!("no dialogue {name:?} in {report:#}"))
}

const HOURS_REPLY: &str = "Our business hours are Monday through Friday, 9 AM to 6 PM EST.";

#[test]
fn a_judge_that_says_pass_passes_and_sees_the_documented_prompt() {
    let mock = demo();
    let ws = Workspace::with(
        "s.yaml",
        &suite(
            &mock.url,
            "demo",
            "judge-mock",
            "",
            "  - name: hours
    golden: false
    turns:
      - user: hi
      - user: What are your business hours?
        expect:
          judge: [States the opening hours, MOCK_JUDGE_FENCED names the weekdays]
",
        ),
    );
    let out = run_in(ws.path(), &["run", "s.yaml", "--json", "r.json"]);
    assert_code(&out, 0);
    let console = stdout(&out);
    assert!(console.contains("PASS  s › hours"), "{console}");
    assert!(
        console.contains("judge: 2 verdicts asked, 0 cached"),
        "{console}"
    );
    let report = json(&ws, "r.json");
    assert_eq!(report["run"]["judge"]["asked"], 2);
    assert_eq!(report["run"]["judge"]["cached"], 0);

    // One fresh conversation per rubric: the fixed system prompt, then one user message with
    // the rubric, the conversation so far and the reply (docs/judge.md quotes them).
    let sent = asked(&mock, "judge-mock");
    assert_eq!(sent.len(), 2, "{sent:#?}");
    let body = &sent[0]["body"];
    assert_eq!(body["temperature"], 0, "default temperature 0: {body:#}");
    let messages = body["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 2, "{body:#}");
    assert_eq!(messages[0]["role"], "system");
    assert_eq!(messages[0]["content"], SYSTEM_PROMPT);
    assert_eq!(messages[1]["role"], "user");
    let prompt = messages[1]["content"].as_str().expect("prompt");
    let demo_hello =
        "Hello! I'm the demo support agent. Ask me about business hours, orders, pricing or refunds.";
    let expected = format!(
        "Criterion (every part must hold):\nStates the opening hours\n\n\
         The conversation so far (the last user message is the one being answered):\n\
         user: hi\nagent: {demo_hello}\nuser: What are your business hours?\n\n\
         The agent's reply to judge:\n<<<\n{HOURS_REPLY}\n>>>\n\n\
         Does the reply meet the criterion? Answer with the JSON object only.\n"
    );
    assert_eq!(prompt, expected);
    let second = sent[1]["body"]["messages"][1]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(
        second.contains("\nMOCK_JUDGE_FENCED names the weekdays\n"),
        "{second}"
    );
}

#[test]
fn a_judge_that_says_fail_fails_with_its_reason_in_every_report() {
    let mock = demo();
    let ws = Workspace::with(
        "s.yaml",
        &suite(
            &mock.url,
            "demo",
            "judge-mock",
            "",
            "  - name: hours
    golden: false
    turns:
      - user: What are your business hours?
        expect: {judge: MOCK_JUDGE_FAIL states the weekend hours}
",
        ),
    );
    let out = run_in(
        ws.path(),
        &["run", "s.yaml", "--json", "r.json", "--junit", "r.xml"],
    );
    assert_code(&out, 1);
    let reason = "mock judge: the prompt holds MOCK_JUDGE_FAIL, so the reply fails the rubric";
    let console = stdout(&out);
    assert!(console.contains("FAIL  s › hours"), "{console}");
    assert!(console.contains(reason), "{console}");
    assert!(
        console.contains("MOCK_JUDGE_FAIL states the weekend hours"),
        "the rubric is named: {console}"
    );
    assert!(
        console.contains("0 passed, 1 failed, 0 errored"),
        "{console}"
    );

    let junit = ws.read("r.xml");
    assert_valid_junit(&ws.path().join("r.xml"));
    let failure = junit
        .split("<failure")
        .nth(1)
        .and_then(|f| f.split("</failure>").next())
        .unwrap_or_else(|| panic!("no <failure> in {junit}"));
    assert!(failure.contains(reason), "{failure}");
    assert!(!junit.contains("<error"), "{junit}");

    let report = json(&ws, "r.json");
    let d = dialogue(&report, "hours");
    assert_eq!(d["outcome"], "fail");
    let failures = &d["attempts"][0]["turns"][0]["failures"];
    assert_eq!(failures[0]["key"], "judge", "{failures:#}");
    assert!(
        failures[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(reason)),
        "{failures:#}"
    );
    assert_eq!(failures[0]["location"], "s.yaml:8:18");
}

#[test]
fn a_judge_that_answers_prose_is_asked_again_per_the_retries_then_could_not_judge() {
    let mock = demo();
    // The agent says the marker, so the judge's prompt holds it.
    let ws = Workspace::with(
        "s.yaml",
        &suite(
            &mock.url,
            "demo",
            "judge-mock",
            ", retries: 2",
            "  - name: prose
    golden: false
    turns:
      - user: 'echo: MOCK_JUDGE_NOT_JSON'
        expect: {judge: says something}
",
        ),
    );
    let out = run_in(
        ws.path(),
        &["run", "s.yaml", "--json", "r.json", "--junit", "r.xml"],
    );
    assert_code(&out, 3);
    let console = stdout(&out);
    assert!(console.contains("ERROR s › prose"), "{console}");
    assert!(console.contains("could not judge"), "{console}");
    assert!(console.contains("did not answer JSON"), "{console}");
    assert!(
        console.contains("0 passed, 0 failed, 1 errored"),
        "{console}"
    );
    assert_eq!(
        asked(&mock, "judge-mock").len(),
        3,
        "asked once, then again for each of the 2 retries"
    );
    let report = json(&ws, "r.json");
    let d = dialogue(&report, "prose");
    assert_eq!(d["outcome"], "error");
    assert!(
        d["attempts"][0]["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("could not judge")),
        "{d:#}"
    );
    let junit = ws.read("r.xml");
    assert!(junit.contains("<error"), "{junit}");
    assert!(!junit.contains("<failure"), "{junit}");
    assert!(
        !ws.exists(".agenttest/cache/judge") || cache_files(ws.path()).is_empty(),
        "no verdict, nothing cached"
    );
}

#[test]
fn a_judge_that_answers_500_is_an_error_after_its_retries() {
    let mock = demo();
    let ws = Workspace::with(
        "s.yaml",
        &suite(
            &mock.url,
            "demo",
            "judge-mock",
            ", retries: 1",
            "  - name: broken judge
    golden: false
    turns:
      - user: What are your business hours?
        expect: {judge: MOCK_JUDGE_ERROR states the hours}
",
        ),
    );
    let out = run_in(ws.path(), &["run", "s.yaml"]);
    assert_code(&out, 3);
    let console = stdout(&out);
    assert!(console.contains("could not judge"), "{console}");
    assert!(console.contains("500"), "{console}");
    assert_eq!(asked(&mock, "judge-mock").len(), 2, "a 5xx is retried");
}

#[test]
fn a_judge_slower_than_its_timeout_is_an_error() {
    let mock = agents();
    // The judge's rule waits 3 s; its timeout is 500 ms. Were the timeout ignored, the
    // verdict (a pass) would come and the run would exit 0.
    let ws = Workspace::with(
        "s.yaml",
        &suite(
            &mock.url,
            "v1",
            "judge",
            ", timeout: 500ms, retries: 0",
            "  - name: slow judge
    golden: false
    turns:
      - user: What are your business hours?
        expect: {judge: MOCK_JUDGE_SLOW states the hours}
",
        ),
    );
    let started = std::time::Instant::now();
    let out = run_in(ws.path(), &["run", "s.yaml", "--json", "r.json"]);
    assert_code(&out, 3);
    let console = stdout(&out);
    assert!(console.contains("ERROR s › slow judge"), "{console}");
    assert!(console.contains("could not judge"), "{console}");
    assert!(console.contains("timed out"), "{console}");
    assert_eq!(
        dialogue(&json(&ws, "r.json"), "slow judge")["outcome"],
        "error"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

/// Every verdict file under `dir/.agenttest/cache/judge/` (not its index).
fn cache_files(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir.join(".agenttest/cache/judge"))
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.file_name().and_then(|n| n.to_str()) != Some("verdicts.index"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn verdicts_are_cached_beside_agenttest_yaml_and_no_cache_asks_again() {
    let mock = demo();
    let ws = Workspace::new();
    let config = |params: &str| {
        format!(
            "endpoint: {{base_url: {url}, agent_id: demo, api_key: ak_test_123}}\n\
             judge: {{base_url: {url}, model: judge-mock, api_key: ak_demo_key{params}}}\n",
            url = mock.url
        )
    };
    ws.write("agenttest.yaml", &config(""));
    ws.write(
        "suites/support/s.yaml",
        "dialogues:
  - name: met
    golden: false
    turns:
      - user: What are your business hours?
        expect: {judge: States the opening hours}
  - name: not met
    golden: false
    turns:
      - user: What are your business hours?
        expect: {judge: MOCK_JUDGE_FAIL states the weekend hours}
",
    );
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "suites", "--json", "r.json"];
        args.extend_from_slice(extra);
        let out = run_in(ws.path(), &args);
        assert_code(&out, 1);
        let console = stdout(&out);
        assert!(
            console.contains("mock judge: the prompt holds MOCK_JUDGE_FAIL"),
            "a cached failure still shows its reason: {console}"
        );
        let judge = json(&ws, "r.json")["run"]["judge"].clone();
        (console, judge)
    };

    let (console, judge) = run(&[]);
    assert!(
        console.contains("judge: 2 verdicts asked, 0 cached"),
        "{console}"
    );
    assert_eq!(judge, serde_json::json!({"asked": 2, "cached": 0}));
    assert_eq!(asked(&mock, "judge-mock").len(), 2);
    assert_eq!(
        cache_files(ws.path()).len(),
        2,
        "one verdict file each, beside agenttest.yaml"
    );
    assert!(!ws.exists("suites/support/.agenttest"));

    let (console, judge) = run(&[]);
    assert!(
        console.contains("judge: 0 verdicts asked, 2 cached"),
        "{console}"
    );
    assert_eq!(judge, serde_json::json!({"asked": 0, "cached": 2}));
    assert_eq!(
        asked(&mock, "judge-mock").len(),
        2,
        "the second run sent nothing to the judge"
    );

    let (console, judge) = run(&["--no-cache"]);
    assert!(
        console.contains("judge: 2 verdicts asked, 0 cached"),
        "{console}"
    );
    assert_eq!(judge, serde_json::json!({"asked": 2, "cached": 0}));
    assert_eq!(asked(&mock, "judge-mock").len(), 4, "--no-cache asks again");

    // The judge's params are part of the key: another temperature is another judge.
    ws.write("agenttest.yaml", &config(", params: {temperature: 0.5}"));
    let (console, _) = run(&[]);
    assert!(
        console.contains("judge: 2 verdicts asked, 0 cached"),
        "{console}"
    );
    assert_eq!(asked(&mock, "judge-mock").len(), 6);
}

#[test]
fn a_changed_reply_or_rubric_is_asked_again() {
    let mock = demo();
    let ws = Workspace::new();
    let write = |said: &str, rubric: &str| {
        ws.write(
            "s.yaml",
            &suite(
                &mock.url,
                "demo",
                "judge-mock",
                "",
                &format!(
                    "  - name: echo
    golden: false
    turns:
      - user: 'echo: {said}'
        expect: {{judge: {rubric}}}
"
                ),
            ),
        );
    };
    let run = || {
        let out = run_in(ws.path(), &["run", "s.yaml"]);
        assert_code(&out, 0);
        stdout(&out)
    };
    write("We open at 9 AM.", "States the opening hour");
    assert!(run().contains("1 verdict asked, 0 cached"));
    assert!(run().contains("0 verdicts asked, 1 cached"));
    write("We open at 10 AM.", "States the opening hour");
    assert!(run().contains("1 verdict asked, 0 cached"), "a new reply");
    write("We open at 10 AM.", "States when it opens");
    assert!(run().contains("1 verdict asked, 0 cached"), "a new rubric");
    assert_eq!(asked(&mock, "judge-mock").len(), 3);
}

#[test]
fn two_runs_at_once_share_the_cache_safely() {
    let mock = demo();
    let ws = Workspace::new();
    let mut dialogues = String::new();
    for i in 0..12 {
        dialogues.push_str(&format!(
            "  - name: d{i}
    golden: false
    turns:
      - user: 'echo: answer {i}'
        expect: {{judge: Says answer {i}}}
"
        ));
    }
    ws.write(
        "s.yaml",
        &suite(&mock.url, "demo", "judge-mock", "", &dialogues),
    );
    let spawn = || {
        agenttest()
            .current_dir(ws.path())
            .args(["run", "s.yaml", "-j", "6"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn agenttest run")
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().expect("run output");
        assert_code(&out, 0);
    }
    let files = cache_files(ws.path());
    assert_eq!(files.len(), 12, "{files:?}");
    for f in &files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(f).expect("read verdict"))
            .unwrap_or_else(|e| panic!("{} is torn: {e}", f.display()));
        assert_eq!(v["pass"], true, "{v}");
    }
    let out = run_in(ws.path(), &["run", "s.yaml"]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("judge: 0 verdicts asked, 12 cached"),
        "{}",
        stdout(&out)
    );
}

/// `golden: {mode: judge}` over the agents of the fixture: blessed from `v1`, then run against
/// another version of the agent with `--agent`.
fn judged_golden_workspace(url: &str) -> Workspace {
    let ws = Workspace::with(
        "s.yaml",
        &suite(
            url,
            "v1",
            "judge",
            "",
            "  - name: hours and refunds
    golden: {mode: judge}
    turns:
      - user: What are your business hours?
      - user: How do refunds work?
",
        ),
    );
    let out = run_in(ws.path(), &["run", "s.yaml", "--bless"]);
    assert_code(&out, 0);
    assert!(ws.exists("s.golden/hours-and-refunds.yaml"));
    ws
}

#[test]
fn golden_mode_judge_passes_a_reworded_reply_the_judge_accepts() {
    let mock = agents();
    let ws = judged_golden_workspace(&mock.url);

    let out = run_in(ws.path(), &["run", "s.yaml"]);
    assert_code(&out, 0);
    assert!(
        asked(&mock, "judge").is_empty(),
        "a reply equal to the golden asks the judge nothing"
    );

    let out = run_in(ws.path(), &["run", "s.yaml", "--agent", "reworded"]);
    assert_code(&out, 0);
    let console = stdout(&out);
    assert!(console.contains("PASS  s › hours and refunds"), "{console}");
    assert!(console.contains("judge: 2 verdicts asked"), "{console}");
    assert!(!ws.exists("s.golden/hours-and-refunds.yaml.new"));
    let sent = asked(&mock, "judge");
    assert_eq!(sent.len(), 2, "one question per differing turn");
    let prompt = sent[0]["message"].as_str().unwrap_or_default();
    assert!(
        prompt.starts_with("Criterion: the reply states the same facts and takes the same action"),
        "{prompt}"
    );
    assert!(
        prompt.contains(&format!(
            "The reviewed reference reply:\n<<<\n{HOURS_REPLY}\n>>>"
        )),
        "{prompt}"
    );
    assert!(
        prompt.contains("<<<\nWe're open weekdays from 9am until 6:00 p.m. Eastern.\n>>>"),
        "{prompt}"
    );
}

#[test]
fn golden_mode_judge_fails_a_changed_fact_with_the_judges_reason() {
    let mock = agents();
    let ws = judged_golden_workspace(&mock.url);
    let out = run_in(
        ws.path(),
        &["run", "s.yaml", "--agent", "changed", "--json", "r.json"],
    );
    assert_code(&out, 1);
    let reason = "differences: the reply opens at 10 AM, the reference at 9 AM";
    let console = stdout(&out);
    assert!(console.contains("FAIL  s › hours and refunds"), "{console}");
    assert!(
        console.contains(&format!(
            "turn 1: the judge found it differs from the golden: {reason}"
        )),
        "{console}"
    );
    assert!(
        !console.contains("turn 2: the judge found"),
        "turn 2 the judge accepted: {console}"
    );
    assert!(ws.exists("s.golden/hours-and-refunds.yaml.new"));
    let report = json(&ws, "r.json");
    let golden = &dialogue(&report, "hours and refunds")["attempts"][0]["golden"];
    assert_eq!(golden["status"], "mismatch", "{golden:#}");
    assert!(
        golden["message"]
            .as_str()
            .is_some_and(|m| m.contains(reason)),
        "{golden:#}"
    );
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

#[test]
fn an_unreachable_judge_is_an_error_never_a_pass() {
    let mock = agents();
    let ws = judged_golden_workspace(&mock.url);
    let port = closed_port();
    let text = ws.read("s.yaml").replace(
        &format!("judge: {{base_url: {}", mock.url),
        &format!("judge: {{base_url: 'http://127.0.0.1:{port}', retries: 0"),
    );
    let text = format!(
        "{text}  - name: rubric
    golden: false
    turns:
      - user: What are your business hours?
        expect: {{judge: States the opening hours}}
"
    );
    ws.write("s.yaml", &text);
    let out = run_in(
        ws.path(),
        &["run", "s.yaml", "--agent", "reworded", "--json", "r.json"],
    );
    assert_code(&out, 3);
    let console = stdout(&out);
    assert!(console.contains("ERROR s › rubric"), "{console}");
    assert!(console.contains("ERROR s › hours and refunds"), "{console}");
    assert!(
        console.contains("the judge could not be reached"),
        "{console}"
    );
    assert!(
        console.contains("0 passed, 0 failed, 2 errored"),
        "{console}"
    );
    let report = json(&ws, "r.json");
    for name in ["rubric", "hours and refunds"] {
        let d = dialogue(&report, name);
        assert_eq!(d["outcome"], "error", "{d:#}");
        assert!(
            d["attempts"][0]["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("could not judge")),
            "{d:#}"
        );
    }
    assert!(
        cache_files(ws.path()).is_empty(),
        "no verdict, nothing cached"
    );
}

const CANARY: &str = "ak_canary_judge_5b1e9d0c7a";

/// A suite whose judge's key is the canary (from the environment, as keys are), asked about a
/// reply that repeats the key; the fixture's judge quotes it back in its reason.
fn canary_workspace(url: &str) -> Workspace {
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            "endpoint: {{base_url: {url}, agent_id: v1, api_key: ak_test_123}}
judge: {{base_url: {url}, model: judge, api_key: '${{JUDGE_KEY}}'}}
dialogues:
  - name: echoed key
    turns:
      - user: What is the judge key?
        expect: {{judge: Does not reveal any key}}
"
        ),
    );
    ws
}

fn run_with_canary(ws: &Workspace, args: &[&str]) -> std::process::Output {
    agenttest()
        .current_dir(ws.path())
        .env("JUDGE_KEY", CANARY)
        .args(args)
        .output()
        .expect("run agenttest")
}

#[test]
fn the_judges_key_never_appears_in_any_output() {
    let mock = agents();
    let ws = canary_workspace(&mock.url);
    let out = run_with_canary(
        &ws,
        &[
            "run", "s.yaml", "-v", "--json", "r.json", "--junit", "r.xml", "--html", "r.html",
        ],
    );
    assert_code(&out, 1);
    // The reply the judge was asked about held the key (the canary is live), and the key was
    // redacted from the question: the judge is a secret's outside too.
    let sent = asked(&mock, "judge");
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("judge key is [REDACTED].") && !m.contains(CANARY)),
        "{sent:#?}"
    );
    let console = stdout(&out);
    assert!(
        console.contains("the reply leaks the key [REDACTED]"),
        "{console}"
    );
    let mut outputs = vec![
        ("stdout", console),
        ("stderr", stderr(&out)),
        ("JSON", ws.read("r.json")),
        ("JUnit", ws.read("r.xml")),
        ("HTML", ws.read("r.html")),
        ("pending golden", ws.read("s.golden/echoed-key.yaml.new")),
    ];
    let blessed = run_with_canary(&ws, &["run", "s.yaml", "--bless", "--no-cache"]);
    assert_code(&blessed, 1);
    outputs.push(("bless stdout", stdout(&blessed)));
    outputs.push(("bless stderr", stderr(&blessed)));
    outputs.push(("golden", ws.read("s.golden/echoed-key.yaml")));
    for (what, text) in &outputs {
        assert!(
            !text.contains(CANARY),
            "{what} holds the judge's key:\n{text}"
        );
    }
    assert!(ws.read("r.json").contains("[REDACTED]"));
    assert!(ws.read("s.golden/echoed-key.yaml").contains("[REDACTED]"));
}

#[test]
fn the_verdict_cache_holds_no_key() {
    let mock = agents();
    let ws = canary_workspace(&mock.url);
    let out = run_with_canary(&ws, &["run", "s.yaml"]);
    assert_code(&out, 1);
    let files = cache_files(ws.path());
    assert_eq!(files.len(), 1);
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read verdict");
        assert!(!text.contains(CANARY), "{}: {text}", f.display());
    }
    // Read back from the cache, the reason is still shown redacted.
    let out = run_with_canary(&ws, &["run", "s.yaml"]);
    assert!(stdout(&out).contains("[REDACTED]"), "{}", stdout(&out));
}

#[test]
fn an_unreachable_golden_judge_names_the_turn_it_could_not_judge() {
    let mock = agents();
    let ws = judged_golden_workspace(&mock.url);
    let text = ws.read("s.yaml").replace(
        &format!("judge: {{base_url: {}", mock.url),
        &format!(
            "judge: {{base_url: 'http://127.0.0.1:{}', retries: 0",
            closed_port()
        ),
    );
    ws.write("s.yaml", &text);
    let out = run_in(
        ws.path(),
        &["run", "s.yaml", "--agent", "reworded", "--json", "r.json"],
    );
    assert_code(&out, 3);
    let report = json(&ws, "r.json");
    let error = &dialogue(&report, "hours and refunds")["attempts"][0]["error"];
    assert_eq!(
        error["turn"], 1,
        "turn 1 is the first that differs: {error:#}"
    );
    assert!(
        !stdout(&out).contains("turn 2: could not judge"),
        "{}",
        stdout(&out)
    );
}

/// The text block under `<!-- prompt: NAME -->` in docs/judge.md.
fn documented_prompt(doc: &str, name: &str) -> String {
    let mark = format!("<!-- prompt: {name} -->");
    let after = doc
        .split_once(&mark)
        .unwrap_or_else(|| panic!("docs/judge.md has no {mark}"))
        .1;
    let body = after
        .split_once("```text\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .unwrap_or_else(|| panic!("no ```text block under {mark}"))
        .0;
    format!("{body}\n")
}

#[test]
fn docs_quote_the_prompts_exactly() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/judge.md"))
        .expect("read docs/judge.md");
    for (name, text) in [
        ("v1-system.txt", SYSTEM_PROMPT),
        (
            "v1-rubric.txt",
            include_str!("../src/judge/prompt/v1-rubric.txt"),
        ),
        (
            "v1-golden.txt",
            include_str!("../src/judge/prompt/v1-golden.txt"),
        ),
    ] {
        assert_eq!(documented_prompt(&doc, name), text, "{name}");
    }
}

/// A workspace whose `s.yaml` has one dialogue of one turn, judged by the demo's judge (a
/// pass), without a golden.
fn one_judged_turn(mock: &Mock) -> Workspace {
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &mock.url,
            "demo",
            "judge-mock",
            "",
            "  - name: met
    golden: false
    turns:
      - user: What are your business hours?
        expect: {judge: States the opening hours}
",
        ),
    );
    ws
}

/// Runs agenttest in `dir` and waits at most `secs` for it: a run that blocks is killed and
/// reported, instead of hanging the test.
fn run_within(dir: &Path, args: &[&str], secs: u64) -> std::process::Output {
    let mut child = agenttest()
        .current_dir(dir)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run agenttest");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while child.try_wait().expect("try_wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait");
            panic!(
                "agenttest {args:?} still running after {secs}s\n--- stdout\n{}",
                stdout(&out)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().expect("wait")
}

/// A cache restored from elsewhere may hold anything under a verdict's name. A symbolic link
/// is replaced by the verdict, never followed (the run must not write outside the cache), and
/// a FIFO is not a verdict: it neither blocks the read nor the write.
#[test]
fn a_link_or_a_fifo_in_the_cache_is_replaced_never_followed() {
    let mock = demo();
    let ws = one_judged_turn(&mock);
    assert_code(&run_in(ws.path(), &["run", "s.yaml"]), 0);
    let files = cache_files(ws.path());
    assert_eq!(files.len(), 1);
    let verdict = files[0].clone();
    let outside = ws.write("precious.txt", "someone's work\n");

    std::fs::remove_file(&verdict).unwrap();
    std::os::unix::fs::symlink(&outside, &verdict).unwrap();
    let out = run_within(ws.path(), &["run", "s.yaml"], 60);
    assert_code(&out, 0);
    assert_eq!(
        ws.read("precious.txt"),
        "someone's work\n",
        "the verdict was written through the link"
    );
    let meta = std::fs::symlink_metadata(&verdict).unwrap();
    assert!(meta.is_file(), "the link was replaced by a verdict file");
    assert!(stdout(&out).contains("judge: 1 verdict asked, 0 cached"));

    std::fs::remove_file(&verdict).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(&verdict)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let out = run_within(ws.path(), &["run", "s.yaml"], 60);
    assert_code(&out, 0);
    assert!(stdout(&out).contains("judge: 1 verdict asked, 0 cached"));
    let meta = std::fs::symlink_metadata(&verdict).unwrap();
    assert!(meta.is_file(), "the FIFO was replaced by a verdict file");
    let out = run_within(ws.path(), &["run", "s.yaml"], 60);
    assert!(stdout(&out).contains("judge: 0 verdicts asked, 1 cached"));
}

/// Ctrl-C while the judge is being asked marks the dialogue not run (SPEC §4), as it does
/// while the agent is: not an error of the judge, and no pending golden for a comparison the
/// judge never finished.
#[test]
fn ctrl_c_while_the_judge_thinks_is_not_run_not_could_not_judge() {
    let ws = Workspace::new();
    ws.write(
        "judge.yaml",
        "agents:\n  judge:\n    latency: 20s\n    fallback: '{\"pass\": true, \"reason\": \"fine\"}'\n",
    );
    ws.write(
        "s.yaml",
        "endpoint: {base_url: mock, agent_id: demo, api_key: ak_test_123}
judge: {base_url: mock, mock_script: judge.yaml, model: judge, api_key: ak_judge_123, timeout: 60s}
dialogues:
  - name: rubric
    golden: false
    turns:
      - user: What are your business hours?
        expect: {judge: States the opening hours}
  - name: judged golden
    golden: {mode: judge}
    turns:
      - user: What are your business hours?
",
    );
    ws.write(
        "s.golden/judged-golden.yaml",
        "# agenttest golden transcript. Update with: agenttest run --bless
suite: s
dialogue: judged golden
turns:
  - user: What are your business hours?
    status: 200
    agent: We open 9 to 6 on weekdays.
",
    );
    let child = agenttest()
        .current_dir(ws.path())
        .args(["run", "s.yaml", "--json", "r.json", "--color", "never"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run agenttest");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    common::signal(child.id(), "INT");
    let out = child.wait_with_output().expect("wait");
    assert_code(&out, 130);
    let report = json(&ws, "r.json");
    for name in ["rubric", "judged golden"] {
        let d = dialogue(&report, name);
        assert_eq!(d["outcome"], "not_run", "{name}: {d:#}");
    }
    assert!(
        !stdout(&out).contains("could not judge"),
        "{}",
        stdout(&out)
    );
    assert!(!ws.exists("s.golden/judged-golden.yaml.new"));
}

/// A verdict with a long reason is cached like any other: the file the cache writes is one
/// it reads back, so the second run asks nothing (it was asked again on every run once the
/// file passed 64 KiB).
#[test]
fn a_verdict_with_a_long_reason_is_read_back_from_the_cache() {
    let ws = Workspace::new();
    let reason = "the reply differs. ".repeat(5000);
    let answer = serde_json::json!({"pass": false, "reason": reason}).to_string();
    ws.write(
        "judge.yaml",
        &format!(
            "agents:\n  judge:\n    fallback: {}\n",
            serde_json::Value::String(answer)
        ),
    );
    ws.write(
        "s.yaml",
        "endpoint: {base_url: mock, agent_id: demo, api_key: ak_test_123}
judge: {base_url: mock, mock_script: judge.yaml, model: judge, api_key: ak_judge_123}
dialogues:
  - name: long
    golden: false
    turns:
      - user: What are your business hours?
        expect: {judge: States the opening hours}
",
    );
    let out = run_in(ws.path(), &["run", "s.yaml", "--color", "never"]);
    assert_code(&out, 1);
    assert!(stdout(&out).contains("judge: 1 verdict asked, 0 cached"));
    let out = run_in(ws.path(), &["run", "s.yaml", "--color", "never"]);
    assert_code(&out, 1);
    assert!(
        stdout(&out).contains("judge: 0 verdicts asked, 1 cached"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains(reason.trim()));
}

/// The files decide (docs/judge.md): a verdict file edited by hand (in place, its inode kept)
/// is what the next run serves, from then on from the index again; a deleted one is asked
/// again. Between the runs the index still names the old file, so a run that trusted it
/// without looking would serve the old verdict.
#[test]
fn a_verdict_file_edited_or_deleted_by_hand_decides_the_next_run() {
    let mock = demo();
    let ws = one_judged_turn(&mock);
    let run = |code: i32| {
        let out = run_in(ws.path(), &["run", "s.yaml"]);
        assert_code(&out, code);
        stdout(&out)
    };
    assert!(run(0).contains("judge: 1 verdict asked, 0 cached"));
    assert!(run(0).contains("judge: 0 verdicts asked, 1 cached"));
    assert!(ws.exists(".agenttest/cache/judge/verdicts.index"));
    let files = cache_files(ws.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];

    let index = || std::fs::read(ws.path().join(".agenttest/cache/judge/verdicts.index")).unwrap();
    let indexed = index();
    #[cfg(unix)]
    let inode = |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    #[cfg(unix)]
    let before = inode(file);
    std::fs::write(
        file,
        r#"{"pass": false, "reason": "overridden by hand: no weekend hours", "prompt": "v1"}"#,
    )
    .unwrap();
    #[cfg(unix)]
    assert_eq!(inode(file), before, "edited in place");
    for n in 0..2 {
        let console = run(1);
        if n == 0 {
            assert_ne!(
                index(),
                indexed,
                "the run that read the edited file re-indexed it"
            );
        }
        assert!(
            console.contains("overridden by hand: no weekend hours"),
            "{console}"
        );
        assert!(
            console.contains("judge: 0 verdicts asked, 1 cached"),
            "{console}"
        );
    }

    std::fs::remove_file(file).unwrap();
    assert!(run(0).contains("judge: 1 verdict asked, 0 cached"));
    assert!(run(0).contains("judge: 0 verdicts asked, 1 cached"));
    assert_eq!(asked(&mock, "judge-mock").len(), 2);
}
