//! Golden transcripts (SPEC §3.3).

pub mod file;
