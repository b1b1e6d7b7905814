//! The exit-code table of SPEC §4.2, named once. `main` exits with what the app returns; the
//! one other exit is a second Ctrl-C, which leaves at once by design (`app::signals`).

/// Every selected dialogue passed (skips allowed).
pub const PASS: i32 = 0;
/// At least one dialogue failed: an expectation or its golden.
pub const FAILED: i32 = 1;
/// Usage, config or suite error: nothing was sent.
pub const USAGE: i32 = 2;
/// No dialogue failed, but at least one errored: the gate could not judge.
pub const ERRORED: i32 = 3;
/// The paths and filters selected no dialogue.
pub const NOTHING_SELECTED: i32 = 4;
/// Interrupted by Ctrl-C (128 + SIGINT).
pub const INTERRUPTED: i32 = 130;
