//! The error type of the whole-record decoding functions, and its conversion from nom errors.
//!
//! The nom-level parsers (`parse_*`) report "need more bytes" as [`nom::Err::Incomplete`]. The
//! whole-record functions ([`crate::decode_packet`], [`crate::txn::decode_txn_entry`], …) work
//! on a buffer that is already complete, so there "incomplete" can only mean the buffer is
//! shorter than its own fields claim; that is reported as [`DecodeError::Truncated`] so callers
//! can tell it apart from malformed content.

use crate::packet::PacketType;

/// Which way a quorum-port record travels.
///
/// The leader (or a follower acting as observer master) owns the listening port, so a sniffer
/// knows the direction of every segment from the TCP ports alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum Direction {
    /// Leader (or observer master) → follower/observer.
    LeaderToLearner,
    /// Follower/observer → leader (or observer master).
    LearnerToLeader,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::LeaderToLearner => "leader->learner",
            Direction::LearnerToLeader => "learner->leader",
        })
    }
}

/// Why a record or a packet's data could not be decoded.
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
        /// Offset within the decoded buffer (the `data` buffer for packet data).
        offset: usize,
    },
    /// The structure decoded fine but bytes were left over.
    #[error("{count} trailing bytes")]
    TrailingBytes {
        /// How many bytes were not consumed.
        count: usize,
    },
    /// The QuorumPacket type is not one of 1..=19.
    #[error("unknown quorum packet type {0}")]
    UnknownPacketType(i32),
    /// The TxnHeader type is not a known transaction type.
    #[error("unknown txn type {0}")]
    UnknownTxnType(i32),
    /// A REQUEST packet names an opcode that is unknown or never forwarded to the leader.
    #[error("unknown or non-forwardable request opcode {0}")]
    UnknownOpcode(i32),
    /// The packet's `data` buffer has a length (or nullness) its type never has.
    #[error("{packet} data {} is not a layout this type has", describe_len(.len))]
    UnexpectedDataLength {
        /// The packet type.
        packet: PacketType,
        /// The data length, `None` when the buffer was null.
        len: Option<usize>,
    },
    /// The data layout only exists in the other direction than the hint given.
    #[error("{packet} data layout does not match direction {direction}")]
    DirectionMismatch {
        /// The packet type.
        packet: PacketType,
        /// The direction hint that was given.
        direction: Direction,
    },
    /// The first 8 bytes are not the QuorumAuthPacket magic.
    #[error("bad quorum auth magic {0:#x}")]
    BadMagic(u64),
    /// The snapshot stream's closing signature is not `"BenWasHere"`.
    #[error("bad snapshot signature")]
    BadSignature,
}

fn describe_len(len: &Option<usize>) -> String {
    match len {
        None => "null".to_owned(),
        Some(n) => format!("of {n} bytes"),
    }
}

fn what_for(kind: nom::error::ErrorKind) -> &'static str {
    use nom::error::ErrorKind;
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
pub(crate) fn from_nom(whole: &[u8], e: nom::Err<nom::error::Error<&[u8]>>) -> DecodeError {
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

/// Runs a nom parser over a whole buffer, requiring it to consume every byte.
pub(crate) fn complete<'a, T>(
    whole: &'a [u8],
    r: nom::IResult<&'a [u8], T>,
) -> Result<T, DecodeError> {
    match r {
        Ok(([], v)) => Ok(v),
        Ok((rest, _)) => Err(DecodeError::TrailingBytes { count: rest.len() }),
        Err(e) => Err(from_nom(whole, e)),
    }
}

/// A nom error of the given kind at `i`.
pub(crate) fn fail<T>(i: &[u8], kind: nom::error::ErrorKind) -> nom::IResult<&[u8], T> {
    Err(nom::Err::Error(nom::error::Error::new(i, kind)))
}
