//! The sans-IO decoder of one client connection: push the reassembled bytes of both directions
//! with their capture timestamps, get typed [`Event`]s back.
//!
//! A [`ClientConnection`] does everything between TCP reassembly and a decoded message:
//!
//! * tells a Jute session from a four-letter word (`ruok`, `mntr`, …, as
//!   `org.apache.zookeeper.server.command.FourLetterCommands` reads them) and from TLS (port
//!   unification: a first byte of `0x16` is a TLS handshake record);
//! * frames each direction with the shared [`Framer`] and the client protocol's splitters,
//!   hunting for a boundary after a loss or when the connection was met mid-stream;
//! * decodes each frame and pairs replies with their requests through a
//!   [`ConnectionTracker`], so a reply arrives typed by its request, with the request's path and
//!   the latency in nanoseconds.
//!
//! This is the layer to use on a capture: one `ClientConnection` per TCP connection, fed from
//! a `zkwire_capture::StreamHandler`'s `data` (and `gap`, `close` → [`ClientConnection::finish`]).
//! The handler's [`Direction`] is this one (a single type from `zkwire-jute`, re-exported by
//! `zkwire-capture` and this crate), so it is passed as is. The [`tracker`](crate::tracker)
//! is the lower layer, for callers that frame and classify bytes themselves.
//!
//! ```
//! use zk_proto::stream::{ClientConnection, Event};
//! use zk_proto::{Direction, Encode, Timestamp};
//!
//! // A sync request for "/a" (xid 1, opcode 9) and its reply 1.5 ms later.
//! let request = [&[0, 0, 0, 14, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 2][..], b"/a"].concat();
//! let mut reply = vec![0, 0, 0, 22, 0, 0, 0, 1];
//! reply.extend_from_slice(&7i64.to_be_bytes()); // zxid
//! reply.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 2, b'/', b'a']); // err 0, path
//!
//! let mut conn = ClientConnection::<()>::new(false, 1 << 20);
//! let mut seen = Vec::new();
//! let mut sink = |_: &mut _, ev: Event<'_, ()>| match ev {
//!     Event::Request { request, .. } => seen.push(format!("{}", request.opcode)),
//!     Event::Reply { request: Some(req), latency_ns, .. } => {
//!         seen.push(format!("{} {:?} {:?}", req.opcode, req.path, latency_ns))
//!     }
//!     _ => {}
//! };
//! conn.push(Direction::ToServer, Timestamp(1_000_000), &request, &mut sink);
//! conn.push(Direction::ToClient, Timestamp(2_500_000), &reply, &mut sink);
//! assert_eq!(seen, ["sync", "sync Some(\"/a\") Some(1500000)"]);
//! ```

use crate::codes::xid;
use crate::framing::{four_letter_word, reply_splitter, request_splitter, FourLetterWord};
use crate::message::{Reply, ReplyBody, Request};
use crate::records::{ConnectRequest, ConnectResponse, ReplyHeader, WatcherEvent};
use crate::tracker::{ClientFrame, ConnectionTracker, Pending, ServerFrame, TrackerStats};
use crate::OpCode;
use zkwire_jute::{
    DecodeError, Direction, Framer, FramerEvent, FramerStats, LengthPrefixed, Timestamp,
};

/// How much of a four-letter word's reply is kept (the rest is only counted).
pub const FOUR_LETTER_REPLY_KEEP: usize = 64 * 1024;

