//! The quorum-SASL prelude (`QuorumAuthPacket` in `zookeeper.jute`;
//! `org.apache.zookeeper.server.quorum.auth.QuorumAuth`) that may sit between the initial
//! message and the first notification frame when `quorum.auth.enableSasl` is on (upstream
//! `QuorumCnxManager` authenticates right after the initial message: `authLearner` in
//! `startConnection`, `authServer` in `handleConnection`).
//!
//! The packets are bare Jute records, **not** length-prefixed: `magic` long
//! ([`QUORUM_AUTH_MAGIC`]), `status` int, `token` buffer. The initiator sends first; the
//! acceptor answers IN_PROGRESS challenges until SUCCESS or ERROR. Because the magic's first
//! bytes (`5f 24 35 01`) read as a 1.6 GB frame length, they can never be mistaken for a
//! notification frame, so a framer can simply test for the magic before each frame while the
//! prelude may still be running.

use nom::error::{Error, ErrorKind};
use nom::{Err, IResult, Needed};
use zk_proto::jute::{parse_int, parse_long, write_buffer, write_int, write_long, Buffer, Encode};

use crate::error::{Boundary, DecodeError};

/// `QuorumAuth.QUORUM_AUTH_MAGIC_NUMBER` (on the wire `5f 24 35 01 35 01 ed cc`).
pub const QUORUM_AUTH_MAGIC: i64 = 0x5F24_3501_3501_EDCC;
/// Ceiling for SASL token lengths accepted by this decoder. GSSAPI/DIGEST-MD5 tokens are a few
/// KiB; anything beyond this is treated as garbage rather than awaited.
pub const MAX_TOKEN_LEN: usize = 1024 * 1024;

/// `QuorumAuth.Status` of a [`QuorumAuthPacket`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthStatus {
    /// 0: more SASL rounds follow.
    InProgress,
    /// 1: authentication succeeded.
    Success,
    /// -1: authentication failed; the connection is closed.
    Error,
}

impl AuthStatus {
    /// The status for a wire value, if known.
    pub const fn from_i32(v: i32) -> Option<Self> {
        match v {
            0 => Some(AuthStatus::InProgress),
            1 => Some(AuthStatus::Success),
            -1 => Some(AuthStatus::Error),
            _ => None,
        }
    }

    /// The wire value.
    pub const fn as_i32(self) -> i32 {
        match self {
            AuthStatus::InProgress => 0,
            AuthStatus::Success => 1,
            AuthStatus::Error => -1,
        }
    }

    /// Java enum name (`"IN_PROGRESS"`, `"SUCCESS"`, `"ERROR"`).
    pub const fn name(self) -> &'static str {
        match self {
            AuthStatus::InProgress => "IN_PROGRESS",
            AuthStatus::Success => "SUCCESS",
            AuthStatus::Error => "ERROR",
        }
    }
}

/// One quorum-SASL packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QuorumAuthPacket<'a> {
    /// Raw status (see [`AuthStatus::from_i32`]); kept raw so unknown values still round-trip.
    pub status: i32,
    /// SASL token (`None` = null buffer on the wire), borrowed. It is a credential exchange:
    /// the serde output only carries its length.
    pub token: Buffer<'a>,
}

impl QuorumAuthPacket<'_> {
    /// The status, if it is one of the three known values.
    pub fn status(&self) -> Option<AuthStatus> {
        AuthStatus::from_i32(self.status)
    }
}

impl Encode for QuorumAuthPacket<'_> {
    fn encode(&self, out: &mut Vec<u8>) {
        write_long(out, QUORUM_AUTH_MAGIC);
        write_int(out, self.status);
        write_buffer(out, self.token);
    }
}

/// Whether `buf` starts with the quorum-auth magic: `Some(true/false)`, or `None` while fewer
/// than 8 bytes are present and those agree with the magic.
pub fn starts_with_quorum_auth(buf: &[u8]) -> Option<bool> {
    let magic = QUORUM_AUTH_MAGIC.to_be_bytes();
    let n = buf.len().min(8);
    if buf[..n] != magic[..n] {
        Some(false)
    } else if n < 8 {
        None
    } else {
        Some(true)
    }
}

