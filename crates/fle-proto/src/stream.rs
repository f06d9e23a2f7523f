//! Sans-IO decoders for election connections, at three levels: [`ElectionConnection`] frames
//! and decodes both directions of a connection and names the initiator (the entry point for
//! a capture); [`ElectionSplitter`] is the framing rules as a [`Splitter`] for a [`Framer`]
//! of your own; [`ElectionStream`] decodes one direction from a buffer the caller keeps.
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
//!
//! Or let a [`Framer`] keep the bytes: [`ElectionSplitter`] is the same rules as a
//! [`Splitter`], and [`ElectionConnection`] frames and decodes both directions of a
//! connection, naming the initiator as the sender of its messages. Its [`Direction`] is the
//! workspace's one type (from `zkwire-jute`, re-exported by `zkwire-capture`): pass a capture
//! handler's direction as is, [`Direction::ToServer`] being initiator → acceptor.
//!
//! ```
//! use fle_proto::{ElectionConnection, ElectionEvent, ElectionMessage, Encode, Notification};
//! use fle_proto::{Direction, InitialFormat, InitialMessage, JuteStr, ServerState};
//!
//! // Server 2 opens a connection: its initial message, then a LOOKING vote for server 3.
//! let init = InitialMessage { format: InitialFormat::V1, sid: 2, election_addr: JuteStr::from("a:3888") };
//! let vote = Notification {
//!     state: ServerState::Looking, leader: 3, zxid: 0x1_0000_0004, election_epoch: 2,
//!     peer_epoch: Some(1), version: Some(2), config: None, opaque_tail: &[],
//! };
//! let mut bytes = init.to_bytes();
//! vote.encode_framed(&mut bytes);
//!
//! let mut conn = ElectionConnection::new(true);
//! let mut votes = Vec::new();
//! conn.push(Direction::ToServer, &bytes, &mut |ev| {
//!     if let ElectionEvent::Message { message: ElectionMessage::Notification(n), sender, .. } = ev {
//!         votes.push((sender, n.leader));
//!     }
//! });
//! assert_eq!(votes, [(Some(2), 3)]);
//! ```
//!
//! # Naming the acceptor
//!
//! The acceptor never states its sid, so [`ElectionEvent::Message`]'s `sender` is `None` for
//! its messages. The standard way to name it: every server opens election connections to all
//! the others (even those the [`challenge`](crate::challenge) closes right after the initial
//! message), and a 3.5+ initial message carries the initiator's own election address(es),
//! the ones it accepts on ([`InitialMessage::addresses`]). Collect `address → sid` from every
//! initial message of the capture, then name the acceptor of a connection by its server
//! address — `zkwire_capture::ConnInfo::server`, the end that owns the election port. The
//! dynamic configuration that 3.5+ notifications carry in [`Notification::config`]
//! (`server.N=host:quorumport:electionport:role;clientaddr` lines, `|`-joined addresses in
//! 3.6+) gives the same mapping for every member, including those never seen initiating; for
//! ≤ 3.4 servers, whose initial message is a bare sid, only the ensemble's configuration
//! (`zoo.cfg`) does. Addresses are as configured: resolve host names before comparing them
//! with captured IP addresses.
//!
//! ```
//! use std::collections::HashMap;
//! use std::net::SocketAddr;
//! use fle_proto::{Direction, ElectionConnection, ElectionEvent, ElectionMessage, Encode};
//! use fle_proto::{InitialFormat, InitialMessage, JuteStr, Notification, ServerState};
//!
//! // Election address → sid, from every initial message seen.
//! let mut sids: HashMap<String, i64> = HashMap::new();
//! let mut learn = |ev: &ElectionEvent<'_>| {
//!     if let ElectionEvent::Message { message: ElectionMessage::Initial(init), .. } = ev {
//!         for addr in init.addresses() {
//!             sids.insert(addr.to_string_lossy().into_owned(), init.sid);
//!         }
//!     }
//! };
//!
//! // Server 2 connects to server 3, announcing 10.0.0.2:3888; the challenge drops it.
//! let hello = |sid: i64, addr: &'static str| InitialMessage { format: InitialFormat::V1, sid, election_addr: JuteStr::from(addr) };
//! let mut dropped = ElectionConnection::new(true);
//! dropped.push(Direction::ToServer, &hello(2, "10.0.0.2:3888").to_bytes(), &mut |ev| learn(&ev));
//!
//! // Server 3 connects back to 10.0.0.2:3888 (ConnInfo::server in a capture); the acceptor votes.
//! let server: SocketAddr = "10.0.0.2:3888".parse().unwrap();
//! let mut conn = ElectionConnection::new(true);
//! conn.push(Direction::ToServer, &hello(3, "10.0.0.3:3888").to_bytes(), &mut |ev| learn(&ev));
//! let vote = Notification {
//!     state: ServerState::Looking, leader: 3, zxid: 0x1_0000_0004, election_epoch: 2,
//!     peer_epoch: Some(1), version: Some(2), config: None, opaque_tail: &[],
//! };
//! let mut bytes = Vec::new();
//! vote.encode_framed(&mut bytes);
//! let mut voters = Vec::new();
//! conn.push(Direction::ToClient, &bytes, &mut |ev| {
//!     if let ElectionEvent::Message { sender, .. } = ev {
//!         // `sender` is None on the acceptor's side: look its address up.
//!         voters.push(sender.or_else(|| sids.get(&server.to_string()).copied()));
//!     }
//! });
//! assert_eq!(voters, [Some(2)]);
//! ```

