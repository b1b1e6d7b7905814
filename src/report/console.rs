//! The console reporter (SPEC §5).
