//! A suite file's body: its name, defaults and normalize rules merged over the config's, its
//! dialogues (unique names and golden slugs, session, golden mode, repeats, one per row of a
//! `matrix`) and their turns (messages, captures, and every `{{name}}` checked against the
//! vars, the matrix rows and earlier captures).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use crate::diag::{did_you_mean, Diagnostic, SourceFile, Span};
use crate::suite::model::{
    slug, BaseUrl, Capture, Dialogue, Endpoint, ExpectKind, Expectation, GoldenMode, MinPass,
    NormalizeRule, SessionMode, Suite, Turn,
};
use crate::suite::raw::{
    span_of, RawDefaults, RawDialogue, RawEndpoint, RawGolden, RawGoldenKind, RawKind, RawMinPass,
    RawNormalize, RawSession, RawSuite, RawTurn, Skip, Spanned,
};
use crate::suite::template;

use super::check::{at_part, Checker};
use super::endpoint::{Completion, Layer};
use super::expect::Exp;
use super::judge::JudgeLayer;
use super::kind::{field_applies, foreign_fields, inherited_kind, kind_fields};
use super::matrix::{Matrix, Row};
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

/// What every dialogue of a suite is checked against: the suite's merged layer, defaults
/// and judge.
struct SuiteScope {
    layer: Layer,
    config_broken: bool,
    defaults: Vec<DefaultExp>,
    /// A `judge:` block applies (or a broken config might have given one): `judge`
    /// expectations and `golden: {mode: judge}` are allowed.
    judge: bool,
    /// The judge endpoint, merged and completed.
    judge_endpoint: Option<Arc<Endpoint>>,
}

/// The checks of a suite file, in the order they report whatever the order of its keys: a
/// file read as it is parsed meets its keys in file order, and a file read whole checks them
/// in this order. Each phase keeps its diagnostics apart until [`Checker::suite_finish`], so
/// that both give the same output (the final sort keeps this order among equal places).
#[derive(Clone, Copy)]
enum Phase {
    Name,
    Endpoint,
    Defaults,
    Normalize,
    Judge,
    List,
    Plans,
    Unique,
    Dialogues,
}

const PHASES: usize = Phase::Dialogues as usize + 1;

/// A suite being checked: its head first (what every dialogue needs), then its dialogues one
/// at a time, so that a file read as it is parsed never holds more than one dialogue as
/// written.
pub(super) struct SuiteBuild {
    from_config: Inherited,
    /// `name:` when written (its error, if any, recorded).
    name: Option<String>,
    normalize: Vec<NormalizeRule>,
    scope: Option<SuiteScope>,
    /// Every name so far with where it is, and every golden slug with the first name that
    /// has it: to find the dialogues that share one.
    names: HashMap<String, Place>,
    slugs: HashMap<String, String>,
    /// How many dialogues are written (whatever their errors).
    written: usize,
    dialogues: Vec<Dialogue>,
    /// The endpoint of the last dialogue: most dialogues share theirs, and then share it.
    last_endpoint: Option<Arc<Endpoint>>,
    /// The kind-specific fields of the suite's `endpoint:` when it sets no `kind`, and
    /// whether some dialogue's kind uses each: one that none uses is an error at the end.
    unkinded: Vec<(&'static str, Span, bool)>,
    /// Dialogues whose kind is their own (`kind:` in their `endpoint:`).
    own_kinds: usize,
    phases: [Vec<Diagnostic>; PHASES],
}

impl SuiteBuild {
    pub(super) fn new(config: &ConfigState) -> Self {
        let mut from_config = inherited(config);
        SuiteBuild {
            normalize: std::mem::take(&mut from_config.normalize),
            from_config,
            name: None,
            scope: None,
            names: HashMap::new(),
            slugs: HashMap::new(),
            written: 0,
            dialogues: Vec::new(),
            last_endpoint: None,
            unkinded: Vec::new(),
            own_kinds: 0,
            phases: Default::default(),
        }
    }

