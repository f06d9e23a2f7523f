//! Election notifications (upstream `FastLeaderElection.buildMsg` and
//! `Messenger.WorkerReceiver.run`, framed by `QuorumCnxManager`'s `SendWorker` and
//! `RecvWorker`): the 4-byte length-prefixed frames both peers exchange after the initial
//! message, and their four payload generations.
//!
//! | payload | senders | fields |
//! |---|---|---|
//! | 28 | ≤ 3.3.x | state, leader, zxid, electionEpoch |
//! | 36 | 3.4.0 – 3.4.5 | + peerEpoch |
//! | 40 | 3.4.6 – 3.4.14 | + version (= 1) |
//! | 44 + N | 3.5.0+ | + configLength N, config text (version = 2) |
//!
//! Only the frame length tells the generations apart: there is no version field before 3.4.6.
//! The messages carry no sender id, type or sequence number, and duplicates are normal (a new
//! sender thread re-sends its last message).

use zk_proto::jute::{write_int, write_long, Encode, JuteStr};

use zkwire_jute::jute::{int_at, long_at};
use zkwire_jute::{Boundary, DecodeError};

/// Largest frame payload receivers accept (`QuorumCnxManager.PACKETMAXSIZE`, 512 KiB); a
/// larger length prefix makes the receiver close the connection.
pub const PACKET_MAX_SIZE: u32 = 512 * 1024;
/// `Notification.CURRENTVERSION`: the version 3.5.0+ senders write.
pub const CURRENT_VERSION: i32 = 2;
/// The vote non-voting members (observers) send for `leader`, `zxid` and `peerEpoch` while they
/// have none (`Long.MIN_VALUE`). Not corruption.
pub const NO_VOTE: i64 = i64::MIN;

/// Payload size of the 3.3.x format.
pub const LEN_V28: usize = 28;
/// Payload size of the 3.4.0–3.4.5 format.
pub const LEN_V36: usize = 36;
/// Payload size of the 3.4.6–3.4.14 format.
pub const LEN_V40: usize = 40;
/// Fixed part of the 3.5.0+ format (before the config text).
pub const LEN_V44: usize = 44;

/// The sender's `QuorumPeer.ServerState` (its ordinal on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServerState {
    /// 0: looking for a leader (an election is running).
    Looking,
    /// 1: following an established leader.
    Following,
    /// 2: leading.
    Leading,
    /// 3: observing (non-voting member).
    Observing,
}

impl ServerState {
    /// All states in ordinal order.
    pub const ALL: [ServerState; 4] = [
        ServerState::Looking,
        ServerState::Following,
        ServerState::Leading,
        ServerState::Observing,
    ];

    /// The state for a wire ordinal; receivers drop messages with any other value.
    pub const fn from_i32(v: i32) -> Option<Self> {
        match v {
            0 => Some(ServerState::Looking),
            1 => Some(ServerState::Following),
            2 => Some(ServerState::Leading),
            3 => Some(ServerState::Observing),
            _ => None,
        }
    }

    /// The wire ordinal.
    pub const fn as_i32(self) -> i32 {
        self as i32
    }

    /// Java enum name: `"LOOKING"`, `"FOLLOWING"`, `"LEADING"`, `"OBSERVING"`.
    pub const fn name(self) -> &'static str {
        match self {
            ServerState::Looking => "LOOKING",
            ServerState::Following => "FOLLOWING",
            ServerState::Leading => "LEADING",
            ServerState::Observing => "OBSERVING",
        }
    }
}

impl std::fmt::Display for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which payload generation a notification uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotificationFormat {
    /// 28 bytes (≤ 3.3.x): no peerEpoch.
    Len28,
    /// 36 bytes (3.4.0 – 3.4.5): + peerEpoch. Current receivers drop it as malformed.
    Len36,
    /// 40 bytes (3.4.6 – 3.4.14): + version; also 41–43 or ≥ 44 bytes whose version is ≤ 1,
    /// whose remaining bytes are opaque ([`Notification::opaque_tail`]).
    Len40,
    /// 44 + N bytes (3.5.0+): + configLength and config text.
    WithConfig,
}

impl NotificationFormat {
    /// Short name: `"28"`, `"36"`, `"40"`, `"44+N"`.
    pub const fn name(self) -> &'static str {
        match self {
            NotificationFormat::Len28 => "28",
            NotificationFormat::Len36 => "36",
            NotificationFormat::Len40 => "40",
            NotificationFormat::WithConfig => "44+N",
        }
    }
}

