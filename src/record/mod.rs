//! Plain data that every phase shares: what an endpoint answered ([`reply`]) and what a run
//! produced ([`result`]). The endpoint fills replies, the runner and the judge fill results,
//! the reporters read them.
//!
//! This is the floor of the house: it depends on nothing in the crate but `diag` (for source
//! spans), does no I/O and holds no wording. Failures and golden checks are data (what was
//! expected, what came); the sentences a person reads are written by `report::explain`.

pub mod event;
pub mod reply;
pub mod result;

pub use event::Event;
pub use reply::{
    streamed_shape, AgentReply, RateHeaders, Reply, ReplyBody, SendError, Timing, Usage,
    CHUNKS_SHAPE, SSE_SHAPE,
};
pub use result::*;