    /// The head is checked: dialogues may come.
    pub(super) fn has_head(&self) -> bool {
        self.scope.is_some()
    }
}

impl Checker<'_> {
    /// A whole parsed suite file, checked; see [`SuiteBuild`].
    pub(super) fn suite(&mut self, raw: &RawSuite, config: &ConfigState) -> Option<Suite> {
        let mut b = SuiteBuild::new(config);
        self.suite_name(&mut b, raw.name.as_ref());
        self.suite_head(
            &mut b,
            raw.endpoint.as_ref(),
            raw.defaults.as_ref(),
            raw.judge.as_ref(),
        );
        self.suite_normalize(&mut b, raw.normalize.as_deref());
        for d in raw.dialogues.iter().flat_map(|list| list.value.iter()) {
            self.suite_dialogue(&mut b, &d.value, span_of(d));
        }
        self.suite_finish(b, raw.dialogues.as_ref().map(span_of))
    }

    /// Runs `check`, keeping what it reports under `phase`.
    fn in_phase<R>(
        &mut self,
        b: &mut SuiteBuild,
        phase: Phase,
        check: impl FnOnce(&mut Self, &mut SuiteBuild) -> R,
    ) -> R {
        let mark = self.diags.len();
        let out = check(self, b);
        b.phases[phase as usize].extend(self.diags.drain(mark..));
        out
    }

    /// `name:`, when written.
    pub(super) fn suite_name(&mut self, b: &mut SuiteBuild, raw: Option<&Spanned<String>>) {
        self.in_phase(b, Phase::Name, |ck, b| {
            b.name = match raw {
                Some(n) if n.value.trim().is_empty() => {
                    ck.error(span_of(n), "the suite name is empty");
                    None
                }
                Some(n) => Some(n.value.clone()),
                None => None,
            };
        });
    }

    /// `normalize:`, after the config's rules.
    pub(super) fn suite_normalize(&mut self, b: &mut SuiteBuild, raw: Option<&[RawNormalize]>) {
        self.in_phase(b, Phase::Normalize, |ck, b| {
            let own = ck.normalize(raw.unwrap_or_default());
            b.normalize.extend(own);
        });
    }

    /// What every dialogue is checked against: the suite's `endpoint:` over the config's,
    /// the defaults, and the judge.
    pub(super) fn suite_head(
        &mut self,
        b: &mut SuiteBuild,
        endpoint: Option<&RawEndpoint>,
        defaults: Option<&RawDefaults>,
        judge: Option<&Spanned<RawEndpoint>>,
    ) {
        let layer = self.in_phase(b, Phase::Endpoint, |ck, b| {
            let own = endpoint.map(|e| ck.endpoint(e)).unwrap_or_default();
            if let Some(e) = endpoint.filter(|e| e.kind.is_none()) {
                b.unkinded = kind_fields(e)
                    .into_iter()
                    .map(|(f, s)| (f, s, false))
                    .collect();
            }
            b.from_config.layer.under(&own)
        });
        let defaults = self.in_phase(b, Phase::Defaults, |ck, b| {
            let inherited = std::mem::take(&mut b.from_config.defaults);
            ck.suite_defaults(defaults, inherited)
        });
        let (judge, judge_endpoint) = self.in_phase(b, Phase::Judge, |ck, b| {
            let own_judge = judge.map(|j| ck.judge_layer(j));
            let config_judge = b.from_config.judge.as_ref();
            let broken = b.from_config.broken;
            let endpoint = ck.judge(config_judge, own_judge.as_ref(), broken);
            let allowed = own_judge.is_some() || config_judge.is_some() || broken;
            (allowed, endpoint)
        });
        b.scope = Some(SuiteScope {
            layer,
            config_broken: b.from_config.broken,
            defaults,
            judge,
            judge_endpoint,
        });
    }

    /// Config's defaults, then the suite's: a key the suite names replaces the config's.
    fn suite_defaults(
        &mut self,
        raw: Option<&RawDefaults>,
        mut defaults: Vec<DefaultExp>,
    ) -> Vec<DefaultExp> {
        if let Some(expect) = raw.and_then(|d| d.expect.as_ref()) {
            for exp in self.expect(expect) {
                let key = exp.expectation.kind.id();
                defaults.retain(|(old, _)| old.expectation.kind.id() != key);
                defaults.push((exp, None));
            }
        }
        defaults
    }

