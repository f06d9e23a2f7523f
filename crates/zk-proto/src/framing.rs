//! Stream-level helpers: 4-byte length-prefixed framing (upstream `ClientCnxnSocket.readLength`,
//! `NIOServerCnxn.readLength`), resynchronisation plausibility checks for captures that start
//! mid-frame, and four-letter words (`org.apache.zookeeper.server.command.FourLetterCommands`,
//! recognised by `NIOServerCnxn.checkFourLetterWord`).

use crate::codes::{error_name, xid, OpCode};
use crate::message::{decode_reply, decode_request};
use zkwire_jute::framing::prefixed_frame_len;
use zkwire_jute::jute::{int_at, long_at};
use zkwire_jute::{Boundary, LengthPrefixed, Plausibility};

/// Default ceiling for frame lengths: well above ZooKeeper's 1 MiB default `jute.maxbuffer`,
/// because operators raise it.
pub const DEFAULT_MAX_FRAME_LEN: u32 = 64 * 1024 * 1024;

/// Smallest request payload: xid and opcode.
const MIN_REQUEST_LEN: u32 = 8;
/// Smallest reply payload: xid, zxid and err.
const MIN_REPLY_LEN: u32 = 16;

/// Where the length-prefixed frame at the start of `buf` ends, for payloads of at most `max`
/// bytes ([`Boundary::Incomplete`] counts the frame's **total** length, prefix included).
pub fn frame_len(buf: &[u8], max: u32) -> Boundary {
    prefixed_frame_len(buf, 0, max)
}

/// The splitter for the client → server direction: length-prefixed frames of
/// 8..=`max_frame` payload bytes, resynchronised with [`plausible_request_frame`].
pub fn request_splitter(max_frame: u32) -> LengthPrefixed {
    LengthPrefixed::new(MIN_REQUEST_LEN, max_frame, |buf| {
        plausible_request_frame(buf, HUNT_MAX_FRAME_LEN)
    })
}

/// The splitter for the server → client direction: length-prefixed frames of
/// 16..=`max_frame` payload bytes, resynchronised with [`plausible_reply_frame`].
pub fn reply_splitter(max_frame: u32) -> LengthPrefixed {
    LengthPrefixed::new(MIN_REPLY_LEN, max_frame, |buf| {
        plausible_reply_frame(buf, HUNT_MAX_FRAME_LEN)
    })
}

/// The length ceiling of the protocol checks run by the splitters: the splitter's own range
/// check (`max_frame`) already ran, so the check only judges the header and body.
const HUNT_MAX_FRAME_LEN: u32 = u32::MAX >> 1;

/// Header-only check of a client request (`payload` = bytes after the prefix).
fn request_header_ok(payload: &[u8]) -> bool {
    let (Some(x), Some(op)) = (int_at(payload, 0), int_at(payload, 4)) else {
        return false;
    };
    let op = OpCode::from_i32(op);
    if !op.is_known() {
        return false;
    }
    match x {
        xid::PING => op == OpCode::Ping,
        xid::AUTH => op == OpCode::Auth,
        xid::SET_WATCHES => matches!(op, OpCode::SetWatches | OpCode::SetWatches2),
        x if x > 0 => !matches!(
            op,
            OpCode::Notification | OpCode::Error | OpCode::CreateSession
        ),
        _ => false,
    }
}

/// Header-only check of a server reply.
fn reply_header_ok(payload: &[u8]) -> bool {
    let (Some(x), Some(zxid), Some(err)) =
        (int_at(payload, 0), long_at(payload, 4), int_at(payload, 12))
    else {
        return false;
    };
    let xid_ok = matches!(
        x,
        xid::NOTIFICATION | xid::PING | xid::AUTH | xid::SET_WATCHES
    ) || x > 0;
    // Epochs grow by one per election; anything past 2^24 elections is noise, not a zxid.
    let zxid_ok = zxid == -1 || (0..=0x00ff_ffff_ffff_ffff).contains(&zxid);
    xid_ok && zxid_ok && error_name(err).is_some()
}

/// Whether `buf` plausibly starts at a client→server frame boundary: sane length (payload of
/// at most `max` bytes), known opcode with a matching xid, a body that decodes when the whole
/// frame is present, and — when the following frame's header is in `buf` too — a plausible
/// next header. [`Plausibility::NeedMore`] until the prefix and header (12 bytes) are present.
/// Work is bounded by the frame length.
pub fn plausible_request_frame(buf: &[u8], max: u32) -> Plausibility {
    if buf.len() < 4 + MIN_REQUEST_LEN as usize {
        return Plausibility::NeedMore;
    }
    plausible(buf, max, MIN_REQUEST_LEN as usize, request_header_ok, |p| {
        decode_request(p).is_ok()
    })
}

