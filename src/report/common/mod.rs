//! Pieces shared by the file reporters (JUnit and JSON), kept apart from either so neither
//! depends on the other: making text safe for XML, and tallying how many repeat runs met each
//! expectation. Pure functions over strings and [`RunReport`](crate::record::RunReport)
//! data; nothing here writes files or prints.

pub mod sanitize;
pub mod stamp;
pub mod tally;