/// One decoded notification payload (the bytes after the 4-byte frame length).
///
/// The optional fields mirror the generations: `peer_epoch` is present from 36 bytes on,
/// `version` from 40, `config` only in the 44 + N format with `version` > 1. The encoder writes
/// exactly the fields that are present, in wire order, so a value decoded by
/// [`decode_notification`] re-encodes to the same bytes; a hand-built value should not skip a
/// level (e.g. `config` without `version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Notification<'a> {
    /// The sender's state.
    pub state: ServerState,
    /// Proposed leader sid ([`NO_VOTE`] from an observer without a vote).
    pub leader: i64,
    /// The proposed leader's last logged zxid ([`NO_VOTE`] from an observer without a vote).
    pub zxid: i64,
    /// The sender's logical clock (election round).
    pub election_epoch: i64,
    /// Epoch of the proposed leader; absent in the 28-byte format (see
    /// [`Notification::effective_peer_epoch`]).
    pub peer_epoch: Option<i64>,
    /// Message version (1 for 3.4.6+, 2 for 3.5.0+); absent in the 28- and 36-byte formats.
    pub version: Option<i32>,
    /// The sender's quorum configuration text (`server.N=…` lines, `version=<hex>` last),
    /// borrowed; present only in the 44 + N format.
    pub config: Option<JuteStr<'a>>,
    /// Bytes after `version` that a receiver ignores: only non-empty for 41+ byte payloads
    /// whose `version` is ≤ 1.
    pub opaque_tail: &'a [u8],
}

impl<'a> Notification<'a> {
    /// The payload generation.
    pub fn format(&self) -> NotificationFormat {
        if self.config.is_some() {
            NotificationFormat::WithConfig
        } else if self.version.is_some() {
            NotificationFormat::Len40
        } else if self.peer_epoch.is_some() {
            NotificationFormat::Len36
        } else {
            NotificationFormat::Len28
        }
    }

    /// `peerEpoch` as a receiver uses it: the field when present, else `zxid >> 32` (what
    /// receivers derive for 28-byte messages).
    pub fn effective_peer_epoch(&self) -> i64 {
        self.peer_epoch.unwrap_or(self.zxid >> 32)
    }

    /// Whether this is an observer's "no vote yet" (`leader == Long.MIN_VALUE`; observers also
    /// put it in `zxid` and `peerEpoch`).
    pub fn is_sentinel_vote(&self) -> bool {
        self.leader == NO_VOTE
    }

    /// The proposed leader, or `None` for an observer's sentinel vote.
    pub fn proposed_leader(&self) -> Option<i64> {
        (!self.is_sentinel_vote()).then_some(self.leader)
    }

    /// Payload length in bytes (without the 4-byte frame length).
    pub fn encoded_len(&self) -> usize {
        LEN_V28
            + if self.peer_epoch.is_some() { 8 } else { 0 }
            + if self.version.is_some() { 4 } else { 0 }
            + self.config.map_or(0, |c| 4 + c.len())
            + self.opaque_tail.len()
    }

    /// Appends the 4-byte length prefix and the payload, as a `SendWorker` writes it.
    ///
    /// # Panics
    /// If the payload is longer than `i32::MAX` bytes.
    pub fn encode_framed<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        let n = i32::try_from(self.encoded_len()).expect("frame limited to i32::MAX bytes");
        write_int(out, n);
        self.encode(out);
    }
}

impl Encode for Notification<'_> {
    /// Writes the payload (no length prefix; see [`Notification::encode_framed`]).
    ///
    /// # Panics
    /// If the config text is longer than `i32::MAX` bytes.
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        write_int(out, self.state.as_i32());
        write_long(out, self.leader);
        write_long(out, self.zxid);
        write_long(out, self.election_epoch);
        if let Some(p) = self.peer_epoch {
            write_long(out, p);
        }
        if let Some(v) = self.version {
            write_int(out, v);
        }
        if let Some(c) = self.config {
            let n = i32::try_from(c.len()).expect("config limited to i32::MAX bytes");
            write_int(out, n);
            out.write_bytes(c.as_bytes());
        }
        out.write_bytes(self.opaque_tail);
    }
}

