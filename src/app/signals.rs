//! Ctrl-C and SIGTERM: the first stops the run (it finishes its reports and exits 130), the
//! second leaves at once. Signals win whatever the console's pipes do: nothing here writes
//! where a reader that went away could make it panic, or one that stopped reading could make
//! it wait, or the run would go on to its end.

use std::io::Write as _;

use tokio_util::sync::CancellationToken;

use crate::exit;

/// First Ctrl-C (or SIGTERM, as CI systems send on cancel): stop sending, finish the reports.
/// Second: leave at once.
///
/// The listener has a thread and a small runtime of its own: the run's runtime is a single
/// thread that is not polled while the reports are written, and a second Ctrl-C must still
/// end the process then. Returns once the signals are being listened to, so none that comes
/// after the run starts is lost.
pub(super) fn spawn_signal_handler(cancel: CancellationToken) {
    let (ready_tx, ready) = std::sync::mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("agenttest-signals".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build();
            let Ok(runtime) = runtime else {
                // Without a listener the signals keep their default action: the process ends.
                let _ = ready_tx.send(());
                return;
            };
            runtime.block_on(listen(cancel, ready_tx));
        });
    if spawned.is_ok() {
        let _ = ready.recv();
    }
}

async fn listen(cancel: CancellationToken, ready: std::sync::mpsc::Sender<()>) {
    // Listening from here on, once: a signal that comes while the first is being handled is
    // queued, not lost between two registrations.
    let mut signals = Signals::new();
    let _ = ready.send(());
    signals.next().await;
    // The run may already be writing its reports, one of them waiting for a FIFO's reader:
    // end that wait, or this Ctrl-C would be answered only when it ends, up to 10 s later. A
    // report written after this still waits for its reader (SPEC §4: the reports are
    // finished), and the second Ctrl-C ends that. Before the cancel: the reports of the run
    // the cancel ends must not start their wait in between, and be ended by this one.
    crate::fsutil::interrupt_waits();
    cancel.cancel();
    // Said from a thread of its own: a stderr whose reader stopped reading (a full pipe)
    // would block this one, and with it the second Ctrl-C.
    std::thread::spawn(|| {
        let _ = writeln!(
            std::io::stderr(),
            "\ninterrupted: stopping, writing reports for what completed (Ctrl-C again to quit now)"
        );
    });
    signals.next().await;
    // The one exit outside `main`: a second Ctrl-C means "now", not "after the reports".
    std::process::exit(exit::INTERRUPTED);
}

/// SIGINT and SIGTERM, each listened to for the whole run. One that could not be listened to
/// keeps its default action (the process ends), which is still an end.
#[cfg(unix)]
struct Signals {
    interrupt: Option<tokio::signal::unix::Signal>,
    terminate: Option<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
impl Signals {
    fn new() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        Signals {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
        }
    }

    async fn next(&mut self) {
        async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    if s.recv().await.is_none() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = recv(&mut self.interrupt) => {}
            _ = recv(&mut self.terminate) => {}
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> Self {
        Signals
    }

    async fn next(&mut self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
