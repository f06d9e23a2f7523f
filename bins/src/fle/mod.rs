//! fle-dump's decoder (see `handler`; split by role in the next commit).

mod handler;

pub use handler::*;
