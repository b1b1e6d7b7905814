//! `validate` and `list`: load and check the suites, send nothing.

use super::{empty_partition_is_fine, env_overrides, load, selection, usage_error};
use crate::cli::{ListArgs, PathArgs};
use crate::exit;
use crate::outln;
use crate::run::select;

pub(super) fn cmd_validate(args: PathArgs) -> i32 {
    let overrides = match env_overrides() {
        Ok(o) => o,
        Err(e) => return usage_error(&e),
    };
    match load(&args, overrides) {
        Ok(suites) => {
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
        Err(code) => code,
    }
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
