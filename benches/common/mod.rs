//! Shared by the benchmark binaries: the real `agenttest` binary and a mock it serves.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_agenttest")
}

/// What one timed child cost.
pub struct Timed {
    pub wall: Duration,
    /// Peak resident set, KiB.
    pub rss_kib: u64,
    pub code: i32,
    /// CPU time, user and system: steadier than wall time on a shared machine, and what a
    /// "per-request cost" is.
    pub cpu: Duration,
}

/// Runs `cmd` (its output to null, errors inherited) and returns what it cost.
///
/// wait4 rather than `Child::wait`: it returns this child's own rusage, so the peak is its
/// alone, not the mock's or an earlier run's. But Linux counts in a child's peak the memory of
/// the process it was spawned from, up to its `exec` (the spawn shares this process's memory
/// until then): a benchmark keeps itself far smaller than what it measures, or the figure
/// would be its own.
// The child is reaped by `wait4` below, which clippy cannot see.
#[allow(clippy::zombie_processes)]
pub fn timed(mut cmd: Command) -> Timed {
    let start = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run agenttest");
    let mut status: libc::c_int = 0;
    // SAFETY: wait4 only writes into the two out-parameters we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert!(rc == pid, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Timed {
        wall,
        rss_kib: usage.ru_maxrss as u64,
        code,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
    }
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
