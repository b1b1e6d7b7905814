//! Files that are not what they seem, driven through the real binary: reports written to
//! devices, FIFOs and symbolic links (never renamed over), and suites directories holding link
//! loops, FIFOs, links to `/dev/zero` and oversized files (docs/files.md).
//!
//! Every device, FIFO and link is made inside the test's own temporary directory. Each child
//! runs under a time limit and a 2 GiB address-space limit, so a regression (a read that
//! blocks on a FIFO, an endless read of `/dev/zero`) fails the test instead of hanging CI or
//! eating the machine's memory.
#![cfg(unix)]

mod common;

use std::io::Read;
use std::os::unix::fs::{symlink, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{assert_code, stderr, stdout, Workspace};

/// Long enough for a debug build on a loaded 2-core machine; every run here takes well under
/// a second when nothing hangs.
const LIMIT: Duration = Duration::from_secs(30);

/// `agenttest ARGS` in `dir`, its address space capped (through `sh`'s `ulimit`, which then
/// `exec`s the binary) with the same clean environment as `common::agenttest`.
fn bounded(dir: &Path, args: &[&str]) -> Command {
    let base = common::agenttest();
    let mut cmd = Command::new("sh");
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.arg("-c")
        .arg("ulimit -v 2097152 && exec \"$0\" \"$@\"")
        .arg(common::bin())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs `cmd` to the end, or kills it and fails after [`LIMIT`].
#[track_caller]
fn finish(mut cmd: Command) -> Output {
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn agenttest");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("agenttest {cmd:?} did not finish within {LIMIT:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

#[track_caller]
fn run(dir: &Path, args: &[&str]) -> Output {
    finish(bounded(dir, args))
}

/// A workspace holding the one-dialogue suite of `fixtures/hardening/suite.yaml`, which passes
/// against the built-in mock.
fn workspace() -> Workspace {
    let ws = Workspace::new();
    let text = std::fs::read_to_string(common::fixture("hardening/suite.yaml")).expect("fixture");
    ws.write("suite.yaml", &text);
    ws
}

fn mkfifo(p: &Path) {
    let ok = Command::new("mkfifo").arg(p).status().expect("mkfifo");
    assert!(ok.success(), "mkfifo {}", p.display());
}

/// A character device with `major:minor` at `path` (1:3 is `/dev/null`, 1:7 `/dev/full`), or
/// `None` with the reason printed when this process may not make or use one.
fn char_device(path: &Path, major: u32, minor: u32) -> Option<PathBuf> {
    // SAFETY: geteuid reads the calling process's uid; no memory is involved.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: making a device node needs root");
        return None;
    }
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    let rc = unsafe {
        libc::mknod(
            c.as_ptr(),
            libc::S_IFCHR | 0o666,
            libc::makedev(major, minor),
        )
    };
    if rc != 0 {
        eprintln!(
            "skipped: mknod failed ({}): no CAP_MKNOD here",
            std::io::Error::last_os_error()
        );
        return None;
    }
    // A `nodev` mount makes device nodes unusable: nothing to test there.
    if let Err(e) = std::fs::OpenOptions::new().write(true).open(path) {
        eprintln!("skipped: the device node cannot be opened here ({e})");
        return None;
    }
    Some(path.to_path_buf())
}

#[track_caller]
fn assert_char_device(path: &Path, major: u32, minor: u32) {
    let m = std::fs::symlink_metadata(path).expect("stat");
    assert!(
        m.file_type().is_char_device(),
        "{} is no longer a character device",
        path.display()
    );
    assert_eq!(m.rdev(), libc::makedev(major, minor));
}

#[track_caller]
fn assert_link(path: &Path, to: &str) {
    let m = std::fs::symlink_metadata(path).expect("stat");
    assert!(
        m.file_type().is_symlink(),
        "{} lost its link",
        path.display()
    );
    assert_eq!(std::fs::read_link(path).expect("readlink"), Path::new(to));
}

// ---------------------------------------------------------------------------------------------
// Reports

#[test]
fn reports_to_a_null_device_are_written_through_it() {
    let ws = workspace();
    let Some(null) = char_device(&ws.path().join("null"), 1, 3) else {
        return;
    };
    let o = run(
        ws.path(),
        &["run", "suite.yaml", "--json", "null", "--junit", "null"],
    );
    assert_code(&o, 0);
    assert_char_device(&null, 1, 3);
    // Nothing was left beside it either.
    let mut names: Vec<String> = std::fs::read_dir(ws.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["null", "suite.yaml"]);
}

#[test]
fn a_full_device_is_a_reported_error_and_stays_a_device() {
    let ws = workspace();
    let Some(full) = char_device(&ws.path().join("full"), 1, 7) else {
        return;
    };
    let o = run(ws.path(), &["run", "suite.yaml", "--json", "full"]);
    // The dialogue passed, but the gate did not do what was asked.
    assert_code(&o, 3);
    let err = stderr(&o);
    assert!(
        err.contains("error: failed to write the JSON report full: No space left on device"),
        "{err}"
    );
    assert_char_device(&full, 1, 7);
}

#[test]
fn a_symlinked_report_keeps_its_link_and_its_target_is_replaced() {
    let ws = workspace();
    ws.write("artifacts/report.xml", "stale");
    symlink("artifacts/report.xml", ws.path().join("report.xml")).unwrap();
    // A link to a report that does not exist yet creates it.
    symlink("artifacts/run.json", ws.path().join("run.json")).unwrap();
    let o = run(
        ws.path(),
        &[
            "run",
            "suite.yaml",
            "--junit",
            "report.xml",
            "--json",
            "run.json",
        ],
    );
    assert_code(&o, 0);
    assert_link(&ws.path().join("report.xml"), "artifacts/report.xml");
    assert_link(&ws.path().join("run.json"), "artifacts/run.json");
    let xml = ws.read("artifacts/report.xml");
    assert!(xml.contains("<testcase name=\"hello\""), "{xml}");
    common::assert_valid_junit(&ws.path().join("artifacts/report.xml"));
    let json: serde_json::Value = serde_json::from_str(&ws.read("artifacts/run.json")).unwrap();
    assert_eq!(json["run"]["totals"]["passed"], 1);
}

/// `--junit /dev/stdout`, spelled as a link in the temporary directory so that a regression
/// replaces only that link, never the machine's `/dev/stdout`. The report is all that stdout
/// carries (a pipe to an XML or JSON reader parses it); the console moves to stderr.
#[cfg(target_os = "linux")]
#[test]
fn a_report_to_stdout_goes_to_stdout() {
    let ws = workspace();
    let out = ws.path().join("out");
    symlink("/dev/stdout", &out).unwrap();
    let o = run(ws.path(), &["run", "suite.yaml", "--junit", "out"]);
    assert_code(&o, 0);
    assert_link(&out, "/dev/stdout");
    let text = stdout(&o);
    assert!(text.starts_with("<?xml"), "{text}");
    assert!(text.trim_end().ends_with("</testsuites>"), "{text}");
    assert!(text.contains("<testcase name=\"hello\""), "{text}");
    let err = stderr(&o);
    assert!(
        err.contains("PASS") && err.contains("1 passed, 0 failed"),
        "{err}"
    );
}

/// `--json -` is standard output, as for any tool's output file: `agenttest run --json - | jq`
/// reads the report and nothing else, and no file named `-` appears.
#[test]
fn a_report_to_dash_is_stdout_alone() {
    let ws = workspace();
    let o = run(ws.path(), &["run", "suite.yaml", "--json", "-"]);
    assert_code(&o, 0);
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&o)).expect("stdout is the JSON report alone");
    assert_eq!(json["run"]["totals"]["passed"], 1);
    assert!(stderr(&o).contains("1 passed, 0 failed"), "{}", stderr(&o));
    assert!(!ws.path().join("-").exists());
}

/// `agenttest run --junit /dev/stdout > file`: the report lands in the file after what the
/// run printed, as a write to the descriptor would; the file is not swapped for another.
#[cfg(target_os = "linux")]
#[test]
fn a_report_to_stdout_redirected_to_a_file_is_appended_to_it() {
    let ws = workspace();
    let out = ws.path().join("out");
    symlink("/dev/stdout", &out).unwrap();
    let file = std::fs::File::create(ws.path().join("console.txt")).unwrap();
    let ino = file.metadata().unwrap().ino();
    let mut cmd = bounded(ws.path(), &["run", "suite.yaml", "--junit", "out"]);
    cmd.stdout(file);
    let o = finish(cmd);
    assert_code(&o, 0);
    assert_link(&out, "/dev/stdout");
    let text = ws.read("console.txt");
    assert!(text.starts_with("<?xml"), "{text}");
    assert!(text.contains("<testcase name=\"hello\""), "{text}");
    assert!(stderr(&o).contains("PASS"), "{}", stderr(&o));
    let after = std::fs::metadata(ws.path().join("console.txt")).unwrap();
    assert_eq!(after.ino(), ino, "the redirected file was replaced");
}

#[test]
fn a_report_to_a_fifo_reaches_its_reader() {
    let ws = workspace();
    let fifo = ws.path().join("report.json");
    mkfifo(&fifo);
    // Opened before the run, non-blocking: the report (a few KiB) fits in the pipe's buffer.
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let o = run(ws.path(), &["run", "suite.yaml", "--json", "report.json"]);
    assert_code(&o, 0);
    let mut text = String::new();
    reader.read_to_string(&mut text).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).expect("the report came through");
    assert_eq!(json["run"]["totals"]["passed"], 1);
    let m = std::fs::symlink_metadata(&fifo).unwrap();
    assert!(m.file_type().is_fifo(), "the FIFO was replaced");
}

