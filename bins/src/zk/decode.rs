//! zk-dump's handler: a [`StreamHandler`] for the ZooKeeper client port that runs zk-proto's
//! [`ClientConnection`] over each connection (framing both directions, pairing replies with
//! their requests) and hands every message, typed, to a [`ZkSink`], after the filters
//! (`--client`, `--path-prefix`, pings) and the counters every mode shares.

use super::message::{Token, ZkBody, ZkMessage, ZkSink};
use crate::lazy::OnFirstData;
use std::net::SocketAddr;
use zk_proto::codes::xid;
use zk_proto::{ClientConnection, ConnectionState, Event, OpCode};
use zkwire_capture::tls::{TlsNotice, TlsReport};
use zkwire_capture::{
    ClientIs, CloseReason, ConnInfo, Direction, StreamHandler, TcpSegment, Timestamp,
};

/// Which connections and messages to decode and show.
#[derive(Debug, Clone)]
pub struct ZkOptions {
    /// Server ports.
    pub ports: Vec<u16>,
    /// Only connections from these client addresses (IP, or IP:port).
    pub clients: Vec<String>,
    /// Only this client port.
    pub client_port: Option<u16>,
    /// Only messages about paths under this prefix.
    pub path_prefix: Option<String>,
    /// Show pings.
    pub include_pings: bool,
    /// Largest frame accepted.
    pub max_frame: u32,
}

/// Counters reported in the summary.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ZkCounts {
    /// Client connections decoded.
    pub connections: u64,
    /// Frames decoded in both directions (four-letter words included).
    pub messages: u64,
    /// Requests (ConnectRequests included).
    pub requests: u64,
    /// Replies (ConnectResponses included).
    pub replies: u64,
    /// Watch notifications.
    pub events: u64,
    /// Replies typed through their request.
    pub typed_replies: u64,
    /// Replies whose request was never seen (reported with type `unknown`).
    pub unmatched_replies: u64,
    /// Requests that never got a reply (connection ended or reply lost).
    pub unanswered_requests: u64,
    /// Four-letter-word connections.
    pub four_letter_words: u64,
    /// TLS connections (decrypted or not: the capture's `tls` counters say which).
    pub tls_connections: u64,
    /// Frames that failed to decode.
    pub decode_errors: u64,
    /// Times the framer found a boundary again after a gap or a mid-stream start.
    pub resyncs: u64,
    /// Bytes skipped while looking for a boundary.
    pub skipped_bytes: u64,
}

impl ZkCounts {
    /// Adds the counters of another handler (a shard of the same capture).
    pub fn add(&mut self, other: &ZkCounts) {
        let ZkCounts {
            connections,
            messages,
            requests,
            replies,
            events,
            typed_replies,
            unmatched_replies,
            unanswered_requests,
            four_letter_words,
            tls_connections,
            decode_errors,
            resyncs,
            skipped_bytes,
        } = other;
        for (sum, n) in [
            (&mut self.connections, connections),
            (&mut self.messages, messages),
            (&mut self.requests, requests),
            (&mut self.replies, replies),
            (&mut self.events, events),
            (&mut self.typed_replies, typed_replies),
            (&mut self.unmatched_replies, unmatched_replies),
            (&mut self.unanswered_requests, unanswered_requests),
            (&mut self.four_letter_words, four_letter_words),
            (&mut self.tls_connections, tls_connections),
            (&mut self.decode_errors, decode_errors),
            (&mut self.resyncs, resyncs),
            (&mut self.skipped_bytes, skipped_bytes),
        ] {
            *sum += n;
        }
    }
}

/// What the handler keeps with each outstanding request (its path is kept by zk-proto's
/// decoder).
#[derive(Debug)]
pub struct PendingInfo {
    /// Whether the request was shown (its reply is shown with it, or not at all).
    visible: bool,
    /// The sink's token for it.
    token: Option<Token>,
}

