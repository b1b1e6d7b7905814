//! The mock's chat routes, one file per API it speaks. Each parses its own request, checks it
//! in the order its real counterpart does, hands the message to the engine and shapes the
//! answer in its own wire format; none of them knows about another.

pub(crate) mod http;
pub(crate) mod openai;
pub(crate) mod thinnest;
