//! Golden files on a real filesystem, through the public API: a golden whose directory cannot
//! be written is reported as `Failed` with a clear message, and the old golden stays intact.
//!
//! Tests often run as root in CI, where `chmod 0o555` does not stop a write. The test probes
//! whether a write into the "read-only" directory really fails; if root can write anyway it
//! tries the immutable attribute (`chattr +i`), and if that is not available either it forces
//! the failure with a golden path whose parent is a file or a directory in the golden's place.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use agenttest::judge::golden::{self, GoldenFile, GoldenTurn, PendingAction, Transcript};
use agenttest::record::BlessAction;
use agenttest::suite::model::GoldenMode;

/// A one-turn transcript of a dialogue in mode `exact`.
fn transcript(agent: &str) -> Transcript {
    Transcript {
        file: GoldenFile {
            suite: "support".into(),
            dialogue: "business hours".into(),
            baseline: None,
            turns: vec![GoldenTurn {
                user: "What are your business hours?".into(),
                status: 200,
                agent: agent.into(),
            }],
        },
        mode: GoldenMode::Exact,
    }
}

/// Makes `dir` unwritable for the duration of the guard, however the test ends.
struct ReadOnly {
    dir: PathBuf,
    immutable: bool,
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.immutable {
            let _ = Command::new("chattr").arg("-i").arg(&self.dir).status();
        }
        let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o755));
    }
}

/// Whether creating a file in `dir` fails now.
fn write_blocked(dir: &Path) -> bool {
    let probe = dir.join(".probe");
    match std::fs::write(&probe, b"x") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            false
        }
        Err(_) => true,
    }
}

/// Tries to make `dir` unwritable: `chmod 0o555`, then (for root) `chattr +i`.
fn make_read_only(dir: &Path) -> Option<ReadOnly> {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).ok()?;
    let mut guard = ReadOnly {
        dir: dir.to_path_buf(),
        immutable: false,
    };
    if write_blocked(dir) {
        return Some(guard);
    }
    let chattr = Command::new("chattr").arg("+i").arg(dir).status();
    if chattr.is_ok_and(|s| s.success()) {
        guard.immutable = true;
        if write_blocked(dir) {
            return Some(guard);
        }
    }
    None
}

#[test]
fn write_into_read_only_directory_keeps_old_golden() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("support.golden");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("business-hours.yaml");
    let old_text = golden::render(&transcript("Monday to Friday, 9 AM to 6 PM EST."));
    std::fs::write(&path, &old_text).unwrap();
    let pending = golden::pending_path(&path);
    std::fs::write(&pending, golden::render(&transcript("Every day, 24/7."))).unwrap();

    let Some(_guard) = make_read_only(&dir) else {
        forced_failures(tmp.path());
        return;
    };

    match golden::bless(&path, &transcript("Every day, 24/7."), &[]) {
        BlessAction::Failed(p, msg) => {
            assert_eq!(p, path);
            assert!(msg.contains("failed to write golden"), "{msg}");
            assert!(msg.contains("the old golden is intact"), "{msg}");
        }
        other => panic!("expected a failed bless, got {other:?}"),
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), old_text);

    match &golden::accept(std::slice::from_ref(&pending))[..] {
        [PendingAction::Failed(p, msg)] => {
            assert_eq!(p, &pending);
            assert!(msg.contains("the old golden is intact"), "{msg}");
        }
        other => panic!("expected a failed accept, got {other:?}"),
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), old_text);
    assert!(
        pending.exists(),
        "a pending file that was not promoted stays for review"
    );
    // No temporary file was left behind by the failed writes.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["business-hours.yaml", "business-hours.yaml.new"]);
}