    /// One dialogue of the list, checked whole: its name and rows, their uniqueness among
    /// those before it, then the rest of it. Needs the head ([`Checker::suite_head`]).
    pub(super) fn suite_dialogue(&mut self, b: &mut SuiteBuild, raw: &RawDialogue, span: Span) {
        b.written += 1;
        let plan = self.in_phase(b, Phase::Plans, |ck, _| ck.plan(raw, span));
        self.in_phase(b, Phase::Unique, |ck, b| ck.unique_names(b, &plan));
        let dialogues = self.in_phase(b, Phase::Dialogues, |ck, b| {
            let scope = b.scope.as_ref()?;
            let shared = b.last_endpoint.as_ref();
            Some(ck.dialogue(&plan, scope, shared))
        });
        if let Some(scope) = &b.scope {
            let own = raw.endpoint.as_ref().and_then(|e| e.kind.as_ref());
            b.own_kinds += usize::from(own.is_some());
            let kind = own.map(|k| k.value).or(scope.layer.kind());
            let kind = kind.unwrap_or(RawKind::Thinnest);
            for (field, _, used) in &mut b.unkinded {
                *used |= field_applies(field, kind);
            }
        }
        for d in dialogues.into_iter().flatten() {
            b.last_endpoint = Some(d.endpoint.clone());
            b.dialogues.push(d);
        }
    }

    /// The suite, once every key is read: `list` is where `dialogues:` is, when it is
    /// written (and not empty of value). `None` when there is no list at all.
    pub(super) fn suite_finish(&mut self, mut b: SuiteBuild, list: Option<Span>) -> Option<Suite> {
        self.in_phase(&mut b, Phase::Endpoint, Self::unused_suite_fields);
        let listed = self.in_phase(&mut b, Phase::List, |ck, b| match list {
            None => {
                // A team whose files are `*.yml` names its config `agenttest.yml` too: say
                // why it was read as a suite, not only that it is a poor one.
                let config_misnamed =
                    ck.file.path.file_name() == Some(std::ffi::OsStr::new("agenttest.yml"));
                ck.error(Span::new(1, 1), "the suite has no `dialogues`")
                    .help = Some(if config_misnamed {
                    format!(
                        "the shared config is read only from a file named `{}`: rename \
                             this one, which is read as a suite",
                        crate::suite::discover::CONFIG_FILE
                    )
                } else {
                    "add `dialogues:` with at least one dialogue".into()
                });
                false
            }
            Some(span) => {
                if b.written == 0 {
                    ck.error(span, "`dialogues` is empty").help =
                        Some("a suite needs at least one dialogue".into());
                }
                true
            }
        });
        let SuiteBuild {
            name,
            normalize,
            scope,
            mut dialogues,
            phases,
            ..
        } = b;
        self.diags.extend(phases.into_iter().flatten());
        if !listed {
            return None;
        }
        let path = self.file.path.clone();
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let golden_dir = path
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .join(format!("{stem}.golden"));
        dialogues.shrink_to_fit();
        Some(Suite {
            name: name.unwrap_or(stem),
            path,
            golden_dir,
            normalize,
            dialogues,
            judge: scope.and_then(|s| s.judge_endpoint),
        })
    }

    /// A field of the suite's `endpoint:` (which sets no `kind`) that no dialogue's kind
    /// uses: it was meant for another kind, and would be silently ignored.
    fn unused_suite_fields(&mut self, b: &mut SuiteBuild) {
        // A broken config may have said the kind that would use them.
        if b.written == 0 || self.repaired || b.from_config.broken {
            return;
        }
        let (kind, from) = inherited_kind(b.scope.as_ref().and_then(|s| s.layer.kind()));
        for &(field, span, used) in &b.unkinded {
            if used {
                continue;
            }
            if b.own_kinds == 0 {
                self.foreign_field(field, span, kind, from);
            } else {
                let d = self.error(span, format!("no dialogue of this suite uses `{field}`"));
                d.label = Some("every dialogue's kind ignores it".into());
                d.help = Some(format!(
                    "remove `{field}`, or give it to the dialogues of a kind that takes it"
                ));
            }
        }
    }

