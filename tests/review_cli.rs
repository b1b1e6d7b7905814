//! `agenttest review` as a person uses it: the real binary on a pseudo-terminal (`openpty`),
//! pending goldens made by a real run against the built-in mock, answers typed one prompt at a
//! time, then the files on disk checked. And without a terminal: exit 2, nothing touched.

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::agenttest;

const PROMPT: &str = "a accept · r reject · s skip · q quit, then Enter ›";

/// A pseudo-terminal whose slave side is the child's stdin, stdout and stderr; everything the
/// child writes is collected from the master side by a thread.
struct Terminal {
    master: File,
    output: Arc<Mutex<Vec<u8>>>,
    child: Child,
}

impl Terminal {
    fn spawn(mut cmd: Command) -> Terminal {
        let (master, slave) = openpty();
        let child = cmd
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .spawn()
            .expect("spawn agenttest on the terminal");
        // The command holds our copies of the slave side; dropping it closes them, so that
        // reading the master ends once the child exits.
        drop(cmd);
        let master = File::from(master);
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once every slave descriptor is closed: the end of the output.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Terminal {
            master,
            output,
            child,
        }
    }

    /// Everything written so far, as bytes (colors included).
    fn raw(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Everything written so far as a person reads it: no colors, no carriage returns.
    fn text(&self) -> String {
        plain(&self.raw())
    }

    /// Waits until `needle` has appeared `count` times.
    fn wait_for(&self, needle: &str, count: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.text();
            if text.matches(needle).count() >= count {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "waited 30 s for {count}× {needle:?}; the terminal shows:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn type_line(&mut self, line: &str) {
        self.master
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
        self.master.flush().unwrap();
    }

    /// The exit code, once the child has ended (killed after 30 s).
    fn wait(mut self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("review did not exit; the terminal shows:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Let the reader drain what the child wrote last.
        std::thread::sleep(Duration::from_millis(100));
        (status.code().unwrap_or(-1), self.text())
    }
}

/// A new pseudo-terminal: (master, slave).
fn openpty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two descriptors it opened into the two ints; the null pointers
    // ask for no name, default terminal settings and no window size.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are open and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// Drops ANSI escape sequences and carriage returns (the terminal turns `\n` into `\r\n`).
fn plain(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else if c != '\r' {
            out.push(c);
        }
    }
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `agenttest init`, then three goldens spoiled and a run against the mock, which leaves the
/// three pending files: one for a missing golden, two for changed ones.
struct Pending {
    dir: tempfile::TempDir,
}

impl Pending {
    fn make() -> Pending {
        let dir = tempfile::tempdir().unwrap();
        let out = agenttest()
            .arg("init")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let p = Pending { dir };
        std::fs::remove_file(p.golden("business-hours")).unwrap();
        for name in ["order-follow-up", "refund-policy"] {
            let text = read(&p.golden(name)).replace("business days", "working days");
            std::fs::write(p.golden(name), text).unwrap();
        }
        let run = agenttest()
            .args(["run", "-q"])
            .current_dir(p.path())
            .output()
            .unwrap();
        assert_eq!(
            run.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&run.stdout)
        );
        for name in ["business-hours", "order-follow-up", "refund-policy"] {
            assert!(
                p.pending(name).exists(),
                "{name}: the run wrote no pending file"
            );
        }
        p
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn golden(&self, name: &str) -> PathBuf {
        self.path()
            .join(format!("suites/support.golden/{name}.yaml"))
    }

    fn pending(&self, name: &str) -> PathBuf {
        self.path()
            .join(format!("suites/support.golden/{name}.yaml.new"))
    }

    fn snapshot(&self, name: &str) -> (Option<String>, Option<String>) {
        let get = |p: PathBuf| std::fs::read_to_string(p).ok();
        (get(self.golden(name)), get(self.pending(name)))
    }

    fn review(&self) -> Terminal {
        let mut cmd = agenttest();
        cmd.arg("review").current_dir(self.path());
        Terminal::spawn(cmd)
    }
}

#[test]
fn accept_reject_and_skip_one_each_on_a_terminal() {
    let p = Pending::make();
    let hours_new = read(&p.pending("business-hours"));
    let (order_golden, _) = p.snapshot("order-follow-up");
    let refund_before = p.snapshot("refund-policy");

    let mut term = p.review();
    let first = term.wait_for(PROMPT, 1);
    assert!(
        first.contains(
            "[1/3] suites/support.golden/business-hours.yaml  (support › business hours)"
        ),
        "{first}"
    );
    assert!(first.contains("--- (missing)"), "{first}");
    assert!(
        first.contains("+    agent: Our business hours are Monday through Friday"),
        "{first}"
    );
    term.type_line("a");

    let second = term.wait_for(PROMPT, 2);
    assert!(
        second.contains("accepted: created suites/support.golden/business-hours.yaml"),
        "{second}"
    );
    assert!(
        second.contains("[2/3] suites/support.golden/order-follow-up.yaml"),
        "{second}"
    );
    assert!(
        second.contains("--- suites/support.golden/order-follow-up.yaml (golden)"),
        "{second}"
    );
    assert!(second.contains("-    agent: I found your order <ORDER>. It is being packed and will ship within 2 working days."), "{second}");
    assert!(second.contains("+    agent: I found your order <ORDER>. It is being packed and will ship within 2 business days."), "{second}");
    // On a terminal the changed word is emphasized apart from the rest of its line.
    assert!(
        term.raw().contains("\x1b[1;7;31mworking"),
        "no word highlight:\n{:?}",
        term.raw()
    );
    term.type_line("r");

    term.wait_for(PROMPT, 3);
    term.type_line("s");
    let (code, text) = term.wait();
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("rejected: deleted suites/support.golden/order-follow-up.yaml.new"),
        "{text}"
    );
    assert!(
        text.contains("review: 1 accepted, 1 rejected, 1 skipped"),
        "{text}"
    );
    assert!(text.contains("1 pending golden is left"), "{text}");

    // Accepted: the golden is the pending file, which is gone.
    assert_eq!(p.snapshot("business-hours"), (Some(hours_new), None));
    // Rejected: the golden untouched, the pending file gone.
    assert_eq!(p.snapshot("order-follow-up"), (order_golden, None));
    // Skipped: both untouched.
    assert_eq!(p.snapshot("refund-policy"), refund_before);
}

#[test]
fn quit_leaves_everything_pending_and_unknown_keys_ask_again() {
    let p = Pending::make();
    let before: Vec<_> = ["business-hours", "order-follow-up", "refund-policy"]
        .map(|n| p.snapshot(n))
        .into();
    let mut term = p.review();
    term.wait_for(PROMPT, 1);
    term.type_line("x");
    let text = term.wait_for(PROMPT, 2);
    assert!(
        text.contains("type a, r, s or q (or accept, reject, skip, quit), then Enter"),
        "{text}"
    );
    term.type_line("q");
    let (code, text) = term.wait();
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("review: 0 accepted, 0 rejected, 0 skipped, 3 not reviewed"),
        "{text}"
    );
    assert!(!text.contains("[2/3]"), "{text}");
    let after: Vec<_> = ["business-hours", "order-follow-up", "refund-policy"]
        .map(|n| p.snapshot(n))
        .into();
    assert_eq!(before, after);
}

/// A typo is asked again, never taken for the answer its first letter is: `rubbish` once
/// rejected (deleted the pending file), `ask` and `ax` accepted.
#[test]
fn a_word_that_starts_with_an_answer_is_no_answer() {
    let p = Pending::make();
    let names = ["business-hours", "order-follow-up", "refund-policy"];
    let before: Vec<_> = names.map(|n| p.snapshot(n)).into();
    let mut term = p.review();
    term.wait_for(PROMPT, 1);
    for (i, typo) in ["rubbish", "ask", "ax", "Skipping", "quitting"]
        .iter()
        .enumerate()
    {
        term.type_line(typo);
        let text = term.wait_for(PROMPT, i + 2);
        assert_eq!(
            text.matches("type a, r, s or q").count(),
            i + 1,
            "{typo}: {text}"
        );
    }
    assert!(!term.text().contains("[2/3]"), "{}", term.text());
    // The whole words are answers, in any case and with spaces around them.
    term.type_line("  Skip ");
    term.wait_for(PROMPT, 7);
    term.type_line("QUIT");
    let (code, text) = term.wait();
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("review: 0 accepted, 0 rejected, 1 skipped, 2 not reviewed"),
        "{text}"
    );
    let after: Vec<_> = names.map(|n| p.snapshot(n)).into();
    assert_eq!(before, after);
}