use crate::initial::{
    decode_initial_message, parse_initial_message, InitialMessage, PROTOCOL_VERSION_V1,
    PROTOCOL_VERSION_V2,
};
use crate::notification::{
    decode_notification, frame_verdict, notification_frame_len, Notification, PACKET_MAX_SIZE,
};
use zkwire_jute::quorum_auth::{
    decode_quorum_auth_packet, parse_quorum_auth_packet, starts_with_quorum_auth, QuorumAuthPacket,
};
use zkwire_jute::{
    Boundary, DecodeError, Direction, Framer, FramerEvent, FramerStats, Plausibility, Splitter,
};

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
            Boundary::Complete(len) => match decode_notification(&buf[4..len]) {
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

/// What an [`ElectionSplitter`] cut last, so the message is decoded as what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cut {
    Initial,
    QuorumAuth,
    Notification,
    /// A well-framed notification whose payload does not decode.
    BadFrame(DecodeError),
}

/// Splits one direction of an election connection for a [`Framer`]: the rules of
/// [`ElectionStream`] (initial message, SASL prelude, length-prefixed notifications) as a
/// [`Splitter`]. After a loss the framer hunts with [`crate::plausible_notification_frame`]
/// and the splitter resumes at notification frames.
#[derive(Debug, Clone)]
pub struct ElectionSplitter {
    stream: ElectionStream,
    last: Option<Cut>,
}

impl ElectionSplitter {
    /// A splitter for a direction seen from its first byte, written by `sender`.
    pub fn new(sender: Sender) -> Self {
        ElectionSplitter {
            stream: ElectionStream::new(sender),
            last: None,
        }
    }

    /// The initiator's sid, once its initial message was cut on this direction.
    pub fn initiator_sid(&self) -> Option<i64> {
        self.stream.initiator_sid()
    }
}

impl Splitter for ElectionSplitter {
    fn frame_len(&mut self, buf: &[u8]) -> Boundary {
        let (len, cut) = match self.stream.next(buf) {
            Step::Message { len, message } => (
                len,
                match message {
                    ElectionMessage::Initial(_) => Cut::Initial,
                    ElectionMessage::QuorumAuth(_) => Cut::QuorumAuth,
                    ElectionMessage::Notification(_) => Cut::Notification,
                },
            ),
            Step::BadFrame { len, error } => (len, Cut::BadFrame(error)),
            Step::NeedMore { at_least } => return Boundary::Incomplete(at_least),
            // Hunting is the framer's job: a splitter resynchronising by itself is lost.
            Step::Skipped { .. } | Step::Invalid => return Boundary::Invalid,
        };
        self.last = Some(cut);
        Boundary::Complete(len)
    }

