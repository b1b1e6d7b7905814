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
//! suite checked as it is parsed, a big one in pieces on every core), `split` (where a big
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

use check::Checker;
use endpoint::Layer;
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

/// Every suite found under the paths, in sorted path order.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub suites: Vec<Suite>,
}

/// Errors of one file (or one config), to be sorted by its path.
type Group = (PathBuf, Vec<Diagnostic>);

/// A suite's config as found (canonical path to share it, path as shown in messages).
type ConfigPaths = Option<(PathBuf, PathBuf)>;

/// Discovers, reads and checks every suite under `paths`. All errors of all files at once:
/// first the paths that could not be found, then each file's errors in sorted path order
/// (a shared `agenttest.yaml` reported once, in its own place in that order).
pub fn load_paths(paths: &[PathBuf], opts: &LoadOptions) -> Result<Loaded, Vec<Diagnostic>> {
    let (files, mut errors) = discover::discover_all(paths);
    let config_of: Vec<ConfigPaths> = files
        .par_iter()
        .map(|f| {
            find_config(f).map(|shown| {
                let canon = std::fs::canonicalize(&shown).unwrap_or_else(|_| shown.clone());
                (canon, shown)
            })
        })
        .collect();
    let (configs, mut groups) = load_configs(&config_of, opts);
    let cut_above = cut_above(&files);

    let results: Vec<(PathBuf, Option<Suite>, Vec<Diagnostic>)> = files
        .par_iter()
        .zip(config_of.par_iter())
        .map(|(path, config)| {
            let state = match config {
                Some((canon, _)) => configs.get(canon).cloned().unwrap_or(ConfigState::Broken),
                None => ConfigState::None,
            };
            let (suite, diags) = load_suite(path, &state, opts, cut_above);
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
    errors.extend(cross::shared_goldens(&suites));
    // A field of agenttest.yaml judged per dialogue (a `stream` of the wrong kind, a body
    // template) is found by every suite below it: said once, where it is first found.
    let mut seen = HashSet::new();
    errors.retain(|d| seen.insert((d.path.clone(), d.span, d.message.clone())));
    if errors.is_empty() {
        Ok(Loaded { suites })
    } else {
        Err(errors)
    }
}

/// The size above which a suite file is parsed in pieces (`stream`): more than its share of
/// all the files' bytes on this many cores. Files load in parallel already, so pieces only
/// pay for a file that would otherwise keep a core busy after the others are done: cut
/// anyway, eight equal files of 1,000 dialogues loaded 11% slower on 2 cores (27% at 10,000),
/// their allocations freed on threads other than the ones that made them. The sizes come
/// from the file system (a `stat` each, which `read_source` repeats): reading every text
/// first would hold all of them at once, where the load holds one per core.
fn cut_above(files: &[PathBuf]) -> u64 {
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    total / rayon::current_num_threads().max(1) as u64
}

/// Loads each distinct config once, however many suites share it: by canonical path, the
/// state every suite below it gets, and the errors of the broken ones.
fn load_configs(
    config_of: &[ConfigPaths],
    opts: &LoadOptions,
) -> (HashMap<PathBuf, ConfigState>, Vec<Group>) {
    let mut distinct: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for (canon, shown) in config_of.iter().flatten() {
        distinct
            .entry(canon.clone())
            .or_insert_with(|| shown.clone());
    }
    type ConfigResult = (PathBuf, PathBuf, Result<Arc<Config>, Vec<Diagnostic>>);
    let loaded: Vec<ConfigResult> = distinct
        .into_par_iter()
        .map(|(canon, shown)| {
            let result = load_config(&shown, opts);
            (canon, shown, result)
        })
        .collect();
    let mut groups = Vec::new();
    let mut configs = HashMap::new();
    for (canon, shown, result) in loaded {
        let state = match result {
            Ok(config) => ConfigState::Loaded(config),
            Err(diags) => {
                groups.push((shown, diags));
                ConfigState::Broken
            }
        };
        configs.insert(canon, state);
    }
    (configs, groups)
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

fn load_config(path: &Path, opts: &LoadOptions) -> Result<Arc<Config>, Vec<Diagnostic>> {
    let file = read_source(path).map_err(|d| vec![d])?;
    // An empty config (0 bytes, or blank) says nothing, like one holding only comments; a
    // suite cannot be empty, so the YAML layer refuses an empty document.
    let raw: RawConfig = if file.text.trim().is_empty() {
        RawConfig::default()
    } else {
        source::parse_yaml(&file)?
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
    if ck.has_errors() {
        return Err(ck.finish());
    }
    Ok(Arc::new(Config {
        file,
        endpoint,
        judge,
        defaults,
        normalize,
    }))
}

/// Loads one suite. Returns the suite only when the file has no error at all. It is checked
/// as it is parsed (`stream`) when it can be, else parsed whole first.
fn load_suite(
    path: &Path,
    config: &ConfigState,
    opts: &LoadOptions,
    cut_above: u64,
) -> (Option<Suite>, Vec<Diagnostic>) {
    let file = match read_source(path) {
        Ok(f) => f,
        Err(d) => return (None, vec![d]),
    };
    let cut = file.text.len() as u64 > cut_above;
    let (suite, diags) =
        stream::load(&file, config, opts, cut).unwrap_or_else(|| load_whole(&file, config, opts));
    if diags.is_empty() {
        (suite, diags)
    } else {
        (None, diags)
    }
}

/// A suite file parsed whole, then checked: the suite (even with errors) and every
/// diagnostic.
fn load_whole(
    file: &SourceFile,
    config: &ConfigState,
    opts: &LoadOptions,
) -> (Option<Suite>, Vec<Diagnostic>) {
    let raw: RawSuite = match source::parse_yaml(file) {
        Ok(r) => r,
        Err(diags) => return (None, diags),
    };
    let mut ck = Checker::new(file, opts);
    let suite = ck.suite(&raw, config);
    (suite, ck.finish())
}
