//! zk-dump's text and JSON output, written from [`ZkMessage`]s: one [`Line`] of fields per
//! message (the JSON keys of the README's schema, in order), shown as a JSON object or as
//! zktraffic's text; in paired text a request waits for its reply and the two print together.

use super::message::{Token, ZkBody, ZkMessage, ZkSink};
use crate::holdback::Holdback;
use crate::line::{push_addr, Line};
use crate::output::{Format, Printer};
use std::io::Write;
use zk_proto::{keeper_state_name, ReplyBody, RequestBody};
use zkwire_capture::Timestamp;

/// What a message's fields include beyond the defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Credentials (digest auth, SASL tokens, session passwords) instead of their lengths.
    pub show_secrets: bool,
    /// The hex of frames that failed to decode.
    pub dump_bad_packets: bool,
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A zxid as zk-dump shows it: `-1` as a number, else `0x…`.
fn zxid_field(line: &mut Line, key: &'static str, zxid: i64) {
    if zxid == -1 {
        line.int(key, -1i64);
    } else {
        line.hex(key, zxid as u64);
    }
}

/// Fills `line` with the message's fields, in the JSON schema's order.
pub fn describe(msg: &ZkMessage<'_>, line: &mut Line, opts: RenderOptions) {
    line.clear();
    line.timestamp("ts", msg.ts);
    line.addr("client", msg.client);
    line.addr("server", msg.server);
    line.str("dir", msg.dir());
    line.str("type", msg.kind());
    let session = |line: &mut Line| {
        if let Some(s) = msg.session {
            line.hex("session", s as u64);
        }
    };
    match msg.body {
        ZkBody::Opened | ZkBody::Closed | ZkBody::Tls(None) | ZkBody::Unanswered { .. } => {}
        ZkBody::Tls(Some(notice)) => crate::tls::describe(line, &notice),
        ZkBody::FourLetterWord { word, size } => {
            line.str("word", word.as_str());
            line.int("size", size);
        }
        ZkBody::FourLetterReply { word, reply, size } => {
            line.str("word", word.as_str());
            line.int("size", size);
            let text = String::from_utf8_lossy(reply);
            match line.format() {
                Format::Json => line.str("reply", &text),
                Format::Text => line.str("first_line", text.lines().next().unwrap_or("")),
            }
        }
        ZkBody::Connect { request, size } => {
            if request.session_id != 0 {
                line.hex("session", request.session_id as u64);
            }
            line.int("size", size);
            line.merge(request);
            if let (true, Some(p)) = (opts.show_secrets, request.passwd) {
                line.str("passwd", &hex(p));
            }
        }
        ZkBody::ConnectReply { reply, size } => {
            line.hex("session", reply.session_id as u64);
            line.int("size", size);
            line.merge(reply);
            if reply.time_out <= 0 {
                line.bool("expired", true);
            }
            if let (true, Some(p)) = (opts.show_secrets, reply.passwd) {
                line.str("passwd", &hex(p));
            }
        }
        ZkBody::Request { request, size } => {
            line.int("opcode", request.opcode.as_i32());
            line.int("xid", request.xid);
            if let Some(p) = msg.path {
                line.str("path", p);
            }
            line.int("size", size);
            session(line);
            line.merge(&request.body);
            credentials(line, &request.body, opts);
        }
        ZkBody::BadRequest {
            error,
            xid,
            opcode,
            payload,
        } => {
            if let Some(op) = opcode {
                line.int("opcode", op.as_i32());
            }
            if let Some(x) = xid {
                line.int("xid", x);
            }
            bad_frame(line, error, payload, opts);
        }
        ZkBody::Watch { event, zxid, size } => {
            if let Some(p) = msg.path {
                line.str("path", p);
            }
            line.int("xid", -1i32);
            zxid_field(line, "zxid", zxid);
            line.int("size", size);
            session(line);
            let name = zk_proto::event_type_name(event.event_type).unwrap_or("UnknownWatchEvent");
            line.str("event", name);
            match keeper_state_name(event.state) {
                Some(state) => line.str("state", state),
                None => line.int("state", event.state),
            }
        }
        ZkBody::Reply {
            reply,
            latency_ns,
            size,
            ..
        } => {
            if let Some(op) = reply.opcode {
                line.int("opcode", op.as_i32());
            }
            line.int("xid", reply.header.xid);
            if let Some(p) = msg.path {
                line.str("path", p);
            }
            line.int("size", size);
            session(line);
            zxid_field(line, "zxid", reply.header.zxid);
            line.int("err", reply.header.err);
            line.str("error", &msg.error_text().unwrap_or_default());
            if let Some(ns) = latency_ns {
                line.int("latency_us", ns / 1000);
            }
            // The children, the records' first field, written directly (see `Line::strings`).
            match reply.body {
                ReplyBody::GetChildren(r) => line.strings("children", &r.children),
                ReplyBody::GetChildren2(r) => line.strings("children", &r.children),
                _ => {}
            }
            // The Stat, every such record's last field, written directly too (see `Line::stat`);
            // text prints none.
            let stat = reply.body.stat().filter(|_| line.format() == Format::Json);
            line.merge_except(&reply.body, stat.map(|_| "stat"));
            if let Some(stat) = stat {
                line.stat("stat", stat);
            }
            if let (true, ReplyBody::Sasl(t)) = (opts.show_secrets, reply.body) {
                if let Some(tok) = t.token {
                    line.str("token", &hex(tok));
                }
            }
        }
        ZkBody::BadReply {
            error,
            header,
            opcode,
            payload,
            ..
        } => {
            if let Some(h) = header {
                line.int("xid", h.xid);
                zxid_field(line, "zxid", h.zxid);
                line.int("err", h.err);
            }
            if let Some(op) = opcode {
                line.int("opcode", op.as_i32());
            }
            bad_frame(line, error, payload, opts);
        }
    }
}

