//! JUnit XML report (SPEC §5).