    /// A dialogue's name and rows, checked before anything else so that every name it
    /// expands to can be compared with every other.
    fn plan<'r>(&mut self, raw: &'r RawDialogue, span: Span) -> Plan<'r> {
        let name = self.dialogue_name(raw, span);
        let matrix = self.matrix(raw);
        let plan = Plan {
            raw,
            span,
            name,
            matrix,
        };
        if plan.keeps_golden() {
            for named in plan.names() {
                self.golden_name_fits(&named);
            }
        }
        plan
    }

    /// Names are unique, and so are the slugs of the dialogues that keep a golden (one golden
    /// file each; a `golden: false` dialogue has none to share); a matrix row's name is its
    /// expanded one, at the row. Compared even when a dialogue has other errors, so all show
    /// at once: each dialogue's names with those of every dialogue before it.
    fn unique_names(&mut self, b: &mut SuiteBuild, plan: &Plan) {
        let keeps_golden = plan.keeps_golden();
        for n in plan.names() {
            let name = n.name.as_str();
            let s = slug(name);
            if let Some(first) = b.names.get(name) {
                let label = format!(
                    "the first dialogue with this name is {}",
                    first.seen_from(&n.place, &self.file.path)
                );
                let d = self.at_named(&n, format!("duplicate dialogue name `{name}`"));
                self.diags.push(d.with_label(label));
            } else if let Some((other, first)) = b
                .slugs
                .get(&s)
                .filter(|_| keeps_golden)
                .and_then(|other| Some((other, b.names.get(other)?)))
            {
                let message = format!(
                    "dialogues `{other}` and `{name}` would share the golden file `{s}.yaml`"
                );
                let place = first.seen_from(&n.place, &self.file.path);
                let d = self
                    .at_named(&n, message)
                    .with_label(format!("`{other}` is {place}"))
                    .with_help("rename one of them so that their slugs differ");
                self.diags.push(d);
            } else {
                if keeps_golden {
                    b.slugs.insert(s, n.name.clone());
                }
                b.names.insert(n.name, n.place);
            }
        }
    }

    /// A diagnostic at `n`'s place, in its file.
    fn at_named(&self, n: &Named, message: String) -> Diagnostic {
        let n = &n.place;
        let d = Diagnostic::at(n.file.as_ref().unwrap_or(self.file), n.span, message);
        match n.width {
            Some(w) => d.with_width(w),
            None => d,
        }
    }

    /// The dialogue as written, checked once; then one copy per matrix row, with the row's
    /// name, place and vars. Empty when it has errors. Its endpoint is `shared` when that is
    /// the same.
    fn dialogue(
        &mut self,
        plan: &Plan,
        scope: &SuiteScope,
        shared: Option<&Arc<Endpoint>>,
    ) -> Vec<Dialogue> {
        let (raw, span) = (plan.raw, plan.span);
        let shown = plan.name.clone().unwrap_or_else(|| "(unnamed)".into());
        // A var a `{{name}}` cannot refer to would leave that reference as literal text in
        // every message: refused, as a matrix key is.
        for (k, _) in raw.vars.iter().flat_map(|v| v.0.iter()) {
            self.var_name(None, &k.value, span_of(k), None);
        }
        let vars: BTreeMap<String, String> = raw
            .vars
            .iter()
            .flat_map(|v| v.0.iter())
            .map(|(k, v)| (k.value.clone(), v.value.clone()))
            .collect();
        let session = raw.session.as_ref();
        let matrix = plan.matrix.as_ref();
        let endpoint = self.dialogue_endpoint(raw, span, &shown, &vars, matrix, scope);
        let golden = raw
            .golden
            .as_ref()
            .map_or(GoldenMode::Exact, |g| self.golden(g, scope.judge));
        let (repeat, min_pass) = self.repeat(raw);
        if let (Some(m), GoldenMode::Off) = (&raw.min_pass, golden) {
            if matches!(m.value, RawMinPass::Baseline) {
                let d = self.error(
                    span_of(m),
                    "`min_pass: baseline` needs the dialogue's golden file",
                );
                d.label = Some("with `golden: false` no baseline is ever recorded".into());
                d.help = Some("remove `golden: false`, or give `min_pass` a count".into());
            }
        }
        let alpha = raw.alpha.as_ref().map(|a| self.alpha(a));
        let turns = self.dialogue_turns(raw, span, &shown, &vars, matrix, scope);
        let (Some(name), Some(endpoint)) = (plan.name.clone(), endpoint) else {
            return Vec::new();
        };
        // Replay answers from goldens: a dialogue that keeps none has nothing to be answered
        // with, and is skipped, saying so, rather than erroring on its first turn.
        let unreplayable = (endpoint.base_url == BaseUrl::Replay && golden == GoldenMode::Off)
            .then(|| "no golden to replay (`golden: false` under `base_url: replay`)".to_string());
        let written = Dialogue {
            name,
            span,
            row: None,
            tags: raw.tags.as_ref().map_or_else(Vec::new, |t| {
                self.as_written(t).into_iter().map(|(t, _)| t).collect()
            }),
            skip: skip_reason(raw.skip.as_ref().map(|s| &s.value)).or(unreplayable),
            vars,
            endpoint: match shared {
                Some(s) if s.same_as(&endpoint) => s.clone(),
                _ => Arc::new(endpoint),
            },
            session: match session.map(|s| s.value) {
                Some(RawSession::Server) => SessionMode::Server,
                Some(RawSession::Fresh) | None => SessionMode::Fresh,
            },
            golden,
            repeat,
            min_pass,
            alpha,
            turns,
        };
        match matrix {
            None => vec![written],
            Some(m) => (1..)
                .zip(&m.rows)
                .map(|(i, row)| of_row(&written, row, i))
                .collect(),
        }
    }

    /// The suite's layer under the dialogue's own `endpoint:`, completed for this dialogue:
    /// its session mode and the names its `http` templates may use.
    fn dialogue_endpoint(
        &mut self,
        raw: &RawDialogue,
        span: Span,
        shown: &str,
        vars: &BTreeMap<String, String>,
        matrix: Option<&Matrix>,
        scope: &SuiteScope,
    ) -> Option<Endpoint> {
        let mut own = raw
            .endpoint
            .as_ref()
            .map(|e| self.endpoint(e))
            .unwrap_or_default();
        // Fields the inherited kind would ignore; beside their own `kind:` they were checked
        // with the mapping. A broken config may have said the kind that uses them.
        let unkinded = raw.endpoint.as_ref().filter(|e| e.kind.is_none());
        if let Some(e) = unkinded.filter(|_| !scope.config_broken) {
            let (kind, from) = inherited_kind(scope.layer.kind());
            for (field, span) in foreign_fields(e, kind) {
                self.foreign_field(field, span, kind, from);
                own.mark_broken();
            }
        }
        // The endpoint is one for every row: it may use the vars that every row has.
        let mut names: BTreeSet<String> = vars.keys().cloned().collect();
        names.extend(matrix.map(Matrix::common_keys).unwrap_or_default());
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
            Some(n) => Some(n.value.clone()),
        }
    }

    /// The golden file is named after the dialogue; its pending `<slug>.yaml.new` must fit
    /// the 255-byte file names of common file systems, or the first failing run could not
    /// write it.
    fn golden_name_fits(&mut self, n: &Named) {
        const MAX: usize = 255;
        let slug = slug(&n.name);
        if slug.len() + ".yaml.new".len() <= MAX {
            return;
        }
        let file = format!("{slug}.yaml.new");
        let d = self
            .at_named(n, "the dialogue name is too long for its golden file".into())
            .with_label(format!(
                "its pending golden `{}...yaml.new` would be a {}-byte file name; file systems allow {MAX}",
                &file[..20],
                file.len()
            ))
            .with_help(format!(
                "shorten the name to at most {} letters and digits",
                MAX - ".yaml.new".len()
            ));
        self.diags.push(d);
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
        matrix: Option<&Matrix>,
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
            Some(t) => self.turns(&t.value, vars, matrix, scope),
        }
    }

    fn turns(
        &mut self,
        raw: &[Spanned<RawTurn>],
        vars: &BTreeMap<String, String>,
        matrix: Option<&Matrix>,
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
        let mut turns = Vec::with_capacity(raw.len());
        for (i, t) in raw.iter().enumerate() {
            let refs = Refs {
                known: &known,
                captured_at: &captured_at,
                matrix,
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
        let expect = self.turn_expect(t, span, refs, scope);
        let mut capture = Vec::new();
        for (name, pattern) in t.value.capture.iter().flat_map(|c| c.0.iter()) {
            self.var_name(None, &name.value, span_of(name), None);
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
            expect: expect.into_boxed_slice(),
            capture: capture.into_boxed_slice(),
        }
    }

    /// The defaults the turn does not replace, then its own, in the table's key order. A
    /// `judge` key where the suite has no judge is refused at the key, or at the turn when it
    /// is inherited from agenttest.yaml (by then each rubric of a list is an expectation of its
    /// own, at its item).
    fn turn_expect(
        &mut self,
        t: &Spanned<RawTurn>,
        span: Span,
        refs: &Refs,
        scope: &SuiteScope,
    ) -> Vec<Expectation> {
        let own = t
            .value
            .expect
            .as_ref()
            .map(|e| self.expect(e))
            .unwrap_or_default();
        let mut expect = Vec::new();
        let mut judge_at = None;
        for (exp, from) in &scope.defaults {
            let key = exp.expectation.kind.id();
            if own.iter().any(|o| o.expectation.kind.id() == key) {
                continue;
            }
            for (text, s) in &exp.templates {
                self.check_refs(refs, text, *s, from.as_ref());
            }
            // A span has no file: one from agenttest.yaml would point into the suite at
            // a meaningless place, so it points at the turn that inherits it.
            let inherited = from.is_some();
            let at = |e: &Expectation| if inherited { span } else { e.span };
            if matches!(*exp.expectation.kind, ExpectKind::Judge(_)) {
                judge_at = Some(at(&exp.expectation));
            }
            expect.extend(exp.checks().iter().map(|e| Expectation {
                kind: e.kind.clone(),
                span: at(e),
            }));
        }
        for exp in own {
            for (text, s) in &exp.templates {
                self.check_refs(refs, text, *s, None);
            }
            if matches!(*exp.expectation.kind, ExpectKind::Judge(_)) {
                judge_at = Some(exp.expectation.span);
            }
            expect.extend_from_slice(exp.checks());
        }
        if let Some(at) = judge_at.filter(|_| !scope.judge) {
            self.no_judge(at, "`judge`");
        }
        expect.sort_by_key(|e| e.kind.id().order());
        expect
    }

    /// Every `{{name}}` in `text` must be a var, a var of every matrix row, or a capture of
    /// an earlier turn. `other` is the file the text is in when that is not this one (a
    /// default from agenttest.yaml).
    fn check_refs(&mut self, refs: &Refs, text: &str, span: Span, other: Option<&SourceFile>) {
        let file = other.unwrap_or(self.file);
        self.diags
            .extend(super::check::unclosed_refs(file, span, text));
        for r in template::references(text) {
            if refs.known.contains(&r.name) {
                continue;
            }
            let rows = refs.matrix.map_or(&[][..], |m| &m.rows[..]);
            let lacking: Vec<&Row> = rows.iter().filter(|row| !row.has(&r.name)).collect();
            if !rows.is_empty() && lacking.is_empty() {
                continue;
            }
            let at = |message: String| at_part(file, span, text, r.start..r.end, message);
            let broken = refs.matrix.is_some_and(|m| m.broken);
            if let Some(&when) = refs.captured_at.get(&r.name) {
                self.diags
                    .push(used_too_early(at, &r.name, when, refs.turn));
            } else if lacking.len() < rows.len() {
                // Some rows have it: the others are wrong, unless their errors explain it.
                if !broken {
                    let used = match other {
                        None => format!("line {}", span.line),
                        Some(f) => crate::diag::location(&f.path, span),
                    };
                    for row in lacking {
                        self.diags.push(self.row_lacks(row, &r.name, &used));
                    }
                }
            } else if !(broken && rows.is_empty()) {
                self.diags.push(unknown_name(at, &r.name, refs));
            }
        }
    }

    /// A matrix row has no value for a `{{name}}` the dialogue uses.
    fn row_lacks(&self, row: &Row, name: &str, used: &str) -> Diagnostic {
        let file = row.file.as_ref().unwrap_or(self.file);
        let d = Diagnostic::at(file, row.span, format!("this matrix row has no `{name}`"));
        let d = match row.width {
            Some(w) => d.with_width(w),
            None => d,
        };
        d.with_label(format!("`{{{{{name}}}}}` is used at {used}"))
            .with_help(format!(
                "add `{name}` to this row, or to the dialogue's `vars:` as every row's default"
            ))
    }
}

/// A dialogue's name and matrix, before the rest of it is checked.
struct Plan<'r> {
    raw: &'r RawDialogue,
    /// Where the dialogue is.
    span: Span,
    /// As written; `None` when missing or empty (its error is recorded).
    name: Option<String>,
    matrix: Option<Matrix>,
}

