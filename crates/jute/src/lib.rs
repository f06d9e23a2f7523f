//! The base shared by zkwire's ZooKeeper protocol crates (`zk-proto`, `zab-proto`,
//! `fle-proto`) and its capture crate (`zkwire-capture`). Every piece exists here once:
//!
//! * [`jute`] — Jute binary-archive primitives (`org.apache.jute.BinaryInputArchive` /
//!   `BinaryOutputArchive`): big-endian `int`/`long`, `boolean`, `buffer`, `ustring`, lazily
//!   decoded `vector`s, the [`Encode`] trait, and `int_at`/`long_at` peeks for splitters.
//! * [`jute_record!`] — declares a Jute record with its parser, decoder and encoder.
//! * [`DecodeError`] — the one error of every `decode_*` function, with [`error::complete`]
//!   and [`error::from_nom`] to turn a nom parser into one.
//! * [`framing`] — the framing contract every protocol implements ([`Splitter`] answering
//!   [`Boundary`] and [`Plausibility`]) and the [`Framer`] that cuts a reassembled byte stream
//!   into whole messages with it, resynchronising after losses.
//! * [`Timestamp`] — capture time in nanoseconds since the epoch, the one clock from capture
//!   to every protocol decoder and printer.
//! * [`Direction`] — which way bytes flow in a TCP connection: one type, re-exported (not
//!   redefined) by `zkwire-capture`, `zk-proto` and `fle-proto`.
//! * [`quorum_auth`] — the quorum-SASL `QuorumAuthPacket`, seen on both server ports.
//!
//! Nothing here does I/O or needs libpcap; nothing allocates from a length read off the wire.
//!
//! ```
//! use zkwire_jute::{Boundary, Framer, FramerEvent, LengthPrefixed, Plausibility};
//!
//! // Length-prefixed messages, cut out of a stream that arrives in odd pieces.
//! let mut framer = Framer::new(LengthPrefixed::new(0, 1024, |_| Plausibility::Yes), true);
//! let mut messages = Vec::new();
//! for chunk in [&[0u8, 0, 0, 2, 7][..], &[8, 0, 0], &[0, 1, 9]] {
//!     framer.push(chunk, &mut |ev| {
//!         if let FramerEvent::Message(m) = ev {
//!             messages.push(m.to_vec());
//!         }
//!     });
//! }
//! assert_eq!(messages, [vec![0, 0, 0, 2, 7, 8], vec![0, 0, 0, 1, 9]]);
//! assert_eq!(Boundary::Complete(6).complete_len(), Some(6));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod error;
pub mod framing;
pub mod jute;
pub mod quorum_auth;
mod record;
#[cfg(feature = "serde")]
pub mod ser;
pub mod time;

pub use error::DecodeError;
pub use framing::{
    Boundary, Direction, Framer, FramerEvent, FramerStats, LengthPrefixed, Plausibility, Splitter,
};
pub use jute::{Encode, JuteDecode, JuteStr, JuteVec};
pub use quorum_auth::{AuthStatus, QuorumAuthPacket, QUORUM_AUTH_MAGIC};
pub use time::Timestamp;

/// nom, whose `IResult` appears in every `parse_*` signature.
pub use nom;

/// Compiles and runs the README's example as a doctest so it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
