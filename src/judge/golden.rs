//! Golden transcripts (SPEC §3.3).
