//! Shared by the benchmark binaries: the real `agenttest` binary and a mock it serves.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_agenttest")
}

/// A child process killed on drop.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `agenttest mock` on a free port with `script` and returns it with its base URL.
pub fn start_mock(script: &Path) -> (Child, String) {
    let mut child = Command::new(bin())
        .args(["mock", "--addr", "127.0.0.1:0", "--script"])
        .arg(script)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start mock");
    let stdout = child.stdout.take().expect("mock stdout");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("read mock banner");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected mock banner {line:?}"))
        .to_string();
    // Keep draining so the mock never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    });
    (Child(child), url)
}
