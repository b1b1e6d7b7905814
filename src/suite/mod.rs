//! Suites: finding the files, reading and checking them, and the model they load into.
//!
//! Loading never touches the network. Every file is read and checked before the first
//! request, and every error of every file is returned at once.

pub mod discover;
pub mod load;
pub mod model;
pub mod raw;
pub mod template;

pub use discover::discover;
pub use load::{
    load_paths, load_paths_all, read_source, EndpointOverrides, EnvLookup, LoadOptions, Loaded,
};
pub use model::*;
pub use template::expand_template;
