//! The packet core shared by every zkwire tool: read packets from capture files or live
//! interfaces, decode link, IP and TCP headers, reassemble TCP byte streams and cut them into
//! protocol messages.
//!
//! The layers, each usable on its own:
//!
//! * [`source`]: where packets come from — [`source::FileSource`] for pcap and pcapng files (or
//!   standard input), and, with the `live` feature, [`source::LiveSource`] through libpcap.
//! * [`link`]: link layer to TCP segment ([`link::decode_tcp`]), lax about snaplen-truncated
//!   frames, whose missing bytes become a hole, never data.
//! * [`reassembly`]: the TCP reassembler, which turns segments into in-order byte streams
//!   per connection and direction, with explicit gap events where bytes will never arrive.
//! * [`framing`] (from `zkwire-jute`, shared with the protocol crates): the [`Framer`], which
//!   turns a byte stream into whole messages using a protocol-supplied [`Splitter`] — every
//!   protocol crate ships its own — and finds the next plausible boundary after a gap.
//! * [`pipeline`]: the loop that drives packets from a source through the layers above;
//!   [`sharded`] the same over several threads, connections dealt out to shards.
//! * `tls` (feature `tls`): a layer in front of any handler that decrypts TLS connections with
//!   the secrets of an NSS key log, so the decoders see their plaintext.
//!
//! The short way from a capture file to decoded messages: implement [`StreamHandler`] (choose
//! connections in `open` with [`ClientIs::for_server_ports`], keep one protocol decoder per
//! connection) and call [`run_file`]`(path, &mut handler)`; the [`RunOutcome`] it returns holds
//! the counters in [`RunOutcome::capture`]. [`Direction`] is the workspace's one type (defined
//! in `zkwire-jute`, also re-exported by `zk-proto` and `fle-proto`), so the direction a handler
//! receives goes straight into `zk_proto::ClientConnection::push` or
//! `fle_proto::ElectionConnection::push` (and `.into()` a `zab_proto::QuorumDirection`).
//!
//! Everything below the source is sans-IO and deterministic: the same packets in the same order
//! give the same events, whatever the wall clock says.
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]

pub mod link;
pub mod pipeline;
pub mod reassembly;
pub mod sharded;
pub mod source;
pub mod stats;
#[cfg(feature = "tls")]
pub mod tls;

pub use link::{decode_tcp, LinkType, TcpSegment};
pub use pipeline::{run, run_file, PipelineOptions, RunOutcome, StopFlag};
pub use reassembly::{
    ClientIs, CloseReason, ConnInfo, Direction, Reassembler, ReassemblyConfig, StreamHandler,
};
pub use source::{FileSource, Inspect, Next, PacketSource, RawPacket, SourceError, Take};
pub use stats::{CaptureStats, TlsStats};
pub use zkwire_jute::Timestamp;
pub use zkwire_jute::{framing, time};
pub use zkwire_jute::{
    Boundary, Framer, FramerEvent, FramerStats, LengthPrefixed, Plausibility, Splitter,
};

/// Compiles the README's example as a doctest, so it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