impl Default for PendingInfo {
    fn default() -> Self {
        PendingInfo {
            visible: true,
            token: None,
        }
    }
}

/// Per-connection state: zk-proto's decoder of both directions, made on the first bytes.
pub struct ZkConn {
    decoder: OnFirstData<ClientConnection<PendingInfo>>,
    /// Whether it was counted as a TLS connection.
    tls_counted: bool,
}

/// zk-dump's handler, delivering to the sink `S`.
pub struct ZkHandler<S: ZkSink> {
    opts: ZkOptions,
    /// Server ports of the connections passed over (for a run that decodes nothing).
    pub ports_seen: crate::input::PortsSeen,
    /// Where messages go.
    pub sink: S,
    /// Counters.
    pub counts: ZkCounts,
}

impl<S: ZkSink> ZkHandler<S> {
    /// A handler delivering to `sink`.
    pub fn new(opts: ZkOptions, sink: S) -> ZkHandler<S> {
        ZkHandler {
            opts,
            ports_seen: Default::default(),
            sink,
            counts: ZkCounts::default(),
        }
    }

    fn client_wanted(&self, client: SocketAddr) -> bool {
        if self.opts.client_port.is_some_and(|p| p != client.port()) {
            return false;
        }
        if self.opts.clients.is_empty() {
            return true;
        }
        let ip = client.ip().to_string();
        let full = client.to_string();
        self.opts.clients.iter().any(|c| *c == ip || *c == full)
    }

    fn path_wanted(&self, path: Option<&str>) -> bool {
        match &self.opts.path_prefix {
            None => true,
            Some(prefix) => path.is_some_and(|p| p.starts_with(prefix.as_str())),
        }
    }

    /// Lines about the connection itself (TLS, four-letter words, the handshake) carry no
    /// path: a path filter hides them.
    fn connection_lines_wanted(&self) -> bool {
        self.opts.path_prefix.is_none()
    }

    fn on_event(
        &mut self,
        state: &mut ConnectionState<PendingInfo>,
        info: &ConnInfo,
        ts: Timestamp,
        ev: Event<'_, PendingInfo>,
    ) {
        self.handle(state, info, ts, ev);
        self.sink.advance(ts);
    }

    /// Counts the event, applies the filters and hands it to the sink as a [`ZkMessage`].
    fn handle(
        &mut self,
        state: &mut ConnectionState<PendingInfo>,
        info: &ConnInfo,
        ts: Timestamp,
        ev: Event<'_, PendingInfo>,
    ) {
        let mut msg = connection_message(state, info, ts);
        let c = &mut self.counts;
        match ev {
            Event::Tls => {
                c.tls_connections += 1;
                msg.session = None;
                msg.body = ZkBody::Tls(None);
                if self.connection_lines_wanted() {
                    self.sink.message(&msg);
                }
            }
            Event::FourLetterWord { word, size } => {
                c.four_letter_words += 1;
                c.messages += 1;
                msg.session = None;
                msg.body = ZkBody::FourLetterWord { word, size };
                if self.connection_lines_wanted() {
                    self.sink.message(&msg);
                }
            }
            Event::FourLetterReply { word, reply, size } => {
                c.messages += 1;
                msg.session = None;
                msg.body = ZkBody::FourLetterReply { word, reply, size };
                if self.connection_lines_wanted() {
                    self.sink.message(&msg);
                }
            }
            Event::Unanswered(p) => {
                c.unanswered_requests += 1;
                msg.body = ZkBody::Unanswered {
                    token: p.data.token,
                };
                self.sink.message(&msg);
            }
            Event::Connect { request, size } => {
                c.messages += 1;
                c.requests += 1;
                msg.session = (request.session_id != 0).then_some(request.session_id);
                msg.body = ZkBody::Connect {
                    request: &request,
                    size,
                };
                if self.connection_lines_wanted() {
                    self.sink.message(&msg);
                }
            }
            Event::Request { request, size } => {
                c.messages += 1;
                c.requests += 1;
                let path = request.body.path().map(|p| p.to_string_lossy());
                msg.path = path.as_deref();
                msg.body = ZkBody::Request {
                    request: &request,
                    size,
                };
                let ping = request.opcode == OpCode::Ping;
                let visible = (!ping || self.opts.include_pings) && self.path_wanted(msg.path);
                self.request(state, &msg, visible);
            }
            Event::BadRequest {
                error,
                xid,
                opcode,
                payload,
            } => {
                c.messages += 1;
                c.requests += 1;
                c.decode_errors += 1;
                msg.body = ZkBody::BadRequest {
                    error: &error,
                    xid,
                    opcode,
                    payload,
                };
                let queued = xid.is_some() && opcode.is_some();
                if queued {
                    self.request(state, &msg, true);
                } else {
                    self.sink.message(&msg);
                }
            }
            _ => self.on_server_event(state, info, ts, ev),
        }
    }

