//! Reading suite files and `agenttest.yaml` into the checked model.
//!
//! Every file is read and checked completely before anything is sent: YAML syntax and types
//! (through `crate::yaml`), then meaning (regexes, ranges, names, `{{var}}` references, env
//! vars, endpoint completeness). One file's YAML error stops that file only; a semantic error
//! does not stop the checks after it, so a user fixes a whole file in one round. Files are
//! checked in parallel but results come back in sorted path order, so output is deterministic.
//!
//! This module never reads the process environment (the lookup is injected) and never touches
//! the network.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rayon::prelude::*;
use regex::Regex;
use secrecy::SecretString;
use serde_saphyr::Spanned;

use crate::diag::{did_you_mean, Diagnostic, SourceFile, Span};
use crate::suite::discover::{self, find_config};
use crate::suite::model::{
    slug, BaseUrl, Capture, Dialogue, Endpoint, EndpointKind, ExpectKind, Expectation, GoldenMode,
    Header, HeaderValue, NormalizeRule, Pattern, SessionMode, Suite, Turn,
};
use crate::suite::raw::{
    items, span_of, RawConfig, RawDialogue, RawEndpoint, RawExpect, RawGolden, RawGoldenKind,
    RawNormalize, RawSession, RawSuite, RawTurn, Skip,
};
use crate::suite::template;
use crate::util::{parse_duration, parse_rate};

/// Looks up an environment variable. Injected so that nothing below the CLI reads the
/// process environment and tests can supply their own.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Values that beat the files (flags, then `AGENTTEST_*` env vars, resolved by the CLI).
#[derive(Debug, Clone, Default)]
pub struct EndpointOverrides {
    pub base_url: Option<BaseUrl>,
    pub agent_id: Option<String>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub rate_limit: Option<f64>,
}

#[derive(Clone)]
pub struct LoadOptions {
    pub env: EnvLookup,
    pub overrides: EndpointOverrides,
}

impl LoadOptions {
    /// Options with the given variables as the whole environment and no overrides: for tests
    /// and for callers that resolve the environment themselves.
    pub fn with_env(vars: BTreeMap<String, String>) -> Self {
        LoadOptions {
            env: Arc::new(move |name| vars.get(name).cloned()),
            overrides: EndpointOverrides::default(),
        }
    }
}

/// Every suite found under the paths, in sorted path order, plus warnings.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub suites: Vec<Suite>,
    pub warnings: Vec<Diagnostic>,
}

