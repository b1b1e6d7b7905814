//! Reporters: consumers of the run's results. The console follows events as they come; JUnit,
//! JSON and HTML are written from the final [`RunReport`](crate::record::RunReport), which
//! [`json_read`] can also rebuild from JSON reports (for `agenttest merge`). A long run can
//! [`spill`] its passing dialogues' parts of the JSON and JUnit reports as they finish.

pub mod common;
pub mod console;
pub mod diff;
pub mod explain;
pub mod html;
pub mod json;
pub mod json_read;
pub mod junit;
pub mod spill;
