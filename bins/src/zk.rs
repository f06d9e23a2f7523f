//! zk-dump's decoder: a [`StreamHandler`] for the ZooKeeper client port that frames both
//! directions, pairs replies with their requests, and prints one line (text or JSON) per
//! message.
//!
//! Output is built once per message as a JSON object with the common keys (`ts`, `client`,
//! `server`, `dir`, `type`, `opcode`, `xid`, `path`, `size`, `session`, and on replies `zxid`,
//! `err`, `error`, `latency_us`) followed by the record's own fields from zk-proto's serde
//! support; the text format renders the same object zktraffic-style.

use crate::analytics::Analytics;
use crate::holdback::{Holdback, Slot};
use crate::lazy::OnFirstData;
use crate::output::{merge_fields, Format, Printer};
use serde_json::{json, Map, Value};
use std::io::Write;
use std::net::SocketAddr;
use zk_proto::codes::xid;
use zk_proto::{
    error_name, ClientConnection, ConnectionState, Event, OpCode, ReplyBody, RequestBody,
};
use zkwire_capture::{
    ClientIs, CloseReason, ConnInfo, Direction, StreamHandler, TcpSegment, Timestamp,
};

/// What to show and how.
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
    /// Print credentials (digest auth, SASL tokens, session passwords) instead of their lengths.
    pub show_secrets: bool,
    /// Print requests as they arrive instead of when their reply does (text only).
    pub unpaired: bool,
    /// Largest frame accepted.
    pub max_frame: u32,
    /// Hex-dump frames that fail to decode.
    pub dump_bad_packets: bool,
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
    /// TLS connections (not decodable).
    pub tls_connections: u64,
    /// Frames that failed to decode.
    pub decode_errors: u64,
    /// Times the framer found a boundary again after a gap or a mid-stream start.
    pub resyncs: u64,
    /// Bytes skipped while looking for a boundary.
    pub skipped_bytes: u64,
}

/// Data kept with each outstanding request (its path is kept by zk-proto's decoder).
#[derive(Debug)]
pub struct PendingInfo {
    visible: bool,
    /// Where the request's text line waits for its reply, in paired text mode.
    slot: Option<Slot>,
}

impl Default for PendingInfo {
    fn default() -> Self {
        PendingInfo {
            visible: true,
            slot: None,
        }
    }
}

/// Per-connection state: zk-proto's decoder of both directions, made on the first bytes.
pub struct ZkConn {
    decoder: OnFirstData<ClientConnection<PendingInfo>>,
}

/// A receiver of every decoded message object.
pub type Observer = dyn FnMut(&Map<String, Value>) + Send;

