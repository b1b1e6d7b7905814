//! `validate` and `list`: load and check the suites, send nothing.
//!
//! Both make the whole of the run's pre-send check (SPEC §4: `validate` does exactly that
//! step): the suites, then the `mock_script:`s and replayed goldens the run would serve
//! ([`super::scripts`]), so that what they pass `run` does not refuse.

use std::io::IsTerminal;

use super::scripts::{every_dialogue, pre_send_errors};
use super::{empty_partition_is_fine, env_overrides, load, selection, usage_error, use_color};
use crate::cli::{ListArgs, PathArgs};
use crate::diag::render_all;
use crate::exit;
use crate::outln;
use crate::run::select;
use crate::suite::Suite;

pub(super) fn cmd_validate(args: PathArgs) -> i32 {
    let overrides = match env_overrides() {
        Ok(o) => o,
        Err(e) => return usage_error(&e),
    };
    let suites = match load(&args, overrides) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Err(code) = scripts_checked(&args, &suites, &every_dialogue(&suites)) {
        return code;
    }
    let dialogues: usize = suites.iter().map(|s| s.dialogues.len()).sum();
    outln!(
        "{} suite{} and {} dialogue{} are valid",
        suites.len(),
        if suites.len() == 1 { "" } else { "s" },
        dialogues,
        if dialogues == 1 { "" } else { "s" }
    );
    exit::PASS
}

pub(super) fn cmd_list(args: ListArgs) -> i32 {
    let overrides = match env_overrides() {
        Ok(o) => o,
        Err(e) => return usage_error(&e),
    };
    let sel = match selection(&args.select) {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    let suites = match load(&args.paths, overrides) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let picked = select::select(&suites, &sel);
    // The scripts of the dialogues listed, as `run` with the same selection checks them.
    if let Err(code) = scripts_checked(&args.paths, &suites, &picked) {
        return code;
    }
    for (si, di) in &picked {
        outln!("{}", suites[*si].display_name(&suites[*si].dialogues[*di]));
    }
    if picked.is_empty() {
        if empty_partition_is_fine(&suites, &sel) {
            crate::errln!("this partition holds none of the selected dialogues");
            return exit::PASS;
        }
        crate::errln!("no dialogue selected");
        exit::NOTHING_SELECTED
    } else {
        exit::PASS
    }
}

/// The run's check of the scripts behind `picked`; on any error prints every diagnostic and
/// gives exit 2, as `run` would before sending anything.
fn scripts_checked(
    args: &PathArgs,
    suites: &[Suite],
    picked: &[(usize, usize)],
) -> Result<(), i32> {
    let errors = pre_send_errors(suites, picked);
    if errors.is_empty() {
        return Ok(());
    }
    let color = use_color(args.color, std::io::stderr().is_terminal());
    crate::err!("{}", render_all(&errors, color));
    Err(exit::USAGE)
}
