//! The error type of the whole-payload decoders and the [`Boundary`] answer of the
//! stream-splitting helpers.
//!
//! nom-level parsers report "need more bytes" as [`nom::Err::Incomplete`]. Whole-payload
//! functions (which are handed a complete frame) turn that into [`DecodeError::Truncated`], so
//! a caller can tell a frame that is shorter than its own fields claim from one holding values
//! the protocol forbids.

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ends before the structure does (`needed` bytes more, when known).
    #[error("truncated: {needed:?} more bytes needed")]
    Truncated {
        /// How many more bytes would be needed, when known.
        needed: Option<usize>,
    },
    /// A field holds a value the protocol does not allow.
    #[error("invalid {what} at offset {offset}")]
    Invalid {
        /// What was wrong.
        what: &'static str,
        /// Offset within the decoded payload (after any 4-byte length prefix).
        offset: usize,
    },
    /// The payload length is not one of the notification sizes (28, 36, 40, ≥ 44; 41–43 only
    /// with `version` ≤ 1).
    #[error("{len}-byte payload is not a notification size")]
    BadSize {
        /// The payload length.
        len: usize,
    },
    /// The structure decoded fine but bytes were left over.
    #[error("{count} trailing bytes")]
    TrailingBytes {
        /// How many bytes were not consumed.
        count: usize,
    },
}

impl DecodeError {
    pub(crate) fn invalid(what: &'static str, offset: usize) -> Self {
        DecodeError::Invalid { what, offset }
    }
}

/// Where the current message ends, as far as the bytes at hand tell.
///
/// Returned by [`crate::initial_message_boundary`], [`crate::notification_frame_len`] and
/// [`crate::quorum_auth_boundary`] so a stream framer can cut messages without decoding them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Boundary {
    /// A whole message is present: it is `buf[..len]`.
    Complete(usize),
    /// The message is not complete yet; it is at least this many bytes long **in total**
    /// (counted from the start of `buf`), so wait until the buffer holds that many.
    Incomplete(usize),
    /// The bytes at the start of `buf` cannot be this kind of message (bad magic or version,
    /// length field out of range). Nothing should be allocated or awaited for it.
    Invalid,
}

impl Boundary {
    /// The message length when complete.
    pub fn complete_len(self) -> Option<usize> {
        match self {
            Boundary::Complete(n) => Some(n),
            _ => None,
        }
    }
}
