//! zab-dump's decoder: a [`StreamHandler`] for the quorum port that frames each direction with
//! zab-proto's record boundaries (the stream has no length prefix, and a raw snapshot follows
//! SNAP), prints one line (text or JSON) per packet, and measures what operators need for
//! `--summary`: proposal → quorum → commit latency, ack lag per follower, write rate, each
//! learner's sync, and how close the zxid counter is to overflowing.

use crate::lazy::OnFirstData;
use crate::line::Line;
use crate::output::{Format, Printer};
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use zab_proto::{
    Learner, Packet, PacketType, QuorumConnection, QuorumDirection, QuorumEvent, Zxid,
};
use zkwire_capture::{
    ClientIs, CloseReason, ConnInfo, Direction, StreamHandler, TcpSegment, Timestamp,
};

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

/// A learner's synchronisation with the leader.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SyncReport {
    /// The learner's server id (from FOLLOWERINFO/OBSERVERINFO), if seen.
    pub sid: Option<i64>,
    /// The learner's address.
    pub learner: String,
    /// DIFF, TRUNC or SNAP.
    pub mode: &'static str,
    /// Packets the leader sent from the sync marker to UPTODATE.
    pub packets: u64,
    /// Bytes the leader sent in that time (snapshot stream included).
    pub bytes: u64,
    /// From the sync marker to UPTODATE, milliseconds (None if UPTODATE was not seen).
    pub duration_ms: Option<f64>,
}

struct Syncing {
    mode: &'static str,
    start: Timestamp,
    packets: u64,
    bytes: u64,
}

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

/// What `--summary` measures on one learner's connection.
#[derive(Default)]
struct LearnerState {
    syncing: Option<Syncing>,
    /// Proposals sent live to this learner and not yet acknowledged: zxid → time.
    sent: ZxidQueue<Timestamp>,
    /// This learner's row in the ack-lag table, once it acked something.
    lag_row: Option<usize>,
}

/// Values keyed by zxid, kept in increasing zxid order: the order in which a leader proposes,
/// a follower acks and the leader commits. So the lookups done for every quorum packet hit
/// one end of the queue (no hashing), and what is older than an ack or a commit can be
/// dropped: ZAB acks and commits in zxid order, so those entries' ends were not captured.
#[derive(Debug)]
struct ZxidQueue<V> {
    items: VecDeque<(i64, V)>,
}

impl<V> Default for ZxidQueue<V> {
    fn default() -> Self {
        ZxidQueue {
            items: VecDeque::new(),
        }
    }
}

impl<V> ZxidQueue<V> {
    fn position(&self, zxid: i64) -> Result<usize, usize> {
        match self.items.back() {
            Some((last, _)) if *last == zxid => Ok(self.items.len() - 1),
            Some((last, _)) if *last < zxid => Err(self.items.len()),
            None => Err(0),
            Some(_) => self.items.binary_search_by_key(&zxid, |(z, _)| *z),
        }
    }

    /// The entry for `zxid`, made with `make` if there is none; the oldest entries are
    /// forgotten beyond [`MAX_IN_FLIGHT`].
    fn entry(&mut self, zxid: i64, make: impl FnOnce() -> V) -> &mut V {
        let at = match self.position(zxid) {
            Ok(at) => at,
            Err(at) => {
                self.items.insert(at, (zxid, make()));
                if self.items.len() > MAX_IN_FLIGHT {
                    self.items.pop_front();
                    at.saturating_sub(1)
                } else {
                    at
                }
            }
        };
        &mut self.items[at].1
    }

    fn get_mut(&mut self, zxid: i64) -> Option<&mut V> {
        let at = self.position(zxid).ok()?;
        self.items.get_mut(at).map(|(_, v)| v)
    }

    /// Removes and returns the entry for `zxid`, dropping every older one.
    fn take_through(&mut self, zxid: i64) -> Option<V> {
        while self.items.front().is_some_and(|(z, _)| *z < zxid) {
            self.items.pop_front();
        }
        match self.items.front() {
            Some((z, _)) if *z == zxid => self.items.pop_front().map(|(_, v)| v),
            _ => None,
        }
    }
}

#[derive(Default)]
struct InFlight {
    first_sent: Option<Timestamp>,
    acks: u32,
    quorum_at: Option<Timestamp>,
}

