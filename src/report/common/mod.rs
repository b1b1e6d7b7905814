//! Pieces shared by the file reporters (JUnit and JSON), kept apart from either so neither
//! depends on the other: making text safe for XML, and tallying how many repeat runs met each
//! expectation. Pure functions over strings and [`RunReport`](crate::run::result::RunReport)
//! data; nothing here writes files or prints.

pub mod sanitize;
pub mod stamp;
pub mod tally;

use crate::run::result::GoldenStatus;

/// The lowercase word both file reports use for a golden comparison's status.
pub fn golden_status(s: GoldenStatus) -> &'static str {
    match s {
        GoldenStatus::Match => "match",
        GoldenStatus::Missing => "missing",
        GoldenStatus::Mismatch => "mismatch",
        GoldenStatus::Invalid => "invalid",
    }
}
