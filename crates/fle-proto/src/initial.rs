//! The initial message an initiator writes as the first bytes of an election connection
//! (upstream `QuorumCnxManager.startConnection`, read by `QuorumCnxManager.InitialMessage.parse`),
//! and the sid challenge that decides which connection survives (`startConnection` /
//! `handleConnection`).
//!
//! Three generations exist and are told apart by the first long alone:
//!
//! | first long | format | total size |
//! |---|---|---|
//! | ≥ 0 | old (≤ 3.4.x): the long *is* the sid | 8 |
//! | -65536 ([`PROTOCOL_VERSION_V1`]) | 3.5.0+: sid, `addrLen`, one `host:port` | 20 + addrLen |
//! | -65535 ([`PROTOCOL_VERSION_V2`]) | 3.6.0+ multi-address: sid, `addrLen`, `host:port\|host:port…` | 20 + addrLen |
//! | other negative | not an election stream (or an unknown future version) | – |
//!
//! The message is **not** length-prefixed. What follows it on the initiator→acceptor direction
//! is either nothing (the initiator lost the challenge and closes, see [`challenge`]), an
//! optional quorum-SASL exchange ([`crate::quorum_auth`]), or 4-byte length-prefixed notification
//! frames ([`crate::notification`]). The acceptor never sends an initial message: its first
//! bytes are already notification frames.

use nom::error::{Error, ErrorKind};
use nom::{Err, IResult, Needed};
use zk_proto::jute::{parse_int, parse_long, write_int, write_long, Encode, JuteStr};

use zkwire_jute::{Boundary, DecodeError};

/// Protocol version of the 3.5.0+ initial message (`0xFFFFFFFFFFFF0000`).
pub const PROTOCOL_VERSION_V1: i64 = -65536;
/// Protocol version of the 3.6.0+ multi-address initial message (`0xFFFFFFFFFFFF0001`).
pub const PROTOCOL_VERSION_V2: i64 = -65535;
/// Largest `addrLen` receivers accept (`QuorumCnxManager.maxBuffer`); longer is invalid.
pub const MAX_ADDR_LEN: usize = 2048;
/// Fixed part of a V1/V2 initial message: version, sid and `addrLen`.
pub const VERSIONED_HEADER_LEN: usize = 20;
/// Legacy "anonymous observer" sid (`QuorumPeer.OBSERVER_ID`, `Long.MAX_VALUE`); the acceptor
/// replaces it with a private negative id.
pub const OBSERVER_ID: i64 = i64::MAX;

/// Which generation of initial message was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InitialFormat {
    /// ≤ 3.4.x: the 8-byte sid alone.
    Old,
    /// 3.5.0+: protocol version -65536, one election address.
    V1,
    /// 3.6.0+ with `multiAddress.enabled=true`: protocol version -65535, `|`-joined addresses.
    V2,
}

impl InitialFormat {
    /// The protocol-version long written on the wire (`None` for [`InitialFormat::Old`], whose
    /// first long is the sid itself).
    pub const fn protocol_version(self) -> Option<i64> {
        match self {
            InitialFormat::Old => None,
            InitialFormat::V1 => Some(PROTOCOL_VERSION_V1),
            InitialFormat::V2 => Some(PROTOCOL_VERSION_V2),
        }
    }

    /// Short name: `"old"`, `"v1"` or `"v2"`.
    pub const fn name(self) -> &'static str {
        match self {
            InitialFormat::Old => "old",
            InitialFormat::V1 => "v1",
            InitialFormat::V2 => "v2",
        }
    }
}

/// An initial message (initiator → acceptor, unframed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InitialMessage<'a> {
    /// Which generation it is.
    pub format: InitialFormat,
    /// The initiator's server id. Always ≥ 0 for [`InitialFormat::Old`] (a negative first long
    /// would have been a protocol version).
    pub sid: i64,
    /// The raw address field borrowed from the input: one `host:port` for V1, `|`-joined ones
    /// for V2. Empty for [`InitialFormat::Old`] (and ignored by the encoder there). Bytes are
    /// kept as sent (Java writes the platform charset), see [`JuteStr`] for lossy display.
    pub election_addr: JuteStr<'a>,
}

impl<'a> InitialMessage<'a> {
    /// The protocol-version long (`None` for the old format).
    pub fn protocol_version(&self) -> Option<i64> {
        self.format.protocol_version()
    }

    /// Every election address, as split by a ≥ 3.6 receiver: V2 splits on `|`, V1 is a single
    /// address, the old format carries none. Wildcard addresses (`0.0.0.0`, `::`) are kept here
    /// even though receivers drop them, because a sniffer should show what was sent.
    ///
    /// These are the initiator's *own* election addresses, the ones it accepts election
    /// connections on: mapped to [`InitialMessage::sid`], they name the acceptor of every other
    /// connection to that address (see [Naming the acceptor](crate::stream#naming-the-acceptor)).
    pub fn addresses(&self) -> Addresses<'a> {
        let raw = self.election_addr.as_bytes();
        Addresses {
            rest: match self.format {
                InitialFormat::Old => None,
                _ if raw.is_empty() => None,
                _ => Some(raw),
            },
            split: self.format == InitialFormat::V2,
        }
    }

    /// Whether the sid is the legacy anonymous-observer id ([`OBSERVER_ID`]).
    pub fn is_anonymous_observer(&self) -> bool {
        self.sid == OBSERVER_ID
    }

    /// Encoded length in bytes.
    pub fn encoded_len(&self) -> usize {
        match self.format {
            InitialFormat::Old => 8,
            _ => VERSIONED_HEADER_LEN + self.election_addr.len(),
        }
    }
}