/// What a [`ClientConnection`] found in the stream.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a, T> {
    /// The client opened with a four-letter word instead of a ConnectRequest.
    FourLetterWord {
        /// The word.
        word: FourLetterWord,
        /// Bytes the client had sent when the word was recognised.
        size: usize,
    },
    /// The server's answer to a four-letter word, at the end of the connection.
    FourLetterReply {
        /// The word it answers.
        word: FourLetterWord,
        /// The start of the reply (at most [`FOUR_LETTER_REPLY_KEEP`] bytes).
        reply: &'a [u8],
        /// The whole reply's length.
        size: u64,
    },
    /// The connection is TLS (its first client byte is a handshake record); nothing more of it
    /// is decoded.
    Tls,
    /// The ConnectRequest that opens a session.
    Connect {
        /// The request.
        request: ConnectRequest<'a>,
        /// Payload size (without the length prefix).
        size: usize,
    },
    /// The server's ConnectResponse.
    ConnectReply {
        /// The response (its `time_out` is 0 or less when the session had expired).
        reply: ConnectResponse<'a>,
        /// Payload size.
        size: usize,
    },
    /// A request. It is queued for pairing before the event is handed over, so the sink can
    /// attach its data with [`ConnectionState::last_pending_mut`].
    Request {
        /// The request.
        request: Request<'a>,
        /// Payload size.
        size: usize,
    },
    /// A client frame that did not decode. When its header was readable it is queued for
    /// pairing like a request, so later replies stay aligned.
    BadRequest {
        /// Why it did not decode.
        error: DecodeError,
        /// Header xid, if readable.
        xid: Option<i32>,
        /// Header opcode, if readable.
        opcode: Option<OpCode>,
        /// The payload (without the length prefix).
        payload: &'a [u8],
    },
    /// A reply, typed through the request it answers.
    Reply {
        /// The reply; its body is [`ReplyBody::Untyped`] when no request matched.
        reply: Reply<'a>,
        /// The request it answers, when it was seen.
        request: Option<Pending<T>>,
        /// Nanoseconds from the request to this reply, when the request was seen.
        latency_ns: Option<u64>,
        /// Payload size.
        size: usize,
    },
    /// A watch notification (xid -1).
    Watch {
        /// The event (type, keeper state, path).
        event: WatcherEvent<'a>,
        /// The zxid of the reply header (-1 for most notifications).
        zxid: i64,
        /// Payload size.
        size: usize,
    },
    /// A server frame that did not decode.
    BadReply {
        /// Why it did not decode.
        error: DecodeError,
        /// The reply header, if readable.
        header: Option<ReplyHeader>,
        /// The request it answers, if any.
        request: Option<Pending<T>>,
        /// The payload (without the length prefix).
        payload: &'a [u8],
    },
    /// A request that never got its reply: handed over by [`ClientConnection::finish`].
    Unanswered(Pending<T>),
}

/// The protocol state of a connection that a sink may read or amend while it handles an event.
#[derive(Debug)]
pub struct ConnectionState<T> {
    tracker: ConnectionTracker<T>,
    client_session: Option<i64>,
}

impl<T> ConnectionState<T> {
    /// The session id: from the ConnectResponse, or from a reconnecting client's
    /// ConnectRequest when the response was not seen.
    pub fn session_id(&self) -> Option<i64> {
        self.tracker.session_id().or(self.client_session)
    }

    /// The request queued most recently and still unanswered.
    pub fn last_pending_mut(&mut self) -> Option<&mut Pending<T>> {
        self.tracker.last_pending_mut()
    }

    /// Requests waiting for their reply.
    pub fn outstanding(&self) -> usize {
        self.tracker.outstanding()
    }

    /// The pairing counters.
    pub fn stats(&self) -> TrackerStats {
        self.tracker.stats()
    }
}

/// What the connection turned out to carry.
#[derive(Debug)]
enum Mode {
    /// Start seen; waiting for the first client bytes to tell Jute from a 4lw or TLS.
    Start(Vec<u8>),
    Jute,
    FourLetter {
        word: FourLetterWord,
        reply: Vec<u8>,
        reply_len: u64,
    },
    Tls,
}

/// The receiver of a connection's events.
pub type Sink<'s, T> = dyn FnMut(&mut ConnectionState<T>, Event<'_, T>) + 's;

/// The decoder of one client connection (both directions). `T` is the caller's data kept with
/// each request until its reply (use `()` for none).
#[derive(Debug)]
pub struct ClientConnection<T> {
    mode: Mode,
    to_server: Framer<LengthPrefixed>,
    to_client: Framer<LengthPrefixed>,
    state: ConnectionState<T>,
}

impl<T: Default> ClientConnection<T> {
    /// A decoder for a connection whose start (SYN) was seen when `start_seen` — the first
    /// client bytes then tell Jute, four-letter word and TLS apart — or one met mid-stream,
    /// which is taken as Jute and hunted for frame boundaries. Frames above `max_frame`
    /// payload bytes are treated as a lost boundary.
    pub fn new(start_seen: bool, max_frame: u32) -> Self {
        ClientConnection {
            mode: if start_seen {
                Mode::Start(Vec::new())
            } else {
                Mode::Jute
            },
            to_server: Framer::new(request_splitter(max_frame), start_seen),
            to_client: Framer::new(reply_splitter(max_frame), start_seen),
            state: ConnectionState {
                tracker: ConnectionTracker::new(start_seen),
                client_session: None,
            },
        }
    }

    /// The protocol state (session id, outstanding requests, pairing counters).
    pub fn state(&self) -> &ConnectionState<T> {
        &self.state
    }

    /// The framers' counters, client → server and server → client.
    pub fn framer_stats(&self) -> (FramerStats, FramerStats) {
        (self.to_server.stats, self.to_client.stats)
    }

