//! Replay (SPEC §7): golden transcripts served as an agent, so a suite blessed against a live
//! agent runs offline and client code can be tested against recorded conversations.
//!
//! A conversation's user messages so far are matched against the first user messages of
//! every golden; the first golden (by path) that matches answers its next recorded agent text
//! with its recorded status. Where the server keeps the session, every message asked is one of
//! the golden's turns, in order; where the client sends its history, that history holds only
//! the turns that got a 2xx reply (agenttest's own clients leave the others out), so it is
//! matched against the golden's 2xx turns alone ([`Kept`]). A golden of a known suite that the
//! request names by its dialogue's identity answers before any other. Goldens are read with the
//! judge's own parser, so a file replay serves is exactly a file the judge can compare with.
//!
//! A leaf of the mock: the loaded goldens and the matching, as plain data and pure functions.
//! What each replayed session has said lives in the server's state; this module keeps no
//! memory, and it never writes a file.

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Span};
use crate::fsutil::{self, Visit, WalkOptions};

#[derive(Debug, Clone)]
pub(crate) struct Golden {
    pub path: PathBuf,
    pub turns: Vec<Turn>,
    /// The suite's `normalize` rules, applied to both sides before messages are compared
    /// (SPEC §7), when the suite is known.
    pub normalize: Vec<crate::suite::model::NormalizeRule>,
    /// Which requests the golden answers at all.
    pub whom: Whom,
    /// The dialogue's replay identity, when the suite is known: its file name (the dialogue's
    /// slug), by which a conversation under `base_url: replay` names its dialogue (an `http`
    /// one in the generic route's path, any other in
    /// [`REPLAY_IDENTITY_HEADER`](crate::suite::model::REPLAY_IDENTITY_HEADER)). A request that
    /// names it is answered by this golden before any other that continues the conversation,
    /// so dialogues that say the same (prompts compared on one question, a shared opening, a
    /// noisy agent's paraphrases) each replay their own.
    pub identity: Option<String>,
}

/// Which requests a golden answers, from the dialogue it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Whom {
    /// The suite is unknown: any request, on any route.
    Anyone,
    /// A thinnest or openai dialogue: requests on an agent API (the platform's, chat
    /// completions) that name this agent id (an openai dialogue's model).
    Agent(String),
    /// An `http` dialogue: requests on the generic route (`/http/{id}/chat`, where its
    /// replayed requests go), whatever id they name, since the kind names no agent; never a
    /// request of another kind that says the same.
    Generic,
}

impl Golden {
    fn norm(&self, text: &str) -> String {
        crate::judge::golden::normalize(text, &self.normalize)
    }

    fn same(&self, recorded: &str, said: &str) -> bool {
        recorded == said || self.norm(recorded) == self.norm(said)
    }

    /// [`Golden::turn_for`]; for a history the client sent, also as the server would keep it:
    /// a client other than agenttest's may keep a failed turn in its history.
    fn answering(&self, asked: Asked<'_>, kept: Kept, said: &[&str]) -> Option<usize> {
        self.turn_for(asked, kept, said).or_else(|| match kept {
            Kept::Client => self.turn_for(asked, Kept::Server, said),
            Kept::Server => None,
        })
    }

    /// The index of the turn that answers the last of `said` (the conversation's earlier
    /// messages, then the new one), when `said` continues this golden.
    fn turn_for(&self, asked: Asked<'_>, kept: Kept, said: &[&str]) -> Option<usize> {
        let whom = match &self.whom {
            Whom::Anyone => true,
            Whom::Agent(id) => !asked.generic && id == asked.agent_id,
            Whom::Generic => asked.generic,
        };
        let (new, earlier) = said.split_last()?;
        if !whom {
            return None;
        }
        let next = match kept {
            Kept::Server => {
                let k = earlier.len();
                let agree = self.turns.len() > k
                    && self
                        .turns
                        .iter()
                        .zip(said)
                        .all(|(t, s)| self.same(&t.user, s));
                return agree.then_some(k);
            }
            Kept::Client => {
                // The earlier messages are the golden's 2xx turns, one for one: a turn that got
                // another status is not in the client's history.
                let mut next = 0;
                for s in earlier {
                    let i = next + self.turns[next..].iter().position(Turn::ok)?;
                    if !self.same(&self.turns[i].user, s) {
                        return None;
                    }
                    next = i + 1;
                }
                next
            }
        };
        // The new message is the next turn whatever its status, so a recorded error is
        // answered when it is asked; failed turns before it were asked and left out of the
        // history, but a 2xx turn cannot have been. Without a session nothing tells a message
        // asked again after its recorded failure from its first asking: the earlier turn of
        // the two answers both.
        for (i, t) in self.turns.iter().enumerate().skip(next) {
            if self.same(&t.user, new) {
                return Some(i);
            }
            if t.ok() {
                return None;
            }
        }
        None
    }
}