/// Whether `buf` plausibly starts at a server→client frame boundary: sane length, xid
/// -1/-2/-4/-8 or positive, a known error code, a plausible zxid, a decodable notification body
/// when the whole frame is present, and a plausible next header when present.
/// [`Plausibility::NeedMore`] until the prefix and header (20 bytes) are present.
pub fn plausible_reply_frame(buf: &[u8], max: u32) -> Plausibility {
    if buf.len() < 4 + MIN_REPLY_LEN as usize {
        return Plausibility::NeedMore;
    }
    plausible(buf, max, MIN_REPLY_LEN as usize, reply_header_ok, |p| {
        decode_reply(p, None).is_ok()
    })
}

/// A candidate boundary whose header passes is judged on its whole body (and the next header)
/// once its frame is in: [`Plausibility::NeedMore`] until then. Judging on the header alone
/// took frame-like bytes inside a lost frame's data for a boundary (a create's data that reads
/// as a create header), and decoded garbage from there; the hunt bounds the wait (its window),
/// so a frame larger than that is passed over after a loss rather than guessed at.
fn plausible(
    buf: &[u8],
    max: u32,
    min_len: usize,
    header_ok: fn(&[u8]) -> bool,
    body_ok: impl Fn(&[u8]) -> bool,
) -> Plausibility {
    let total = match frame_len(buf, max) {
        Boundary::Invalid => return Plausibility::No,
        Boundary::Complete(total) => Some(total),
        _ => None,
    };
    let declared = int_at(buf, 0).map_or(0, |n| n as usize);
    if declared < min_len || !header_ok(&buf[4..]) {
        return Plausibility::No;
    }
    let Some(total) = total else {
        return Plausibility::NeedMore;
    };
    Plausibility::from(complete_frame_ok(
        buf, total, max, min_len, header_ok, body_ok,
    ))
}

/// A whole candidate frame (`total` bytes with its prefix) decodes, and the next frame's header,
/// when in `buf`, is plausible too.
fn complete_frame_ok(
    buf: &[u8],
    total: usize,
    max: u32,
    min_len: usize,
    header_ok: fn(&[u8]) -> bool,
    body_ok: impl Fn(&[u8]) -> bool,
) -> bool {
    if !body_ok(&buf[4..total]) {
        return false;
    }
    let next = &buf[total..];
    if next.len() < 4 + min_len {
        return true;
    }
    let next_ok = match frame_len(next, max) {
        Boundary::Invalid => false,
        _ => int_at(next, 0).is_some_and(|n| n as usize >= min_len),
    };
    next_ok && header_ok(&next[4..])
}

/// A four-letter-word admin command sent instead of a ConnectRequest (upstream
/// `FourLetterCommands`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FourLetterWord {
    /// `conf`: configuration.
    Conf,
    /// `cons`: connections.
    Cons,
    /// `crst`: reset connection stats.
    Crst,
    /// `dump`: sessions and ephemerals.
    Dump,
    /// `envi`: environment.
    Envi,
    /// `gtmk`: get trace mask.
    Gtmk,
    /// `ruok`: are you ok (`imok`).
    Ruok,
    /// `stmk`: set trace mask; followed by 8 more bytes.
    Stmk,
    /// `srvr`: server summary.
    Srvr,
    /// `srst`: reset server stats.
    Srst,
    /// `stat`: summary and connections.
    Stat,
    /// `wchc`: watches by session.
    Wchc,
    /// `wchp`: watches by path.
    Wchp,
    /// `wchs`: watch summary.
    Wchs,
    /// `mntr`: metrics.
    Mntr,
    /// `isro`: read-only check.
    Isro,
    /// `dirs`: data/log dir sizes.
    Dirs,
    /// `hash`: digest history.
    Hash,
    /// Telnet IAC close sequence `ff f4 ff fd`.
    TelnetClose,
}

impl FourLetterWord {
    /// Every word, in declaration order (the words of 3.3 first, then later additions).
    pub const ALL: &'static [FourLetterWord] = &[
        Self::Conf,
        Self::Cons,
        Self::Crst,
        Self::Dump,
        Self::Envi,
        Self::Gtmk,
        Self::Ruok,
        Self::Stmk,
        Self::Srvr,
        Self::Srst,
        Self::Stat,
        Self::Wchc,
        Self::Wchp,
        Self::Wchs,
        Self::Mntr,
        Self::Isro,
        Self::Dirs,
        Self::Hash,
        Self::TelnetClose,
    ];

    /// The four bytes on the wire.
    pub const fn bytes(self) -> [u8; 4] {
        match self {
            Self::TelnetClose => [0xff, 0xf4, 0xff, 0xfd],
            _ => {
                let s = self.as_str().as_bytes();
                [s[0], s[1], s[2], s[3]]
            }
        }
    }

    /// The command text (`"ruok"`); `"telnet-close"` for the telnet sequence.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Conf => "conf",
            Self::Cons => "cons",
            Self::Crst => "crst",
            Self::Dump => "dump",
            Self::Envi => "envi",
            Self::Gtmk => "gtmk",
            Self::Ruok => "ruok",
            Self::Stmk => "stmk",
            Self::Srvr => "srvr",
            Self::Srst => "srst",
            Self::Stat => "stat",
            Self::Wchc => "wchc",
            Self::Wchp => "wchp",
            Self::Wchs => "wchs",
            Self::Mntr => "mntr",
            Self::Isro => "isro",
            Self::Dirs => "dirs",
            Self::Hash => "hash",
            Self::TelnetClose => "telnet-close",
        }
    }

    /// Bytes the client sends after the word (8 for `stmk`'s trace mask, else 0).
    pub const fn extra_len(self) -> usize {
        match self {
            Self::Stmk => 8,
            _ => 0,
        }
    }
}

