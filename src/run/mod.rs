//! Running dialogues: sessions, concurrency, retries, rate limits, cancellation. Emits
//! results as data and never prints.

pub mod result;
