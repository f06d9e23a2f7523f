//! zab-dump's decoder: a [`StreamHandler`](zkwire_capture::StreamHandler) for the quorum port
//! that frames each direction with zab-proto's record boundaries (the stream has no length
//! prefix, and a raw snapshot follows SNAP), prints one line (text or JSON) per packet, and
//! measures what operators need for `--summary`: proposal → quorum → commit latency, ack lag
//! per follower, write rate, each learner's sync, and how close the zxid counter is to
//! overflowing.
//!
//! By role:
//! - `handler`: the [`ZabDump`] stream handler: framing and decoding per connection, the
//!   counters, and the packet lines it prints;
//! - `summary`: the `--summary` measurements ([`Measurements`]) and their report
//!   ([`ZabSummary`], [`summary_text`]);
//! - `zxid_queue`: the zxid-ordered queue the measurements keep in-flight proposals in.

mod handler;
mod summary;
mod zxid_queue;

pub use handler::{QuorumTap, TypeCounts, ZabConn, ZabCounts, ZabDump, ZabOptions};
pub use summary::{summary_text, LatencyStats, Measurements, SyncReport, ZabSummary, ZxidCounter};
