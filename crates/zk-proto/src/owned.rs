//! Requests and replies that own their bytes (feature `bytes`): for callers that keep a
//! message past the callback that handed it over — a proxy queueing requests, an async client
//! matching replies later. The payload is a [`Bytes`], shared with the buffer it was cut from,
//! never copied; the message is decoded once to validate it, and borrowed from the payload
//! again (without allocating) whenever it is read.
//!
//! ```
//! use bytes::Bytes;
//! use zk_proto::owned::OwnedRequest;
//! use zk_proto::{Encode, OpCode};
//!
//! // A ping frame as it arrived: length prefix, xid -2, opcode 11.
//! let frame = Bytes::from_static(&[0, 0, 0, 8, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11]);
//! let request = OwnedRequest::from_frame(frame.clone())?;
//! assert_eq!(request.request().opcode, OpCode::Ping);
//! // Re-encoded into a length-prefixed frame: the same bytes.
//! let mut out = bytes::BytesMut::new();
//! request.request().encode_frame(&mut out);
//! assert_eq!(out.freeze(), frame);
//! # Ok::<(), zk_proto::DecodeError>(())
//! ```

use bytes::Bytes;

use crate::codes::OpCode;
use crate::message::{decode_reply, decode_request, Reply, Request};
use zkwire_jute::DecodeError;

/// The payload of a frame: the bytes after its 4-byte length prefix, which must agree.
fn payload_of(frame: Bytes) -> Result<Bytes, DecodeError> {
    let declared = frame
        .get(..4)
        .map(|p| u32::from_be_bytes([p[0], p[1], p[2], p[3]]));
    match declared {
        Some(n) if n as usize == frame.len() - 4 => Ok(frame.slice(4..)),
        Some(n) if (n as usize) > frame.len() - 4 => Err(DecodeError::Truncated {
            needed: Some(n as usize - (frame.len() - 4)),
        }),
        Some(n) => Err(DecodeError::TrailingBytes {
            count: frame.len() - 4 - n as usize,
        }),
        None => Err(DecodeError::Truncated {
            needed: Some(4 - frame.len()),
        }),
    }
}

/// A client request that owns its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRequest {
    payload: Bytes,
}

impl OwnedRequest {
    /// Validates a request payload (the bytes after the length prefix).
    pub fn decode(payload: Bytes) -> Result<Self, DecodeError> {
        decode_request(&payload)?;
        Ok(OwnedRequest { payload })
    }

    /// Validates a whole frame, length prefix included; the prefix must match the length.
    pub fn from_frame(frame: Bytes) -> Result<Self, DecodeError> {
        Self::decode(payload_of(frame)?)
    }

    /// The request, borrowed from the payload.
    pub fn request(&self) -> Request<'_> {
        // Decoding is a pure function of bytes that cannot change, and these decoded before.
        decode_request(&self.payload).expect("a payload that decoded once decodes again")
    }

    /// The payload.
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }
}

/// A server reply that owns its payload, typed through the opcode of its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedReply {
    payload: Bytes,
    request_opcode: Option<OpCode>,
}

impl OwnedReply {
    /// Validates a reply payload, typed through `request_opcode` as [`decode_reply`] does.
    pub fn decode(payload: Bytes, request_opcode: Option<OpCode>) -> Result<Self, DecodeError> {
        decode_reply(&payload, request_opcode)?;
        Ok(OwnedReply {
            payload,
            request_opcode,
        })
    }

    /// Validates a whole frame, length prefix included.
    pub fn from_frame(frame: Bytes, request_opcode: Option<OpCode>) -> Result<Self, DecodeError> {
        Self::decode(payload_of(frame)?, request_opcode)
    }

    /// The reply, borrowed from the payload.
    pub fn reply(&self) -> Reply<'_> {
        // Decoding is a pure function of bytes that cannot change, and these decoded before.
        decode_reply(&self.payload, self.request_opcode)
            .expect("a payload that decoded once decodes again")
    }

    /// The payload.
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_must_agree_with_their_prefix() {
        let ping = [0, 0, 0, 8, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11];
        assert!(OwnedRequest::from_frame(Bytes::copy_from_slice(&ping)).is_ok());
        let short = Bytes::copy_from_slice(&ping[..10]);
        assert_eq!(
            OwnedRequest::from_frame(short),
            Err(DecodeError::Truncated { needed: Some(2) })
        );
        let mut long = ping.to_vec();
        long.push(0);
        assert_eq!(
            OwnedRequest::from_frame(Bytes::from(long)),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
        assert!(OwnedRequest::from_frame(Bytes::from_static(&[0, 0])).is_err());
    }

    #[test]
    fn replies_keep_their_request_opcode() {
        let mut reply = vec![0xff, 0xff, 0xff, 0xfe];
        reply.extend_from_slice(&5i64.to_be_bytes());
        reply.extend_from_slice(&[0; 4]);
        let owned = OwnedReply::decode(Bytes::from(reply), None).expect("a ping reply");
        assert_eq!(owned.reply().opcode, Some(OpCode::Ping));
        let payload = owned.payload().clone();
        drop(owned);
        assert_eq!(payload.len(), 16); // shared, not copied: still readable
    }
}
