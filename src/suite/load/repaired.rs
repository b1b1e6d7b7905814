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
//! dialogue that holds a blank. An unknown field's blank is no such blank: it takes away
//! only what the typed parse refused to read, and the errors it could echo (a `base_ur`
//! making `base_url` missing) are the ones that name the field it looks like; unless that
//! field gives others their meaning (`varz` for `vars`), when it is a blank like any. The
//! check that counts over every dialogue (a suite-wide field that no dialogue's kind uses)
//! is off (`Checker::repaired`): a blanked `kind:` would make it an echo. This adds errors
//! to a broken file; it never makes one pass. An `agenttest.yaml` takes the simplest case of
//! it (`load_config`): when every blank is an unknown field of that kind, the rest is checked
//! whole, with the same echoes left out.

use crate::diag::{Diagnostic, SourceFile, Span};
use crate::suite::raw::{span_of, RawSuite};
use crate::yaml::{BlankSite, Repaired};

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
    // An unknown field's blank takes away nothing the file means: it is not in the way of
    // the checks below (a misspelt `response.txt` in the suite's endpoint had hidden every
    // other error in the file until it was fixed, QA finding 11). Except a misspelling of a field that gives other fields their meaning (`varz` for
    // `vars` would make every `{{name}}` it defines "unknown"): that one is a blank like any.
    let (unknown, blanks): (Vec<&BlankSite>, Vec<&BlankSite>) =
        rep.blanks.iter().partition(|b| harmless(b));
    // A blank in the head, or in a top-level key after the list (it starts at column 1,
    // where no dialogue's own key can), changes what every dialogue means.
    let outside = |b: &&BlankSite| {
        let at = b.first;
        at < first || (at.column == 1 && !starts.contains(&at))
    };
    if blanks.iter().any(outside) {
        return FileLoad::failed(diags);
    }
    // The dialogue holding `at`: the last to start at or before it.
    let dialogue_of = |at: Span| starts.partition_point(|s| *s <= at).checked_sub(1);
    let touched: Vec<bool> = (0..starts.len())
        .map(|i| blanks.iter().any(|b| dialogue_of(b.first) == Some(i)))
        .collect();
    let echo = echo_in(unknown.iter().copied());
    let mut ck = Checker::new(file, opts);
    ck.repaired = true;
    let suite = ck.suite(&rep.value, config);
    let checked = ck.finish_file(suite);
    let clear = |d: &Diagnostic| {
        d.path == file.path
            && d.span.is_known()
            && dialogue_of(d.span).is_none_or(|i| !touched[i])
            && !echo(d)
    };
    diags.extend(checked.diags.into_iter().filter(clear));
    diags.sort_by_key(|d| d.span);
    FileLoad {
        suite: None,
        diags,
        scripts: checked.scripts,
    }
}

/// `base_ur: ...` leaves `base_url` missing only because of the typo its own error names:
/// "has no `base_url`" would be an echo. Any other error about `base_url` is its own.
pub(super) fn echo_in<'b>(
    unknown: impl IntoIterator<Item = &'b BlankSite>,
) -> impl Fn(&Diagnostic) -> bool {
    let meant: Vec<String> = unknown
        .into_iter()
        .filter_map(|b| b.meant.clone())
        .collect();
    move |d: &Diagnostic| {
        d.message.contains(" has no ")
            && meant.iter().any(|m| {
                d.message.contains(&format!("`{m}`")) || d.message.contains(&format!(".{m}`"))
            })
    }
}

/// A blank that takes away nothing the rest of the file means: an unknown field's, unless it
/// looks like a field that gives others their meaning.
fn harmless(b: &BlankSite) -> bool {
    b.unknown_field && !b.meant.as_deref().is_some_and(gives_meaning)
}

/// Whether every blank of a repaired file is [`harmless`]: what is left then means what it
/// says, and is checked whole (an `agenttest.yaml`).
pub(super) fn only_unknown_fields(blanks: &[BlankSite]) -> bool {
    blanks.iter().all(harmless)
}

/// The fields whose absence changes what the fields around them mean, not only whether
/// they are complete: an unknown field that looks like one of them may be hiding it.
fn gives_meaning(field: &str) -> bool {
    matches!(
        field,
        "vars"
            | "endpoint"
            | "kind"
            | "matrix"
            | "matrix_file"
            | "defaults"
            | "capture"
            | "session"
    )
}
