//! The zab-dump stream handler ([`ZabDump`]): opens quorum connections, frames and decodes
//! each direction with zab-proto, keeps the counters, and prints one line (text or JSON) per
//! packet; the `--summary` measurements it feeds are in `summary`.

use super::summary::{LearnerState, Measurements, SyncReport};
use super::zxid_queue::ZxidQueue;
use crate::lazy::OnFirstData;
use crate::line::{push_addr, Line};
use crate::output::{Format, Printer};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use zab_proto::{PacketType, QuorumConnection, QuorumDirection, QuorumEvent, Zxid};
use zkwire_capture::tls::{TlsNotice, TlsReport};
use zkwire_capture::{
    ClientIs, CloseReason, ConnInfo, Direction, StreamHandler, TcpSegment, Timestamp,
};

/// The fields a text line never shows (the time comes first and the addresses last; the type's
/// code and the zxid's decimal form are JSON's detail): never rendered.
const TEXT_OMITS: &[&str] = &["ts", "type_code", "zxid", "src", "dst"];

/// What to show.
#[derive(Debug, Clone)]
pub struct ZabOptions {
    /// Quorum ports (the leader's).
    pub ports: Vec<u16>,
    /// Show PING packets (hidden by default, as in zktraffic).
    pub include_pings: bool,
    /// Only these packet types (upper-case names); empty for all.
    pub types: Vec<String>,
}

/// Counters reported in the summary line.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ZabCounts {
    /// Quorum connections seen.
    pub connections: u64,
    /// Packets decoded.
    pub packets: u64,
    /// Packets by type.
    pub by_type: TypeCounts,
    /// Quorum SASL packets.
    pub quorum_auth: u64,
    /// Packets or records that failed to decode.
    pub decode_errors: u64,
    /// Times framing resynchronised after a gap or a mid-stream start.
    pub resyncs: u64,
    /// Bytes skipped while resynchronising.
    pub skipped_bytes: u64,
    /// Bytes of snapshot streams passed over after SNAP.
    pub snapshot_bytes: u64,
    /// Bytes of a record cut short when its connection ended.
    pub incomplete_at_close: u64,
}

/// Packets per quorum packet type: an array indexed by the type's wire value (1..=19), so
/// counting costs no lookup; serialised as a name → count map like a `BTreeMap` would be.
#[derive(Debug, Default, Clone)]
pub struct TypeCounts([u64; 20]);

impl TypeCounts {
    fn count(&mut self, t: PacketType) {
        if let Some(n) = self.0.get_mut(t as usize) {
            *n += 1;
        }
    }

    /// (type name, packets) for every type seen, by name.
    pub fn by_name(&self) -> BTreeMap<&'static str, u64> {
        PacketType::ALL
            .iter()
            .filter_map(|&t| Some((t.name(), *self.0.get(t as usize)?)))
            .filter(|&(_, n)| n > 0)
            .collect()
    }
}

impl serde::Serialize for TypeCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.by_name().serialize(s)
    }
}