impl Plan<'_> {
    /// The dialogue has a golden file (`golden:` is not `false`), and with it a file name.
    fn keeps_golden(&self) -> bool {
        let golden = self.raw.golden.as_ref().map(|g| &g.value);
        !matches!(golden, Some(RawGolden::Bool(false)))
    }

    /// Each name the dialogue becomes, with where to point about it: its `name:`, or each
    /// row of its matrix.
    fn names(&self) -> Vec<Named> {
        let Some(base) = &self.name else {
            return Vec::new();
        };
        match &self.matrix {
            None => {
                let span = self.raw.name.as_ref().map_or(self.span, span_of);
                vec![Named {
                    name: base.clone(),
                    place: Place {
                        file: None,
                        span,
                        width: None,
                    },
                }]
            }
            Some(m) => m
                .rows
                .iter()
                .map(|row| Named {
                    name: row.name(base),
                    place: Place {
                        file: row.file.clone(),
                        span: row.span,
                        width: row.width,
                    },
                })
                .collect(),
        }
    }
}

/// A dialogue name and its place.
struct Named {
    name: String,
    place: Place,
}

/// Where a dialogue name is: in the suite, or (a CSV row) in `file`.
struct Place {
    file: Option<SourceFile>,
    span: Span,
    width: Option<usize>,
}

