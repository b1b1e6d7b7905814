//! The event stream between the runner and the live reporters (the console's progress and
//! per-dialogue lines): the runner sends, reporters listen, neither knows the other.

use super::result::DialogueResult;

/// Progress as it happens.
#[derive(Debug, Clone)]
pub enum Event {
    Started { total: usize },
    DialogueStarted { name: String },
    DialogueFinished(Box<DialogueResult>),
}