/// Ctrl-D after a letter, with no Enter, decides nothing: the input ended.
#[test]
fn the_end_of_input_after_a_letter_decides_nothing() {
    let p = Pending::make();
    let before = p.snapshot("business-hours");
    let mut term = p.review();
    term.wait_for(PROMPT, 1);
    // VEOF (Ctrl-D) hands `r` to the reader without a line end; the second one ends the input.
    term.master.write_all(b"r\x04\x04").unwrap();
    term.master.flush().unwrap();
    let (code, text) = term.wait();
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("3 not reviewed"), "{text}");
    assert_eq!(p.snapshot("business-hours"), before);
}

/// A golden's recorded `baseline:` is kept by accepting, though a plain run's pending file has
/// none: the diff shows what accepting writes, so the baseline is not shown as removed.
#[test]
fn the_diff_does_not_show_a_kept_baseline_as_removed() {
    let p = Pending::make();
    let golden = p.golden("order-follow-up");
    let recorded = read(&golden).replace("turns:", "baseline: {runs: 10, passed: 9}\nturns:");
    std::fs::write(&golden, &recorded).unwrap();
    let pending = read(&p.pending("order-follow-up"));
    assert!(!pending.contains("baseline:"), "{pending}");

    let mut term = p.review();
    term.wait_for(PROMPT, 1);
    term.type_line("s");
    let text = term.wait_for(PROMPT, 2);
    assert!(
        text.contains("[2/3] suites/support.golden/order-follow-up.yaml"),
        "{text}"
    );
    assert!(!text.contains("baseline: {runs: 10"), "{text}");
    assert!(
        text.contains("order-follow-up.yaml.new (pending, as accepting writes it)"),
        "{text}"
    );
    assert!(
        text.contains("note: accepting keeps the golden's `baseline:` line"),
        "{text}"
    );
    assert!(text.contains("+    agent: I found your order"), "{text}");
    term.type_line("a");
    term.wait_for(PROMPT, 3);
    term.type_line("q");
    let (code, text) = term.wait();
    assert_eq!(code, 0, "{text}");
    // What was accepted is what the diff showed: the pending transcript, the baseline kept.
    assert_eq!(
        read(&golden),
        pending.replace("turns:", "baseline: {runs: 10, passed: 9}\nturns:")
    );
}

