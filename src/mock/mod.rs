//! The mock agent server (SPEC §6). Placeholder signatures until the mock branch lands.

pub struct Script;

impl Script {
    pub fn demo() -> Script {
        Script
    }
}

pub struct MockServer {
    pub addr: std::net::SocketAddr,
}

impl MockServer {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

pub async fn start_local(_script: Script) -> std::io::Result<MockServer> {
    Err(std::io::Error::other("the mock is not built yet"))
}

/// `agenttest mock`: serve until Ctrl-C or SIGTERM; returns the exit code.
pub fn cli_main(_args: crate::cli::MockArgs) -> i32 {
    crate::exit::USAGE
}
