//! A sans-IO decoder for one direction of an election connection.
//!
//! What a framer must know (from upstream `QuorumCnxManager`: `startConnection`,
//! `handleConnection`, `SendWorker`, `RecvWorker`):
//!
//! * **Initiator → acceptor** (the side that sent the SYN; the acceptor owns the configured
//!   election port): one unframed initial message, then optionally unframed
//!   `QuorumAuthPacket`s (quorum SASL), then 4-byte length-prefixed notifications. If the
//!   initiator's sid is lower than the acceptor's, the connection ends after the initial
//!   message (see [`crate::challenge`]).
//! * **Acceptor → initiator**: optionally `QuorumAuthPacket`s, then notification frames from
//!   the first byte. The acceptor's sid is never sent.
//! * **Met mid-way** (capture started late, or a gap): there is no marker to sync on, so scan
//!   for an offset where [`crate::plausible_notification_frame`] holds and frame from there;
//!   [`ElectionStream::mid_stream`] does this and reports the skipped bytes.
//! * **Role unknown at the start** (no SYN seen, but the first bytes are the stream's first):
//!   [`ElectionStream::unknown_role`] recognises a V1/V2 initial message by its protocol
//!   version, otherwise a plausible frame, otherwise an old-format sid.
//!
//! State to keep per direction: the phase (initial message pending / SASL prelude possible /
//! frames / resynchronising / broken) — that is all this type holds, plus the initiator's sid
//! once seen. The caller keeps the byte buffer and drops `len` bytes after each [`Step`] that
//! carries one.

use crate::initial::{
    parse_initial_message, InitialMessage, PROTOCOL_VERSION_V1, PROTOCOL_VERSION_V2,
};
use crate::notification::{
    frame_verdict, notification_frame_len, parse_notification, Notification, PACKET_MAX_SIZE,
};
use zkwire_jute::quorum_auth::{
    parse_quorum_auth_packet, starts_with_quorum_auth, QuorumAuthPacket,
};
use zkwire_jute::{Boundary, DecodeError, Plausibility};

/// Which peer wrote the bytes a decoder is fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sender {
    /// The side that opened the TCP connection; it writes the initial message first.
    Initiator,
    /// The side that accepted it (owns the election port); it writes frames only.
    Acceptor,
}

/// A decoded election-port message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum ElectionMessage<'a> {
    /// The initiator's initial message.
    Initial(InitialMessage<'a>),
    /// A quorum-SASL packet.
    QuorumAuth(QuorumAuthPacket<'a>),
    /// A notification (frame length stripped).
    Notification(Notification<'a>),
}

/// What [`ElectionStream::next`] found at the start of the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step<'a> {
    /// A message occupying `buf[..len]`.
    Message {
        /// Bytes used (including a frame's length prefix).
        len: usize,
        /// The message.
        message: ElectionMessage<'a>,
    },
    /// A well-framed notification whose payload does not decode (odd size, bad state, …);
    /// receivers drop such frames, and framing continues after it.
    BadFrame {
        /// Bytes used, length prefix included.
        len: usize,
        /// Why the payload was rejected.
        error: DecodeError,
    },
    /// `buf[..len]` is not at a message boundary and was skipped while resynchronising.
    Skipped {
        /// Bytes to drop.
        len: usize,
    },
    /// Nothing can be decided until the buffer holds at least `at_least` bytes.
    NeedMore {
        /// Total buffer length needed.
        at_least: usize,
    },
    /// The bytes cannot be an election stream at this point (bad initial message, frame length
    /// out of range). The decoder stays broken until [`ElectionStream::resync`].
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Initial,
    UnknownRole,
    Prelude,
    Frames,
    Resync,
    Broken,
}

/// Per-direction decoder state. Holds no bytes; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct ElectionStream {
    phase: Phase,
    max_frame: u32,
    initiator_sid: Option<i64>,
}

impl ElectionStream {
    /// A decoder for a direction seen from its first byte, written by `sender`.
    pub fn new(sender: Sender) -> Self {
        Self::with_phase(match sender {
            Sender::Initiator => Phase::Initial,
            Sender::Acceptor => Phase::Prelude,
        })
    }

    /// A decoder for a direction seen from its first byte whose writer is unknown.
    pub fn unknown_role() -> Self {
        Self::with_phase(Phase::UnknownRole)
    }

    /// A decoder for a direction met mid-way: it skips to the first plausible frame.
    pub fn mid_stream() -> Self {
        Self::with_phase(Phase::Resync)
    }

