//! Hardening items, checked as a user meets them: the real binary against the real mock on
//! loopback. Signals that win whatever the console's pipes do; errors that say where the
//! request went (never the key); explanations that say each thing once; `-v` timings and the
//! order of the failure list; broken goldens that leave a pending file `accept` can promote;
//! config files that are empty or only a comment.
//!
//! Unix only: signals, pipes and FIFOs through libc.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use common::*;

const KEY: &str = "ak_test_hardening2";

fn agent() -> Mock {
    Mock::start(&fixture("hardening2/agent.yaml"))
}

/// A suite of `dialogues` (YAML, indented as list items) against `base_url`.
fn suite(base_url: &str, dialogues: &str) -> String {
    format!(
        "endpoint: {{base_url: \"{base_url}\", agent_id: ag_h2, api_key: {KEY}, retries: 0, \
         timeout: 60s}}\ndialogues:\n{dialogues}"
    )
}

// ---- Two reports at one file ------------------------------------------------------------

/// Two report flags naming one file would leave only the report written last: refused as a
/// usage error before anything is sent, however the path is spelled (`./`, `..`, a link).
/// A device takes both.
#[test]
fn two_reports_at_one_file_are_refused_before_anything_is_sent() {
    let mock = agent();
    let ws = Workspace::with(
        "s.yaml",
        &suite(
            &mock.url,
            "  - name: one\n    golden: false\n    turns: [{user: hello}]\n",
        ),
    );
    std::fs::create_dir(ws.path().join("sub")).expect("mkdir");
    std::os::unix::fs::symlink("out.json", ws.path().join("link.xml")).expect("symlink");
    for args in [
        ["--json", "out.json", "--junit", "out.json"],
        ["--json", "./out.json", "--junit", "out.json"],
        ["--json", "out.json", "--html", "sub/../out.json"],
        ["--junit", "link.xml", "--json", "out.json"],
        // Through a directory not made yet: made, it would lead back to out.json.
        ["--json", "out.json", "--junit", "nosuch/../out.json"],
    ] {
        let out = run_in(ws.path(), &[&["run", "s.yaml"][..], &args[..]].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("one report would replace the other"),
            "{args:?}: {stderr}"
        );
        assert!(!ws.path().join("out.json").exists(), "{args:?}");
        assert!(!ws.path().join("nosuch").exists(), "{args:?}: made nothing");
    }
    assert!(mock.requests().is_empty(), "sent: {:?}", mock.requests());
    let out = run_in(
        ws.path(),
        &[
            "run",
            "s.yaml",
            "--json",
            "/dev/null",
            "--junit",
            "/dev/null",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CI job names its reports inside a directory a fresh checkout does not have
/// (`--junit reports/junit.xml`): the directories are made and every report lands, for `run`
/// and for `merge`. A directory that cannot be made (a file in its place) is refused before
/// anything is sent, naming the flag, instead of failing after the whole run.
#[test]
fn report_directories_are_made_and_a_file_in_the_way_is_refused_first() {
    let mock = agent();
    let ws = Workspace::with(
        "s.yaml",
        &suite(
            &mock.url,
            "  - name: one\n    golden: false\n    turns: [{user: hello}]\n",
        ),
    );
    let out = run_in(
        ws.path(),
        &[
            "run",
            "s.yaml",
            "--junit",
            "reports/junit/run.xml",
            "--json",
            "reports/run.json",
            "--html",
            "html/run.html",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for report in ["reports/junit/run.xml", "reports/run.json", "html/run.html"] {
        assert!(ws.path().join(report).is_file(), "{report} not written");
    }
    let sent = mock.requests().len();
    assert_eq!(sent, 1);

    let out = run_in(
        ws.path(),
        &["merge", "reports/run.json", "--junit", "merged/a/b.xml"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ws.path().join("merged/a/b.xml").is_file());

    ws.write("taken", "not a directory\n");
    let out = run_in(ws.path(), &["run", "s.yaml", "--json", "taken/run.json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--json taken/run.json: taken is not a directory"),
        "{stderr}"
    );
    assert_eq!(mock.requests().len(), sent, "a request was sent");
    let out = run_in(ws.path(), &["run", "s.yaml", "--junit", "reports/"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--junit reports/: is a directory"),
        "{stderr}"
    );
    assert_eq!(mock.requests().len(), sent, "a request was sent");
    assert_eq!(
        std::fs::read_to_string(ws.path().join("taken")).expect("read"),
        "not a directory\n"
    );
}

/// A report flag that names a golden of the run (`--json s.golden/<TAB>`) or a suite would
/// have a plain run overwrite it: refused before anything is sent, the file left as it was.
#[test]
fn a_report_over_a_golden_or_a_suite_of_the_run_is_refused_first() {
    let mock = agent();
    let suite_text = suite(&mock.url, "  - name: one\n    turns: [{user: hello}]\n");
    let ws = Workspace::with("s.yaml", &suite_text);
    let out = run_in(ws.path(), &["run", "s.yaml", "--bless"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let golden = ws.read("s.golden/one.yaml");
    let sent = mock.requests().len();
    for (flag, path, says) in [
        (
            "--json",
            "s.golden/one.yaml",
            "is in a golden directory of this run",
        ),
        (
            "--html",
            "./s.golden/new.html",
            "is in a golden directory of this run",
        ),
        ("--junit", "s.yaml", "is a suite of this run"),
    ] {
        let out = run_in(ws.path(), &["run", "s.yaml", flag, path]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {path}: {stderr}");
        assert!(
            stderr.contains(&format!("{flag} {path}: {says}")),
            "{stderr}"
        );
    }
    assert_eq!(mock.requests().len(), sent, "a request was sent");
    assert_eq!(ws.read("s.golden/one.yaml"), golden);
    assert_eq!(ws.read("s.yaml"), suite_text);
    assert!(!ws.path().join("s.golden/new.html").exists());
}

/// A report over a file the suites are made of (`agenttest.yaml`, a `mock_script:`, a
/// `matrix_file:`, a `system_file:`) is refused before anything is sent, and the file is left
/// as it was: written over, the next run would have nothing to read.
#[test]
fn a_report_over_a_file_the_suites_are_made_of_is_refused() {
    let ws = Workspace::with(
        "agenttest.yaml",
        "endpoint: {base_url: mock, mock_script: agent.yaml, agent_id: ag, api_key: ak_x, retries: 0}\n",
    );
    let files = [
        ("agent.yaml", "keys: [ak_x]\nagents:\n  ag: {fallback: ok}\n"),
        ("rows.csv", "word\nhi\n"),
        ("prompt.md", "You are terse.\n"),
        (
            "s.yaml",
            "dialogues:\n  - name: row {{word}}\n    golden: false\n    matrix_file: rows.csv\n    turns: [{user: '{{word}}'}]\n",
        ),
        (
            "o.yaml",
            "endpoint: {kind: openai, base_url: mock, model: ag, system_file: prompt.md}\ndialogues:\n  - name: o\n    golden: false\n    turns: [{user: hi}]\n",
        ),
    ];
    for (name, text) in files {
        ws.write(name, text);
    }
    // The suites are fine as they are.
    assert_code(&run_in(ws.path(), &["run", "."]), 0);
    for (flag, path) in [
        ("--json", "agenttest.yaml"),
        ("--junit", "agent.yaml"),
        ("--html", "./rows.csv"),
        ("--json", "prompt.md"),
    ] {
        let out = run_in(ws.path(), &["run", ".", flag, path]);
        assert_code(&out, 2);
        assert!(
            stderr(&out).contains(&format!(
                "{flag} {path}: is a file this run's suites are made of"
            )),
            "{flag} {path}: {}",
            stderr(&out)
        );
    }
    for (name, text) in files {
        assert_eq!(ws.read(name), text, "{name} was written over");
    }
    let config = ws.read("agenttest.yaml");
    assert!(config.starts_with("endpoint:"), "{config}");
}

// ---- --bless leaves alone what did not complete --------------------------------------------

/// Ctrl-C during `--bless --repeat`: the dialogue is not run, and its golden, with the
/// baseline of its earlier blessing, stays as it was (a few finished runs would have replaced
/// a baseline of many).
#[test]
fn bless_interrupted_keeps_the_golden_and_its_baseline() {
    let ws = Workspace::with(
        "slow.yaml",
        "agents: {ag: {latency: 100ms, fallback: 'slow ok'}}\n",
    );
    ws.write(
        "s.yaml",
        &format!(
            "endpoint: {{base_url: mock, mock_script: slow.yaml, agent_id: ag, api_key: {KEY}}}\n\
             dialogues: [{{name: sl, turns: [{{user: a}}]}}]\n"
        ),
    );
    let out = run_in(ws.path(), &["run", "s.yaml", "--bless", "--repeat", "2"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let golden = ws.read("s.golden/sl.yaml");
    assert!(
        golden.contains("baseline: {runs: 2, passed: 2}"),
        "{golden}"
    );

    // Two hundred runs of 100 ms: several have finished at a second and a half, most not.
    let (mut child, _) = spawn_into_pipe(
        ws.path(),
        &["run", "s.yaml", "--bless", "--repeat", "200"],
        Reader::Closed,
    );
    std::thread::sleep(Duration::from_millis(1500));
    send_signal(&child, libc::SIGINT);
    let status = exit_within(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(130));
    assert_eq!(ws.read("s.golden/sl.yaml"), golden);
}

// ---- 3. Signals win whatever the console's pipes do -------------------------------------

/// What the reader of the console's pipe does.
#[derive(Clone, Copy, PartialEq)]
enum Reader {
    /// Gone at once (`agenttest run 2>&1 | head`, head done).
    Closed,
    /// There, but never reading: the pipe fills and writes block (a paused pager).
    Stalled,
}

/// `agenttest ARGS` in `dir` with stdout and stderr both going into one pipe. The read end is
/// returned when the reader stalls (drop it to close), closed at once otherwise.
fn spawn_into_pipe(
    dir: &Path,
    args: &[&str],
    reader: Reader,
) -> (Child, Option<std::io::PipeReader>) {
    let (read_end, write_end) = std::io::pipe().expect("pipe");
    let child = agenttest()
        .current_dir(dir)
        .args(args)
        .stdout(write_end.try_clone().expect("dup the pipe"))
        .stderr(write_end)
        .spawn()
        .expect("spawn agenttest");
    // The command (and with it our copies of the write end) is gone: only the child writes.
    match reader {
        Reader::Closed => {
            drop(read_end);
            (child, None)
        }
        Reader::Stalled => (child, Some(read_end)),
    }
}

fn send_signal(child: &Child, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) with a pid we spawned and still hold (not reaped), and a plain signal.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig})");
}

/// The child's exit, within `limit`; killed and failed otherwise.
#[track_caller]
fn exit_within(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("agenttest did not exit within {limit:?}: the signal was ignored");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the mock is holding the `hang` request, so the run is mid-flight.
fn wait_for_hang(mock: &Mock) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !mock.requests().iter().any(|r| r["message"] == "hang") {
        assert!(Instant::now() < deadline, "the hang request never arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
}

/// The reports of an interrupted run: valid JUnit, and JSON that says interrupted with the
/// finished dialogue passed and the hanging one not run.
#[track_caller]
fn assert_interrupted_reports(ws: &Workspace) {
    assert_valid_junit(&ws.path().join("r.xml"));
    let json: serde_json::Value = serde_json::from_str(&ws.read("r.json")).expect("JSON report");
    assert_eq!(json["run"]["interrupted"], true, "{json}");
    let outcome = |name: &str| {
        json["dialogues"]
            .as_array()
            .expect("dialogues")
            .iter()
            .find(|d| d["name"] == name)
            .map(|d| d["outcome"].clone())
    };
    assert_eq!(outcome("quick"), Some("pass".into()), "{json}");
    assert_eq!(outcome("stuck"), Some("not_run".into()), "{json}");
}

const QUICK_AND_STUCK: &str = "  - name: quick\n    golden: false\n    turns: [{user: hello}]\n  \
     - name: stuck\n    golden: false\n    turns: [{user: hang}]\n";

const REPORTS: [&str; 4] = ["--junit", "r.xml", "--json", "r.json"];

fn interrupted_with_closed_pipes(sig: libc::c_int) {
    let mock = agent();
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&mock.url, QUICK_AND_STUCK));
    let mut args = vec!["run", "s.yaml", "-j", "2"];
    args.extend(REPORTS);
    let (mut child, _) = spawn_into_pipe(ws.path(), &args, Reader::Closed);
    wait_for_hang(&mock);
    send_signal(&child, sig);
    let status = exit_within(&mut child, Duration::from_secs(8));
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_interrupted_reports(&ws);
}

#[test]
fn sigint_with_the_consoles_reader_gone_exits_130_with_reports() {
    interrupted_with_closed_pipes(libc::SIGINT);
}

#[test]
fn sigterm_with_the_consoles_reader_gone_exits_130_with_reports() {
    interrupted_with_closed_pipes(libc::SIGTERM);
}

#[test]
fn sigint_with_a_reader_that_stopped_reading_exits_130_with_reports() {
    // `-v` prints each message: a 300 kB one fills the pipe (64 kB), so the console's writes
    // block for good while the other dialogue hangs. The run must still stop on Ctrl-C.
    let mock = agent();
    let ws = Workspace::new();
    let long = "word ".repeat(60_000);
    let dialogues = format!(
        "{QUICK_AND_STUCK}  - name: long\n    golden: false\n    turns: [{{user: \"{long}\"}}]\n"
    );
    ws.write("s.yaml", &suite(&mock.url, &dialogues));
    let mut args = vec!["run", "s.yaml", "-v", "-j", "3"];
    args.extend(REPORTS);
    let (mut child, reader) = spawn_into_pipe(ws.path(), &args, Reader::Stalled);
    wait_for_hang(&mock);
    std::thread::sleep(Duration::from_millis(300));
    send_signal(&child, libc::SIGINT);
    let status = exit_within(&mut child, Duration::from_secs(8));
    drop(reader);
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_interrupted_reports(&ws);
}

#[test]
fn a_second_sigint_exits_at_once_while_reports_are_still_being_written() {
    // The JSON report goes to a FIFO nobody opens: after the first Ctrl-C the run waits for a
    // reader (up to 10 s). The second Ctrl-C must not wait for it.
    let mock = agent();
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&mock.url, QUICK_AND_STUCK));
    let fifo = std::ffi::CString::new(
        ws.path()
            .join("r.json")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .expect("path");
    // SAFETY: mkfifo(3) on a NUL-terminated path inside our own temporary directory.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0, "mkfifo");
    let mut args = vec!["run", "s.yaml"];
    args.extend(REPORTS);
    let (mut child, _) = spawn_into_pipe(ws.path(), &args, Reader::Closed);
    wait_for_hang(&mock);
    send_signal(&child, libc::SIGINT);
    // The JUnit report comes first, then the JSON one waits for its reader.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ws.exists("r.xml") {
        assert!(
            Instant::now() < deadline,
            "the JUnit report was never written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "the FIFO should hold the run"
    );
    send_signal(&child, libc::SIGINT);
    let status = exit_within(&mut child, Duration::from_secs(3));
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_valid_junit(&ws.path().join("r.xml"));
}

#[test]
fn sigint_while_a_report_waits_for_its_fifos_reader_ends_the_wait_at_once() {
    // The run is done and its JUnit report waits for someone to open the FIFO (up to 10 s).
    // A Ctrl-C then is answered at once: exit 130, the FIFO left as it was and given nothing,
    // the JSON report beside it whole, no scratch file left behind.
    let ws = Workspace::with(
        "s.yaml",
        "endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_test_123, retries: 0}\n\
         dialogues:\n  - name: quick\n    golden: false\n    turns: [{user: hello}]\n",
    );
    let fifo = ws.path().join("r.xml");
    let c_fifo =
        std::ffi::CString::new(fifo.clone().into_os_string().into_encoded_bytes()).expect("path");
    // SAFETY: mkfifo(3) on a NUL-terminated path inside our own temporary directory.
    assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) }, 0, "mkfifo");
    let mut child = agenttest()
        .current_dir(ws.path())
        .args(["run", "s.yaml", "--color", "never"])
        .args(["--junit", "r.xml", "--json", "r.json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn agenttest");
    // The JSON report is written on a thread of its own while the JUnit one waits: once it is
    // there, the run is in that wait.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ws.exists("r.json") {
        assert!(
            Instant::now() < deadline,
            "the JSON report was never written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "the FIFO should hold the run"
    );
    let interrupted = Instant::now();
    send_signal(&child, libc::SIGINT);
    let status = exit_within(&mut child, Duration::from_secs(20));
    let took = interrupted.elapsed();
    let stderr = {
        use std::io::Read as _;
        let mut text = String::new();
        let _ = child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut text);
        text
    };
    assert_eq!(status.code(), Some(130), "{status:?}\n{stderr}");
    assert!(
        took < Duration::from_secs(5),
        "exited {took:?} after the Ctrl-C: the wait for the FIFO's reader went on\n{stderr}"
    );
    assert!(
        stderr.contains(
            "error: failed to write the JUnit report r.xml: it is a FIFO and no process opened \
             it for reading before the interrupt"
        ),
        "{stderr}"
    );
    use std::os::unix::fs::FileTypeExt as _;
    let meta = std::fs::symlink_metadata(&fifo).expect("the FIFO is still there");
    assert!(meta.file_type().is_fifo(), "{meta:?}");
    let json: serde_json::Value = serde_json::from_str(&ws.read("r.json")).expect("JSON report");
    assert_eq!(json["dialogues"][0]["outcome"], "pass", "{json}");
    let mut names: Vec<String> = std::fs::read_dir(ws.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["r.json", "r.xml", "s.yaml"]);
}

// ---- 13. Every error says where the request went, never the key ---------------------------

#[test]
fn a_wrong_base_url_path_shows_method_and_url_in_every_report_but_not_the_key() {
    let mock = agent();
    let ws = Workspace::new();
    let base = format!("{}/wrong", mock.url);
    ws.write(
        "s.yaml",
        &suite(
            &base,
            "  - name: wrong path\n    golden: false\n    turns: [{user: hello}]\n",
        ),
    );
    let out = run_in(
        ws.path(),
        &[
            "run", "s.yaml", "-v", "--color", "never", "--junit", "r.xml", "--json", "r.json",
        ],
    );
    assert_code(&out, 3);
    let want = format!("unexpected status 404 from POST {base}/v1/agents/ag_h2/chat");
    let (console, junit, json) = (stdout(&out), ws.read("r.xml"), ws.read("r.json"));
    assert!(console.contains(&format!("turn 1: {want}")), "{console}");
    assert!(
        junit.contains(&format!("message=\"turn 1: {want}")),
        "{junit}"
    );
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON report");
    let message = v["dialogues"][0]["attempts"][0]["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.starts_with(&format!("turn 1: {want}")), "{message}");
    for (what, text) in [
        ("console", &console),
        ("stderr", &stderr(&out)),
        ("JUnit", &junit),
        ("JSON", &json),
    ] {
        assert!(
            !text.contains(KEY),
            "the key leaked into the {what}:\n{text}"
        );
    }
}

#[test]
fn a_refused_connection_names_the_url_without_its_credentials() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let ws = Workspace::new();
    let base = format!("http://bob:hunter2pw@127.0.0.1:{port}/api");
    ws.write(
        "s.yaml",
        &suite(
            &base,
            "  - name: refused\n    golden: false\n    turns: [{user: hello}]\n",
        ),
    );
    let out = run_in(
        ws.path(),
        &[
            "run", "s.yaml", "--color", "never", "--junit", "r.xml", "--json", "r.json",
        ],
    );
    assert_code(&out, 3);
    let console = stdout(&out);
    let want =
        format!("turn 1: POST http://127.0.0.1:{port}/api/v1/agents/ag_h2/chat: connection failed");
    assert!(console.contains(&want), "{console}");
    // Said once: the transport's own sentence no longer repeats the URL.
    assert_eq!(
        console.matches(&format!("127.0.0.1:{port}")).count(),
        1,
        "{console}"
    );
    for text in [console, stderr(&out), ws.read("r.xml"), ws.read("r.json")] {
        assert!(!text.contains("hunter2pw") && !text.contains(KEY), "{text}");
    }
}

#[test]
fn an_in_process_mock_is_named_as_the_suite_wrote_it_the_same_on_every_run() {
    // Its port changes on every run: a report that named it would differ run to run.
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        "endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_test_123, retries: 0}\n\
         dialogues:\n  - name: fails\n    golden: false\n    turns: [{user: boom}]\n",
    );
    let json = || {
        let out = run_in(
            ws.path(),
            &["run", "s.yaml", "--color", "never", "--json", "r.json"],
        );
        assert_code(&out, 3);
        let want = "turn 1: unexpected status 500 from POST mock/v1/agents/ag_support/chat: ";
        assert!(stdout(&out).contains(want), "{}", stdout(&out));
        let v: serde_json::Value = serde_json::from_str(&ws.read("r.json")).expect("JSON report");
        v["dialogues"][0]["attempts"][0]["error"].clone()
    };
    let first = json();
    assert_eq!(first, json());
    assert!(!first.to_string().contains("127.0.0.1"), "{first}");
}

// ---- 15. Each thing said once ---------------------------------------------------------------

#[test]
fn junit_and_json_say_the_turn_of_an_error_once() {
    let mock = agent();
    let ws = Workspace::with(
        "s.yaml",
        &suite(
            &mock.url,
            "  - name: fails late\n    golden: false\n    turns: [{user: hello}, {user: boom}]\n",
        ),
    );
    let out = run_in(
        ws.path(),
        &["run", "s.yaml", "--junit", "r.xml", "--json", "r.json"],
    );
    assert_code(&out, 3);
    let junit = ws.read("r.xml");
    assert!(
        junit.contains("message=\"turn 2: unexpected status 500 from POST "),
        "{junit}"
    );
    let json = ws.read("r.json");
    for text in [&junit, &json, &stdout(&out)] {
        assert!(!text.contains("turn 2: turn 2"), "{text}");
    }
}

#[test]
fn a_similar_mode_failure_gives_each_score_and_the_threshold_once() {
    let mock = agent();
    let ws = Workspace::with("s.yaml", &suite(&mock.url, "  - name: close enough\n    golden: {mode: similar, threshold: 0.95}\n    turns: [{user: hello}, {user: again}]\n"));
    // Two turns, both far from the golden's text.
    ws.write(
        "s.golden/close-enough.yaml",
        "suite: s\ndialogue: close enough\nturns:\n  - user: hello\n    status: 200\n    agent: something else entirely\n  - user: again\n    status: 200\n    agent: quite another answer\n",
    );
    let out = run_in(
        ws.path(),
        &["run", "s.yaml", "--color", "never", "--junit", "r.xml"],
    );
    assert_code(&out, 1);
    let console = stdout(&out);
    let junit = ws.read("r.xml");
    let score =
        regex::Regex::new(r"turn (\d): the agent text is (\d\.\d{3}) similar").expect("regex");
    assert_eq!(score.captures_iter(&console).count(), 2, "{console}");
    for text in [&console, &junit] {
        assert_eq!(
            text.matches("0.950").count(),
            2,
            "the threshold, once per turn below it:\n{text}"
        );
        assert!(text.contains("(mode similar):"), "{text}");
        for c in score.captures_iter(&console) {
            let line = format!("turn {}: the agent text is {} similar", &c[1], &c[2]);
            assert_eq!(text.matches(&line).count(), 1, "{line:?} in\n{text}");
        }
    }
}

#[test]
fn bless_says_nothing_about_a_skipped_dialogue_with_no_golden() {
    let mock = agent();
    let ws = Workspace::with("s.yaml", &suite(&mock.url, "  - name: runs\n    turns: [{user: hello}]\n  - name: skipped new\n    skip: not yet\n    turns: [{user: hello}]\n  - name: skipped old\n    skip: outage\n    turns: [{user: hello}]\n"));
    let old = "suite: s\ndialogue: skipped old\nturns:\n  - user: hello\n    status: 200\n    agent: fine\n";
    ws.write("s.golden/skipped-old.yaml", old);
    let out = run_in(ws.path(), &["run", "s.yaml", "--bless", "--color", "never"]);
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("left alone s.golden/skipped-old.yaml"),
        "{text}"
    );
    assert!(!text.contains("skipped-new"), "{text}");
    assert!(
        text.contains("bless: 1 created, 0 changed, 0 unchanged, 1 left alone"),
        "{text}"
    );
    assert!(!ws.exists("s.golden/skipped-new.yaml"));
    assert_eq!(ws.read("s.golden/skipped-old.yaml"), old);
}

#[test]
fn an_empty_or_comment_only_config_is_accepted_and_an_empty_suite_refused() {
    let mock = agent();
    for config in ["", "# settings will come here\n"] {
        let ws = Workspace::new();
        ws.write("suites/agenttest.yaml", config);
        ws.write(
            "suites/s.yaml",
            &suite(
                &mock.url,
                "  - name: greet\n    golden: false\n    turns: [{user: hello}]\n",
            ),
        );
        let out = run_in(ws.path(), &["run", "suites", "--color", "never"]);
        assert_code(&out, 0);
        assert!(
            stdout(&out).contains("1 passed"),
            "{config:?}: {}",
            stdout(&out)
        );

        ws.write("suites/empty.yaml", "");
        let out = run_in(ws.path(), &["run", "suites", "--color", "never"]);
        assert_code(&out, 2);
        assert!(
            stderr(&out).contains("error: the file is empty\n --> suites/empty.yaml:1:1"),
            "{}",
            stderr(&out)
        );
    }
}

// ---- 16. `-v` timings; the failure list in suite order ---------------------------------------

#[test]
fn verbose_shows_each_turns_latency_and_time_to_first_token() {
    let mock = agent();
    let ws = Workspace::with(
        "s.yaml",
        &suite(
            &mock.url,
            "  - name: timed\n    golden: false\n    turns: [{user: timed}, {user: hello}]\n",
        ),
    );
    ws.write(
        "streamed.yaml",
        &format!(
            "endpoint: {{kind: openai, base_url: \"{}/v1\", model: typist, api_key: {KEY}, stream: true}}\n\
             dialogues:\n  - name: typed\n    golden: false\n    turns: [{{user: hi}}]\n",
            mock.url
        ),
    );
    let out = run_in(
        ws.path(),
        &["run", "s.yaml", "streamed.yaml", "-v", "--color", "never"],
    );
    assert_code(&out, 0);
    let text = stdout(&out);
    let ms = |re: &str| -> Vec<u64> {
        let caps = regex::Regex::new(re).expect("regex").captures(&text);
        let caps = caps.unwrap_or_else(|| panic!("no {re:?} in\n{text}"));
        caps.iter()
            .skip(1)
            .map(|m| m.expect("group").as_str().parse().expect("ms"))
            .collect()
    };
    let slow = ms(r"< \[200\] a timed answer  \((\d+)ms\)\n");
    assert!(slow[0] >= 150, "{text}");
    ms(r"< \[200\] fine  \((\d+)ms\)\n");
    let streamed = ms(r"< \[200\] one two three  \((\d+)ms, first token (\d+)ms\)\n");
    assert!(streamed[1] >= 200 && streamed[0] >= streamed[1], "{text}");
}

#[test]
fn lines_come_as_dialogues_finish_and_the_failure_list_in_suite_order() {
    let mock = agent();
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &mock.url,
            "  - name: a slow\n    golden: false\n    turns: [{user: slow, expect: {contains: nope}}]\n  \
             - name: b quick\n    golden: false\n    turns: [{user: hello, expect: {contains: nope}}]\n",
        ),
    );
    let out = run_in(ws.path(), &["run", "s.yaml", "-j", "2", "--color", "never"]);
    assert_code(&out, 1);
    let text = stdout(&out);
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in\n{text}"))
    };
    assert!(
        at("FAIL  s › b quick") < at("FAIL  s › a slow"),
        "finished first, shown first:\n{text}"
    );
    assert!(
        at("── FAIL s › a slow") < at("── FAIL s › b quick"),
        "failures in suite order:\n{text}"
    );
    assert!(at("FAIL  s › a slow") < at("── FAIL s › a slow"), "{text}");
}