/// A pending file whose dialogue was renamed since the run: the run warns it has no dialogue
/// behind it, so `accept` and `review` of the suite leave it alone and say so; named by its
/// own path it is promoted.
#[test]
fn a_pending_file_with_no_dialogue_behind_it_is_promoted_only_by_its_path() {
    let p = Pending::make();
    let suite = p.path().join("suites/support.yaml");
    let text = read(&suite).replace("- name: refund policy", "- name: refund rules");
    std::fs::write(&suite, text).unwrap();
    let refund_before = p.snapshot("refund-policy");
    let skipped = "suites/support.golden/refund-policy.yaml.new: no dialogue of \
                   suites/support.yaml has this golden (renamed or removed?)";

    // review of the default `suites/`: the orphan is set aside before the walk.
    let mut term = p.review();
    let first = term.wait_for(PROMPT, 1);
    assert!(first.contains(&format!("skipped {skipped}")), "{first}");
    assert!(
        first.contains("[1/2] suites/support.golden/business-hours.yaml"),
        "{first}"
    );
    term.type_line("q");
    let (code, text) = term.wait();
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("2 not reviewed"), "{text}");

    for args in [&["accept", "suites/support.yaml"][..], &["accept"][..]] {
        let out = agenttest()
            .args(args)
            .current_dir(p.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stdout}");
        assert!(
            stdout.contains(&format!(
                "skipped   {skipped}; accept it by its path to promote it anyway"
            )),
            "{args:?}: {stdout}"
        );
        assert_eq!(p.snapshot("refund-policy"), refund_before, "{args:?}");
    }
    assert!(!p.pending("business-hours").exists());
    assert!(!p.pending("order-follow-up").exists());

    let out = agenttest()
        .args(["accept", "suites/support.golden/refund-policy.yaml.new"])
        .current_dir(p.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("changed   suites/support.golden/refund-policy.yaml"),
        "{stdout}"
    );
    assert_eq!(
        p.snapshot("refund-policy"),
        (refund_before.1, None),
        "promoted byte for byte"
    );
}

