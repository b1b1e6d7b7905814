//! Checks that need every suite at once, after each file checked out on its own: today, two
//! suites whose dialogues would write one golden file. Reads a suite's text only to quote it
//! in an error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, SourceFile, Span};
use crate::suite::model::{slug, Suite};

/// `x.yaml` and `x.yml` beside each other share `x.golden/`: two dialogues of theirs with one
/// slug would overwrite each other's golden on every bless. Reported on the later suite.
pub(super) fn shared_goldens(suites: &[Suite]) -> Vec<Diagnostic> {
    // Only suites that share a golden directory can share a golden: most share none, and
    // then no dialogue need be looked at.
    let mut per_dir: HashMap<&Path, usize> = HashMap::new();
    for suite in suites {
        *per_dir.entry(suite.golden_dir.as_path()).or_default() += 1;
    }
    let mut owner: HashMap<PathBuf, (PathBuf, Span)> = HashMap::new();
    let mut out = Vec::new();
    for suite in suites
        .iter()
        .filter(|s| per_dir[s.golden_dir.as_path()] > 1)
    {
        for d in &suite.dialogues {
            let golden = suite.golden_dir.join(format!("{}.yaml", slug(&d.name)));
            match owner.get(&golden) {
                Some((other, other_span)) if other != &suite.path => {
                    let text = std::fs::read_to_string(&suite.path).unwrap_or_default();
                    let file = SourceFile::new(&suite.path, text);
                    let message = format!(
                        "dialogue `{}` shares its golden {} with {}",
                        d.name,
                        golden.display(),
                        crate::diag::location(other, *other_span)
                    );
                    out.push(
                        Diagnostic::at(&file, d.span, message)
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
