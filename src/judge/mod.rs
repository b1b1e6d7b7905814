//! Judging a transcript: expectations turn a reply into failures; goldens compare the whole
//! dialogue with its recorded transcript; the LLM judge grades a reply against a rubric.
//! Pure functions of their inputs, plus the golden file I/O, which callers run off the async
//! runtime's threads, and the judge's verdict cache (`cache.rs`), a `stat` or a small read.

pub mod baseline;
pub mod cache;
pub mod expect;
pub mod golden;
pub mod grader;
pub mod verdict;
