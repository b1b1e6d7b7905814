//! The noise experiment's agent: a seeded rewording support agent written as a mock script
//! (`replies:` lists drawn per session and turn), and the regressions injected into it. It
//! owns the wordings and their share of lapses; it never runs anything.
//!
//! Every answer varies the way an LLM's does: the format of times ("9 AM", "9:00 a.m.",
//! "9am-6pm", "9-6", "nine in the morning", "09:00"), of numbers ("30 days", "thirty days", "a
//! 30-day window") and of day ranges ("Monday through Friday", "weekdays", "Mon–Fri"), bullets
//! or prose, and sentence order. A list is sampled uniformly, so a wording's weight is how many
//! times it is listed. One answer in twenty of the weekday hours, the shipping time and the
//! refund loses its facts, as an LLM now and then does: each dialogue is right about 95% of the
//! time.

/// The agent as it is, and each injected regression.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Variant {
    Baseline,
    /// Weekdays open at 10 instead of 9, in every format.
    ChangedTime,
    /// The refund window is 14 days instead of 30, in every format.
    ChangedNumber,
    /// The refund answer no longer says how long processing takes.
    DroppedFact,
    /// "When will it ship?" no longer sees the order named one turn earlier.
    LostContext,
    /// Every refund question is refused.
    WrongRefusal,
    /// 30% of all answers, on every question, are refusals.
    Refusal30,
}

impl Variant {
    pub const ALL: [Variant; 7] = [
        Variant::Baseline,
        Variant::ChangedTime,
        Variant::ChangedNumber,
        Variant::DroppedFact,
        Variant::LostContext,
        Variant::WrongRefusal,
        Variant::Refusal30,
    ];

    /// The column heading of the results table.
    pub fn label(self) -> &'static str {
        match self {
            Variant::Baseline => "false alarms (no regression)",
            Variant::ChangedTime => "changed time",
            Variant::ChangedNumber => "changed number",
            Variant::DroppedFact => "dropped fact",
            Variant::LostContext => "lost context",
            Variant::WrongRefusal => "wrong refusal",
            Variant::Refusal30 => "refusal on 30%",
        }
    }
}

/// Weekday hours. `{o}` is the opening hour in digits, `{oo}` zero-padded, `{O}` in words.
/// The "9 AM" family is most of it; "9-6", "between 9 and 6", "nine in the morning" and
/// "09:00" together one in five.
const HOURS: [&str; 19] = [
    "Our business hours are Monday through Friday, {o} AM to 6 PM EST.",
    "Our business hours are Monday through Friday, {o} AM to 6 PM EST.",
    "We're open Monday to Friday, from {o} AM until 6 PM EST.",
    "From {o} AM to 6 PM EST, Monday through Friday, our team is here to help.",
    "- Days: Monday to Friday\n- Hours: {o} AM to 6 PM EST",
    "6 PM EST is when we close on weekdays; we open at {o} AM.",
    "We're here on weekdays, {o} AM to 6 PM Eastern.",
    "Mon–Fri, {o} AM to 6 PM EST.",
    "We're open Monday through Friday from {o} AM to 6 PM EST, and on Saturdays from 10 AM to 2 PM.",
    "We're open weekdays from {o}:00 a.m. to 6:00 p.m. Eastern.",
    "Monday through Friday, {o}:00 a.m.–6:00 p.m. EST.",
    "- Mon–Fri\n- {o}:00 a.m. to 6:00 p.m. (EST)",
    "Mon-Fri, {o}am-6pm EST.",
    "We're open {o}am to 6pm EST on weekdays.",
    "Weekdays, {o}am–6pm Eastern time.",
    "Monday to Friday, {o}-6 Eastern.",
    "We're around between {o} and 6 on weekdays (EST).",
    "We open at {O} in the morning and close at six in the evening, Monday through Friday.",
    "Monday–Friday, {oo}:00 to 18:00 EST.",
];
const HOURS_LAPSE: &str = "We're open on weekdays during normal office hours.";

