//! Reading suite files and `agenttest.yaml` into the checked model.
//!
//! Every file is read and checked completely before anything is sent: YAML syntax and types
//! (through `crate::yaml`), then meaning (regexes, ranges, names, `{{var}}` references, env
//! vars, endpoint completeness). One file's YAML error stops that file only; a semantic error
//! does not stop the checks after it, so a user fixes a whole file in one round. Files are
//! checked in parallel but results come back in sorted path order, so output is deterministic.
//!
//! This module orchestrates; each role has its file: `source` (bytes to YAML, errors said for
//! people), `check` (the per-file collector of diagnostics), `endpoint` (the layers
//! agenttest.yaml < suite < dialogue < env < flags), `kind` (the fields of one endpoint kind:
//! openai, http), `dialogue` (suites, dialogues, turns, captures, templates), `matrix` (the
//! rows of a data-driven dialogue, and `csv`, the reader of a `matrix_file`), `expect`
//! (expectations), `judge` (the `judge:` block), `cross` (checks across suites), `stream` (a
//! suite checked as it is parsed, a big one a piece at a time), `split` (where a big
//! suite's text can be cut into such pieces).
//!
//! Nothing here reads the process environment (the lookup is injected) or touches the network.

mod check;
mod cross;
mod csv;
mod dialogue;
mod endpoint;
mod expect;
mod judge;
mod kind;
mod matrix;
mod repaired;
mod source;
mod split;
mod stream;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rayon::prelude::*;

use crate::diag::{Diagnostic, SourceFile};
use crate::suite::discover::{self, find_config};
use crate::suite::model::{BaseUrl, NormalizeRule, Suite};
use crate::suite::raw::{RawConfig, RawSuite};

use check::{Checker, Scripts};
use endpoint::Layer;
pub use endpoint::{agent_id_fault, AgentIdFault};
use expect::Exp;
use judge::JudgeLayer;
pub use source::read_source;

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
    /// The files a suite or config named and the load read (`matrix_file:`, `system_file:`),
    /// noted as they are read: [`Loaded::inputs`] hands them on.
    pub read: ReadFiles,
}

/// Files read while loading, from any of the load's threads.
#[derive(Clone, Default)]
pub struct ReadFiles(Arc<std::sync::Mutex<Vec<PathBuf>>>);

impl ReadFiles {
    pub(crate) fn note(&self, path: &Path) {
        let mut files = self.0.lock().unwrap_or_else(|e| e.into_inner());
        files.push(path.to_path_buf());
    }

    fn take(&self) -> Vec<PathBuf> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl LoadOptions {
    /// Options with the given variables as the whole environment and no overrides: for tests
    /// and for callers that resolve the environment themselves.
    pub fn with_env(vars: BTreeMap<String, String>) -> Self {
        LoadOptions {
            env: Arc::new(move |name| vars.get(name).cloned()),
            overrides: EndpointOverrides::default(),
            read: ReadFiles::default(),
        }
    }
}

/// Every suite found under the paths, in sorted path order.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub suites: Vec<Suite>,
    /// Every other file the suites are made of, as named: the `agenttest.yaml` configs, the
    /// `mock_script:`s, `matrix_file:`s and `system_file:`s. A report must never replace one.
    pub inputs: Vec<PathBuf>,
}

/// Errors of one file (or one config), to be sorted by its path.
type Group = (PathBuf, Vec<Diagnostic>);

/// A suite's config as found (canonical path to share it, path as shown in messages).
type ConfigPaths = Option<(PathBuf, PathBuf)>;

/// Discovers, reads and checks every suite under `paths`. All errors of all files at once:
/// first the paths that could not be found, then each file's errors in sorted path order
/// (a shared `agenttest.yaml` reported once, in its own place in that order).
///
/// A file that the walk of a directory found and that a suite or config of the run names as
/// a `mock_script:` is no suite: it is dropped, its errors as a suite with it. Which files
/// those are is known only once every file is read, so every file is read as a suite first
/// (in parallel) and the scripts are set aside after; nothing is sent before either. A file
/// the user named is a suite, whatever names it, and so is one that names a `mock_script:`
/// itself: a script has no `endpoint:` or `judge:`, so that is a suite where a script was
/// meant (a suite naming itself, two naming each other), and its errors are said.
pub fn load_paths(paths: &[PathBuf], opts: &LoadOptions) -> Result<Loaded, Vec<Diagnostic>> {
    let (loaded, errors) = load_paths_all(paths, opts);
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(errors)
    }
}

