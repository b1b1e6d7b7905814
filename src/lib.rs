//! agenttest: a regression gate for LLM chat agents.
//!
//! The data flows one way and the modules follow it:
//!
//! ```text
//! cli ──> suite (discover, load, check) ──> run (sessions, retries, limits) ──> report
//!                                            │    ▲                          (console, junit, json)
//!                                         client  judge (expect, golden)
//!                                            │
//!                                  live endpoint | mock
//! ```
//!
//! Nothing below `cli` reads the process environment or the terminal: the CLI resolves flags,
//! environment and files into plain values and hands them down, so tests can build them.

// A `Diagnostic` is returned once per bad file, on the cold path; boxing it at every call
// site would cost readability and buy nothing measurable.
#![allow(clippy::result_large_err)]

pub mod app;
pub mod cli;
pub mod client;
pub mod diag;
pub mod exit;
pub mod facts;
pub mod fsutil;
pub mod judge;
pub mod mock;
pub mod redact;
pub mod report;
pub mod run;
pub mod suite;
pub mod util;
pub mod yaml;
