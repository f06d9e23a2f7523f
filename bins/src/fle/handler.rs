//! The fle-dump stream handler ([`FleDump`]): opens election connections, splits and decodes
//! them with fle-proto, keeps the counters, attributes each notification to its sender (with
//! `senders`), feeds the election tracker, and prints one line (text or JSON) per message.

use super::elections::ElectionTracker;
use crate::lazy::OnFirstData;
use crate::line::Line;
use crate::output::{Format, Printer};
use fle_proto::{ElectionConnection, ElectionEvent, ElectionMessage, Notification, ServerState};
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::net::SocketAddr;
use zkwire_capture::tls::{TlsNotice, TlsReport};
use zkwire_capture::{
    ClientIs, CloseReason, ConnInfo, Direction, StreamHandler, TcpSegment, Timestamp,
};

/// What to show and how.
#[derive(Debug, Clone)]
pub struct FleOptions {
    /// Election ports.
    pub ports: Vec<u16>,
    /// Leave the dynamic configuration out of notifications.
    pub no_config: bool,
    /// Stop after this many messages printed.
    pub limit: Option<u64>,
}

/// Counters reported in the summary line.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct FleCounts {
    /// Election connections seen.
    pub connections: u64,
    /// Initial messages.
    pub initial_messages: u64,
    /// Notifications.
    pub notifications: u64,
    /// Notifications whose sender's id was not learned.
    pub unattributed: u64,
    /// Quorum SASL packets.
    pub quorum_auth: u64,
    /// Frames that did not decode, or streams that could not be split.
    pub decode_errors: u64,
    /// Bytes skipped while resynchronising.
    pub skipped_bytes: u64,
    /// Bytes of a message cut short when its connection ended (e.g. a notification the
    /// acceptor was writing when the challenge closed the connection).
    pub incomplete_at_close: u64,
}

/// Per-connection state: fle-proto's decoder (made on the first bytes), and the initiator's
/// sid once seen.
pub struct FleConn {
    election: OnFirstData<ElectionConnection>,
    initiator: Initiator,
}

/// What is known of a connection's initiator.
#[derive(Default)]
pub struct Initiator {
    sid: Option<i64>,
    /// Whether a LOOKING vote came from it already.
    looked: bool,
}

/// The fle-dump decoder and printer.
pub struct FleDump<W: Write> {
    opts: FleOptions,
    /// Server ports of the connections passed over (for a run that decodes nothing).
    pub ports_seen: crate::input::PortsSeen,
    /// Where and how messages are printed.
    pub printer: Printer<W>,
    /// Counters.
    pub counts: FleCounts,
    /// Server ids by the election address they accept on.
    pub sids: HashMap<String, i64>,
    /// The ensemble's members, once a dynamic configuration named them all.
    pub(super) members: Option<BTreeSet<i64>>,
    /// Elections seen.
    pub elections: ElectionTracker,
    /// Whether `elections` keeps the notifications to reconstruct elections at the end (the
    /// stats daemon, which runs for months, tracks them live through `on_notification`).
    pub track_elections: bool,
    /// Told each notification with its capture time, its sender's id when known, and its
    /// sender's address.
    #[allow(clippy::type_complexity)] // a callback's signature
    pub on_notification:
        Option<Box<dyn FnMut(Timestamp, Option<i64>, SocketAddr, &Notification<'_>) + Send>>,
    /// The message being printed (reused: once its buffers grew, a line allocates nothing).
    line: Line,
    /// The rendered line.
    out: Vec<u8>,
}

impl<W: Write> FleDump<W> {
    /// A decoder printing to `printer`.
    pub fn new(opts: FleOptions, printer: Printer<W>) -> FleDump<W> {
        FleDump {
            opts,
            ports_seen: Default::default(),
            line: Line::new(printer.format()),
            out: Vec::with_capacity(1024),
            printer,
            counts: FleCounts::default(),
            sids: HashMap::new(),
            members: None,
            elections: ElectionTracker::default(),
            track_elections: true,
            on_notification: None,
        }
    }

