//! A suite file's body: its name, defaults and normalize rules merged over the config's, its
//! dialogues (unique names and golden slugs, session, golden mode, repeats) and their turns
//! (messages, captures, and every `{{name}}` checked against the vars and earlier captures).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use serde_saphyr::Spanned;

use crate::diag::{did_you_mean, Diagnostic, SourceFile, Span};
use crate::suite::model::{
    slug, Capture, Dialogue, Endpoint, ExpectKind, Expectation, GoldenMode, MinPass, NormalizeRule,
    SessionMode, Suite, Turn,
};
use crate::suite::raw::{
    span_of, RawDialogue, RawGolden, RawGoldenKind, RawMinPass, RawSession, RawSuite, RawTurn, Skip,
};
use crate::suite::template;

use super::check::{at_part, Checker};
use super::endpoint::{Completion, Layer};
use super::expect::Exp;
use super::judge::JudgeLayer;
use super::ConfigState;

/// A default expectation and the file it is written in when that is not this one.
type DefaultExp = (Exp, Option<SourceFile>);

/// What a suite inherits from its config, and its own layer over it.
struct Inherited {
    layer: Layer,
    judge: Option<JudgeLayer>,
    defaults: Vec<DefaultExp>,
    normalize: Vec<NormalizeRule>,
    /// The config had errors: what it would have supplied is not reported missing.
    broken: bool,
}