/// Who keeps a replayed conversation, which decides how its messages meet a golden's turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kept {
    /// The server (the agent API, the generic route without `history`): every message asked,
    /// whatever it was answered, is the golden's turn of the same number.
    Server,
    /// The client, which sends the conversation with each request (chat completions, the
    /// generic route with `history`). agenttest's openai and http clients put a turn there only
    /// when it got a 2xx reply (a turn expected to fail adds nothing), so the earlier messages
    /// are matched against the golden's 2xx turns only, and the new one against the next turn,
    /// whatever its status.
    Client,
}

/// Whom a replayed request is for: the agent id it names, whether it came on the generic
/// route, and the dialogue identity it names, if any.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked<'a> {
    pub agent_id: &'a str,
    pub generic: bool,
    pub identity: Option<&'a str>,
}

impl<'a> Asked<'a> {
    /// A request on an agent API (the platform's, chat completions).
    pub fn agent(agent_id: &'a str) -> Self {
        Asked {
            agent_id,
            generic: false,
            identity: None,
        }
    }

    /// A request on the generic route, whose path's id is also the identity an http
    /// dialogue names itself by under replay.
    pub fn generic(agent_id: &'a str) -> Self {
        Asked {
            agent_id,
            generic: true,
            identity: Some(agent_id),
        }
    }

