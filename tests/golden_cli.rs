//! The golden workflow as a user lives it: a first run asks for a golden and writes a pending
//! file, `--bless` records, a rerun passes, a changed agent fails with a diff, `accept` promotes
//! exactly what was seen, and normalize, wildcards and similar mode loosen where they should.

mod common;

use common::*;

fn suite(url: &str) -> String {
    format!(
        r#"name: support
endpoint: {{base_url: "{url}", agent_id: ag_gold, api_key: ak_test_123, retries: 0}}
normalize:
  - {{pattern: '\bORD-\d+\b', replace: '<ORDER>'}}
dialogues:
  - name: business hours
    turns: [{{user: What are your business hours?}}]
  - name: order status
    turns: [{{user: Where is my order?}}]
  - name: weather
    golden: {{mode: similar, threshold: 0.8}}
    turns: [{{user: How is the weather?}}]
"#
    )
}

fn run(ws: &Workspace, url: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "support.yaml", "--color", "never", "--endpoint", url];
    args.extend_from_slice(extra);
    run_in(ws.path(), &args)
}

const HOURS: &str = "support.golden/business-hours.yaml";

#[test]
fn record_compare_and_accept() {
    let v1 = Mock::start(&fixture("golden_cli/v1.yaml"));
    let v2 = Mock::start(&fixture("golden_cli/v2.yaml"));
    let ws = Workspace::new();
    ws.write("support.yaml", &suite(&v1.url));

    // First run: no goldens. Each dialogue fails, says how to record, and leaves a pending file.
    let out = run(&ws, &v1.url, &[]);
    assert_code(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains("no golden transcript at support.golden/business-hours.yaml"),
        "{text}"
    );
    assert!(text.contains("agenttest accept support.yaml"), "{text}");
    assert!(ws.exists("support.golden/business-hours.yaml.new"));
    assert!(!ws.exists(HOURS), "a plain run never writes a golden");

    // --bless records every completed dialogue.
    let out = run(&ws, &v1.url, &["--bless"]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("bless: 3 created, 0 changed"),
        "{}",
        stdout(&out)
    );
    let golden = ws.read(HOURS);
    assert_eq!(
        golden,
        "# agenttest golden transcript. Update with: agenttest run --bless\nsuite: support\ndialogue: business hours\nturns:\n  - user: What are your business hours?\n    status: 200\n    agent: Our business hours are Monday through Friday, 9 AM to 6 PM EST.\n"
    );
    // Normalized text is what is stored.
    assert!(ws
        .read("support.golden/order-status.yaml")
        .contains("Your order <ORDER> ships today."));
    // Blessing removed the stale pending files.
    assert!(!ws.exists("support.golden/business-hours.yaml.new"));

    // A rerun against the same agent passes.
    assert_code(&run(&ws, &v1.url, &[]), 0);

    // The changed agent: the hours fail with a diff showing both texts; the order number is
    // normalized away; the reworded weather is similar enough.
    let out = run(&ws, &v2.url, &[]);
    assert_code(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("FAIL  support › business hours"), "{text}");
    assert!(text.contains("PASS  support › order status"), "{text}");
    assert!(text.contains("PASS  support › weather"), "{text}");
    assert!(
        text.contains(
            "-    agent: Our business hours are Monday through Friday, 9 AM to 6 PM EST."
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "+    agent: Our business hours are Monday through Friday, 8 AM to 5 PM EST."
        ),
        "{text}"
    );
    assert!(!text.contains("\u{1b}["), "no ANSI with --color never");
    let pending = ws.read("support.golden/business-hours.yaml.new");
    assert!(pending.contains("8 AM to 5 PM"), "{pending}");
    assert_eq!(ws.read(HOURS), golden, "the golden is untouched");

    // accept promotes exactly what was seen, sending nothing.
    let before = v2.requests().len() + v1.requests().len();
    let out = run_in(ws.path(), &["accept", "support.yaml"]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("changed   support.golden/business-hours.yaml"),
        "{}",
        stdout(&out)
    );
    assert_eq!(ws.read(HOURS), pending);
    assert!(!ws.exists("support.golden/business-hours.yaml.new"));
    assert_eq!(v2.requests().len() + v1.requests().len(), before);
    assert_code(&run(&ws, &v2.url, &[]), 0);
}