    /// Shows a request (when visible) and files the sink's token with the entry the decoder
    /// just queued for it.
    fn request(
        &mut self,
        state: &mut ConnectionState<PendingInfo>,
        msg: &ZkMessage<'_>,
        visible: bool,
    ) {
        let token = if visible {
            self.sink.message(msg)
        } else {
            None
        };
        if let Some(p) = state.last_pending_mut() {
            p.data.visible = visible;
            p.data.token = token;
        }
    }

    fn on_server_event(
        &mut self,
        state: &mut ConnectionState<PendingInfo>,
        info: &ConnInfo,
        ts: Timestamp,
        ev: Event<'_, PendingInfo>,
    ) {
        let mut msg = connection_message(state, info, ts);
        let c = &mut self.counts;
        c.messages += 1;
        match ev {
            Event::ConnectReply { reply, size } => {
                c.replies += 1;
                msg.session = Some(reply.session_id);
                msg.body = ZkBody::ConnectReply {
                    reply: &reply,
                    size,
                };
                let visible = self.connection_lines_wanted();
                self.show(&msg, visible);
            }
            Event::Watch { event, zxid, size } => {
                c.events += 1;
                let path = event.path.map(|p| p.to_string_lossy());
                msg.path = path.as_deref();
                msg.body = ZkBody::Watch {
                    event: &event,
                    zxid,
                    size,
                };
                let visible = self.path_wanted(msg.path);
                self.show(&msg, visible);
            }
            Event::Reply {
                reply,
                request,
                latency_ns,
                size,
            } => {
                c.replies += 1;
                if reply.opcode.is_some() {
                    c.typed_replies += 1;
                } else {
                    c.unmatched_replies += 1;
                }
                msg.path = request.as_ref().and_then(|p| p.path.as_deref());
                msg.body = ZkBody::Reply {
                    reply: &reply,
                    token: request.as_ref().and_then(|p| p.data.token),
                    latency_ns,
                    size,
                };
                let visible = match &request {
                    Some(p) => p.data.visible,
                    None => {
                        let ping = reply.header.xid == xid::PING;
                        self.connection_lines_wanted() && (!ping || self.opts.include_pings)
                    }
                };
                self.show(&msg, visible);
            }
            Event::BadReply {
                error,
                header,
                request,
                payload,
            } => {
                c.replies += 1;
                c.decode_errors += 1;
                msg.body = ZkBody::BadReply {
                    error: &error,
                    header,
                    opcode: request.as_ref().map(|p| p.opcode),
                    token: request.as_ref().and_then(|p| p.data.token),
                    payload,
                };
                self.show(&msg, true);
            }
            _ => {}
        }
    }

    fn show(&mut self, msg: &ZkMessage<'_>, visible: bool) {
        if visible {
            self.sink.message(msg);
        }
    }

