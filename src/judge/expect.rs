//! Expectations of SPEC §3.2: a reply in, failures out.