/// Latency and rate measurements for `--summary`.
pub struct Measurements {
    proposals: ZxidQueue<InFlight>,
    to_quorum: Histogram<u64>,
    to_commit: Histogram<u64>,
    /// (learner, ack lag), in order of first ack; reported by learner name.
    ack_lag: Vec<(String, Histogram<u64>)>,
    followers: BTreeMap<String, ()>,
    live_proposals: u64,
    first_proposal: Option<Timestamp>,
    last_proposal: Option<Timestamp>,
    last_zxid: Option<i64>,
    /// The highest zxid seen committed: a proposal at or below it is a late copy of one
    /// already measured (each follower has its own send queue, so a slow follower can get a
    /// PROPOSAL after a faster one got its COMMIT).
    committed_through: Option<i64>,
    syncs: Vec<SyncReport>,
}

/// Bounded: a proposal that never gets its commit is forgotten after this many newer ones.
const MAX_IN_FLIGHT: usize = 100_000;

fn histogram() -> Histogram<u64> {
    // Microseconds from 1 µs to an hour, 3 significant digits: constant memory.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

impl Default for Measurements {
    fn default() -> Self {
        Measurements {
            proposals: ZxidQueue::default(),
            to_quorum: histogram(),
            to_commit: histogram(),
            ack_lag: Vec::new(),
            followers: BTreeMap::new(),
            live_proposals: 0,
            first_proposal: None,
            last_proposal: None,
            last_zxid: None,
            committed_through: None,
            syncs: Vec::new(),
        }
    }
}

fn micros(from: Timestamp, to: Timestamp) -> u64 {
    (to.nanos_since(from).max(0) as u64 / 1000).max(1)
}

/// A latency distribution in the summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LatencyStats {
    /// Samples.
    pub count: u64,
    /// Mean, milliseconds.
    pub avg_ms: f64,
    /// 95th percentile, milliseconds.
    pub p95_ms: f64,
    /// 99th percentile, milliseconds.
    pub p99_ms: f64,
    /// Largest, milliseconds.
    pub max_ms: f64,
}

/// How close the zxid counter is to overflowing, in the summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ZxidCounter {
    /// The highest zxid proposed live, as `epoch/counter`.
    pub last_zxid: String,
    /// The same zxid in hex.
    pub last_zxid_hex: String,
    /// Its counter (low 32 bits).
    pub counter: u64,
    /// Proposals left before the counter reaches 0xffffffff (and forces an election).
    pub remaining: u64,
    /// How much of the counter is used, percent.
    pub used_percent: f64,
    /// Seconds until the counter overflows at the current write rate (None without writes).
    pub forecast_seconds: Option<f64>,
}

/// The `--summary` report: what [`Measurements`] measured, in the order it is printed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ZabSummary {
    /// Proposals seen sent live (outside a sync).
    pub live_proposals: u64,
    /// Live proposals per second, first to last.
    pub write_rate_per_sec: f64,
    /// Proposal → quorum of ACKs (None when nothing was measured).
    pub proposal_to_quorum: Option<LatencyStats>,
    /// Proposal → COMMIT (None when nothing was measured).
    pub proposal_to_commit: Option<LatencyStats>,
    /// Proposal → ACK per follower, by follower name (`sid N`, or its address).
    pub ack_lag_by_follower: BTreeMap<String, Option<LatencyStats>>,
    /// Each learner's sync, in order of its end.
    pub syncs: Vec<SyncReport>,
    /// The zxid counter's distance to overflow (None when no proposal was seen).
    pub zxid_counter: Option<ZxidCounter>,
}

fn stats_of(h: &Histogram<u64>) -> Option<LatencyStats> {
    if h.is_empty() {
        return None;
    }
    Some(LatencyStats {
        count: h.len(),
        avg_ms: h.mean() / 1000.0,
        p95_ms: h.value_at_quantile(0.95) as f64 / 1000.0,
        p99_ms: h.value_at_quantile(0.99) as f64 / 1000.0,
        max_ms: h.max() as f64 / 1000.0,
    })
}

impl Measurements {
    fn quorum_acks(&self) -> u32 {
        // The leader acknowledges its own proposals: a majority of (followers + 1) needs this
        // many follower ACKs.
        let voters = self.followers.len() as u32 + 1;
        (voters / 2 + 1).saturating_sub(1).max(1)
    }

