//! The event stream between the runner and the live reporters (the console's progress and
//! per-dialogue lines): the runner sends, reporters listen, neither knows the other.

use std::sync::Arc;

use super::result::DialogueResult;

/// Progress as it happens.
#[derive(Debug, Clone)]
pub enum Event {
    Started {
        total: usize,
    },
    DialogueStarted {
        name: String,
    },
    /// Shared with the runner, which keeps the result: the transcript is not copied for the
    /// console.
    DialogueFinished(Arc<DialogueResult>),
}
