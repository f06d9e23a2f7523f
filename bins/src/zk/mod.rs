//! zk-dump: the client-port handler ([`ZkHandler`]), the typed messages it emits
//! ([`ZkMessage`]) to a [`ZkSink`], and the text/JSON printer sink ([`ZkPrinter`]).
//!
//! The analyses (`crate::analysis`) and the daemon's counters (`crate::daemon`) are sinks over
//! the same messages, so every figure they report can be checked against
//! `zk-dump --format json` of the same input.

mod decode;
mod message;
mod render;

pub use decode::{PendingInfo, ZkConn, ZkCounts, ZkHandler, ZkOptions};
pub use message::{session_hex, Tee, Token, ZkBody, ZkMessage, ZkSink};
pub use render::{describe, RenderOptions, ZkPrinter};
