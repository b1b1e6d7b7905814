//! A suite file's body: its name, defaults and normalize rules merged over the config's, its
//! dialogues (unique names and golden slugs, session, golden mode, repeats) and their turns
//! (messages, captures, and every `{{name}}` checked against the vars and earlier captures).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use serde_saphyr::Spanned;

use crate::diag::{did_you_mean, Diagnostic, SourceFile, Span};
use crate::suite::model::{
    slug, Capture, Dialogue, Expectation, GoldenMode, NormalizeRule, SessionMode, Suite, Turn,
};
use crate::suite::raw::{
    span_of, RawDialogue, RawGolden, RawGoldenKind, RawSession, RawSuite, RawTurn, Skip,
};
use crate::suite::template;

use super::check::Checker;
use super::endpoint::Layer;
use super::expect::Exp;
use super::ConfigState;

/// A default expectation and the file it is written in when that is not this one.
type DefaultExp = (Exp, Option<SourceFile>);

/// What a suite inherits from its config, and its own layer over it.
struct Inherited {
    layer: Layer,
    defaults: Vec<DefaultExp>,
    normalize: Vec<NormalizeRule>,
    /// The config had errors: what it would have supplied is not reported missing.
    broken: bool,
}

fn inherited(config: &ConfigState) -> Inherited {
    match config {
        ConfigState::Loaded(c) => Inherited {
            layer: c.endpoint.clone(),
            defaults: c
                .defaults
                .iter()
                .map(|e| (e.clone(), Some(c.file.clone())))
                .collect(),
            normalize: c.normalize.clone(),
            broken: false,
        },
        ConfigState::None | ConfigState::Broken => Inherited {
            layer: Layer::default(),
            defaults: Vec::new(),
            normalize: Vec::new(),
            broken: matches!(config, ConfigState::Broken),
        },
    }
}

/// Where in the dialogue list checks stand: the suite's merged layer and defaults.
struct SuiteScope<'s> {
    layer: &'s Layer,
    config_broken: bool,
    defaults: &'s [DefaultExp],
}

