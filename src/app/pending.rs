//! `accept` and `reject`: promote or delete the pending goldens a run wrote. Sends nothing.
//!
//! When a suite (or a directory of suites) is named, `accept` reads those suites first, only
//! to set aside a pending file that no dialogue of its suite has any more (renamed or removed
//! since the run): promoting it would write a golden nothing uses. `review` sets them aside
//! the same way ([`set_aside_orphans`]). A pending file named by its own path, or through its
//! `.golden` directory, or by naming its golden, is taken as it is. `reject` deletes orphans
//! like any other pending file: throwing a stale one away is what it is for.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::{load_options, paths_or_default, use_color};
use crate::cli::PendingArgs;
use crate::diag::render_all;
use crate::exit;
use crate::judge::golden;
use crate::outln;
use crate::suite::discover::canonical;
use crate::suite::{self, EndpointOverrides};

/// `accept` and `reject`: act on the pending `.new` goldens under the paths. Sends nothing.
pub(super) fn cmd_pending(args: PendingArgs, accept: bool) -> i32 {
    let color = use_color(args.color, std::io::stderr().is_terminal());
    let paths = paths_or_default(&args.paths);
    let named = match golden::store::find_named(&paths) {
        Ok(n) => n,
        Err(diags) => {
            crate::err!("{}", render_all(&diags, color));
            return exit::USAGE;
        }
    };
    if nothing_pending(&named) {
        return exit::PASS;
    }
    let pending = named.pending;
    let (pending, orphans) = if accept {
        let set_aside = set_aside_orphans(&paths, pending);
        if let Some(note) = &set_aside.unchecked {
            crate::errln!("{note}");
        }
        for o in &set_aside.orphans {
            outln!("skipped   {}", o.describe("accept it by its path"));
        }
        (set_aside.kept, set_aside.orphans.len())
    } else {
        (pending, 0)
    };
    let actions = if accept {
        golden::accept(&pending)
    } else {
        golden::reject(&pending)
    };
    let mut failed = 0;
    let (mut created, mut changed, mut kept, mut rejected) = (0, 0, 0, 0);
    for a in &actions {
        match a {
            golden::PendingAction::Created(p) => {
                created += 1;
                outln!("created   {}", p.display());
            }
            golden::PendingAction::Changed(p) => {
                changed += 1;
                outln!("changed   {}", p.display());
            }
            golden::PendingAction::Kept(p) => {
                kept += 1;
                outln!("unchanged {}", p.display());
            }
            golden::PendingAction::Rejected(p) => {
                rejected += 1;
                outln!("deleted   {}", p.display());
            }
            golden::PendingAction::Failed(p, e) => {
                failed += 1;
                crate::errln!("error: {}: {e}", p.display());
            }
        }
    }
    if accept {
        let skipped = if orphans > 0 {
            format!(", {orphans} skipped")
        } else {
            String::new()
        };
        outln!("accepted: {created} created, {changed} changed, {kept} unchanged{skipped}");
    } else {
        outln!("rejected: {rejected} deleted");
    }
    if failed > 0 {
        crate::errln!(
            "{failed} pending golden{} could not be processed and {} left in place",
            if failed == 1 { "" } else { "s" },
            if failed == 1 { "was" } else { "were" }
        );
        exit::USAGE
    } else {
        exit::PASS
    }
}

/// Says, of each golden named by its own path, that nothing is pending for it (naming the file
/// that is not there), and `no pending goldens` when nothing at all is and no golden was
/// named. Whether there is nothing to do. `accept`, `reject` and `review` all say it so.
pub(super) fn nothing_pending(named: &golden::store::Named) -> bool {
    for g in &named.settled {
        outln!(
            "no pending golden for {} ({} does not exist)",
            g.display(),
            golden::pending_path(g).display()
        );
    }
    if named.pending.is_empty() && named.settled.is_empty() {
        outln!("no pending goldens");
    }
    named.pending.is_empty()
}