/// Refused before anything is sent (a usage error), not found out after the whole run.
#[test]
fn a_report_over_a_directory_is_an_error() {
    let ws = workspace();
    std::fs::create_dir(ws.path().join("out.xml")).unwrap();
    let o = run(ws.path(), &["run", "suite.yaml", "--junit", "out.xml"]);
    assert_code(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("--junit out.xml: is a directory"), "{err}");
    assert!(!err.contains("PASS"), "{err}");
    assert!(ws.path().join("out.xml").is_dir());
}

// ---------------------------------------------------------------------------------------------
// Suites

fn suites_dir(ws: &Workspace) -> PathBuf {
    let text = std::fs::read_to_string(common::fixture("hardening/suite.yaml")).expect("fixture");
    ws.write("suites/x/a.yaml", &text);
    ws.path().join("suites")
}

#[test]
fn validate_ends_on_a_symlink_loop_and_finds_each_suite_once() {
    let ws = Workspace::new();
    let suites = suites_dir(&ws);
    std::fs::create_dir_all(suites.join("y/z")).unwrap();
    // Loops up, across and to the top, and two names for one directory.
    symlink("..", suites.join("x/up")).unwrap();
    symlink("../..", suites.join("y/z/top")).unwrap();
    symlink("../x", suites.join("y/x")).unwrap();
    symlink("../../y", suites.join("x/y")).unwrap();
    let started = Instant::now();
    let o = run(ws.path(), &["validate", "suites"]);
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains("1 suite and 1 dialogue are valid"),
        "{}",
        stdout(&o)
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let o = run(ws.path(), &["list", "suites"]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o).lines().count(), 1, "{}", stdout(&o));
}