/// A [`ZabDump::tap`]: capture time, connection, direction, packet, the learner's sid.
pub type QuorumTap =
    dyn FnMut(Timestamp, &ConnInfo, QuorumDirection, &zab_proto::Packet<'_>, Option<i64>) + Send;

/// Per-connection state, made on the connection's first bytes.
pub struct ZabConn(OnFirstData<ZabState>);

/// zab-proto's decoder, and what `--summary` measures per learner.
struct ZabState {
    quorum: QuorumConnection,
    learner: LearnerState,
}

impl ZabConn {
    fn state(&mut self) -> &mut ZabState {
        self.0.get_or_make(|start_seen| ZabState {
            quorum: QuorumConnection::new(start_seen),
            learner: LearnerState::default(),
        })
    }
}

/// The zab-dump decoder and printer.
pub struct ZabDump<W: Write> {
    opts: ZabOptions,
    /// Server ports of the connections passed over (for a run that decodes nothing).
    pub ports_seen: crate::input::PortsSeen,
    /// Where and how packets are printed.
    pub printer: Printer<W>,
    /// Counters.
    pub counts: ZabCounts,
    /// Latency, rate and sync measurements.
    pub measurements: Measurements,
    /// Whether packets are printed at all (`--summary --limit 0` only measures).
    pub print: bool,
    /// Told each live proposal's proposal → commit latency, in microseconds (the stats
    /// daemon's histogram).
    pub on_commit: Option<Box<dyn FnMut(u64) + Send>>,
    /// Told each new live proposal's capture time and zxid (the stats daemon's zxid counter).
    pub on_proposal: Option<Box<dyn FnMut(Timestamp, Zxid) + Send>>,
    /// Told every packet decoded, with its connection, direction and the learner's sid when
    /// known (write-path tracing). A learner's sync replays old proposals too: they join no
    /// reply and expire.
    pub tap: Option<Box<QuorumTap>>,
    /// The packet being printed (reused: once its buffers grew, a line allocates nothing).
    line: Line,
    /// The rendered line.
    out: Vec<u8>,
    /// The text line's trailer (`src=…, dst=…`).
    trailer: Vec<u8>,
}

impl<W: Write> ZabDump<W> {
    /// A decoder printing with `printer`.
    pub fn new(opts: ZabOptions, printer: Printer<W>) -> ZabDump<W> {
        ZabDump {
            opts,
            ports_seen: Default::default(),
            line: match printer.format() {
                Format::Text => Line::new(Format::Text).omitting(TEXT_OMITS),
                Format::Json => Line::new(Format::Json),
            },
            out: Vec::with_capacity(1024),
            trailer: Vec::with_capacity(64),
            printer,
            counts: ZabCounts::default(),
            measurements: Measurements::default(),
            print: true,
            on_commit: None,
            on_proposal: None,
            tap: None,
        }
    }

    fn wanted(&self, type_name: &str) -> bool {
        if type_name == "PING"
            && !self.opts.include_pings
            && !self.opts.types.iter().any(|t| t == "PING")
        {
            return false;
        }
        self.opts.types.is_empty()
            || self
                .opts
                .types
                .iter()
                .any(|t| t.eq_ignore_ascii_case(type_name))
    }

    /// Starts the line of a packet from `src` to `dst`: the keys every line begins with.
    fn start_line(&mut self, ts: Timestamp, src: SocketAddr, dst: SocketAddr) {
        let line = &mut self.line;
        line.clear();
        line.timestamp("ts", ts);
        line.addr("src", src);
        line.addr("dst", dst);
    }

    /// Prints the line built: in text, the addresses go last and the line takes the sender's
    /// colour.
    fn print(&mut self, ts: Timestamp, src: SocketAddr, dst: SocketAddr) {
        // Text's left-out fields are never rendered (`TEXT_OMITS`).
        let skip = |_: &[u8], _: &[u8], _: bool| false;
        self.trailer.clear();
        if self.printer.format() == Format::Text {
            self.trailer.extend_from_slice(b"src=");
            push_addr(&mut self.trailer, src);
            self.trailer.extend_from_slice(b", dst=");
            push_addr(&mut self.trailer, dst);
        }
        self.out.clear();
        self.printer.render_into(
            &mut self.out,
            &self.line,
            ts,
            "type",
            skip,
            &self.trailer,
            0,
        );
        self.printer.paint_from(&mut self.out, 0, src);
        self.printer.print_bytes(&self.out);
    }

    fn on_event(
        &mut self,
        conn: &mut LearnerState,
        info: &ConnInfo,
        ts: Timestamp,
        ev: QuorumEvent<'_>,
    ) {
        let dir = match &ev {
            QuorumEvent::Packet { direction, .. }
            | QuorumEvent::QuorumAuth { direction, .. }
            | QuorumEvent::BadPacket { direction, .. } => *direction,
            QuorumEvent::Snapshot { bytes } => {
                self.counts.snapshot_bytes += bytes;
                if let Some(sync) = conn.syncing.as_mut() {
                    sync.bytes += bytes;
                }
                return;
            }
            _ => return,
        };
        let (src, dst) = match dir {
            QuorumDirection::LearnerToLeader => (info.client, info.server),
            QuorumDirection::LeaderToLearner => (info.server, info.client),
        };
        // The line is built only when it will be printed: `--summary` alone must not pay for
        // formatting addresses and values on every packet.
        match ev {
            QuorumEvent::QuorumAuth { auth, .. } => {
                self.counts.quorum_auth += 1;
                if self.print && self.wanted("QUORUM_AUTH") {
                    self.start_line(ts, src, dst);
                    self.line.str("type", "QUORUM_AUTH");
                    if let Some(auth) = auth {
                        self.line.merge(&auth);
                    }
                    self.print(ts, src, dst);
                }
            }
            QuorumEvent::BadPacket {
                error,
                packet_type,
                zxid,
                record,
                ..
            } => {
                self.counts.decode_errors += 1;
                if self.print {
                    self.start_line(ts, src, dst);
                    let line = &mut self.line;
                    line.str("type", "DecodeError");
                    line.int("type_code", packet_type.unwrap_or(-1));
                    let zxid = zxid.unwrap_or_default();
                    line.hex("zxid_hex", zxid.0 as u64);
                    line.int("size", record.len());
                    line.display("error", &error);
                    self.print(ts, src, dst);
                }
            }
            QuorumEvent::Packet {
                packet,
                size,
                learner,
                ..
            } => {
                self.counts.packets += 1;
                let ptype = packet.packet_type();
                self.counts.by_type.count(ptype);
                self.measure(conn, learner, info, dir, ts, &packet, size);
                if let Some(tap) = self.tap.as_mut() {
                    tap(ts, info, dir, &packet, learner.sid);
                }
                if !self.print || !self.wanted(ptype.name()) {
                    return;
                }
                self.start_line(ts, src, dst);
                let line = &mut self.line;
                line.merge(&packet);
                let zxid = packet.zxid();
                line.pair("epoch_counter", zxid.epoch(), '/', zxid.counter());
                line.int("size", size);
                if let Some(sid) = learner.sid {
                    line.int("learner_sid", sid);
                }
                self.print(ts, src, dst);
            }
            _ => {}
        }
    }

    fn push(
        &mut self,
        conn: &mut ZabConn,
        info: &ConnInfo,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
    ) {
        let ZabState { quorum, learner } = conn.state();
        quorum.push(dir.into(), bytes, &mut |ev| {
            self.on_event(learner, info, ts, ev)
        });
    }
}

impl<W: Write> StreamHandler for ZabDump<W> {
    type Conn = ZabConn;

    fn open(&mut self, first: &TcpSegment<'_>, _ts: Timestamp) -> Option<(ZabConn, ClientIs)> {
        let Some(client_is) = ClientIs::for_server_ports(first, &self.opts.ports) else {
            self.ports_seen.note(first);
            return None;
        };
        self.counts.connections += 1;
        Some((ZabConn(OnFirstData::new(first.syn)), client_is))
    }

    fn data(
        &mut self,
        conn: &mut ZabConn,
        info: &ConnInfo,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
    ) {
        self.push(conn, info, dir, ts, bytes);
    }

    fn gap(
        &mut self,
        conn: &mut ZabConn,
        _info: &ConnInfo,
        dir: Direction,
        _ts: Timestamp,
        _len: u64,
    ) {
        let state = conn.state();
        state.quorum.gap(dir.into());
        state.learner.sent = ZxidQueue::default();
    }

    fn held_bytes(&self, conn: &ZabConn) -> usize {
        conn.0.get().map_or(0, |s| s.quorum.buffered())
    }

    fn close(&mut self, mut conn: ZabConn, info: &ConnInfo, _ts: Timestamp, _reason: CloseReason) {
        let Some(conn) = conn.0.made() else {
            return; // it never carried a byte
        };
        let (to_leader, to_learner) = conn.quorum.framer_stats();
        self.counts.resyncs += to_leader.resyncs + to_learner.resyncs;
        // Bytes dropped while hunting (the framer counts the cut-short tail apart, below).
        self.counts.skipped_bytes += to_leader.skipped_bytes + to_learner.skipped_bytes;
        let incomplete = conn.quorum.finish() as u64;
        self.counts.incomplete_at_close += incomplete;
        if let Some(s) = conn.learner.syncing.take() {
            self.measurements.syncs.push(SyncReport {
                sid: conn.quorum.learner().sid,
                learner: info.client.to_string(),
                mode: s.mode,
                packets: s.packets,
                bytes: s.bytes,
                duration_ms: None,
            });
        }
    }

    fn wants_more(&self) -> bool {
        !self.printer.done()
    }
}

/// A TLS connection's fate is a line of its own (type `TLS`), like a packet's.
impl<W: Write> TlsReport for ZabDump<W> {
    fn tls(&mut self, _conn: &mut ZabConn, info: &ConnInfo, ts: Timestamp, notice: TlsNotice<'_>) {
        if matches!(notice, TlsNotice::KeyUpdate(_)) || !self.print || !self.wanted("TLS") {
            return;
        }
        self.start_line(ts, info.client, info.server);
        self.line.str("type", "TLS");
        crate::tls::describe(&mut self.line, &notice);
        self.print(ts, info.client, info.server);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zab_proto::{Packet, Zxid};

    /// Feeds (time in ms, from, to, bytes) segments of one quorum connection that starts
    /// with the learner's SYN; returns the lines printed.
    fn run(
        format: crate::output::Format,
        color: bool,
        segments: &[(i64, bool, Vec<u8>)],
    ) -> Vec<String> {
        let learner: std::net::SocketAddr = "10.0.0.1:40000".parse().expect("address");
        let leader: std::net::SocketAddr = "10.0.0.9:2888".parse().expect("address");
        let printer = Printer::new(Vec::new(), format, true, color, None);
        let opts = ZabOptions {
            ports: vec![2888],
            include_pings: false,
            types: Vec::new(),
        };
        let mut dump = ZabDump::new(opts, printer);
        crate::test_support::replay_connection(&mut dump, learner, leader, 123_000, segments);
        String::from_utf8_lossy(dump.printer.get_ref())
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// A learner's FOLLOWERINFO and the leader's COMMIT, as text (plain and coloured) and JSON:
    /// the common keys first, the packet's fields, the learner's sid once known, and in text
    /// the addresses last.
    #[test]
    fn packets_render_as_text_and_json_lines() {
        use zab_proto::{Encode, LearnerInfo};
        let info = Packet::FollowerInfo {
            zxid: Zxid(0x1_0000_0000),
            info: Some(LearnerInfo {
                server_id: 2,
                protocol_version: Some(0x10000),
                config_version: Some(0),
            }),
        }
        .to_bytes();
        let commit = Packet::Commit {
            zxid: Zxid(0x1_0000_0001),
        }
        .to_bytes();
        // A COMMIT the wrong way does not decode.
        let segments = [
            (1, true, info),
            (2_500, false, commit.clone()),
            (2_600, true, commit),
        ];
        let text = run(crate::output::Format::Text, false, &segments);
        let json = run(crate::output::Format::Json, false, &segments);
        let colored = run(crate::output::Format::Text, true, &segments);
        let text_lines = [
            "00:00:00:001123 FOLLOWERINFO(zxid_hex=0x100000000, learner_info={server_id: 2, \
             protocol_version: 65536, config_version: 0x0}, epoch_counter=1/0, size=40, \
             learner_sid=2, src=10.0.0.1:40000, dst=10.0.0.9:2888)",
            "00:00:02:500123 COMMIT(zxid_hex=0x100000001, epoch_counter=1/1, size=20, \
             learner_sid=2, src=10.0.0.9:2888, dst=10.0.0.1:40000)",
            "00:00:02:600123 DecodeError(zxid_hex=0x100000001, size=20, error=COMMIT data \
             layout does not match direction learner->leader, src=10.0.0.1:40000, \
             dst=10.0.0.9:2888)",
        ];
        assert_eq!(text, text_lines);
        assert_eq!(
            json,
            [
                r#"{"ts":0.001123,"src":"10.0.0.1:40000","dst":"10.0.0.9:2888","type":"FOLLOWERINFO","type_code":11,"zxid":4294967296,"zxid_hex":"0x100000000","learner_info":{"server_id":2,"protocol_version":65536,"config_version":"0x0"},"epoch_counter":"1/0","size":40,"learner_sid":2}"#,
                r#"{"ts":2.500123,"src":"10.0.0.9:2888","dst":"10.0.0.1:40000","type":"COMMIT","type_code":4,"zxid":4294967297,"zxid_hex":"0x100000001","epoch_counter":"1/1","size":20,"learner_sid":2}"#,
                r#"{"ts":2.600123,"src":"10.0.0.1:40000","dst":"10.0.0.9:2888","type":"DecodeError","type_code":4,"zxid_hex":"0x100000001","size":20,"error":"COMMIT data layout does not match direction learner->leader"}"#,
            ]
        );
        // Coloured by sender: the learner's colour, the leader's, the learner's again.
        let (red, green, reset) = ("\u{1b}[31m", "\u{1b}[32m", "\u{1b}[0m");
        assert_eq!(
            colored,
            [
                format!("{red}{}{reset}", text_lines[0]),
                format!("{green}{}{reset}", text_lines[1]),
                format!("{red}{}{reset}", text_lines[2]),
            ]
        );
    }
}