impl std::fmt::Display for FourLetterWord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Recognises a four-letter word from the first 4 bytes of a connection (only meaningful
/// there: later, the same bytes would be a frame length).
pub fn four_letter_word(first4: &[u8]) -> Option<FourLetterWord> {
    let w = first4.get(..4)?;
    FourLetterWord::ALL.iter().copied().find(|f| f.bytes() == w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        assert_eq!(frame_len(&[0, 0], 100), Boundary::Incomplete(4));
        assert_eq!(frame_len(&[0, 0, 0, 2, 1], 100), Boundary::Incomplete(6));
        assert_eq!(
            frame_len(&[0, 0, 0, 2, 1, 2, 3], 100),
            Boundary::Complete(6)
        );
        assert_eq!(frame_len(b"ruok", 100), Boundary::Invalid);
        assert_eq!(
            frame_len(&[0xff, 0xf4, 0xff, 0xfd], u32::MAX),
            Boundary::Invalid
        );
    }

    #[test]
    fn words() {
        assert_eq!(four_letter_word(b"ruok"), Some(FourLetterWord::Ruok));
        assert_eq!(
            four_letter_word(&[0xff, 0xf4, 0xff, 0xfd]),
            Some(FourLetterWord::TelnetClose)
        );
        assert_eq!(four_letter_word(b"nope"), None);
        assert_eq!(FourLetterWord::Stmk.extra_len(), 8);
        assert_eq!(FourLetterWord::ALL.len(), 19);
    }

    #[test]
    fn plausibility() {
        use Plausibility::{NeedMore, No, Yes};
        let max = DEFAULT_MAX_FRAME_LEN;
        let ping = [0, 0, 0, 8, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11];
        assert_eq!(plausible_request_frame(&ping, max), Yes);
        assert_eq!(plausible_request_frame(&ping[..11], max), NeedMore);
        let mut two = ping.to_vec();
        two.extend_from_slice(&ping);
        assert_eq!(plausible_request_frame(&two, max), Yes);
        two[23] = 10; // the next header now has the unassigned opcode 10
        assert_eq!(plausible_request_frame(&two, max), No);
        let unassigned = [0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 10];
        assert_eq!(plausible_request_frame(&unassigned, max), No);
        let mut reply = vec![0, 0, 0, 16, 0xff, 0xff, 0xff, 0xfe];
        reply.extend_from_slice(&7i64.to_be_bytes());
        reply.extend_from_slice(&[0; 4]);
        assert_eq!(plausible_reply_frame(&reply, max), Yes);
        assert_eq!(plausible_reply_frame(&reply[..19], max), NeedMore);
        reply[19] = 9; // err 9 is not an error code
        assert_eq!(plausible_reply_frame(&reply, max), No);
    }

    /// After a loss, bytes inside a lost create's data can read as a create header (load_gen's
    /// data does): such a candidate is judged on its whole frame, never on its header alone,
    /// so it is waited for, then refused, and the hunt goes on to the real boundary.
    #[test]
    fn a_header_inside_lost_data_is_not_taken_for_a_boundary() {
        use Plausibility::{NeedMore, No};
        let max = DEFAULT_MAX_FRAME_LEN;
        // A "create" of 1,382 payload bytes whose path length claims far more than the frame.
        let mut fake = vec![0, 0, 5, 0x66, 0x69, 0x70, 0x61, 0x74, 0, 0, 0, 1];
        fake.extend_from_slice(&[0x7f; 100]);
        assert_eq!(plausible_request_frame(&fake, max), NeedMore);
        fake.resize(4 + 1382, 0x7f);
        assert_eq!(plausible_request_frame(&fake, max), No);
    }

    #[test]
    fn splitters_frame_and_hunt() {
        use zkwire_jute::Splitter;
        let ping = [0, 0, 0, 8, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11];
        let mut s = request_splitter(1 << 20);
        assert_eq!(s.frame_len(&ping), Boundary::Complete(12));
        assert_eq!(s.plausible(&ping), Plausibility::Yes);
        let mut tiny = reply_splitter(1 << 20);
        assert_eq!(tiny.frame_len(&ping), Boundary::Invalid); // 8 < 16: no reply is that short
    }
}
