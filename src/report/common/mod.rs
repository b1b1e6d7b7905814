//! Pieces shared by the reporters, kept apart from any one so none depends on another:
//! making text safe for XML, tallying how many repeat runs met each expectation, and how many
//! turns a dialogue's line reports. Pure functions over strings and
//! [`RunReport`](crate::record::RunReport) data; nothing here writes files or prints.

pub mod sanitize;
pub mod stamp;
pub mod tally;
pub mod turns;
