//! The mock agent server (SPEC §6).

/// `agenttest mock`: serve until Ctrl-C or SIGTERM; returns the exit code.
pub fn cli_main(_args: crate::cli::MockArgs) -> i32 {
    crate::exit::USAGE
}