/// When nothing makes a directory unwritable (root without `chattr`): a golden path whose
/// parent is a file, and a directory where the golden should be, both fail cleanly and leave
/// what was there untouched.
fn forced_failures(root: &Path) {
    let file = root.join("support.golden-is-a-file");
    std::fs::write(&file, "keep me").unwrap();
    let path = file.join("business-hours.yaml");
    match golden::bless(&path, &transcript("x"), &[]) {
        BlessAction::Failed(p, msg) => {
            assert_eq!(p, path);
            assert!(msg.contains(&path.display().to_string()), "{msg}");
        }
        other => panic!("expected a failed bless, got {other:?}"),
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");

    let dir_in_place = root.join("other.golden/d.yaml");
    std::fs::create_dir_all(dir_in_place.join("inner")).unwrap();
    assert!(matches!(
        golden::bless(&dir_in_place, &transcript("x"), &[]),
        BlessAction::Failed(..)
    ));
    assert!(dir_in_place.join("inner").is_dir());
}

#[test]
fn forced_failures_without_permissions_tricks() {
    // Runs everywhere, root or not: the fallback itself must hold.
    let tmp = tempfile::tempdir().unwrap();
    forced_failures(tmp.path());
}

#[test]
fn bless_then_compare_then_accept_round_trip() {
    use agenttest::record::GoldenStatus;

    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("support.golden/business-hours.yaml");

    // First run: missing; the pending file is what accept promotes, byte for byte.
    let first = transcript("Monday to Friday, 9 AM to 6 PM EST.");
    let mut check = golden::compare(&path, &first, GoldenMode::Exact, &[]);
    assert_eq!(check.status, GoldenStatus::Missing);
    golden::write_pending(&mut check).unwrap();
    assert!(!path.exists());
    let pending = golden::find_pending(&[tmp.path().to_path_buf()]).unwrap();
    assert_eq!(pending, vec![golden::pending_path(&path)]);
    assert_eq!(
        golden::accept(&pending),
        vec![PendingAction::Created(path.clone())]
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), check.actual);

    // A maintainer loosens the hours by hand; the next run matches through the wildcard.
    let loosened = std::fs::read_to_string(&path)
        .unwrap()
        .replace("9 AM to 6 PM", "[..]");
    std::fs::write(&path, &loosened).unwrap();
    let second = transcript("Monday to Friday, 8 AM to 5 PM EST.");
    let check = golden::compare(&path, &second, GoldenMode::Exact, &[]);
    assert_eq!(check.status, GoldenStatus::Match, "{:?}", check.differences);
    // --bless keeps the loosened turn as it is.
    assert_eq!(
        golden::bless(&path, &second, &[]),
        BlessAction::Unchanged(path.clone())
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), loosened);

    // A real change: pending written, then rejected.
    let third = transcript("We are closed.");
    let mut check = golden::compare(&path, &third, GoldenMode::Exact, &[]);
    assert_eq!(check.status, GoldenStatus::Mismatch);
    golden::write_pending(&mut check).unwrap();
    let pending = golden::find_pending(&[tmp.path().join("support.yaml")]);
    // The suite file does not exist here: a missing path is an error, not an empty list.
    assert!(pending.is_err());
    std::fs::write(tmp.path().join("support.yaml"), "dialogues: []\n").unwrap();
    let pending = golden::find_pending(&[tmp.path().join("support.yaml")]).unwrap();
    assert_eq!(
        golden::reject(&pending),
        vec![PendingAction::Rejected(golden::pending_path(&path))]
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), loosened);
}

#[test]
fn spec_example_fixture_parses_and_renders_byte_for_byte() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/golden/support.golden/business-hours.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let parsed = golden::parse(&agenttest::diag::SourceFile::new(&path, text.as_str())).unwrap();
    assert_eq!(
        parsed,
        transcript("Our business hours are Monday through Friday, 9 AM to 6 PM EST.").file
    );
    assert_eq!(golden::render(&parsed), text);
}

/// SPEC §3.3: what a run passes, `--bless` keeps. For each golden mode and reply, a golden that
/// the comparison passes is left unchanged by a bless of the same transcript, byte for byte,
/// and one it fails is rewritten: the two decide "still matches" alike.
#[test]
fn bless_keeps_a_golden_exactly_when_the_comparison_passes_it() {
    let golden_text = "Open Monday to Friday, 9 AM to 6 PM EST, call us any time.";
    let replies = [
        golden_text,
        "Open Monday to Friday, 9 AM to 6 PM EST, call us any day.",
        "We are open 9am-6pm on weekdays.",
        "We are open 9am-6pm on weekdays, and 10am-2pm on Saturdays.",
        "Open Monday to Friday, 10 AM to 6 PM EST, call us any time.",
        "Sorry, I cannot help with that.",
    ];
    let modes = [
        GoldenMode::Exact,
        GoldenMode::Similar { threshold: 0.8 },
        GoldenMode::Similar { threshold: 0.95 },
        GoldenMode::Facts { strict: false },
        GoldenMode::Facts { strict: true },
        GoldenMode::Judge,
    ];
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("support.golden/business-hours.yaml");
    let old = golden::render(&transcript(golden_text));
    let (mut kept, mut rewritten) = (0, 0);
    for mode in modes {
        for reply in replies {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &old).unwrap();
            let mut actual = transcript(reply);
            actual.mode = mode;
            let passes = golden::compare(&path, &actual, mode, &[]).status
                == agenttest::record::GoldenStatus::Match;
            let action = golden::bless(&path, &actual, &[]);
            if passes {
                kept += 1;
                assert_eq!(
                    action,
                    BlessAction::Unchanged(path.clone()),
                    "{mode:?} {reply:?}"
                );
                assert_eq!(std::fs::read_to_string(&path).unwrap(), old);
            } else {
                rewritten += 1;
                assert_eq!(
                    action,
                    BlessAction::Changed(path.clone()),
                    "{mode:?} {reply:?}"
                );
                let written = std::fs::read_to_string(&path).unwrap();
                assert_eq!(written, golden::render(&actual), "{mode:?} {reply:?}");
            }
        }
    }
    // Both sides are exercised: each mode passes more than its text alone.
    assert!(
        kept > modes.len() && rewritten > modes.len(),
        "{kept} kept, {rewritten} rewritten"
    );
}
