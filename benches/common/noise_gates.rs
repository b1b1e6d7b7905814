//! The gates the noise experiment compares, each a suite written as a careful user would
//! following the README: the same three dialogues (weekday and Saturday hours; an order
//! followed up a turn later; refunds) checked by exact goldens, `similar` goldens,
//! contains/regex expectations, `facts:` expectations, `golden: {mode: facts}` or the baseline
//! gate, once or repeated. It owns the suite texts; it never runs them.
//!
//! The regexes are what a user writes after reading a handful of answers: they accept "9 AM",
//! "9:00 a.m." and "9am", "30 days" and "30-day", and nothing rarer. The `facts:` specs list
//! the typed values of each answer; a day range is not a fact, so it stays a regex.

/// How a gate judges a dialogue.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Golden comparison only, with this `golden:` value.
    Golden(&'static str),
    /// contains / regex expectations, goldens off.
    Regex,
    /// `facts:` expectations, goldens off.
    Facts,
    /// `facts:` expectations and `golden: {mode: facts}`: the README's recipe.
    FactsAndGolden,
    /// `facts:` expectations against the blessed pass rate (`min_pass: baseline`).
    Baseline,
}

pub struct Gate {
    /// File stem and mock agent id.
    pub id: &'static str,
    /// The row of the results table.
    pub name: &'static str,
    pub check: Check,
    pub repeat: u32,
    pub min_pass: u32,
    /// `--reruns N` on the command line.
    pub reruns: u32,
}

impl Gate {
    pub fn file(&self) -> String {
        format!("{}.yaml", self.id)
    }

    /// Its goldens are recorded once, against today's agent, and reviewed.
    pub fn blessed_once(&self) -> bool {
        matches!(self.check, Check::Golden(_) | Check::FactsAndGolden)
    }
}

const fn gate(
    id: &'static str,
    name: &'static str,
    check: Check,
    repeat: u32,
    min_pass: u32,
) -> Gate {
    Gate {
        id,
        name,
        check,
        repeat,
        min_pass,
        reruns: 0,
    }
}

/// Runs a dialogue's baseline is recorded from, and runs of the gate against it.
pub const BLESS_RUNS: u32 = 100;
pub const BASELINE_RUNS: u32 = 20;

pub const GATES: [Gate; 13] = [
    gate("exact", "exact goldens", Check::Golden("true"), 1, 1),
    gate(
        "similar90",
        "`similar` goldens, threshold 0.9",
        Check::Golden("{mode: similar, threshold: 0.9}"),
        1,
        1,
    ),
    gate(
        "similar30",
        "`similar` goldens, threshold 0.3",
        Check::Golden("{mode: similar, threshold: 0.3}"),
        1,
        1,
    ),
    gate("regex1", "contains/regex, 1 run", Check::Regex, 1, 1),
    gate("regex3of5", "contains/regex, 3 of 5", Check::Regex, 5, 3),
    Gate {
        reruns: 1,
        ..gate(
            "regex3of5r",
            "contains/regex, 3 of 5, `--reruns 1`",
            Check::Regex,
            5,
            3,
        )
    },
    gate("facts1", "`facts:`, 1 run", Check::Facts, 1, 1),
    gate("facts3of5", "`facts:`, 3 of 5", Check::Facts, 5, 3),
    gate("facts10of10", "`facts:`, 10 of 10", Check::Facts, 10, 10),
    gate(
        "gfacts1",
        "`golden: {mode: facts}`, 1 run",
        Check::Golden("{mode: facts}"),
        1,
        1,
    ),
    gate(
        "gfacts3of5",
        "`golden: {mode: facts}`, 3 of 5",
        Check::Golden("{mode: facts}"),
        5,
        3,
    ),
    gate(
        "recipe",
        "`facts:` + `golden: {mode: facts}`, 3 of 5",
        Check::FactsAndGolden,
        5,
        3,
    ),
    gate(
        "baseline",
        "`facts:`, 20 runs vs a 100-run baseline (`min_pass: baseline`)",
        Check::Baseline,
        BASELINE_RUNS,
        0,
    ),
];

/// The mock agent ids, one per gate.
pub fn agents() -> Vec<&'static str> {
    GATES.iter().map(|g| g.id).collect()
}

const REFUSAL: &str = r"'(?i)\bsorry\b|can.t (help|assist)|not able to'";

/// The expectations of the five turns, in order.
fn expectations(check: Check) -> [String; 5] {
    match check {
        Check::Golden(_) => Default::default(),
        Check::Regex => [
            r"{regex: ['(?i)\bmon|weekdays', '(?i)\b9(:00)?\s*a\.?m', '(?i)\b6(:00)?\s*p\.?m']}",
            r"{regex: ['(?i)\b10(:00)?\s*a\.?m', '(?i)\b2(:00)?\s*p\.?m']}",
            "{contains: ORD-4711}",
            r"{contains: ORD-4711, regex: '(?i)\b2 (business|working) days'}",
            r"{regex: ['(?i)\b30[ -]days?', '(?i)\b5 (business|working) days']}",
        ]
        .map(String::from),
        Check::Facts | Check::FactsAndGolden | Check::Baseline => [
            r#"{regex: '(?i)\bmon|weekdays', facts: [{time: "09:00"}, {time: "18:00"}]}"#,
            r#"{facts: [{time: "10:00"}, {time: "14:00"}]}"#,
            "{contains: ORD-4711}",
            "{contains: ORD-4711, facts: [{number: 2, unit: day}]}",
            "{facts: [{number: 30, unit: day}, {number: 5, unit: business days}]}",
        ]
        .map(String::from),
    }
}

/// The suite file of one gate.
pub fn suite(g: &Gate) -> String {
    let e = expectations(g.check);
    let expect = |i: usize| {
        if e[i].is_empty() {
            String::new()
        } else {
            format!("\n        expect: {}", e[i])
        }
    };
    let per_dialogue = match g.check {
        Check::Golden(mode) => format!("    golden: {mode}\n"),
        Check::FactsAndGolden => "    golden: {mode: facts}\n".into(),
        Check::Baseline => String::new(),
        Check::Regex | Check::Facts => "    golden: false\n".into(),
    } + &match (g.check, g.repeat) {
        (Check::Baseline, n) => format!("    repeat: {n}\n    min_pass: baseline\n"),
        (_, 1) => String::new(),
        (_, n) => format!("    repeat: {n}\n    min_pass: {}\n", g.min_pass),
    };
    let defaults = match g.check {
        Check::Golden(_) => String::new(),
        _ => format!("defaults:\n  expect: {{not_regex: {REFUSAL}}}\n"),
    };
    format!(
        "# The noise experiment's gate \"{name}\".\n\
         endpoint: {{base_url: mock, agent_id: {id}, api_key: ak_noise, retries: 0}}\n\
         {defaults}\
         dialogues:\n  \
         - name: hours\n{per_dialogue}    turns:\n      \
         - user: What are your business hours?{e0}\n      \
         - user: And on Saturday?{e1}\n  \
         - name: order context\n{per_dialogue}    turns:\n      \
         - user: I ordered a blue kettle, order ORD-4711. Can you check it?{e2}\n      \
         - user: When will it ship?{e3}\n  \
         - name: refund\n{per_dialogue}    turns:\n      \
         - user: Can I get a refund?{e4}\n",
        name = g.name,
        id = g.id,
        e0 = expect(0),
        e1 = expect(1),
        e2 = expect(2),
        e3 = expect(3),
        e4 = expect(4),
    )
}