/// Parses one `QuorumAuthPacket` (streaming: [`nom::Err::Incomplete`] when short). Errors:
/// wrong magic ([`ErrorKind::Tag`]), token length negative other than -1 or above
/// [`MAX_TOKEN_LEN`] ([`ErrorKind::LengthValue`]).
pub fn parse_quorum_auth_packet(i: &[u8]) -> IResult<&[u8], QuorumAuthPacket<'_>> {
    let (rest, magic) = parse_long(i)?;
    if magic != QUORUM_AUTH_MAGIC {
        return Err(Err::Error(Error::new(i, ErrorKind::Tag)));
    }
    let (rest, status) = parse_int(rest)?;
    let len_at = rest;
    let (rest, len) = parse_int(rest)?;
    if len == -1 {
        return Ok((
            rest,
            QuorumAuthPacket {
                status,
                token: None,
            },
        ));
    }
    let len = match usize::try_from(len) {
        Ok(n) if n <= MAX_TOKEN_LEN => n,
        _ => return Err(Err::Error(Error::new(len_at, ErrorKind::LengthValue))),
    };
    if rest.len() < len {
        return Err(Err::Incomplete(Needed::new(len - rest.len())));
    }
    let (token, rest) = rest.split_at(len);
    Ok((
        rest,
        QuorumAuthPacket {
            status,
            token: Some(token),
        },
    ))
}

/// Decodes a buffer holding exactly one `QuorumAuthPacket`.
pub fn decode_quorum_auth_packet(buf: &[u8]) -> Result<QuorumAuthPacket<'_>, DecodeError> {
    match parse_quorum_auth_packet(buf) {
        Ok(([], p)) => Ok(p),
        Ok((rest, _)) => Err(DecodeError::TrailingBytes { count: rest.len() }),
        Err(Err::Incomplete(n)) => Err(DecodeError::Truncated {
            needed: match n {
                Needed::Size(n) => Some(n.get()),
                Needed::Unknown => None,
            },
        }),
        Err(Err::Error(e) | Err::Failure(e)) => Err(DecodeError::invalid(
            if e.code == ErrorKind::Tag {
                "quorum auth magic"
            } else {
                "token length"
            },
            buf.len() - e.input.len(),
        )),
    }
}

/// Where the `QuorumAuthPacket` at the start of `buf` ends (same conventions as
/// [`crate::initial_message_boundary`]).
pub fn quorum_auth_boundary(buf: &[u8]) -> Boundary {
    match parse_quorum_auth_packet(buf) {
        Ok((rest, _)) => Boundary::Complete(buf.len() - rest.len()),
        Err(Err::Incomplete(Needed::Size(n))) => Boundary::Incomplete(buf.len() + n.get()),
        Err(Err::Incomplete(Needed::Unknown)) => Boundary::Incomplete(buf.len() + 1),
        Err(_) => Boundary::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_and_roundtrip() {
        let p = QuorumAuthPacket {
            status: 0,
            token: Some(b"tok"),
        };
        let b = p.to_bytes();
        assert_eq!(&b[..8], &[0x5f, 0x24, 0x35, 0x01, 0x35, 0x01, 0xed, 0xcc]);
        assert_eq!(decode_quorum_auth_packet(&b), Ok(p));
        assert_eq!(quorum_auth_boundary(&b), Boundary::Complete(19));
        assert_eq!(quorum_auth_boundary(&b[..5]), Boundary::Incomplete(8));
        assert_eq!(starts_with_quorum_auth(&b[..3]), None);
        assert_eq!(starts_with_quorum_auth(&b), Some(true));
        assert_eq!(starts_with_quorum_auth(&[0, 0, 0, 0x1c]), Some(false));
        assert_eq!(p.status(), Some(AuthStatus::InProgress));
    }
}