#[test]
fn a_fifo_named_like_a_suite_is_an_error_not_a_hang() {
    let ws = Workspace::new();
    let suites = suites_dir(&ws);
    mkfifo(&suites.join("x/pipe.yaml"));
    let o = run(ws.path(), &["validate", "suites"]);
    assert_code(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("error: `suites/x/pipe.yaml` is not a regular file"),
        "{err}"
    );
    assert!(err.contains("it is a FIFO"), "{err}");

    // Named on the command line, and through `run`: the same, and nothing is sent.
    let o = run(ws.path(), &["run", "suites/x/pipe.yaml"]);
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains("is not a regular file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_suite_linked_to_dev_zero_is_refused_without_reading() {
    let ws = Workspace::new();
    let suites = suites_dir(&ws);
    symlink("/dev/zero", suites.join("zero.yaml")).unwrap();
    symlink("/dev/zero", ws.path().join("named")).unwrap();
    let o = run(ws.path(), &["validate", "suites", "named"]);
    assert_code(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("`suites/zero.yaml` is not a regular file"),
        "{err}"
    );
    assert!(err.contains("`named` is not a regular file"), "{err}");
    assert_eq!(err.matches("it is a character device").count(), 2, "{err}");
}

#[test]
fn a_suite_over_the_size_cap_is_a_clear_error() {
    let ws = Workspace::new();
    let suites = suites_dir(&ws);
    // Sparse: 16 MiB and one byte on paper, no disk written.
    let big = std::fs::File::create(suites.join("big.yaml")).unwrap();
    big.set_len(16 * 1024 * 1024 + 1).unwrap();
    let o = run(ws.path(), &["validate", "suites"]);
    assert_code(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("error: failed to read `suites/big.yaml`"),
        "{err}"
    );
    assert!(
        err.contains("the file is larger than the 16 MiB limit"),
        "{err}"
    );
    // Only that file: the other suite was checked. (A file exactly at the cap is read: a unit
    // test of fsutil, as parsing 16 MiB here would take seconds.)
    assert!(err.contains("1 error found"), "{err}");
}

/// `mock --replay` (and `base_url: replay`) collects goldens from the suites directory; with a
/// link loop under it, it must start, not walk forever.
#[test]
fn replay_starts_despite_a_symlink_loop() {
    let ws = Workspace::new();
    let suites = suites_dir(&ws);
    let text = ws
        .read("suites/x/a.yaml")
        .replace("golden: false", "golden: true");
    ws.write("suites/x/a.yaml", &text);
    let o = run(ws.path(), &["run", "suites", "--bless"]);
    assert_code(&o, 0);
    assert!(ws.exists("suites/x/a.golden/hello.yaml"));
    std::fs::create_dir_all(suites.join("y")).unwrap();
    symlink("..", suites.join("x/up")).unwrap();
    symlink("../..", suites.join("y/top")).unwrap();
    symlink("../x", suites.join("y/x")).unwrap();

    let mut cmd = bounded(
        ws.path(),
        &["mock", "--addr", "127.0.0.1:0", "--replay", "suites"],
    );
    cmd.stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn mock");
    let pipe = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = rx.recv_timeout(LIMIT);
    let _ = child.kill();
    let _ = child.wait();
    let line = first.expect("the mock never said it was listening: the walk does not end");
    assert!(line.starts_with("listening on http://127.0.0.1:"), "{line}");
}

/// A report path is readied before anything is sent, through links: a link to a file in a
/// directory that does not exist yet gets that directory (the report lands at the link's
/// target), and a directory that takes no file (`/sys`) is a usage error naming the flag and
/// the directory, not the scratch file a write makes there, with no dialogue run.
#[test]
fn a_report_path_is_readied_through_links_before_anything_is_sent() {
    let ws = workspace();
    symlink("later/dir/r.xml", ws.path().join("dangling.xml")).expect("symlink");
    let out = run(ws.path(), &["run", "suite.yaml", "--junit", "dangling.xml"]);
    assert_code(&out, 0);
    assert!(ws.read("later/dir/r.xml").contains("<testsuites"));
    assert_link(&ws.path().join("dangling.xml"), "later/dir/r.xml");

    let out = run(
        ws.path(),
        &["run", "suite.yaml", "--junit", "/sys/agenttest-r.xml"],
    );
    assert_code(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("--junit /sys/agenttest-r.xml: cannot write in /sys"),
        "{err}"
    );
    assert!(!err.contains(".agenttest-"), "{err}");
    assert!(!stdout(&out).contains("PASS"), "{}", stdout(&out));
}

/// Ctrl-C while the reports are written (here a FIFO with no reader, which the writer waits
/// for) still ends the run as interrupted, exit 130 as its notice says, not 3 for a report
/// that could not be written: SPEC §4, whatever the reports' readers do.
#[test]
fn ctrl_c_while_the_reports_are_written_exits_130() {
    let ws = workspace();
    let fifo = ws.path().join("junit.xml");
    mkfifo(&fifo);
    let mut cmd = bounded(ws.path(), &["run", "suite.yaml", "--junit", "junit.xml"]);
    let child = cmd.spawn().expect("spawn agenttest");
    // The one dialogue takes milliseconds; then the writer waits for the FIFO's reader.
    std::thread::sleep(Duration::from_secs(2));
    // The shell `exec`s agenttest, so the child's pid is agenttest's.
    common::signal(child.id(), "INT");
    let out = child.wait_with_output().expect("wait");
    assert_code(&out, 130);
    assert!(stdout(&out).contains("PASS"), "{}", stdout(&out));
}