    /// Prints the line built, coloured by its sender. In text, a notification's configuration
    /// (`config`, when shown) goes inside the parenthesis, one line per entry, each escaped as
    /// text values are (an entry cannot forge a line).
    fn emit(&mut self, ts: Timestamp, info: &ConnInfo, src_is_client: bool, config: Option<&str>) {
        let src = if src_is_client {
            info.client
        } else {
            info.server
        };
        let skip = |k: &[u8], _: &[u8], null: bool| match k {
            b"config" | b"format" | b"size" => true,
            b"peer_epoch" | b"version" | b"sid" => null,
            _ => false,
        };
        // Rendered without colour first: the configuration goes inside the closing parenthesis,
        // and a coloured line ends with the colour's reset instead.
        self.out.clear();
        self.printer
            .render_into(&mut self.out, &self.line, ts, "kind", skip, b"", 0);
        let text = self.printer.format() == Format::Text;
        if let Some(cfg) = config.filter(|_| text && self.out.last() == Some(&b')')) {
            // zktraffic prints the dynamic configuration inside the notification, one line per
            // entry, indented.
            self.out.pop();
            self.out.extend_from_slice(b",\n          config=");
            for (i, entry) in cfg.trim_end().split('\n').enumerate() {
                if i > 0 {
                    self.out.extend_from_slice(b"\n          ");
                }
                crate::line::text_str(&mut self.out, entry);
            }
            self.out.push(b')');
        }
        self.printer.paint_from(&mut self.out, 0, src);
        self.printer.print_bytes(&self.out);
    }

    fn message(
        &mut self,
        initiator: &mut Initiator,
        info: &ConnInfo,
        dir: Direction,
        ts: Timestamp,
        msg: ElectionMessage<'_>,
    ) {
        let (src, dst) = match dir {
            Direction::ToServer => (info.client, info.server),
            Direction::ToClient => (info.server, info.client),
        };
        self.line.clear();
        self.line.timestamp("ts", ts);
        self.line.addr("src", src);
        self.line.addr("dst", dst);
        let mut config = None;
        match msg {
            ElectionMessage::Initial(init) => {
                self.counts.initial_messages += 1;
                initiator.sid = Some(init.sid);
                for addr in init.addresses() {
                    self.sids
                        .insert(addr.to_string_lossy().into_owned(), init.sid);
                }
                self.line.str("kind", "initial");
                self.line.merge(&init);
            }
            ElectionMessage::QuorumAuth(auth) => {
                self.counts.quorum_auth += 1;
                self.line.str("kind", "quorum_auth");
                self.line.merge(&auth);
            }
            ElectionMessage::Notification(n) => {
                self.counts.notifications += 1;
                if let Some(config) = n.config {
                    self.learn_from_config(&config.to_string_lossy());
                }
                let sid = match dir {
                    Direction::ToServer => {
                        if initiator.sid.is_none() {
                            let ends = (info.client, info.server);
                            initiator.sid = self.attribute_initiator(ends, &n, !initiator.looked);
                        }
                        initiator.looked |= n.state == ServerState::Looking;
                        initiator.sid
                    }
                    Direction::ToClient => self.sids.get(&info.server.to_string()).copied(),
                };
                if sid.is_none() {
                    self.counts.unattributed += 1;
                }
                let dst_sid = match dir {
                    Direction::ToServer => None,
                    Direction::ToClient => initiator.sid,
                };
                if self.track_elections {
                    self.elections
                        .observe(ts, sid, src.to_string(), dst_sid, dst.to_string(), &n);
                }
                if let Some(tell) = self.on_notification.as_mut() {
                    tell(ts, sid, src, &n);
                }
                self.line.str("kind", "notification");
                // Where the capture cannot tell the sender, the text says so (JSON: null).
                match (sid, self.printer.format()) {
                    (Some(sid), _) => self.line.int("sid", sid),
                    (None, Format::Text) => self.line.str("sid", "unattributed"),
                    (None, Format::Json) => self.line.value("sid", &None::<i64>),
                }
                self.line.merge(&n);
                if self.opts.no_config {
                    self.line.remove("config");
                } else {
                    config = n.config.map(|c| c.to_string_lossy());
                }
            }
        }
        self.emit(ts, info, dir == Direction::ToServer, config.as_deref());
    }

