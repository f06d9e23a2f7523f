//! Sans-IO per-connection state for the client port: handshake detection, request/reply
//! pairing and the session id.
//!
//! Replies do not carry their opcode, so the tracker remembers outstanding requests in arrival
//! order and hands each reply the entry it answers. Servers reply in request order (upstream
//! `ClientCnxn.SendThread.readResponse` treats an out-of-order xid as a protocol error),
//! so a reply normally matches the oldest pending entry; if it matches a later one, the older
//! entries are dropped as lost (the server closed or the capture missed bytes). The queue is
//! bounded so a server that never answers cannot grow it without limit.
//!
//! The tracker performs no I/O and keeps no clock: every call gets the frame payload (bytes after
//! the length prefix) and the capture [`Timestamp`] of the packet that completed it. Four-letter words must be recognised by
//! the caller before framing (see [`crate::framing::four_letter_word`]).

use std::collections::VecDeque;

use crate::codes::{xid, OpCode};
use crate::message::{
    decode_connect_request, decode_connect_response, decode_reply, decode_request,
    looks_like_connect_request, looks_like_connect_response, Reply, Request,
};
use crate::records::{
    parse_reply_header, parse_request_header, ConnectRequest, ConnectResponse, ReplyHeader,
};
use zkwire_jute::{DecodeError, Timestamp};

/// Default bound on outstanding requests per connection.
pub const DEFAULT_MAX_OUTSTANDING: usize = 100_000;

/// A request waiting for its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending<T> {
    /// The request's xid.
    pub xid: i32,
    /// The request's opcode (possibly unknown if the request did not decode).
    pub opcode: OpCode,
    /// Capture time of the request frame.
    pub ts: Timestamp,
    /// The node path the request is about, when it has one (lossily decoded).
    pub path: Option<Box<str>>,
    /// Caller data stored with the request.
    pub data: T,
}

impl<T> Pending<T> {
    /// Nanoseconds from the request to `reply_ts` (0 if the capture's clock went backwards).
    pub fn latency_ns(&self, reply_ts: Timestamp) -> u64 {
        reply_ts.nanos_since(self.ts).max(0) as u64
    }
}

/// Counters kept by a [`ConnectionTracker`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackerStats {
    /// Client frames seen (ConnectRequest included).
    pub requests: u64,
    /// Server frames seen (ConnectResponse and notifications included).
    pub replies: u64,
    /// Watch notifications (xid -1).
    pub notifications: u64,
    /// Replies whose xid matched no pending request.
    pub unmatched_replies: u64,
    /// Pending requests dropped because the queue was full.
    pub evicted_requests: u64,
    /// Pending requests skipped over by a reply to a later request.
    pub lost_requests: u64,
    /// Pending requests flushed by [`ConnectionTracker::close`].
    pub flushed_requests: u64,
    /// Frames that failed to decode.
    pub decode_errors: u64,
}

