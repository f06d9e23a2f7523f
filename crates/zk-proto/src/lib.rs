//! Zero-copy decoders and encoders for the Apache ZooKeeper client protocol (client port,
//! default 2181), covering ZooKeeper 3.3 – 3.10.
//!
//! * [`jute`] — the Jute primitives (int, long, boolean, buffer, ustring, lazy vectors) and the
//!   [`Encode`] trait, reusable by other Jute protocols.
//! * [`records`] — every client-port record (`ConnectRequest`, `Stat`, `CreateRequest`, …) with
//!   a nom parser `parse_*` and an encoder.
//! * [`multi`] — multi/multiRead op and result lists.
//! * [`message`] — whole-frame decoding: [`decode_request`], [`decode_reply`],
//!   [`decode_connect_request`], [`decode_connect_response`] and mid-stream shape checks.
//! * [`framing`] — length-prefix framing, resynchronisation checks, four-letter words.
//! * [`stream`] — **the entry point for captures**: [`ClientConnection`], push both
//!   directions' bytes with capture timestamps, get typed [`Event`]s (requests, replies typed
//!   through their request with path and `latency_ns`, watch events, four-letter words, TLS,
//!   decode errors).
//! * [`tracker`] — the lower layer under [`stream`]: sans-IO per-connection request/reply
//!   pairing ([`ConnectionTracker`]) for callers that frame and classify by themselves.
//! * `owned` (feature `bytes`) — `OwnedRequest`/`OwnedReply`: messages backed by a
//!   `bytes::Bytes`, kept past the callback without copying.
//! * [`codes`] — opcodes, error codes, event types and other named constants.
//!
//! Decoding never allocates: strings, buffers and vectors borrow the frame, and vectors are
//! validated once and decoded lazily on iteration. Whole-frame functions return
//! [`DecodeError`], which separates truncated input from invalid values and trailing bytes.
//!
//! With the `serde` feature every decoded message implements `serde::Serialize` with plain
//! field names, zxids as `"0x…"` strings, data as `data_len`, and credentials (auth packets,
//! SASL tokens, session passwords) reduced to their lengths.
//!
//! # Example
//!
//! ```
//! use zk_proto::{decode_reply, decode_request, frame_len, Boundary, OpCode, ReplyBody, RequestBody};
//!
//! fn hex(s: &str) -> Vec<u8> {
//!     (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
//! }
//!
//! // A sync request for "/p": length prefix, xid 17, opcode 9 (sync), ustring "/p".
//! let frame = hex("0000000e0000001100000009000000022f70");
//! let Boundary::Complete(total_len) = frame_len(&frame, 1 << 20) else { panic!() };
//! let req = decode_request(&frame[4..total_len])?;
//! assert_eq!((req.xid, req.opcode), (17, OpCode::Sync));
//! assert_eq!(req.body.path().unwrap(), "/p");
//! assert!(matches!(req.body, RequestBody::Sync(_)));
//!
//! // Its reply carries no opcode, so pass the request's (a ClientConnection does this).
//! let reply = hex("0000001600000011000000010000000200000000000000022f70");
//! let r = decode_reply(&reply[4..], Some(req.opcode))?;
//! assert_eq!(r.header.zxid, 0x1_0000_0002);
//! assert!(matches!(r.body, ReplyBody::Sync(p) if p.path.unwrap() == "/p"));
//! # Ok::<(), zk_proto::DecodeError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]
#![deny(missing_docs)]

pub mod codes;
pub mod framing;
pub use zkwire_jute::jute;
pub mod message;
pub mod multi;
#[cfg(feature = "bytes")]
pub mod owned;
pub mod records;
#[cfg(feature = "serde")]
mod ser;
pub mod stream;
pub mod tracker;

pub use codes::{
    add_watch_mode_name, create_mode_name, error_name, event_type_name, keeper_state_name,
    watcher_type_name, OpCode,
};
pub use framing::{
    four_letter_word, frame_len, plausible_reply_frame, plausible_request_frame, reply_splitter,
    request_splitter, FourLetterWord,
};
pub use jute::{Encode, JuteStr, JuteVec};
pub use message::{
    decode_connect_request, decode_connect_response, decode_reply, decode_request,
    looks_like_connect_request, looks_like_connect_response, Reply, ReplyBody, Request,
    RequestBody,
};
pub use stream::{ClientConnection, ConnectionState, Event};
pub use tracker::{ClientFrame, ConnectionTracker, Pending, ServerFrame};
/// The one `Direction` of the workspace, defined in `zkwire-jute` and re-exported unchanged
/// (also by `zkwire-capture` and `fle-proto`): a capture handler's direction goes straight into
/// [`ClientConnection::push`].
pub use zkwire_jute::Direction;
pub use zkwire_jute::{nom, Boundary, DecodeError, Plausibility, Timestamp};

/// Compiles and runs the README's examples as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
