//! A suite file with structural errors (a wrong type, an unknown field) checked for meaning
//! anyway, so that SPEC §4's "all errors at once" holds across the two kinds of error: a
//! `repeat: many` in one dialogue no longer hides an invalid regex or an unknown `{{name}}` in
//! another.
//!
//! The parser's repair (`crate::yaml`) blanks each node with an error; what is left is
//! checked as any suite. What a blank took away can make errors of its own (a dialogue whose
//! `turns` were blanked "has no turns"; a blanked `kind` changes what every field means), so
//! only errors well away from every blank are kept: none at all when a blank is outside the
//! dialogue list (the suite's head is what every dialogue depends on), and none from a
//! dialogue that holds a blank. The check that counts over every dialogue (a suite-wide field
//! that no dialogue's kind uses) is off (`Checker::repaired`): a blanked `kind:` would make it
//! an echo. This adds errors to a broken file; it never makes one pass.

use crate::diag::{Diagnostic, SourceFile, Span};
use crate::suite::raw::{span_of, RawSuite};
use crate::yaml::Repaired;

use super::check::Checker;
use super::{ConfigState, FileLoad, LoadOptions};

/// The file's structural errors `diags`, with the errors of meaning of what `repaired`
/// leaves whole, in the order of the file.
pub(super) fn load(
    file: &SourceFile,
    config: &ConfigState,
    opts: &LoadOptions,
    mut diags: Vec<Diagnostic>,
    repaired: Option<Repaired<RawSuite>>,
) -> FileLoad {
    let Some(rep) = repaired else {
        return FileLoad::failed(diags);
    };
    let starts: Vec<Span> = rep
        .value
        .dialogues
        .iter()
        .flat_map(|list| list.value.iter())
        .map(span_of)
        .collect();
    let Some(&first) = starts.first() else {
        return FileLoad::failed(diags);
    };
    // A blank in the head, or in a top-level key after the list (it starts at column 1,
    // where no dialogue's own key can), changes what every dialogue means.
    let outside = |(at, _): &(Span, Span)| *at < first || (at.column == 1 && !starts.contains(at));
    if rep.blanks.iter().any(outside) {
        return FileLoad::failed(diags);
    }
    // The dialogue holding `at`: the last to start at or before it.
    let dialogue_of = |at: Span| starts.partition_point(|s| *s <= at).checked_sub(1);
    let touched: Vec<bool> = (0..starts.len())
        .map(|i| rep.blanks.iter().any(|(at, _)| dialogue_of(*at) == Some(i)))
        .collect();
    let mut ck = Checker::new(file, opts);
    ck.repaired = true;
    let suite = ck.suite(&rep.value, config);
    let checked = ck.finish_file(suite);
    let clear = |d: &Diagnostic| {
        d.path == file.path && d.span.is_known() && dialogue_of(d.span).is_none_or(|i| !touched[i])
    };
    diags.extend(checked.diags.into_iter().filter(clear));
    diags.sort_by_key(|d| d.span);
    FileLoad {
        suite: None,
        diags,
        scripts: checked.scripts,
    }
}
