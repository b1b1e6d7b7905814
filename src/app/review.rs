//! `review`: walks the pending goldens on a terminal one at a time, like `cargo insta review`:
//! which golden, the diff from it to what accepting would write, then `a` accept, `r` reject,
//! `s` skip or `q` quit (each followed by Enter), and a summary at the end.
//!
//! It sends nothing and changes a file only on an answer: accepting and rejecting are
//! `judge::golden::{accept, reject}`, the very code behind `agenttest accept` / `reject`. Only
//! an exact answer counts (the letter or the word, any case): a typo is asked again, never
//! taken for the command it starts with, since rejecting deletes the only copy of what the run
//! saw. Pending files that no dialogue of a named suite has any more are set aside first, as
//! `accept` sets them aside. Off a terminal there is nobody to answer, so it refuses (exit 2)
//! and names those two commands.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use super::pending::{nothing_pending, set_aside_orphans};
use super::{paths_or_default, use_color};
use crate::cli::PendingArgs;
use crate::diag::{render_all, SourceFile};
use crate::exit;
use crate::judge::golden::{self, GoldenFile, PendingAction, WILDCARD};
use crate::report::diff::render_diff;

const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

pub(super) fn cmd_review(args: PendingArgs) -> i32 {
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        crate::errln!(
            "error: `agenttest review` asks about each pending golden, so it needs a terminal \
             (stdin and stdout); nothing was changed"
        );
        crate::errln!(
            "help: without one, `agenttest accept [PATH...]` promotes the pending goldens and \
             `agenttest reject [PATH...]` deletes them"
        );
        return exit::USAGE;
    }
    let color = use_color(args.color, true);
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
    let set_aside = set_aside_orphans(&paths, named.pending);
    if let Some(note) = &set_aside.unchecked {
        crate::errln!("{note}");
    }
    for o in &set_aside.orphans {
        crate::outln!("skipped {}", o.describe("review or accept it by its path"));
    }
    let pending = set_aside.kept;
    if pending.is_empty() {
        crate::outln!("no other pending goldens");
        return exit::PASS;
    }
    let mut input = std::io::stdin().lock();
    let mut out = std::io::stdout().lock();
    let tally = review_all(&pending, &mut input, &mut out, color);
    let _ = write!(out, "{}", tally.summary());
    let _ = out.flush();
    if tally.failed > 0 {
        exit::USAGE
    } else {
        exit::PASS
    }
}

/// What the reviewer answered, counted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Tally {
    pub accepted: usize,
    pub rejected: usize,
    pub skipped: usize,
    /// Not reached: `q` was typed (or the input ended) before them.
    pub not_reviewed: usize,
    /// Could not be read, promoted or deleted; left in place.
    pub failed: usize,
}

impl Tally {
    /// The closing lines: the counts, then how to come back to what is still pending.
    fn summary(&self) -> String {
        let mut s = format!(
            "\nreview: {} accepted, {} rejected, {} skipped",
            self.accepted, self.rejected, self.skipped
        );
        if self.not_reviewed > 0 {
            s.push_str(&format!(", {} not reviewed", self.not_reviewed));
        }
        if self.failed > 0 {
            s.push_str(&format!(", {} failed", self.failed));
        }
        s.push('\n');
        let left = self.skipped + self.not_reviewed + self.failed;
        if left > 0 {
            s.push_str(&format!(
                "{left} pending golden{} left: `agenttest review` again, or `agenttest accept` / \
                 `agenttest reject`\n",
                if left == 1 { " is" } else { "s are" }
            ));
        }
        s
    }
}

/// One answer to the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Accept,
    Reject,
    Skip,
    Quit,
}

/// Shows each pending file and acts on the answer read from `input`. The end of the input is
/// taken as `q`: nothing is decided for the reviewer.
pub(crate) fn review_all(
    pending: &[PathBuf],
    input: &mut impl BufRead,
    out: &mut impl Write,
    color: bool,
) -> Tally {
    let mut tally = Tally::default();
    for (i, path) in pending.iter().enumerate() {
        let counter = format!("[{}/{}]", i + 1, pending.len());
        if let Err(msg) = show(&counter, path, out, color) {
            let _ = writeln!(out, "error: {msg}; left in place\n");
            tally.failed += 1;
            continue;
        }
        match ask(input, out, color) {
            Answer::Accept => act(&golden::accept(std::slice::from_ref(path)), out, &mut tally),
            Answer::Reject => act(&golden::reject(std::slice::from_ref(path)), out, &mut tally),
            Answer::Skip => {
                tally.skipped += 1;
                let _ = writeln!(out, "skipped: still pending\n");
            }
            Answer::Quit => {
                tally.not_reviewed = pending.len() - i;
                break;
            }
        }
    }
    tally
}