/// [`load_paths`], with the suites that loaded without an error of their own also when others
/// had some: a caller checks what they name (their mock scripts) too, so that every error of
/// the run is said at once.
pub fn load_paths_all(paths: &[PathBuf], opts: &LoadOptions) -> (Loaded, Vec<Diagnostic>) {
    let (files, mut errors) = discover::discover_all(paths);
    let config_of: Vec<ConfigPaths> = files
        .par_iter()
        .map(|f| {
            find_config(&f.path).map(|shown| {
                let canon = discover::canonical(&shown);
                (canon, shown)
            })
        })
        .collect();
    let (configs, mut groups, mut scripts) = load_configs(&config_of, opts);
    let cut_above = cut_above(&files);

    let results: Vec<FileLoad> = files
        .par_iter()
        .zip(config_of.par_iter())
        .map(|(found, config)| {
            let state = match config {
                Some((canon, _)) => configs.get(canon).cloned().unwrap_or(ConfigState::Broken),
                None => ConfigState::None,
            };
            load_suite(&found.path, &state, opts, cut_above)
        })
        .collect();
    for loaded in &results {
        scripts.extend(loaded.scripts.iter().cloned());
    }
    let mut inputs: Vec<PathBuf> = config_of.iter().flatten().map(|(_, s)| s.clone()).collect();
    inputs.extend(scripts.iter().cloned());
    inputs.extend(opts.read.take());
    let scripts: HashSet<PathBuf> = scripts.iter().map(|p| discover::canonical(p)).collect();

    let mut suites = Vec::new();
    for (found, loaded) in files.into_iter().zip(results) {
        if found.walked && loaded.scripts.is_empty() && scripts.contains(&found.canon) {
            continue;
        }
        if !loaded.diags.is_empty() {
            groups.push((found.path, loaded.diags));
        }
        suites.extend(loaded.suite);
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    errors.extend(groups.into_iter().flat_map(|(_, d)| d));
    errors.extend(cross::shared_goldens(&suites));
    // A field of agenttest.yaml judged per dialogue (a `stream` of the wrong kind, a body
    // template) is found by every suite below it: said once, where it is first found.
    crate::diag::merge_repeats(&mut errors);
    (Loaded { suites, inputs }, errors)
}

/// The size above which a suite file is parsed in pieces (`stream`): more than its share of
/// all the files' bytes on this many cores. Files load in parallel, one per core; pieces
/// keep one big file from being parsed whole. (When pieces were also parsed on every core,
/// cutting eight equal files of 1,000 dialogues loaded them 11% slower on 2 cores, 27% at
/// 10,000, their allocations freed on threads other than the ones that made them.) The sizes come
/// from the file system (a `stat` each, which `read_source` repeats): reading every text
/// first would hold all of them at once, where the load holds one per core.
fn cut_above<P: AsRef<Path>>(files: &[P]) -> u64 {
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    total / rayon::current_num_threads().max(1) as u64
}

/// Loads each distinct config once, however many suites share it: by canonical path, the
/// state every suite below it gets, the errors of the broken ones, and the files they name
/// as `mock_script:`.
fn load_configs(
    config_of: &[ConfigPaths],
    opts: &LoadOptions,
) -> (HashMap<PathBuf, ConfigState>, Vec<Group>, Scripts) {
    let mut distinct: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for (canon, shown) in config_of.iter().flatten() {
        distinct
            .entry(canon.clone())
            .or_insert_with(|| shown.clone());
    }
    type ConfigResult = (PathBuf, PathBuf, ConfigLoad);
    let loaded: Vec<ConfigResult> = distinct
        .into_par_iter()
        .map(|(canon, shown)| {
            let result = load_config(&shown, opts);
            (canon, shown, result)
        })
        .collect();
    let mut groups = Vec::new();
    let mut configs = HashMap::new();
    let mut scripts = Scripts::new();
    for (canon, shown, (result, named)) in loaded {
        scripts.extend(named);
        let state = match result {
            Ok(config) => ConfigState::Loaded(config),
            Err(diags) => {
                groups.push((shown, diags));
                ConfigState::Broken
            }
        };
        configs.insert(canon, state);
    }
    (configs, groups, scripts)
}

/// `agenttest.yaml`, checked: what it gives to every suite below it.
struct Config {
    file: SourceFile,
    endpoint: Layer,
    judge: Option<JudgeLayer>,
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

/// A config checked, and the files it names as `mock_script:` (even when it has errors).
type ConfigLoad = (Result<Arc<Config>, Vec<Diagnostic>>, Scripts);

fn load_config(path: &Path, opts: &LoadOptions) -> ConfigLoad {
    let file = match read_source(path) {
        Ok(f) => f,
        Err(d) => return (Err(vec![d]), Scripts::new()),
    };
    // An empty config (0 bytes, or blank) says nothing, like one holding only comments; a
    // suite cannot be empty, so the YAML layer refuses an empty document.
    // The structural errors of a config checked whole anyway, and its blanks.
    let (mut structural, mut blanks) = (Vec::new(), Vec::new());
    let raw: RawConfig = if file.text.trim().is_empty() {
        RawConfig::default()
    } else {
        match crate::yaml::parse_or_repair(&file) {
            Ok(raw) => raw,
            // Unknown fields alone take away nothing the rest means: it is checked too, so
            // that a misspelt field does not hide an unset `${VAR}` beside it (all errors at
            // once, SPEC §4), as in a suite (`repaired.rs`).
            Err((diags, Some(rep))) if repaired::only_unknown_fields(&rep.blanks) => {
                (structural, blanks) = (diags, rep.blanks);
                rep.value
            }
            Err((diags, _)) => return (Err(diags), Scripts::new()),
        }
    };
    let mut ck = Checker::new(&file, opts);
    let endpoint = raw
        .endpoint
        .as_ref()
        .map(|e| ck.endpoint(e))
        .unwrap_or_default();
    let judge = raw.judge.as_ref().map(|j| ck.judge_layer(j));
    let defaults = raw
        .defaults
        .as_ref()
        .and_then(|d| d.expect.as_ref())
        .map(|e| ck.expect(e))
        .unwrap_or_default();
    let normalize = ck.normalize(raw.normalize.as_deref().unwrap_or_default());
    let (diags, scripts) = ck.finish_with_scripts();
    if !diags.is_empty() || !structural.is_empty() {
        let echo = repaired::echo_in(&blanks);
        structural.extend(diags.into_iter().filter(|d| !echo(d)));
        structural.sort_by_key(|d| d.span);
        return (Err(structural), scripts);
    }
    let config = Arc::new(Config {
        file,
        endpoint,
        judge,
        defaults,
        normalize,
    });
    (Ok(config), scripts)
}

/// One suite file checked.
pub(super) struct FileLoad {
    /// As checked; [`load_suite`] keeps it only when the file has no error at all.
    pub(super) suite: Option<Suite>,
    pub(super) diags: Vec<Diagnostic>,
    /// The files it names as `mock_script:`, whatever else is wrong with it.
    pub(super) scripts: Scripts,
}

impl FileLoad {
    /// A file that did not parse: it names nothing.
    fn failed(diags: Vec<Diagnostic>) -> FileLoad {
        FileLoad {
            suite: None,
            diags,
            scripts: Scripts::new(),
        }
    }
}

impl Checker<'_> {
    /// The end of checking a suite file: what it gives.
    pub(super) fn finish_file(self, suite: Option<Suite>) -> FileLoad {
        let (diags, scripts) = self.finish_with_scripts();
        FileLoad {
            suite,
            diags,
            scripts,
        }
    }
}

/// Loads one suite. Returns the suite only when the file has no error at all. It is checked
/// as it is parsed (`stream`) when it can be, else parsed whole first.
fn load_suite(path: &Path, config: &ConfigState, opts: &LoadOptions, cut_above: u64) -> FileLoad {
    let file = match read_source(path) {
        Ok(f) => f,
        Err(d) => return FileLoad::failed(vec![d]),
    };
    let cut = file.text.len() as u64 > cut_above;
    let mut loaded =
        stream::load(&file, config, opts, cut).unwrap_or_else(|| load_whole(&file, config, opts));
    if !loaded.diags.is_empty() {
        loaded.suite = None;
    }
    loaded
}

/// A suite file parsed whole, then checked: the suite (even with errors) and every
/// diagnostic.
fn load_whole(file: &SourceFile, config: &ConfigState, opts: &LoadOptions) -> FileLoad {
    let raw: RawSuite = match crate::yaml::parse_or_repair(file) {
        Ok(r) => r,
        Err((diags, rep)) => return repaired::load(file, config, opts, diags, rep),
    };
    let mut ck = Checker::new(file, opts);
    let suite = ck.suite(&raw, config);
    ck.finish_file(suite)
}
