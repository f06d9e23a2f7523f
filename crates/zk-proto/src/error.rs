//! The error type of the whole-frame decoding functions, and its conversion from nom errors.
//!
//! The nom-level parsers report "need more bytes" as [`nom::Err::Incomplete`]; on a complete
//! frame that can only mean the frame is shorter than its own fields claim, which is reported
//! as [`DecodeError::Truncated`] so callers can tell it apart from malformed content.

use nom::error::ErrorKind;

/// Why a frame could not be decoded.
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
        /// Offset within the decoded payload (after the 4-byte length prefix).
        offset: usize,
    },
    /// The structure decoded fine but bytes were left over.
    #[error("{count} trailing bytes")]
    TrailingBytes {
        /// How many bytes were not consumed.
        count: usize,
    },
    /// The opcode is not a known ZooKeeper opcode.
    #[error("unknown opcode {0}")]
    UnknownOpcode(i32),
    /// The opcode is known but never appears as a client request (0, -1, -10).
    #[error("opcode {0} is not a client request")]
    NotARequest(i32),
}

pub(crate) fn what_for(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::LengthValue => "length (negative, not -1)",
        ErrorKind::Count => "vector count (negative, not -1)",
        ErrorKind::Switch => "multi op type",
        ErrorKind::Verify => "multi header",
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

/// Runs a nom parser over a whole payload, requiring it to consume every byte.
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