fn bad_frame(line: &mut Line, error: &zk_proto::DecodeError, payload: &[u8], o: RenderOptions) {
    line.int("size", payload.len());
    line.display("error", error);
    if o.dump_bad_packets {
        line.str("hex", &hex(payload));
    }
}

/// The identity part of a digest credential, and credentials themselves when asked.
fn credentials(line: &mut Line, body: &RequestBody<'_>, opts: RenderOptions) {
    if let RequestBody::Auth(a) = body {
        // The identity part of a digest credential (`user:password`) is no secret (ACLs show
        // it); the password never leaves this function unless asked.
        let digest = a.scheme.is_some_and(|s| s.to_string_lossy() == "digest");
        if let (Some(cred), true) = (a.auth, digest) {
            let user = cred.split(|b| *b == b':').next().unwrap_or_default();
            line.str("auth_user", &String::from_utf8_lossy(user));
        }
    }
    if opts.show_secrets {
        match body {
            RequestBody::Auth(a) => {
                if let Some(cred) = a.auth {
                    line.str("credential", &String::from_utf8_lossy(cred));
                }
            }
            RequestBody::Sasl(t) => {
                if let Some(tok) = t.token {
                    line.str("token", &hex(tok));
                }
            }
            _ => {}
        }
    }
}

/// The text line stays short, as zktraffic's: JSON has everything.
fn text_skip(dir: &str) -> impl Fn(&[u8], &[u8], bool) -> bool + '_ {
    move |key, value, _| match key {
        b"session" => !(dir.starts_with("connect") || dir == "event"),
        b"error" => value == b"OK",
        b"ignored_len" => value == b"0",
        _ => false,
    }
}

/// The fields a text line never shows (the time comes first and the address last, as
/// zktraffic's did; the rest is JSON's detail): never rendered.
const TEXT_OMITS: &[&str] = &[
    "ts",
    "client",
    "server",
    "dir",
    "opcode",
    "stat",
    "err",
    "session_id",
];

/// zk-dump's printing sink: text or JSON lines, requests paired with their replies in text.
pub struct ZkPrinter<W: Write> {
    /// Where lines go.
    pub printer: Printer<W>,
    opts: RenderOptions,
    paired: bool,
    line: Line,
    scratch: Vec<u8>,
    trailer: Vec<u8>,
    /// Paired text lines waiting to be printed in request-time order.
    holdback: Holdback,
}

impl<W: Write> ZkPrinter<W> {
    /// A sink printing with `printer`; `unpaired` prints text requests as they come.
    pub fn new(printer: Printer<W>, opts: RenderOptions, unpaired: bool) -> ZkPrinter<W> {
        let format = printer.format();
        ZkPrinter {
            paired: format == Format::Text && !unpaired,
            printer,
            opts,
            line: match format {
                Format::Text => Line::new(format).omitting(TEXT_OMITS),
                Format::Json => Line::new(format),
            },
            scratch: Vec::with_capacity(512),
            trailer: Vec::with_capacity(64),
            holdback: Holdback::default(),
        }
    }

    /// Renders `msg` into the scratch buffer.
    fn render(&mut self, msg: &ZkMessage<'_>, indent: usize) {
        describe(msg, &mut self.line, self.opts);
        let dir = msg.dir();
        // A watch event names the client that received it (and its session), as requests do.
        self.trailer.clear();
        let (key, addr) = match dir {
            "request" | "connect" | "four_letter" | "tls" | "event" => {
                (&b"client="[..], msg.client)
            }
            _ => (&b"server="[..], msg.server),
        };
        self.trailer.extend_from_slice(key);
        push_addr(&mut self.trailer, addr);
        self.scratch.clear();
        self.printer.render_into(
            &mut self.scratch,
            &self.line,
            msg.ts,
            "type",
            text_skip(dir),
            &self.trailer,
            indent,
        );
        self.printer.paint_from(&mut self.scratch, 0, msg.client);
    }

    /// Prints the rendered line now, or when paired mode releases it.
    fn emit(&mut self, ts: Timestamp) {
        if self.paired {
            self.holdback.ready(ts, &self.scratch);
        } else {
            self.printer.print_bytes(&self.scratch);
        }
    }