impl Place {
    /// Where this is, said from where `from` is: "at line 3", or with its file when that is
    /// another (`suite` is the suite file's path).
    fn seen_from(&self, from: &Place, suite: &Path) -> String {
        let path = |p: &Place| p.file.as_ref().map_or(suite, |f| &f.path).to_path_buf();
        if path(self) == path(from) {
            format!("at line {}", self.span.line)
        } else {
            format!("at {}", crate::diag::location(&path(self), self.span))
        }
    }
}

/// The dialogue of one matrix row: the written one under the row's name and place, with the
/// row's vars over the dialogue's `vars` (the row wins).
fn of_row(written: &Dialogue, row: &Row, index: u32) -> Dialogue {
    let mut d = written.clone();
    d.name = row.name(&written.name);
    d.span = row.model_span;
    d.row = Some(index);
    d.vars.extend(row.vars.iter().cloned());
    d
}

/// The names a turn may use, and where the others are captured.
struct Refs<'r> {
    known: &'r BTreeSet<String>,
    captured_at: &'r BTreeMap<String, usize>,
    /// The dialogue's rows: a name every row has is a var.
    matrix: Option<&'r Matrix>,
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
    let row_keys = refs.matrix.map(Matrix::all_keys).unwrap_or_default();
    let candidates: Vec<&str> = refs
        .known
        .iter()
        .map(String::as_str)
        .chain(refs.captured_at.keys().map(String::as_str))
        .chain(row_keys.iter().map(String::as_str))
        .collect();
    let d = at(format!("unknown variable `{{{{{name}}}}}`"));
    match did_you_mean(name, &candidates) {
        Some(best) => d.with_help(format!("did you mean `{{{{{best}}}}}`?")),
        None if refs.matrix.is_some() => d.with_help(
            "define it in every row of the matrix, under the dialogue's `vars:`, or capture it in an earlier turn",
        ),
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
