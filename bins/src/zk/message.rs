//! The typed messages zk-dump's handler hands to its sinks, and the sink contract.
//!
//! A [`ZkMessage`] borrows the decoded record (zero-copy, from the frame) and adds what the
//! connection knows: capture time, both addresses, the session, the path (a reply's comes from
//! its request), the latency. Writers, analyses and the daemon's counters all read these typed
//! fields; text and JSON exist only inside the writers.

use std::net::SocketAddr;
use zk_proto::records::{ConnectRequest, ConnectResponse, ReplyHeader, WatcherEvent};
use zk_proto::{error_name, event_type_name, DecodeError, FourLetterWord, OpCode, Reply, Request};
use zkwire_capture::tls::TlsNotice;
use zkwire_capture::Timestamp;

/// A sink's token for a request, handed back with the request's reply (see
/// [`ZkSink::message`]): two integers of the sink's choosing (zk-dump's printer uses the
/// request's place in its output queue).
pub type Token = (i64, u64);

/// One decoded message of a client connection, or a connection's start or end.
#[derive(Debug, Clone, Copy)]
pub struct ZkMessage<'m> {
    /// Capture time of the packet that completed the message.
    pub ts: Timestamp,
    /// The client's address.
    pub client: SocketAddr,
    /// The server's address.
    pub server: SocketAddr,
    /// The session: from the ConnectResponse (or a reconnecting ConnectRequest), when known.
    pub session: Option<i64>,
    /// The node path: a request's own, a reply's request's, a watch event's.
    pub path: Option<&'m str>,
    /// Requests of this connection still waiting for their reply, after this message.
    pub outstanding: usize,
    /// What it is.
    pub body: ZkBody<'m>,
}

/// The kinds of [`ZkMessage`].
#[derive(Debug, Clone, Copy)]
pub enum ZkBody<'m> {
    /// A connection was opened (its first segment was seen).
    Opened,
    /// A connection ended.
    Closed,
    /// The connection is TLS: what became of it (decrypted, keys missing, failed) and its
    /// clear handshake, from the TLS layer; `None` when the decoder itself met the TLS bytes
    /// (nothing of such a connection is decoded).
    Tls(Option<TlsNotice<'m>>),
    /// A four-letter word.
    FourLetterWord {
        /// The word.
        word: FourLetterWord,
        /// Bytes the client sent.
        size: usize,
    },
    /// The server's answer to a four-letter word.
    FourLetterReply {
        /// The word.
        word: FourLetterWord,
        /// The start of the answer.
        reply: &'m [u8],
        /// Its whole length.
        size: u64,
    },
    /// The ConnectRequest that opens (or resumes) a session.
    Connect {
        /// The request.
        request: &'m ConnectRequest<'m>,
        /// Payload bytes.
        size: usize,
    },
    /// The ConnectResponse.
    ConnectReply {
        /// The response.
        reply: &'m ConnectResponse<'m>,
        /// Payload bytes.
        size: usize,
    },
    /// A request.
    Request {
        /// The request.
        request: &'m Request<'m>,
        /// Payload bytes.
        size: usize,
    },
    /// A client frame that did not decode.
    BadRequest {
        /// Why.
        error: &'m DecodeError,
        /// Header xid, if readable.
        xid: Option<i32>,
        /// Header opcode, if readable.
        opcode: Option<OpCode>,
        /// The payload.
        payload: &'m [u8],
    },
    /// A reply, typed through its request.
    Reply {
        /// The reply.
        reply: &'m Reply<'m>,
        /// The token the sink gave the request, when the request was seen and shown.
        token: Option<Token>,
        /// Request → reply, nanoseconds, when the request was seen.
        latency_ns: Option<u64>,
        /// Payload bytes.
        size: usize,
    },
    /// A watch notification.
    Watch {
        /// The event.
        event: &'m WatcherEvent<'m>,
        /// The reply header's zxid (-1 for most notifications).
        zxid: i64,
        /// Payload bytes.
        size: usize,
    },
    /// A server frame that did not decode.
    BadReply {
        /// Why.
        error: &'m DecodeError,
        /// The reply header, if readable.
        header: Option<ReplyHeader>,
        /// The opcode of the request it answers, if that was seen.
        opcode: Option<OpCode>,
        /// The token the sink gave that request.
        token: Option<Token>,
        /// The payload.
        payload: &'m [u8],
    },
    /// A request that never got its reply (the connection ended).
    Unanswered {
        /// The token the sink gave it.
        token: Option<Token>,
    },
}

