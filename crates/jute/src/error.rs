//! The one error type of every whole-frame decoder in zkwire's protocol crates, and the
//! plumbing from nom errors to it.
//!
//! nom-level parsers (`parse_*`) report "need more bytes" as [`nom::Err::Incomplete`]. The
//! whole-frame functions (`decode_*`) work on a buffer that is already complete, so there
//! "incomplete" can only mean the buffer is shorter than its own fields claim; that is reported
//! as [`DecodeError::Truncated`], so callers can tell it apart from malformed content.

use nom::error::ErrorKind;

/// Why a frame, record or packet could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ends before the structure does (`needed` bytes more, when known).
    #[error("truncated: {needed:?} more bytes needed")]
    Truncated {
        /// How many more bytes would be needed, when nom could tell.
        needed: Option<usize>,
    },
    /// A field holds a value the protocol does not allow.
    #[error("invalid {what} at offset {offset}")]
    Invalid {
        /// What was wrong.
        what: &'static str,
        /// Offset within the decoded buffer (after any length prefix; the `data` buffer for
        /// quorum packet data).
        offset: usize,
    },
    /// The structure decoded fine but bytes were left over.
    #[error("{count} trailing bytes")]
    TrailingBytes {
        /// How many bytes were not consumed.
        count: usize,
    },
    /// The opcode is not a known ZooKeeper opcode, or (in a quorum REQUEST) one that is never
    /// forwarded to the leader.
    #[error("unknown opcode {0}")]
    UnknownOpcode(i32),
    /// The opcode is known but never appears as a client request (0, -1, -10).
    #[error("opcode {0} is not a client request")]
    NotARequest(i32),
    /// The QuorumPacket type is not one of 1..=19.
    #[error("unknown quorum packet type {0}")]
    UnknownPacketType(i32),
    /// The TxnHeader type is not a known transaction type.
    #[error("unknown txn type {0}")]
    UnknownTxnType(i32),
    /// A quorum packet's `data` buffer has a length (or nullness) its type never has.
    #[error("{packet} data {} is not a layout this type has", describe_len(.len))]
    UnexpectedDataLength {
        /// The packet type's name (`PROPOSAL`, …).
        packet: &'static str,
        /// The data length, `None` when the buffer was null.
        len: Option<usize>,
    },
    /// A quorum packet's data layout only exists in the other direction than the one given.
    #[error("{packet} data layout does not match direction {direction}")]
    DirectionMismatch {
        /// The packet type's name.
        packet: &'static str,
        /// The direction that was given (`leader->learner` or `learner->leader`).
        direction: &'static str,
    },
    /// The first 8 bytes are not the QuorumAuthPacket magic.
    #[error("bad quorum auth magic {0:#x}")]
    BadMagic(u64),
    /// The snapshot stream's closing signature is not `"BenWasHere"`.
    #[error("bad snapshot signature")]
    BadSignature,
    /// An election payload's length is not one of the notification sizes (28, 36, 40, ≥ 44;
    /// 41–43 only with `version` ≤ 1).
    #[error("{len}-byte payload is not a notification size")]
    BadSize {
        /// The payload length.
        len: usize,
    },
}

impl DecodeError {
    /// An [`DecodeError::Invalid`] error.
    pub fn invalid(what: &'static str, offset: usize) -> Self {
        DecodeError::Invalid { what, offset }
    }
}

fn describe_len(len: &Option<usize>) -> String {
    match len {
        None => "null".to_owned(),
        Some(n) => format!("of {n} bytes"),
    }
}

/// What a nom error kind means in the parsers of the protocol crates.
fn what_for(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::LengthValue => "length (negative, not -1)",
        ErrorKind::Count => "vector count (negative, not -1)",
        ErrorKind::Switch => "type code",
        ErrorKind::Tag => "signature",
        ErrorKind::Verify => "multi sub-record",
        _ => "value",
    }
}

/// Converts a nom error raised while parsing `whole` into a [`DecodeError`].
pub fn from_nom(whole: &[u8], e: nom::Err<nom::error::Error<&[u8]>>) -> DecodeError {
    match e {
        nom::Err::Incomplete(nom::Needed::Size(n)) => DecodeError::Truncated {
            needed: Some(n.get()),
        },
        nom::Err::Incomplete(nom::Needed::Unknown) => DecodeError::Truncated { needed: None },
        nom::Err::Error(e) | nom::Err::Failure(e) => DecodeError::Invalid {
            what: what_for(e.code),
            offset: whole.len().saturating_sub(e.input.len()),
        },
    }
}

/// Runs a nom parser's result over a whole buffer into a `decode_*` answer: every byte must
/// have been consumed.
pub fn complete<'a, T>(whole: &'a [u8], r: nom::IResult<&'a [u8], T>) -> Result<T, DecodeError> {
    match r {
        Ok(([], v)) => Ok(v),
        Ok((rest, _)) => Err(DecodeError::TrailingBytes { count: rest.len() }),
        Err(e) => Err(from_nom(whole, e)),
    }
}

/// A nom error of the given kind at `i`.
pub fn fail<T>(i: &[u8], kind: ErrorKind) -> nom::IResult<&[u8], T> {
    Err(nom::Err::Error(nom::error::Error::new(i, kind)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute::parse_int;

    #[test]
    fn complete_tells_truncated_invalid_and_trailing_apart() {
        assert_eq!(complete(&[0, 0, 0, 1], parse_int(&[0, 0, 0, 1])), Ok(1));
        assert_eq!(
            complete(&[0, 0], parse_int(&[0, 0])),
            Err(DecodeError::Truncated { needed: Some(2) })
        );
        assert_eq!(
            complete(&[0, 0, 0, 1, 9], parse_int(&[0, 0, 0, 1, 9])),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
        let bad = [1u8, 2];
        assert_eq!(
            complete::<i32>(&bad, fail(&bad[1..], ErrorKind::Switch)),
            Err(DecodeError::invalid("type code", 1))
        );
    }
}