    /// The summary.
    pub fn report(&self) -> ZabSummary {
        let span = match (self.first_proposal, self.last_proposal) {
            (Some(a), Some(b)) if b > a => b.nanos_since(a) as f64 / 1e9,
            _ => 0.0,
        };
        let rate = if span > 0.0 {
            self.live_proposals as f64 / span
        } else {
            0.0
        };
        let overflow = self.last_zxid.map(|z| {
            let counter = Zxid(z).counter() as u64;
            // ZooKeeper forces a new epoch (an election) when the counter reaches 0xffffffff.
            let left = 0xffff_ffffu64.saturating_sub(counter);
            ZxidCounter {
                last_zxid: Zxid(z).to_string(),
                last_zxid_hex: format!("0x{:x}", z as u64),
                counter,
                remaining: left,
                used_percent: counter as f64 * 100.0 / 4_294_967_295.0,
                forecast_seconds: (rate > 0.0).then(|| left as f64 / rate),
            }
        });
        // By follower name (one row per follower, so names do not repeat).
        let ack_lag = self
            .ack_lag
            .iter()
            .map(|(k, h)| (k.clone(), stats_of(h)))
            .collect();
        ZabSummary {
            live_proposals: self.live_proposals,
            write_rate_per_sec: rate,
            proposal_to_quorum: stats_of(&self.to_quorum),
            proposal_to_commit: stats_of(&self.to_commit),
            ack_lag_by_follower: ack_lag,
            syncs: self.syncs.clone(),
            zxid_counter: overflow,
        }
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
    /// The packet being printed (reused: once its buffers grew, a line allocates nothing).
    line: Line,
    /// The rendered line.
    out: Vec<u8>,
    /// The text line's trailer (`src=…, dst=…`).
    trailer: String,
}

fn learner_key(sid: Option<i64>, info: &ConnInfo) -> String {
    match sid {
        Some(s) => format!("sid {s}"),
        None => info.client.to_string(),
    }
}

impl<W: Write> ZabDump<W> {
    /// A decoder printing with `printer`.
    pub fn new(opts: ZabOptions, printer: Printer<W>) -> ZabDump<W> {
        ZabDump {
            opts,
            ports_seen: Default::default(),
            line: Line::new(printer.format()),
            out: Vec::with_capacity(1024),
            trailer: String::with_capacity(64),
            printer,
            counts: ZabCounts::default(),
            measurements: Measurements::default(),
            print: true,
            on_commit: None,
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
        line.f64("ts", ts.as_secs_f64());
        line.display("src", src);
        line.display("dst", dst);
    }

    /// Prints the line built: in text, the addresses go last and the line takes the sender's
    /// colour.
    fn print(&mut self, ts: Timestamp, src: SocketAddr, dst: SocketAddr) {
        let skip = |k: &str, _: &str, _: bool| matches!(k, "type_code" | "zxid" | "src" | "dst");
        self.trailer.clear();
        if self.printer.format() == Format::Text {
            let _ = write!(self.trailer, "src={src}, dst={dst}");
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
                    line.display("zxid_hex", format_args!("0x{:x}", zxid.0 as u64));
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
                if !self.print || !self.wanted(ptype.name()) {
                    return;
                }
                self.start_line(ts, src, dst);
                let line = &mut self.line;
                line.merge(&packet);
                line.display("epoch_counter", packet.zxid());
                line.int("size", size);
                if let Some(sid) = learner.sid {
                    line.int("learner_sid", sid);
                }
                self.print(ts, src, dst);
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn measure(
        &mut self,
        conn: &mut LearnerState,
        learner: Learner,
        info: &ConnInfo,
        dir: QuorumDirection,
        ts: Timestamp,
        p: &Packet<'_>,
        size: usize,
    ) {
        let ms = &mut self.measurements;
        if let Some(sync) = conn.syncing.as_mut() {
            if dir == QuorumDirection::LeaderToLearner {
                sync.packets += 1;
                sync.bytes += size as u64;
            }
        }
        match p {
            Packet::FollowerInfo { .. } => {
                conn.lag_row = None;
                ms.followers.insert(learner_key(learner.sid, info), ());
            }
            Packet::ObserverInfo { .. } => {
                conn.lag_row = None;
            }
            Packet::Diff { .. } | Packet::Trunc { .. } | Packet::Snap { .. }
                if dir == QuorumDirection::LeaderToLearner =>
            {
                conn.syncing = Some(Syncing {
                    mode: p.packet_type().name(),
                    start: ts,
                    packets: 1,
                    bytes: size as u64,
                });
            }
            Packet::UpToDate { .. } if dir == QuorumDirection::LeaderToLearner => {
                if let Some(s) = conn.syncing.take() {
                    ms.syncs.push(SyncReport {
                        sid: learner.sid,
                        learner: info.client.to_string(),
                        mode: s.mode,
                        packets: s.packets,
                        bytes: s.bytes,
                        duration_ms: Some(ts.nanos_since(s.start) as f64 / 1e6),
                    });
                }
            }
            Packet::Proposal { zxid, .. }
                if dir == QuorumDirection::LeaderToLearner && conn.syncing.is_none() =>
            {
                if ms.committed_through.is_none_or(|c| zxid.0 > c) {
                    let entry = ms.proposals.entry(zxid.0, InFlight::default);
                    if entry.first_sent.is_none() {
                        entry.first_sent = Some(ts);
                        ms.live_proposals += 1;
                        ms.first_proposal.get_or_insert(ts);
                        ms.last_proposal = Some(ts);
                        ms.last_zxid = Some(ms.last_zxid.map_or(zxid.0, |z| z.max(zxid.0)));
                    }
                }
                *conn.sent.entry(zxid.0, || ts) = ts;
            }
            Packet::Ack { zxid }
                if dir == QuorumDirection::LearnerToLeader && !learner.observer =>
            {
                if let Some(sent) = conn.sent.take_through(zxid.0) {
                    let row = *conn.lag_row.get_or_insert_with(|| {
                        let name = learner_key(learner.sid, info);
                        match ms.ack_lag.iter().position(|(n, _)| *n == name) {
                            Some(row) => row,
                            None => {
                                ms.ack_lag.push((name, histogram()));
                                ms.ack_lag.len() - 1
                            }
                        }
                    });
                    if let Some((_, lag)) = ms.ack_lag.get_mut(row) {
                        let _ = lag.record(micros(sent, ts));
                    }
                }
                let need = ms.quorum_acks();
                if let Some(entry) = ms.proposals.get_mut(zxid.0) {
                    entry.acks += 1;
                    if entry.acks >= need && entry.quorum_at.is_none() {
                        entry.quorum_at = Some(ts);
                        if let Some(first) = entry.first_sent {
                            let _ = ms.to_quorum.record(micros(first, ts));
                        }
                    }
                }
            }
            Packet::Commit { zxid }
                if dir == QuorumDirection::LeaderToLearner && conn.syncing.is_none() =>
            {
                ms.committed_through = Some(ms.committed_through.map_or(zxid.0, |c| c.max(zxid.0)));
                if let Some(entry) = ms.proposals.take_through(zxid.0) {
                    if let Some(first) = entry.first_sent {
                        let us = micros(first, ts);
                        let _ = ms.to_commit.record(us);
                        if let Some(tell) = self.on_commit.as_mut() {
                            tell(us);
                        }
                    }
                }
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

/// The `--summary` report as text lines.
pub fn summary_text(report: &ZabSummary) -> Vec<String> {
    let fmt = |v: &Option<LatencyStats>| match v {
        None => "none".to_string(),
        Some(v) => format!(
            "avg {:.3} ms, p95 {:.3} ms, p99 {:.3} ms (n={})",
            v.avg_ms, v.p95_ms, v.p99_ms, v.count
        ),
    };
    let mut lines = vec![
        format!(
            "writes: {} live proposals, {:.1}/s",
            report.live_proposals, report.write_rate_per_sec
        ),
        format!("proposal -> quorum: {}", fmt(&report.proposal_to_quorum)),
        format!("proposal -> commit: {}", fmt(&report.proposal_to_commit)),
    ];
    for (who, v) in &report.ack_lag_by_follower {
        lines.push(format!("ack lag {who}: {}", fmt(v)));
    }
    for s in &report.syncs {
        // Named as everywhere else: by sid when known (with the connection's address), by
        // address otherwise.
        let address = &s.learner;
        let name = match s.sid {
            Some(sid) => format!("sid {sid} ({address})"),
            None => address.to_string(),
        };
        lines.push(format!(
            "sync {name}: {}, {} packets, {} bytes, {}",
            s.mode,
            s.packets,
            s.bytes,
            s.duration_ms
                .map_or("no UPTODATE seen".into(), |d| format!("{d:.1} ms"))
        ));
    }
    if let Some(z) = &report.zxid_counter {
        let forecast = z
            .forecast_seconds
            .map_or("no writes to extrapolate".to_string(), |s| {
                format!(
                    "overflows in {:.0} s ({:.1} days) at the current rate",
                    s,
                    s / 86_400.0
                )
            });
        lines.push(format!(
            "zxid counter: last {} ({}), {:.6}% used, {} left; {forecast}",
            z.last_zxid, z.last_zxid_hex, z.used_percent, z.remaining
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    /// Issue 22 item 8: a learner whose sid was not seen is named by its address in every
    /// line (the sync line said `sync ? (address)` beside `ack lag address`).
    #[test]
    fn learners_are_named_alike_in_every_summary_line() {
        let sync = |sid, learner: &str, mode, packets, bytes, duration_ms| SyncReport {
            sid,
            learner: learner.into(),
            mode,
            packets,
            bytes,
            duration_ms: Some(duration_ms),
        };
        let report = ZabSummary {
            live_proposals: 0,
            write_rate_per_sec: 0.0,
            proposal_to_quorum: None,
            proposal_to_commit: None,
            ack_lag_by_follower: [("127.0.0.1:40000".into(), None), ("sid 2".into(), None)].into(),
            syncs: vec![
                sync(None, "127.0.0.1:40000", "DIFF", 3, 192, 1.0),
                sync(Some(2), "127.0.0.1:40001", "SNAP", 4, 900, 2.0),
            ],
            zxid_counter: None,
        };
        let lines = summary_text(&report);
        assert!(lines
            .iter()
            .any(|l| l.starts_with("ack lag 127.0.0.1:40000:")));
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("sync 127.0.0.1:40000: DIFF")),
            "{lines:?}"
        );
        assert!(lines
            .iter()
            .any(|l| l.starts_with("sync sid 2 (127.0.0.1:40001): SNAP")));
        assert!(!lines.iter().any(|l| l.contains('?')), "{lines:?}");
    }

    use super::*;

    #[test]
    fn zxid_queue_finds_entries_in_and_out_of_order_and_drops_what_an_ack_passed() {
        let mut q: ZxidQueue<&str> = ZxidQueue::default();
        for (z, v) in [(10, "a"), (11, "b"), (13, "d")] {
            *q.entry(z, || v) = v;
        }
        // A zxid below the newest (a late or resent proposal) goes in its place.
        *q.entry(12, || "c") = "c";
        assert_eq!(q.entry(11, || "new"), &mut "b", "an existing entry is kept");
        assert_eq!(q.get_mut(12), Some(&mut "c"));
        assert_eq!(q.get_mut(14), None);
        // An ack or commit for 12 takes it and forgets 10 and 11, whose ends were missed.
        assert_eq!(q.take_through(12), Some("c"));
        assert_eq!(q.get_mut(10), None);
        assert_eq!(q.get_mut(11), None);
        assert_eq!(q.take_through(12), None);
        assert_eq!(q.take_through(13), Some("d"));
        assert!(q.items.is_empty());
    }

    /// Feeds (time in ms, from, to, bytes) segments of one quorum connection that starts
    /// with the learner's SYN; returns the lines printed.
    fn run(
        format: crate::output::Format,
        color: bool,
        segments: &[(i64, bool, Vec<u8>)],
    ) -> Vec<String> {
        use zkwire_capture::{Reassembler, ReassemblyConfig};
        let learner: std::net::SocketAddr = "10.0.0.1:40000".parse().expect("address");
        let leader: std::net::SocketAddr = "10.0.0.9:2888".parse().expect("address");
        let printer = Printer::new(Vec::new(), format, true, color, None);
        let opts = ZabOptions {
            ports: vec![2888],
            include_pings: false,
            types: Vec::new(),
        };
        let mut dump = ZabDump::new(opts, printer);
        let mut reassembler = Reassembler::new(ReassemblyConfig::default());
        let segment = |src, dst, seq, syn, payload| TcpSegment {
            src,
            dst,
            seq,
            ack: None,
            syn,
            fin: false,
            rst: false,
            payload,
            missing: 0,
        };
        reassembler.segment(
            &segment(learner, leader, 99, true, &[]),
            Timestamp(0),
            &mut dump,
        );
        let (mut to_leader, mut to_learner) = (100u32, 5000u32);
        let mut last = Timestamp(0);
        for (ms, from_learner, bytes) in segments {
            last = Timestamp(ms * 1_000_000 + 123_000);
            let seg = if *from_learner {
                to_leader += bytes.len() as u32;
                segment(
                    learner,
                    leader,
                    to_leader - bytes.len() as u32,
                    false,
                    bytes,
                )
            } else {
                to_learner += bytes.len() as u32;
                segment(
                    leader,
                    learner,
                    to_learner - bytes.len() as u32,
                    false,
                    bytes,
                )
            };
            reassembler.segment(&seg, last, &mut dump);
        }
        reassembler.finish(last, &mut dump);
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

    #[test]
    fn zxid_queue_is_bounded() {
        let mut q: ZxidQueue<()> = ZxidQueue::default();
        for z in 0..(MAX_IN_FLIGHT as i64 + 10) {
            q.entry(z, || ());
        }
        assert_eq!(q.items.len(), MAX_IN_FLIGHT);
        assert_eq!(
            q.items.front().map(|(z, _)| *z),
            Some(10),
            "the oldest went first"
        );
    }
}