/// Where zk-dump's handler delivers messages: a writer, an analysis, the daemon's counters.
pub trait ZkSink {
    /// Takes one message. For a request (and a bad request whose header was readable) the
    /// returned token comes back with its reply, or as [`ZkBody::Unanswered`].
    fn message(&mut self, msg: &ZkMessage<'_>) -> Option<Token>;

    /// Capture time has reached `now` (called after every message, shown or not).
    fn advance(&mut self, _now: Timestamp) {}

    /// Whether the sink wants nothing more (a limit reached, output closed).
    fn done(&self) -> bool {
        false
    }
}

/// Two sinks fed the same messages (the stats daemon's counters and its write tracer). The
/// first one's tokens are the ones handed back with replies: the second must not need its own.
pub struct Tee<A, B>(pub A, pub B);

impl<A: ZkSink, B: ZkSink> ZkSink for Tee<A, B> {
    fn message(&mut self, msg: &ZkMessage<'_>) -> Option<Token> {
        let token = self.0.message(msg);
        self.1.message(msg);
        token
    }

    fn advance(&mut self, now: Timestamp) {
        self.0.advance(now);
        self.1.advance(now);
    }

    fn done(&self) -> bool {
        self.0.done() && self.1.done()
    }
}

/// A sink that may be absent (a feature switched off).
impl<S: ZkSink> ZkSink for Option<S> {
    fn message(&mut self, msg: &ZkMessage<'_>) -> Option<Token> {
        self.as_mut().and_then(|s| s.message(msg))
    }

    fn advance(&mut self, now: Timestamp) {
        if let Some(s) = self {
            s.advance(now);
        }
    }