#[test]
fn wildcards_loosen_one_phrase_and_survive_bless() {
    let v1 = Mock::start(&fixture("golden_cli/v1.yaml"));
    let v2 = Mock::start(&fixture("golden_cli/v2.yaml"));
    let ws = Workspace::new();
    ws.write("support.yaml", &suite(&v1.url));
    assert_code(&run(&ws, &v1.url, &["--bless"]), 0);
    // A maintainer loosens the hours by hand.
    let loosened = ws.read(HOURS).replace("9 AM to 6 PM", "[..] to [..]");
    std::fs::write(ws.path().join(HOURS), &loosened).expect("write");
    assert_code(&run(&ws, &v2.url, &[]), 0);
    // --bless keeps a turn that still matches as it is, wildcards included.
    let out = run(&ws, &v2.url, &["--bless"]);
    assert_code(&out, 0);
    assert_eq!(ws.read(HOURS), loosened);
    // A wildcard does not excuse a change outside it.
    std::fs::write(ws.path().join(HOURS), loosened.replace("Monday", "Tuesday")).expect("write");
    assert_code(&run(&ws, &v2.url, &[]), 1);
}

#[test]
fn similar_mode_fails_below_its_threshold() {
    let v1 = Mock::start(&fixture("golden_cli/v1.yaml"));
    let v2 = Mock::start(&fixture("golden_cli/v2.yaml"));
    let ws = Workspace::new();
    ws.write(
        "support.yaml",
        &suite(&v1.url).replace("threshold: 0.8", "threshold: 0.99"),
    );
    assert_code(&run(&ws, &v1.url, &["--bless", "--filter", "weather"]), 0);
    let out = run(&ws, &v2.url, &["--filter", "weather"]);
    assert_code(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("below the threshold 0.99"), "{text}");
}

#[test]
fn no_golden_skips_comparison_and_reject_deletes_pending() {
    let v1 = Mock::start(&fixture("golden_cli/v1.yaml"));
    let ws = Workspace::new();
    ws.write("support.yaml", &suite(&v1.url));
    assert_code(&run(&ws, &v1.url, &["--no-golden"]), 0);
    assert!(!ws.exists("support.golden"), "--no-golden writes nothing");
    assert_code(&run(&ws, &v1.url, &[]), 1);
    assert!(ws.exists("support.golden/weather.yaml.new"));
    let out = run_in(ws.path(), &["reject", "."]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("rejected: 3 deleted"),
        "{}",
        stdout(&out)
    );
    assert!(!ws.exists("support.golden/weather.yaml.new"));
}

#[test]
fn bless_leaves_errored_and_skipped_dialogues_alone_and_warns_on_orphans() {
    let v1 = Mock::start(&fixture("golden_cli/v1.yaml"));
    let ws = Workspace::new();
    ws.write("support.yaml", &suite(&v1.url));
    assert_code(&run(&ws, &v1.url, &["--bless"]), 0);
    let hours = ws.read(HOURS);
    // Now the hours dialogue is skipped, the order one errors (unknown agent), and a golden
    // has lost its dialogue.
    ws.write(
        "support.yaml",
        &suite(&v1.url)
            .replace(
                "  - name: business hours\n",
                "  - name: business hours\n    skip: flaky upstream\n",
            )
            .replace(
                "  - name: order status\n",
                "  - name: order status\n    endpoint: {agent_id: ag_gone}\n",
            )
            .replace("  - name: weather\n", "  - name: weather report\n"),
    );
    let out = run_in(
        ws.path(),
        &["run", "support.yaml", "--bless", "--color", "never"],
    );
    assert_code(&out, 3);
    let text = stdout(&out);
    assert!(
        text.contains("left alone support.golden/business-hours.yaml"),
        "{text}"
    );
    assert!(
        text.contains("left alone support.golden/order-status.yaml"),
        "{text}"
    );
    assert!(
        text.contains("created   support.golden/weather-report.yaml"),
        "{text}"
    );
    assert!(
        text.contains("warning: golden file support.golden/weather.yaml has no dialogue behind it"),
        "{text}"
    );
    assert_eq!(ws.read(HOURS), hours);
}