    /// The same request, naming the dialogue `identity` (a conversation under
    /// `base_url: replay` sends it in a header).
    pub fn named(self, identity: Option<&'a str>) -> Self {
        Asked { identity, ..self }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Turn {
    pub user: String,
    pub status: u16,
    pub agent: String,
}

impl Turn {
    /// Whether the turn got a 2xx reply, and so is in a client's history.
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The goldens to serve.
#[derive(Debug, Clone)]
pub(crate) struct Goldens {
    goldens: Vec<Golden>,
}

/// What replay says to one message.
pub(crate) enum Answer<'a> {
    /// The golden's recorded status and agent text.
    Turn { status: u16, agent: &'a str },
    /// No golden continues this conversation; the detail names the nearest one.
    NoMatch(String),
}

impl Goldens {
    /// Finds every golden (`*.golden/*.yaml`) under `paths` (files or directories) and parses
    /// each strictly; every file that does not parse is reported.
    pub fn load(paths: &[PathBuf]) -> Result<Goldens, Vec<Diagnostic>> {
        let mut files = Vec::new();
        let mut diags = Vec::new();
        for p in paths {
            if p.is_dir() {
                collect(p, in_golden_dir(p), &mut files, &mut diags);
            } else if p.is_file() {
                let parent = p.parent().unwrap_or(Path::new(""));
                let beside = p.file_stem().map(|stem| {
                    let mut name = stem.to_os_string();
                    name.push(".golden");
                    parent.join(name)
                });
                if in_golden_dir(parent) {
                    files.push(p.clone());
                } else if let Some(dir) = beside.filter(|d| d.is_dir()) {
                    // A suite file: its goldens live beside it.
                    collect(&dir, true, &mut files, &mut diags);
                } else {
                    diags.push(
                        Diagnostic::error(
                            p,
                            Span::UNKNOWN,
                            "neither a golden transcript nor a suite with goldens",
                        )
                        .with_help(
                            "replay takes `<suite>.golden/<dialogue>.yaml` files, suite files \
                             with a `<suite>.golden` directory beside them, or directories",
                        ),
                    );
                }
            } else {
                diags.push(Diagnostic::error(
                    p,
                    Span::UNKNOWN,
                    "no such file or directory to replay",
                ));
            }
        }
        files.sort();
        files.dedup();
        let mut goldens = Vec::new();
        for path in files {
            match read_golden(&path) {
                Ok(g) => goldens.push(g),
                Err(d) => diags.push(d),
            }
        }
        if goldens.is_empty() && diags.is_empty() {
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            diags.push(
                Diagnostic::error(
                    names.join(", "),
                    Span::UNKNOWN,
                    "no golden transcripts to replay",
                )
                .with_help("goldens live in `<suite>.golden/<dialogue>.yaml`; record them with `agenttest run --bless`"),
            );
        }
        if diags.is_empty() {
            Ok(Goldens { goldens })
        } else {
            Err(diags)
        }
    }

    /// Gives every golden of `suite` its suite's normalize rules, and whom it answers and its
    /// identity from its dialogue (matched by slug), so replay compares messages the way the
    /// suite does and answers each dialogue from its own golden.
    pub fn attach_suite(&mut self, suite: &crate::suite::model::Suite) {
        use crate::suite::model::EndpointKind;
        for g in &mut self.goldens {
            if g.path.parent() != Some(suite.golden_dir.as_path()) {
                continue;
            }
            g.normalize = suite.normalize.clone();
            // A placeholder the golden holds is served as a text its rule normalizes back to
            // it, so a capture of that value holds under replay as it did live.
            let samples = super::sample::samples(&g.normalize);
            if !samples.is_empty() {
                for t in &mut g.turns {
                    t.agent = super::sample::fill(&t.agent, &samples);
                }
            }
            let stem = g.path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let dialogue = suite
                .dialogues
                .iter()
                .find(|d| crate::suite::model::slug(&d.name) == stem);
            let Some(d) = dialogue else { continue };
            // The model's agent id of an http dialogue is empty, which no request path can
            // carry: its golden goes by the route and the dialogue's identity instead.
            g.whom = match &d.endpoint.kind {
                EndpointKind::Http(_) => Whom::Generic,
                EndpointKind::OpenAi(_) | EndpointKind::Thinnest => {
                    Whom::Agent(d.endpoint.agent_id.clone())
                }
            };
            // What a conversation of this dialogue names itself by under `base_url: replay`.
            g.identity = Some(stem.to_string());
        }
    }

    /// What the golden that continues `said` (the conversation's earlier messages, then the
    /// new one, as [`Kept`] says) answers to its last message for `asked`, or which golden is
    /// nearest.
    pub fn answer(&self, asked: Asked<'_>, kept: Kept, said: &[&str]) -> Answer<'_> {
        // The golden of the very dialogue asking, when it names itself (a conversation under
        // `base_url: replay`): another that says the same must not answer for it.
        let own = asked.identity.and_then(|id| {
            self.goldens
                .iter()
                .filter(|g| g.identity.as_deref() == Some(id))
                .find_map(|g| Some((g, g.answering(asked, kept, said)?)))
        });
        let found = own.or_else(|| {
            self.goldens
                .iter()
                .find_map(|g| Some((g, g.answering(asked, kept, said)?)))
        });
        match found {
            Some((g, k)) => Answer::Turn {
                status: g.turns[k].status,
                agent: &g.turns[k].agent,
            },
            None => Answer::NoMatch(self.no_match(asked, said)),
        }
    }

    /// Names the golden that agrees with the most leading messages, ties broken by how close
    /// its next message is to what was said; one that agrees with every message but answers
    /// another agent (a suite replayed with another `model` or `agent_id`) says so, which is
    /// why it did not answer.
    fn no_match(&self, asked: Asked<'_>, said: &[&str]) -> String {
        let turn = said.len();
        let best = self
            .goldens
            .iter()
            .map(|g| {
                let agree = g
                    .turns
                    .iter()
                    .zip(said)
                    .take_while(|(t, s)| t.user == **s)
                    .count();
                let closeness = match (g.turns.get(agree), said.get(agree)) {
                    (Some(t), Some(s)) => similar::TextDiff::from_chars(t.user.as_str(), s).ratio(),
                    _ => 0.0,
                };
                (agree, closeness, g)
            })
            .max_by(|a, b| {
                a.0.cmp(&b.0)
                    .then(a.1.total_cmp(&b.1))
                    // Earlier paths win ties, as they do for matches.
                    .then_with(|| b.2.path.cmp(&a.2.path))
            });
        let Some((agree, _, g)) = best else {
            return format!("no golden transcript matches turn {turn} of this conversation");
        };
        // Every message said agrees with the golden's (`agree == turn`, the new one its turn
        // `turn`): then only whom it answers can keep it from answering.
        let expected = match (&g.whom, g.turns.get(agree)) {
            (Whom::Agent(id), _) if agree == turn && id != asked.agent_id => format!(
                "its messages agree, but it answers agent `{id}`, not `{}`",
                asked.agent_id
            ),
            (_, Some(t)) => format!("its turn {} is {:?}", agree + 1, t.user),
            (_, None) => match g.turns.len() {
                1 => "it ends after 1 turn".to_string(),
                n => format!("it ends after {n} turns"),
            },
        };
        format!(
            "no golden transcript matches turn {turn} of this conversation; nearest: {} ({expected})",
            g.path.display()
        )
    }
}

/// Reads one golden the way the judge does: a regular UTF-8 file within the cap, parsed by
/// [`crate::judge::golden::file::parse`] (unknown keys refused, every field required).
fn read_golden(path: &Path) -> Result<Golden, Diagnostic> {
    let file = crate::suite::load::read_source(path)?;
    let parsed = crate::judge::golden::file::parse(&file)?;
    Ok(Golden {
        path: path.to_path_buf(),
        normalize: Vec::new(),
        whom: Whom::Anyone,
        identity: None,
        turns: parsed
            .turns
            .into_iter()
            .map(|t| Turn {
                user: t.user,
                status: t.status,
                agent: t.agent,
            })
            .collect(),
    })
}

fn in_golden_dir(dir: &Path) -> bool {
    dir.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".golden"))
}

/// Golden files under `dir`: the `*.yaml` / `*.yml` regular files directly inside a `*.golden`
/// directory (not the pending `*.yaml.new`), skipping hidden entries. Links to directories are
/// not entered, so a link loop under the suites cannot make this walk forever.
fn collect(dir: &Path, golden_dir: bool, out: &mut Vec<PathBuf>, diags: &mut Vec<Diagnostic>) {
    let walked = fsutil::walk_files(dir, WalkOptions::default(), |e| {
        if e.file_type.is_dir() {
            return Visit::Descend;
        }
        let parent = e.path.parent().unwrap_or(Path::new(""));
        let in_golden = if parent == dir {
            golden_dir
        } else {
            in_golden_dir(parent)
        };
        let yaml = e.name.ends_with(".yaml") || e.name.ends_with(".yml");
        if in_golden && yaml && e.file_type.is_file() {
            Visit::Keep
        } else {
            Visit::Skip
        }
    });
    out.extend(walked.files);
    for e in walked.errors {
        diags.push(Diagnostic::error(
            &e.path,
            Span::UNKNOWN,
            format!("failed to read directory: {}", e.source),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goldens() -> Goldens {
        let turn = |user: &str, status: u16, agent: &str| Turn {
            user: user.into(),
            status,
            agent: agent.into(),
        };
        Goldens {
            goldens: vec![
                Golden {
                    path: "s.golden/a.yaml".into(),
                    turns: vec![turn("hi", 200, "hello"), turn("hours?", 200, "9 to 5")],
                    normalize: Vec::new(),
                    whom: Whom::Anyone,
                    identity: None,
                },
                Golden {
                    path: "s.golden/b.yaml".into(),
                    turns: vec![turn("hi", 200, "hey"), turn("boom", 500, "failed")],
                    normalize: Vec::new(),
                    whom: Whom::Anyone,
                    identity: None,
                },
            ],
        }
    }

    #[test]
    fn follows_the_conversation() {
        let g = goldens();
        assert!(matches!(
            g.answer(Asked::agent("ag"), Kept::Server, &["hi"]),
            Answer::Turn { agent: "hello", .. }
        ));
        assert!(matches!(
            g.answer(Asked::agent("ag"), Kept::Server, &["hi", "boom"]),
            Answer::Turn {
                status: 500,
                agent: "failed"
            }
        ));
        assert!(matches!(
            g.answer(Asked::agent("ag"), Kept::Server, &["hours?"]),
            Answer::NoMatch(_)
        ));
        assert!(matches!(
            g.answer(Asked::agent("ag"), Kept::Server, &["hi", "boom", "more"]),
            Answer::NoMatch(_)
        ));
    }

    #[test]
    fn names_the_nearest_golden() {
        let Answer::NoMatch(detail) =
            goldens().answer(Asked::agent("ag"), Kept::Server, &["hi", "hours"])
        else {
            panic!("expected no match");
        };
        assert!(detail.contains("s.golden/a.yaml"), "{detail}");
        assert!(detail.contains("its turn 2 is \"hours?\""), "{detail}");
        // A golden whose every message agrees, for another agent: that is why.
        let mut g = goldens();
        for golden in &mut g.goldens {
            golden.whom = Whom::Agent("gpt-4o-mini".into());
        }
        let Answer::NoMatch(detail) = g.answer(Asked::agent("gpt-4o"), Kept::Client, &["hi"])
        else {
            panic!("another model's goldens do not answer");
        };
        assert!(
            detail.contains("its messages agree, but it answers agent `gpt-4o-mini`, not `gpt-4o`"),
            "{detail}"
        );
        // Its last message too: the agent is still the reason, not its length.
        let Answer::NoMatch(detail) =
            g.answer(Asked::agent("gpt-4o"), Kept::Client, &["hi", "hours?"])
        else {
            panic!("another model's goldens do not answer");
        };
        assert!(
            detail.contains("but it answers agent `gpt-4o-mini`"),
            "{detail}"
        );
        assert!(!detail.contains("ends after"), "{detail}");
        // A conversation longer than any golden: where the nearest ends, in words.
        g.goldens.truncate(1);
        g.goldens[0].turns.truncate(1);
        let Answer::NoMatch(detail) =
            g.answer(Asked::agent("gpt-4o-mini"), Kept::Client, &["hi", "more"])
        else {
            panic!("no golden goes on");
        };
        assert!(detail.contains("(it ends after 1 turn)"), "{detail}");
    }

    #[test]
    fn compares_after_normalize_and_only_for_its_agent() {
        let mut g = goldens();
        g.goldens[0].turns[1].user = "Has ORD-1 shipped?".into();
        g.goldens[0].normalize = vec![crate::suite::model::NormalizeRule {
            pattern: regex::Regex::new(r"ORD-\d+").expect("regex").into(),
            replace: "<ORDER>".into(),
        }];
        g.goldens[0].whom = Whom::Agent("ag_support".into());
        assert!(matches!(
            g.answer(
                Asked::agent("ag_support"),
                Kept::Server,
                &["hi", "Has ORD-77 shipped?"]
            ),
            Answer::Turn {
                agent: "9 to 5",
                ..
            }
        ));
        // Another agent id does not match a golden recorded for ag_support.
        assert!(matches!(
            g.answer(
                Asked::agent("ag_sales"),
                Kept::Server,
                &["hi", "Has ORD-77 shipped?"]
            ),
            Answer::NoMatch(_)
        ));
    }

    #[test]
    fn an_http_golden_answers_on_the_generic_route_alone() {
        let mut g = goldens();
        g.goldens[0].whom = Whom::Generic;
        g.goldens[0].identity = Some("a-id".into());
        let generic = Asked::generic("whoever");
        assert!(matches!(
            g.answer(generic, Kept::Server, &["hi"]),
            Answer::Turn { agent: "hello", .. }
        ));
        // Another kind's request that says the same goes past it, to the next golden.
        assert!(matches!(
            g.answer(Asked::agent("ag"), Kept::Server, &["hi"]),
            Answer::Turn { agent: "hey", .. }
        ));
        // Two http goldens that say the same: one naming itself gets its own.
        g.goldens[1].whom = Whom::Generic;
        g.goldens[1].identity = Some("b-id".into());
        assert!(matches!(
            g.answer(Asked::generic("b-id"), Kept::Server, &["hi"]),
            Answer::Turn { agent: "hey", .. }
        ));
        assert!(matches!(
            g.answer(generic, Kept::Server, &["hi"]),
            Answer::Turn { agent: "hello", .. }
        ));
    }

    /// A client's history holds only the turns that got a 2xx reply: its earlier messages are
    /// the golden's 2xx turns, and its new one the next turn whatever its status (F1).
    #[test]
    fn a_clients_history_skips_the_goldens_failed_turns() {
        let turn = |user: &str, status: u16, agent: &str| Turn {
            user: user.into(),
            status,
            agent: agent.into(),
        };
        let g = Goldens {
            goldens: vec![Golden {
                path: "s.golden/e.yaml".into(),
                turns: vec![
                    turn("boom", 500, "failed"),
                    turn("hello", 200, "hi there"),
                    turn("boom", 500, "failed again"),
                    turn("bye", 200, "goodbye"),
                ],
                normalize: Vec::new(),
                whom: Whom::Agent("ag".into()),
                identity: None,
            }],
        };
        let ask = |kept, said: &[&str]| match g.answer(Asked::agent("ag"), kept, said) {
            Answer::Turn { status, agent } => format!("{status} {agent}"),
            Answer::NoMatch(_) => "none".into(),
        };
        // The error turn is still answered with its status when it is asked.
        assert_eq!(ask(Kept::Client, &["boom"]), "500 failed");
        assert_eq!(ask(Kept::Client, &["hello"]), "200 hi there");
        assert_eq!(ask(Kept::Client, &["hello", "boom"]), "500 failed again");
        assert_eq!(ask(Kept::Client, &["hello", "bye"]), "200 goodbye");
        // A 2xx turn is in the history: it cannot be skipped.
        assert_eq!(ask(Kept::Client, &["bye"]), "none");
        // A client other than agenttest's may keep a failed turn in its history: matched
        // one for one then, as a server's session is.
        assert_eq!(ask(Kept::Client, &["boom", "hello"]), "200 hi there");
        assert_eq!(
            ask(Kept::Client, &["boom", "hello", "boom", "bye"]),
            "200 goodbye"
        );
        // The server's session holds every message asked, one for one.
        assert_eq!(ask(Kept::Server, &["boom", "hello"]), "200 hi there");
        assert_eq!(ask(Kept::Server, &["hello"]), "none");
        assert_eq!(ask(Kept::Server, &["boom", "hello", "bye"]), "none");
    }

    /// An openai golden answers its model on the agent APIs; one the request names by its
    /// identity answers before another of the same model that says the same (F2).
    #[test]
    fn an_openai_golden_named_by_its_identity_answers_first() {
        let mut g = goldens();
        for (golden, id) in g.goldens.iter_mut().zip(["a-id", "b-id"]) {
            golden.whom = Whom::Agent("gpt".into());
            golden.identity = Some(id.into());
        }
        let ask = |asked| match g.answer(asked, Kept::Client, &["hi"]) {
            Answer::Turn { agent, .. } => agent.to_string(),
            Answer::NoMatch(_) => "none".into(),
        };
        assert_eq!(ask(Asked::agent("gpt").named(Some("b-id"))), "hey");
        assert_eq!(ask(Asked::agent("gpt").named(Some("a-id"))), "hello");
        // Unnamed (a client reaching `mock --replay` by URL): the first that continues.
        assert_eq!(ask(Asked::agent("gpt")), "hello");
        // Another model, or the generic route, is not answered by them.
        assert_eq!(ask(Asked::agent("other").named(Some("b-id"))), "none");
        assert_eq!(ask(Asked::generic("b-id")), "none");
    }
}
