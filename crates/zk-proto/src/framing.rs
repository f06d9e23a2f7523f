//! Stream-level helpers: 4-byte length-prefixed framing (upstream `ClientCnxnSocket.readLength`,
//! `NIOServerCnxn.readLength`), resynchronisation plausibility checks for captures that start
//! mid-frame, and four-letter words (`org.apache.zookeeper.server.command.FourLetterCommands`,
//! recognised by `NIOServerCnxn.checkFourLetterWord`).

use crate::codes::{error_name, xid, OpCode};
use crate::message::{parse_reply, parse_request};

/// Default ceiling for frame lengths: well above ZooKeeper's 1 MiB default `jute.maxbuffer`,
/// because operators raise it.
pub const DEFAULT_MAX_FRAME_LEN: u32 = 64 * 1024 * 1024;

/// Result of looking for a frame at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStatus {
    /// A whole frame is present: `buf[..total_len]` (prefix included).
    Complete {
        /// Length prefix plus payload.
        total_len: usize,
    },
    /// More bytes are needed before the frame is complete.
    Incomplete {
        /// How many more bytes at least.
        needed: usize,
    },
    /// The length prefix is negative or above the ceiling: not a frame boundary.
    Invalid {
        /// The length prefix as read.
        len: i32,
    },
}

/// Inspects the length prefix at `buf[0..4]` against `max` payload bytes.
pub fn frame_len(buf: &[u8], max: u32) -> FrameStatus {
    let Some(prefix) = buf.first_chunk::<4>() else {
        return FrameStatus::Incomplete {
            needed: 4 - buf.len(),
        };
    };
    let len = i32::from_be_bytes(*prefix);
    match u32::try_from(len) {
        Ok(n) if n <= max => {
            let total_len = 4 + n as usize;
            if buf.len() >= total_len {
                FrameStatus::Complete { total_len }
            } else {
                FrameStatus::Incomplete {
                    needed: total_len - buf.len(),
                }
            }
        }
        _ => FrameStatus::Invalid { len },
    }
}

fn int_at(p: &[u8], at: usize) -> Option<i32> {
    let b = p.get(at..at + 4)?;
    Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn long_at(p: &[u8], at: usize) -> Option<i64> {
    let b = p.get(at..at + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(i64::from_be_bytes(a))
}

/// Header-only check of a client request (`payload` = bytes after the prefix).
fn request_header_ok(payload: &[u8]) -> bool {
    let (Some(x), Some(op)) = (int_at(payload, 0), int_at(payload, 4)) else {
        return false;
    };
    let Some(op) = OpCode::from_i32(op) else {
        return false;
    };
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

/// Whether `buf` plausibly starts at a client→server frame boundary: sane length, known
/// opcode with a matching xid, a body that decodes when the whole frame is present, and — when
/// the following frame's header is in `buf` too — a plausible next header. Work is bounded by
/// the frame length. Uses [`DEFAULT_MAX_FRAME_LEN`].
pub fn plausible_request_frame(buf: &[u8]) -> bool {
    plausible_request_frame_with_limit(buf, DEFAULT_MAX_FRAME_LEN)
}

/// [`plausible_request_frame`] with an explicit frame-length ceiling.
pub fn plausible_request_frame_with_limit(buf: &[u8], max: u32) -> bool {
    plausible(buf, max, 8, request_header_ok, |p| parse_request(p).is_ok())
}

/// Whether `buf` plausibly starts at a server→client frame boundary: sane length, xid -1/-2/-4/-8
/// or positive, a known error code, a plausible zxid, a decodable notification body when the
/// whole frame is present, and a plausible next header when present. Uses
/// [`DEFAULT_MAX_FRAME_LEN`].
pub fn plausible_reply_frame(buf: &[u8]) -> bool {
    plausible_reply_frame_with_limit(buf, DEFAULT_MAX_FRAME_LEN)
}

/// [`plausible_reply_frame`] with an explicit frame-length ceiling.
pub fn plausible_reply_frame_with_limit(buf: &[u8], max: u32) -> bool {
    plausible(buf, max, 16, reply_header_ok, |p| {
        parse_reply(p, None).is_ok()
    })
}

fn plausible(
    buf: &[u8],
    max: u32,
    min_len: usize,
    header_ok: fn(&[u8]) -> bool,
    body_ok: impl Fn(&[u8]) -> bool,
) -> bool {
    let total = match frame_len(buf, max) {
        FrameStatus::Invalid { .. } => return false,
        FrameStatus::Complete { total_len } => Some(total_len),
        FrameStatus::Incomplete { .. } => None,
    };
    let declared = int_at(buf, 0).map_or(0, |n| n as usize);
    if declared < min_len || !header_ok(&buf[4..]) {
        return false;
    }
    let Some(total) = total else {
        return true;
    };
    if !body_ok(&buf[4..total]) {
        return false;
    }
    let next = &buf[total..];
    if next.len() < 4 + min_len {
        return true;
    }
    let next_ok = match frame_len(next, max) {
        FrameStatus::Invalid { .. } => false,
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
        assert_eq!(
            frame_len(&[0, 0], 100),
            FrameStatus::Incomplete { needed: 2 }
        );
        assert_eq!(
            frame_len(&[0, 0, 0, 2, 1], 100),
            FrameStatus::Incomplete { needed: 1 }
        );
        assert_eq!(
            frame_len(&[0, 0, 0, 2, 1, 2, 3], 100),
            FrameStatus::Complete { total_len: 6 }
        );
        assert_eq!(
            frame_len(b"ruok", 100),
            FrameStatus::Invalid { len: 0x72756f6b }
        );
        assert!(matches!(
            frame_len(&[0xff, 0xf4, 0xff, 0xfd], u32::MAX),
            FrameStatus::Invalid { .. }
        ));
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
        let ping = [0, 0, 0, 8, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11];
        assert!(plausible_request_frame(&ping));
        let mut two = ping.to_vec();
        two.extend_from_slice(&ping);
        assert!(plausible_request_frame(&two));
        two[23] = 10; // the next header now has the unassigned opcode 10
        assert!(!plausible_request_frame(&two));
        assert!(!plausible_request_frame(&[
            0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 10
        ]));
        let mut reply = vec![0, 0, 0, 16, 0xff, 0xff, 0xff, 0xfe];
        reply.extend_from_slice(&7i64.to_be_bytes());
        reply.extend_from_slice(&[0; 4]);
        assert!(plausible_reply_frame(&reply));
        reply[19] = 9; // err 9 is not an error code
        assert!(!plausible_reply_frame(&reply));
    }
}
