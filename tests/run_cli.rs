//! `agenttest run`, `list` and `validate` driven as a user would: the real binary against the
//! real mock server on a free loopback port, checked by what it prints, its exit code and what
//! the server saw.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;

fn header(url: &str) -> String {
    format!("endpoint:\n  base_url: {url}\n  agent_id: ag_test\n  api_key: ak_test_123\n  retries: 0\n  timeout: 5s\n")
}

fn run(ws: &Workspace, suite: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", suite, "--no-golden", "--color", "never"];
    args.extend_from_slice(extra);
    run_in(ws.path(), &args)
}

#[test]
fn every_expectation_kind_passes() {
    let mock = Mock::start(&fixture("run/agent.yaml"));
    let ws = Workspace::new();
    ws.write(
        "ok.yaml",
        &format!(
            r#"{}dialogues:
  - name: all kinds
    turns:
      - user: What are your business hours?
        expect:
          status: [200, 201]
          contains: [Monday, "9 AM"]
          contains_any: [Saturday, Friday]
          not_contains: "I don't know"
          regex: ['(?i)\best\b', '\d AM']
          not_regex: '(?i)sunday'
          equals: Our business hours are Monday through Friday, 9 AM to 6 PM EST.
          max_tokens: 50
          max_latency: 5s
"#,
            header(&mock.url)
        ),
    );
    let out = run(&ws, "ok.yaml", &[]);
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("PASS  ok › all kinds"), "{text}");
    assert!(
        text.contains("1 passed, 0 failed, 0 errored, 0 skipped"),
        "{text}"
    );
}

#[test]
fn every_expectation_kind_fails_with_its_message_and_location() {
    let mock = Mock::start(&fixture("run/agent.yaml"));
    let ws = Workspace::new();
    let suite = format!(
        r#"{}dialogues:
  - name: wrong answers
    turns:
      - user: What are your business hours, slowly?
        expect:
          status: 201
          contains: [Monday, Saturday]
          contains_any: [Sunday, holiday]
          not_contains: EST
          regex: 'PST'
          not_regex: '\d AM'
          equals: Closed.
          max_tokens: 3
          max_latency: 1ms
"#,
        header(&mock.url)
    );
    ws.write("bad.yaml", &suite);
    let out = run(&ws, "bad.yaml", &[]);
    assert_code(&out, 1);
    let text = stdout(&out);
    for (needle, line, col) in [
        ("expected status 201, got 200", 12, 11),
        ("expected the text to contain \"Saturday\"", 13, 11),
        (
            "expected the text to contain any of \"Sunday\", \"holiday\"",
            14,
            11,
        ),
        ("expected the text not to contain \"EST\"", 15, 11),
        ("expected the text to match /PST/", 16, 11),
        (
            "expected the text not to match /\\d AM/ (matched \"9 AM\")",
            17,
            11,
        ),
        ("expected the text to equal \"Closed.\"", 18, 11),
        ("expected at most 3 output tokens, got", 19, 11),
        ("expected a round trip of at most 1ms", 20, 11),
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        let loc = format!("bad.yaml:{line}:{col}");
        let l = text
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_default();
        assert!(l.contains(&loc), "{needle:?} should point at {loc}: {l}");
    }
    // The agent's text is shown so the failure can be understood without rerunning.
    assert!(
        text.contains("< [200] Our business hours are Monday"),
        "{text}"
    );
    assert!(text.contains("FAIL  bad › wrong answers"), "{text}");
    assert!(
        text.contains("0 passed, 1 failed, 0 errored, 0 skipped"),
        "{text}"
    );
}

#[test]
fn max_tokens_without_an_output_count_says_so() {
    let mock = Mock::start(&fixture("run/agent.yaml"));
    let ws = Workspace::new();
    ws.write(
        "t.yaml",
        &format!(
            "{}dialogues:\n  - name: meta\n    endpoint: {{agent_id: ag_meta}}\n    turns: [{{user: hi, expect: {{max_tokens: 10}}}}]\n  - name: total\n    endpoint: {{agent_id: ag_total}}\n    turns: [{{user: hi, expect: {{max_tokens: 10}}}}]\n",
            header(&mock.url)
        ),
    );
    let out = run(&ws, "t.yaml", &[]);
    assert_code(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains("no output-token count (response shape `metadata`)"),
        "{text}"
    );
    assert!(
        text.contains("response shape `tokens_used` gives only a total"),
        "{text}"
    );
}

