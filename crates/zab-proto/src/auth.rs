//! The quorum SASL prelude (`QuorumAuthPacket` in `zookeeper.jute`;
//! `org.apache.zookeeper.server.quorum.auth.QuorumAuth`): `QuorumAuthPacket`s exchanged before
//! the first QuorumPacket when `quorum.auth.enableSasl` is on (3.4.10+ / 3.5.4+). The same
//! record is used after the initial message on the election port.
//!
//! A prelude record always starts with the 8-byte magic `5f 24 35 01 35 01 ed cc`. As a
//! QuorumPacket those bytes would be type `0x5f243501`, which does not exist, so a framer can
//! test every record start for the magic without ambiguity (see [`is_quorum_auth_start`]).

use nom::error::ErrorKind;
use nom::IResult;
use zk_proto::jute::{parse_buffer, parse_int, parse_long, Buffer, Encode, JuteDecode};

use crate::error::fail;

/// `QuorumAuth.QUORUM_AUTH_MAGIC_NUMBER` (`-0xa0dbcafecafe1234L` in the Java source).
pub const QUORUM_AUTH_MAGIC: i64 = 0x5F24_3501_3501_EDCC;

/// Auth status codes (`QuorumAuth.Status`).
pub mod status {
    /// More SASL rounds follow.
    pub const IN_PROGRESS: i32 = 0;
    /// Authentication succeeded; QuorumPackets follow.
    pub const SUCCESS: i32 = 1;
    /// Authentication failed; the connection is closed.
    pub const ERROR: i32 = -1;
}

/// Name of a [`status`] code (`"IN_PROGRESS"`, `"SUCCESS"`, `"ERROR"`).
pub const fn status_name(code: i32) -> Option<&'static str> {
    match code {
        status::IN_PROGRESS => Some("IN_PROGRESS"),
        status::SUCCESS => Some("SUCCESS"),
        status::ERROR => Some("ERROR"),
        _ => None,
    }
}

/// One record of the quorum SASL prelude.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumAuthPacket<'a> {
    /// Always [`QUORUM_AUTH_MAGIC`] after a successful parse.
    pub magic: i64,
    /// See [`status`].
    pub status: i32,
    /// SASL token (DIGEST-MD5 or GSSAPI); a credential exchange, so serialized only as its
    /// length.
    pub token: Buffer<'a>,
}

/// Whether `buf` starts with the prelude magic; `None` while fewer than 8 bytes are known.
///
/// A mismatch on a *prefix* of the magic is already a definite `Some(false)`.
pub fn is_quorum_auth_start(buf: &[u8]) -> Option<bool> {
    let magic = QUORUM_AUTH_MAGIC.to_be_bytes();
    let n = buf.len().min(8);
    // Called on every quorum record: a byte loop, not a call into memcmp for 8 bytes.
    if buf.iter().zip(magic).any(|(a, b)| *a != b) {
        Some(false)
    } else if n < 8 {
        None
    } else {
        Some(true)
    }
}

/// Parses a [`QuorumAuthPacket`] (streaming); a wrong magic is an `ErrorKind::Tag` error.
pub fn parse_quorum_auth_packet(i: &[u8]) -> IResult<&[u8], QuorumAuthPacket<'_>> {
    let (rest, magic) = parse_long(i)?;
    if magic != QUORUM_AUTH_MAGIC {
        return fail(i, ErrorKind::Tag);
    }
    let (rest, status) = parse_int(rest)?;
    let (rest, token) = parse_buffer(rest)?;
    Ok((
        rest,
        QuorumAuthPacket {
            magic,
            status,
            token,
        },
    ))
}

impl<'a> JuteDecode<'a> for QuorumAuthPacket<'a> {
    fn decode(i: &'a [u8]) -> IResult<&'a [u8], Self> {
        parse_quorum_auth_packet(i)
    }
}

impl Encode for QuorumAuthPacket<'_> {
    fn encode(&self, out: &mut Vec<u8>) {
        self.magic.encode(out);
        self.status.encode(out);
        self.token.encode(out);
    }
}
