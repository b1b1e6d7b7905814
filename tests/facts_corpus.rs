//! The fact extractor's corpus (`tests/fixtures/facts/corpus.yaml`): every reply yields exactly
//! the facts listed for it, in order; every `states` case states what it must and nothing it
//! must not; every `compare` case reports exactly the facts missing and added. All mismatches
//! are printed at once, so one run shows everything a change to the extractor broke.

use std::collections::BTreeMap;
use std::path::Path;

use agenttest::facts::{compare, extract, parse_spec, states, Fact};
use serde::Deserialize;

#[derive(Deserialize)]
struct Corpus {
    cases: Vec<Case>,
    #[serde(default)]
    states: Vec<StatesCase>,
    #[serde(default)]
    compare: Vec<CompareCase>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    facts: Vec<String>,
    #[serde(default)]
    why: Option<String>,
}

/// A `facts:` entry as a suite writes it: `{time: "09:00"}`, `{number: 30, unit: day}`.
type Spec = BTreeMap<String, Scalar>;

#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Text(s) => s.clone(),
        }
    }
}

#[derive(Deserialize)]
struct StatesCase {
    reply: String,
    #[serde(default)]
    states: Vec<Spec>,
    #[serde(default)]
    not_states: Vec<Spec>,
}

#[derive(Deserialize)]
struct CompareCase {
    golden: String,
    reply: String,
    missing: Vec<String>,
    added: Vec<String>,
}

fn corpus() -> Corpus {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/facts/corpus.yaml");
    let text = std::fs::read_to_string(&path).expect("corpus.yaml is readable");
    serde_saphyr::from_str(&text).expect("corpus.yaml parses")
}

fn shown(facts: &[Fact]) -> Vec<String> {
    facts.iter().map(ToString::to_string).collect()
}

/// The fact a spec map stands for, the way the suite loader reads it.
fn spec(map: &Spec) -> Result<Fact, String> {
    let unit = map.get("unit").map(Scalar::text);
    let mut kinds = map.iter().filter(|(k, _)| k.as_str() != "unit");
    let (Some((kind, value)), None) = (kinds.next(), kinds.next()) else {
        return Err("a spec names exactly one kind".into());
    };
    parse_spec(kind, &value.text(), unit.as_deref())
}

fn report(what: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} {what} mismatch(es):\n\n{}\n",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_reply_yields_exactly_its_facts() {
    let corpus = corpus();
    assert!(
        corpus.cases.len() >= 300,
        "the corpus has {} cases; SPEC wants a corpus of real wordings, at least 300",
        corpus.cases.len()
    );
    let mut failures = Vec::new();
    for case in &corpus.cases {
        let got = shown(&extract(&case.text));
        if got != case.facts {
            let why = case
                .why
                .as_deref()
                .map_or(String::new(), |w| format!("\n  why:  {w}"));
            failures.push(format!(
                "text: {:?}\n  want: {:?}\n  got:  {:?}{why}",
                case.text, case.facts, got
            ));
        }
    }
    report("extraction", &failures);
}

#[test]
fn expected_facts_are_written_in_display_form() {
    // A typo in an expected fact (`time 9:00`) would otherwise read as an extractor bug.
    let pattern = regex::Regex::new(concat!(
        r"^(time \d\d:\d\d|number -?[\d.]+( [a-z][a-z-]*)?|money -?[\d.]+ [A-Z]{3}",
        r"|percent -?[\d.]+|date (\d{4}-)?\d\d-\d\d)$",
    ))
    .unwrap();
    let bad: Vec<String> = corpus()
        .cases
        .iter()
        .flat_map(|c| c.facts.iter())
        .filter(|f| !pattern.is_match(f))
        .cloned()
        .collect();
    assert!(bad.is_empty(), "not in Display form: {bad:?}");
}

#[test]
fn replies_state_what_they_must_and_nothing_they_must_not() {
    let corpus = corpus();
    let mut failures = Vec::new();
    for case in &corpus.states {
        let found = extract(&case.reply);
        let checks = case
            .states
            .iter()
            .map(|s| (s, true))
            .chain(case.not_states.iter().map(|s| (s, false)));
        for (s, want) in checks {
            match spec(s) {
                Err(e) => failures.push(format!("reply: {:?}\n  bad spec: {e}", case.reply)),
                Ok(fact) if states(&found, &fact) != want => failures.push(format!(
                    "reply: {:?}\n  facts: {:?}\n  {} `{fact}` but should {}",
                    case.reply,
                    shown(&found),
                    if want { "does not state" } else { "states" },
                    if want { "" } else { "not" },
                )),
                Ok(_) => {}
            }
        }
    }
    report("states", &failures);
}

#[test]
fn compare_reports_missing_and_added_facts() {
    let corpus = corpus();
    let mut failures = Vec::new();
    for case in &corpus.compare {
        let diff = compare(&extract(&case.golden), &extract(&case.reply));
        let (missing, added) = (shown(&diff.missing), shown(&diff.added));
        if missing != case.missing || added != case.added {
            failures.push(format!(
                "golden: {:?}\n  reply: {:?}\n  want missing {:?}, added {:?}\n  \
                 got  missing {:?}, added {:?}",
                case.golden, case.reply, case.missing, case.added, missing, added
            ));
        }
    }
    report("compare", &failures);
}

#[test]
fn extraction_is_fast_enough_for_every_judged_turn() {
    // A long reply, as a whole corpus at once: well under a second even unoptimized.
    let text: String = corpus()
        .cases
        .iter()
        .map(|c| c.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let start = std::time::Instant::now();
    let facts = extract(&text);
    let took = start.elapsed();
    assert!(!facts.is_empty());
    assert!(
        took.as_millis() < 1000,
        "extracting {} bytes took {took:?}",
        text.len()
    );
}