/// Decodes a notification payload (the bytes after the 4-byte length), choosing the format
/// from its length as a current receiver does (upstream
/// `FastLeaderElection.Messenger.WorkerReceiver.run`):
///
/// * 28 / 36 bytes: fixed layouts; 40–43 bytes: `version` at 36, with any bytes after it kept
///   as [`Notification::opaque_tail`] — except that 41–43 bytes with `version` > 1 are invalid
///   (a receiver runs out of bytes reading `configLength`).
/// * ≥ 44 bytes: `version` ≤ 1 → opaque tail after offset 40; otherwise `configLength` N must
///   satisfy `44 + N == len` (N < 0 is invalid, too large is [`DecodeError::Truncated`], too
///   small leaves [`DecodeError::TrailingBytes`]).
/// * Any other length is [`DecodeError::BadSize`]; a state outside 0–3 is invalid.
///
/// Never allocates; the config text is borrowed and not checked for UTF-8.
pub fn decode_notification(payload: &[u8]) -> Result<Notification<'_>, DecodeError> {
    let len = payload.len();
    if !(len == LEN_V28 || len == LEN_V36 || len >= LEN_V40) {
        return Err(DecodeError::BadSize { len });
    }
    let bad = || DecodeError::BadSize { len };
    let state_raw = int_at(payload, 0).ok_or_else(bad)?;
    let state = ServerState::from_i32(state_raw).ok_or(DecodeError::invalid("state", 0))?;
    let leader = long_at(payload, 4).ok_or_else(bad)?;
    let zxid = long_at(payload, 12).ok_or_else(bad)?;
    let election_epoch = long_at(payload, 20).ok_or_else(bad)?;
    let mut n = Notification {
        state,
        leader,
        zxid,
        election_epoch,
        peer_epoch: None,
        version: None,
        config: None,
        opaque_tail: &[],
    };
    if len == LEN_V28 {
        return Ok(n);
    }
    n.peer_epoch = Some(long_at(payload, 28).ok_or_else(bad)?);
    if len == LEN_V36 {
        return Ok(n);
    }
    let version = int_at(payload, 36).ok_or_else(bad)?;
    n.version = Some(version);
    if version <= 1 || len == LEN_V40 {
        // 3.4.6+ receivers read nothing past `version`; a 40-byte payload is taken as the 3.4.6
        // format whatever its version says, because there is no room for anything else.
        n.opaque_tail = &payload[LEN_V40..];
        return Ok(n);
    }
    if len < LEN_V44 {
        return Err(DecodeError::invalid(
            "version (no room for configLength)",
            36,
        ));
    }
    let clen = int_at(payload, 40).ok_or_else(bad)?;
    let clen = usize::try_from(clen).map_err(|_| DecodeError::invalid("configLength", 40))?;
    let body = &payload[LEN_V44..];
    if clen > body.len() {
        return Err(DecodeError::Truncated {
            needed: Some(clen - body.len()),
        });
    }
    if clen < body.len() {
        return Err(DecodeError::TrailingBytes {
            count: body.len() - clen,
        });
    }
    n.config = Some(JuteStr(body));
    Ok(n)
}

/// Decodes one framed notification (`4-byte length` + payload) from the start of `buf`,
/// returning it and the total bytes used. Frame lengths outside `1..=`[`PACKET_MAX_SIZE`] are
/// invalid; a short buffer is [`DecodeError::Truncated`].
pub fn decode_framed_notification(buf: &[u8]) -> Result<(Notification<'_>, usize), DecodeError> {
    match notification_frame_len(buf, PACKET_MAX_SIZE) {
        Boundary::Complete(total) => Ok((decode_notification(&buf[4..total])?, total)),
        Boundary::Incomplete(total) => Err(DecodeError::Truncated {
            needed: Some(total - buf.len()),
        }),
        Boundary::Invalid | Boundary::Discard(_) => Err(DecodeError::invalid("frame length", 0)),
    }
}

/// Inspects the 4-byte length prefix at the start of `buf`: `Complete(4 + len)` when the whole
/// frame is present, `Incomplete(total)` otherwise, `Invalid` when the length is ≤ 0 or above
/// `max` (pass [`PACKET_MAX_SIZE`] to match ZooKeeper, which closes the connection then).
///
/// Lengths 1–27 are well-framed but no notification; [`decode_notification`] reports them.
pub fn notification_frame_len(buf: &[u8], max: u32) -> Boundary {
    zkwire_jute::framing::prefixed_frame_len(buf, 1, max)
}

