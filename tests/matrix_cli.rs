//! Data-driven dialogues (SPEC §10) through the real binary against the built-in mock
//! (`base_url: mock`): every row of a `matrix:` or a `matrix_file:` runs as its own dialogue,
//! named `name [k=v, ...]`, with its own golden; `list` shows each row, `--filter` selects one,
//! a failure points at its row, and a bad row is refused before anything is sent.

mod common;

use std::path::Path;

use common::{assert_code, run_in, stderr, stdout, Workspace};

const ENDPOINT: &str = "endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_test_123}\n";

/// Two rows inline, three from a CSV file (quoted commas and quotes, an empty value).
fn suite() -> String {
    format!(
        "{ENDPOINT}dialogues:
  - name: hours
    vars: {{tone: polite}}
    matrix:
      - {{lang: fr, day: Monday}}
      - {{lang: de, day: Friday, tone: curt}}
    turns:
      - user: 'What are your business hours on {{{{day}}}}? ({{{{lang}}}}, {{{{tone}}}})'
        expect: {{contains: '{{{{day}}}}'}}
  - name: quote
    matrix_file: cases.csv
    turns:
      - user: '{{{{who}}}} says: {{{{line}}}}'
"
    )
}

const CASES: &str = "who,line\nAnn,\"Hello, world\"\n\"Bob \"\"B\"\"\",hi\nCy,\n";

/// The five names, in file order.
const NAMES: [&str; 5] = [
    "hours [lang=fr, day=Monday]",
    "hours [lang=de, day=Friday, tone=curt]",
    "quote [who=Ann, line=Hello, world]",
    "quote [who=Bob \"B\", line=hi]",
    "quote [who=Cy, line=]",
];

fn workspace() -> Workspace {
    let ws = Workspace::new();
    ws.write("s.yaml", &suite());
    ws.write("cases.csv", CASES);
    ws
}

fn run(ws: &Workspace, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "s.yaml", "--color", "never"];
    args.extend_from_slice(extra);
    run_in(ws.path(), &args)
}

