//! Judging a transcript: expectations turn a reply into failures; goldens compare the whole
//! dialogue with its recorded transcript. Pure functions of their inputs, plus the golden
//! file I/O, which callers run off the async runtime's threads.

pub mod baseline;
pub mod expect;
pub mod golden;
pub mod grader;