    fn finish_conn(&mut self, conn: &mut ZkConn, info: &ConnInfo, ts: Timestamp) {
        let mut session = None;
        if let Some(decoder) = conn.decoder.made() {
            decoder.finish(&mut |state, ev| self.on_event(state, info, ts, ev));
            session = decoder.state().session_id();
            let (to_server, to_client) = decoder.framer_stats();
            self.counts.resyncs += to_server.resyncs + to_client.resyncs;
            self.counts.skipped_bytes += to_server.skipped_bytes + to_client.skipped_bytes;
        }
        self.sink.message(&ZkMessage {
            ts,
            client: info.client,
            server: info.server,
            session,
            path: None,
            outstanding: 0,
            body: ZkBody::Closed,
        });
    }
}

/// A message of this connection at `ts` with what the connection knows (session, requests
/// outstanding); the caller fills in its body and path.
fn connection_message(
    state: &ConnectionState<PendingInfo>,
    info: &ConnInfo,
    ts: Timestamp,
) -> ZkMessage<'static> {
    ZkMessage {
        ts,
        client: info.client,
        server: info.server,
        session: state.session_id(),
        path: None,
        outstanding: state.outstanding(),
        body: ZkBody::Closed,
    }
}

impl<S: ZkSink> StreamHandler for ZkHandler<S> {
    type Conn = ZkConn;

    fn open(&mut self, first: &TcpSegment<'_>, ts: Timestamp) -> Option<(ZkConn, ClientIs)> {
        let Some(client_is) = ClientIs::for_server_ports(first, &self.opts.ports) else {
            self.ports_seen.note(first);
            return None;
        };
        let (client, server) = client_is.endpoints(first);
        if !self.client_wanted(client) {
            return None;
        }
        self.counts.connections += 1;
        self.sink.message(&ZkMessage {
            ts,
            client,
            server,
            session: None,
            path: None,
            outstanding: 0,
            body: ZkBody::Opened,
        });
        let decoder = OnFirstData::new(first.syn);
        Some((
            ZkConn {
                decoder,
                tls_counted: false,
            },
            client_is,
        ))
    }

    fn data(
        &mut self,
        conn: &mut ZkConn,
        info: &ConnInfo,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
    ) {
        let max_frame = self.opts.max_frame;
        let decoder = conn
            .decoder
            .get_or_make(|start_seen| ClientConnection::new(start_seen, max_frame));
        decoder.push(dir, ts, bytes, &mut |state, ev| {
            self.on_event(state, info, ts, ev)
        });
    }

    fn gap(
        &mut self,
        conn: &mut ZkConn,
        _info: &ConnInfo,
        dir: Direction,
        _ts: Timestamp,
        _len: u64,
    ) {
        let max_frame = self.opts.max_frame;
        let decoder = conn
            .decoder
            .get_or_make(|start_seen| ClientConnection::new(start_seen, max_frame));
        decoder.gap(dir);
    }

    fn held_bytes(&self, conn: &ZkConn) -> usize {
        conn.decoder.get().map_or(0, ClientConnection::buffered)
    }

    fn close(&mut self, mut conn: ZkConn, info: &ConnInfo, ts: Timestamp, _reason: CloseReason) {
        self.finish_conn(&mut conn, info, ts);
    }

    fn wants_more(&self) -> bool {
        !self.sink.done()
    }
}

