//! zk-dump's decoder: a [`StreamHandler`] for the ZooKeeper client port that frames both
//! directions, pairs replies with their requests, and prints one line (text or JSON) per
//! message.
//!
//! Output is built once per message as a JSON object with the common keys (`ts`, `client`,
//! `server`, `dir`, `type`, `opcode`, `xid`, `path`, `size`, `session`, and on replies `zxid`,
//! `err`, `error`, `latency_us`) followed by the record's own fields from zk-proto's serde
//! support; the text format renders the same object zktraffic-style.

use crate::analytics::Analytics;
use crate::output::{merge_fields, Format, Printer};
use serde_json::{json, Map, Value};
use std::io::Write;
use std::net::SocketAddr;
use zk_proto::codes::xid;
use zk_proto::framing::{plausible_reply_frame_with_limit, plausible_request_frame_with_limit};
use zk_proto::tracker::{ClientFrame, Pending, ServerFrame};
use zk_proto::{
    error_name, four_letter_word, ConnectionTracker, FourLetterWord, OpCode, ReplyBody, RequestBody,
};
use zkwire_capture::{
    ClientIs, CloseReason, ConnInfo, Direction, Framer, FramerEvent, LengthPrefixed, Plausibility,
    StreamHandler, TcpSegment, Timestamp,
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

/// Data kept with each outstanding request.
#[derive(Debug)]
pub struct PendingInfo {
    path: Option<Box<str>>,
    visible: bool,
    /// The request's text line, held back in paired text mode until the reply comes.
    line: Option<String>,
    /// Lines that arrived while this request was held (watch events), printed after its reply
    /// so that they do not appear before the request that was sent first.
    after: Vec<String>,
}

enum Mode {
    /// Connection start seen; waiting for the first client bytes to tell Jute from 4lw/TLS.
    Start(Vec<u8>),
    Jute,
    FourLetter {
        word: FourLetterWord,
        reply: Vec<u8>,
        reply_len: u64,
    },
    Tls,
}

/// Per-connection state.
pub struct ZkConn {
    mode: Mode,
    to_server: Framer<LengthPrefixed>,
    to_client: Framer<LengthPrefixed>,
    session: Session,
}

/// The protocol state of a connection, apart from its framers (so a framer can hand messages
/// straight to the decoder without copying them).
pub struct Session {
    tracker: ConnectionTracker<PendingInfo>,
    client_session: Option<i64>,
}

/// A receiver of every decoded message object.
pub type Observer = dyn FnMut(&Map<String, Value>) + Send;

/// The zk-dump decoder and printer.
pub struct ZkDump<W: Write> {
    opts: ZkOptions,
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
    last_report: Option<Timestamp>,
}

const FOUR_LETTER_REPLY_KEEP: usize = 64 * 1024;

fn check_request(buf: &[u8]) -> Plausibility {
    if buf.len() < 12 {
        return Plausibility::NeedMore;
    }
    if plausible_request_frame_with_limit(buf, u32::MAX >> 1) {
        Plausibility::Yes
    } else {
        Plausibility::No
    }
}

fn check_reply(buf: &[u8]) -> Plausibility {
    if buf.len() < 20 {
        return Plausibility::NeedMore;
    }
    if plausible_reply_frame_with_limit(buf, u32::MAX >> 1) {
        Plausibility::Yes
    } else {
        Plausibility::No
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex64(v: i64) -> String {
    format!("0x{:x}", v as u64)
}

fn ts_key(ts: Timestamp) -> u64 {
    ts.0.max(0) as u64
}

impl<W: Write> ZkDump<W> {
    /// A decoder printing with `printer`.
    pub fn new(opts: ZkOptions, printer: Printer<W>) -> ZkDump<W> {
        ZkDump {
            opts,
            printer,
            counts: ZkCounts::default(),
            analytics: None,
            observer: None,
            interval_ns: None,
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
    fn render(&mut self, m: &Map<String, Value>, info: &ConnInfo, indent: usize) -> String {
        let dir = m
            .get("dir")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let peer = match dir.as_str() {
            "request" | "connect" | "four_letter" | "tls" => format!("client={}", info.client),
            _ => format!("server={}", info.server),
        };
        let skip = |k: &str, v: &Value| match k {
            // The text line stays short, as zktraffic's: the JSON format has everything.
            "client" | "server" | "dir" | "opcode" | "stat" | "err" | "session_id" => true,
            "session" => !dir.starts_with("connect"),
            "error" => v == "OK",
            "ignored_len" => v == 0,
            _ => false,
        };
        self.printer
            .render(m, "type", skip, &peer, indent, info.client)
    }

    fn print_line(&mut self, line: &str) {
        // In an analysis mode the messages feed the analysis and are not printed.
        if self.analytics.is_none() && self.observer.is_none() {
            self.printer.print(line);
        }
    }

    fn observe(&mut self, m: &Map<String, Value>) {
        if let Some(observer) = self.observer.as_mut() {
            observer(m);
        }
        let Some(analytics) = self.analytics.as_mut() else {
            return;
        };
        analytics.observe(m);
        if let Some(every) = self.interval_ns {
            let ts = Timestamp((m.get("ts").and_then(Value::as_f64).unwrap_or(0.0) * 1e9) as i64);
            match self.last_report {
                None => self.last_report = Some(ts),
                Some(last) if ts.nanos_since(last) >= every => {
                    self.last_report = Some(ts);
                    self.printer.print(&format!("--- {} ---", ts.secs()));
                    self.report();
                }
                Some(_) => {}
            }
        }
    }

    /// Prints the analysis, if one was asked for.
    pub fn report(&mut self) {
        if let Some(analytics) = &self.analytics {
            for line in analytics.render(self.printer.format()) {
                self.printer.print(&line);
            }
        }
    }

    fn on_client_frame(
        &mut self,
        conn: &mut Session,
        info: &ConnInfo,
        ts: Timestamp,
        frame: &[u8],
    ) {
        self.counts.messages += 1;
        self.counts.requests += 1;
        let payload = &frame[4..];
        let size = payload.len();
        let paired = self.printer.format() == Format::Text && !self.opts.unpaired;
        let mut built: Option<(Map<String, Value>, bool)> = None;
        let mut pending_path: Option<Box<str>> = None;
        let classified = conn
            .tracker
            .on_client_frame(payload, ts_key(ts), |_| PendingInfo {
                path: None,
                visible: true,
                line: None,
                after: Vec::new(),
            });
        if let Some(analytics) = self.analytics.as_mut().filter(|a| a.counts_requests_only()) {
            // --count-requests needs only type, path and client: no message object is built.
            if self.observer.is_none() {
                let (kind, path, ping) = match &classified {
                    ClientFrame::Connect(_) => ("ConnectRequest", None, false),
                    ClientFrame::Request(r) => (
                        OpCode::from_i32(r.opcode).map_or("UnknownRequest", |o| o.request_name()),
                        r.body.path().flatten().map(|p| p.to_string_lossy()),
                        r.opcode == OpCode::Ping as i32,
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
                if wanted && (!ping || self.opts.include_pings) {
                    analytics.count_request(kind, path.as_deref(), info.client);
                }
                return;
            }
        }
        match &classified {
            ClientFrame::Connect(c) => {
                let mut m = self.base(ts, info, "connect", "ConnectRequest");
                if c.session_id != 0 {
                    conn.client_session = Some(c.session_id);
                    m.insert("session".into(), json!(hex64(c.session_id)));
                }
                m.insert("size".into(), json!(size));
                merge_fields(&mut m, serde_json::to_value(c));
                if self.opts.show_secrets {
                    if let Some(p) = c.passwd {
                        m.insert("passwd".into(), json!(hex(p)));
                    }
                }
                let visible = self.opts.path_prefix.is_none();
                built = Some((m, visible));
            }
            ClientFrame::Request(r) => {
                let op = OpCode::from_i32(r.opcode);
                let kind = op.map_or("UnknownRequest", |o| o.request_name());
                let mut m = self.base(ts, info, "request", kind);
                m.insert("opcode".into(), json!(r.opcode));
                m.insert("xid".into(), json!(r.xid));
                let path = r
                    .body
                    .path()
                    .flatten()
                    .map(|p| p.to_string_lossy().into_owned());
                if let Some(p) = &path {
                    m.insert("path".into(), json!(p));
                }
                m.insert("size".into(), json!(size));
                if let Some(s) = conn.tracker.session_id().or(conn.client_session) {
                    m.insert("session".into(), json!(hex64(s)));
                }
                merge_fields(&mut m, serde_json::to_value(r.body));
                if let RequestBody::Auth(a) = &r.body {
                    // The identity part of a digest credential (`user:password`) is no secret
                    // (ACLs show it); the password never leaves this function unless asked.
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
                    match &r.body {
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
                let is_ping = r.opcode == OpCode::Ping as i32;
                let visible =
                    (!is_ping || self.opts.include_pings) && self.path_wanted(path.as_deref());
                pending_path = path.map(String::into_boxed_str);
                built = Some((m, visible));
            }
            ClientFrame::Undecodable { error, xid, opcode } => {
                self.counts.decode_errors += 1;
                let mut m = self.base(ts, info, "request", "DecodeError");
                if let Some(op) = opcode {
                    m.insert("opcode".into(), json!(op));
                }
                if let Some(x) = xid {
                    m.insert("xid".into(), json!(x));
                }
                m.insert("size".into(), json!(size));
                m.insert("error".into(), json!(error.to_string()));
                if self.opts.dump_bad_packets {
                    m.insert("hex".into(), json!(hex(payload)));
                }
                built = Some((m, true));
            }
            _ => {}
        }
        let queued = matches!(
            classified,
            ClientFrame::Request(_)
                | ClientFrame::Undecodable {
                    xid: Some(_),
                    opcode: Some(_),
                    ..
                }
        );
        let Some((m, visible)) = built else { return };
        if visible {
            self.observe(&m);
        }
        let line = visible.then(|| self.render(&m, info, 0));
        // Fill in the entry the tracker just queued for this request.
        if queued {
            if let Some(p) = conn.tracker.last_pending_mut() {
                p.data.path = pending_path;
                p.data.visible = visible;
                if paired && !matches!(classified, ClientFrame::Connect(_)) {
                    p.data.line = line.clone();
                    return;
                }
            }
        }
        if let Some(line) = line {
            self.print_line(&line);
        }
    }

    fn on_server_frame(
        &mut self,
        conn: &mut Session,
        info: &ConnInfo,
        ts: Timestamp,
        frame: &[u8],
    ) {
        self.counts.messages += 1;
        let payload = &frame[4..];
        let size = payload.len();
        let classified = conn.tracker.on_server_frame(payload, ts_key(ts));
        if self.observer.is_none()
            && self
                .analytics
                .as_ref()
                .is_some_and(|a| a.counts_requests_only())
        {
            // Replies only keep the pairing state in step; --count-requests does not show them.
            match classified {
                ServerFrame::Reply { reply, .. } if reply.header.xid == xid::NOTIFICATION => {
                    self.counts.events += 1
                }
                ServerFrame::Undecodable { .. } => {
                    self.counts.decode_errors += 1;
                    self.counts.replies += 1;
                }
                _ => self.counts.replies += 1,
            }
            return;
        }
        let (m, visible, request_line, after) = match classified {
            ServerFrame::Connect(c) => {
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
                (m, self.opts.path_prefix.is_none(), None, Vec::new())
            }
            ServerFrame::Reply { reply, matched } => {
                if reply.header.xid == xid::NOTIFICATION {
                    self.counts.events += 1;
                    let ReplyBody::Notification(ev) = reply.body else {
                        // parse_reply always decodes xid -1 as a notification.
                        return;
                    };
                    let name =
                        zk_proto::event_type_name(ev.event_type).unwrap_or("UnknownWatchEvent");
                    let mut m = self.base(ts, info, "event", &format!("Event{name}"));
                    let path = ev.path.map(|p| p.to_string_lossy().into_owned());
                    if let Some(p) = &path {
                        m.insert("path".into(), json!(p));
                    }
                    m.insert("xid".into(), json!(-1));
                    m.insert("zxid".into(), json!(zxid_text(reply.header.zxid)));
                    m.insert("size".into(), json!(size));
                    if let Some(s) = conn.tracker.session_id().or(conn.client_session) {
                        m.insert("session".into(), json!(hex64(s)));
                    }
                    m.insert("event".into(), json!(name));
                    m.insert(
                        "state".into(),
                        json!(zk_proto::keeper_state_name(ev.state)
                            .map_or(Value::from(ev.state), Value::from)),
                    );
                    let visible = self.path_wanted(path.as_deref());
                    (m, visible, None, Vec::new())
                } else {
                    self.counts.replies += 1;
                    let typed = reply.opcode.is_some();
                    let kind = match reply.opcode.and_then(OpCode::from_i32) {
                        Some(op) if typed => op.reply_name(),
                        _ => "unknown",
                    };
                    if typed {
                        self.counts.typed_replies += 1;
                    } else {
                        self.counts.unmatched_replies += 1;
                    }
                    let mut m = self.base(ts, info, "reply", kind);
                    if let Some(op) = reply.opcode {
                        m.insert("opcode".into(), json!(op));
                    }
                    m.insert("xid".into(), json!(reply.header.xid));
                    if let Some(p) = matched.as_ref().and_then(|p| p.data.path.as_deref()) {
                        m.insert("path".into(), json!(p));
                    }
                    m.insert("size".into(), json!(size));
                    if let Some(s) = conn.tracker.session_id().or(conn.client_session) {
                        m.insert("session".into(), json!(hex64(s)));
                    }
                    m.insert("zxid".into(), json!(zxid_text(reply.header.zxid)));
                    m.insert("err".into(), json!(reply.header.err));
                    m.insert(
                        "error".into(),
                        json!(error_name(reply.header.err).unwrap_or("UNKNOWN")),
                    );
                    if let Some(p) = &matched {
                        m.insert(
                            "latency_us".into(),
                            json!((ts_key(ts).saturating_sub(p.ts)) / 1000),
                        );
                    }
                    merge_fields(&mut m, serde_json::to_value(reply.body));
                    if self.opts.show_secrets {
                        if let ReplyBody::Sasl(t) = reply.body {
                            if let Some(tok) = t.token {
                                m.insert("token".into(), json!(hex(tok)));
                            }
                        }
                    }
                    let (visible, line, after) = match matched {
                        Some(Pending { data, .. }) => (data.visible, data.line, data.after),
                        None => {
                            let ping = reply.header.xid == xid::PING;
                            (
                                self.opts.path_prefix.is_none()
                                    && (!ping || self.opts.include_pings),
                                None,
                                Vec::new(),
                            )
                        }
                    };
                    (m, visible, line, after)
                }
            }
            ServerFrame::Undecodable {
                error,
                header,
                matched,
            } => {
                self.counts.replies += 1;
                self.counts.decode_errors += 1;
                let mut m = self.base(ts, info, "reply", "DecodeError");
                if let Some(h) = header {
                    m.insert("xid".into(), json!(h.xid));
                    m.insert("zxid".into(), json!(zxid_text(h.zxid)));
                    m.insert("err".into(), json!(h.err));
                }
                if let Some(p) = &matched {
                    m.insert("opcode".into(), json!(p.opcode));
                }
                m.insert("size".into(), json!(size));
                m.insert("error".into(), json!(error.to_string()));
                if self.opts.dump_bad_packets {
                    m.insert("hex".into(), json!(hex(payload)));
                }
                let (line, after) =
                    matched.map_or((None, Vec::new()), |p| (p.data.line, p.data.after));
                (m, true, line, after)
            }
            _ => return,
        };
        let paired = self.printer.format() == Format::Text && !self.opts.unpaired;
        if visible {
            self.observe(&m);
            if let Some(line) = request_line {
                self.print_line(&line);
            }
            let line = self.render(
                &m,
                info,
                usize::from(paired && m.get("dir") == Some(&json!("reply"))),
            );
            if paired && m.get("dir") == Some(&json!("event")) {
                // Hold the event behind the newest request still waiting for its reply.
                if let Some(p) = conn
                    .tracker
                    .last_pending_mut()
                    .filter(|p| p.data.line.is_some())
                {
                    p.data.after.push(line);
                    return;
                }
            }
            self.print_line(&line);
        }
        for line in after {
            self.print_line(&line);
        }
    }

    fn start_mode(&mut self, conn: &mut ZkConn, info: &ConnInfo, ts: Timestamp) -> Option<Vec<u8>> {
        let Mode::Start(buf) = &mut conn.mode else {
            return None;
        };
        if buf.is_empty() {
            return None;
        }
        if buf[0] == 0x16 {
            conn.mode = Mode::Tls;
            self.counts.tls_connections += 1;
            let m = self.base(ts, info, "tls", "TlsConnection");
            if self.opts.path_prefix.is_none() {
                self.observe(&m);
                let line = self.render(&m, info, 0);
                self.print_line(&line);
            }
            return None;
        }
        if buf.len() < 4 {
            return None;
        }
        let held = std::mem::take(buf);
        if let Some(word) = four_letter_word(&held[..4]) {
            self.counts.four_letter_words += 1;
            self.counts.messages += 1;
            let mut m = self.base(ts, info, "four_letter", "FourLetterRequest");
            m.insert("word".into(), json!(word.as_str()));
            m.insert("size".into(), json!(held.len()));
            conn.mode = Mode::FourLetter {
                word,
                reply: Vec::new(),
                reply_len: 0,
            };
            if self.opts.path_prefix.is_none() {
                self.observe(&m);
                let line = self.render(&m, info, 0);
                self.print_line(&line);
            }
            return None;
        }
        conn.mode = Mode::Jute;
        Some(held)
    }

    fn push_frames(
        &mut self,
        conn: &mut ZkConn,
        info: &ConnInfo,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
    ) {
        let ZkConn {
            to_server,
            to_client,
            session,
            ..
        } = conn;
        let framer = match dir {
            Direction::ToServer => to_server,
            Direction::ToClient => to_client,
        };
        let mut skipped = 0u64;
        framer.push(bytes, &mut |ev| match ev {
            FramerEvent::Message(m) => match dir {
                Direction::ToServer => self.on_client_frame(session, info, ts, m),
                Direction::ToClient => self.on_server_frame(session, info, ts, m),
            },
            FramerEvent::Skipped(n) => skipped += n,
            FramerEvent::Discarded(_) => {}
        });
        self.counts.skipped_bytes += skipped;
    }

    fn finish_conn(&mut self, conn: &mut ZkConn, info: &ConnInfo, ts: Timestamp) {
        if let Mode::FourLetter {
            word,
            reply,
            reply_len,
        } = &conn.mode
        {
            self.counts.messages += 1;
            let mut m = self.base(ts, info, "four_letter", "FourLetterReply");
            m.insert("word".into(), json!(word.as_str()));
            m.insert("size".into(), json!(reply_len));
            let text = String::from_utf8_lossy(reply);
            match self.printer.format() {
                Format::Json => {
                    m.insert("reply".into(), json!(text));
                }
                Format::Text => {
                    m.insert(
                        "first_line".into(),
                        json!(text.lines().next().unwrap_or("")),
                    );
                }
            }
            if self.opts.path_prefix.is_none() {
                self.observe(&m);
                let paired = self.printer.format() == Format::Text && !self.opts.unpaired;
                let line = self.render(&m, info, usize::from(paired));
                self.print_line(&line);
            }
        }
        if self.analytics.is_some() || self.observer.is_some() {
            let mut m = self.base(ts, info, "closed", "ConnectionClosed");
            if let Some(s) = conn
                .session
                .tracker
                .session_id()
                .or(conn.session.client_session)
            {
                m.insert("session".into(), json!(hex64(s)));
            }
            self.observe(&m);
        }
        let unanswered: Vec<Pending<PendingInfo>> = conn.session.tracker.close().collect();
        self.counts.unanswered_requests += unanswered.len() as u64;
        for p in unanswered {
            if let Some(line) = p.data.line {
                // Paired mode held this request back; it never got a reply.
                self.print_line(&format!("{line} (no reply)"));
            }
            for line in p.data.after {
                self.print_line(&line);
            }
        }
        self.counts.resyncs += conn.to_server.stats.resyncs + conn.to_client.stats.resyncs;
        self.counts.skipped_bytes += (conn.to_server.finish() + conn.to_client.finish()) as u64;
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
        let (client_is, client) = if self.opts.ports.contains(&first.dst.port()) {
            (ClientIs::Source, first.src)
        } else if self.opts.ports.contains(&first.src.port()) {
            (ClientIs::Destination, first.dst)
        } else {
            return None;
        };
        if !self.client_wanted(client) {
            return None;
        }
        self.counts.connections += 1;
        if let Some(observer) = self.observer.as_mut() {
            let server = if client == first.src {
                first.dst
            } else {
                first.src
            };
            let mut m = Map::new();
            m.insert("ts".into(), json!(ts.as_secs_f64()));
            m.insert("client".into(), json!(client.to_string()));
            m.insert("server".into(), json!(server.to_string()));
            m.insert("dir".into(), json!("opened"));
            m.insert("type".into(), json!("ConnectionOpened"));
            observer(&m);
        }
        let at_start = first.syn;
        let max = self.opts.max_frame;
        Some((
            ZkConn {
                mode: if at_start {
                    Mode::Start(Vec::new())
                } else {
                    Mode::Jute
                },
                to_server: Framer::new(LengthPrefixed::new(8, max, check_request), at_start),
                to_client: Framer::new(LengthPrefixed::new(16, max, check_reply), at_start),
                session: Session {
                    tracker: ConnectionTracker::new(at_start),
                    client_session: None,
                },
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
        match &mut conn.mode {
            Mode::Start(buf) => {
                if dir == Direction::ToClient {
                    // The server spoke first: not a four-letter word; decode as Jute.
                    let held = std::mem::take(buf);
                    conn.mode = Mode::Jute;
                    if !held.is_empty() {
                        self.push_frames(conn, info, Direction::ToServer, ts, &held);
                    }
                    self.push_frames(conn, info, dir, ts, bytes);
                    return;
                }
                buf.extend_from_slice(bytes);
                if let Some(held) = self.start_mode(conn, info, ts) {
                    self.push_frames(conn, info, Direction::ToServer, ts, &held);
                }
            }
            Mode::Jute => self.push_frames(conn, info, dir, ts, bytes),
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

    fn gap(
        &mut self,
        conn: &mut ZkConn,
        _info: &ConnInfo,
        dir: Direction,
        _ts: Timestamp,
        _len: u64,
    ) {
        let mut skipped = 0;
        let framer = match dir {
            Direction::ToServer => &mut conn.to_server,
            Direction::ToClient => &mut conn.to_client,
        };
        framer.gap(&mut |ev| {
            if let FramerEvent::Skipped(n) = ev {
                skipped += n
            }
        });
        self.counts.skipped_bytes += skipped;
        if let Mode::Start(_) = conn.mode {
            conn.mode = Mode::Jute;
        }
    }

    fn close(&mut self, mut conn: ZkConn, info: &ConnInfo, ts: Timestamp, _reason: CloseReason) {
        self.finish_conn(&mut conn, info, ts);
    }

    fn wants_more(&self) -> bool {
        !self.printer.done() && !self.analytics.as_ref().is_some_and(Analytics::is_done)
    }
}