    fn plausible(&mut self, buf: &[u8]) -> Plausibility {
        match frame_verdict(buf) {
            Ok(yes) => Plausibility::from(yes),
            Err(_) => Plausibility::NeedMore,
        }
    }

    fn resynced(&mut self) {
        self.stream.phase = Phase::Frames;
    }
}

/// What an [`ElectionConnection`] found in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ElectionEvent<'a> {
    /// A message.
    Message {
        /// [`Direction::ToServer`]: written by the initiator; [`Direction::ToClient`]: by the
        /// acceptor (the election port's owner).
        direction: Direction,
        /// The message.
        message: ElectionMessage<'a>,
        /// Its size on the wire (length prefix included).
        size: usize,
        /// Who wrote it, where the connection shows it: the initiator's sid from its initial
        /// message. The acceptor never states its sid on the connection, so this is `None` on
        /// its side ([`Direction::ToClient`]), and also for an initiator met mid-stream.
        ///
        /// To name the acceptor, map its address: every server's election address appears in
        /// the initiators' [`InitialMessage::addresses`] (and in the dynamic configuration,
        /// `server.N=host:quorumport:electionport…` lines, that 3.5+ notifications carry in
        /// [`Notification::config`]), so a tool keeps `address → sid` and looks up the
        /// connection's server address (`zkwire_capture::ConnInfo::server`); see
        /// [Naming the acceptor](self#naming-the-acceptor).
        sender: Option<i64>,
    },
    /// A well-framed notification whose payload does not decode (receivers drop it).
    BadFrame {
        /// Which way it travelled.
        direction: Direction,
        /// Why.
        error: DecodeError,
        /// Its size on the wire.
        size: usize,
    },
}

/// The decoder of one election connection (both directions, framed by [`Framer`]s).
#[derive(Debug)]
pub struct ElectionConnection {
    to_acceptor: Framer<ElectionSplitter>,
    to_initiator: Framer<ElectionSplitter>,
}

impl ElectionConnection {
    /// A decoder for a connection whose start (SYN) was seen when `start_seen`, otherwise one
    /// met mid-stream, whose notification frames are hunted.
    pub fn new(start_seen: bool) -> Self {
        let framer = |sender| Framer::new(ElectionSplitter::new(sender), start_seen);
        let mut conn = ElectionConnection {
            to_acceptor: framer(Sender::Initiator),
            to_initiator: framer(Sender::Acceptor),
        };
        if !start_seen {
            // Met mid-way, each direction carries frames once a boundary is found.
            for f in [&mut conn.to_acceptor, &mut conn.to_initiator] {
                f.splitter_mut().resynced();
            }
        }
        conn
    }

    /// The initiator's sid, once its initial message was seen.
    pub fn initiator_sid(&mut self) -> Option<i64> {
        self.to_acceptor.splitter_mut().initiator_sid()
    }

    /// Bytes allocated for messages not complete yet (both directions).
    pub fn buffered(&self) -> usize {
        self.to_acceptor.allocated() + self.to_initiator.allocated()
    }

    /// The framers' counters: initiator → acceptor, acceptor → initiator.
    pub fn framer_stats(&self) -> (FramerStats, FramerStats) {
        (self.to_acceptor.stats, self.to_initiator.stats)
    }