fn inherited(config: &ConfigState) -> Inherited {
    match config {
        ConfigState::Loaded(c) => Inherited {
            layer: c.endpoint.clone(),
            judge: c.judge.clone(),
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
            judge: None,
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
    /// A `judge:` block applies (or a broken config might have given one): `judge`
    /// expectations and `golden: {mode: judge}` are allowed.
    judge: bool,
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

        let own_judge = raw.judge.as_ref().map(|j| self.judge_layer(j));
        let config_judge = from_config.judge.as_ref();
        let judge = self.judge(config_judge, own_judge.as_ref(), from_config.broken);
        let scope = SuiteScope {
            layer: &layer,
            config_broken: from_config.broken,
            defaults: &defaults,
            judge: own_judge.is_some() || config_judge.is_some() || from_config.broken,
        };
        let dialogues = self.dialogues(raw.dialogues.as_ref(), &scope)?;
        Some(Suite {
            name,
            path,
            golden_dir,
            normalize,
            dialogues,
            judge,
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
        let vars: BTreeMap<String, String> = raw
            .vars
            .iter()
            .flat_map(|v| v.0.iter())
            .map(|(k, v)| (k.value.clone(), v.value.clone()))
            .collect();
        let session = raw.session.as_ref();
        let endpoint = self.dialogue_endpoint(raw, span, &shown, &vars, scope);
        let golden = raw
            .golden
            .as_ref()
            .map_or(GoldenMode::Exact, |g| self.golden(g, scope.judge));
        let (repeat, min_pass) = self.repeat(raw);
        let alpha = raw.alpha.as_ref().map(|a| self.alpha(a));
        let turns = self.dialogue_turns(raw, span, &shown, &vars, scope);
        Some(Dialogue {
            name: name?,
            span,
            tags: raw.tags.0.iter().map(|t| t.value.clone()).collect(),
            skip: skip_reason(raw.skip.as_ref().map(|s| &s.value)),
            vars,
            endpoint: Arc::new(endpoint?),
            session: match session.map(|s| s.value) {
                Some(RawSession::Server) => SessionMode::Server,
                Some(RawSession::Fresh) | None => SessionMode::Fresh,
            },
            golden,
            repeat,
            min_pass,
            alpha,
            turns,
        })
    }

    /// The suite's layer under the dialogue's own `endpoint:`, completed for this dialogue:
    /// its session mode and the names its `http` templates may use.
    fn dialogue_endpoint(
        &mut self,
        raw: &RawDialogue,
        span: Span,
        shown: &str,
        vars: &BTreeMap<String, String>,
        scope: &SuiteScope,
    ) -> Option<Endpoint> {
        let own = raw
            .endpoint
            .as_ref()
            .map(|e| self.endpoint(e))
            .unwrap_or_default();
        let mut names: BTreeSet<String> = vars.keys().cloned().collect();
        let turns = raw.turns.iter().flat_map(|t| t.value.iter());
        for t in turns {
            let captures = t.value.capture.iter().flat_map(|c| c.0.iter());
            names.extend(captures.map(|(n, _)| n.value.clone()));
        }
        let opts = self.opts;
        let file = self.file;
        let at = Completion {
            file,
            span,
            what: format!("dialogue `{shown}`"),
            where_to_set: "set it under `endpoint:` in the dialogue, the suite or agenttest.yaml",
            overrides: &opts.overrides,
            config_broken: scope.config_broken,
            server_session: raw
                .session
                .as_ref()
                .filter(|s| s.value == RawSession::Server)
                .map(span_of),
            names: &names,
        };
        self.complete_endpoint(scope.layer.under(&own), &at)
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
            Some(n) => {
                self.golden_name_fits(&n.value, span_of(n));
                Some(n.value.clone())
            }
        }
    }

    /// The golden file is named after the dialogue; its pending `<slug>.yaml.new` must fit
    /// the 255-byte file names of common file systems, or the first failing run could not
    /// write it.
    fn golden_name_fits(&mut self, name: &str, span: Span) {
        const MAX: usize = 255;
        let file = format!("{}.yaml.new", slug(name));
        if file.len() <= MAX {
            return;
        }
        let d = self.error(span, "the dialogue name is too long for its golden file");
        d.label = Some(format!(
            "its pending golden `{}...yaml.new` would be a {}-byte file name; file systems allow {MAX}",
            &file[..20],
            file.len()
        ));
        d.help = Some(format!(
            "shorten the name to at most {} letters and digits",
            MAX - ".yaml.new".len()
        ));
    }

    fn golden(&mut self, g: &Spanned<RawGolden>, judge: bool) -> GoldenMode {
        let m = match &g.value {
            RawGolden::Bool(true) => return GoldenMode::Exact,
            RawGolden::Bool(false) => return GoldenMode::Off,
            RawGolden::Map(m) => m,
        };
        let mode = m.mode.value;
        if let Some(t) = m
            .threshold
            .as_ref()
            .filter(|_| mode != RawGoldenKind::Similar)
        {
            self.error(span_of(t), "`threshold` applies only to `mode: similar`");
        }
        if let Some(s) = m.strict.as_ref().filter(|_| mode != RawGoldenKind::Facts) {
            self.error(span_of(s), "`strict` applies only to `mode: facts`");
        }
        match mode {
            RawGoldenKind::Exact => GoldenMode::Exact,
            RawGoldenKind::Similar => match &m.threshold {
                None => GoldenMode::Similar { threshold: 0.9 },
                Some(t) => {
                    if !(0.0..=1.0).contains(&t.value) {
                        self.error(span_of(t), format!("threshold {} is out of range", t.value))
                            .label = Some("a similarity between 0 and 1, e.g. 0.9".into());
                    }
                    GoldenMode::Similar {
                        threshold: t.value.clamp(0.0, 1.0),
                    }
                }
            },
            RawGoldenKind::Facts => GoldenMode::Facts {
                strict: m.strict.as_ref().is_some_and(|s| s.value),
            },
            RawGoldenKind::Judge => {
                if !judge {
                    self.no_judge(span_of(&m.mode), "`mode: judge`");
                }
                GoldenMode::Judge
            }
        }
    }

    /// `what` needs the suite's `judge:` endpoint, and there is none.
    fn no_judge(&mut self, span: Span, what: &str) {
        let d = self.error(
            span,
            format!("{what} needs a judge, and this suite has none"),
        );
        d.help = Some(
            "add a `judge:` block (an endpoint of kind openai) to the suite or agenttest.yaml"
                .into(),
        );
    }

    fn repeat(&mut self, raw: &RawDialogue) -> (u32, MinPass) {
        let repeat = match &raw.repeat {
            Some(r) if r.value == 0 => {
                self.error(span_of(r), "`repeat` must be at least 1");
                1
            }
            Some(r) => r.value,
            None => 1,
        };
        let min_pass = match raw.min_pass.as_ref().map(|m| (m.value, span_of(m))) {
            Some((RawMinPass::Baseline, _)) => MinPass::Baseline,
            Some((RawMinPass::Count(n), span)) if n == 0 || n > u64::from(repeat) => {
                self.error(span, format!("`min_pass` {n} is out of range"))
                    .label = Some(format!("between 1 and `repeat` ({repeat}), or `baseline`"));
                MinPass::Count(repeat)
            }
            Some((RawMinPass::Count(n), _)) => MinPass::Count(u32::try_from(n).unwrap_or(repeat)),
            None => MinPass::Count(repeat),
        };
        (repeat, min_pass)
    }

    fn alpha(&mut self, a: &Spanned<f64>) -> f64 {
        if !(a.value > 0.0 && a.value < 1.0) {
            self.error(span_of(a), format!("alpha {} is out of range", a.value))
                .label = Some("a significance level between 0 and 1, e.g. 0.01".into());
        }
        a.value
    }

    fn dialogue_turns(
        &mut self,
        raw: &RawDialogue,
        span: Span,
        shown: &str,
        vars: &BTreeMap<String, String>,
        scope: &SuiteScope,
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
            Some(t) => self.turns(&t.value, vars, scope),
        }
    }

    fn turns(
        &mut self,
        raw: &[Spanned<RawTurn>],
        vars: &BTreeMap<String, String>,
        scope: &SuiteScope,
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
            let turn = self.turn(t, &refs, scope);
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

    fn turn(&mut self, t: &Spanned<RawTurn>, refs: &Refs, scope: &SuiteScope) -> Turn {
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
        let expect = self.turn_expect(t, span, refs, scope.defaults);
        for e in expect
            .iter()
            .filter(|e| matches!(e.kind, ExpectKind::Judge(_)))
        {
            if !scope.judge {
                self.no_judge(e.span, "`judge`");
            }
        }
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
            let at = |message: String| at_part(file, span, text, r.start..r.end, message);
            let d = match refs.captured_at.get(&r.name) {
                Some(&when) => used_too_early(at, &r.name, when, refs.turn),
                None => unknown_name(at, &r.name, refs),
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

fn used_too_early(
    at: impl Fn(String) -> Diagnostic,
    name: &str,
    captured: usize,
    turn: usize,
) -> Diagnostic {
    let when = if captured == turn {
        "in this same turn, after its reply".to_string()
    } else {
        format!("in turn {}", captured + 1)
    };
    at(format!("`{{{{{name}}}}}` is used before it is captured"))
        .with_label(format!("`{name}` is captured {when}"))
        .with_help("a turn can use only vars and the captures of earlier turns")
}

fn unknown_name(at: impl Fn(String) -> Diagnostic, name: &str, refs: &Refs) -> Diagnostic {
    let candidates: Vec<&str> = refs
        .known
        .iter()
        .map(String::as_str)
        .chain(refs.captured_at.keys().map(String::as_str))
        .collect();
    let d = at(format!("unknown variable `{{{{{name}}}}}`"));
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