impl Checker<'_> {
    pub(super) fn suite(&mut self, raw: &RawSuite, config: &ConfigState) -> Option<Suite> {
        let path = self.file.path.clone();
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = match &raw.name {
            Some(n) if n.value.trim().is_empty() => {
                self.error(span_of(n), "the suite name is empty");
                stem.clone()
            }
            Some(n) => n.value.clone(),
            None => stem.clone(),
        };
        let golden_dir = path
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .join(format!("{stem}.golden"));

        let mut from_config = inherited(config);
        let own = raw
            .endpoint
            .as_ref()
            .map(|e| self.endpoint(e))
            .unwrap_or_default();
        let layer = from_config.layer.under(&own);
        let defaults = self.suite_defaults(raw, std::mem::take(&mut from_config.defaults));
        let mut normalize = from_config.normalize;
        normalize.extend(self.normalize(raw.normalize.as_deref().unwrap_or_default()));

        let scope = SuiteScope {
            layer: &layer,
            config_broken: from_config.broken,
            defaults: &defaults,
        };
        let dialogues = self.dialogues(raw.dialogues.as_ref(), &scope)?;
        Some(Suite {
            name,
            path,
            golden_dir,
            normalize,
            dialogues,
        })
    }

    /// Config's defaults, then the suite's: a key the suite names replaces the config's.
    fn suite_defaults(&mut self, raw: &RawSuite, mut defaults: Vec<DefaultExp>) -> Vec<DefaultExp> {
        if let Some(expect) = raw.defaults.as_ref().and_then(|d| d.expect.as_ref()) {
            for exp in self.expect(expect) {
                let key = exp.expectation.kind.id();
                defaults.retain(|(old, _)| old.expectation.kind.id() != key);
                defaults.push((exp, None));
            }
        }
        defaults
    }

    /// The dialogue list; `None` when there is none at all (nothing to build a suite of).
    fn dialogues(
        &mut self,
        list: Option<&Spanned<Vec<Spanned<RawDialogue>>>>,
        scope: &SuiteScope,
    ) -> Option<Vec<Dialogue>> {
        let Some(list) = list else {
            self.error(Span::new(1, 1), "the suite has no `dialogues`")
                .help = Some("add `dialogues:` with at least one dialogue".into());
            return None;
        };
        if list.value.is_empty() {
            self.error(span_of(list), "`dialogues` is empty").help =
                Some("a suite needs at least one dialogue".into());
        }
        self.unique_names(&list.value);
        Some(
            list.value
                .iter()
                .filter_map(|d| self.dialogue(&d.value, span_of(d), scope))
                .collect(),
        )
    }

    /// Names are unique, and so are their slugs (one golden file each). Compared even when a
    /// dialogue has other errors, so all show at once.
    fn unique_names(&mut self, list: &[Spanned<RawDialogue>]) {
        let mut names: HashMap<String, Span> = HashMap::new();
        let mut slugs: HashMap<String, (String, Span)> = HashMap::new();
        let named = list
            .iter()
            .filter_map(|d| d.value.name.as_ref())
            .filter(|n| !n.value.trim().is_empty());
        for n in named {
            let (name, name_span) = (n.value.as_str(), span_of(n));
            if let Some(first) = names.get(name) {
                let line = first.line;
                self.error(name_span, format!("duplicate dialogue name `{name}`"))
                    .label = Some(format!(
                    "the first dialogue with this name is at line {line}"
                ));
            } else if let Some((other, first)) = slugs.get(&slug(name)) {
                let (other, line, s) = (other.clone(), first.line, slug(name));
                let d = self.error(
                    name_span,
                    format!(
                        "dialogues `{other}` and `{name}` would share the golden file `{s}.yaml`"
                    ),
                );
                d.label = Some(format!("`{other}` is at line {line}"));
                d.help = Some("rename one of them so that their slugs differ".into());
            } else {
                names.insert(name.to_string(), name_span);
                slugs.insert(slug(name), (name.to_string(), name_span));
            }
        }
    }

    fn dialogue(&mut self, raw: &RawDialogue, span: Span, scope: &SuiteScope) -> Option<Dialogue> {
        let name = self.dialogue_name(raw, span);
        let shown = name.clone().unwrap_or_else(|| "(unnamed)".into());
        let own = raw
            .endpoint
            .as_ref()
            .map(|e| self.endpoint(e))
            .unwrap_or_default();
        let layer = scope.layer.under(&own).with_overrides(&self.opts.overrides);
        let endpoint = self.complete_endpoint(layer, span, &shown, scope.config_broken);

        let vars: BTreeMap<String, String> = raw
            .vars
            .iter()
            .flat_map(|v| v.0.iter())
            .map(|(k, v)| (k.value.clone(), v.value.clone()))
            .collect();
        let golden = raw
            .golden
            .as_ref()
            .map_or(GoldenMode::Exact, |g| self.golden(g));
        let (repeat, min_pass) = self.repeat(raw);
        let turns = self.dialogue_turns(raw, span, &shown, &vars, scope.defaults);
        Some(Dialogue {
            name: name?,
            span,
            tags: raw.tags.0.iter().map(|t| t.value.clone()).collect(),
            skip: skip_reason(raw.skip.as_ref().map(|s| &s.value)),
            vars,
            endpoint: Arc::new(endpoint?),
            session: match raw.session.as_ref().map(|s| s.value) {
                Some(RawSession::Server) => SessionMode::Server,
                Some(RawSession::Fresh) | None => SessionMode::Fresh,
            },
            golden,
            repeat,
            min_pass,
            turns,
        })
    }

    fn dialogue_name(&mut self, raw: &RawDialogue, span: Span) -> Option<String> {
        match &raw.name {
            None => {
                self.error(span, "the dialogue has no `name`").help =
                    Some("add `name:`, unique in the suite".into());
                None
            }
            Some(n) if n.value.trim().is_empty() => {
                self.error(span_of(n), "the dialogue name is empty");
                None
            }
            Some(n) => Some(n.value.clone()),
        }
    }

    fn golden(&mut self, g: &Spanned<RawGolden>) -> GoldenMode {
        match &g.value {
            RawGolden::Bool(true) => GoldenMode::Exact,
            RawGolden::Bool(false) => GoldenMode::Off,
            RawGolden::Map(m) => match (m.mode.value, &m.threshold) {
                (RawGoldenKind::Exact, None) => GoldenMode::Exact,
                (RawGoldenKind::Exact, Some(t)) => {
                    self.error(span_of(t), "`threshold` applies only to `mode: similar`");
                    GoldenMode::Exact
                }
                (RawGoldenKind::Similar, None) => GoldenMode::Similar { threshold: 0.9 },
                (RawGoldenKind::Similar, Some(t)) => {
                    if !(0.0..=1.0).contains(&t.value) {
                        self.error(span_of(t), format!("threshold {} is out of range", t.value))
                            .label = Some("a similarity between 0 and 1, e.g. 0.9".into());
                    }
                    GoldenMode::Similar {
                        threshold: t.value.clamp(0.0, 1.0),
                    }
                }
            },
        }
    }

    fn repeat(&mut self, raw: &RawDialogue) -> (u32, u32) {
        let repeat = match &raw.repeat {
            Some(r) if r.value == 0 => {
                self.error(span_of(r), "`repeat` must be at least 1");
                1
            }
            Some(r) => r.value,
            None => 1,
        };
        let min_pass = match &raw.min_pass {
            Some(m) if m.value == 0 || m.value > repeat => {
                self.error(
                    span_of(m),
                    format!("`min_pass` {} is out of range", m.value),
                )
                .label = Some(format!("between 1 and `repeat` ({repeat})"));
                repeat
            }
            Some(m) => m.value,
            None => repeat,
        };
        (repeat, min_pass)
    }

    fn dialogue_turns(
        &mut self,
        raw: &RawDialogue,
        span: Span,
        shown: &str,
        vars: &BTreeMap<String, String>,
        defaults: &[DefaultExp],
    ) -> Vec<Turn> {
        match &raw.turns {
            None => {
                self.error(span, format!("dialogue `{shown}` has no `turns`"))
                    .help = Some("add `turns:` with at least one `- user: ...`".into());
                Vec::new()
            }
            Some(t) if t.value.is_empty() => {
                self.error(span_of(t), format!("dialogue `{shown}` has no turns"))
                    .help = Some("add at least one `- user: ...`".into());
                Vec::new()
            }
            Some(t) => self.turns(&t.value, vars, defaults),
        }
    }

    fn turns(
        &mut self,
        raw: &[Spanned<RawTurn>],
        vars: &BTreeMap<String, String>,
        defaults: &[DefaultExp],
    ) -> Vec<Turn> {
        // Where each capture is first set, to tell "used too early" from "never defined".
        let mut captured_at: BTreeMap<String, usize> = BTreeMap::new();
        for (i, t) in raw.iter().enumerate() {
            for (name, _) in t.value.capture.iter().flat_map(|c| c.0.iter()) {
                captured_at.entry(name.value.clone()).or_insert(i);
            }
        }
        let mut known: BTreeSet<String> = vars.keys().cloned().collect();
        let mut turns = Vec::new();
        for (i, t) in raw.iter().enumerate() {
            let refs = Refs {
                known: &known,
                captured_at: &captured_at,
                turn: i,
            };
            let turn = self.turn(t, &refs, defaults);
            known.extend(
                t.value
                    .capture
                    .iter()
                    .flat_map(|c| c.0.iter())
                    .map(|(n, _)| n.value.clone()),
            );
            turns.push(turn);
        }
        turns
    }

    fn turn(&mut self, t: &Spanned<RawTurn>, refs: &Refs, defaults: &[DefaultExp]) -> Turn {
        let span = span_of(t);
        let user = match &t.value.user {
            Some(u) => {
                self.check_refs(refs, &u.value, span_of(u), None);
                u.value.clone()
            }
            None => {
                self.error(
                    span,
                    format!("turn {} has no `user` message", refs.turn + 1),
                );
                String::new()
            }
        };
        let expect = self.turn_expect(t, span, refs, defaults);
        let mut capture = Vec::new();
        for (name, pattern) in t.value.capture.iter().flat_map(|c| c.0.iter()) {
            if let Some(re) = self.regex(&pattern.value, span_of(pattern)) {
                capture.push(Capture {
                    name: name.value.clone(),
                    pattern: re,
                    span: span_of(name),
                });
            }
        }
        Turn {
            user,
            span,
            expect,
            capture,
        }
    }

    /// The defaults the turn does not replace, then its own, in the table's key order.
    fn turn_expect(
        &mut self,
        t: &Spanned<RawTurn>,
        span: Span,
        refs: &Refs,
        defaults: &[DefaultExp],
    ) -> Vec<Expectation> {
        let own = t
            .value
            .expect
            .as_ref()
            .map(|e| self.expect(e))
            .unwrap_or_default();
        let mut expect = Vec::new();
        for (exp, from) in defaults {
            let key = exp.expectation.kind.id();
            if own.iter().any(|o| o.expectation.kind.id() == key) {
                continue;
            }
            for (text, s) in &exp.templates {
                self.check_refs(refs, text, *s, from.as_ref());
            }
            let mut e = exp.expectation.clone();
            // A span has no file: one from agenttest.yaml would point into the suite at
            // a meaningless place, so it points at the turn that inherits it.
            if from.is_some() {
                e.span = span;
            }
            expect.push(e);
        }
        for exp in own {
            for (text, s) in &exp.templates {
                self.check_refs(refs, text, *s, None);
            }
            expect.push(exp.expectation);
        }
        expect.sort_by_key(|e| e.kind.id().order());
        expect
    }

    /// Every `{{name}}` in `text` must be a var or a capture of an earlier turn. `other` is
    /// the file the text is in when that is not this one (a default from agenttest.yaml).
    fn check_refs(&mut self, refs: &Refs, text: &str, span: Span, other: Option<&SourceFile>) {
        for r in template::references(text) {
            if refs.known.contains(&r.name) {
                continue;
            }
            let file = other.unwrap_or(self.file);
            let d = match refs.captured_at.get(&r.name) {
                Some(&at) => used_too_early(file, span, &r.name, at, refs.turn),
                None => unknown_name(file, span, &r.name, refs),
            };
            self.diags.push(d);
        }
    }
}