/// Sanity bound for epochs (they are the high 32 bits of a zxid).
const MAX_EPOCH: i64 = u32::MAX as i64;
/// Versions above this are not plausible (current is 2).
const MAX_PLAUSIBLE_VERSION: i32 = 0xff;

/// A payload field for [`header_verdict`]: offset, width, and the test it must pass.
type FieldCheck<'c> = (usize, usize, &'c dyn Fn(&[u8]) -> bool);

/// Checks the fields of a payload of declared length `len` that are present in `p`.
/// `Err(n)`: at least `n` payload bytes are needed to decide.
fn header_verdict(p: &[u8], len: usize) -> Result<bool, usize> {
    let size_ok = len == LEN_V28 || len == LEN_V36 || len == LEN_V40 || len >= LEN_V44;
    if !size_ok || len > PACKET_MAX_SIZE as usize {
        return Ok(false);
    }
    let vote = |v: i64| v >= 0 || v == NO_VOTE;
    let checks: [FieldCheck<'_>; 7] = [
        (0, 4, &|p| {
            int_at(p, 0).and_then(ServerState::from_i32).is_some()
        }),
        (4, 8, &|p| long_at(p, 4).is_some_and(vote)),
        (12, 8, &|p| long_at(p, 12).is_some_and(vote)),
        (20, 8, &|p| {
            long_at(p, 20).is_some_and(|e| (0..=MAX_EPOCH).contains(&e))
        }),
        (28, 8, &|p| {
            long_at(p, 28).is_some_and(|e| e == NO_VOTE || (0..=MAX_EPOCH).contains(&e))
        }),
        // 3.4.6 writes version 1; 3.5.0+ writes 2 and always appends the config.
        (36, 4, &|p| {
            int_at(p, 36).is_some_and(|v| {
                if len == LEN_V40 {
                    v == 1
                } else {
                    (2..=MAX_PLAUSIBLE_VERSION).contains(&v)
                }
            })
        }),
        (40, 4, &|p| {
            int_at(p, 40).is_some_and(|n| usize::try_from(n).is_ok_and(|n| LEN_V44 + n == len))
        }),
    ];
    for (at, width, check) in checks {
        if at + width > len {
            break;
        }
        if p.len() < at + width {
            return Err(at + width);
        }
        if !check(p) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Plausibility of a frame start; `Err(total)` = at least `total` bytes of `buf` are needed.
pub(crate) fn frame_verdict(buf: &[u8]) -> Result<bool, usize> {
    let Some(prefix) = buf.first_chunk::<4>() else {
        return Err(4);
    };
    let Ok(len) = usize::try_from(i32::from_be_bytes(*prefix)) else {
        return Ok(false);
    };
    if !header_verdict(&buf[4..], len).map_err(|n| 4 + n)? {
        return Ok(false);
    }
    let total = 4 + len;
    let Some(payload) = buf.get(4..total) else {
        return Ok(true);
    };
    if decode_notification(payload).is_err() {
        return Ok(false);
    }
    // One frame can match by chance; when the next frame's start is already buffered, it must
    // look right too (checked as far as it is present, without waiting for more).
    let next = &buf[total..];
    match next.first_chunk::<4>() {
        None => Ok(true),
        Some(prefix) => match usize::try_from(i32::from_be_bytes(*prefix)) {
            Ok(nlen) => Ok(header_verdict(&next[4..], nlen).unwrap_or(true)),
            Err(_) => Ok(false),
        },
    }
}

/// Whether `buf` plausibly starts at a notification frame boundary — for resynchronising on a
/// stream met mid-way or after a capture gap.
///
/// Checks: length prefix is 28, 36, 40 or 44 – [`PACKET_MAX_SIZE`]; state 0–3; `leader`,
/// `zxid` ≥ 0 or [`NO_VOTE`]; `electionEpoch` and `peerEpoch` in 0..2³² (or [`NO_VOTE`] for
/// `peerEpoch`); `version` 1 for 40 bytes, 2–255 for 44 + N with `44 + configLength == len`;
/// the payload decodes when fully present; and the next frame's header (as far as present) is
/// plausible too. Stricter than [`decode_notification`] on purpose: it rejects the odd sizes a
/// receiver would tolerate.
///
/// `None` means more bytes are needed to decide: for 28/36/40-byte frames the whole frame, for
/// the 44 + N format the first 48 bytes (the config text is not awaited).
pub fn plausible_notification_frame(buf: &[u8]) -> Option<bool> {
    frame_verdict(buf).ok()
}

/// Like [`plausible_notification_frame`], but reports how many bytes (in total, from the
/// start of `buf`) are needed when undecided.
pub fn plausible_notification_frame_needs(buf: &[u8]) -> Result<bool, usize> {
    frame_verdict(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Notification<'static> {
        Notification {
            state: ServerState::Looking,
            leader: 3,
            zxid: 0x2_0000_0011,
            election_epoch: 5,
            peer_epoch: None,
            version: None,
            config: None,
            opaque_tail: &[],
        }
    }

    #[test]
    fn sizes() {
        let n28 = base();
        assert_eq!(n28.to_bytes().len(), 28);
        assert_eq!(n28.effective_peer_epoch(), 2);
        let n44 = Notification {
            peer_epoch: Some(2),
            version: Some(2),
            config: Some(JuteStr::from("version=0")),
            ..base()
        };
        let b = n44.to_bytes();
        assert_eq!(b.len(), 53);
        assert_eq!(decode_notification(&b), Ok(n44));
        assert_eq!(n44.format(), NotificationFormat::WithConfig);
        for bad in [0usize, 27, 29, 35, 37, 39] {
            assert_eq!(
                decode_notification(&vec![0; bad]),
                Err(DecodeError::BadSize { len: bad })
            );
        }
    }

    #[test]
    fn odd_tails() {
        // 42 bytes with version 1: read like the 40-byte format.
        let mut b = Notification {
            peer_epoch: Some(2),
            version: Some(1),
            ..base()
        }
        .to_bytes();
        b.extend_from_slice(&[9, 9]);
        let n = decode_notification(&b).unwrap();
        assert_eq!(n.opaque_tail, &[9, 9]);
        assert_eq!(n.to_bytes(), b);
        // Same with version 2: no room for configLength.
        b[39] = 2;
        assert!(matches!(
            decode_notification(&b),
            Err(DecodeError::Invalid { offset: 36, .. })
        ));
        // configLength mismatch both ways and negative.
        let mut c = Notification {
            peer_epoch: Some(2),
            version: Some(2),
            config: Some(JuteStr::from("ab")),
            ..base()
        }
        .to_bytes();
        c[43] = 3;
        assert!(matches!(
            decode_notification(&c),
            Err(DecodeError::Truncated { needed: Some(1) })
        ));
        c[43] = 1;
        assert_eq!(
            decode_notification(&c),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
        c[40] = 0xff;
        assert!(matches!(
            decode_notification(&c),
            Err(DecodeError::Invalid { offset: 40, .. })
        ));
    }

    #[test]
    fn bad_state() {
        let mut b = base().to_bytes();
        b[3] = 4;
        assert!(matches!(
            decode_notification(&b),
            Err(DecodeError::Invalid { offset: 0, .. })
        ));
    }

    #[test]
    fn framing_and_plausibility() {
        let mut f = Vec::new();
        base().encode_framed(&mut f);
        assert_eq!(
            notification_frame_len(&f, PACKET_MAX_SIZE),
            Boundary::Complete(32)
        );
        assert_eq!(
            notification_frame_len(&f[..2], PACKET_MAX_SIZE),
            Boundary::Incomplete(4)
        );
        assert_eq!(
            notification_frame_len(&f[..9], PACKET_MAX_SIZE),
            Boundary::Incomplete(32)
        );
        assert_eq!(
            notification_frame_len(&[0; 4], PACKET_MAX_SIZE),
            Boundary::Invalid
        );
        assert_eq!(
            notification_frame_len(&[0, 8, 0, 1], PACKET_MAX_SIZE),
            Boundary::Invalid
        );
        assert_eq!(plausible_notification_frame(&f), Some(true));
        assert_eq!(plausible_notification_frame(&f[..20]), None);
        // Undecided, and the zxid (ending at byte 24) is the next field to check.
        assert_eq!(plausible_notification_frame_needs(&f[..20]), Err(24));
        // Bad state is rejected as soon as it is visible.
        let mut g = f.clone();
        g[7] = 9;
        assert_eq!(plausible_notification_frame(&g[..8]), Some(false));
        // Odd sizes are never frame starts.
        assert_eq!(plausible_notification_frame(&[0, 0, 0, 29]), Some(false));
        // A good frame followed by garbage that cannot be a frame start.
        let mut h = f.clone();
        h.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        assert_eq!(plausible_notification_frame(&h), Some(false));
    }
}