    fn on_event(
        &mut self,
        initiator: &mut Initiator,
        info: &ConnInfo,
        ts: Timestamp,
        ev: ElectionEvent<'_>,
    ) {
        match ev {
            ElectionEvent::Message {
                direction, message, ..
            } => self.message(initiator, info, direction, ts, message),
            ElectionEvent::BadFrame {
                direction,
                error,
                size,
            } => {
                self.counts.decode_errors += 1;
                let line = &mut self.line;
                line.clear();
                line.timestamp("ts", ts);
                line.str("kind", "DecodeError");
                line.int("size", size);
                line.display("error", &error);
                self.emit(ts, info, direction == Direction::ToServer, None);
            }
            _ => {}
        }
    }
}

/// A TLS connection's fate is a line of its own (kind `tls`), like a message's.
impl<W: Write> TlsReport for FleDump<W> {
    fn tls(
        &mut self,
        _conn: &mut Self::Conn,
        info: &ConnInfo,
        ts: Timestamp,
        notice: TlsNotice<'_>,
    ) {
        if matches!(notice, TlsNotice::KeyUpdate(_)) {
            return;
        }
        let line = &mut self.line;
        line.clear();
        line.timestamp("ts", ts);
        line.addr("src", info.client);
        line.addr("dst", info.server);
        line.str("kind", "tls");
        crate::tls::describe(line, &notice);
        self.emit(ts, info, true, None);
    }
}

impl<W: Write> StreamHandler for FleDump<W> {
    type Conn = FleConn;

    fn open(&mut self, first: &TcpSegment<'_>, _ts: Timestamp) -> Option<(FleConn, ClientIs)> {
        let Some(client_is) = ClientIs::for_server_ports(first, &self.opts.ports) else {
            self.ports_seen.note(first);
            return None;
        };
        self.counts.connections += 1;
        let conn = FleConn {
            election: OnFirstData::new(first.syn),
            initiator: Initiator::default(),
        };
        Some((conn, client_is))
    }

    fn data(
        &mut self,
        conn: &mut FleConn,
        info: &ConnInfo,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
    ) {
        let FleConn {
            election,
            initiator,
        } = conn;
        let election = election.get_or_make(ElectionConnection::new);
        election.push(dir, bytes, &mut |ev| self.on_event(initiator, info, ts, ev));
    }

    fn gap(
        &mut self,
        conn: &mut FleConn,
        _info: &ConnInfo,
        dir: Direction,
        _ts: Timestamp,
        _len: u64,
    ) {
        conn.election.get_or_make(ElectionConnection::new).gap(dir);
    }

    fn held_bytes(&self, conn: &FleConn) -> usize {
        conn.election.get().map_or(0, ElectionConnection::buffered)
    }

    fn close(&mut self, mut conn: FleConn, _info: &ConnInfo, _ts: Timestamp, _reason: CloseReason) {
        let Some(election) = conn.election.made() else {
            return; // it never carried a byte
        };
        let (to_acceptor, to_initiator) = election.framer_stats();
        // Bytes dropped while hunting, and boundaries that were not one (the framer counts
        // the tail cut short apart, below).
        self.counts.skipped_bytes += to_acceptor.skipped_bytes + to_initiator.skipped_bytes;
        self.counts.decode_errors += to_acceptor.invalid + to_initiator.invalid;
        self.counts.incomplete_at_close += election.finish() as u64;
    }