/// The zk-dump decoder and printer.
pub struct ZkDump<W: Write> {
    opts: ZkOptions,
    /// Server ports of the connections passed over (for a run that decodes nothing).
    pub ports_seen: crate::input::PortsSeen,
    /// Where and how messages are printed.
    pub printer: Printer<W>,
    /// Counters.
    pub counts: ZkCounts,
    /// An analysis mode (counts, latencies, …): messages feed it instead of being printed.
    pub analytics: Option<Analytics>,
    /// Receives every visible message too (zk-stats-daemon's counters).
    pub observer: Option<Box<Observer>>,
    /// Reprint the analysis every this many nanoseconds of capture time (live `--interval`).
    pub interval_ns: Option<i64>,
    /// Clear the screen before each reprint (text on a terminal).
    pub redraw: bool,
    /// Paired text lines waiting to be printed in request-time order.
    holdback: Holdback,
    last_report: Option<Timestamp>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex64(v: i64) -> String {
    format!("0x{:x}", v as u64)
}

impl<W: Write> ZkDump<W> {
    /// A decoder printing with `printer`.
    pub fn new(opts: ZkOptions, printer: Printer<W>) -> ZkDump<W> {
        ZkDump {
            opts,
            ports_seen: Default::default(),
            printer,
            counts: ZkCounts::default(),
            analytics: None,
            observer: None,
            interval_ns: None,
            redraw: false,
            holdback: Holdback::default(),
            last_report: None,
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

    fn base(&self, ts: Timestamp, info: &ConnInfo, dir: &str, kind: &str) -> Map<String, Value> {
        // Sized for a whole message: growing the map field by field rehashes it several times.
        let mut m = Map::with_capacity(24);
        m.insert("ts".into(), json!(ts.as_secs_f64()));
        m.insert("client".into(), json!(info.client.to_string()));
        m.insert("server".into(), json!(info.server.to_string()));
        m.insert("dir".into(), json!(dir));
        m.insert("type".into(), json!(kind));
        m
    }

    /// Renders a message as one output line (without the newline).
    fn render(
        &mut self,
        m: &Map<String, Value>,
        ts: Timestamp,
        info: &ConnInfo,
        indent: usize,
    ) -> String {
        let dir = m
            .get("dir")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        // A watch event names the client that received it (and its session), as requests do.
        let peer = match dir.as_str() {
            "request" | "connect" | "four_letter" | "tls" | "event" => {
                format!("client={}", info.client)
            }
            _ => format!("server={}", info.server),
        };
        let skip = |k: &str, v: &Value| match k {
            // The text line stays short, as zktraffic's: the JSON format has everything.
            "client" | "server" | "dir" | "opcode" | "stat" | "err" | "session_id" => true,
            "session" => !(dir.starts_with("connect") || dir == "event"),
            "error" => v == "OK",
            "ignored_len" => v == 0,
            _ => false,
        };
        self.printer
            .render(m, ts, "type", skip, &peer, indent, info.client)
    }

    /// Whether messages are printed (not fed to an analysis or the daemon's counters).
    fn printing(&self) -> bool {
        self.analytics.is_none() && self.observer.is_none()
    }

    /// Whether text requests are printed with their replies.
    fn paired(&self) -> bool {
        self.printer.format() == Format::Text && !self.opts.unpaired
    }

    /// Prints a line of capture time `ts`, after what paired mode still holds before it.
    fn emit(&mut self, ts: Timestamp, line: String) {
        if !self.printing() {
        } else if self.paired() {
            self.holdback.ready(ts, line);
        } else {
            self.printer.print(&line);
        }
    }

    /// Prints what paired mode no longer needs to hold at capture time `now`.
    fn release(&mut self, now: Timestamp) {
        let printer = &mut self.printer;
        self.holdback.drain(now, &mut |line| printer.print(&line));
    }

    /// Prints every line still held (the end of the input).
    pub fn finish_output(&mut self) {
        let printer = &mut self.printer;
        self.holdback.drain_all(&mut |line| printer.print(&line));
    }

    fn observe(&mut self, ts: Timestamp, m: &Map<String, Value>) {
        if let Some(observer) = self.observer.as_mut() {
            observer(m);
        }
        let Some(analytics) = self.analytics.as_mut() else {
            return;
        };
        analytics.observe_at(m, ts);
    }

    /// Reprints the analysis when `--interval` of capture time has passed. Every event ticks,
    /// whatever the mode shows of it, so steady traffic of any kind keeps the reports coming.
    fn tick(&mut self, ts: Timestamp) {
        let Some(every) = self.interval_ns.filter(|_| self.analytics.is_some()) else {
            return;
        };
        match self.last_report {
            None => self.last_report = Some(ts),
            Some(last) if ts.nanos_since(last) >= every => {
                self.last_report = Some(ts);
                if self.redraw {
                    // On a terminal the report replaces the previous one, as top does.
                    self.printer.print_raw("\x1b[H\x1b[2J");
                }
                let when = self.printer.clock().format_date(ts);
                self.printer.print(&format!("--- {when} ---"));
                self.report();
            }
            Some(_) => {}
        }
    }

    /// Prints the analysis, if one was asked for.
    pub fn report(&mut self) {
        if let Some(analytics) = &self.analytics {
            let format = self.printer.format();
            for line in analytics.render(format, self.printer.clock_mut()) {
                self.printer.print(&line);
            }
        }
    }

    /// Whether `--count-requests` runs alone: it needs only type, path and client, so no
    /// message object is built.
    fn counting_only(&self) -> bool {
        self.observer.is_none()
            && self
                .analytics
                .as_ref()
                .is_some_and(|a| a.counts_requests_only())
    }

    fn on_event(
        &mut self,
        state: &mut ConnectionState<PendingInfo>,
        info: &ConnInfo,
        ts: Timestamp,
        ev: Event<'_, PendingInfo>,
    ) {
        self.handle(state, info, ts, ev);
        self.release(ts);
        self.tick(ts);
    }

    fn handle(
        &mut self,
        state: &mut ConnectionState<PendingInfo>,
        info: &ConnInfo,
        ts: Timestamp,
        ev: Event<'_, PendingInfo>,
    ) {
        match ev {
            Event::Tls => {
                self.counts.tls_connections += 1;
                let m = self.base(ts, info, "tls", "TlsConnection");
                self.show_connection_line(ts, &m, info, 0);
            }
            Event::FourLetterWord { word, size } => {
                self.counts.four_letter_words += 1;
                self.counts.messages += 1;
                let mut m = self.base(ts, info, "four_letter", "FourLetterRequest");
                m.insert("word".into(), json!(word.as_str()));
                m.insert("size".into(), json!(size));
                self.show_connection_line(ts, &m, info, 0);
            }
            Event::FourLetterReply { word, reply, size } => {
                self.counts.messages += 1;
                let mut m = self.base(ts, info, "four_letter", "FourLetterReply");
                m.insert("word".into(), json!(word.as_str()));
                m.insert("size".into(), json!(size));
                let text = String::from_utf8_lossy(reply);
                match self.printer.format() {
                    Format::Json => m.insert("reply".into(), json!(text)),
                    Format::Text => m.insert(
                        "first_line".into(),
                        json!(text.lines().next().unwrap_or("")),
                    ),
                };
                let indent = usize::from(self.paired());
                self.show_connection_line(ts, &m, info, indent);
            }
            Event::Unanswered(p) => {
                self.counts.unanswered_requests += 1;
                if let Some(slot) = p.data.slot {
                    // Paired mode held this request back; it never got a reply.
                    self.holdback.unanswered(slot);
                }
            }
            Event::Connect { .. } | Event::Request { .. } | Event::BadRequest { .. } => {
                self.on_client_event(state, info, ts, ev)
            }
            _ => self.on_server_event(state, info, ts, ev),
        }
    }

    /// Observes and prints a line about the connection itself (TLS, four-letter words), which
    /// a path filter hides.
    fn show_connection_line(
        &mut self,
        ts: Timestamp,
        m: &Map<String, Value>,
        info: &ConnInfo,
        indent: usize,
    ) {
        if self.opts.path_prefix.is_none() {
            self.observe(ts, m);
            let line = self.render(m, ts, info, indent);
            self.emit(ts, line);
        }
    }

    /// `--count-requests` alone: counts the request by type, path and client.
    fn count_request(&mut self, info: &ConnInfo, ev: &Event<'_, PendingInfo>) {
        let (kind, path, ping) = match ev {
            Event::Connect { .. } => ("ConnectRequest", None, false),
            Event::Request { request, .. } => (
                request.opcode.request_name(),
                request.body.path().map(|p| p.to_string_lossy()),
                request.opcode == OpCode::Ping,
            ),
            _ => {
                self.counts.decode_errors += 1;
                return;
            }
        };
        let wanted = match &self.opts.path_prefix {
            None => true,
            Some(prefix) => path
                .as_deref()
                .is_some_and(|p| p.starts_with(prefix.as_str())),
        };
        if let Some(analytics) = self.analytics.as_mut() {
            if wanted && (!ping || self.opts.include_pings) {
                analytics.count_request(kind, path.as_deref(), info.client);
            }
        }
    }

    fn on_client_event(
        &mut self,
        state: &mut ConnectionState<PendingInfo>,
        info: &ConnInfo,
        ts: Timestamp,
        ev: Event<'_, PendingInfo>,
    ) {
        self.counts.messages += 1;
        self.counts.requests += 1;
        if self.counting_only() {
            self.count_request(info, &ev);
            return;
        }
        let paired = self.paired();
        let (m, visible, queued) = match ev {
            Event::Connect { request: c, size } => {
                let mut m = self.base(ts, info, "connect", "ConnectRequest");
                if c.session_id != 0 {
                    m.insert("session".into(), json!(hex64(c.session_id)));
                }
                m.insert("size".into(), json!(size));
                merge_fields(&mut m, serde_json::to_value(c));
                if self.opts.show_secrets {
                    if let Some(p) = c.passwd {
                        m.insert("passwd".into(), json!(hex(p)));
                    }
                }
                (m, self.opts.path_prefix.is_none(), false)
            }
            Event::Request { request: r, size } => {
                let mut m = self.base(ts, info, "request", r.opcode.request_name());
                m.insert("opcode".into(), json!(r.opcode.as_i32()));
                m.insert("xid".into(), json!(r.xid));
                let path = r.body.path().map(|p| p.to_string_lossy());
                if let Some(p) = &path {
                    m.insert("path".into(), json!(p));
                }
                m.insert("size".into(), json!(size));
                if let Some(s) = state.session_id() {
                    m.insert("session".into(), json!(hex64(s)));
                }
                merge_fields(&mut m, serde_json::to_value(r.body));
                self.add_credentials(&mut m, &r.body);
                let is_ping = r.opcode == OpCode::Ping;
                let visible =
                    (!is_ping || self.opts.include_pings) && self.path_wanted(path.as_deref());
                (m, visible, true)
            }
            Event::BadRequest {
                error,
                xid,
                opcode,
                payload,
            } => {
                self.counts.decode_errors += 1;
                let mut m = self.base(ts, info, "request", "DecodeError");
                if let Some(op) = opcode {
                    m.insert("opcode".into(), json!(op.as_i32()));
                }
                if let Some(x) = xid {
                    m.insert("xid".into(), json!(x));
                }
                m.insert("size".into(), json!(payload.len()));
                m.insert("error".into(), json!(error.to_string()));
                if self.opts.dump_bad_packets {
                    m.insert("hex".into(), json!(hex(payload)));
                }
                (m, true, xid.is_some() && opcode.is_some())
            }
            _ => return,
        };
        if visible {
            self.observe(ts, &m);
        }
        let line = visible.then(|| self.render(&m, ts, info, 0));
        // Fill in the entry the decoder just queued for this request.
        if queued {
            if let Some(p) = state.last_pending_mut() {
                p.data.visible = visible;
                if paired && self.printing() {
                    p.data.slot = line.map(|line| self.holdback.hold(ts, line));
                    return;
                }
            }
        }
        if let Some(line) = line {
            self.emit(ts, line);
        }
    }

    /// The identity part of a digest credential, and credentials themselves when asked.
    fn add_credentials(&self, m: &mut Map<String, Value>, body: &RequestBody<'_>) {
        if let RequestBody::Auth(a) = body {
            // The identity part of a digest credential (`user:password`) is no secret (ACLs
            // show it); the password never leaves this function unless asked.
            let scheme = a
                .scheme
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let (Some(cred), "digest") = (a.auth, scheme.as_str()) {
                let user = cred.split(|b| *b == b':').next().unwrap_or_default();
                m.insert("auth_user".into(), json!(String::from_utf8_lossy(user)));
            }
        }
        if self.opts.show_secrets {
            match body {
                RequestBody::Auth(a) => {
                    if let Some(cred) = a.auth {
                        m.insert("credential".into(), json!(String::from_utf8_lossy(cred)));
                    }
                }
                RequestBody::Sasl(t) => {
                    if let Some(tok) = t.token {
                        m.insert("token".into(), json!(hex(tok)));
                    }
                }
                _ => {}
            }
        }
    }

    fn on_server_event(
        &mut self,
        state: &mut ConnectionState<PendingInfo>,
        info: &ConnInfo,
        ts: Timestamp,
        ev: Event<'_, PendingInfo>,
    ) {
        self.counts.messages += 1;
        if self.counting_only() {
            // Replies only keep the pairing state in step; --count-requests does not show them.
            match ev {
                Event::Watch { .. } => self.counts.events += 1,
                Event::BadReply { .. } => {
                    self.counts.decode_errors += 1;
                    self.counts.replies += 1;
                }
                _ => self.counts.replies += 1,
            }
            return;
        }
        let (m, visible, held) = match ev {
            Event::ConnectReply { reply: c, size } => {
                self.counts.replies += 1;
                let mut m = self.base(ts, info, "connect_reply", "ConnectReply");
                m.insert("session".into(), json!(hex64(c.session_id)));
                m.insert("size".into(), json!(size));
                merge_fields(&mut m, serde_json::to_value(c));
                if c.time_out <= 0 {
                    m.insert("expired".into(), json!(true));
                }
                if self.opts.show_secrets {
                    if let Some(p) = c.passwd {
                        m.insert("passwd".into(), json!(hex(p)));
                    }
                }
                (m, self.opts.path_prefix.is_none(), None)
            }
            Event::Watch { event, zxid, size } => {
                self.counts.events += 1;
                let name =
                    zk_proto::event_type_name(event.event_type).unwrap_or("UnknownWatchEvent");
                let mut m = self.base(ts, info, "event", &format!("Event{name}"));
                let path = event.path.map(|p| p.to_string_lossy().into_owned());
                if let Some(p) = &path {
                    m.insert("path".into(), json!(p));
                }
                m.insert("xid".into(), json!(-1));
                m.insert("zxid".into(), json!(zxid_text(zxid)));
                m.insert("size".into(), json!(size));
                if let Some(s) = state.session_id() {
                    m.insert("session".into(), json!(hex64(s)));
                }
                m.insert("event".into(), json!(name));
                m.insert(
                    "state".into(),
                    json!(zk_proto::keeper_state_name(event.state)
                        .map_or(Value::from(event.state), Value::from)),
                );
                let visible = self.path_wanted(path.as_deref());
                (m, visible, None)
            }
            Event::Reply {
                reply,
                request,
                latency_ns,
                size,
            } => {
                self.counts.replies += 1;
                let kind = reply.opcode.map_or("unknown", |op| op.reply_name());
                if reply.opcode.is_some() {
                    self.counts.typed_replies += 1;
                } else {
                    self.counts.unmatched_replies += 1;
                }
                let mut m = self.base(ts, info, "reply", kind);
                if let Some(op) = reply.opcode {
                    m.insert("opcode".into(), json!(op.as_i32()));
                }
                m.insert("xid".into(), json!(reply.header.xid));
                if let Some(p) = request.as_ref().and_then(|p| p.path.as_deref()) {
                    m.insert("path".into(), json!(p));
                }
                m.insert("size".into(), json!(size));
                if let Some(s) = state.session_id() {
                    m.insert("session".into(), json!(hex64(s)));
                }
                m.insert("zxid".into(), json!(zxid_text(reply.header.zxid)));
                m.insert("err".into(), json!(reply.header.err));
                m.insert(
                    "error".into(),
                    json!(error_name(reply.header.err).unwrap_or("UNKNOWN")),
                );
                if let Some(ns) = latency_ns {
                    m.insert("latency_us".into(), json!(ns / 1000));
                }
                merge_fields(&mut m, serde_json::to_value(reply.body));
                if self.opts.show_secrets {
                    if let ReplyBody::Sasl(t) = reply.body {
                        if let Some(tok) = t.token {
                            m.insert("token".into(), json!(hex(tok)));
                        }
                    }
                }
                match request {
                    Some(p) => (m, p.data.visible, Some(p.data)),
                    None => {
                        let ping = reply.header.xid == xid::PING;
                        let visible =
                            self.opts.path_prefix.is_none() && (!ping || self.opts.include_pings);
                        (m, visible, None)
                    }
                }
            }
            Event::BadReply {
                error,
                header,
                request,
                payload,
            } => {
                self.counts.replies += 1;
                self.counts.decode_errors += 1;
                let mut m = self.base(ts, info, "reply", "DecodeError");
                if let Some(h) = header {
                    m.insert("xid".into(), json!(h.xid));
                    m.insert("zxid".into(), json!(zxid_text(h.zxid)));
                    m.insert("err".into(), json!(h.err));
                }
                if let Some(p) = &request {
                    m.insert("opcode".into(), json!(p.opcode.as_i32()));
                }
                m.insert("size".into(), json!(payload.len()));
                m.insert("error".into(), json!(error.to_string()));
                if self.opts.dump_bad_packets {
                    m.insert("hex".into(), json!(hex(payload)));
                }
                (m, true, request.map(|p| p.data))
            }
            _ => return,
        };
        let slot = held.and_then(|d| d.slot);
        if visible {
            self.observe(ts, &m);
            let is_reply = m.get("dir").and_then(Value::as_str) == Some("reply");
            let line = self.render(&m, ts, info, usize::from(self.paired() && is_reply));
            // A reply completes its request's block; anything else waits its own turn.
            let unheld = match slot {
                Some(slot) => (!self.holdback.complete(slot, [line.clone()])).then_some(line),
                None => Some(line),
            };
            if let Some(line) = unheld {
                self.emit(ts, line);
            }
        }
    }

    fn finish_conn(&mut self, conn: &mut ZkConn, info: &ConnInfo, ts: Timestamp) {
        let decoder = conn.decoder.made();
        let mut session = None;
        if let Some(decoder) = decoder {
            decoder.finish(&mut |state, ev| self.on_event(state, info, ts, ev));
            session = decoder.state().session_id();
            let (to_server, to_client) = decoder.framer_stats();
            self.counts.resyncs += to_server.resyncs + to_client.resyncs;
            self.counts.skipped_bytes += to_server.skipped_bytes + to_client.skipped_bytes;
        }
        if self.analytics.is_some() || self.observer.is_some() {
            let mut m = self.base(ts, info, "closed", "ConnectionClosed");
            if let Some(s) = session {
                m.insert("session".into(), json!(hex64(s)));
            }
            self.observe(ts, &m);
        }
    }
}

fn zxid_text(zxid: i64) -> Value {
    if zxid == -1 {
        json!(-1)
    } else {
        json!(hex64(zxid))
    }
}

impl<W: Write> StreamHandler for ZkDump<W> {
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
        if let Some(observer) = self.observer.as_mut() {
            let mut m = Map::new();
            m.insert("ts".into(), json!(ts.as_secs_f64()));
            m.insert("client".into(), json!(client.to_string()));
            m.insert("server".into(), json!(server.to_string()));
            m.insert("dir".into(), json!("opened"));
            m.insert("type".into(), json!("ConnectionOpened"));
            observer(&m);
        }
        let decoder = OnFirstData::new(first.syn);
        Some((ZkConn { decoder }, client_is))
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
        !self.printer.done() && !self.analytics.as_ref().is_some_and(Analytics::is_done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Format;
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
            show_secrets: false,
            unpaired: false,
            max_frame: 1 << 20,
            dump_bad_packets: false,
        }
    }

    /// Feeds (time in ms, from, to, bytes) segments of connections met mid-stream; returns the
    /// text output.
    fn run(segments: &[(i64, &str, &str, Vec<u8>)]) -> Vec<String> {
        let printer = Printer::new(Vec::new(), Format::Text, true, false, None);
        let mut dump = ZkDump::new(opts(), printer);
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
        dump.finish_output();
        String::from_utf8_lossy(dump.printer.get_ref())
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