    /// Bytes allocated for messages not complete yet (both directions) and for the start of
    /// a four-letter word's reply: what a memory budget counts.
    pub fn buffered(&self) -> usize {
        let mode = match &self.mode {
            Mode::Start(held) => held.capacity(),
            Mode::FourLetter { reply, .. } => reply.capacity(),
            Mode::Jute | Mode::Tls => 0,
        };
        mode + self.to_server.allocated() + self.to_client.allocated()
    }

    /// Whether the connection is TLS (nothing of it is decoded).
    pub fn is_tls(&self) -> bool {
        matches!(self.mode, Mode::Tls)
    }

    /// Feeds the next in-order bytes of one direction, captured at `ts`.
    pub fn push(&mut self, dir: Direction, ts: Timestamp, bytes: &[u8], sink: &mut Sink<'_, T>) {
        match &mut self.mode {
            Mode::Jute => self.push_frames(dir, ts, bytes, sink),
            Mode::Start(held) => {
                if dir == Direction::ToClient {
                    // The server spoke first: not a four-letter word; decode as Jute.
                    let held = std::mem::take(held);
                    self.mode = Mode::Jute;
                    self.push_frames(Direction::ToServer, ts, &held, sink);
                    self.push_frames(dir, ts, bytes, sink);
                    return;
                }
                held.extend_from_slice(bytes);
                if let Some(held) = self.classify_start(sink) {
                    self.push_frames(Direction::ToServer, ts, &held, sink);
                }
            }
            Mode::FourLetter {
                reply, reply_len, ..
            } => {
                if dir == Direction::ToClient {
                    *reply_len += bytes.len() as u64;
                    let room = FOUR_LETTER_REPLY_KEEP.saturating_sub(reply.len());
                    reply.extend_from_slice(&bytes[..bytes.len().min(room)]);
                }
            }
            Mode::Tls => {}
        }
    }

    /// Bytes of one direction were lost: drop its partial frame and hunt for the next one.
    pub fn gap(&mut self, dir: Direction) {
        self.framer(dir).gap(&mut |_| {});
        if let Mode::Start(_) = self.mode {
            self.mode = Mode::Jute;
        }
    }

    /// The connection ended: hands over a four-letter word's reply, then every request that
    /// never got its reply, and drops any partial frame.
    pub fn finish(&mut self, sink: &mut Sink<'_, T>) {
        if let Mode::FourLetter {
            word,
            reply,
            reply_len,
        } = &self.mode
        {
            let ev = Event::FourLetterReply {
                word: *word,
                reply,
                size: *reply_len,
            };
            sink(&mut self.state, ev);
        }
        let unanswered: Vec<Pending<T>> = self.state.tracker.close().collect();
        for p in unanswered {
            sink(&mut self.state, Event::Unanswered(p));
        }
        self.to_server.finish();
        self.to_client.finish();
    }

    fn framer(&mut self, dir: Direction) -> &mut Framer<LengthPrefixed> {
        match dir {
            Direction::ToServer => &mut self.to_server,
            Direction::ToClient => &mut self.to_client,
        }
    }

    /// Decides what a connection whose start was seen carries, from its first client bytes;
    /// returns the held bytes when they are to be framed as Jute.
    fn classify_start(&mut self, sink: &mut Sink<'_, T>) -> Option<Vec<u8>> {
        let Mode::Start(held) = &mut self.mode else {
            return None;
        };
        match held.first() {
            None => return None,
            Some(0x16) => {
                self.mode = Mode::Tls;
                sink(&mut self.state, Event::Tls);
                return None;
            }
            Some(_) if held.len() < 4 => return None,
            Some(_) => {}
        }
        let held = std::mem::take(held);
        if let Some(word) = four_letter_word(&held) {
            self.mode = Mode::FourLetter {
                word,
                reply: Vec::new(),
                reply_len: 0,
            };
            let size = held.len();
            sink(&mut self.state, Event::FourLetterWord { word, size });
            return None;
        }
        self.mode = Mode::Jute;
        Some(held)
    }

    fn push_frames(&mut self, dir: Direction, ts: Timestamp, bytes: &[u8], sink: &mut Sink<'_, T>) {
        let ClientConnection {
            to_server,
            to_client,
            state,
            ..
        } = self;
        let framer = match dir {
            Direction::ToServer => to_server,
            Direction::ToClient => to_client,
        };
        framer.push(bytes, &mut |ev| {
            if let FramerEvent::Message(frame) = ev {
                // The splitter only hands over frames with their 4-byte prefix.
                let payload = &frame[4..];
                match dir {
                    Direction::ToServer => on_client_frame(state, ts, payload, sink),
                    Direction::ToClient => on_server_frame(state, ts, payload, sink),
                }
            }
        });
    }
}