/// The golden files of `s.yaml`, sorted.
fn goldens(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("s.golden"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn bless_writes_one_golden_per_row_and_the_next_run_passes() {
    let ws = workspace();
    let out = run(&ws, &["--bless"]);
    assert_code(&out, 0);
    assert_eq!(
        goldens(ws.path()),
        [
            "hours-lang-de-day-friday-tone-curt-.yaml",
            "hours-lang-fr-day-monday-.yaml",
            "quote-who-ann-line-hello-world-.yaml",
            "quote-who-bob-b-line-hi-.yaml",
            "quote-who-cy-line-.yaml",
        ]
    );
    // Each golden records its row's name and the message as sent with the row's vars (the
    // row's `tone` over the dialogue's).
    let de = ws.read("s.golden/hours-lang-de-day-friday-tone-curt-.yaml");
    assert!(
        de.contains("dialogue: hours [lang=de, day=Friday, tone=curt]"),
        "{de}"
    );
    assert!(
        de.contains("What are your business hours on Friday? (de, curt)"),
        "{de}"
    );
    let fr = ws.read("s.golden/hours-lang-fr-day-monday-.yaml");
    assert!(
        fr.contains("What are your business hours on Monday? (fr, polite)"),
        "{fr}"
    );
    let bob = ws.read("s.golden/quote-who-bob-b-line-hi-.yaml");
    // The CSV's `"Bob ""B"""` is `Bob "B"`: in the name as in the message.
    assert!(
        bob.contains("dialogue: quote [who=Bob \"B\", line=hi]\n"),
        "{bob}"
    );
    assert!(bob.contains(r#"user: "Bob \"B\" says: hi""#), "{bob}");

    let out = run(&ws, &[]);
    assert_code(&out, 0);
    let text = stdout(&out);
    for name in NAMES {
        assert!(
            text.contains(&format!("PASS  s › {name}")),
            "{name}:\n{text}"
        );
    }
    assert!(text.contains("5 passed, 0 failed"), "{text}");
}

#[test]
fn list_shows_every_row() {
    let ws = workspace();
    let out = run_in(ws.path(), &["list", "s.yaml", "--color", "never"]);
    assert_code(&out, 0);
    let lines: Vec<String> = NAMES.iter().map(|n| format!("s › {n}")).collect();
    assert_eq!(stdout(&out).lines().collect::<Vec<_>>(), lines);
}

#[test]
fn a_filter_on_a_var_selects_its_row() {
    let ws = workspace();
    let out = run(&ws, &["--bless", "--filter", "lang=de"]);
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("PASS  s › hours [lang=de, day=Friday, tone=curt]"),
        "{text}"
    );
    assert!(text.contains("1 passed"), "{text}");
    assert_eq!(
        goldens(ws.path()),
        ["hours-lang-de-day-friday-tone-curt-.yaml"]
    );

    let out = run_in(
        ws.path(),
        &["list", "s.yaml", "--filter", "who=Cy", "--color", "never"],
    );
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "s › quote [who=Cy, line=]\n");
}

/// The mock answers "Monday through Friday" to a weekday: a row asking of Wednesday fails
/// its `contains: '{{day}}'`, and the failure names that row and points at it.
#[test]
fn a_failing_row_fails_alone_and_points_at_its_row() {
    let ws = workspace();
    let text = suite().replace("day: Friday", "day: Wednesday");
    ws.write("s.yaml", &text);
    assert_code(&run(&ws, &["--bless"]), 1);
    let out = run(&ws, &[]);
    assert_code(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains("PASS  s › hours [lang=fr, day=Monday]"),
        "{text}"
    );
    assert!(
        text.contains("── FAIL s › hours [lang=de, day=Wednesday, tone=curt]  s.yaml:7:9"),
        "{text}"
    );
    assert!(text.contains("4 passed, 1 failed"), "{text}");
}

#[test]
fn a_bad_csv_row_is_refused_at_its_place_before_anything_runs() {
    let ws = workspace();
    ws.write("cases.csv", "who,line\nAnn,hi\nBob,hi,there\n");
    let out = run(&ws, &["--bless"]);
    assert_code(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("error: this row has 3 fields, but the header names 2 columns"),
        "{err}"
    );
    assert!(err.contains("--> cases.csv:3:8"), "{err}");
    assert!(err.contains("nothing was sent"), "{err}");
    assert!(goldens(ws.path()).is_empty(), "nothing blessed");
}

/// A `vars:` key or a `capture:` name that no `{{name}}` can refer to is refused at load, as a
/// matrix key is: else `{{my var}}` is sent to the agent as literal text, silently.
#[test]
fn a_var_or_capture_that_no_reference_can_name_is_refused() {
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            "{ENDPOINT}dialogues:
  - name: d
    vars: {{'my var': x}}
    turns:
      - user: 'echo: [{{{{my var}}}}] id=7'
        capture: {{'order id': 'id=(\\d+)'}}
      - user: 'echo: [{{{{order id}}}}]'
"
        ),
    );
    let out = run_in(ws.path(), &["validate", "s.yaml", "--color", "never"]);
    assert_code(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("error: `my var` is not a valid var name\n --> s.yaml:4:12"),
        "{err}"
    );
    assert!(
        err.contains("error: `order id` is not a valid var name\n --> s.yaml:7:19"),
        "{err}"
    );
}

/// The rows of a `matrix_file:` all point at its one line. CI shards cut with `--partition`
/// and merged (in any order) list them as one unsharded run does: in the CSV's order, by the
/// report's `matrix_row`.
#[test]
fn merged_shards_keep_a_csv_matrix_in_row_order() {
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!("{ENDPOINT}dialogues:\n  - name: row\n    matrix_file: cases.csv\n    golden: false\n    turns: [{{user: '{{{{n}}}}'}}]\n"),
    );
    let rows: String = (1..=12).map(|n| format!("{n}\n")).collect();
    ws.write("cases.csv", &format!("n\n{rows}"));
    let names = |file: &str| -> Vec<String> {
        let text = std::fs::read_to_string(ws.path().join(file)).expect("read report");
        let v: serde_json::Value = serde_json::from_str(&text).expect("report is JSON");
        v["dialogues"]
            .as_array()
            .expect("dialogues")
            .iter()
            .map(|d| d["name"].as_str().expect("name").to_string())
            .collect()
    };
    assert_code(&run(&ws, &["--json", "all.json"]), 0);
    let written: Vec<String> = (1..=12).map(|n| format!("row [n={n}]")).collect();
    assert_eq!(names("all.json"), written);

    let mut nonempty = 0;
    for k in 1..=3 {
        let part = format!("{k}/3");
        let file = format!("shard-{k}.json");
        assert_code(&run(&ws, &["--partition", &part, "--json", &file]), 0);
        nonempty += usize::from(!names(&file).is_empty());
    }
    assert!(nonempty >= 2, "the rows did not spread over the shards");
    let out = run_in(
        ws.path(),
        &[
            "merge",
            "shard-3.json",
            "shard-1.json",
            "shard-2.json",
            "--json",
            "merged.json",
        ],
    );
    assert_code(&out, 0);
    assert_eq!(names("merged.json"), written);
}
