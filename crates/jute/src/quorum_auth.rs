//! The quorum-SASL prelude: `QuorumAuthPacket`s (`org.apache.zookeeper.server.quorum.QuorumAuthPacket`,
//! `zookeeper.jute`) that a server sends before its first QuorumPacket on the quorum port and
//! after the initial message on the election port when `quorum.auth.enableSasl` is on
//! (3.4.10+ / 3.5.4+; `org.apache.zookeeper.server.quorum.auth.QuorumAuth`).
//!
//! The packets are bare Jute records, **not** length-prefixed: `magic` long
//! ([`QUORUM_AUTH_MAGIC`]), `status` int, `token` buffer. The initiator sends first; the
//! acceptor answers IN_PROGRESS challenges until SUCCESS or ERROR. The magic's first bytes
//! (`5f 24 35 01`) are neither a QuorumPacket type nor a sane election frame length (1.6 GB),
//! so a framer can test every record start for the magic without ambiguity.

use nom::error::ErrorKind;
use nom::{Err, IResult, Needed};

use crate::error::{complete, fail, DecodeError};
use crate::framing::{Boundary, Plausibility};
use crate::jute::{int_at, parse_int, parse_long, write_buffer, write_int, write_long, Buffer};
use crate::jute::{Encode, JuteDecode};

/// `QuorumAuth.QUORUM_AUTH_MAGIC_NUMBER` (`-0xa0dbcafecafe1234L` in the Java source; on the
/// wire `5f 24 35 01 35 01 ed cc`).
pub const QUORUM_AUTH_MAGIC: i64 = 0x5F24_3501_3501_EDCC;

/// Ceiling for SASL token lengths. GSSAPI and DIGEST-MD5 tokens are a few KiB; anything beyond
/// this is treated as garbage rather than awaited.
pub const MAX_TOKEN_LEN: usize = 1024 * 1024;

/// Magic, status and token length: the bytes before the token.
const HEAD_LEN: usize = 16;

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

/// One quorum-SASL packet. The magic is implied: a parse only succeeds when it matches.
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
    fn encode<O: crate::jute::Output + ?Sized>(&self, out: &mut O) {
        write_long(out, QUORUM_AUTH_MAGIC);
        write_int(out, self.status);
        write_buffer(out, self.token);
    }
}

impl<'a> JuteDecode<'a> for QuorumAuthPacket<'a> {
    fn decode(i: &'a [u8]) -> IResult<&'a [u8], Self> {
        parse_quorum_auth_packet(i)
    }
}

/// Whether `buf` starts with the quorum-auth magic. A mismatch on a *prefix* of the magic is
/// already a definite [`Plausibility::No`]; a matching prefix shorter than 8 bytes needs more.
pub fn starts_with_quorum_auth(buf: &[u8]) -> Plausibility {
    let magic = QUORUM_AUTH_MAGIC.to_be_bytes();
    // Called on every quorum record: a byte loop, not a call into memcmp for 8 bytes.
    if buf.iter().zip(magic).any(|(a, b)| *a != b) {
        Plausibility::No
    } else if buf.len() < magic.len() {
        Plausibility::NeedMore
    } else {
        Plausibility::Yes
    }
}

/// Token length from its prefix: `Some(0)` for null (-1), `None` for other negatives or
/// lengths above [`MAX_TOKEN_LEN`].
fn token_len(n: i32) -> Option<usize> {
    match n {
        -1 => Some(0),
        n => usize::try_from(n).ok().filter(|n| *n <= MAX_TOKEN_LEN),
    }
}

