//! Finding suite files under the paths the user named (SPEC §3).
