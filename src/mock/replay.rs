//! Replay (SPEC §7): golden transcripts served as an agent, so a suite blessed against a live
//! agent runs offline and client code can be tested against recorded conversations.
//!
//! A conversation's user messages so far are matched against the first user messages of
//! every golden; the first golden (by path) that matches answers its next recorded agent text
//! with its recorded status. Goldens are read with the judge's own parser, so a file replay
//! serves is exactly a file the judge can compare with.
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
    /// The agent id of the dialogue the golden belongs to, when the suite is known: a request
    /// to another agent does not match it. `None` matches any agent: the suite is unknown.
    pub agent_id: Option<String>,
    /// An `http` dialogue's [`HttpSpec::replay_identity`](crate::suite::model::HttpSpec),
    /// when the suite is known. The kind names no agent, so such a golden answers requests on
    /// the generic route (`/http/{id}/chat`, where its replayed requests go) whatever id they
    /// name, and never a request of another kind that says the same; one that names this
    /// identity it answers before any other golden that continues the conversation.
    pub identity: Option<String>,
}

impl Golden {
    fn norm(&self, text: &str) -> String {
        crate::judge::golden::normalize(text, &self.normalize)
    }

    /// Whether `said` (the session's messages so far, then the new one) continues this golden.
    fn continues(&self, asked: Asked<'_>, said: &[&str]) -> bool {
        let whom = if self.identity.is_some() {
            asked.generic
        } else {
            self.agent_id.as_deref().is_none_or(|a| a == asked.agent_id)
        };
        whom && self.turns.len() >= said.len()
            && self
                .turns
                .iter()
                .zip(said)
                .all(|(t, s)| t.user == *s || self.norm(&t.user) == self.norm(s))
    }
}

/// Whom a replayed request is for: the agent id it names, and whether it came on the generic
/// route.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked<'a> {
    pub agent_id: &'a str,
    pub generic: bool,
}

impl<'a> Asked<'a> {
    /// A request on an agent API (the platform's, chat completions).
    pub fn agent(agent_id: &'a str) -> Self {
        Asked {
            agent_id,
            generic: false,
        }
    }

    /// A request on the generic route.
    pub fn generic(agent_id: &'a str) -> Self {
        Asked {
            agent_id,
            generic: true,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Turn {
    pub user: String,
    pub status: u16,
    pub agent: String,
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

    /// Gives every golden of `suite` its suite's normalize rules and its dialogue's agent id
    /// (matched by slug), so replay compares messages the way the suite does.
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
            // The model's agent id of an http dialogue is empty, which no request path can
            // carry: its golden goes by the route and the dialogue's identity instead.
            g.identity = dialogue.and_then(|d| match &d.endpoint.kind {
                EndpointKind::Http(spec) => Some(spec.replay_identity(&d.vars)),
                _ => None,
            });
            g.agent_id = dialogue
                .filter(|_| g.identity.is_none())
                .map(|d| d.endpoint.agent_id.clone());
        }
    }

    /// What the golden that continues `said` (the conversation's earlier messages, then the
    /// new one) answers to its last message for `agent_id`, or which golden is nearest.
    pub fn answer(&self, asked: Asked<'_>, said: &[&str]) -> Answer<'_> {
        let k = said.len().saturating_sub(1);
        // The golden of the very dialogue asking, when it names itself (an http dialogue of a
        // known suite): another that says the same must not answer for it.
        let own = asked.generic.then(|| {
            self.goldens
                .iter()
                .find(|g| g.identity.as_deref() == Some(asked.agent_id) && g.continues(asked, said))
        });
        match own
            .flatten()
            .or_else(|| self.goldens.iter().find(|g| g.continues(asked, said)))
        {
            Some(g) => Answer::Turn {
                status: g.turns[k].status,
                agent: &g.turns[k].agent,
            },
            None => Answer::NoMatch(self.no_match(said)),
        }
    }

    /// Names the golden that agrees with the most leading messages, ties broken by how close
    /// its next message is to what was said.
    fn no_match(&self, said: &[&str]) -> String {
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
            return format!("no golden transcript matches turn {turn} of this session");
        };
        let expected = match g.turns.get(agree) {
            Some(t) => format!("its turn {} is {:?}", agree + 1, t.user),
            None => format!("it ends after {} turns", g.turns.len()),
        };
        format!(
            "no golden transcript matches turn {turn} of this session; nearest: {} ({expected})",
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
        agent_id: None,
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
                    agent_id: None,
                    identity: None,
                },
                Golden {
                    path: "s.golden/b.yaml".into(),
                    turns: vec![turn("hi", 200, "hey"), turn("boom", 500, "failed")],
                    normalize: Vec::new(),
                    agent_id: None,
                    identity: None,
                },
            ],
        }
    }

    #[test]
    fn follows_the_conversation() {
        let g = goldens();
        assert!(matches!(
            g.answer(Asked::agent("ag"), &["hi"]),
            Answer::Turn { agent: "hello", .. }
        ));
        assert!(matches!(
            g.answer(Asked::agent("ag"), &["hi", "boom"]),
            Answer::Turn {
                status: 500,
                agent: "failed"
            }
        ));
        assert!(matches!(
            g.answer(Asked::agent("ag"), &["hours?"]),
            Answer::NoMatch(_)
        ));
        assert!(matches!(
            g.answer(Asked::agent("ag"), &["hi", "boom", "more"]),
            Answer::NoMatch(_)
        ));
    }

    #[test]
    fn names_the_nearest_golden() {
        let Answer::NoMatch(detail) = goldens().answer(Asked::agent("ag"), &["hi", "hours"]) else {
            panic!("expected no match");
        };
        assert!(detail.contains("s.golden/a.yaml"), "{detail}");
        assert!(detail.contains("its turn 2 is \"hours?\""), "{detail}");
    }

    #[test]
    fn compares_after_normalize_and_only_for_its_agent() {
        let mut g = goldens();
        g.goldens[0].turns[1].user = "Has ORD-1 shipped?".into();
        g.goldens[0].normalize = vec![crate::suite::model::NormalizeRule {
            pattern: regex::Regex::new(r"ORD-\d+").expect("regex").into(),
            replace: "<ORDER>".into(),
        }];
        g.goldens[0].agent_id = Some("ag_support".into());
        assert!(matches!(
            g.answer(Asked::agent("ag_support"), &["hi", "Has ORD-77 shipped?"]),
            Answer::Turn {
                agent: "9 to 5",
                ..
            }
        ));
        // Another agent id does not match a golden recorded for ag_support.
        assert!(matches!(
            g.answer(Asked::agent("ag_sales"), &["hi", "Has ORD-77 shipped?"]),
            Answer::NoMatch(_)
        ));
    }

    #[test]
    fn an_http_golden_answers_on_the_generic_route_alone() {
        let mut g = goldens();
        g.goldens[0].identity = Some("a-id".into());
        let generic = Asked::generic("whoever");
        assert!(matches!(
            g.answer(generic, &["hi"]),
            Answer::Turn { agent: "hello", .. }
        ));
        // Another kind's request that says the same goes past it, to the next golden.
        assert!(matches!(
            g.answer(Asked::agent("ag"), &["hi"]),
            Answer::Turn { agent: "hey", .. }
        ));
        // Two http goldens that say the same: one naming itself gets its own.
        g.goldens[1].identity = Some("b-id".into());
        assert!(matches!(
            g.answer(Asked::generic("b-id"), &["hi"]),
            Answer::Turn { agent: "hey", .. }
        ));
        assert!(matches!(
            g.answer(generic, &["hi"]),
            Answer::Turn { agent: "hello", .. }
        ));
    }
}
