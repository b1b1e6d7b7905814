//! Reporters: consumers of the run's results. The console follows events as they come; JUnit
//! and JSON are written from the final [`RunReport`](crate::record::RunReport).

pub mod common;
pub mod console;
pub mod diff;
pub mod explain;
pub mod json;
pub mod junit;