    /// Prints every line still held (the end of the input) and flushes.
    pub fn finish(&mut self) {
        let printer = &mut self.printer;
        self.holdback
            .drain_all(&mut |line| printer.print_bytes(line));
        self.printer.flush();
    }
}

impl<W: Write> ZkSink for ZkPrinter<W> {
    fn message(&mut self, msg: &ZkMessage<'_>) -> Option<Token> {
        let indent = match msg.body {
            ZkBody::Opened | ZkBody::Closed => return None,
            ZkBody::Unanswered { token } => {
                // Paired mode held this request back; it never got a reply.
                if let Some(slot) = token {
                    self.holdback.unanswered(slot);
                }
                return None;
            }
            ZkBody::FourLetterReply { .. } | ZkBody::Reply { .. } | ZkBody::BadReply { .. } => {
                usize::from(self.paired)
            }
            _ => 0,
        };
        self.render(msg, indent);
        match msg.body {
            // A request waits for its reply (a bad one too, when its header was readable: the
            // decoder pairs it like a request).
            ZkBody::Request { .. }
            | ZkBody::BadRequest {
                xid: Some(_),
                opcode: Some(_),
                ..
            } if self.paired => Some(self.holdback.hold(msg.ts, &self.scratch)),
            ZkBody::Reply {
                token: Some(slot), ..
            }
            | ZkBody::BadReply {
                token: Some(slot), ..
            } => {
                // A reply completes its request's block; anything else waits its own turn.
                if !self.holdback.complete(slot, &self.scratch) {
                    self.emit(msg.ts);
                }
                None
            }
            _ => {
                self.emit(msg.ts);
                None
            }
        }
    }

    fn advance(&mut self, now: Timestamp) {
        let printer = &mut self.printer;
        self.holdback
            .drain(now, &mut |line| printer.print_bytes(line));
    }

    fn done(&self) -> bool {
        self.printer.done()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use zk_proto::{decode_reply, decode_request, OpCode};

    fn message<'m>(ts_us: i64, body: ZkBody<'m>, path: Option<&'m str>) -> ZkMessage<'m> {
        ZkMessage {
            ts: Timestamp(ts_us * 1000),
            client: SocketAddr::from(([10, 0, 0, 1], 5000)),
            server: SocketAddr::from(([10, 0, 0, 9], 2181)),
            session: Some(0x1f),
            path,
            outstanding: 0,
            body,
        }
    }

    /// Prints a getData("/a", watch) request at 1.000001 s and its reply at 1.000251 s.
    fn print(format: Format, unpaired: bool) -> Vec<String> {
        let request = [0, 0, 0, 7, 0, 0, 0, 4, 0, 0, 0, 2, b'/', b'a', 1];
        let request = decode_request(&request).expect("request");
        let mut reply = vec![0, 0, 0, 7];
        reply.extend_from_slice(&0x10i64.to_be_bytes());
        reply.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, b'x']);
        reply.extend_from_slice(&[0; 68]); // Stat
        let reply = decode_reply(&reply, Some(OpCode::GetData)).expect("reply");
        let printer = Printer::new(Vec::new(), format, true, false, None);
        let mut sink = ZkPrinter::new(printer, RenderOptions::default(), unpaired);
        let body = ZkBody::Request {
            request: &request,
            size: 15,
        };
        let token = sink.message(&message(1_000_001, body, Some("/a")));
        let body = ZkBody::Reply {
            reply: &reply,
            token,
            latency_ns: Some(250_000),
            size: 93,
        };
        sink.message(&message(1_000_251, body, Some("/a")));
        sink.finish();
        String::from_utf8_lossy(sink.printer.get_ref())
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn a_request_and_its_reply_as_text() {
        let lines = print(Format::Text, false);
        assert_eq!(
            lines,
            [
                "00:00:01:000001 GetDataRequest(xid=7, path=/a, size=15, watch=True, \
                 client=10.0.0.1:5000)",
                "00:00:01:000251 \u{2014}\u{2014}\u{2014}\u{2014}\u{25ba} GetDataReply(xid=7, \
                 path=/a, size=93, zxid=0x10, latency_us=250, data_len=1, \
                 server=10.0.0.9:2181)"
            ]
        );
    }

    #[test]
    fn a_request_and_its_reply_as_json() {
        let lines = print(Format::Json, false);
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            r#"{"ts":1.000001,"client":"10.0.0.1:5000","server":"10.0.0.9:2181","dir":"request","type":"GetDataRequest","opcode":4,"xid":7,"path":"/a","size":15,"session":"0x1f","watch":true}"#
        );
        let reply: serde_json::Value = serde_json::from_str(&lines[1]).expect("JSON");
        assert_eq!(reply["zxid"], "0x10");
        assert_eq!(reply["err"], 0);
        assert_eq!(reply["error"], "OK");
        assert_eq!(reply["latency_us"], 250);
        assert_eq!(reply["data_len"], 1);
        assert_eq!(reply["stat"]["version"], 0);
    }
}