fn on_client_frame<T: Default>(
    state: &mut ConnectionState<T>,
    ts: Timestamp,
    payload: &[u8],
    sink: &mut Sink<'_, T>,
) {
    let size = payload.len();
    let ev = match state.tracker.on_client_frame(payload, ts, |_| T::default()) {
        ClientFrame::Connect(request) => {
            if request.session_id != 0 {
                state.client_session = Some(request.session_id);
            }
            Event::Connect { request, size }
        }
        ClientFrame::Request(request) => Event::Request { request, size },
        ClientFrame::Undecodable { error, xid, opcode } => Event::BadRequest {
            error,
            xid,
            opcode,
            payload,
        },
    };
    sink(state, ev);
}

fn on_server_frame<T: Default>(
    state: &mut ConnectionState<T>,
    ts: Timestamp,
    payload: &[u8],
    sink: &mut Sink<'_, T>,
) {
    let size = payload.len();
    let ev = match state.tracker.on_server_frame(payload, ts) {
        ServerFrame::Connect(reply) => Event::ConnectReply { reply, size },
        ServerFrame::Reply { reply, .. } if reply.header.xid == xid::NOTIFICATION => {
            let ReplyBody::Notification(event) = reply.body else {
                // decode_reply always decodes xid -1 as a notification.
                return;
            };
            let zxid = reply.header.zxid;
            Event::Watch { event, zxid, size }
        }
        ServerFrame::Reply { reply, matched } => Event::Reply {
            latency_ns: matched.as_ref().map(|p| p.latency_ns(ts)),
            reply,
            request: matched,
            size,
        },
        ServerFrame::Undecodable {
            error,
            header,
            matched,
        } => Event::BadReply {
            error,
            header,
            request: matched,
            payload,
        },
    };
    sink(state, ev);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut v = (payload.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(payload);
        v
    }

    fn names(conn: &mut ClientConnection<()>, dir: Direction, bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        conn.push(dir, Timestamp(0), bytes, &mut |_, ev| {
            out.push(match ev {
                Event::FourLetterWord { word, .. } => format!("4lw {word}"),
                Event::Tls => "tls".into(),
                Event::Connect { .. } => "connect".into(),
                Event::ConnectReply { .. } => "connect reply".into(),
                Event::Request { request, .. } => format!("request {}", request.opcode),
                Event::Watch { .. } => "watch".into(),
                other => format!("{other:?}"),
            })
        });
        out
    }

    #[test]
    fn first_bytes_tell_tls_four_letter_words_and_jute_apart() {
        let mut tls = ClientConnection::new(true, 1 << 20);
        assert_eq!(names(&mut tls, Direction::ToServer, &[0x16, 3, 1]), ["tls"]);
        assert!(tls.is_tls());

        let mut word = ClientConnection::new(true, 1 << 20);
        assert!(names(&mut word, Direction::ToServer, b"ru").is_empty());
        assert_eq!(names(&mut word, Direction::ToServer, b"ok"), ["4lw ruok"]);
        names(&mut word, Direction::ToClient, b"imok");
        let mut replies = Vec::new();
        word.finish(&mut |_, ev| {
            if let Event::FourLetterReply { reply, size, .. } = ev {
                replies.push((reply.to_vec(), size));
            }
        });
        assert_eq!(replies, [(b"imok".to_vec(), 4)]);

        // Met mid-stream: Jute, hunted; a ping request is found after garbage.
        let mut mid = ClientConnection::new(false, 1 << 20);
        let mut bytes = vec![9, 9, 9];
        bytes.extend(frame(&[0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11]));
        bytes.extend(frame(&[0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11]));
        assert_eq!(
            names(&mut mid, Direction::ToServer, &bytes),
            ["request ping", "request ping"]
        );
        assert_eq!(mid.framer_stats().0.skipped_bytes, 3);
    }

    #[test]
    fn unanswered_requests_are_handed_over_at_the_end() {
        let mut conn = ClientConnection::<u8>::new(false, 1 << 20);
        let ping = frame(&[0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11]);
        conn.push(
            Direction::ToServer,
            Timestamp(5),
            &ping,
            &mut |state, ev| {
                assert!(matches!(ev, Event::Request { .. }));
                state.last_pending_mut().expect("queued").data = 7;
            },
        );
        let mut left = Vec::new();
        conn.finish(&mut |_, ev| {
            if let Event::Unanswered(p) = ev {
                left.push((p.opcode, p.ts, p.data));
            }
        });
        assert_eq!(left, [(OpCode::Ping, Timestamp(5), 7)]);
    }
}