    /// Feeds the next in-order bytes of one direction: [`Direction::ToServer`] for what the
    /// initiator wrote, [`Direction::ToClient`] for the acceptor. `Direction` is the type a
    /// `zkwire_capture::StreamHandler` receives (one type, from `zkwire-jute`): pass it as is.
    pub fn push(
        &mut self,
        direction: Direction,
        bytes: &[u8],
        sink: &mut dyn FnMut(ElectionEvent<'_>),
    ) {
        self.framer(direction)
            .push_with_splitter(bytes, &mut |splitter, ev| {
                if let FramerEvent::Message(frame) = ev {
                    let sender = match direction {
                        Direction::ToServer => splitter.initiator_sid(),
                        Direction::ToClient => None,
                    };
                    sink(decode_cut(splitter.last.take(), direction, frame, sender));
                }
            });
    }

    /// Bytes of one direction were lost: drop its partial message and hunt for a frame.
    pub fn gap(&mut self, direction: Direction) {
        self.framer(direction).gap(&mut |_| {});
    }

    /// The connection ended: returns the bytes of messages cut short.
    pub fn finish(&mut self) -> usize {
        self.to_acceptor.finish() + self.to_initiator.finish()
    }

    fn framer(&mut self, direction: Direction) -> &mut Framer<ElectionSplitter> {
        match direction {
            Direction::ToServer => &mut self.to_acceptor,
            Direction::ToClient => &mut self.to_initiator,
        }
    }
}

/// Decodes a message the splitter cut, as the kind it found.
fn decode_cut(
    cut: Option<Cut>,
    direction: Direction,
    frame: &[u8],
    sender: Option<i64>,
) -> ElectionEvent<'_> {
    let size = frame.len();
    let message = match cut {
        Some(Cut::Initial) => decode_initial_message(frame).map(ElectionMessage::Initial),
        Some(Cut::QuorumAuth) => decode_quorum_auth_packet(frame).map(ElectionMessage::QuorumAuth),
        Some(Cut::Notification) => decode_notification(frame.get(4..).unwrap_or_default())
            .map(ElectionMessage::Notification),
        Some(Cut::BadFrame(error)) => Err(error),
        // The framer only hands over what the splitter cut.
        None => Err(DecodeError::invalid("message boundary", 0)),
    };
    match message {
        Ok(message) => ElectionEvent::Message {
            direction,
            message,
            size,
            sender,
        },
        Err(error) => ElectionEvent::BadFrame {
            direction,
            error,
            size,
        },
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

    /// The V1 initial message of server 3.
    fn initial_from_sid_3() -> Vec<u8> {
        InitialMessage {
            format: InitialFormat::V1,
            sid: 3,
            election_addr: JuteStr::from("127.0.0.1:3888"),
        }
        .to_bytes()
    }

    #[test]
    fn initiator_direction() {
        let mut b = initial_from_sid_3();
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

    fn events(conn: &mut ElectionConnection, dir: Direction, bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        conn.push(dir, bytes, &mut |ev| {
            out.push(match ev {
                ElectionEvent::Message {
                    message: ElectionMessage::Notification(n),
                    sender,
                    ..
                } => {
                    format!("epoch {} from {sender:?}", n.election_epoch)
                }
                ElectionEvent::Message { .. } => "other".into(),
                ElectionEvent::BadFrame { size, .. } => format!("bad {size}"),
            })
        });
        out
    }

    #[test]
    fn connection_met_mid_stream_hunts_frames_and_attributes_nothing() {
        let mut b = Vec::new();
        note(1).encode_framed(&mut b);
        note(2).encode_framed(&mut b);
        let mut conn = ElectionConnection::new(false);
        let got = events(&mut conn, Direction::ToServer, &b[5..]);
        assert_eq!(got, ["epoch 2 from None"]);
        assert_eq!(
            conn.framer_stats().0.skipped_bytes as usize,
            b.len() / 2 - 5
        );
    }

    #[test]
    fn connection_names_the_initiator_and_reports_bad_frames_in_line() {
        let mut b = initial_from_sid_3();
        note(1).encode_framed(&mut b);
        b.extend_from_slice(&[0, 0, 0, 5, 1, 2, 3, 4, 5]); // a 5-byte payload is no notification
        note(2).encode_framed(&mut b);
        let mut conn = ElectionConnection::new(true);
        let got = events(&mut conn, Direction::ToServer, &b);
        assert_eq!(
            got,
            [
                "other",
                "epoch 1 from Some(3)",
                "bad 9",
                "epoch 2 from Some(3)"
            ]
        );
        assert_eq!(conn.initiator_sid(), Some(3));
        // The acceptor never states its sid.
        let mut reply = Vec::new();
        note(1).encode_framed(&mut reply);
        assert_eq!(
            events(&mut conn, Direction::ToClient, &reply),
            ["epoch 1 from None"]
        );
    }
}
