//! Shared by the integration tests: the real `agenttest` binary, a real mock server started
//! from it on a free loopback port, and suite files in a temporary directory.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_agenttest")
}

/// `agenttest` with an environment that cannot leak in from the developer's shell or CI.
pub fn agenttest() -> Command {
    let mut cmd = Command::new(bin());
    for var in [
        "AGENTTEST_BASE_URL",
        "AGENTTEST_AGENT_ID",
        "AGENTTEST_API_KEY",
        "NO_COLOR",
        "CI",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null());
    cmd
}

pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

/// A mock agent served by the real binary (`agenttest mock --addr 127.0.0.1:0`).
pub struct Mock {
    child: Child,
    pub url: String,
}

impl Mock {
    pub fn start(script: &Path) -> Mock {
        let script = script.to_string_lossy().into_owned();
        Mock::start_with(&["--script", &script])
    }

    /// `agenttest mock --addr 127.0.0.1:0 ARGS...` (for `--replay PATH`, say).
    pub fn start_with(args: &[&str]) -> Mock {
        let mut child = agenttest()
            .args(["mock", "--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn agenttest mock");
        let stdout = child.stdout.take().expect("mock stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if let Some(url) = line.trim().strip_prefix("listening on ") {
                    let _ = tx.send(url.to_string());
                }
                line.clear();
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("mock output");
                panic!(
                    "mock did not start: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        };
        Mock { child, url }
    }

    /// Every chat request the mock received, in order (`GET /_mock/requests`).
    pub fn requests(&self) -> Vec<serde_json::Value> {
        let body: serde_json::Value =
            reqwest::blocking::get(format!("{}/_mock/requests", self.url))
                .expect("GET /_mock/requests")
                .json()
                .expect("requests JSON");
        body["chat"].as_array().cloned().unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary directory holding suite files.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// A new workspace holding `text` as `name`.
    pub fn with(name: &str, text: &str) -> Workspace {
        let ws = Workspace::new();
        ws.write(name, text);
        ws
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write fixture");
        p
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).expect("read")
    }

    pub fn exists(&self, name: &str) -> bool {
        self.dir.path().join(name).exists()
    }
}

/// Runs a command in `dir` and returns its output.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    agenttest()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run agenttest")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit code, showing the whole output when it is wrong.
#[track_caller]
pub fn assert_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit code\n--- stdout\n{}\n--- stderr\n{}",
        stdout(o),
        stderr(o)
    );
}

/// Validates a JUnit file against the Jenkins schema with xmllint: through
/// `../shared/junit/validate.sh` where the workplace provides it (as CI does), else against the
/// copy of `junit-10.xsd` in `tests/fixtures/junit/` (MIT, unchanged), so a plain clone tests
/// the same way. Fails, never skips, when xmllint is missing: CI installs it.
#[track_caller]
pub fn assert_valid_junit(path: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("../shared/junit/validate.sh");
    let out = if script.is_file() {
        Command::new("bash").arg(&script).arg(path).output()
    } else {
        Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(root.join("tests/fixtures/junit/junit-10.xsd"))
            .arg(path)
            .output()
    }
    .expect("run xmllint (install libxml2-utils)");
    assert!(
        out.status.success(),
        "JUnit does not validate:\n{}\n{}\n--- file\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
}

/// Sends SIGINT or SIGTERM to a child.
pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill -{sig} {pid}");
}

/// Reads one HTTP/1.1 request from `stream` (its line, headers and `Content-Length` body), for
/// a test's own raw-socket server; the request's path.
pub fn read_request(stream: &std::net::TcpStream) -> String {
    use std::io::Read as _;
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut request_line = String::new();
    let _ = reader.read_line(&mut request_line);
    let mut length = 0;
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 2 {
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        line.clear();
    }
    let mut sink = vec![0; length];
    let _ = reader.read_exact(&mut sink);
    request_line.split(' ').nth(1).unwrap_or("").to_string()
}

/// `agenttest run ARGS` in `ws`, one job at a time, with the JSON report in `r.json`.
pub fn run_to_json(ws: &Workspace, args: &[&str]) -> Output {
    agenttest()
        .current_dir(ws.path())
        .arg("run")
        .args(args)
        .args(["--color", "never", "-j", "1", "--json", "r.json"])
        .output()
        .expect("run agenttest")
}

/// The dialogue named `name` in a JSON report.
pub fn dialogue_named<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["dialogues"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["name"] == name))
        .unwrap_or_else(|| panic!("no dialogue {name}"))
}