#[test]
fn a_failed_golden_write_keeps_the_old_golden_and_says_so() {
    let v1 = Mock::start(&fixture("golden_cli/v1.yaml"));
    let v2 = Mock::start(&fixture("golden_cli/v2.yaml"));
    let ws = Workspace::new();
    ws.write("support.yaml", &suite(&v1.url));
    assert_code(&run(&ws, &v1.url, &["--bless", "--filter", "hours"]), 0);
    let old = ws.read(HOURS);
    // Tests run as root in CI, where permissions do not stop writes: make the golden
    // directory unwritable in a way root cannot ignore by turning the temp-file location
    // into a non-directory. The bless write must fail without touching the old file.
    let dir = ws.path().join("support.golden");
    let moved = ws.path().join("support.golden.real");
    std::fs::rename(&dir, &moved).expect("move");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::copy(
        moved.join("business-hours.yaml"),
        dir.join("business-hours.yaml"),
    )
    .expect("copy");
    let ro = std::process::Command::new("chattr")
        .arg("+i")
        .arg(&dir)
        .status();
    let immutable = ro.map(|s| s.success()).unwrap_or(false);
    if !immutable {
        // Without chattr: a read-only directory stops non-root users.
        let mut perm = std::fs::metadata(&dir).expect("meta").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o555);
        std::fs::set_permissions(&dir, perm).expect("chmod");
    }
    let out = run(&ws, &v2.url, &["--bless", "--filter", "hours"]);
    if immutable {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&dir)
            .status();
    }
    let text = stdout(&out);
    assert_eq!(ws.read(HOURS), old, "the old golden is intact");
    assert!(text.contains("FAILED"), "{text}");
    assert!(text.contains("the old golden is intact"), "{text}");
    assert_ne!(
        out.status.code(),
        Some(0),
        "a failed bless must not pass the run"
    );
}

/// A `.golden` kept elsewhere and linked in (`support.golden -> STORE/support`): `run .` writes
/// the pending files through the link, so `accept .` and `reject .` must find them there.
#[cfg(unix)]
#[test]
fn accept_and_reject_find_pending_files_in_a_linked_golden_directory() {
    let v1 = Mock::start(&fixture("golden_cli/v1.yaml"));
    let ws = Workspace::new();
    ws.write("support.yaml", &suite(&v1.url));
    let store = tempfile::tempdir().unwrap();
    let goldens = store.path().join("support");
    std::fs::create_dir(&goldens).unwrap();
    std::os::unix::fs::symlink(&goldens, ws.path().join("support.golden")).unwrap();
    let run_dir = |extra: &[&str]| {
        let mut args = vec!["run", ".", "--color", "never", "--endpoint", &v1.url];
        args.extend_from_slice(extra);
        run_in(ws.path(), &args)
    };
    assert_code(&run_dir(&[]), 1);
    assert!(goldens.join("weather.yaml.new").exists());
    let out = run_in(ws.path(), &["reject", "."]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("rejected: 3 deleted"),
        "{}",
        stdout(&out)
    );
    assert!(!goldens.join("weather.yaml.new").exists());

    assert_code(&run_dir(&[]), 1);
    let out = run_in(ws.path(), &["accept", "."]);
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("accepted: 3 created"), "{text}");
    assert!(
        text.contains("created   ./support.golden/weather.yaml"),
        "{text}"
    );
    assert!(goldens.join("weather.yaml").exists());
    assert_code(&run_dir(&[]), 0);
}

