//! SPEC §3.3: `--bless` and `accept` keep a golden turn that still passes as it is, in the
//! dialogue's golden mode: a reviewed turn that a `similar` (or `facts`) dialogue passes is not
//! rewritten into the latest wording, and only the turns that differ are replaced. Each case
//! runs the real binary against an in-process mock agent that echoes the message.

mod common;

use common::*;

/// Answers every message with the message itself.
const ECHO: &str =
    "agents:\n  ag_echo:\n    rules:\n      - when: '.'\n        reply: '{{message}}'\n";

const TEN: &str = "one two three four five six seven eight nine ten";
/// 9 of its 10 words are `TEN`'s: 0.9 similar, which passes a threshold of 0.8.
const TEN_REVIEWED: &str = "one TWO three four five six seven eight nine ten";

/// A suite with one two-turn dialogue, `sim`, in `mode`, against the echo agent.
fn workspace(mode: &str) -> Workspace {
    let ws = Workspace::with("agent.yaml", ECHO);
    ws.write(
        "s.yaml",
        &format!(
            "endpoint: {{base_url: mock, mock_script: agent.yaml, agent_id: ag_echo, api_key: ak_test, retries: 0}}
dialogues:
  - name: sim
    golden: {mode}
    turns:
      - user: {TEN}
      - user: We open at 9 AM.
"
        ),
    );
    ws
}

/// The golden of `sim` with these two agent texts.
fn golden(first: &str, second: &str) -> String {
    format!(
        "# agenttest golden transcript. Update with: agenttest run --bless
suite: s
dialogue: sim
turns:
  - user: {TEN}
    status: 200
    agent: {first}
  - user: We open at 9 AM.
    status: 200
    agent: {second}
"
    )
}

const GOLDEN: &str = "s.golden/sim.yaml";
const PENDING: &str = "s.golden/sim.yaml.new";
const SIMILAR: &str = "{mode: similar, threshold: 0.8}";

#[test]
fn bless_leaves_a_similar_golden_whose_turns_all_pass_unchanged() {
    let ws = workspace(SIMILAR);
    let reviewed = golden(TEN_REVIEWED, "We open at 9 AM.");
    ws.write(GOLDEN, &reviewed);
    assert_code(&run_in(ws.path(), &["run", "s.yaml"]), 0);
    let out = run_in(ws.path(), &["run", "s.yaml", "--bless", "--color", "never"]);
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("bless: 0 created, 0 changed, 1 unchanged"),
        "{text}"
    );
    assert_eq!(ws.read(GOLDEN), reviewed, "kept byte for byte");
}

#[test]
fn bless_rewrites_only_the_turn_that_fails_similarity() {
    let ws = workspace(SIMILAR);
    ws.write(GOLDEN, &golden(TEN_REVIEWED, "We close at 6 PM."));
    assert_code(&run_in(ws.path(), &["run", "s.yaml"]), 1);
    let out = run_in(ws.path(), &["run", "s.yaml", "--bless", "--color", "never"]);
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("changed   s.golden/sim.yaml"), "{text}");
    assert_eq!(
        ws.read(GOLDEN),
        golden(TEN_REVIEWED, "We open at 9 AM."),
        "turn 1 passed and is kept as reviewed; turn 2 takes the new text"
    );
    assert!(!ws.exists(PENDING));
    assert_code(&run_in(ws.path(), &["run", "s.yaml"]), 0);
}

/// `facts` too: a reworded turn that states the golden's facts is kept; in `exact` the same
/// bless records what was seen.
#[test]
fn bless_keeps_a_turn_whose_facts_still_agree_and_exact_mode_rewrites_it() {
    let ws = workspace("{mode: facts}");
    let reviewed = golden(TEN, "Our doors open at nine in the morning.");
    ws.write(GOLDEN, &reviewed);
    assert_code(&run_in(ws.path(), &["run", "s.yaml"]), 0);
    let out = run_in(ws.path(), &["run", "s.yaml", "--bless", "--color", "never"]);
    assert_code(&out, 0);
    assert!(stdout(&out).contains("1 unchanged"), "{}", stdout(&out));
    assert_eq!(ws.read(GOLDEN), reviewed);

    let ws = workspace("true");
    ws.write(GOLDEN, &golden(TEN_REVIEWED, "We open at 9 AM."));
    let out = run_in(ws.path(), &["run", "s.yaml", "--bless", "--color", "never"]);
    assert_code(&out, 0);
    assert!(stdout(&out).contains("1 changed"), "{}", stdout(&out));
    assert_eq!(ws.read(GOLDEN), golden(TEN, "We open at 9 AM."));
}

/// The audit's repro: turn 1 passes by similarity, turn 2 fails. The run's pending file says
/// how it compared, and `accept` keeps turn 1 as reviewed, replaces turn 2, and writes a golden
/// without that record, which the next run passes.
#[test]
fn accept_keeps_the_turns_that_passed_in_similar_mode() {
    let ws = workspace(SIMILAR);
    ws.write(GOLDEN, &golden(TEN_REVIEWED, "We close at 6 PM."));
    let out = run_in(ws.path(), &["run", ".", "--color", "never"]);
    assert_code(&out, 1);
    let pending = ws.read(PENDING);
    assert!(
        pending.contains("\n# compared as golden: {mode: similar, threshold: 0.8} "),
        "{pending}"
    );
    assert!(pending.contains(&format!("agent: {TEN}\n")), "{pending}");

    let out = run_in(ws.path(), &["accept", "."]);
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("changed   ./s.golden/sim.yaml"), "{text}");
    assert_eq!(ws.read(GOLDEN), golden(TEN_REVIEWED, "We open at 9 AM."));
    assert!(!ws.exists(PENDING));
    assert_code(&run_in(ws.path(), &["run", "."]), 0);
}

/// A first golden accepted from a pending file that records its mode holds no such record.
#[test]
fn accept_of_a_first_pending_file_writes_a_plain_golden() {
    let ws = workspace(SIMILAR);
    assert_code(&run_in(ws.path(), &["run", "s.yaml"]), 1);
    assert!(ws.read(PENDING).contains("# compared as golden:"));
    let out = run_in(ws.path(), &["accept", "s.yaml"]);
    assert_code(&out, 0);
    assert!(stdout(&out).contains("created"), "{}", stdout(&out));
    assert_eq!(ws.read(GOLDEN), golden(TEN, "We open at 9 AM."));
}