    fn wants_more(&self) -> bool {
        !self.printer.done()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fle_proto::Notification;
    use fle_proto::ServerState::Looking;
    use std::net::SocketAddr;

    /// Feeds (time in ms, from the initiator, bytes) segments of one election connection
    /// (initiator 10.0.0.3, acceptor 10.0.0.1:3888) that starts with its SYN; returns the
    /// lines printed.
    fn run(
        format: Format,
        color: bool,
        no_config: bool,
        segments: &[(i64, bool, Vec<u8>)],
    ) -> Vec<String> {
        let initiator: SocketAddr = "10.0.0.3:40000".parse().expect("address");
        let acceptor: SocketAddr = "10.0.0.1:3888".parse().expect("address");
        let printer = Printer::new(Vec::new(), format, true, color, None);
        let opts = FleOptions {
            ports: vec![3888],
            no_config,
            limit: None,
        };
        let mut dump = FleDump::new(opts, printer);
        crate::test_support::replay_connection(&mut dump, initiator, acceptor, 7_000, segments);
        String::from_utf8_lossy(dump.printer.get_ref())
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The initiator's initial message, the acceptor's 28-byte notification (sender not known
    /// yet: `unattributed` in text, null in JSON; its absent fields left out of the text) and
    /// the initiator's notification with its configuration (inside the parenthesis in text).
    #[test]
    fn messages_render_as_text_and_json_lines() {
        use fle_proto::{Encode, InitialFormat, InitialMessage};
        let initial = InitialMessage {
            format: InitialFormat::V1,
            sid: 3,
            election_addr: "10.0.0.3:3888".into(),
        }
        .to_bytes();
        let mut old_vote = Vec::new();
        Notification {
            state: Looking,
            leader: 1,
            zxid: 0x1_0000_0002,
            election_epoch: 4,
            peer_epoch: None,
            version: None,
            config: None,
            opaque_tail: &[],
        }
        .encode_framed(&mut old_vote);
        let mut vote = Vec::new();
        Notification {
            state: Looking,
            leader: 3,
            zxid: 0x1_0000_0005,
            election_epoch: 4,
            peer_epoch: Some(1),
            version: Some(2),
            config: Some("server.1=10.0.0.1:2888:3888:participant\nserver.3=10.0.0.3:2888:3888:participant\nversion=100000000\n".into()),
            opaque_tail: &[],
        }
        .encode_framed(&mut vote);
        let segments = [(1, true, initial), (2, false, old_vote), (3, true, vote)];
        let text = run(Format::Text, false, false, &segments);
        let json = run(Format::Json, false, false, &segments);
        let colored = run(Format::Text, true, false, &segments);
        let bare = run(Format::Text, false, true, &segments);
        let bare_json = run(Format::Json, false, true, &segments);
        let initial_text = "00:00:00:001007 initial(src=10.0.0.3:40000, dst=10.0.0.1:3888, \
                            protocol_version=-65536, sid=3, election_addr=[10.0.0.3:3888])";
        let old_vote_text = "00:00:00:002007 notification(src=10.0.0.1:3888, dst=10.0.0.3:40000, \
                             sid=unattributed, state=LOOKING, leader=1, zxid=4294967298, \
                             zxid_hex=0x100000002, election_epoch=4, sentinel_vote=False)";
        let vote_text = "00:00:00:003007 notification(src=10.0.0.3:40000, dst=10.0.0.1:3888, \
                         sid=3, state=LOOKING, leader=3, zxid=4294967301, zxid_hex=0x100000005, \
                         election_epoch=4, peer_epoch=1, version=2, sentinel_vote=False";
        let config_lines = [
            "          config=server.1=10.0.0.1:2888:3888:participant",
            "          server.3=10.0.0.3:2888:3888:participant",
            "          version=100000000)",
        ];
        let mut expected = vec![
            initial_text.to_string(),
            old_vote_text.to_string(),
            format!("{vote_text},"),
        ];
        expected.extend(config_lines.map(str::to_string));
        assert_eq!(text, expected);
        // Coloured by sender; the colour's reset comes after the configuration.
        let (red, green, reset) = ("\u{1b}[31m", "\u{1b}[32m", "\u{1b}[0m");
        let mut expected = vec![
            format!("{red}{initial_text}{reset}"),
            format!("{green}{old_vote_text}{reset}"),
            format!("{red}{vote_text},"),
        ];
        expected.extend(config_lines.map(str::to_string));
        expected[5].push_str(reset);
        assert_eq!(colored, expected);
        assert_eq!(
            bare,
            [initial_text, old_vote_text, &format!("{vote_text})")]
        );

        let initial_json = r#"{"ts":0.001007,"src":"10.0.0.3:40000","dst":"10.0.0.1:3888","kind":"initial","format":"v1","protocol_version":-65536,"sid":3,"election_addr":["10.0.0.3:3888"]}"#;
        let old_vote_json = |config: &str| {
            format!(
                r#"{{"ts":0.002007,"src":"10.0.0.1:3888","dst":"10.0.0.3:40000","kind":"notification","sid":null,"format":"28","size":28,"state":"LOOKING","leader":1,"zxid":4294967298,"zxid_hex":"0x100000002","election_epoch":4,"peer_epoch":null,"version":null,{config}"sentinel_vote":false}}"#
            )
        };
        let vote_json = |config: &str| {
            format!(
                r#"{{"ts":0.003007,"src":"10.0.0.3:40000","dst":"10.0.0.1:3888","kind":"notification","sid":3,"format":"44+N","size":142,"state":"LOOKING","leader":3,"zxid":4294967301,"zxid_hex":"0x100000005","election_epoch":4,"peer_epoch":1,"version":2,{config}"sentinel_vote":false}}"#
            )
        };
        assert_eq!(
            json,
            [
                initial_json.to_string(),
                old_vote_json(r#""config":null,"#),
                vote_json(
                    r#""config":"server.1=10.0.0.1:2888:3888:participant\nserver.3=10.0.0.3:2888:3888:participant\nversion=100000000\n","#
                ),
            ]
        );
        assert_eq!(
            bare_json,
            [initial_json.to_string(), old_vote_json(""), vote_json("")]
        );
    }
}