/// The names a turn may use, and where the others are captured.
struct Refs<'r> {
    known: &'r BTreeSet<String>,
    captured_at: &'r BTreeMap<String, usize>,
    turn: usize,
}

fn used_too_early(file: &SourceFile, span: Span, name: &str, at: usize, turn: usize) -> Diagnostic {
    let when = if at == turn {
        "in this same turn, after its reply".to_string()
    } else {
        format!("in turn {}", at + 1)
    };
    Diagnostic::at(
        file,
        span,
        format!("`{{{{{name}}}}}` is used before it is captured"),
    )
    .with_label(format!("`{name}` is captured {when}"))
    .with_help("a turn can use only vars and the captures of earlier turns")
}

fn unknown_name(file: &SourceFile, span: Span, name: &str, refs: &Refs) -> Diagnostic {
    let candidates: Vec<&str> = refs
        .known
        .iter()
        .map(String::as_str)
        .chain(refs.captured_at.keys().map(String::as_str))
        .collect();
    let d = Diagnostic::at(file, span, format!("unknown variable `{{{{{name}}}}}`"));
    match did_you_mean(name, &candidates) {
        Some(best) => d.with_help(format!("did you mean `{{{{{best}}}}}`?")),
        None => {
            d.with_help("define it under the dialogue's `vars:` or capture it in an earlier turn")
        }
    }
}

fn skip_reason(skip: Option<&Skip>) -> Option<String> {
    match skip {
        Some(Skip::Reason(r)) if r.trim().is_empty() => Some("skipped".to_string()),
        Some(Skip::Reason(r)) => Some(r.clone()),
        Some(Skip::No) | None => None,
    }
}