/// Discovers, reads and checks every suite under `paths`. All errors of all files at once:
/// first the paths that could not be found, then each file's errors in sorted path order
/// (a shared `agenttest.yaml` reported once, in its own place in that order).
pub fn load_paths(paths: &[PathBuf], opts: &LoadOptions) -> Result<Loaded, Vec<Diagnostic>> {
    let (files, mut errors) = discover::discover_all(paths);

    // Each distinct config is loaded once, however many suites share it.
    let config_of: Vec<Option<(PathBuf, PathBuf)>> = files
        .par_iter()
        .map(|f| {
            find_config(f).map(|shown| {
                let canon = std::fs::canonicalize(&shown).unwrap_or_else(|_| shown.clone());
                (canon, shown)
            })
        })
        .collect();
    let mut distinct: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for (canon, shown) in config_of.iter().flatten() {
        distinct
            .entry(canon.clone())
            .or_insert_with(|| shown.clone());
    }
    let distinct: Vec<(PathBuf, PathBuf)> = distinct.into_iter().collect();
    type ConfigResult = (PathBuf, PathBuf, Result<Arc<Config>, Vec<Diagnostic>>);
    let loaded_configs: Vec<ConfigResult> = distinct
        .into_par_iter()
        .map(|(canon, shown)| {
            let result = load_config(&shown, opts);
            (canon, shown, result)
        })
        .collect();

    let mut groups: Vec<(PathBuf, Vec<Diagnostic>)> = Vec::new();
    let mut configs: HashMap<PathBuf, ConfigState> = HashMap::new();
    for (canon, shown, result) in loaded_configs {
        match result {
            Ok(config) => {
                configs.insert(canon, ConfigState::Loaded(config));
            }
            Err(diags) => {
                configs.insert(canon, ConfigState::Broken);
                groups.push((shown, diags));
            }
        }
    }

    let results: Vec<(PathBuf, Option<Suite>, Vec<Diagnostic>)> = files
        .par_iter()
        .zip(config_of.par_iter())
        .map(|(path, config)| {
            let state = match config {
                Some((canon, _)) => configs.get(canon).cloned().unwrap_or(ConfigState::Broken),
                None => ConfigState::None,
            };
            let (suite, diags) = load_suite(path, &state, opts);
            (path.clone(), suite, diags)
        })
        .collect();

    let mut suites = Vec::new();
    for (path, suite, diags) in results {
        if !diags.is_empty() {
            groups.push((path, diags));
        }
        suites.extend(suite);
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    errors.extend(groups.into_iter().flat_map(|(_, d)| d));
    errors.extend(shared_goldens(&suites));
    if errors.is_empty() {
        Ok(Loaded {
            suites,
            warnings: Vec::new(),
        })
    } else {
        Err(errors)
    }
}

/// `x.yaml` and `x.yml` beside each other share `x.golden/`: two dialogues of theirs with one
/// slug would overwrite each other's golden on every bless. Reported on the later suite.
fn shared_goldens(suites: &[Suite]) -> Vec<Diagnostic> {
    let mut owner: HashMap<PathBuf, (PathBuf, Span)> = HashMap::new();
    let mut out = Vec::new();
    for suite in suites {
        for d in &suite.dialogues {
            let golden = suite.golden_dir.join(format!("{}.yaml", slug(&d.name)));
            match owner.get(&golden) {
                Some((other, other_span)) if other != &suite.path => {
                    let text = std::fs::read_to_string(&suite.path).unwrap_or_default();
                    let file = SourceFile::new(&suite.path, text);
                    out.push(
                        Diagnostic::at(
                            &file,
                            d.span,
                            format!(
                                "dialogue `{}` shares its golden {} with {}",
                                d.name,
                                golden.display(),
                                crate::diag::location(other, *other_span)
                            ),
                        )
                        .with_help("rename one of the dialogues, or one of the suite files"),
                    );
                }
                Some(_) => {}
                None => {
                    owner.insert(golden, (suite.path.clone(), d.span));
                }
            }
        }
    }
    out
}

/// Reads a file as UTF-8 text, or says exactly why not.
// A diagnostic is made at most once per file, on the slow path: boxing buys nothing here.
#[allow(clippy::result_large_err)]
pub fn read_source(path: &Path) -> Result<SourceFile, Diagnostic> {
    let read = crate::fsutil::read_regular_capped(path, crate::fsutil::MAX_SUITE_BYTES);
    let bytes = read.map_err(|e| {
        Diagnostic::error(
            path,
            Span::UNKNOWN,
            format!("failed to read `{}`", path.display()),
        )
        .with_label(e.to_string())
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(path, text)),
        Err(e) => {
            let bytes = e.as_bytes();
            let good = e.utf8_error().valid_up_to();
            let prefix = &bytes[..good];
            let line = prefix.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = prefix
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1);
            // The valid prefix is UTF-8, so counting its chars gives the column.
            let column = String::from_utf8_lossy(&prefix[line_start..])
                .chars()
                .count()
                + 1;
            let lossy: Arc<str> = String::from_utf8_lossy(bytes).into();
            Err(Diagnostic::error(
                path,
                Span::new(to_u32(line), to_u32(column)),
                "file is not valid UTF-8",
            )
            .with_label(format!("invalid byte 0x{:02x}", bytes[good]))
            .with_help("save the file as UTF-8")
            .with_source(lossy))
        }
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `agenttest.yaml`, checked: what it gives to every suite below it.
struct Config {
    file: SourceFile,
    endpoint: Layer,
    defaults: Vec<Exp>,
    normalize: Vec<NormalizeRule>,
}

#[derive(Clone)]
enum ConfigState {
    None,
    Loaded(Arc<Config>),
    /// Its errors are reported with the config; the suites below it are still checked, but
    /// not for what the config might have supplied (an endpoint), to avoid echo errors.
    Broken,
}

fn load_config(path: &Path, opts: &LoadOptions) -> Result<Arc<Config>, Vec<Diagnostic>> {
    let file = read_source(path).map_err(|d| vec![d])?;
    let raw: RawConfig = parse_yaml(&file).map_err(|d| vec![d])?;
    let mut ck = Checker::new(&file, opts);
    let endpoint = raw
        .endpoint
        .as_ref()
        .map(|e| ck.endpoint(e))
        .unwrap_or_default();
    let defaults = raw
        .defaults
        .as_ref()
        .and_then(|d| d.expect.as_ref())
        .map(|e| ck.expect(e))
        .unwrap_or_default();
    let normalize = ck.normalize(raw.normalize.as_deref().unwrap_or_default());
    if !ck.diags.is_empty() {
        return Err(ck.finish());
    }
    Ok(Arc::new(Config {
        file,
        endpoint,
        defaults,
        normalize,
    }))
}

#[allow(clippy::result_large_err)] // as `read_source`
fn parse_yaml<T: serde::de::DeserializeOwned>(file: &SourceFile) -> Result<T, Diagnostic> {
    let typed_error = match crate::yaml::parse(file) {
        Ok(v) => return Ok(v),
        Err(d) => d,
    };
    // Only now walk every node: the typed pass stops at the first type error, which in a
    // billion-laughs or 200-deep document would hide what is really wrong with it. Walking
    // only on failure keeps a valid suite to one parse.
    crate::yaml::parse::<crate::suite::raw::Walk>(file).map_err(|mut d| {
        if d.message.starts_with("budget breached") {
            d.message = if d.message.contains("Depth") {
                format!(
                    "the YAML is nested deeper than {} levels",
                    crate::yaml::MAX_DEPTH
                )
            } else {
                "the YAML grows beyond the parser's budget once its aliases are expanded"
                    .to_string()
            };
        }
        d
    })?;
    let mut d = typed_error;
    // serde's words for a number that does not fit its type, said for people.
    let plain = match d.message.as_str() {
        "invalid u32" | "invalid u64" => Some("expected a non-negative integer"),
        "invalid i64" => Some("expected an integer"),
        "invalid f64" => Some("expected a number"),
        "expected sequence start" => Some("expected a list"),
        _ => None,
    };
    if let Some(plain) = plain {
        d.message = plain.to_string();
    }
    Err(d)
}

/// Loads one suite. Returns the suite only when the file has no error at all.
fn load_suite(
    path: &Path,
    config: &ConfigState,
    opts: &LoadOptions,
) -> (Option<Suite>, Vec<Diagnostic>) {
    let file = match read_source(path) {
        Ok(f) => f,
        Err(d) => return (None, vec![d]),
    };
    let raw: RawSuite = match parse_yaml(&file) {
        Ok(r) => r,
        Err(d) => return (None, vec![d]),
    };
    let mut ck = Checker::new(&file, opts);
    let suite = ck.suite(&raw, config);
    let diags = ck.finish();
    if diags.is_empty() {
        (suite, diags)
    } else {
        (None, diags)
    }
}

/// One expectation, checked, with the strings that are `{{var}}` templates and their spans.
#[derive(Clone)]
struct Exp {
    expectation: Expectation,
    templates: Vec<(String, Span)>,
}

/// An endpoint as one file layer gives it, env vars already expanded.
#[derive(Clone, Default)]
struct Layer {
    base_url: Option<BaseUrl>,
    agent_id: Option<String>,
    api_key: Option<SecretString>,
    headers: Vec<Header>,
    timeout: Option<Duration>,
    retries: Option<u32>,
    rate_limit: Option<f64>,
    /// A field had an error: "missing base_url" after it would only be an echo.
    broken: bool,
}

impl Layer {
    /// `upper` over `self`, field by field; headers by name, case-insensitively as in HTTP.
    fn under(&self, upper: &Layer) -> Layer {
        let mut headers = self.headers.clone();
        for h in &upper.headers {
            headers.retain(|old| !old.name.eq_ignore_ascii_case(&h.name));
            headers.push(h.clone());
        }
        Layer {
            base_url: upper.base_url.clone().or_else(|| self.base_url.clone()),
            agent_id: upper.agent_id.clone().or_else(|| self.agent_id.clone()),
            api_key: upper.api_key.clone().or_else(|| self.api_key.clone()),
            headers,
            timeout: upper.timeout.or(self.timeout),
            retries: upper.retries.or(self.retries),
            rate_limit: upper.rate_limit.or(self.rate_limit),
            broken: self.broken || upper.broken,
        }
    }

    fn with_overrides(mut self, o: &EndpointOverrides) -> Layer {
        if let Some(v) = &o.base_url {
            self.base_url = Some(v.clone());
        }
        if let Some(v) = &o.agent_id {
            self.agent_id = Some(v.clone());
        }
        self.timeout = o.timeout.or(self.timeout);
        self.retries = o.retries.or(self.retries);
        self.rate_limit = o.rate_limit.or(self.rate_limit);
        self
    }
}

/// Collects the diagnostics of one file while checking it.
struct Checker<'a> {
    file: &'a SourceFile,
    opts: &'a LoadOptions,
    diags: Vec<Diagnostic>,
    /// Each distinct pattern compiled once per file: suites repeat the same `regex:` on
    /// hundreds of turns, and a compiled `Regex` (with its lazy DFA caches) is kilobytes,
    /// while a clone shares it.
    regexes: HashMap<String, Pattern>,
}

impl<'a> Checker<'a> {
    fn new(file: &'a SourceFile, opts: &'a LoadOptions) -> Self {
        Checker {
            file,
            opts,
            diags: Vec::new(),
            regexes: HashMap::new(),
        }
    }

    fn error(&mut self, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::at(self.file, span, message));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    /// In source order, each once (a default's bad `{{var}}` is found once per turn).
    fn finish(mut self) -> Vec<Diagnostic> {
        let mut seen = BTreeSet::new();
        self.diags
            .retain(|d| seen.insert((d.path.clone(), d.span, d.message.clone())));
        self.diags.sort_by_key(|d| d.span);
        self.diags
    }

    fn suite(&mut self, raw: &RawSuite, config: &ConfigState) -> Option<Suite> {
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

        let (config_layer, config_defaults, mut normalize, config_broken) = match config {
            ConfigState::Loaded(c) => (
                c.endpoint.clone(),
                c.defaults
                    .iter()
                    .map(|e| (e.clone(), Some(c.file.clone())))
                    .collect(),
                c.normalize.clone(),
                false,
            ),
            ConfigState::None => (Layer::default(), Vec::new(), Vec::new(), false),
            ConfigState::Broken => (Layer::default(), Vec::new(), Vec::new(), true),
        };
        let suite_layer = raw
            .endpoint
            .as_ref()
            .map(|e| self.endpoint(e))
            .unwrap_or_default();
        let suite_layer = config_layer.under(&suite_layer);

        // Config's defaults, then the suite's: a key the suite names replaces the config's.
        let mut defaults: Vec<(Exp, Option<SourceFile>)> = config_defaults;
        if let Some(expect) = raw.defaults.as_ref().and_then(|d| d.expect.as_ref()) {
            for exp in self.expect(expect) {
                let key = exp.expectation.kind.key();
                defaults.retain(|(old, _)| old.expectation.kind.key() != key);
                defaults.push((exp, None));
            }
        }
        normalize.extend(self.normalize(raw.normalize.as_deref().unwrap_or_default()));

        let Some(list) = &raw.dialogues else {
            self.error(Span::new(1, 1), "the suite has no `dialogues`")
                .help = Some("add `dialogues:` with at least one dialogue".into());
            return None;
        };
        if list.value.is_empty() {
            self.error(span_of(list), "`dialogues` is empty").help =
                Some("a suite needs at least one dialogue".into());
        }

        let mut dialogues = Vec::new();
        let mut names: HashMap<String, Span> = HashMap::new();
        let mut slugs: HashMap<String, (String, Span)> = HashMap::new();
        for d in &list.value {
            let span = span_of(d);
            // Names are compared even when a dialogue has other errors, so all show at once.
            if let Some(n) = d.value.name.as_ref().filter(|n| !n.value.trim().is_empty()) {
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
            dialogues.extend(self.dialogue(&d.value, span, &suite_layer, config_broken, &defaults));
        }
        Some(Suite {
            name,
            path,
            golden_dir,
            normalize,
            dialogues,
        })
    }

    fn dialogue(
        &mut self,
        raw: &RawDialogue,
        span: Span,
        suite_layer: &Layer,
        config_broken: bool,
        defaults: &[(Exp, Option<SourceFile>)],
    ) -> Option<Dialogue> {
        let name = match &raw.name {
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
        };
        let shown = name.clone().unwrap_or_else(|| "(unnamed)".into());

        let own = raw
            .endpoint
            .as_ref()
            .map(|e| self.endpoint(e))
            .unwrap_or_default();
        let layer = suite_layer.under(&own).with_overrides(&self.opts.overrides);
        let endpoint = self.complete_endpoint(layer, span, &shown, config_broken);

        let vars: BTreeMap<String, String> = raw
            .vars
            .as_ref()
            .map(|v| {
                v.0.iter()
                    .map(|(k, v)| (k.value.clone(), v.value.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let session = match raw.session.as_ref().map(|s| s.value) {
            Some(RawSession::Server) => SessionMode::Server,
            Some(RawSession::Fresh) | None => SessionMode::Fresh,
        };
        let golden = raw
            .golden
            .as_ref()
            .map_or(GoldenMode::Exact, |g| self.golden(g));
        let (repeat, min_pass) = self.repeat(raw);
        let skip = match raw.skip.as_ref().map(|s| &s.value) {
            Some(Skip::Reason(r)) if r.trim().is_empty() => Some("skipped".to_string()),
            Some(Skip::Reason(r)) => Some(r.clone()),
            Some(Skip::No) | None => None,
        };

        let turns = match &raw.turns {
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
            Some(t) => self.turns(&t.value, &vars, defaults),
        };

        Some(Dialogue {
            name: name?,
            span,
            tags: raw.tags.0.iter().map(|t| t.value.clone()).collect(),
            skip,
            vars,
            endpoint: Arc::new(endpoint?),
            session,
            golden,
            repeat,
            min_pass,
            turns,
        })
    }

    fn complete_endpoint(
        &mut self,
        layer: Layer,
        span: Span,
        dialogue: &str,
        config_broken: bool,
    ) -> Option<Endpoint> {
        let missing: Vec<&str> = [
            ("`base_url`", layer.base_url.is_none()),
            ("`agent_id`", layer.agent_id.is_none()),
        ]
        .iter()
        .filter(|(_, m)| *m)
        .map(|(n, _)| *n)
        .collect();
        if !missing.is_empty() {
            if !(layer.broken || config_broken) {
                self.error(
                    span,
                    format!("dialogue `{dialogue}` has no {}", missing.join(" and no ")),
                )
                .help = Some(
                    "set it under `endpoint:` in the dialogue, the suite or agenttest.yaml, \
                     or pass --endpoint / --agent"
                        .into(),
                );
            }
            return None;
        }
        Some(Endpoint {
            kind: EndpointKind::Thinnest,
            base_url: layer.base_url?,
            agent_id: layer.agent_id?,
            api_key: layer.api_key,
            headers: layer.headers,
            timeout: layer.timeout.unwrap_or(Endpoint::DEFAULT_TIMEOUT),
            retries: layer.retries.unwrap_or(Endpoint::DEFAULT_RETRIES),
            rate_limit: layer.rate_limit,
        })
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

    fn turns(
        &mut self,
        raw: &[Spanned<RawTurn>],
        vars: &BTreeMap<String, String>,
        defaults: &[(Exp, Option<SourceFile>)],
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
            let span = span_of(t);
            let refs = Refs {
                known: &known,
                captured_at: &captured_at,
                turn: i,
            };
            let user = match &t.value.user {
                Some(u) => {
                    self.check_refs(&refs, &u.value, span_of(u), None);
                    u.value.clone()
                }
                None => {
                    self.error(span, format!("turn {} has no `user` message", i + 1));
                    String::new()
                }
            };
            let own = t
                .value
                .expect
                .as_ref()
                .map(|e| self.expect(e))
                .unwrap_or_default();
            let mut expect = Vec::new();
            for (exp, from) in defaults {
                let key = exp.expectation.kind.key();
                if own.iter().any(|o| o.expectation.kind.key() == key) {
                    continue;
                }
                for (text, s) in &exp.templates {
                    self.check_refs(&refs, text, *s, from.as_ref());
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
                    self.check_refs(&refs, text, *s, None);
                }
                expect.push(exp.expectation);
            }
            expect.sort_by_key(|e| key_order(&e.kind));

            let mut capture = Vec::new();
            for (name, pattern) in t.value.capture.iter().flat_map(|c| c.0.iter()) {
                if let Some(re) = self.regex(&pattern.value, span_of(pattern)) {
                    capture.push(Capture {
                        name: name.value.clone(),
                        pattern: re,
                        span: span_of(name),
                    });
                }
                known.insert(name.value.clone());
            }
            turns.push(Turn {
                user,
                span,
                expect,
                capture,
            });
        }
        turns
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
                Some(&at) => {
                    let when = if at == refs.turn {
                        "in this same turn, after its reply".to_string()
                    } else {
                        format!("in turn {}", at + 1)
                    };
                    Diagnostic::at(
                        file,
                        span,
                        format!("`{{{{{}}}}}` is used before it is captured", r.name),
                    )
                    .with_label(format!("`{}` is captured {when}", r.name))
                    .with_help("a turn can use only vars and the captures of earlier turns")
                }
                None => {
                    let candidates: Vec<&str> = refs
                        .known
                        .iter()
                        .map(String::as_str)
                        .chain(refs.captured_at.keys().map(String::as_str))
                        .collect();
                    let d = Diagnostic::at(
                        file,
                        span,
                        format!("unknown variable `{{{{{}}}}}`", r.name),
                    );
                    match did_you_mean(&r.name, &candidates) {
                        Some(best) => d.with_help(format!("did you mean `{{{{{best}}}}}`?")),
                        None => d.with_help(
                            "define it under the dialogue's `vars:` or capture it in an \
                             earlier turn",
                        ),
                    }
                }
            };
            self.diags.push(d);
        }
    }

    fn regex(&mut self, pattern: &str, span: Span) -> Option<Pattern> {
        if let Some(re) = self.regexes.get(pattern) {
            return Some(re.clone());
        }
        match Regex::new(pattern) {
            Ok(re) => {
                let re = Pattern::new(re);
                self.regexes.insert(pattern.to_string(), re.clone());
                Some(re)
            }
            Err(e) => {
                self.error(span, format!("invalid regex: {}", regex_message(&e)));
                None
            }
        }
    }

    fn normalize(&mut self, raw: &[RawNormalize]) -> Vec<NormalizeRule> {
        raw.iter()
            .filter_map(|n| {
                self.regex(&n.pattern.value, span_of(&n.pattern))
                    .map(|pattern| NormalizeRule {
                        pattern,
                        replace: n.replace.clone(),
                    })
            })
            .collect()
    }

    fn expect(&mut self, raw: &RawExpect) -> Vec<Exp> {
        let mut out = Vec::new();
        // The expectation points at its key; errors about a value point at the value.
        let mut push = |kind: ExpectKind, value: Span, templates: Vec<(String, Span)>| {
            let span = raw.key_span(kind.key()).unwrap_or(value);
            out.push(Exp {
                expectation: Expectation { kind, span },
                templates,
            })
        };
        if let Some(s) = &raw.status {
            let mut codes = Vec::new();
            for (code, span) in items(s) {
                match u16::try_from(code) {
                    Ok(c) if (100..=599).contains(&c) => codes.push(c),
                    _ => {
                        self.error(span, format!("status {code} is out of range"))
                            .label = Some("an HTTP status, 100 to 599".into());
                    }
                }
            }
            self.nonempty("status", s);
            push(ExpectKind::Status(codes), span_of(s), Vec::new());
        }
        let texts = [
            (
                &raw.contains,
                ExpectKind::Contains as fn(Vec<String>) -> ExpectKind,
            ),
            (&raw.contains_any, ExpectKind::ContainsAny),
            (&raw.not_contains, ExpectKind::NotContains),
        ];
        for (field, make) in texts {
            if let Some(s) = field {
                let list = items(s);
                let kind = make(list.iter().map(|(t, _)| t.clone()).collect());
                self.nonempty(kind.key(), s);
                push(kind, span_of(s), list);
            }
        }
        let regexes = [
            (
                &raw.regex,
                ExpectKind::Regex as fn(Vec<Pattern>) -> ExpectKind,
            ),
            (&raw.not_regex, ExpectKind::NotRegex),
        ];
        for (field, make) in regexes {
            if let Some(s) = field {
                let compiled = items(s)
                    .into_iter()
                    .filter_map(|(p, span)| self.regex(&p, span))
                    .collect();
                let kind = make(compiled);
                self.nonempty(kind.key(), s);
                push(kind, span_of(s), Vec::new());
            }
        }
        if let Some(e) = &raw.equals {
            push(
                ExpectKind::Equals(e.value.clone()),
                span_of(e),
                vec![(e.value.clone(), span_of(e))],
            );
        }
        if let Some(m) = &raw.max_tokens {
            push(ExpectKind::MaxTokens(m.value), span_of(m), Vec::new());
        }
        if let Some(l) = &raw.max_latency {
            match parse_duration(&l.value) {
                Ok(d) => push(ExpectKind::MaxLatency(d), span_of(l), Vec::new()),
                Err(msg) => {
                    self.error(span_of(l), format!("invalid `max_latency`: {msg}"));
                }
            }
        }
        out
    }

    /// An empty list would hold vacuously (or never, for `contains_any`): surely a mistake.
    fn nonempty<T>(&mut self, key: &str, s: &Spanned<crate::suite::raw::OneOrMany<T>>) {
        if s.value.0.is_empty() {
            self.error(span_of(s), format!("`{key}` is an empty list"));
        }
    }

    fn endpoint(&mut self, raw: &RawEndpoint) -> Layer {
        let mut layer = Layer::default();
        if let Some(v) = &raw.base_url {
            match self.env(v) {
                Some(e) => {
                    let text = e.value.trim();
                    layer.base_url = match text {
                        "mock" => Some(BaseUrl::Mock),
                        "replay" => Some(BaseUrl::Replay),
                        _ if text.starts_with("http://") || text.starts_with("https://") => {
                            Some(BaseUrl::Url(text.trim_end_matches('/').to_string()))
                        }
                        _ => {
                            self.error(span_of(v), format!("invalid `base_url` `{text}`"))
                                .label = Some(
                                "expected `mock`, `replay` or an http:// or https:// URL".into(),
                            );
                            layer.broken = true;
                            None
                        }
                    };
                }
                None => layer.broken = true,
            }
        }
        if let Some(v) = &raw.agent_id {
            match self.env(v) {
                Some(e) if e.value.trim().is_empty() => {
                    self.error(span_of(v), "`agent_id` is empty");
                    layer.broken = true;
                }
                Some(e) => layer.agent_id = Some(e.value),
                None => layer.broken = true,
            }
        }
        if let Some(v) = &raw.api_key {
            match self.env(v) {
                Some(e) if e.value.is_empty() => {
                    let d = self.error(span_of(v), "`api_key` is empty");
                    d.help = Some(if e.used_env {
                        "the environment variable is set but empty".into()
                    } else {
                        "remove `api_key` for an endpoint that needs none".into()
                    });
                }
                Some(e) => layer.api_key = Some(SecretString::from(e.value)),
                None => {}
            }
        }
        for (name, value) in raw.headers.iter().flat_map(|h| h.0.iter()) {
            if let Some(e) = self.env(value) {
                let value = if e.used_env {
                    HeaderValue::Secret(SecretString::from(e.value))
                } else {
                    HeaderValue::Plain(e.value)
                };
                layer.headers.push(Header {
                    name: name.value.clone(),
                    value,
                    env_values: e.env_values.into_iter().map(SecretString::from).collect(),
                });
            }
        }
        if let Some(v) = &raw.timeout {
            match parse_duration(&v.value) {
                Ok(d) if d.is_zero() => {
                    self.error(span_of(v), "invalid `timeout`: it must be more than zero");
                }
                Ok(d) => layer.timeout = Some(d),
                Err(msg) => {
                    self.error(span_of(v), format!("invalid `timeout`: {msg}"));
                }
            }
        }
        layer.retries = raw.retries.as_ref().map(|r| r.value);
        if let Some(v) = &raw.rate_limit {
            match parse_rate(&v.value) {
                Ok(r) => layer.rate_limit = Some(r),
                Err(msg) => {
                    self.error(span_of(v), format!("invalid `rate_limit`: {msg}"));
                }
            }
        }
        layer
    }

    /// Expands `${VAR}` in one field; an error points at the field.
    fn env(&mut self, v: &Spanned<String>) -> Option<template::EnvExpanded> {
        match template::expand_env(&v.value, &*self.opts.env) {
            Ok(e) => Some(e),
            Err(err) => {
                let d = self.error(span_of(v), err.to_string());
                if let template::EnvError::Unset { var, .. } = &err {
                    d.help = Some(format!(
                        "export {var}, or give a default: `${{{var}:-value}}`"
                    ));
                }
                None
            }
        }
    }
}

struct Refs<'r> {
    known: &'r BTreeSet<String>,
    captured_at: &'r BTreeMap<String, usize>,
    turn: usize,
}

/// SPEC §3.2's order, so a turn's expectations read the same whatever the file's order.
fn key_order(kind: &ExpectKind) -> u8 {
    match kind {
        ExpectKind::Status(_) => 0,
        ExpectKind::Contains(_) => 1,
        ExpectKind::ContainsAny(_) => 2,
        ExpectKind::NotContains(_) => 3,
        ExpectKind::Regex(_) => 4,
        ExpectKind::NotRegex(_) => 5,
        ExpectKind::Equals(_) => 6,
        ExpectKind::MaxTokens(_) => 7,
        ExpectKind::MaxLatency(_) => 8,
    }
}

/// The regex crate's multi-line message (pattern, caret, "error: ...") as one line: the
/// diagnostic already shows where the pattern is.
fn regex_message(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| text.lines().next().unwrap_or_default().trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    struct Fixture {
        dir: tempfile::TempDir,
    }

    impl Fixture {
        fn new(files: &[(&str, &str)]) -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            for (rel, text) in files {
                let p = dir.path().join(rel);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, text).unwrap();
            }
            Fixture { dir }
        }

        fn load_with(&self, opts: &LoadOptions) -> Result<Loaded, Vec<Diagnostic>> {
            load_paths(&[self.dir.path().to_path_buf()], opts)
        }

        fn load(&self) -> Result<Loaded, Vec<Diagnostic>> {
            self.load_with(&env(&[]))
        }

        fn errors(&self) -> Vec<String> {
            let diags = self.load().expect_err("expected errors");
            diags
                .iter()
                .map(|d| {
                    let rel = d.path.strip_prefix(self.dir.path()).unwrap_or(&d.path);
                    format!(
                        "{}:{}:{} {}",
                        rel.display(),
                        d.span.line,
                        d.span.column,
                        d.message
                    )
                })
                .collect()
        }
    }

    fn env(vars: &[(&str, &str)]) -> LoadOptions {
        LoadOptions::with_env(
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    const EP: &str = "endpoint: {base_url: mock, agent_id: ag}\n";

    fn one(f: &Fixture) -> Suite {
        let mut loaded = match f.load() {
            Ok(l) => l,
            Err(d) => panic!("{}", crate::diag::render_all(&d, false)),
        };
        assert_eq!(loaded.suites.len(), 1);
        loaded.suites.remove(0)
    }

    #[test]
    fn endpoint_merges_config_suite_dialogue_then_overrides() {
        let f = Fixture::new(&[
            (
                "agenttest.yaml",
                "endpoint:\n  base_url: https://api.example.test/\n  agent_id: ag_config\n  \
                 timeout: 5s\n  rate_limit: 2/s\n  headers: {X-Env: staging, X-Team: a}\n",
            ),
            (
                "sub/s.yaml",
                "endpoint:\n  agent_id: ag_suite\n  retries: 4\n  headers: {x-env: prod}\n\
                 dialogues:\n  - name: a\n    turns: [{user: hi}]\n  - name: b\n    \
                 endpoint: {agent_id: ag_dialogue, timeout: 1s}\n    turns: [{user: hi}]\n",
            ),
        ]);
        let s = one(&f);
        let a = &s.dialogues[0].endpoint;
        assert_eq!(a.base_url, BaseUrl::Url("https://api.example.test".into()));
        assert_eq!(a.agent_id, "ag_suite");
        assert_eq!(a.timeout, Duration::from_secs(5));
        assert_eq!(a.retries, 4);
        assert_eq!(a.rate_limit, Some(2.0));
        let headers: Vec<(&str, String)> = a
            .headers
            .iter()
            .map(|h| match &h.value {
                HeaderValue::Plain(v) => (h.name.as_str(), v.clone()),
                HeaderValue::Secret(_) => (h.name.as_str(), "secret".into()),
            })
            .collect();
        assert_eq!(headers, [("X-Team", "a".into()), ("x-env", "prod".into())]);
        let b = &s.dialogues[1].endpoint;
        assert_eq!(b.agent_id, "ag_dialogue");
        assert_eq!(b.timeout, Duration::from_secs(1));
        assert!(a.api_key.is_none());

        let mut opts = env(&[]);
        opts.overrides = EndpointOverrides {
            base_url: Some(BaseUrl::Mock),
            agent_id: Some("ag_flag".into()),
            timeout: Some(Duration::from_secs(9)),
            retries: Some(0),
            rate_limit: None,
        };
        let s = f.load_with(&opts).unwrap().suites.remove(0);
        let b = &s.dialogues[1].endpoint;
        assert_eq!(b.base_url, BaseUrl::Mock);
        assert_eq!(b.agent_id, "ag_flag");
        assert_eq!(b.timeout, Duration::from_secs(9));
        assert_eq!(b.retries, 0);
        assert_eq!(b.rate_limit, Some(2.0));
    }

    #[test]
    fn defaults_and_env_when_nothing_is_set() {
        let f = Fixture::new(&[(
            "s.yaml",
            &format!("{EP}dialogues:\n  - name: a\n    turns: [{{user: hi}}]\n"),
        )]);
        let s = one(&f);
        let d = &s.dialogues[0];
        assert_eq!(s.name, "s");
        assert_eq!(s.golden_dir, f.dir.path().join("s.golden"));
        assert_eq!(d.endpoint.timeout, Endpoint::DEFAULT_TIMEOUT);
        assert_eq!(d.endpoint.retries, Endpoint::DEFAULT_RETRIES);
        assert_eq!((d.repeat, d.min_pass), (1, 1));
        assert_eq!(d.session, SessionMode::Fresh);
        assert_eq!(d.golden, GoldenMode::Exact);
        assert!(d.skip.is_none());
        assert!(d.turns[0].expect.is_empty());
    }

    #[test]
    fn env_vars_expand_and_mark_secrets() {
        let f = Fixture::new(&[(
            "s.yaml",
            "endpoint:\n  base_url: ${URL:-mock}\n  agent_id: ag_${WHO}\n  api_key: ${KEY}\n  \
             headers: {X-Token: 'tok ${TOKEN}', X-Plain: plain}\n\
             dialogues:\n  - name: a\n    turns: [{user: hi}]\n",
        )]);
        let opts = env(&[("WHO", "support"), ("KEY", "ak_test_123"), ("TOKEN", "t1")]);
        let s = f.load_with(&opts).unwrap().suites.remove(0);
        let e = &s.dialogues[0].endpoint;
        assert_eq!(e.base_url, BaseUrl::Mock);
        assert_eq!(e.agent_id, "ag_support");
        assert_eq!(e.api_key.as_ref().unwrap().expose_secret(), "ak_test_123");
        match &e.headers[0].value {
            HeaderValue::Secret(v) => assert_eq!(v.expose_secret(), "tok t1"),
            HeaderValue::Plain(_) => panic!("an env-derived header must be secret"),
        }
        assert!(matches!(e.headers[1].value, HeaderValue::Plain(_)));
        // The key, the whole header, and the token alone (an agent may echo just that).
        let secrets: Vec<String> = e
            .secrets()
            .iter()
            .map(|s| s.expose_secret().to_string())
            .collect();
        assert_eq!(secrets, ["ak_test_123", "tok t1", "t1"]);

        // Unset: an error at the field, naming the variable; the dialogue is not also
        // blamed for lacking an agent_id.
        let errs = Fixture::new(&[(
            "s.yaml",
            "endpoint:\n  base_url: mock\n  agent_id: ${AGENT}\n  api_key: '${EMPTY}'\n\
             dialogues:\n  - name: a\n    turns: [{user: hi}]\n",
        )]);
        let diags = errs.load_with(&env(&[("EMPTY", "")])).unwrap_err();
        let msgs: Vec<String> = diags
            .iter()
            .map(|d| format!("{}:{} {}", d.span.line, d.span.column, d.message))
            .collect();
        assert_eq!(
            msgs,
            [
                "3:13 environment variable `AGENT` is not set",
                "4:12 `api_key` is empty"
            ]
        );
    }

    #[test]
    fn defaults_expect_config_then_suite_then_turn() {
        let f = Fixture::new(&[
            (
                "agenttest.yaml",
                "defaults:\n  expect: {status: 200, max_tokens: 300, not_contains: sorry}\n",
            ),
            (
                "s.yaml",
                &format!(
                    "{EP}defaults:\n  expect: {{max_tokens: 100, max_latency: 2s}}\n\
                     dialogues:\n  - name: a\n    turns:\n      - user: hi\n        \
                     expect: {{status: [200, 201], contains: Monday}}\n"
                ),
            ),
        ]);
        let s = one(&f);
        let turn = &s.dialogues[0].turns[0];
        let got: Vec<(String, Span)> = turn
            .expect
            .iter()
            .map(|e| (format!("{:?}", e.kind), e.span))
            .collect();
        assert_eq!(
            got,
            [
                // The turn's own, at its key.
                ("Status([200, 201])".to_string(), Span::new(8, 18)),
                ("Contains([\"Monday\"])".to_string(), Span::new(8, 38)),
                // From agenttest.yaml: pointed at the turn that inherits it.
                ("NotContains([\"sorry\"])".to_string(), Span::new(7, 9)),
                // From the suite's defaults, where it is written there.
                ("MaxTokens(100)".to_string(), Span::new(3, 12)),
                ("MaxLatency(2s)".to_string(), Span::new(3, 29)),
            ]
        );
    }

    #[test]
    fn spans_of_dialogues_turns_lists_and_captures() {
        let text = format!(
            "{EP}dialogues:\n  - name: a\n    vars: {{n: 3}}\n    turns:\n      - user: Where is {{{{n}}}}?\n        \
             capture: {{order: 'ORD-(\\d+)'}}\n        expect:\n          contains:\n            - x\n            \
             - \"{{{{n}}}}y\"\n      - user: Has {{{{order}}}} shipped?\n        expect: {{regex: '(?i)yes', contains_any: one}}\n"
        );
        let f = Fixture::new(&[("s.yaml", &text)]);
        let s = one(&f);
        let d = &s.dialogues[0];
        assert_eq!(d.span, Span::new(3, 5));
        assert_eq!(d.vars.get("n").map(String::as_str), Some("3"));
        assert_eq!(d.turns[0].span, Span::new(6, 9));
        assert_eq!(d.turns[0].capture[0].name, "order");
        assert_eq!(d.turns[0].capture[0].span, Span::new(7, 19));
        assert_eq!(d.turns[1].span, Span::new(12, 9));
        match &d.turns[0].expect[0].kind {
            ExpectKind::Contains(v) => assert_eq!(v, &["x", "{{n}}y"]),
            other => panic!("{other:?}"),
        }
        let kinds: Vec<String> = d.turns[1]
            .expect
            .iter()
            .map(|e| e.kind.key().to_string())
            .collect();
        assert_eq!(kinds, ["contains_any", "regex"]);
        assert_eq!(d.turns[1].expect[1].span, Span::new(13, 18));
    }

    #[test]
    fn template_references_are_checked_in_turn_order() {
        let f = Fixture::new(&[(
            "s.yaml",
            &format!(
                "{EP}dialogues:\n  - name: a\n    vars: {{product: X}}\n    turns:\n\
                 \x20     - user: '{{{{order}}}} for {{{{product}}}}'\n\
                 \x20     - user: hi\n        capture: {{order: 'ORD-\\d+'}}\n        \
                 expect: {{equals: '{{{{order}}}}'}}\n\
                 \x20     - user: '{{{{order}}}} {{{{prodct}}}} {{{{nope}}}} {{{{ not a var }}}}'\n"
            ),
        )]);
        assert_eq!(
            f.errors(),
            [
                "s.yaml:6:15 `{{order}}` is used before it is captured",
                "s.yaml:9:26 `{{order}}` is used before it is captured",
                "s.yaml:10:15 unknown variable `{{prodct}}`",
                "s.yaml:10:15 unknown variable `{{nope}}`",
            ]
        );
        let diags = f.load().unwrap_err();
        assert_eq!(
            diags[0].label.as_deref(),
            Some("`order` is captured in turn 2")
        );
        assert_eq!(
            diags[2].help.as_deref(),
            Some("did you mean `{{product}}`?")
        );
    }

    #[test]
    fn names_must_be_unique_and_not_collide_as_slugs() {
        let f = Fixture::new(&[(
            "s.yaml",
            &format!(
                "{EP}dialogues:\n  - name: Order status\n    turns: [{{user: a}}]\n\
                 \x20 - name: Order status\n    turns: [{{user: b}}]\n\
                 \x20 - name: ORDER  STATUS\n    turns: [{{user: c}}]\n\
                 \x20 - name: ''\n    turns: [{{user: c}}]\n"
            ),
        )]);
        assert_eq!(
            f.errors(),
            [
                "s.yaml:5:11 duplicate dialogue name `Order status`",
                "s.yaml:7:11 dialogues `Order status` and `ORDER  STATUS` would share the golden file `order-status.yaml`",
                "s.yaml:9:11 the dialogue name is empty",
            ]
        );
        let diags = f.load().unwrap_err();
        assert_eq!(
            diags[0].label.as_deref(),
            Some("the first dialogue with this name is at line 3")
        );
    }

    #[test]
    fn dialogue_fields() {
        let f = Fixture::new(&[(
            "s.yaml",
            &format!(
                "{EP}name: support\ndialogues:\n  - name: a\n    tags: smoke\n    skip: true\n    \
                 session: server\n    golden: {{mode: similar, threshold: 0.75}}\n    repeat: 5\n    \
                 min_pass: 4\n    vars: {{n: 3, ok: yes, f: 1.50}}\n    turns: [{{user: hi}}]\n\
                 \x20 - name: b\n    skip: flaky upstream\n    golden: false\n    tags: [x, y]\n    \
                 turns: [{{user: hi}}]\n  - name: c\n    golden: {{mode: exact}}\n    repeat: 3\n    \
                 turns: [{{user: hi}}]\n"
            ),
        )]);
        let s = one(&f);
        assert_eq!(s.name, "support");
        let [a, b, c] = &s.dialogues[..] else {
            panic!("three dialogues")
        };
        assert_eq!(a.tags, ["smoke"]);
        assert_eq!(a.skip.as_deref(), Some("skipped"));
        assert_eq!(a.session, SessionMode::Server);
        assert_eq!(a.golden, GoldenMode::Similar { threshold: 0.75 });
        assert_eq!((a.repeat, a.min_pass), (5, 4));
        let vars: Vec<(&str, &str)> = a
            .vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(vars, [("f", "1.50"), ("n", "3"), ("ok", "yes")]);
        assert_eq!(b.skip.as_deref(), Some("flaky upstream"));
        assert_eq!(b.golden, GoldenMode::Off);
        assert_eq!(b.tags, ["x", "y"]);
        assert_eq!(c.golden, GoldenMode::Exact);
        assert_eq!((c.repeat, c.min_pass), (3, 3));
    }

    #[test]
    fn semantic_errors_do_not_stop_the_file() {
        let f = Fixture::new(&[(
            "s.yaml",
            "endpoint: {base_url: ftp://x, agent_id: ag, timeout: '30', rate_limit: fast}\n\
             normalize: [{pattern: '(', replace: x}]\n\
             dialogues:\n  - name: a\n    golden: {mode: similar, threshold: 1.5}\n    \
             repeat: 2\n    min_pass: 3\n    turns:\n      - user: hi\n        \
             capture: {x: '[a-'}\n        expect:\n          status: [200, 700]\n          \
             regex: ['ok', '(?P<']\n          not_regex: '*'\n          max_latency: 2 parsecs\n          \
             contains_any: []\n  - name: b\n",
        )]);
        let errs = f.errors();
        let expected = [
            "s.yaml:1:22 invalid `base_url` `ftp://x`",
            "s.yaml:1:54 invalid `timeout`: `30` has no unit: write e.g. `30s` or `30ms`",
            "s.yaml:1:72 invalid `rate_limit`: `fast` is not a rate: write e.g. `5/s` or `60/m`",
            "s.yaml:2:23 invalid regex: unclosed group",
            "s.yaml:5:40 threshold 1.5 is out of range",
            "s.yaml:7:15 `min_pass` 3 is out of range",
            "s.yaml:10:22 invalid regex: unclosed character class",
            "s.yaml:12:25 status 700 is out of range",
            "s.yaml:13:25 invalid regex: unclosed capture group name",
            "s.yaml:14:22 invalid regex: repetition operator missing expression",
            "s.yaml:15:24 invalid `max_latency`: unknown duration unit `parsecs` in `2 parsecs`: use `ms`, `s`, `m` or `h`",
            "s.yaml:16:25 `contains_any` is an empty list",
            "s.yaml:17:5 dialogue `b` has no `turns`",
        ];
        assert_eq!(errs.len(), expected.len(), "{errs:#?}");
        for (got, want) in errs.iter().zip(expected) {
            assert!(got.starts_with(want), "{got} !~ {want}");
        }
    }

    #[test]
    fn missing_endpoint_and_structure() {
        let f = Fixture::new(&[
            (
                "a.yaml",
                "dialogues:\n  - name: x\n    turns:\n      - expect: {status: 200}\n",
            ),
            ("b.yaml", "name: b\n"),
            ("c.yaml", &format!("{EP}dialogues: []\n")),
            ("d.yaml", &format!("{EP}dialogues:\n  - turns: []\n")),
        ]);
        assert_eq!(
            f.errors(),
            [
                "a.yaml:2:5 dialogue `x` has no `base_url` and no `agent_id`",
                "a.yaml:4:9 turn 1 has no `user` message",
                "b.yaml:1:1 the suite has no `dialogues`",
                "c.yaml:2:12 `dialogues` is empty",
                "d.yaml:3:5 the dialogue has no `name`",
                "d.yaml:3:12 dialogue `(unnamed)` has no turns",
            ]
        );
    }

    #[test]
    fn yaml_errors_and_bad_bytes() {
        let f = Fixture::new(&[
            ("a.yaml", "dialogues:\n  - name: x\n    turnz: []\n"),
            (
                "b.yaml",
                "dialogues:\n  - name: x\n    repeat: -1\n    turns: [{user: hi}]\n",
            ),
        ]);
        std::fs::write(f.dir.path().join("c.yaml"), b"name: ok\nx: caf\xe9\n").unwrap();
        let errs = f.errors();
        assert_eq!(
            errs,
            [
                "a.yaml:3:5 unknown field `turnz`",
                "b.yaml:3:13 expected a non-negative integer",
                "c.yaml:2:7 file is not valid UTF-8",
            ]
        );
    }

    #[test]
    fn a_broken_config_is_reported_once_and_not_echoed() {
        let f = Fixture::new(&[
            (
                "agenttest.yaml",
                "endpoint: {base_url: mock, agentid: ag}\n",
            ),
            (
                "a.yaml",
                "dialogues:\n  - name: x\n    turns: [{user: hi}]\n",
            ),
            (
                "b.yaml",
                "dialogues:\n  - name: y\n    turns: [{user: hi}]\n",
            ),
        ]);
        assert_eq!(f.errors(), ["agenttest.yaml:1:28 unknown field `agentid`"]);
    }

    #[test]
    #[allow(clippy::invalid_regex)] // the point of the test
    fn regex_messages_are_one_line() {
        let e = Regex::new("(abc").unwrap_err();
        assert_eq!(regex_message(&e), "unclosed group");
    }
}