// ---- 10. A broken golden leaves a pending file that `accept` promotes ------------------------

#[test]
fn every_kind_of_broken_golden_gets_a_pending_file_that_accept_promotes() {
    let mock = agent();
    let broken: [(&str, &[u8], &str); 4] = [
        (
            "syntax",
            b"suite: s\ndialogue: greet\nturns: [\n",
            "s.golden/greet.yaml:3:8",
        ),
        ("empty", b"", "s.golden/greet.yaml:1:1"),
        (
            "binary",
            b"suite: s\n\x00\xff\xfe\x01golden\x00",
            "s.golden/greet.yaml:2:2",
        ),
        (
            "wrong types",
            b"suite: s\ndialogue: greet\nturns: 5\n",
            "s.golden/greet.yaml:3:8",
        ),
    ];
    for (kind, bytes, location) in broken {
        let ws = Workspace::new();
        ws.write(
            "s.yaml",
            &suite(&mock.url, "  - name: greet\n    turns: [{user: hello}]\n"),
        );
        ws.write("s.golden/greet.yaml", "");
        std::fs::write(ws.path().join("s.golden/greet.yaml"), bytes).expect("write the golden");

        let out = run_in(ws.path(), &["run", "s.yaml", "--color", "never"]);
        assert_code(&out, 1);
        let text = stdout(&out);
        assert!(text.contains(location), "{kind}: no {location} in\n{text}");
        assert!(text.contains("agenttest accept s.yaml"), "{kind}: {text}");
        assert!(
            ws.exists("s.golden/greet.yaml.new"),
            "{kind}: no pending file\n{text}"
        );
        let pending = ws.read("s.golden/greet.yaml.new");
        assert!(pending.contains("agent: fine"), "{kind}: {pending}");

        let out = run_in(ws.path(), &["accept", "s.yaml", "--color", "never"]);
        assert_code(&out, 0);
        assert_eq!(ws.read("s.golden/greet.yaml"), pending, "{kind}");
        assert!(!ws.exists("s.golden/greet.yaml.new"), "{kind}");

        let out = run_in(ws.path(), &["run", "s.yaml", "--color", "never"]);
        assert_code(&out, 0);
    }
}
