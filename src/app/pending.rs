//! `accept` and `reject`: promote or delete the pending goldens a run wrote. Sends nothing.

use std::io::IsTerminal;

use super::{paths_or_default, use_color};
use crate::cli::PendingArgs;
use crate::diag::render_all;
use crate::exit;
use crate::judge::golden;
use crate::outln;

/// `accept` and `reject`: act on the pending `.new` goldens under the paths. Sends nothing.
pub(super) fn cmd_pending(args: PendingArgs, accept: bool) -> i32 {
    let color = use_color(args.color, std::io::stderr().is_terminal());
    let pending = match golden::find_pending(&paths_or_default(&args.paths)) {
        Ok(p) => p,
        Err(diags) => {
            crate::err!("{}", render_all(&diags, color));
            return exit::USAGE;
        }
    };
    if pending.is_empty() {
        outln!("no pending goldens");
        return exit::PASS;
    }
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
        outln!("accepted: {created} created, {changed} changed, {kept} unchanged");
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