    fn with_phase(phase: Phase) -> Self {
        ElectionStream {
            phase,
            max_frame: PACKET_MAX_SIZE,
            initiator_sid: None,
        }
    }

    /// Changes the frame-length ceiling (default [`PACKET_MAX_SIZE`], as ZooKeeper enforces).
    pub fn with_max_frame(mut self, max: u32) -> Self {
        self.max_frame = max;
        self
    }

    /// The initiator's sid, once its initial message was decoded on this direction.
    pub fn initiator_sid(&self) -> Option<i64> {
        self.initiator_sid
    }

    /// Whether the decoder hit bytes it cannot frame and waits for [`ElectionStream::resync`].
    pub fn is_broken(&self) -> bool {
        self.phase == Phase::Broken
    }

    /// Switches to resynchronisation: the next calls skip to a plausible frame. Use after
    /// [`Step::Invalid`] or after a gap in the capture (drop the buffered bytes first).
    pub fn resync(&mut self) {
        self.phase = Phase::Resync;
    }

    /// Decodes the next item at the start of `buf`. The caller removes `len` bytes after
    /// [`Step::Message`], [`Step::BadFrame`] and [`Step::Skipped`], and calls again.
    pub fn next<'a>(&mut self, buf: &'a [u8]) -> Step<'a> {
        match self.phase {
            Phase::Initial => self.initial(buf),
            Phase::UnknownRole => self.sniff(buf),
            Phase::Prelude => self.prelude(buf),
            Phase::Frames => self.frame(buf),
            Phase::Resync => self.scan(buf),
            Phase::Broken => Step::Invalid,
        }
    }

    fn initial<'a>(&mut self, buf: &'a [u8]) -> Step<'a> {
        match parse_initial_message(buf) {
            Ok((rest, m)) => {
                self.phase = Phase::Prelude;
                self.initiator_sid = Some(m.sid);
                Step::Message {
                    len: buf.len() - rest.len(),
                    message: ElectionMessage::Initial(m),
                }
            }
            Err(nom::Err::Incomplete(n)) => Step::NeedMore {
                at_least: buf.len()
                    + match n {
                        nom::Needed::Size(n) => n.get(),
                        nom::Needed::Unknown => 1,
                    },
            },
            Err(_) => {
                self.phase = Phase::Broken;
                Step::Invalid
            }
        }
    }

    fn sniff<'a>(&mut self, buf: &'a [u8]) -> Step<'a> {
        let Some(first) = buf.first_chunk::<8>().map(|b| i64::from_be_bytes(*b)) else {
            // Eight bytes decide between every alternative except a short frame, which needs
            // more anyway.
            return Step::NeedMore { at_least: 8 };
        };
        if first == PROTOCOL_VERSION_V1 || first == PROTOCOL_VERSION_V2 {
            self.phase = Phase::Initial;
            return self.initial(buf);
        }
        if starts_with_quorum_auth(buf) == Plausibility::Yes {
            self.phase = Phase::Prelude;
            return self.prelude(buf);
        }
        match frame_verdict(buf) {
            Ok(true) => {
                self.phase = Phase::Frames;
                self.frame(buf)
            }
            Err(at_least) => Step::NeedMore { at_least },
            // Old-format sids are small non-negative longs, whose first four bytes (zero) are
            // never a valid frame length, so this order cannot misread a frame.
            Ok(false) if first >= 0 => {
                self.phase = Phase::Initial;
                self.initial(buf)
            }
            Ok(false) => {
                self.phase = Phase::Resync;
                self.scan(buf)
            }
        }
    }

    fn prelude<'a>(&mut self, buf: &'a [u8]) -> Step<'a> {
        match starts_with_quorum_auth(buf) {
            // Fewer than 8 bytes that agree with the magic so far; no frame can start with
            // them (0x5f… is far above any frame length), so waiting loses nothing.
            Plausibility::NeedMore => Step::NeedMore { at_least: 8 },
            Plausibility::Yes => match parse_quorum_auth_packet(buf) {
                Ok((rest, p)) => Step::Message {
                    len: buf.len() - rest.len(),
                    message: ElectionMessage::QuorumAuth(p),
                },
                Err(nom::Err::Incomplete(n)) => Step::NeedMore {
                    at_least: buf.len()
                        + match n {
                            nom::Needed::Size(n) => n.get(),
                            nom::Needed::Unknown => 1,
                        },
                },
                Err(_) => {
                    self.phase = Phase::Broken;
                    Step::Invalid
                }
            },
            Plausibility::No => {
                self.phase = Phase::Frames;
                self.frame(buf)
            }
        }
    }

    fn frame<'a>(&mut self, buf: &'a [u8]) -> Step<'a> {
        match notification_frame_len(buf, self.max_frame) {
            Boundary::Complete(len) => match parse_notification(&buf[4..len]) {
                Ok(n) => Step::Message {
                    len,
                    message: ElectionMessage::Notification(n),
                },
                Err(error) => Step::BadFrame { len, error },
            },
            Boundary::Incomplete(at_least) => Step::NeedMore { at_least },
            Boundary::Invalid | Boundary::Discard(_) => {
                self.phase = Phase::Broken;
                Step::Invalid
            }
        }
    }

    fn scan<'a>(&mut self, buf: &'a [u8]) -> Step<'a> {
        for k in 0..buf.len() {
            match frame_verdict(&buf[k..]) {
                Ok(false) => continue,
                Ok(true) if k == 0 => {
                    self.phase = Phase::Frames;
                    return self.frame(buf);
                }
                Ok(true) => {
                    self.phase = Phase::Frames;
                    return Step::Skipped { len: k };
                }
                // Undecided at k: drop what is certainly garbage first, then wait.
                Err(_) if k > 0 => return Step::Skipped { len: k },
                Err(need) => return Step::NeedMore { at_least: need },
            }
        }
        if buf.is_empty() {
            Step::NeedMore { at_least: 4 }
        } else {
            Step::Skipped { len: buf.len() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::initial::InitialFormat;
    use zk_proto::jute::{Encode, JuteStr};

    fn note(epoch: i64) -> Notification<'static> {
        Notification {
            state: crate::ServerState::Looking,
            leader: 2,
            zxid: 0x1_0000_0000,
            election_epoch: epoch,
            peer_epoch: Some(1),
            version: Some(2),
            config: Some(JuteStr::from("server.1=a:1:2:participant\nversion=0")),
            opaque_tail: &[],
        }
    }

    fn drain<'a>(s: &mut ElectionStream, mut buf: &'a [u8]) -> Vec<Step<'a>> {
        let mut out = Vec::new();
        loop {
            let step = s.next(buf);
            let used = match &step {
                Step::Message { len, .. } | Step::BadFrame { len, .. } | Step::Skipped { len } => {
                    *len
                }
                _ => 0,
            };
            out.push(step);
            if used == 0 {
                return out;
            }
            buf = &buf[used..];
        }
    }

    #[test]
    fn initiator_direction() {
        let init = InitialMessage {
            format: InitialFormat::V1,
            sid: 3,
            election_addr: JuteStr::from("127.0.0.1:3888"),
        };
        let mut b = init.to_bytes();
        note(1).encode_framed(&mut b);
        note(2).encode_framed(&mut b);
        let cut = b.len() - 3;
        let mut s = ElectionStream::new(Sender::Initiator);
        let steps = drain(&mut s, &b[..cut]);
        assert_eq!(steps.len(), 3);
        assert!(matches!(
            steps[0],
            Step::Message {
                message: ElectionMessage::Initial(_),
                ..
            }
        ));
        assert_eq!(s.initiator_sid(), Some(3));
        assert!(matches!(steps[2], Step::NeedMore { .. }));

        // The same bytes with unknown role decode the same way.
        let mut u = ElectionStream::unknown_role();
        assert_eq!(drain(&mut u, &b[..cut]), steps);
    }

    #[test]
    fn mid_stream_resync() {
        let mut b = Vec::new();
        note(1).encode_framed(&mut b);
        note(2).encode_framed(&mut b);
        let first_len = b.len() / 2;
        let mut s = ElectionStream::mid_stream();
        let steps = drain(&mut s, &b[5..]);
        assert_eq!(steps[0], Step::Skipped { len: first_len - 5 });
        assert!(matches!(
            &steps[1],
            Step::Message { message: ElectionMessage::Notification(n), .. } if n.election_epoch == 2
        ));
    }

    #[test]
    fn broken_until_resync() {
        let mut s = ElectionStream::new(Sender::Acceptor);
        assert_eq!(s.next(&[0xff, 0, 0, 0, 0, 0, 0, 0]), Step::Invalid);
        assert!(s.is_broken());
        s.resync();
        assert_eq!(s.next(&[]), Step::NeedMore { at_least: 4 });
    }
}