impl Encode for InitialMessage<'_> {
    /// Writes the message exactly as a server of that generation would.
    ///
    /// # Panics
    /// If a V1/V2 address field is longer than `i32::MAX` bytes.
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        match self.format.protocol_version() {
            None => write_long(out, self.sid),
            Some(v) => {
                write_long(out, v);
                write_long(out, self.sid);
                let n = i32::try_from(self.election_addr.len())
                    .expect("address field limited to i32::MAX bytes");
                write_int(out, n);
                out.write_bytes(self.election_addr.as_bytes());
            }
        }
    }
}

/// Iterator over the addresses of an [`InitialMessage`] (see [`InitialMessage::addresses`]).
#[derive(Debug, Clone)]
pub struct Addresses<'a> {
    rest: Option<&'a [u8]>,
    split: bool,
}

impl<'a> Iterator for Addresses<'a> {
    type Item = JuteStr<'a>;

    fn next(&mut self) -> Option<JuteStr<'a>> {
        let rest = self.rest?;
        let cut = if self.split {
            rest.iter().position(|b| *b == b'|')
        } else {
            None
        };
        match cut {
            Some(at) => {
                self.rest = Some(&rest[at + 1..]);
                Some(JuteStr(&rest[..at]))
            }
            None => {
                self.rest = None;
                Some(JuteStr(rest))
            }
        }
    }
}

fn fail<T>(i: &[u8], kind: ErrorKind) -> IResult<&[u8], T> {
    Err(Err::Error(Error::new(i, kind)))
}

/// Parses an initial message from the start of an initiator→acceptor stream.
///
/// Streaming: a short buffer yields [`nom::Err::Incomplete`] (with the number of bytes still
/// missing), while an unknown negative protocol version ([`ErrorKind::Tag`]) or an `addrLen`
/// outside `1..=`[`MAX_ADDR_LEN`] ([`ErrorKind::LengthValue`]) yields [`nom::Err::Error`]. The
/// address is borrowed, never copied, and the length field never sizes an allocation.
pub fn parse_initial_message(i: &[u8]) -> IResult<&[u8], InitialMessage<'_>> {
    let (rest, first) = parse_long(i)?;
    let format = match first {
        v if v >= 0 => {
            return Ok((
                rest,
                InitialMessage {
                    format: InitialFormat::Old,
                    sid: v,
                    election_addr: JuteStr(&[]),
                },
            ))
        }
        PROTOCOL_VERSION_V1 => InitialFormat::V1,
        PROTOCOL_VERSION_V2 => InitialFormat::V2,
        _ => return fail(i, ErrorKind::Tag),
    };
    // Ask for the whole fixed header at once so a framer waits for 20 bytes, not 16 then 20.
    if rest.len() < VERSIONED_HEADER_LEN - 8 {
        return Err(Err::Incomplete(Needed::new(
            VERSIONED_HEADER_LEN - 8 - rest.len(),
        )));
    }
    let (rest, sid) = parse_long(rest)?;
    let len_at = rest;
    let (rest, len) = parse_int(rest)?;
    // Checked before waiting for the bytes, so a garbage length is rejected at once instead of
    // stalling the framer on up to 2 GiB that will never be a message.
    let len = match usize::try_from(len) {
        Ok(n) if (1..=MAX_ADDR_LEN).contains(&n) => n,
        _ => return fail(len_at, ErrorKind::LengthValue),
    };
    if rest.len() < len {
        return Err(Err::Incomplete(Needed::new(len - rest.len())));
    }
    let (addr, rest) = rest.split_at(len);
    Ok((
        rest,
        InitialMessage {
            format,
            sid,
            election_addr: JuteStr(addr),
        },
    ))
}

/// Decodes a buffer holding exactly one initial message (e.g. a test vector).
pub fn decode_initial_message(buf: &[u8]) -> Result<InitialMessage<'_>, DecodeError> {
    match parse_initial_message(buf) {
        Ok(([], m)) => Ok(m),
        Ok((rest, _)) => Err(DecodeError::TrailingBytes { count: rest.len() }),
        Err(Err::Incomplete(Needed::Size(n))) => Err(DecodeError::Truncated {
            needed: Some(n.get()),
        }),
        Err(Err::Incomplete(Needed::Unknown)) => Err(DecodeError::Truncated { needed: None }),
        Err(Err::Error(e) | Err::Failure(e)) => Err(DecodeError::invalid(
            if e.code == ErrorKind::Tag {
                "protocol version"
            } else {
                "address length"
            },
            buf.len() - e.input.len(),
        )),
    }
}