    fn done(&self) -> bool {
        self.as_ref().is_none_or(|s| s.done())
    }
}

/// The watch event type names zk-dump prints, `Event` + ZooKeeper's name.
const EVENT_KINDS: [&str; 8] = [
    "EventNone",
    "EventNodeCreated",
    "EventNodeDeleted",
    "EventNodeDataChanged",
    "EventNodeChildrenChanged",
    "EventDataWatchRemoved",
    "EventChildWatchRemoved",
    "EventPersistentWatchRemoved",
];

impl ZkMessage<'_> {
    /// Where the message goes, as the JSON `dir` key names it.
    pub fn dir(&self) -> &'static str {
        match self.body {
            ZkBody::Opened => "opened",
            ZkBody::Closed => "closed",
            ZkBody::Tls(_) => "tls",
            ZkBody::FourLetterWord { .. } | ZkBody::FourLetterReply { .. } => "four_letter",
            ZkBody::Connect { .. } => "connect",
            ZkBody::ConnectReply { .. } => "connect_reply",
            ZkBody::Request { .. } | ZkBody::BadRequest { .. } | ZkBody::Unanswered { .. } => {
                "request"
            }
            ZkBody::Reply { .. } | ZkBody::BadReply { .. } => "reply",
            ZkBody::Watch { .. } => "event",
        }
    }

    /// zktraffic's message type name (`GetDataRequest`, `EventNodeCreated`, `unknown` for a
    /// reply whose request was not seen, `DecodeError`).
    pub fn kind(&self) -> &'static str {
        match self.body {
            ZkBody::Opened => "ConnectionOpened",
            ZkBody::Closed => "ConnectionClosed",
            ZkBody::Tls(_) => "TlsConnection",
            ZkBody::FourLetterWord { .. } => "FourLetterRequest",
            ZkBody::FourLetterReply { .. } => "FourLetterReply",
            ZkBody::Connect { .. } => "ConnectRequest",
            ZkBody::ConnectReply { .. } => "ConnectReply",
            ZkBody::Request { request, .. } => request.opcode.request_name(),
            ZkBody::Unanswered { .. } => "Unanswered",
            ZkBody::BadRequest { .. } | ZkBody::BadReply { .. } => "DecodeError",
            ZkBody::Reply { reply, .. } => reply.opcode.map_or("unknown", |op| op.reply_name()),
            ZkBody::Watch { event, .. } => event_type_name(event.event_type)
                .and_then(|_| {
                    let i = match event.event_type {
                        -1 => 0,
                        t => usize::try_from(t).ok()?,
                    };
                    EVENT_KINDS.get(i).copied()
                })
                .unwrap_or("EventUnknownWatchEvent"),
        }
    }

    /// The opcode: a request's, or the request's a reply answers.
    pub fn opcode(&self) -> Option<OpCode> {
        match self.body {
            ZkBody::Request { request, .. } => Some(request.opcode),
            ZkBody::Reply { reply, .. } => reply.opcode,
            ZkBody::BadRequest { opcode, .. } | ZkBody::BadReply { opcode, .. } => opcode,
            _ => None,
        }
    }

    /// Payload bytes.
    pub fn size(&self) -> u64 {
        match self.body {
            ZkBody::FourLetterWord { size, .. }
            | ZkBody::Connect { size, .. }
            | ZkBody::ConnectReply { size, .. }
            | ZkBody::Request { size, .. }
            | ZkBody::Reply { size, .. }
            | ZkBody::Watch { size, .. } => size as u64,
            ZkBody::FourLetterReply { size, .. } => size,
            ZkBody::BadRequest { payload, .. } | ZkBody::BadReply { payload, .. } => {
                payload.len() as u64
            }
            _ => 0,
        }
    }

    /// The xid: a request's, a reply's (-1 for a watch event).
    pub fn xid(&self) -> Option<i32> {
        match self.body {
            ZkBody::Request { request, .. } => Some(request.xid),
            ZkBody::Reply { reply, .. } => Some(reply.header.xid),
            ZkBody::Watch { .. } => Some(-1),
            ZkBody::BadRequest { xid, .. } => xid,
            ZkBody::BadReply { header, .. } => header.map(|h| h.xid),
            _ => None,
        }
    }

    /// A reply's error code.
    pub fn err(&self) -> Option<i32> {
        match self.body {
            ZkBody::Reply { reply, .. } => Some(reply.header.err),
            ZkBody::BadReply { header, .. } => header.map(|h| h.err),
            _ => None,
        }
    }

    /// The error name of a reply (`OK`, `NONODE`, `UNKNOWN` for an unassigned code); for a
    /// frame that did not decode, why.
    pub fn error_text(&self) -> Option<std::borrow::Cow<'static, str>> {
        match self.body {
            ZkBody::Reply { reply, .. } => {
                Some(error_name(reply.header.err).unwrap_or("UNKNOWN").into())
            }
            ZkBody::BadRequest { error, .. } | ZkBody::BadReply { error, .. } => {
                Some(error.to_string().into())
            }
            _ => None,
        }
    }

    /// Request → reply latency in microseconds, on replies whose request was seen.
    pub fn latency_us(&self) -> Option<u64> {
        match self.body {
            ZkBody::Reply { latency_ns, .. } => latency_ns.map(|ns| ns / 1000),
            _ => None,
        }
    }
}

/// A session id as zk-dump prints it, `0x…`.
pub fn session_hex(session: i64) -> String {
    format!("0x{:x}", session as u64)
}