#[test]
fn turns_share_a_session_and_dialogues_never_do() {
    let mock = Mock::start(&fixture("run/agent.yaml"));
    let ws = Workspace::new();
    let mut suite = header(&mock.url);
    suite.push_str("dialogues:\n");
    for d in 0..6 {
        suite.push_str(&format!(
            "  - name: d{d}\n    turns:\n      - user: d{d} turn number one\n      - user: d{d} turn number two\n      - user: d{d} turn number three\n        expect: {{contains: 'turn 3'}}\n"
        ));
    }
    ws.write("s.yaml", &suite);
    let out = run(&ws, "s.yaml", &["--jobs", "3"]);
    assert_code(&out, 0);
    // The server's view: every request of dialogue dN carries one id, no id spans dialogues.
    let mut by_dialogue: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let requests = mock.requests();
    assert_eq!(requests.len(), 18);
    for r in &requests {
        let msg = r["message"].as_str().unwrap_or_default();
        let dialogue = msg
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        let sid = r["session_id"]
            .as_str()
            .expect("fresh sessions send an id")
            .to_string();
        by_dialogue.entry(dialogue).or_default().insert(sid);
    }
    assert_eq!(by_dialogue.len(), 6);
    let mut all = BTreeSet::new();
    for (d, ids) in &by_dialogue {
        assert_eq!(ids.len(), 1, "{d} used {ids:?}");
        assert!(
            all.insert(ids.iter().next().cloned()),
            "{d} reused another dialogue's id"
        );
    }

    // A second run of the same suite never reuses an id of the first.
    let out = run(&ws, "s.yaml", &[]);
    assert_code(&out, 0);
    let ids: BTreeSet<String> = mock
        .requests()
        .iter()
        .filter_map(|r| r["session_id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 12);
}

#[test]
fn server_sessions_send_none_first_then_reuse_the_returned_id() {
    let mock = Mock::start(&fixture("run/agent.yaml"));
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            "{}dialogues:\n  - name: server\n    session: server\n    turns:\n      - user: turn number one\n      - user: turn number two\n        expect: {{contains: 'turn 2'}}\n",
            header(&mock.url)
        ),
    );
    let out = run(&ws, "s.yaml", &[]);
    assert_code(&out, 0);
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0]["session_id"].is_null(), "{requests:?}");
    assert!(requests[1]["session_id"].is_string(), "{requests:?}");
}

#[test]
fn captures_feed_later_turns() {
    let mock = Mock::start(&fixture("run/agent.yaml"));
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        &format!(
            r#"{}dialogues:
  - name: order
    vars: {{product: Enterprise}}
    turns:
      - user: Where is my order of {{{{product}}}}?
        capture: {{order: 'ORD-(\d+)', whole: 'ORD-\d+'}}
      - user: Has {{{{whole}}}} shipped? number {{{{order}}}}
        expect: {{contains: "ORD-{{{{order}}}}"}}
"#,
            header(&mock.url)
        ),
    );
    let out = run(&ws, "c.yaml", &[]);
    assert_code(&out, 0);
    let requests = mock.requests();
    assert_eq!(requests[0]["message"], "Where is my order of Enterprise?");
    // Group 1 when the pattern has a group, the whole match otherwise.
    assert_eq!(requests[1]["message"], "Has ORD-4711 shipped? number 4711");
}