/// Where the initial message at the start of `buf` ends, without decoding the address.
///
/// `Incomplete(n)`: the message is at least `n` bytes long in total (8 until the first long is
/// known, 20 until `addrLen` is known, then exactly `20 + addrLen`). `Invalid`: the first long
/// is a negative value other than -65536/-65535, or `addrLen` is out of range.
pub fn initial_message_boundary(buf: &[u8]) -> Boundary {
    match parse_initial_message(buf) {
        Ok((rest, _)) => Boundary::Complete(buf.len() - rest.len()),
        Err(Err::Incomplete(Needed::Size(n))) => Boundary::Incomplete(buf.len() + n.get()),
        Err(Err::Incomplete(Needed::Unknown)) => Boundary::Incomplete(buf.len() + 1),
        Err(_) => Boundary::Invalid,
    }
}

/// How the sid challenge ends for a connection (upstream `QuorumCnxManager.startConnection` /
/// `handleConnection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChallengeOutcome {
    /// `initiator > acceptor`: the connection stays up and carries notifications both ways.
    Survives,
    /// `initiator < acceptor`: the connection carries only the initial message and is closed
    /// (by the initiator, or by the acceptor, which then connects back itself).
    Dropped,
    /// `initiator == acceptor`: a configuration error; the acceptor ignores the connection.
    SameSid,
    /// The initiator used the legacy anonymous-observer sid ([`OBSERVER_ID`]); the acceptor
    /// substitutes a private negative id, so the outcome cannot be predicted from the wire.
    AnonymousObserver,
}

/// Predicts what happens to a connection from `initiator_sid` (taken from its initial message)
/// to `acceptor_sid` (never sent on the wire; inferred from configuration, the reverse
/// connection or the acceptor's LOOKING self-votes).
///
/// Only connections from the higher sid to the lower one survive, so a sniffer sees
/// short-lived connections holding just an initial message and then a reverse connection.
pub fn challenge(initiator_sid: i64, acceptor_sid: i64) -> ChallengeOutcome {
    if initiator_sid == OBSERVER_ID {
        return ChallengeOutcome::AnonymousObserver;
    }
    match initiator_sid.cmp(&acceptor_sid) {
        std::cmp::Ordering::Greater => ChallengeOutcome::Survives,
        std::cmp::Ordering::Less => ChallengeOutcome::Dropped,
        std::cmp::Ordering::Equal => ChallengeOutcome::SameSid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_format_is_eight_bytes() {
        let b = [0, 0, 0, 0, 0, 0, 0, 3, 0xaa];
        let (rest, m) = parse_initial_message(&b).unwrap();
        assert_eq!(rest, &[0xaa]);
        assert_eq!((m.format, m.sid), (InitialFormat::Old, 3));
        assert_eq!(m.addresses().count(), 0);
        assert_eq!(initial_message_boundary(&b), Boundary::Complete(8));
        assert_eq!(initial_message_boundary(&b[..3]), Boundary::Incomplete(8));
    }

    #[test]
    fn versioned_boundaries() {
        let m = InitialMessage {
            format: InitialFormat::V2,
            sid: 7,
            election_addr: JuteStr::from("a:1|b:2"),
        };
        let b = m.to_bytes();
        assert_eq!(b.len(), 27);
        assert_eq!(initial_message_boundary(&b[..10]), Boundary::Incomplete(20));
        assert_eq!(initial_message_boundary(&b[..21]), Boundary::Incomplete(27));
        assert_eq!(initial_message_boundary(&b), Boundary::Complete(27));
        let addrs: Vec<_> = decode_initial_message(&b)
            .unwrap()
            .addresses()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(addrs, ["a:1", "b:2"]);
    }

    #[test]
    fn rejects_bad_versions_and_lengths() {
        let mut b = (-2i64).to_be_bytes().to_vec();
        assert_eq!(initial_message_boundary(&b), Boundary::Invalid);
        b = PROTOCOL_VERSION_V1.to_be_bytes().to_vec();
        b.extend_from_slice(&1i64.to_be_bytes());
        for bad in [0i32, -1, 2049, i32::MAX] {
            let mut c = b.clone();
            c.extend_from_slice(&bad.to_be_bytes());
            assert_eq!(initial_message_boundary(&c), Boundary::Invalid, "{bad}");
            assert!(matches!(
                decode_initial_message(&c),
                Err(DecodeError::Invalid { offset: 16, .. })
            ));
        }
    }

    #[test]
    fn challenge_rules() {
        assert_eq!(challenge(3, 1), ChallengeOutcome::Survives);
        assert_eq!(challenge(1, 3), ChallengeOutcome::Dropped);
        assert_eq!(challenge(2, 2), ChallengeOutcome::SameSid);
        assert_eq!(
            challenge(OBSERVER_ID, 1),
            ChallengeOutcome::AnonymousObserver
        );
    }
}
