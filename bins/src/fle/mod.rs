//! fle-dump's decoder: a [`StreamHandler`](zkwire_capture::StreamHandler) for the election port
//! that splits each connection with fle-proto's sans-IO
//! [`ElectionStream`](fle_proto::ElectionStream), attributes every notification to the server
//! that sent it, prints one line (text or JSON) per message, and reconstructs each election for
//! `--summary`.
//!
//! Sender ids: the initiator of a connection names itself in its initial message, together with
//! its election address; the acceptor never does, but every server initiates connections to the
//! others (even those the challenge drops), so its id is learned from its own initial messages
//! and looked up by the address it accepts on.
//!
//! By role:
//! - `handler`: the [`FleDump`] stream handler: decoding per connection, the counters, and the
//!   message lines it prints;
//! - `senders`: who sent a notification: server ids learned from dynamic configurations, and
//!   initiators attributed where the capture tells;
//! - `elections`: the [`ElectionTracker`] that reconstructs elections and its report
//!   ([`Election`]).

mod elections;
mod handler;
mod senders;

pub(crate) use elections::settled_leader;
pub use elections::{Election, ElectionTracker, Vote};
pub use handler::{FleConn, FleCounts, FleDump, FleOptions, Initiator};