/// A pattern can match while its group 1 takes no part (an alternation's other branch): that
/// capture has no value, so it fails its turn and ends the dialogue as a capture that did not
/// match does. It had taken the whole match as the value and sent it on (SPEC §8.3).
#[test]
fn a_capture_whose_group_takes_no_part_fails_and_ends_the_dialogue() {
    let mock = Mock::start(&fixture("run/agent.yaml"));
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        &format!(
            r#"{}dialogues:
  - name: no order
    turns:
      - user: Can you help me?
        capture: {{order: '(?:order (ORD-\d+)|not sure)'}}
      - user: Has {{{{order}}}} shipped?
      - user: Thanks
"#,
            header(&mock.url)
        ),
    );
    let out = run(&ws, "c.yaml", &["--json", "r.json"]);
    assert_code(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("FAIL  c › no order"), "{text}");
    assert!(
        text.contains(
            "capture `order`: /(?:order (ORD-\\d+)|not sure)/ matched, but its group 1 took no \
             part in the match, so there is no value; the dialogue ends here (later turns were \
             not sent)"
        ),
        "{text}"
    );
    // Only the first turn went out: nothing was sent with the whole match in its place.
    let requests = mock.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0]["message"], "Can you help me?");
    let r: serde_json::Value = serde_json::from_str(&ws.read("r.json")).expect("json");
    let turns = &r["dialogues"][0]["attempts"][0]["turns"];
    assert_eq!(turns[0]["failures"][0]["key"], "capture", "{turns}");
    for t in [&turns[1], &turns[2]] {
        assert_eq!(t["not_sent"], true, "{t}");
    }
}

#[test]
fn exit_codes() {
    let mock = Mock::start(&fixture("run/agent.yaml"));
    let ws = Workspace::new();
    let h = header(&mock.url);
    ws.write("pass.yaml", &format!("{h}dialogues:\n  - name: p\n    turns: [{{user: business hours?}}]\n  - name: s\n    skip: later\n    turns: [{{user: hi}}]\n"));
    ws.write("fail.yaml", &format!("{h}dialogues:\n  - name: f\n    turns: [{{user: business hours?, expect: {{contains: Sunday}}}}]\n  - name: e\n    turns: [{{user: boom}}]\n"));
    ws.write("error.yaml", &format!("{h}dialogues:\n  - name: e\n    turns: [{{user: boom}}]\n  - name: p\n    turns: [{{user: business hours?}}]\n"));
    ws.write("broken.yaml", "dialogues:\n  - name: x\n    turns: []\n");

    let out = run(&ws, "pass.yaml", &[]);
    assert_code(&out, 0);
    assert!(stdout(&out).contains("1 passed, 0 failed, 0 errored, 1 skipped"));
    assert!(
        stdout(&out).contains("SKIP  pass › s  (later)"),
        "{}",
        stdout(&out)
    );

    // A failure beats an error.
    assert_code(&run(&ws, "fail.yaml", &[]), 1);

    let out = run(&ws, "error.yaml", &[]);
    assert_code(&out, 3);
    let text = stdout(&out);
    assert!(text.contains("ERROR e"), "{text}");
    assert!(
        text.contains(&format!("turn 1: unexpected status 500 from POST {}/v1/agents/ag_test/chat: agent execution error", mock.url)),
        "{text}"
    );
    assert!(
        text.contains("1 passed, 0 failed, 1 errored, 0 skipped"),
        "{text}"
    );

    let before = mock.requests().len();
    let out = run(&ws, "broken.yaml", &[]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("broken.yaml:3:"), "{}", stderr(&out));
    assert_eq!(mock.requests().len(), before, "a suite error sends nothing");

    let out = run(&ws, "pass.yaml", &["--filter", "no such dialogue"]);
    assert_code(&out, 4);
    assert!(
        stderr(&out).contains("selected no dialogue"),
        "{}",
        stderr(&out)
    );

    // `0` parses as a number, so this is the app's own check, not clap's.
    let out = run_in(ws.path(), &["run", "pass.yaml", "--jobs", "0"]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("--jobs must be at least 1"),
        "{}",
        stderr(&out)
    );
    assert_code(&run_in(ws.path(), &["run", "nowhere/"]), 2);
}

