//! Zero-copy decoders and encoders for the Apache ZooKeeper client protocol (client port,
//! default 2181), covering ZooKeeper 3.3 – 3.10.
//!
//! * [`jute`] — the Jute primitives (int, long, boolean, buffer, ustring, lazy vectors) and the
//!   [`Encode`] trait, reusable by other Jute protocols.
//! * [`records`] — every client-port record (`ConnectRequest`, `Stat`, `CreateRequest`, …) with
//!   a nom parser `parse_*` and an encoder.
//! * [`multi`] — multi/multiRead op and result lists.
//! * [`message`] — whole-frame decoding: [`parse_request`], [`parse_reply`],
//!   [`parse_connect_request`], [`parse_connect_response`] and mid-stream shape checks.
//! * [`framing`] — length-prefix framing, resynchronisation checks, four-letter words.
//! * [`tracker`] — sans-IO per-connection request/reply pairing.
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
//! use zk_proto::{frame_len, parse_reply, parse_request, FrameStatus, OpCode, ReplyBody, RequestBody};
//!
//! fn hex(s: &str) -> Vec<u8> {
//!     (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
//! }
//!
//! // A sync request for "/p": length prefix, xid 17, opcode 9 (sync), ustring "/p".
//! let frame = hex("0000000e0000001100000009000000022f70");
//! let FrameStatus::Complete { total_len } = frame_len(&frame, 1 << 20) else { panic!() };
//! let req = parse_request(&frame[4..total_len])?;
//! assert_eq!(req.xid, 17);
//! assert_eq!(OpCode::from_i32(req.opcode), Some(OpCode::Sync));
//! let RequestBody::Sync(sync) = req.body else { panic!() };
//! assert_eq!(sync.path.unwrap().to_string(), "/p");
//!
//! // Its reply carries no opcode, so pass the request's (a ConnectionTracker does this).
//! let reply = hex("0000001600000011000000010000000200000000000000022f70");
//! let r = parse_reply(&reply[4..], Some(req.opcode))?;
//! assert_eq!(r.header.zxid, 0x1_0000_0002);
//! assert!(matches!(r.body, ReplyBody::Sync(p) if p.path.unwrap() == "/p"));
//! # Ok::<(), zk_proto::DecodeError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod codes;
mod error;
pub mod framing;
pub mod jute;
pub mod message;
pub mod multi;
pub mod records;
#[cfg(feature = "serde")]
mod ser;
pub mod tracker;

pub use codes::{
    add_watch_mode_name, create_mode_name, error_name, event_type_name, keeper_state_name,
    watcher_type_name, OpCode,
};
pub use error::DecodeError;
pub use framing::{
    four_letter_word, frame_len, plausible_reply_frame, plausible_request_frame, FourLetterWord,
    FrameStatus,
};
pub use jute::{Encode, JuteStr, JuteVec};
pub use message::{
    looks_like_connect_request, looks_like_connect_response, parse_connect_request,
    parse_connect_response, parse_reply, parse_request, Reply, ReplyBody, Request, RequestBody,
};
pub use tracker::ConnectionTracker;
