//! Shared helpers for the mock's integration tests: start the real `agenttest mock` binary on
//! a free port, talk to it over HTTP, and always kill it afterwards.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};

pub const KEY: &str = "ak_test_123";

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/mock/NAME`, relative to the crate root (the child's working directory), so
/// diagnostics show the short path.
pub fn fixture(name: &str) -> String {
    format!("tests/fixtures/mock/{name}")
}

/// A running `agenttest mock`; killed on drop so a failing test leaves no server behind.
pub struct Mock {
    child: Option<Child>,
    pub url: String,
    pub client: Client,
}

impl Mock {
    /// Starts the mock with `--script` (or the demo when `None`) and waits for its
    /// `listening on` line.
    pub fn start(script: Option<&str>) -> Mock {
        match script {
            Some(s) => Mock::start_with(&["--script", &fixture(s)]),
            None => Mock::start_with(&[]),
        }
    }

    /// Starts `agenttest mock --addr 127.0.0.1:0 ARGS...`.
    pub fn start_with(args: &[&str]) -> Mock {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_agenttest"));
        cmd.current_dir(manifest_dir())
            .args(["mock", "--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn agenttest mock");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read listening line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Mock {
            child: Some(child),
            url,
            client: Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// `POST /v1/agents/{agent}/chat` with `key` (none: no Authorization header) and `body`.
    pub fn post_chat(&self, agent: &str, key: Option<&str>, body: &Value) -> Response {
        let mut req = self
            .client
            .post(format!("{}/v1/agents/{agent}/chat", self.url))
            .json(body);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        req.send().expect("chat request")
    }

    /// A chat turn with the default key; returns the status and the JSON body.
    pub fn chat(&self, agent: &str, message: &str, session: Option<&str>) -> (u16, Value) {
        let mut body = json!({ "message": message });
        if let Some(s) = session {
            body["session_id"] = json!(s);
        }
        let resp = self.post_chat(agent, Some(KEY), &body);
        let status = resp.status().as_u16();
        (status, resp.json().expect("json body"))
    }

    /// `POST {path}` with a JSON body and `key` as a bearer key (none: no Authorization).
    pub fn post(&self, path: &str, key: Option<&str>, body: &Value) -> Response {
        let mut req = self.client.post(format!("{}{path}", self.url)).json(body);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        req.send().expect("POST request")
    }

    /// The last entry of `/_mock/requests`.
    pub fn last_logged(&self) -> Value {
        let log = self.get("/_mock/requests");
        log["chat"]
            .as_array()
            .and_then(|c| c.last())
            .cloned()
            .expect("a logged request")
    }

    pub fn get(&self, path: &str) -> Value {
        self.client
            .get(format!("{}{path}", self.url))
            .send()
            .expect("get")
            .json()
            .expect("json")
    }

    /// Sends SIGTERM and waits for the exit status (at most 10 s).
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.pid().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let mut child = self.child.take().expect("child running");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the mock did not stop within 10 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `agenttest mock` expecting it to refuse to start: returns (exit code, stderr).
pub fn refused(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_agenttest"))
        .current_dir(manifest_dir())
        .args(["mock", "--addr", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run agenttest mock");
    assert!(
        out.stdout.is_empty(),
        "a refused mock must not print `listening on`: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