/// A TLS connection's fate is a connection line, like a four-letter word's.
impl<S: ZkSink> TlsReport for ZkHandler<S> {
    fn tls(&mut self, conn: &mut ZkConn, info: &ConnInfo, ts: Timestamp, notice: TlsNotice<'_>) {
        if let TlsNotice::KeyUpdate(_) = notice {
            return;
        }
        if !std::mem::replace(&mut conn.tls_counted, true) {
            self.counts.tls_connections += 1;
        }
        if self.connection_lines_wanted() {
            self.sink.message(&ZkMessage {
                ts,
                client: info.client,
                server: info.server,
                session: None,
                path: None,
                outstanding: 0,
                body: ZkBody::Tls(Some(notice)),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{Format, Printer};
    use crate::zk::{RenderOptions, ZkPrinter};
    use zkwire_capture::{Reassembler, ReassemblyConfig};

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut v = (payload.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(payload);
        v
    }

    fn opts() -> ZkOptions {
        ZkOptions {
            ports: vec![2181],
            clients: Vec::new(),
            client_port: None,
            path_prefix: None,
            include_pings: false,
            max_frame: 1 << 20,
        }
    }

    /// Feeds (time in ms, from, to, bytes) segments of connections met mid-stream; returns the
    /// text output.
    fn run(segments: &[(i64, &str, &str, Vec<u8>)]) -> Vec<String> {
        let printer = Printer::new(Vec::new(), Format::Text, true, false, None);
        let sink = ZkPrinter::new(printer, RenderOptions::default(), false);
        let mut dump = ZkHandler::new(opts(), sink);
        let mut reassembler = Reassembler::new(ReassemblyConfig::default());
        let mut seqs = std::collections::HashMap::new();
        let mut last = Timestamp(0);
        for (ms, src, dst, bytes) in segments {
            let seq = seqs.entry((*src, *dst)).or_insert(1000u32);
            let seg = TcpSegment {
                src: src.parse().expect("address"),
                dst: dst.parse().expect("address"),
                seq: *seq,
                ack: None,
                syn: false,
                fin: false,
                rst: false,
                payload: bytes,
                missing: 0,
            };
            *seq += bytes.len() as u32;
            last = Timestamp(ms * 1_000_000);
            reassembler.segment(&seg, last, &mut dump);
        }
        reassembler.finish(last, &mut dump);
        dump.sink.finish();
        String::from_utf8_lossy(dump.sink.printer.get_ref())
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Issue 22 item 5: a watch event of one connection came out above the request of another
    /// that was sent before it (the request waits for its reply), so the text ran backwards in
    /// time; and event lines named the server, not the client that received them.
    #[test]
    fn paired_text_never_runs_backwards_across_connections() {
        let (a, b, server) = ("10.0.0.1:5000", "10.0.0.2:5001", "10.0.0.9:2181");
        // A: sync("/a") at 1 ms, its reply at 30 ms; B: a NodeDataChanged event at 20 ms.
        let sync = frame(&[0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 2, b'/', b'a']);
        let mut reply = vec![0, 0, 0, 1];
        reply.extend_from_slice(&7i64.to_be_bytes());
        reply.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 2, b'/', b'a']);
        let mut event = vec![0xff; 4];
        event.extend_from_slice(&(-1i64).to_be_bytes());
        event.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 2, b'/', b'a']);
        let lines = run(&[
            (1, a, server, sync),
            (20, server, b, frame(&event)),
            (30, server, a, frame(&reply)),
        ]);
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines[0].contains("SyncRequest"), "{lines:#?}");
        assert!(lines[1].contains("SyncReply"), "{lines:#?}");
        assert!(lines[2].contains("EventNodeDataChanged"), "{lines:#?}");
        assert!(lines[2].contains("client=10.0.0.2:5001"), "{}", lines[2]);
        let starts: Vec<&str> = lines
            .iter()
            .filter(|l| !l.contains('\u{25ba}'))
            .map(|l| &l[..15])
            .collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{lines:#?}");
    }

    #[test]
    fn a_request_without_reply_is_printed_alone_after_the_bound() {
        let (a, b, server) = ("10.0.0.1:5000", "10.0.0.2:5001", "10.0.0.9:2181");
        let sync = frame(&[0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 2, b'/', b'a']);
        let ping = frame(&[0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11]);
        let mut lines = run(&[(1, a, server, sync), (5_000, b, server, ping)]);
        // The sync is printed alone once it held the output for a second; the connection then
        // ends without its reply.
        assert!(lines.remove(0).contains("SyncRequest"));
        assert!(lines.is_empty(), "{lines:#?}");
    }
}
