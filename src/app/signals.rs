//! Ctrl-C and SIGTERM: the first stops the run (it finishes its reports and exits 130), the
//! second leaves at once. Signals win whatever the console's pipes do: nothing here may panic
//! on a closed stderr, or the run would go on to its end.

use std::io::Write as _;

use tokio_util::sync::CancellationToken;

use crate::exit;

/// First Ctrl-C (or SIGTERM, as CI systems send on cancel): stop sending, finish the reports.
/// Second: leave at once.
pub(super) fn spawn_signal_handler(cancel: CancellationToken) {
    tokio::spawn(async move {
        let mut seen = 0;
        loop {
            wait_for_signal().await;
            seen += 1;
            if seen == 1 {
                // Cancel before saying so: `eprintln!` panics when stderr's reader is gone,
                // and that panic would have swallowed the signal.
                cancel.cancel();
                let _ = writeln!(
                    std::io::stderr(),
                    "\ninterrupted: stopping, writing reports for what completed (Ctrl-C again to quit now)"
                );
            } else {
                // The one exit outside `main`: a second Ctrl-C means "now", not "after the
                // reports".
                std::process::exit(exit::INTERRUPTED);
            }
        }
    });
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