/// A client→server frame as classified by the tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientFrame<'a> {
    /// The bare ConnectRequest that opens a connection.
    Connect(ConnectRequest<'a>),
    /// An ordinary request.
    Request(Request<'a>),
    /// A frame that did not decode; `xid`/`opcode` are set when the header was readable (the
    /// request is then still queued so later replies stay aligned).
    Undecodable {
        /// Why decoding failed.
        error: DecodeError,
        /// Header xid, if readable.
        xid: Option<i32>,
        /// Header opcode, if readable.
        opcode: Option<OpCode>,
    },
}

/// A server→client frame as classified by the tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerFrame<'a, T> {
    /// The bare ConnectResponse that opens a connection.
    Connect(ConnectResponse<'a>),
    /// A reply or notification. `matched` is the request it answers, `None` when unmatched
    /// (the reply body is then [`crate::ReplyBody::Untyped`] unless its xid fixes the type).
    Reply {
        /// The decoded reply.
        reply: Reply<'a>,
        /// The pending request it answers.
        matched: Option<Pending<T>>,
    },
    /// A frame that did not decode (the header, if readable, was still used for matching).
    Undecodable {
        /// Why decoding failed.
        error: DecodeError,
        /// The header, if readable.
        header: Option<ReplyHeader>,
        /// The pending request it answers, if any.
        matched: Option<Pending<T>>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handshake {
    /// Connection start seen: the first frame must be the Connect record.
    Expected,
    /// Joined mid-stream: the first frame is a Connect record only if it has its shape.
    Maybe,
    /// First frame already seen.
    Done,
}

/// Per-connection request/reply tracker. `T` is caller data stored with each pending request
/// (e.g. the path, or a decoded summary).
#[derive(Debug, Clone)]
pub struct ConnectionTracker<T> {
    pending: VecDeque<Pending<T>>,
    max_outstanding: usize,
    client_hs: Handshake,
    server_hs: Handshake,
    session_id: Option<i64>,
    last_ts: Timestamp,
    stats: TrackerStats,
}

impl<T> ConnectionTracker<T> {
    /// A tracker for a connection whose start (SYN) was seen when `start_seen`, otherwise for a
    /// capture that joined mid-stream.
    pub fn new(start_seen: bool) -> Self {
        let hs = if start_seen {
            Handshake::Expected
        } else {
            Handshake::Maybe
        };
        ConnectionTracker {
            pending: VecDeque::new(),
            max_outstanding: DEFAULT_MAX_OUTSTANDING,
            client_hs: hs,
            server_hs: hs,
            session_id: None,
            last_ts: Timestamp(0),
            stats: TrackerStats::default(),
        }
    }

    /// Sets the bound on outstanding requests (at least 1); older entries are evicted first.
    pub fn with_max_outstanding(mut self, max: usize) -> Self {
        self.max_outstanding = max.max(1);
        self
    }

    /// Whether the client's ConnectRequest has not been seen yet (only when the start was seen).
    pub fn client_handshake_pending(&self) -> bool {
        self.client_hs == Handshake::Expected
    }

    /// Whether the server's ConnectResponse has not been seen yet (only when the start was seen).
    pub fn server_handshake_pending(&self) -> bool {
        self.server_hs == Handshake::Expected
    }

    /// Session id from the ConnectResponse, once seen.
    pub fn session_id(&self) -> Option<i64> {
        self.session_id
    }

    /// Counters.
    pub fn stats(&self) -> TrackerStats {
        self.stats
    }

    /// Number of requests awaiting a reply.
    pub fn outstanding(&self) -> usize {
        self.pending.len()
    }

    /// Timestamp of the most recent frame.
    pub fn last_ts(&self) -> Timestamp {
        self.last_ts
    }

    /// Feeds one client→server frame payload. `data` builds the caller data stored with the
    /// request (called only when a request is queued).
    pub fn on_client_frame<'a>(
        &mut self,
        payload: &'a [u8],
        ts: Timestamp,
        data: impl FnOnce(&ClientFrame<'a>) -> T,
    ) -> ClientFrame<'a> {
        self.stats.requests += 1;
        self.last_ts = ts;
        let hs = std::mem::replace(&mut self.client_hs, Handshake::Done);
        let connect = match hs {
            Handshake::Expected => Some(decode_connect_request(payload)),
            Handshake::Maybe if looks_like_connect_request(payload) => {
                Some(decode_connect_request(payload))
            }
            _ => None,
        };
        if let Some(Ok(c)) = connect {
            return ClientFrame::Connect(c);
        }
        // A failed Connect parse falls through: some peers skip straight to requests.
        let frame = match decode_request(payload) {
            Ok(r) => ClientFrame::Request(r),
            Err(error) => {
                self.stats.decode_errors += 1;
                let h = parse_request_header(payload).ok().map(|(_, h)| h);
                ClientFrame::Undecodable {
                    error,
                    xid: h.map(|h| h.xid),
                    opcode: h.map(|h| OpCode::from_i32(h.opcode)),
                }
            }
        };
        let key = match &frame {
            ClientFrame::Request(r) => Some((r.xid, r.opcode, r.body.path())),
            ClientFrame::Undecodable {
                xid: Some(x),
                opcode: Some(o),
                ..
            } => Some((*x, *o, None)),
            _ => None,
        };
        if let Some((xid, opcode, path)) = key {
            let data = data(&frame);
            let path = path.map(|p| p.to_string_lossy().into());
            self.push(Pending {
                xid,
                opcode,
                ts,
                path,
                data,
            });
        }
        frame
    }

    fn push(&mut self, p: Pending<T>) {
        while self.pending.len() >= self.max_outstanding {
            self.pending.pop_front();
            self.stats.evicted_requests += 1;
        }
        self.pending.push_back(p);
    }

    /// Removes and returns the pending request answered by a reply with `xid`.
    fn take(&mut self, reply_xid: i32) -> Option<Pending<T>> {
        if reply_xid == xid::NOTIFICATION {
            return None;
        }
        let pos = self.pending.iter().position(|p| p.xid == reply_xid);
        let Some(pos) = pos else {
            self.stats.unmatched_replies += 1;
            return None;
        };
        // Replies are in request order, so everything older was never answered.
        self.stats.lost_requests += pos as u64;
        self.pending.drain(..pos);
        self.pending.pop_front()
    }

    /// Feeds one server→client frame payload and returns it with the request it answers.
    pub fn on_server_frame<'a>(&mut self, payload: &'a [u8], ts: Timestamp) -> ServerFrame<'a, T> {
        self.stats.replies += 1;
        self.last_ts = ts;
        let hs = std::mem::replace(&mut self.server_hs, Handshake::Done);
        let connect = match hs {
            Handshake::Expected => Some(decode_connect_response(payload)),
            Handshake::Maybe if looks_like_connect_response(payload) => {
                Some(decode_connect_response(payload))
            }
            _ => None,
        };
        if let Some(Ok(c)) = connect {
            self.session_id = Some(c.session_id);
            return ServerFrame::Connect(c);
        }
        let header = match parse_reply_header(payload) {
            Ok((_, h)) => h,
            Err(e) => {
                self.stats.decode_errors += 1;
                return ServerFrame::Undecodable {
                    error: zkwire_jute::error::from_nom(payload, e),
                    header: None,
                    matched: None,
                };
            }
        };
        if header.xid == xid::NOTIFICATION {
            self.stats.notifications += 1;
        }
        let matched = self.take(header.xid);
        match decode_reply(payload, matched.as_ref().map(|p| p.opcode)) {
            Ok(reply) => ServerFrame::Reply { reply, matched },
            Err(error) => {
                self.stats.decode_errors += 1;
                ServerFrame::Undecodable {
                    error,
                    header: Some(header),
                    matched,
                }
            }
        }
    }

    /// The most recently queued request, so a caller can fill in its data after deciding how
    /// to present the request.
    pub fn last_pending_mut(&mut self) -> Option<&mut Pending<T>> {
        self.pending.back_mut()
    }

    /// Ends the connection (FIN/RST/EOF): returns every request that never got a reply.
    pub fn close(&mut self) -> std::collections::vec_deque::Drain<'_, Pending<T>> {
        self.stats.flushed_requests += self.pending.len() as u64;
        self.pending.drain(..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ReplyBody;

    fn req(x: i32, op: i32) -> Vec<u8> {
        let mut v = x.to_be_bytes().to_vec();
        v.extend_from_slice(&op.to_be_bytes());
        if op == 9 {
            v.extend_from_slice(&[0, 0, 0, 1, b'/']);
        }
        v
    }

    fn rep(x: i32, err: i32, body: &[u8]) -> Vec<u8> {
        let mut v = x.to_be_bytes().to_vec();
        v.extend_from_slice(&5i64.to_be_bytes());
        v.extend_from_slice(&err.to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn pairing_in_order() {
        let mut t = ConnectionTracker::<&str>::new(false);
        let a = req(1, 9);
        let b = req(-2, 11);
        let c = req(2, 9);
        assert!(matches!(
            t.on_client_frame(&a, Timestamp(1), |_| "a"),
            ClientFrame::Request(_)
        ));
        t.on_client_frame(&b, Timestamp(2), |_| "ping");
        t.on_client_frame(&c, Timestamp(3), |_| "c");
        let n = rep(-1, 0, &[0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 1, b'/']);
        match t.on_server_frame(&n, Timestamp(4)) {
            ServerFrame::Reply { reply, matched } => {
                assert!(matches!(reply.body, ReplyBody::Notification(_)));
                assert!(matched.is_none());
            }
            other => panic!("{other:?}"),
        }
        let r1 = rep(1, 0, &[0, 0, 0, 1, b'/']);
        match t.on_server_frame(&r1, Timestamp(5)) {
            ServerFrame::Reply { reply, matched } => {
                assert!(matches!(reply.body, ReplyBody::Sync(_)));
                let m = matched.expect("the sync request");
                assert_eq!(
                    (m.data, m.ts, m.path.as_deref()),
                    ("a", Timestamp(1), Some("/"))
                );
                assert_eq!(m.latency_ns(Timestamp(5)), 4);
            }
            other => panic!("{other:?}"),
        }
        // The reply to xid 2 skips the ping: counted as lost.
        let r2 = rep(2, 0, &[0, 0, 0, 1, b'/']);
        assert!(matches!(
            t.on_server_frame(&r2, Timestamp(6)),
            ServerFrame::Reply {
                matched: Some(_),
                ..
            }
        ));
        assert_eq!(t.stats().lost_requests, 1);
        assert_eq!(t.stats().notifications, 1);
        // Unknown xid: unmatched, body untyped.
        let r3 = rep(77, 0, &[1, 2]);
        match t.on_server_frame(&r3, Timestamp(7)) {
            ServerFrame::Reply { reply, matched } => {
                assert_eq!(reply.body, ReplyBody::Untyped(&[1, 2]));
                assert!(matched.is_none());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(t.stats().unmatched_replies, 1);
    }

    #[test]
    fn handshake_and_bounds() {
        let mut t = ConnectionTracker::<()>::new(true).with_max_outstanding(2);
        assert!(t.client_handshake_pending());
        let mut cr = vec![0u8; 28];
        cr[27] = 16;
        cr.extend_from_slice(&[0; 17]);
        assert!(matches!(
            t.on_client_frame(&cr, Timestamp(0), |_| ()),
            ClientFrame::Connect(_)
        ));
        assert!(!t.client_handshake_pending());
        let mut resp = vec![
            0, 0, 0, 0, 0, 0, 0x17, 0x70, 1, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 16,
        ];
        resp.extend_from_slice(&[0; 16]);
        assert!(matches!(
            t.on_server_frame(&resp, Timestamp(1)),
            ServerFrame::Connect(_)
        ));
        assert_eq!(t.session_id(), Some(0x0100_0000_0000_0009));
        for x in 1..=3 {
            t.on_client_frame(&req(x, 9), Timestamp(2), |_| ());
        }
        assert_eq!(t.outstanding(), 2);
        assert_eq!(t.stats().evicted_requests, 1);
        assert_eq!(t.close().count(), 2);
        assert_eq!(t.stats().flushed_requests, 2);
    }
}