/// Which golden (and, when the pending file says, which dialogue), then the diff from the
/// golden (or `(missing)`) to what accepting would write: the pending file, with what
/// `accept` keeps of the golden put back (see [`as_accepted`]).
fn show(counter: &str, pending: &Path, out: &mut impl Write, color: bool) -> Result<(), String> {
    let golden_path = golden_of(pending);
    let mut title = format!("{counter} {}", golden_path.display());
    let new_bytes = std::fs::read(pending);
    let parsed = new_bytes
        .as_ref()
        .ok()
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|t| golden::parse(&SourceFile::new(pending, t)).ok());
    if let Some(g) = &parsed {
        title.push_str(&format!("  ({} › {})", g.suite, g.dialogue));
    }
    let _ = writeln!(out, "{}", styled(color, BOLD, &title));
    let new_bytes = new_bytes.map_err(|e| format!("failed to read {}: {e}", pending.display()))?;
    let new = String::from_utf8_lossy(&new_bytes);
    let old_bytes = match std::fs::read(&golden_path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("failed to read {}: {e}", golden_path.display())),
    };
    let old = old_bytes
        .as_deref()
        .map(|b| String::from_utf8_lossy(b).into_owned());
    // A pending file that does not parse is shown as it is: accepting it fails and says why.
    let accepted = parsed
        .as_ref()
        .map(|new_parsed| as_accepted(&golden_path, old_bytes.as_deref(), new_parsed, &new));
    let old_label = match &old {
        Some(_) => format!("{} (golden)", golden_path.display()),
        None => "(missing)".to_string(),
    };
    let _ = writeln!(out, "--- {old_label}");
    let written = accepted.as_ref().map_or(new.as_ref(), |a| a.text.as_str());
    let as_written = if written == new {
        ""
    } else {
        ", as accepting writes it"
    };
    let _ = writeln!(out, "+++ {} (pending{as_written})", pending.display());
    let diff = render_diff(old.as_deref().unwrap_or(""), written, color);
    if diff.is_empty() {
        let _ = writeln!(
            out,
            "(no difference: accepting keeps the golden and deletes the pending file)"
        );
    } else {
        let _ = write!(out, "{diff}");
        if !diff.ends_with('\n') {
            let _ = writeln!(out);
        }
    }
    if let Some(a) = &accepted {
        if a.kept_baseline {
            let _ = writeln!(
                out,
                "note: accepting keeps the golden's `baseline:` line, which a plain run does not \
                 record"
            );
        }
        if a.kept_turns {
            let _ = writeln!(
                out,
                "note: accepting keeps each golden turn that still matches, `{WILDCARD}` \
                 wildcards included"
            );
        }
    }
    Ok(())
}

/// What `accept` would write for a pending file, and what of the golden it keeps.
#[derive(Debug)]
struct Accepted {
    text: String,
    /// The pending file has no `baseline:` and the golden's is kept.
    kept_baseline: bool,
    /// Some golden turn that still matches is kept as it is (a `[..]` wildcard, say).
    kept_turns: bool,
}

/// The golden `accept` would write for the pending file `new` (parsed `new_parsed`), so the
/// diff shows what accepting does, not what a run recorded: a plain run records no
/// `baseline:`, which accepting keeps, and a diff that showed it removed would have a reviewer
/// reject a right change to keep it. The rule is `accept`'s own ([`golden::accepted`]); the
/// pending file's own bytes when nothing is kept.
fn as_accepted(golden: &Path, old: Option<&[u8]>, new_parsed: &GoldenFile, new: &str) -> Accepted {
    match golden::accepted(golden, old, new_parsed) {
        None => Accepted {
            text: new.to_string(),
            kept_baseline: false,
            kept_turns: false,
        },
        Some(merged) => Accepted {
            text: golden::render(&merged),
            kept_baseline: merged.baseline != new_parsed.baseline,
            kept_turns: merged.turns != new_parsed.turns,
        },
    }
}

/// The prompt: the answers, and that each needs Enter (a line is read, not a key).
const PROMPT: &str = "a accept · r reject · s skip · q quit, then Enter ›";