/// Parses one `QuorumAuthPacket` (streaming: [`nom::Err::Incomplete`] when short). Errors:
/// wrong magic ([`ErrorKind::Tag`]), token length negative other than -1 or above
/// [`MAX_TOKEN_LEN`] ([`ErrorKind::LengthValue`]).
pub fn parse_quorum_auth_packet(i: &[u8]) -> IResult<&[u8], QuorumAuthPacket<'_>> {
    // A byte that differs from the magic is decisive however short the input: the same answer
    // as quorum_auth_boundary, which framers ask first.
    if starts_with_quorum_auth(i) == Plausibility::No {
        return fail(i, ErrorKind::Tag);
    }
    let (rest, magic) = parse_long(i)?;
    if magic != QUORUM_AUTH_MAGIC {
        return fail(i, ErrorKind::Tag);
    }
    let (rest, status) = parse_int(rest)?;
    let len_at = rest;
    let (rest, len) = parse_int(rest)?;
    if len == -1 {
        let token = None;
        return Ok((rest, QuorumAuthPacket { status, token }));
    }
    let Some(len) = token_len(len) else {
        return fail(len_at, ErrorKind::LengthValue);
    };
    if rest.len() < len {
        return Err(Err::Incomplete(Needed::new(len - rest.len())));
    }
    let (token, rest) = rest.split_at(len);
    let token = Some(token);
    Ok((rest, QuorumAuthPacket { status, token }))
}

/// Decodes a buffer holding exactly one `QuorumAuthPacket`.
pub fn decode_quorum_auth_packet(buf: &[u8]) -> Result<QuorumAuthPacket<'_>, DecodeError> {
    complete(buf, parse_quorum_auth_packet(buf))
}

/// Where the `QuorumAuthPacket` at the start of `buf` ends: [`Boundary::Invalid`] as soon as a
/// byte differs from the magic or the token length is bad; the 16-byte head is awaited whole.
pub fn quorum_auth_boundary(buf: &[u8]) -> Boundary {
    if starts_with_quorum_auth(buf) == Plausibility::No {
        return Boundary::Invalid;
    }
    let Some(n) = int_at(buf, 12) else {
        return Boundary::Incomplete(HEAD_LEN);
    };
    match token_len(n) {
        None => Boundary::Invalid,
        Some(n) if buf.len() >= HEAD_LEN + n => Boundary::Complete(HEAD_LEN + n),
        Some(n) => Boundary::Incomplete(HEAD_LEN + n),
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for QuorumAuthPacket<'_> {
    /// `{magic, status, status_name, token_len}`: the SASL token is a credential exchange.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("magic", &crate::ser::Hex::of(QUORUM_AUTH_MAGIC))?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("status_name", &self.status().map(AuthStatus::name))?;
        m.serialize_entry("token_len", &self.token.map(<[u8]>::len))?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_boundaries_and_roundtrip() {
        let p = QuorumAuthPacket {
            status: 0,
            token: Some(b"tok"),
        };
        let b = p.to_bytes();
        assert_eq!(&b[..8], &[0x5f, 0x24, 0x35, 0x01, 0x35, 0x01, 0xed, 0xcc]);
        assert_eq!(decode_quorum_auth_packet(&b), Ok(p));
        assert_eq!(quorum_auth_boundary(&b), Boundary::Complete(19));
        assert_eq!(quorum_auth_boundary(&b[..5]), Boundary::Incomplete(16));
        assert_eq!(quorum_auth_boundary(&b[..17]), Boundary::Incomplete(19));
        assert_eq!(quorum_auth_boundary(&[0, 0, 0, 4]), Boundary::Invalid);
        // Parser and boundary agree on a short prefix that already differs from the magic.
        assert!(matches!(
            parse_quorum_auth_packet(&[0xff, 0xff]),
            Err(Err::Error(_))
        ));
        assert_eq!(starts_with_quorum_auth(&b[..3]), Plausibility::NeedMore);
        assert_eq!(starts_with_quorum_auth(&b), Plausibility::Yes);
        assert_eq!(starts_with_quorum_auth(&[0, 0, 0, 0x1c]), Plausibility::No);
        assert_eq!(p.status(), Some(AuthStatus::InProgress));
    }

    #[test]
    fn oversized_or_negative_tokens_are_invalid_not_awaited() {
        let mut b = QUORUM_AUTH_MAGIC.to_be_bytes().to_vec();
        b.extend_from_slice(&1i32.to_be_bytes());
        b.extend_from_slice(&(MAX_TOKEN_LEN as i32 + 1).to_be_bytes());
        assert_eq!(quorum_auth_boundary(&b), Boundary::Invalid);
        assert!(decode_quorum_auth_packet(&b).is_err());
        b[12..16].copy_from_slice(&(-2i32).to_be_bytes());
        assert_eq!(quorum_auth_boundary(&b), Boundary::Invalid);
    }
}
