//! agenttest: a regression gate for LLM chat agents.
//!
//! The data flows one way and the modules follow it:
//!
//! ```text
//! app ──> suite (discover, load, check) ──> run (schedule, dialogue, attempt, retry) ──> report
//!                                            │          │                (explain, console,
//!                                         endpoint    judge (expect, golden)   junit, json)
//!                                            │          │                      │
//!                                  live endpoint | mock │                      │
//!                                            └── record (plain data) ──────────┘
//! ```
//!
//! Dependencies point one way: `app → run → {endpoint, judge} → record → diag`, and
//! `report → record`. See `docs/architecture.md`.
//!
//! Nothing below `cli` reads the process environment or the terminal: the CLI resolves flags,
//! environment and files into plain values and hands them down, so tests can build them.

// A `Diagnostic` is returned once per bad file, on the cold path; boxing it at every call
// site would cost readability and buy nothing measurable.
#![allow(clippy::result_large_err)]

pub mod app;
pub mod cli;
pub mod diag;
pub mod endpoint;
pub mod exit;
pub mod facts;
pub mod fsutil;
pub mod json_text;
pub mod judge;
pub mod mock;
pub mod record;
pub mod redact;
pub mod report;
pub mod run;
pub mod suite;
pub mod util;
pub mod yaml;