/// Prompts until a whole line is one of the answers. The end of the input, and a last line
/// that it cut short (Ctrl-D after `r`, no Enter), is taken as `q`.
fn ask(input: &mut impl BufRead, out: &mut impl Write, color: bool) -> Answer {
    loop {
        let _ = write!(out, "{} ", styled(color, BOLD, PROMPT));
        let _ = out.flush();
        let mut line = String::new();
        match input.read_line(&mut line) {
            Ok(_) if line.ends_with('\n') => {}
            Ok(_) | Err(_) => {
                let _ = writeln!(out);
                return Answer::Quit;
            }
        }
        match parse_answer(&line) {
            Some(answer) => return answer,
            None => {
                let _ = writeln!(
                    out,
                    "type a, r, s or q (or accept, reject, skip, quit), then Enter"
                );
            }
        }
    }
}

/// One of the answers, surrounding whitespace aside and in any case: the letter or the whole
/// word. Only the first letter of `rubbish` is an `r`, so it is no answer: rejecting deletes
/// the pending file, which may be the only copy of what the run saw.
fn parse_answer(line: &str) -> Option<Answer> {
    match line.trim().to_ascii_lowercase().as_str() {
        "a" | "accept" => Some(Answer::Accept),
        "r" | "reject" => Some(Answer::Reject),
        "s" | "skip" => Some(Answer::Skip),
        "q" | "quit" => Some(Answer::Quit),
        _ => None,
    }
}

/// Reports what `accept` or `reject` did with the one file and counts it.
fn act(actions: &[PendingAction], out: &mut impl Write, tally: &mut Tally) {
    for action in actions {
        let line = match action {
            PendingAction::Created(p) => {
                tally.accepted += 1;
                format!("accepted: created {}", p.display())
            }
            PendingAction::Changed(p) => {
                tally.accepted += 1;
                format!("accepted: changed {}", p.display())
            }
            PendingAction::Kept(p) => {
                tally.accepted += 1;
                format!("accepted: {} already had these bytes", p.display())
            }
            PendingAction::Rejected(p) => {
                tally.rejected += 1;
                format!("rejected: deleted {}", p.display())
            }
            PendingAction::Failed(p, msg) => {
                tally.failed += 1;
                format!("error: {}: {msg}", p.display())
            }
        };
        let _ = writeln!(out, "{line}\n");
    }
}

/// `x.yaml.new` → `x.yaml` (what `find_pending` returns always ends in `.new`).
fn golden_of(pending: &Path) -> PathBuf {
    let s = pending.as_os_str().to_string_lossy();
    PathBuf::from(s.strip_suffix(".new").unwrap_or(&s))
}