/// SPEC §3.1's capture + `normalize` dialogue against an agent that gives out a new order
/// number in every session (as a live one does): the number captured from turn 1 and sent in
/// turn 2's message is recorded after `normalize` too, so the golden holds `<ORDER>` and every
/// later run matches it. A golden recorded before, with the raw number in its message, still
/// matches, and `--bless` leaves it as it is.
#[test]
fn a_captured_value_in_a_message_is_normalized_in_the_golden() {
    let ws = Workspace::new();
    ws.write(
        "agent.yaml",
        "agents:\n  ag_o:\n    seed: 1\n    rules:\n      - when: '(?i)where is my order'\n        replies: ['I found your order ORD-1111.', 'I found your order ORD-2222.', 'I found your order ORD-3333.']\n      - when: '(?i)shipped'\n        reply: 'Yes, it shipped.'\n",
    );
    ws.write(
        "o.yaml",
        "endpoint: {base_url: mock, mock_script: agent.yaml, agent_id: ag_o, api_key: ak_test_123}\n\
         normalize:\n  - {pattern: '\\bORD-\\d+\\b', replace: '<ORDER>'}\n\
         dialogues:\n  - name: order\n    turns:\n      - user: Where is my order?\n        capture: {order: 'ORD-\\d+'}\n      - user: Has {{order}} shipped?\n",
    );
    let golden = "o.golden/order.yaml";
    assert_code(&run_in(ws.path(), &["run", "o.yaml", "--bless"]), 0);
    let text = ws.read(golden);
    assert!(text.contains("- user: Has <ORDER> shipped?"), "{text}");
    // Six runs, six sessions: the order numbers differ between them, the golden holds.
    let out = run_in(
        ws.path(),
        &["run", "o.yaml", "--repeat", "6", "--min-pass", "6"],
    );
    assert_code(&out, 0);
    assert!(!ws.exists("o.golden/order.yaml.new"));

    // A golden from before: the raw number in the message. Still a match, and kept by --bless.
    let raw = text.replace("Has <ORDER> shipped?", "Has ORD-2222 shipped?");
    ws.write(golden, &raw);
    let out = run_in(
        ws.path(),
        &["run", "o.yaml", "--repeat", "3", "--min-pass", "3"],
    );
    assert_code(&out, 0);
    assert_code(&run_in(ws.path(), &["run", "o.yaml", "--bless"]), 0);
    assert_eq!(ws.read(golden), raw);

    // A message that really differs still fails, and the diff shows only that line.
    ws.write(
        golden,
        &text.replace("Has <ORDER> shipped?", "Was <ORDER> lost?"),
    );
    let out = run_in(ws.path(), &["run", "o.yaml", "--color", "never"]);
    assert_code(&out, 1);
    let shown = stdout(&out);
    assert!(shown.contains("the user message differs"), "{shown}");
    assert!(shown.contains("+  - user: Has <ORDER> shipped?"), "{shown}");
}

/// A dialogue that a missed capture ended early (SPEC §8.3) did not go to its end: its short
/// transcript is neither compared with the golden nor written as a pending file, and
/// `--bless` leaves the reviewed golden alone, as for a dialogue that errored. Blessing it
/// would replace a two-turn golden with its first turn, and fail every good run after.
#[test]
fn a_dialogue_cut_short_by_a_missed_capture_leaves_its_golden_alone() {
    let ws = Workspace::new();
    ws.write(
        "good.yaml",
        "agents:\n  ag:\n    rules:\n      - {when: 'Where', reply: 'Your order ORD-17 ships soon.'}\n    fallback: 'Order {{message}} has shipped.'\n",
    );
    ws.write(
        "bad.yaml",
        "agents:\n  ag: {fallback: 'Sorry, I cannot find it.'}\n",
    );
    let suite = |script: &str| {
        format!(
            "endpoint: {{base_url: mock, mock_script: {script}, agent_id: ag, api_key: ak_test_123}}\n\
             dialogues:\n  - name: order\n    turns:\n      - user: Where is my order?\n        capture: {{order: 'ORD-\\d+'}}\n      - user: Has {{{{order}}}} shipped?\n"
        )
    };
    let golden = "s.golden/order.yaml";
    ws.write("s.yaml", &suite("good.yaml"));
    assert_code(&run_in(ws.path(), &["run", "s.yaml", "--bless"]), 0);
    let reviewed = ws.read(golden);
    assert!(reviewed.contains("Has ORD-17 shipped?"), "{reviewed}");

    ws.write("s.yaml", &suite("bad.yaml"));
    let out = run_in(ws.path(), &["run", "s.yaml", "--color", "never"]);
    assert_code(&out, 1);
    let shown = stdout(&out);
    assert!(shown.contains("capture `order`"), "{shown}");
    assert!(
        !shown.contains("turn count"),
        "no comparison of a cut transcript: {shown}"
    );
    assert!(!ws.exists("s.golden/order.yaml.new"), "{shown}");

    let out = run_in(ws.path(), &["run", "s.yaml", "--bless", "--color", "never"]);
    assert_code(&out, 1);
    let shown = stdout(&out);
    assert!(shown.contains("left alone"), "{shown}");
    assert_eq!(ws.read(golden), reviewed);

    // The agent fixed: the reviewed golden still passes.
    ws.write("s.yaml", &suite("good.yaml"));
    assert_code(&run_in(ws.path(), &["run", "s.yaml"]), 0);
}