const SATURDAY: [&str; 20] = [
    "On Saturdays we're open 10 AM to 2 PM EST.",
    "On Saturdays we're open 10 AM to 2 PM EST.",
    "On Saturdays we're open 10 AM to 2 PM EST.",
    "On Saturdays we're open 10 AM to 2 PM EST.",
    "Saturday hours are 10 AM to 2 PM EST; we're closed on Sundays.",
    "Saturday hours are 10 AM to 2 PM EST; we're closed on Sundays.",
    "Saturday hours are 10 AM to 2 PM EST; we're closed on Sundays.",
    "We open at 10 AM on Saturdays and close at 2 PM EST.",
    "We open at 10 AM on Saturdays and close at 2 PM EST.",
    "Saturday: 10:00 a.m. to 2:00 p.m. EST.",
    "Saturday: 10:00 a.m. to 2:00 p.m. EST.",
    "On Saturday we're here from 10am to 2pm Eastern.",
    "On Saturday we're here from 10am to 2pm Eastern.",
    "- Saturday: 10 AM – 2 PM EST\n- Sunday: closed",
    "- Saturday: 10 AM – 2 PM EST\n- Sunday: closed",
    "Saturday opening hours: 10am–2pm EST.",
    "Saturday opening hours: 10am–2pm EST.",
    "Saturdays 10-2 EST, closed Sundays.",
    "Closed Sundays, but on Saturdays we're open 10:00–14:00 EST.",
    "From ten in the morning until two in the afternoon on Saturdays (EST).",
];

const ORDER: [&str; 4] = [
    "Thanks! I found order ORD-4711 for a blue kettle. It's being packed.",
    "Got it: order ORD-4711 (blue kettle) is in our system.",
    "I see ORD-4711, a blue kettle, on your account.",
    "Yes, ORD-4711 is on file: a blue kettle, being packed now.",
];

const SHIP: [&str; 19] = [
    "Order ORD-4711 ships within 2 business days.",
    "Order ORD-4711 ships within 2 business days.",
    "Order ORD-4711 ships within 2 business days.",
    "Order ORD-4711 ships within 2 business days.",
    "Order ORD-4711 ships within 2 business days.",
    "Order ORD-4711 ships within 2 business days.",
    "Your blue kettle (ORD-4711) will ship within two business days.",
    "Your blue kettle (ORD-4711) will ship within two business days.",
    "Your blue kettle (ORD-4711) will ship within two business days.",
    "ORD-4711 is scheduled to ship within 2 working days.",
    "ORD-4711 is scheduled to ship within 2 working days.",
    "ORD-4711 is scheduled to ship within 2 working days.",
    "- Order: ORD-4711\n- Ships: within 2 business days",
    "- Order: ORD-4711\n- Ships: within 2 business days",
    "Within 2 business days, ORD-4711 will be on its way.",
    "Within 2 business days, ORD-4711 will be on its way.",
    "Within 2 business days, ORD-4711 will be on its way.",
    "ORD-4711 should leave our warehouse in 2 business days.",
    "ORD-4711 should leave our warehouse in 2 business days.",
];
const SHIP_LAPSE: &str = "ORD-4711 will ship soon.";
const LOST_CONTEXT: [&str; 2] = [
    "Which order do you mean? Please share the order number.",
    "Could you tell me your order number so I can check?",
];

/// The refund window, `{d}` in digits and `{D}` in words.
const WINDOW: [&str; 5] = [
    "Yes, you can request a full refund within {d} days of purchase.",
    "Refunds are available for {d} days after purchase.",
    "You have {D} days from purchase to ask for a full refund.",
    "Our refund window is {d} days from the date of purchase.",
    "Yes, within a {d}-day window from purchase.",
];
const PROCESSING: [&str; 3] = [
    "Refunds are processed within 5 business days.",
    "Once approved, the money is back within five business days.",
    "Processing takes 5 working days.",
];

#[derive(Clone, Copy)]
enum Layout {
    Prose,
    /// Processing first, then the window.
    Reversed,
    Bullets,
}

