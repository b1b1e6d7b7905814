//! The scripts a run's in-process servers serve, loaded and checked before anything is sent:
//! each `mock_script:` a dialogue or its suite's judge names, and the goldens of each suite a
//! dialogue replays. `run` serves them; `validate` and `list` check them the same way, so the
//! three commands give one verdict on the same suites (SPEC §4: `validate` does exactly the
//! run's pre-send step). Starts no server and prints nothing: the caller reports.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::diag::Diagnostic;
use crate::mock::Script;
use crate::suite::{BaseUrl, Suite};

/// A script to serve: the path the run's server tables know it by (the `mock_script:`, or the
/// replayed suite's file), the script, and whether it replays a suite's goldens.
pub(super) type Served = (PathBuf, Script, bool);

/// Every `mock_script:` that these dialogues (a suite and a dialogue's index in it) or their
/// suites' judges talk to under `base_url: mock`, each file loaded once, in path order; every
/// error of every script, not only the first script's.
pub(super) fn mock_scripts<'a>(
    uses: impl IntoIterator<Item = (&'a Suite, usize)>,
) -> (Vec<Served>, Vec<Diagnostic>) {
    let mut paths: Vec<&PathBuf> = uses
        .into_iter()
        .flat_map(|(suite, di)| {
            std::iter::once(&*suite.dialogues[di].endpoint).chain(suite.judge.as_deref())
        })
        .filter(|ep| ep.base_url == BaseUrl::Mock)
        .filter_map(|ep| ep.mock_script.as_ref())
        .collect();
    paths.sort();
    paths.dedup();
    let mut scripts = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match Script::load(path) {
            Ok(script) => scripts.push((path.clone(), script, false)),
            Err(diags) => errors.extend(diags),
        }
    }
    (scripts, errors)
}

/// The goldens of every suite that one of these dialogues replays (`base_url: replay`), one
/// script per suite, in the order the suites first come; every error of every suite's goldens.
/// A replayed suite with no goldens cannot run offline: an error too.
pub(super) fn replay_scripts<'a>(
    uses: impl IntoIterator<Item = (&'a Suite, usize)>,
) -> (Vec<Served>, Vec<Diagnostic>) {
    let mut seen = HashSet::new();
    let mut scripts = Vec::new();
    let mut errors = Vec::new();
    for (suite, di) in uses {
        if suite.dialogues[di].endpoint.base_url != BaseUrl::Replay
            || !seen.insert(std::ptr::from_ref(suite))
        {
            continue;
        }
        match Script::replay_suite(suite) {
            Ok(script) => scripts.push((suite.path.clone(), script, true)),
            Err(diags) => errors.extend(diags),
        }
    }
    (scripts, errors)
}

/// What `validate` and `list` check once the suites loaded: every error `run` would refuse the
/// dialogues `picked` (indexes into `suites`, as [`crate::run::select::select`] gives them)
/// for before sending, all at once. The replayed goldens first, then the `mock_script:`s, the
/// order `run` checks them in.
pub(super) fn pre_send_errors(suites: &[Suite], picked: &[(usize, usize)]) -> Vec<Diagnostic> {
    let uses = || picked.iter().map(|&(si, di)| (&suites[si], di));
    let (_, mut errors) = replay_scripts(uses());
    errors.extend(mock_scripts(uses()).1);
    errors
}

/// Every dialogue of every suite, as `validate` checks them: a run without filters.
pub(super) fn every_dialogue(suites: &[Suite]) -> Vec<(usize, usize)> {
    suites
        .iter()
        .enumerate()
        .flat_map(|(si, s)| (0..s.dialogues.len()).map(move |di| (si, di)))
        .collect()
}
