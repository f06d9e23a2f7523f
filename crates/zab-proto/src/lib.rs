//! Zero-copy decoders and encoders for Apache ZooKeeper's quorum protocol (Zab, the
//! leader ↔ learner stream on the quorum port, default 2888), ZooKeeper 3.3 – 3.10.
//!
//! * [`packet`] — the `QuorumPacket` record ([`parse_quorum_packet`]) and [`PacketType`].
//! * [`data`] — [`decode_packet`]: a packet's `data` decoded by type and direction into
//!   [`Packet`] (LearnerInfo, forwarded requests, pings, revalidation, epochs, config…).
//! * [`txn`] — transactions carried by PROPOSAL / INFORM / INFORMANDACTIVATE: `TxnHeader`,
//!   every txn record, `MultiTxn`, the optional `TxnDigest` ([`decode_txn_entry`]).
//! * [`quorum_auth`] — the quorum SASL prelude (`QuorumAuthPacket`, shared with the election
//!   port through `zkwire-jute`).
//! * [`stream`] — [`QuorumConnection`]: push each direction's bytes, get typed
//!   [`QuorumEvent`]s (packets with the learner's sid, SASL packets, skipped snapshot bytes,
//!   decode errors); [`QuorumSplitter`] for a [`zkwire_jute::Framer`] of your own. Its
//!   [`QuorumDirection`] converts from a capture's TCP [`zkwire_jute::Direction`]
//!   (`conn.push(dir.into(), bytes, &mut sink)`: the TCP client is the learner).
//! * [`snapshot`] — the raw snapshot stream that follows SNAP, decoded or just skipped.
//! * [`boundary`] — record boundaries for a framer (the stream has no length prefix) and
//!   resynchronisation checks.
//! * [`zxid`] — epoch / counter helpers.
//!
//! The Jute primitives, the client records (`Id`, `ACL`, `Stat`, request bodies) and opcode
//! names come from [`zk_proto`]. Decoding never allocates: strings, buffers and vectors borrow
//! the input and no length or count from the wire sizes an allocation. Streaming parsers report
//! missing bytes as [`nom::Err::Incomplete`], distinct from invalid bytes; whole-record
//! functions return [`DecodeError`].
//!
//! With the `serde` feature every decoded record implements `serde::Serialize`: packets as
//! `{type, type_code, zxid, zxid_hex, …}`, transactions as `{type, type_code, session, cxid,
//! zxid, zxid_hex, time, path, …, digest}`, data buffers as their lengths.
//!
//! # Example
//!
//! ```
//! use zab_proto::{decode_packet, packet_boundary, parse_quorum_packet, Boundary, Packet, QuorumDirection};
//! use zab_proto::txn::TxnRecord;
//!
//! fn hex(s: &str) -> Vec<u8> {
//!     (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
//! }
//!
//! // A PROPOSAL (createSession, 3.6+ digest) followed by the first 5 bytes of the next packet.
//! let mut stream = hex(concat!(
//!     "0000000200000001000000010000003001000009f6bb0000000000000000000100000001",
//!     "000001a200e37f29fffffff600001770000000020000000051c6d660ffffffff",
//! ));
//! stream.extend_from_slice(&[0, 0, 0, 4, 0]);
//!
//! // No length prefix: the framer asks where the record ends.
//! let Boundary::Complete(len) = packet_boundary(&stream) else { panic!() };
//! assert_eq!(packet_boundary(&stream[len..]), Boundary::Incomplete(20));
//!
//! let (_, qp) = parse_quorum_packet(&stream[..len]).expect("a complete record");
//! let packet = decode_packet(&qp, Some(QuorumDirection::LeaderToLearner))?;
//! let Packet::Proposal { zxid, txn } = packet else { panic!() };
//! assert_eq!(zxid.to_string(), "1/1");
//! assert_eq!(txn.header.client_id, 0x1000009f6bb0000);
//! assert!(matches!(txn.record, TxnRecord::CreateSession(c) if c.time_out == 6000));
//! assert_eq!(txn.digest.map(|d| d.version), Some(2));
//! # Ok::<(), zab_proto::DecodeError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]
#![deny(missing_docs)]

pub mod boundary;
pub mod data;
mod direction;
pub mod packet;
#[cfg(feature = "serde")]
mod ser;
pub mod snapshot;
pub mod stream;
pub mod txn;
pub mod zxid;

pub use boundary::{
    packet_boundary, packet_boundary_with_limit, plausible_packet_start,
    plausible_packet_start_with_limit,
};
pub use data::{decode_packet, LearnerInfo, Packet, RequestData};
pub use direction::QuorumDirection;
pub use packet::{parse_quorum_packet, PacketType, QuorumPacket};
pub use snapshot::{parse_snapshot_stream, snapshot_stream_boundary, SnapshotScanner};
pub use stream::{Learner, QuorumConnection, QuorumEvent, QuorumSplitter};
pub use txn::{decode_txn_entry, TxnEntry, TxnRecord};
/// The quorum-SASL prelude, shared with the election port (from `zkwire-jute`).
pub use zkwire_jute::quorum_auth;
pub use zkwire_jute::quorum_auth::{
    decode_quorum_auth_packet, parse_quorum_auth_packet, quorum_auth_boundary,
    starts_with_quorum_auth, AuthStatus, QuorumAuthPacket, QUORUM_AUTH_MAGIC,
};
pub use zkwire_jute::Encode;
pub use zkwire_jute::{nom, Boundary, DecodeError, Plausibility, Timestamp};
pub use zxid::Zxid;

/// Compiles and runs the README's example as a doctest so it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
