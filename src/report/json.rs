//! JSON report (SPEC §5).