/// The refund answers: (window, processing, layout), as often as listed.
const REFUND: [(usize, usize, Layout); 19] = [
    (0, 0, Layout::Prose),
    (0, 0, Layout::Prose),
    (0, 0, Layout::Prose),
    (0, 2, Layout::Prose),
    (0, 0, Layout::Bullets),
    (1, 0, Layout::Prose),
    (1, 0, Layout::Prose),
    (1, 2, Layout::Reversed),
    (1, 0, Layout::Bullets),
    (2, 0, Layout::Prose),
    (2, 1, Layout::Prose),
    (3, 0, Layout::Prose),
    (3, 0, Layout::Reversed),
    (3, 2, Layout::Prose),
    (3, 1, Layout::Bullets),
    (4, 0, Layout::Prose),
    (4, 2, Layout::Prose),
    (4, 0, Layout::Bullets),
    (0, 1, Layout::Prose),
];
const REFUND_LAPSE: &str = "Yes, refunds are possible; see our refund policy for the details.";
const WRONG_REFUSAL: [&str; 2] = [
    "I'm sorry, but I can't help with refunds. Please contact our billing team.",
    "Sorry, I'm not able to discuss refunds here.",
];

/// Mixed in at 30% by `Variant::Refusal30`.
const REFUSALS: [&str; 3] = [
    "I'm sorry, but I can't help with that request.",
    "Sorry, I'm not able to answer that.",
    "I'm afraid I can't assist with that.",
];

/// The reply lists of one variant, one per rule, in rule order.
pub struct Answers {
    pub hours: Vec<String>,
    pub saturday: Vec<String>,
    pub order: Vec<String>,
    pub ship: Vec<String>,
    pub refund: Vec<String>,
}

pub fn answers(v: Variant) -> Answers {
    let (o, oo, big_o) = if v == Variant::ChangedTime {
        ("10", "10", "ten")
    } else {
        ("9", "09", "nine")
    };
    let mut hours: Vec<String> = HOURS
        .iter()
        .map(|t| {
            t.replace("{oo}", oo)
                .replace("{o}", o)
                .replace("{O}", big_o)
        })
        .collect();
    hours.push(HOURS_LAPSE.into());
    let ship = if v == Variant::LostContext {
        owned(&LOST_CONTEXT)
    } else {
        let mut s = owned(&SHIP);
        s.push(SHIP_LAPSE.into());
        s
    };
    let refund = if v == Variant::WrongRefusal {
        owned(&WRONG_REFUSAL)
    } else {
        refunds(v)
    };
    let mut a = Answers {
        hours,
        saturday: owned(&SATURDAY),
        order: owned(&ORDER),
        ship,
        refund,
    };
    if v == Variant::Refusal30 {
        for list in [
            &mut a.hours,
            &mut a.saturday,
            &mut a.order,
            &mut a.ship,
            &mut a.refund,
        ] {
            *list = with_refusals(list);
        }
    }
    a
}

fn refunds(v: Variant) -> Vec<String> {
    let (d, big_d) = if v == Variant::ChangedNumber {
        ("14", "fourteen")
    } else {
        ("30", "thirty")
    };
    let mut out: Vec<String> = REFUND
        .iter()
        .map(|&(w, p, layout)| {
            let window = WINDOW[w].replace("{d}", d).replace("{D}", big_d);
            let processing = PROCESSING[p];
            match (v == Variant::DroppedFact, layout) {
                (true, _) => window,
                (false, Layout::Prose) => format!("{window} {processing}"),
                (false, Layout::Reversed) => format!("{processing} {window}"),
                (false, Layout::Bullets) => format!("- {window}\n- {processing}"),
            }
        })
        .collect();
    out.push(REFUND_LAPSE.into());
    out
}

/// `list` seven times over plus as many refusals as three copies: exactly 30% refusals,
/// and the other 70% drawn as before.
fn with_refusals(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = (0..7).flat_map(|_| list.iter().cloned()).collect();
    out.extend((0..3 * list.len()).map(|i| REFUSALS[i % REFUSALS.len()].to_string()));
    out
}

fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A mock script serving `v` under `seed` as every agent named in `agents` (each keeps its
/// own session count, so gates that share a run never race for the same draws), plus
/// `bless` under `bless_seed`: another sample of the same agent, for recording a baseline.
pub fn script(v: Variant, seed: u64, agents: &[&str], bless_seed: u64) -> String {
    let a = answers(v);
    let mut rules = String::new();
    for (when, after, list) in [
        ("(?i)business hours", None, &a.hours),
        ("(?i)saturday", None, &a.saturday),
        ("(?i)when will it ship", Some("ORD-4711"), &a.ship),
        ("ORD-4711", None, &a.order),
        ("(?i)refund", None, &a.refund),
    ] {
        rules.push_str(&format!("      - when: '{when}'\n"));
        if let Some(after) = after {
            rules.push_str(&format!("        after: '{after}'\n"));
        }
        rules.push_str("        replies:\n");
        for reply in list {
            rules.push_str(&format!("          - {}\n", yaml_string(reply)));
        }
    }
    let fallback = yaml_string(LOST_CONTEXT[0]);
    let mut out = format!(
        "keys: [ak_noise]\nagents:\n  bless:\n    seed: {bless_seed}\n    rules: &rules\n{rules}    fallback: &fallback {fallback}\n"
    );
    for name in agents {
        out.push_str(&format!(
            "  {name}: {{seed: {seed}, rules: *rules, fallback: *fallback}}\n"
        ));
    }
    out
}

/// A double-quoted YAML scalar (JSON's escapes are YAML's).
fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Checks, with the product's own extractor, that the wordings say what the experiment
/// assumes: every wording states its answer's facts except the one lapse per list, and a
/// regressed list never states the fact it lost. Otherwise a "false alarm" could be a bug in
/// a wording.
pub fn check_wordings() -> Result<(), String> {
    let base = answers(Variant::Baseline);
    let t = |s: &'static str| -> Spec { ("time", s, None) };
    let days = |n: &'static str| -> Spec { ("number", n, Some("day")) };
    expect(&base.hours, &[t("09:00"), t("18:00")], &[], 1)?;
    expect(&base.saturday, &[t("10:00"), t("14:00")], &[], 0)?;
    expect(&base.ship, &[days("2")], &[], 1)?;
    expect(&base.refund, &[days("30"), days("5")], &[], 1)?;
    let changed = answers(Variant::ChangedTime);
    expect(&changed.hours, &[t("10:00"), t("18:00")], &[t("09:00")], 1)?;
    let changed = answers(Variant::ChangedNumber);
    expect(&changed.refund, &[days("14"), days("5")], &[days("30")], 1)?;
    let dropped = answers(Variant::DroppedFact);
    expect(&dropped.refund, &[days("30")], &[days("5")], 1)?;
    Ok(())
}

type Spec = (&'static str, &'static str, Option<&'static str>);

/// All but the last `lapses` wordings state every fact of `wanted`; none states any of
/// `never`; the lapses do not state all of `wanted`.
fn expect(list: &[String], wanted: &[Spec], never: &[Spec], lapses: usize) -> Result<(), String> {
    let parse = |specs: &[Spec]| -> Result<Vec<agenttest::facts::Fact>, String> {
        specs
            .iter()
            .map(|(k, v, u)| agenttest::facts::parse_spec(k, v, *u))
            .collect()
    };
    let (wanted, never) = (parse(wanted)?, parse(never)?);
    for (i, text) in list.iter().enumerate() {
        let found = agenttest::facts::extract(text);
        let all = wanted.iter().all(|w| agenttest::facts::states(&found, w));
        let lapse = i >= list.len() - lapses;
        if all == lapse {
            return Err(format!(
                "{text:?} states {found:?}; wanted {wanted:?}, lapse {lapse}"
            ));
        }
        if let Some(n) = never.iter().find(|n| agenttest::facts::states(&found, n)) {
            return Err(format!("{text:?} still states {n}"));
        }
    }
    Ok(())
}