fn styled(color: bool, style: &str, text: &str) -> String {
    if color {
        format!("{style}{text}{RESET}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = "# agenttest golden transcript. Update with: agenttest run --bless
suite: s
dialogue: d
turns:
  - user: hi
    status: 200
    agent: Hello there!
";

    /// A temp dir with `s.golden/` holding these files.
    fn setup(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let golden_dir = dir.path().join("s.golden");
        std::fs::create_dir(&golden_dir).unwrap();
        for (name, text) in files {
            std::fs::write(golden_dir.join(name), text).unwrap();
        }
        (dir, golden_dir)
    }

    fn review(dir: &Path, answers: &str) -> (Tally, String) {
        let pending = golden::find_pending(&[dir.to_path_buf()]).unwrap();
        let mut out = Vec::new();
        let tally = review_all(&pending, &mut answers.as_bytes(), &mut out, false);
        (tally, String::from_utf8(out).unwrap())
    }

    #[test]
    fn unknown_answers_ask_again_and_the_end_of_input_quits() {
        let new = GOLDEN.replace("Hello there!", "Hi there!");
        let (dir, golden_dir) = setup(&[("d.yaml", GOLDEN), ("d.yaml.new", &new)]);
        let (tally, out) = review(dir.path(), "x\n\n");
        assert_eq!(out.matches("type a, r, s or q").count(), 2, "{out}");
        assert_eq!(
            tally,
            Tally {
                not_reviewed: 1,
                ..Tally::default()
            }
        );
        assert!(out.contains("-    agent: Hello there!"), "{out}");
        assert!(out.contains("+    agent: Hi there!"), "{out}");
        assert!(golden_dir.join("d.yaml.new").exists());
        assert_eq!(
            std::fs::read_to_string(golden_dir.join("d.yaml")).unwrap(),
            GOLDEN
        );
        assert!(tally.summary().contains("1 pending golden is left"));
    }

    #[test]
    fn a_missing_golden_and_wildcards_are_shown_as_such() {
        let wild = GOLDEN.replace("there", "[..]");
        let (dir, g) = setup(&[
            ("a.yaml.new", GOLDEN),
            ("b.yaml", &wild),
            ("b.yaml.new", GOLDEN),
        ]);
        let (tally, out) = review(dir.path(), "A\nq\n");
        assert!(
            out.contains("[1/2]") && out.contains("--- (missing)"),
            "{out}"
        );
        assert!(out.contains("accepted: created"), "{out}");
        // The wildcard turn still matches, so accepting writes the golden as it is.
        assert!(
            out.contains("(no difference: accepting keeps the golden"),
            "{out}"
        );
        assert!(
            out.contains("note: accepting keeps each golden turn"),
            "{out}"
        );
        assert_eq!(tally.accepted, 1);
        assert_eq!(tally.not_reviewed, 1);
        assert_eq!(std::fs::read_to_string(g.join("a.yaml")).unwrap(), GOLDEN);
    }

    #[test]
    fn only_a_whole_answer_counts() {
        for line in ["a\n", " A \n", "accept\n", "ACCEPT\r\n"] {
            assert_eq!(parse_answer(line), Some(Answer::Accept), "{line:?}");
        }
        for (line, answer) in [
            ("r", Answer::Reject),
            ("reject", Answer::Reject),
            ("s", Answer::Skip),
            ("Skip", Answer::Skip),
            ("q", Answer::Quit),
            ("quit", Answer::Quit),
        ] {
            assert_eq!(parse_answer(line), Some(answer), "{line:?}");
        }
        for line in [
            "rubbish", "ask", "ax", "x", "", "  ", "sq", "a r", "quitting", "r!",
        ] {
            assert_eq!(parse_answer(line), None, "{line:?}");
        }
    }

    #[test]
    fn a_word_that_starts_with_an_answer_is_asked_again_and_touches_nothing() {
        let new = GOLDEN.replace("Hello there!", "Hi there!");
        let (dir, golden_dir) = setup(&[("d.yaml", GOLDEN), ("d.yaml.new", &new)]);
        // `r` cut short by the end of the input (Ctrl-D, no Enter) is no answer either.
        let (tally, out) = review(dir.path(), "rubbish\nask\nSkipping\nr");
        assert_eq!(out.matches("type a, r, s or q").count(), 3, "{out}");
        assert_eq!(
            tally,
            Tally {
                not_reviewed: 1,
                ..Tally::default()
            }
        );
        assert_eq!(
            std::fs::read_to_string(golden_dir.join("d.yaml.new")).unwrap(),
            new
        );
        assert_eq!(
            std::fs::read_to_string(golden_dir.join("d.yaml")).unwrap(),
            GOLDEN
        );
    }

    /// A plain run's pending file has no `baseline:`; accepting keeps the golden's, so the
    /// diff does not show it removed, and what is accepted is what the diff showed.
    #[test]
    fn the_diff_is_against_what_accepting_writes() {
        let old = GOLDEN.replace("turns:", "baseline: {runs: 100, passed: 95}\nturns:");
        let new = GOLDEN.replace("Hello there!", "Hi there!");
        let (dir, golden_dir) = setup(&[("d.yaml", &old), ("d.yaml.new", &new)]);
        let (tally, out) = review(dir.path(), "a\n");
        assert!(!out.contains("baseline: {runs"), "{out}");
        assert!(out.contains("-    agent: Hello there!"), "{out}");
        assert!(out.contains("+    agent: Hi there!"), "{out}");
        assert!(
            out.contains("note: accepting keeps the golden's `baseline:`"),
            "{out}"
        );
        assert_eq!(tally.accepted, 1);
        assert_eq!(
            std::fs::read_to_string(golden_dir.join("d.yaml")).unwrap(),
            old.replace("Hello there!", "Hi there!")
        );
    }

    #[test]
    fn the_summary_counts_and_points_back() {
        let t = Tally {
            accepted: 1,
            rejected: 2,
            skipped: 1,
            not_reviewed: 0,
            failed: 0,
        };
        assert_eq!(
            t.summary(),
            "\nreview: 1 accepted, 2 rejected, 1 skipped\n1 pending golden is left: `agenttest \
             review` again, or `agenttest accept` / `agenttest reject`\n"
        );
        assert!(!Tally::default().summary().contains("left"));
    }
}