#[test]
fn errors_end_a_dialogue_and_say_why() {
    let mock = Mock::start(&fixture("run/agent.yaml"));
    let ws = Workspace::new();
    ws.write(
        "e.yaml",
        &format!(
            "{}dialogues:\n  - name: no response\n    turns: [{{user: malformed}}, {{user: never sent}}]\n  - name: not json\n    turns: [{{user: nonjson}}]\n  - name: payment\n    turns: [{{user: pay}}]\n  - name: dropped\n    turns: [{{user: close}}]\n  - name: bad key\n    endpoint: {{api_key: ak_wrong}}\n    turns: [{{user: hi}}]\n",
            header(&mock.url)
        ),
    );
    let out = run(&ws, "e.yaml", &[]);
    assert_code(&out, 3);
    let text = stdout(&out);
    let chat = format!("from POST {}/v1/agents/ag_test/chat", mock.url);
    for said in [
        format!("malformed reply (status 200) {chat}: the body has no string `response`"),
        format!("malformed reply (status 200) {chat}: the body is not JSON"),
        format!("unexpected status 402 {chat}: insufficient balance"),
    ] {
        assert!(text.contains(&said), "{said}\n{text}");
    }
    assert!(text.contains("unexpected status 401"), "{text}");
    assert!(
        text.contains("0 passed, 0 failed, 5 errored, 0 skipped"),
        "{text}"
    );
    let sent: Vec<String> = mock
        .requests()
        .iter()
        .map(|r| r["message"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        !sent.contains(&"never sent".to_string()),
        "an error ends the dialogue"
    );
}

#[test]
fn retries_only_what_may_succeed_next_time() {
    let mock = Mock::start(&fixture("run/agent.yaml"));
    let ws = Workspace::new();
    let suite = format!(
        "endpoint:\n  base_url: {}\n  agent_id: ag_test\n  api_key: ak_test_123\n  retries: 2\ndialogues:\n  - name: five hundred\n    turns: [{{user: boom 1}}]\n  - name: expected five hundred\n    turns: [{{user: boom 2, expect: {{status: 500}}}}]\n  - name: payment\n    turns: [{{user: pay}}]\n",
        mock.url
    );
    ws.write("r.yaml", &suite);
    let out = run(&ws, "r.yaml", &[]);
    assert_code(&out, 3);
    let count = |needle: &str| {
        mock.requests()
            .iter()
            .filter(|r| r["message"] == needle)
            .count()
    };
    assert_eq!(count("boom 1"), 3, "a 500 is retried twice");
    assert_eq!(count("boom 2"), 1, "an expected 500 is not retried");
    assert_eq!(count("pay"), 1, "a 402 is never retried");
    assert!(
        stdout(&out).contains("(after 2 retries)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn filters_tags_and_list_select_the_same_dialogues() {
    let mock = Mock::start(&fixture("run/agent.yaml"));
    let ws = Workspace::new();
    ws.write(
        "a.yaml",
        &format!(
            "{}dialogues:\n  - name: one\n    tags: [smoke]\n    turns: [{{user: business hours}}]\n  - name: two\n    turns: [{{user: business hours}}]\n  - name: three\n    tags: [smoke, slow]\n    turns: [{{user: business hours}}]\n",
            header(&mock.url)
        ),
    );
    let out = run_in(ws.path(), &["list", "a.yaml", "--tag", "smoke"]);
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "a › one\na › three\n");
    let out = run_in(ws.path(), &["list", "a.yaml", "--filter", "a › t"]);
    assert_eq!(stdout(&out), "a › two\na › three\n");

    let out = run(&ws, "a.yaml", &["--tag", "smoke", "--filter", "three"]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("1 passed, 0 failed"),
        "{}",
        stdout(&out)
    );
    assert_eq!(mock.requests().len(), 1);
}

#[test]
fn partitions_split_a_run_without_overlap() {
    let mock = Mock::start(&fixture("run/agent.yaml"));
    let ws = Workspace::new();
    let mut suite = header(&mock.url);
    suite.push_str("dialogues:\n");
    for i in 0..20 {
        suite.push_str(&format!(
            "  - name: d{i}\n    turns: [{{user: business hours}}]\n"
        ));
    }
    ws.write("p.yaml", &suite);
    let mut seen = BTreeSet::new();
    for k in 1..=3 {
        let out = run_in(
            ws.path(),
            &["list", "p.yaml", "--partition", &format!("{k}/3")],
        );
        for line in stdout(&out).lines() {
            assert!(seen.insert(line.to_string()), "{line} in two partitions");
        }
    }
    assert_eq!(seen.len(), 20);
    assert_code(
        &run_in(ws.path(), &["list", "p.yaml", "--partition", "4/3"]),
        2,
    );
    // A slice can be empty on a small suite: that passes (a CI matrix must not fail on it)
    // and still writes the reports the pipeline publishes.
    ws.write(
        "one.yaml",
        &format!(
            "{}dialogues:\n  - name: only\n    turns: [{{user: business hours}}]\n",
            header(&mock.url)
        ),
    );
    let empty = (1..=8)
        .find(|k| {
            let out = run_in(
                ws.path(),
                &["list", "one.yaml", "--partition", &format!("{k}/8")],
            );
            stdout(&out).is_empty()
        })
        .expect("some slice of 8 is empty for one dialogue");
    let slice = format!("{empty}/8");
    let out = run(
        &ws,
        "one.yaml",
        &["--partition", &slice, "--junit", "e.xml"],
    );
    assert_code(&out, 0);
    assert_valid_junit(&ws.path().join("e.xml"));
}

/// `--partition` takes `K/N` as written, nothing that merely parses to it: a space, a sign or
/// a leading zero (a CI template's slip) is a usage error that names the flag and the form,
/// before anything is sent or written, for `run` and `list` alike.
#[test]
fn a_partition_is_plain_k_of_n_or_a_usage_error() {
    let mock = Mock::start(&fixture("run/agent.yaml"));
    let ws = Workspace::new();
    ws.write(
        "p.yaml",
        &format!(
            "{}dialogues:\n  - name: only\n    turns: [{{user: business hours}}]\n",
            header(&mock.url)
        ),
    );
    for bad in [" 1/3", "+1/3", "01/03", "1/3 ", "0/3", "4/3"] {
        let out = run(&ws, "p.yaml", &["--partition", bad, "--junit", "out/r.xml"]);
        assert_code(&out, 2);
        assert_eq!(
            stderr(&out),
            format!(
                "error: --partition: expected K/N with 1 <= K <= N, such as 2/3; got '{bad}'\n"
            ),
            "{bad:?}"
        );
        assert_eq!(stdout(&out), "", "{bad:?}");
        // Refused before the report's directory is made.
        assert!(
            !ws.exists("out"),
            "{bad:?}: the report's directory was made"
        );

        let out = run_in(ws.path(), &["list", "p.yaml", "--partition", bad]);
        assert_code(&out, 2);
        assert!(
            stderr(&out).starts_with("error: --partition: expected K/N"),
            "{bad:?}: {}",
            stderr(&out)
        );
    }
    assert!(mock.requests().is_empty(), "sent: {:?}", mock.requests());
    // The plain form still runs.
    let out = run(&ws, "p.yaml", &["--partition", "1/1"]);
    assert_code(&out, 0);
    assert_eq!(mock.requests().len(), 1);
}

#[test]
fn environment_and_flags_override_the_files() {
    let mock = Mock::start(&fixture("run/agent.yaml"));
    let ws = Workspace::new();
    ws.write(
        "e.yaml",
        "endpoint:\n  base_url: http://127.0.0.1:9\n  agent_id: ag_nowhere\n  api_key: ak_test_123\n  retries: 0\ndialogues:\n  - name: d\n    turns: [{user: business hours}]\n",
    );
    // The environment beats the file.
    let out = agenttest()
        .current_dir(ws.path())
        .args(["run", "e.yaml", "--no-golden"])
        .env("AGENTTEST_BASE_URL", &mock.url)
        .env("AGENTTEST_AGENT_ID", "ag_test")
        .output()
        .expect("run");
    assert_code(&out, 0);
    // The flag beats the environment.
    let out = agenttest()
        .current_dir(ws.path())
        .args([
            "run",
            "e.yaml",
            "--no-golden",
            "--endpoint",
            &mock.url,
            "--agent",
            "ag_test",
        ])
        .env("AGENTTEST_BASE_URL", "http://127.0.0.1:9")
        .env("AGENTTEST_AGENT_ID", "ag_nowhere")
        .output()
        .expect("run");
    assert_code(&out, 0);
    assert_eq!(mock.requests().len(), 2);
}

/// `--agent` and `AGENTTEST_AGENT_ID` are held to the files' rule for an `agent_id`: one
/// segment of the URL's path. One that would climb or cut the path would send the message
/// and the key to another of the server's routes; it is a usage error, and nothing is sent.
#[test]
fn an_agent_id_from_a_flag_or_the_environment_is_one_path_segment() {
    let mock = Mock::start(&fixture("run/agent.yaml"));
    let ws = Workspace::new();
    ws.write(
        "e.yaml",
        &format!(
            "endpoint:\n  base_url: {}\n  agent_id: ag_test\n  api_key: ak_test_123\n  retries: 0\ndialogues:\n  - name: d\n    turns: [{{user: business hours}}]\n",
            mock.url
        ),
    );
    for (flag, env, said) in [
        (
            Some("../../agents/ag/api-keys?"),
            None,
            "error: --agent: the agent id `../../agents/ag/api-keys?` holds `/`: an agent id is one segment of the URL's path\n",
        ),
        (
            Some(".."),
            None,
            "error: --agent: the agent id `..` is a path's dot segment: an agent id is one segment of the URL's path\n",
        ),
        (
            None,
            Some("ag?x=1"),
            "error: AGENTTEST_AGENT_ID: the agent id `ag?x=1` holds `?`: an agent id is one segment of the URL's path\n",
        ),
        (Some(" "), None, "error: --agent: the agent id is empty\n"),
        (
            Some("%2e%2e"),
            None,
            "error: --agent: the agent id `%2e%2e` holds `%`: an agent id is one segment of the URL's path\n",
        ),
        (
            Some("x\\..\\_mock"),
            None,
            "error: --agent: the agent id `x\\..\\_mock` holds `\\`: an agent id is one segment of the URL's path\n",
        ),
    ] {
        let mut cmd = agenttest();
        cmd.current_dir(ws.path()).args(["run", "e.yaml", "--no-golden"]);
        if let Some(flag) = flag {
            cmd.args(["--agent", flag]);
        }
        if let Some(env) = env {
            cmd.env("AGENTTEST_AGENT_ID", env);
        }
        let out = cmd.output().expect("run");
        assert_code(&out, 2);
        assert_eq!(stderr(&out), said, "{flag:?} {env:?}");
    }
    // A bad base URL from a flag or the environment says which, and not its value (a URL may
    // hold a password).
    let out = run_in(
        ws.path(),
        &["run", "e.yaml", "--endpoint", "ftp://user:hunter2@x"],
    );
    assert_code(&out, 2);
    assert_eq!(
        stderr(&out),
        "error: --endpoint: expected `mock`, `replay` or an http:// or https:// URL\n"
    );
    let out = agenttest()
        .current_dir(ws.path())
        .args(["run", "e.yaml"])
        .env("AGENTTEST_BASE_URL", "not a url")
        .output()
        .expect("run");
    assert_code(&out, 2);
    assert!(
        stderr(&out).starts_with("error: AGENTTEST_BASE_URL: expected"),
        "{}",
        stderr(&out)
    );
    // Written in the file, a dot segment is refused at its place.
    ws.write("dots.yaml", &ws.read("e.yaml").replace("ag_test", "'..'"));
    let out = run_in(ws.path(), &["validate", "dots.yaml"]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("`agent_id` `..` is a path's dot segment"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("dots.yaml:3:13"), "{}", stderr(&out));
    assert!(mock.requests().is_empty(), "sent: {:?}", mock.requests());
}

#[test]
fn validate_sends_nothing_and_reports_success() {
    // A real listener the suite points at: validate must not even connect to it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let ws = Workspace::new();
    ws.write(
        "v.yaml",
        &format!("endpoint: {{base_url: 'http://{addr}', agent_id: a, api_key: ak_xyz}}\ndialogues:\n  - name: d\n    turns: [{{user: hi}}]\n"),
    );
    let out = run_in(ws.path(), &["validate", "v.yaml"]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("1 suite and 1 dialogue are valid"),
        "{}",
        stdout(&out)
    );
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("validate connected to the endpoint: {other:?}"),
    }
}