/// `review` takes paths as `accept` and `reject` do: a golden named by its own path is reviewed
/// by its pending file, or said to have none; a `.yaml` that is no suite (a mock script) is
/// refused with exit 2 (found by an audit: all three said "no pending goldens").
#[test]
fn a_golden_named_by_its_path_is_reviewed_by_its_pending_file() {
    let p = Pending::make();
    let before = p.snapshot("order-follow-up");
    let on_terminal = |args: &[&str]| {
        let mut cmd = agenttest();
        cmd.arg("review").args(args).current_dir(p.path());
        Terminal::spawn(cmd)
    };
    let golden = "suites/support.golden/order-follow-up.yaml";
    let mut term = on_terminal(&[golden]);
    let shown = term.wait_for(PROMPT, 1);
    assert!(shown.contains(&format!("[1/1] {golden}")), "{shown}");
    term.type_line("r");
    let (code, text) = term.wait();
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("review: 0 accepted, 1 rejected, 0 skipped"),
        "{text}"
    );
    assert_eq!(p.snapshot("order-follow-up"), (before.0, None));
    assert!(p.pending("refund-policy").exists(), "only the golden named");

    let (code, text) = on_terminal(&[golden]).wait();
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!(
            "no pending golden for {golden} ({golden}.new does not exist)"
        )),
        "{text}"
    );

    std::fs::write(
        p.path().join("suites/mock.yaml"),
        "turns:\n  - match: hi\n    reply: hello\n",
    )
    .unwrap();
    let (code, text) = on_terminal(&["suites/mock.yaml", "--color", "never"]).wait();
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("error: not a suite, a directory or a pending golden"),
        "{text}"
    );
    assert!(text.contains("no `dialogues:`"), "{text}");
    assert!(p.pending("refund-policy").exists());
}

#[test]
fn nothing_pending_on_a_terminal_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("suites")).unwrap();
    let mut cmd = agenttest();
    cmd.arg("review").current_dir(dir.path());
    let (code, text) = Terminal::spawn(cmd).wait();
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("no pending goldens"), "{text}");
}

#[test]
fn without_a_terminal_it_exits_2_names_accept_and_reject_and_changes_nothing() {
    let p = Pending::make();
    let before = p.snapshot("order-follow-up");
    // stdin is /dev/null and stdout a pipe, as in CI.
    let out = agenttest()
        .arg("review")
        .current_dir(p.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("needs a terminal"), "{stderr}");
    assert!(stderr.contains("agenttest accept"), "{stderr}");
    assert!(stderr.contains("agenttest reject"), "{stderr}");
    assert_eq!(p.snapshot("order-follow-up"), before);
    assert!(p.pending("business-hours").exists());

    // A terminal on stdin alone is not enough: the diff would go to a pipe nobody reads.
    let (_master, slave) = openpty();
    let out = agenttest()
        .arg("review")
        .current_dir(p.path())
        .stdin(Stdio::from(slave))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(p.pending("business-hours").exists());
}

#[test]
fn accept_and_reject_help_say_they_take_a_new_file_or_a_directory() {
    for cmd in ["accept", "reject", "review"] {
        let out = agenttest().args([cmd, "--help"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains(".yaml.new"), "{cmd}: {help}");
        assert!(help.contains("directories searched for"), "{cmd}: {help}");
    }
}