/// A pending file set aside: no dialogue of `suite` has its golden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Orphan {
    pub pending: PathBuf,
    pub suite: PathBuf,
}

impl Orphan {
    /// `<pending>: no dialogue of <suite> has this golden (...); <how> to promote it anyway`.
    pub(super) fn describe(&self, how: &str) -> String {
        format!(
            "{}: no dialogue of {} has this golden (renamed or removed?); {how} to promote it \
             anyway",
            self.pending.display(),
            self.suite.display()
        )
    }
}

/// The pending files split into those to act on and the orphans set aside.
#[derive(Debug, Default)]
pub(super) struct SetAside {
    pub kept: Vec<PathBuf>,
    pub orphans: Vec<Orphan>,
    /// Why nothing could be set aside (the named suites do not load), as a note to print.
    pub unchecked: Option<String>,
}

/// Sets aside the pending files of the suites named in `paths` (suite files, and directories
/// searched for suites) that no dialogue of their suite has any more: the same files a run
/// warns about as having no dialogue behind them (`golden::orphans`). A pending file reached
/// through a path that names it (`x.yaml.new`) or its `.golden` directory is never set aside:
/// that is how to promote one anyway. Suites that do not load (a typo, a secret not exported
/// here) cannot say which dialogues they have: then nothing is set aside, as before this
/// check, and `unchecked` says so.
pub(super) fn set_aside_orphans(paths: &[PathBuf], pending: Vec<PathBuf>) -> SetAside {
    let suites_named: Vec<PathBuf> = paths.iter().filter(|p| names_suites(p)).cloned().collect();
    if suites_named.is_empty() || pending.is_empty() {
        return SetAside {
            kept: pending,
            ..SetAside::default()
        };
    }
    let explicit: Vec<PathBuf> = paths.iter().filter(|p| !names_suites(p)).cloned().collect();
    // Already found once by the caller, so this finds no error; an error would only mean
    // none of them is taken as named, which the orphan check below then decides.
    let explicit: HashSet<PathBuf> = golden::find_pending(&explicit)
        .unwrap_or_default()
        .iter()
        .map(|p| canonical(p))
        .collect();
    // Only the dialogue names are read: the environment is the one `run` loads with, and
    // `--endpoint`-style overrides are irrelevant to them.
    let suites = match suite::load_paths(&suites_named, &load_options(EndpointOverrides::default()))
    {
        Ok(loaded) => loaded.suites,
        Err(_) => {
            let named: Vec<String> = suites_named
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            let named = named.join(" ");
            return SetAside {
                kept: pending,
                orphans: Vec::new(),
                unchecked: Some(format!(
                    "note: {named} did not load, so the pending goldens were not checked for a \
                     dialogue behind them (`agenttest validate {named}` says why)"
                )),
            };
        }
    };
    let orphans: Vec<(PathBuf, &Path)> = golden::orphans(&suites)
        .into_iter()
        .filter_map(|o| {
            let dir = canonical(o.parent()?);
            let suite = suites.iter().find(|s| canonical(&s.golden_dir) == dir)?;
            Some((canonical(&o), suite.path.as_path()))
        })
        .collect();
    let mut set_aside = SetAside::default();
    for p in pending {
        let id = canonical(&p);
        let orphan_of = orphans
            .iter()
            .find(|(o, _)| *o == id)
            .map(|(_, suite)| suite.to_path_buf());
        match orphan_of {
            Some(suite) if !explicit.contains(&id) => {
                set_aside.orphans.push(Orphan { pending: p, suite })
            }
            _ => set_aside.kept.push(p),
        }
    }
    set_aside
}

/// Whether `path` names suites: a suite file, or a directory searched for them. A `.golden`
/// directory, a `.yaml.new` file or a golden named by its own path names pending files
/// themselves.
fn names_suites(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if path.is_dir() {
        // `.` and `..` have no file name and are directories of suites.
        !name.ends_with(".golden")
    } else {
        (name.ends_with(".yaml") || name.ends_with(".yml"))
            && !golden::store::is_golden_transcript(path)
    }
}
