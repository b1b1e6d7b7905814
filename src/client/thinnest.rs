//! The thinnest agent chat API client (SPEC §2).
