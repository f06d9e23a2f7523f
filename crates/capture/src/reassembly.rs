//! TCP reassembly: segments in capture order in, in-order byte streams per connection and
//! direction out.
//!
//! Bytes are delivered as soon as they are in sequence, without waiting for ACKs, so one-sided
//! captures and `-i any` captures decode. Segments ahead of a hole are buffered (bounded per
//! flow and in total). A hole is given up on — reported to the consumer as a gap, which it must
//! resynchronise after — when the peer has acknowledged the missing bytes (the sniffer missed
//! them and nobody will resend them), when the buffers are full, when it is older than the
//! hole timeout, or when the connection ends. Retransmissions and overlaps are de-duplicated;
//! sequence numbers wrap. Connections met mid-stream are tracked from their first segment.
//! The flow table is bounded: idle flows expire and, when full, the oldest are evicted.
//!
//! The reassembler is a pure function of the segments and their capture timestamps.

use crate::link::TcpSegment;
use crate::stats::CaptureStats;
use crate::time::Timestamp;
use std::collections::{BTreeMap, HashMap};

/// Flow tables are keyed by addresses an attacker chooses: a fast hasher, but a seeded one.
type FlowMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
use std::net::SocketAddr;

/// The one `Direction` of the workspace, defined in `zkwire-jute` and re-exported unchanged
/// (also by `zk-proto` and `fle-proto`): what a [`StreamHandler`] receives goes straight into
/// `zk_proto::ClientConnection::push` or `fle_proto::ElectionConnection::push`, and converts
/// with `.into()` to `zab_proto::QuorumDirection`.
pub use zkwire_jute::Direction;

/// Index of a direction in per-direction arrays.
fn index(dir: Direction) -> usize {
    match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

/// Which end of the first segment of a connection is the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientIs {
    /// The segment's sender.
    Source,
    /// The segment's receiver.
    Destination,
}

impl ClientIs {
    /// Which end of `first` is the client of a server listening on one of `server_ports`;
    /// `None` when neither end is (another protocol's connection, not to be tracked).
    pub fn for_server_ports(first: &TcpSegment<'_>, server_ports: &[u16]) -> Option<ClientIs> {
        if server_ports.contains(&first.dst.port()) {
            Some(ClientIs::Source)
        } else if server_ports.contains(&first.src.port()) {
            Some(ClientIs::Destination)
        } else {
            None
        }
    }

    /// The (client, server) addresses of the connection `first` belongs to.
    pub fn endpoints(self, first: &TcpSegment<'_>) -> (SocketAddr, SocketAddr) {
        match self {
            ClientIs::Source => (first.src, first.dst),
            ClientIs::Destination => (first.dst, first.src),
        }
    }
}

/// Identity of a tracked connection, passed with every event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnInfo {
    /// A number unique within one run, in order of first appearance.
    pub id: u64,
    /// The client's address.
    pub client: SocketAddr,
    /// The server's address.
    pub server: SocketAddr,
    /// Whether the connection's SYN was seen (so its first bytes are the stream's first bytes).
    pub syn_seen: bool,
    /// When the connection was first seen.
    pub started: Timestamp,
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// Both sides sent FIN and all bytes before them were delivered.
    Fin,
    /// A RST was seen.
    Reset,
    /// Nothing was seen for longer than the idle timeout.
    Idle,
    /// The flow table was full and this was among the least recently active connections.
    Evicted,
    /// A new SYN reused the same addresses and ports.
    Restarted,
    /// The input ended.
    EndOfCapture,
}

/// The consumer of reassembled streams: one value of `Conn` is kept per connection.
pub trait StreamHandler {
    /// Per-connection state of the consumer.
    type Conn;

    /// A segment of a connection not tracked yet. Return its state and which end is the client,
    /// or `None` to ignore it (it will be offered again with its next segment).
    fn open(&mut self, first: &TcpSegment<'_>, ts: Timestamp) -> Option<(Self::Conn, ClientIs)>;

    /// In-order bytes of one direction.
    fn data(
        &mut self,
        conn: &mut Self::Conn,
        info: &ConnInfo,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
    );

    /// `len` bytes of one direction that will never be delivered: resynchronise after them.
    fn gap(
        &mut self,
        conn: &mut Self::Conn,
        info: &ConnInfo,
        dir: Direction,
        ts: Timestamp,
        len: u64,
    );

    /// The connection ended; no more events for it.
    fn close(&mut self, conn: Self::Conn, info: &ConnInfo, ts: Timestamp, reason: CloseReason);

    /// Bytes the consumer holds for this connection (partial messages), counted in the
    /// reassembler's memory budget. When the budget is exceeded, the oldest connections holding
    /// some get a [`StreamHandler::gap`] of 0 bytes in each direction: they drop what they hold
    /// and resynchronise.
    fn held_bytes(&self, conn: &Self::Conn) -> usize {
        let _ = conn;
        0
    }

    /// Whether the consumer wants more input (a tool with `--limit` says no once it has enough).
    fn wants_more(&self) -> bool {
        true
    }
}

/// A handler lent to a layer that wraps it (the TLS layer, say) stays the caller's.
impl<H: StreamHandler + ?Sized> StreamHandler for &mut H {
    type Conn = H::Conn;

    fn open(&mut self, first: &TcpSegment<'_>, ts: Timestamp) -> Option<(Self::Conn, ClientIs)> {
        (**self).open(first, ts)
    }

    fn data(
        &mut self,
        conn: &mut Self::Conn,
        info: &ConnInfo,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
    ) {
        (**self).data(conn, info, dir, ts, bytes)
    }

    fn gap(
        &mut self,
        conn: &mut Self::Conn,
        info: &ConnInfo,
        dir: Direction,
        ts: Timestamp,
        len: u64,
    ) {
        (**self).gap(conn, info, dir, ts, len)
    }

    fn close(&mut self, conn: Self::Conn, info: &ConnInfo, ts: Timestamp, reason: CloseReason) {
        (**self).close(conn, info, ts, reason)
    }

    fn held_bytes(&self, conn: &Self::Conn) -> usize {
        (**self).held_bytes(conn)
    }

    fn wants_more(&self) -> bool {
        (**self).wants_more()
    }
}

/// Limits and timeouts of the reassembler.
#[derive(Debug, Clone)]
pub struct ReassemblyConfig {
    /// Most connections tracked at once; beyond it the least recently active are evicted.
    pub max_flows: usize,
    /// One memory budget, in bytes, over the flow table, out-of-order buffers and what the
    /// consumer holds ([`StreamHandler::held_bytes`]). Over it, flows that never carried data
    /// go first, then the oldest partial messages, then the oldest flows.
    pub max_memory: usize,
    /// Most out-of-order bytes buffered for one direction of one connection.
    pub max_buffered_per_flow: usize,
    /// Most out-of-order bytes buffered in total.
    pub max_buffered_total: usize,
    /// A hole older than this (capture time) is given up on.
    pub hole_timeout_ns: i64,
    /// A connection silent for longer than this (capture time) is closed.
    pub idle_timeout_ns: i64,
    /// How long a closed connection is remembered, to absorb late retransmissions.
    pub closed_linger_ns: i64,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            // 7/8 of 2^18: the most a hash table of 2^18 slots holds. At 2^18 flows the table
            // doubled to 2^19 slots (and held both tables while resizing) for the last few.
            max_flows: 7 << 15,
            max_memory: 256 << 20,
            max_buffered_per_flow: 8 << 20,
            max_buffered_total: 256 << 20,
            hole_timeout_ns: 10_000_000_000,
            idle_timeout_ns: 600_000_000_000,
            closed_linger_ns: 60_000_000_000,
        }
    }
}

const SECOND: i64 = 1_000_000_000;
/// A sequence jump beyond this cannot be the same byte stream.
const MAX_SEQ_JUMP: i64 = 1 << 30;

/// A connection's addresses, either way round, packed into plain integers so that hashing it
/// (once per packet) is three word-sized writes rather than a walk over two `SocketAddr`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct FlowKey {
    lo_ip: u128,
    hi_ip: u128,
    /// Low end's port, high end's port, and whether the addresses are IPv6.
    ports: u64,
}

impl FlowKey {
    pub(crate) fn of(a: SocketAddr, b: SocketAddr) -> FlowKey {
        let (a, b) = (endpoint(a), endpoint(b));
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        FlowKey {
            lo_ip: lo.0,
            hi_ip: hi.0,
            ports: (u64::from(lo.1) << 32) | (u64::from(hi.1) << 16) | u64::from(lo.2),
        }
    }
}

fn endpoint(addr: SocketAddr) -> (u128, u16, bool) {
    match addr {
        SocketAddr::V4(a) => (u128::from(u32::from(*a.ip())), a.port(), false),
        SocketAddr::V6(a) => (u128::from(*a.ip()), a.port(), true),
    }
}

#[derive(Debug)]
struct Pending {
    data: Vec<u8>,
    missing: u32,
}

impl Pending {
    fn len(&self) -> u64 {
        self.data.len() as u64 + self.missing as u64
    }
}

/// One direction of a connection.
#[derive(Debug, Default)]
struct Half {
    isn: Option<u32>,
    /// Sequence number of the next byte to deliver; `None` until the first segment.
    next_seq: Option<u32>,
    /// Stream offset of `next_seq` (bytes delivered plus gap bytes).
    offset: u64,
    /// Out-of-order segments by stream offset.
    pending: BTreeMap<u64, Pending>,
    pending_bytes: usize,
    hole_since: Option<Timestamp>,
    /// Highest sequence number the peer acknowledged.
    peer_ack: Option<u32>,
    /// Stream offset at which FIN was sent.
    fin_at: Option<u64>,
}

enum Ev<'a> {
    Data(&'a [u8]),
    Gap(u64),
}

impl Half {
    fn finished(&self) -> bool {
        self.fin_at.is_some_and(|f| self.offset >= f)
    }

    /// Stream offset of a sequence number (may be negative: before the delivered point).
    fn rel(&self, seq: u32) -> i64 {
        match self.next_seq {
            Some(next) => seq.wrapping_sub(next) as i32 as i64,
            None => 0,
        }
    }

    fn note_peer_ack(&mut self, ack: u32) {
        match self.peer_ack {
            Some(prev) if (ack.wrapping_sub(prev) as i32) <= 0 => {}
            _ => self.peer_ack = Some(ack),
        }
    }

    /// Whether the peer has acknowledged bytes past the delivered point: the hole is permanent.
    fn hole_acked(&self) -> Option<u64> {
        let ack = self.peer_ack?;
        let rel = self.rel(ack);
        (rel > 0 && rel < MAX_SEQ_JUMP).then_some(rel as u64)
    }

    fn advance(&mut self, n: u64) {
        self.offset += n;
        if let Some(next) = self.next_seq {
            self.next_seq = Some(next.wrapping_add(n as u32));
        }
    }

    fn deliver(
        &mut self,
        data: &[u8],
        missing: u32,
        stats: &mut CaptureStats,
        emit: &mut dyn FnMut(Ev<'_>),
    ) {
        if !data.is_empty() {
            emit(Ev::Data(data));
            self.advance(data.len() as u64);
        }
        if missing > 0 {
            stats.gaps += 1;
            stats.gap_bytes += missing as u64;
            emit(Ev::Gap(missing as u64));
            self.advance(missing as u64);
        }
    }

    /// Delivers buffered segments that have become contiguous. Inlined for the common case of
    /// nothing buffered.
    #[inline]
    fn drain(&mut self, stats: &mut CaptureStats, total: &mut usize, emit: &mut dyn FnMut(Ev<'_>)) {
        if self.pending.is_empty() {
            self.hole_since = None;
        } else {
            self.drain_pending(stats, total, emit);
        }
    }

    fn drain_pending(
        &mut self,
        stats: &mut CaptureStats,
        total: &mut usize,
        emit: &mut dyn FnMut(Ev<'_>),
    ) {
        while let Some(entry) = self.pending.first_entry() {
            let at = *entry.key();
            if at > self.offset {
                break;
            }
            let p = entry.remove();
            self.pending_bytes -= p.data.len();
            *total -= p.data.len();
            let skip = self.offset - at;
            if skip >= p.len() {
                stats.retransmits += 1;
                continue;
            }
            if skip > 0 {
                stats.overlaps += 1;
            }
            let (data, missing) = trim_front(&p.data, p.missing, skip);
            self.deliver(data, missing, stats, emit);
        }
        if self.pending.is_empty() {
            self.hole_since = None;
        }
    }

    /// Gives up on the hole before the first buffered segment (or up to `upto` bytes past the
    /// delivered point, whichever is nearer) and delivers what follows.
    fn skip_hole(
        &mut self,
        upto: Option<u64>,
        stats: &mut CaptureStats,
        total: &mut usize,
        emit: &mut dyn FnMut(Ev<'_>),
    ) {
        let first = self.pending.keys().next().map(|at| at - self.offset);
        let skip = match (first, upto) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => 0,
        };
        if skip > 0 {
            stats.gaps += 1;
            stats.gap_bytes += skip;
            emit(Ev::Gap(skip));
            self.advance(skip);
        }
        self.drain(stats, total, emit);
    }

    /// Delivers everything buffered, with gaps for the holes.
    fn flush(&mut self, stats: &mut CaptureStats, total: &mut usize, emit: &mut dyn FnMut(Ev<'_>)) {
        while !self.pending.is_empty() {
            self.skip_hole(None, stats, total, emit);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn accept(
        &mut self,
        seq: u32,
        payload: &[u8],
        missing: u32,
        ts: Timestamp,
        config: &ReassemblyConfig,
        stats: &mut CaptureStats,
        total: &mut usize,
        emit: &mut dyn FnMut(Ev<'_>),
    ) {
        if self.next_seq.is_none() {
            self.next_seq = Some(seq);
        }
        let len = payload.len() as i64 + missing as i64;
        let mut rel = self.rel(seq);
        if !(-MAX_SEQ_JUMP..=MAX_SEQ_JUMP).contains(&rel) {
            // Not the same stream any more (a restart we did not see the SYN of, or garbage):
            // deliver what was buffered, then follow the new sequence space.
            stats.desyncs += 1;
            self.flush(stats, total, emit);
            stats.gaps += 1;
            emit(Ev::Gap(0));
            self.next_seq = Some(seq);
            rel = 0;
        }
        if rel + len <= 0 {
            stats.retransmits += 1;
            return;
        }
        if rel <= 0 {
            let skip = (-rel) as u64;
            if skip > 0 {
                stats.overlaps += 1;
            }
            let (data, missing) = trim_front(payload, missing, skip);
            self.deliver(data, missing, stats, emit);
            self.drain(stats, total, emit);
            return;
        }
        // Ahead of a hole.
        stats.out_of_order += 1;
        let at = self.offset + rel as u64;
        let replace = self.pending.get(&at).is_none_or(|p| p.len() < len as u64);
        if replace {
            let old = self
                .pending
                .insert(
                    at,
                    Pending {
                        data: payload.to_vec(),
                        missing,
                    },
                )
                .map_or(0, |p| p.data.len());
            self.pending_bytes = self.pending_bytes + payload.len() - old;
            *total = *total + payload.len() - old;
        } else {
            stats.retransmits += 1;
        }
        self.hole_since.get_or_insert(ts);
        if let Some(acked) = self.hole_acked() {
            self.skip_hole(Some(acked), stats, total, emit);
        }
        while !self.pending.is_empty()
            && (self.pending_bytes > config.max_buffered_per_flow
                || *total > config.max_buffered_total)
        {
            stats.buffer_limit_hits += 1;
            self.skip_hole(None, stats, total, emit);
        }
    }
}

fn trim_front(data: &[u8], missing: u32, skip: u64) -> (&[u8], u32) {
    if skip <= data.len() as u64 {
        (&data[skip as usize..], missing)
    } else {
        let from_missing = (skip - data.len() as u64).min(missing as u64) as u32;
        (&[], missing - from_missing)
    }
}

/// One segment of a tracked connection: delivers what it completes and says whether the
/// connection ended with it.
fn feed<C, H: StreamHandler<Conn = C>>(
    flow: &mut Flow<C>,
    seg: &TcpSegment<'_>,
    ts: Timestamp,
    config: &ReassemblyConfig,
    stats: &mut CaptureStats,
    total: &mut usize,
    handler: &mut H,
) -> Option<CloseReason> {
    flow.last_seen = ts;
    let dir = if seg.src == flow.info.client {
        Direction::ToServer
    } else {
        Direction::ToClient
    };
    if let Some(ack) = seg.ack {
        flow.halves[index(dir.reverse())].note_peer_ack(ack);
    }
    if seg.rst {
        return Some(CloseReason::Reset);
    }
    let Flow {
        info, conn, halves, ..
    } = flow;
    let conn = conn.as_mut()?;
    let half = &mut halves[index(dir)];
    let mut data_seq = seg.seq;
    if seg.syn {
        half.isn = Some(seg.seq);
        data_seq = seg.seq.wrapping_add(1);
        if half.next_seq.is_none() {
            half.next_seq = Some(data_seq);
        }
    }
    let mut emit = |ev: Ev<'_>| match ev {
        Ev::Data(bytes) => handler.data(conn, info, dir, ts, bytes),
        Ev::Gap(len) => handler.gap(conn, info, dir, ts, len),
    };
    if !seg.payload.is_empty() || seg.missing > 0 {
        half.accept(
            data_seq,
            seg.payload,
            seg.missing,
            ts,
            config,
            stats,
            total,
            &mut emit,
        );
    } else if half.next_seq.is_none() {
        half.next_seq = Some(data_seq);
    }
    if let Some(since) = half.hole_since {
        if ts.nanos_since(since) > config.hole_timeout_ns {
            half.skip_hole(None, stats, total, &mut emit);
        }
    }
    if seg.fin {
        let end = half.rel(data_seq) + seg.payload.len() as i64 + seg.missing as i64;
        if end >= 0 {
            half.fin_at = Some(half.offset + end as u64);
        }
    }
    (halves[0].finished() && halves[1].finished()).then_some(CloseReason::Fin)
}

struct Flow<C> {
    info: ConnInfo,
    /// `None` once closed: the entry lingers to absorb stragglers.
    conn: Option<C>,
    /// What the consumer held for this flow when last asked.
    held: usize,
    halves: [Half; 2],
    last_seen: Timestamp,
}

/// What a tracked flow costs the memory budget besides what it buffers: its table slot, the
/// flow, and an allowance for the consumer's per-connection state (zk-dump's decoder is 384
/// bytes) and for what allocators keep around under churn: measured, 1.5 KiB keeps the peak
/// within the budget plus 32 MiB with 200,000 connections stuck on partial messages.
fn flow_cost<C>() -> usize {
    const CONSUMER_STATE: usize = 1536;
    std::mem::size_of::<(FlowKey, Box<Flow<C>>)>() + std::mem::size_of::<Flow<C>>() + CONSUMER_STATE
}

/// The TCP reassembler: a flow table plus the per-direction stream state.
pub struct Reassembler<C> {
    config: ReassemblyConfig,
    /// Flows behind a box: a table slot is then a key and a pointer, so the table (sized in
    /// powers of two, doubled while both copies live) costs little beside the flows it holds.
    flows: FlowMap<FlowKey, Box<Flow<C>>>,
    next_id: u64,
    buffered_total: usize,
    /// What consumers hold over all flows (the sum of `Flow::held`).
    held_total: usize,
    next_sweep: Option<Timestamp>,
    /// Connection ids go up by this much (the number of shards sharing out the ids).
    id_step: u64,
    /// Whether sweeps are run by the caller ([`crate::sharded`]) rather than by the segments.
    external_sweeps: bool,
    /// What was seen, repaired and given up on.
    pub stats: CaptureStats,
}

impl<C> Reassembler<C> {
    /// A reassembler with the given limits.
    pub fn new(config: ReassemblyConfig) -> Reassembler<C> {
        Reassembler {
            config,
            flows: FlowMap::default(),
            next_id: 0,
            buffered_total: 0,
            held_total: 0,
            next_sweep: None,
            id_step: 1,
            external_sweeps: false,
            stats: CaptureStats::default(),
        }
    }

    /// Makes this the reassembler of shard `index` of `shards`: connection ids `index`,
    /// `index + shards`, … (unique over all shards), and sweeps only when the caller runs them.
    pub(crate) fn shard(&mut self, index: u64, shards: u64) {
        self.next_id = index;
        self.id_step = shards.max(1);
        self.external_sweeps = true;
    }

    /// Connections currently in the table (including recently closed ones).
    pub fn tracked_flows(&self) -> usize {
        self.flows.len()
    }

    /// Bytes currently buffered out of order.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered_total
    }

    /// Feeds one segment captured at `ts`.
    pub fn segment<H: StreamHandler<Conn = C>>(
        &mut self,
        seg: &TcpSegment<'_>,
        ts: Timestamp,
        handler: &mut H,
    ) {
        self.stats.tcp_segments += 1;
        self.maybe_sweep(ts, handler);
        let key = FlowKey::of(seg.src, seg.dst);
        let is_new_syn = seg.syn && seg.ack.is_none();
        // The common cases cost one table lookup: a segment of an established connection,
        // and one of a connection that is not tracked (another protocol's, say).
        let mut tracked = false;
        if let Some(flow) = self.flows.get_mut(&key) {
            if flow.conn.is_some() && !is_new_syn {
                let end = feed(
                    flow,
                    seg,
                    ts,
                    &self.config,
                    &mut self.stats,
                    &mut self.buffered_total,
                    handler,
                );
                let held = flow.conn.as_ref().map_or(0, |c| handler.held_bytes(c));
                self.held_total = self.held_total + held - flow.held;
                flow.held = held;
                if let Some(reason) = end {
                    self.close_flow(key, ts, reason, handler);
                }
                self.enforce_budget(ts, handler);
                return;
            }
            let restarted = match (&flow.conn, is_new_syn) {
                (None, true) => true,
                (None, false) => {
                    self.stats.ignored_segments += 1;
                    flow.last_seen = ts;
                    return;
                }
                (Some(_), _) => {
                    // A retransmitted SYN repeats its sequence number; any other SYN is a new
                    // connection reusing the addresses (or one whose start we never saw).
                    let dir = if seg.src == flow.info.client {
                        Direction::ToServer
                    } else {
                        Direction::ToClient
                    };
                    flow.halves[index(dir)].isn != Some(seg.seq)
                }
            };
            let open = flow.conn.is_some();
            if restarted {
                if open {
                    self.close_flow(key, ts, CloseReason::Restarted, handler);
                }
                self.flows.remove(&key);
            } else {
                tracked = true;
            }
        }
        if !tracked {
            // Pure ACKs, lone FINs and RSTs do not reveal a stream worth tracking.
            if !seg.syn && seg.payload.is_empty() && seg.missing == 0 {
                self.stats.ignored_segments += 1;
                return;
            }
            let Some((conn, client_is)) = handler.open(seg, ts) else {
                self.stats.ignored_segments += 1;
                return;
            };
            if self.flows.len() >= self.config.max_flows.max(1) {
                self.evict_oldest(ts, handler);
            }
            let (client, server) = match client_is {
                ClientIs::Source => (seg.src, seg.dst),
                ClientIs::Destination => (seg.dst, seg.src),
            };
            let info = ConnInfo {
                id: self.next_id,
                client,
                server,
                syn_seen: seg.syn,
                started: ts,
            };
            self.next_id += self.id_step;
            self.stats.flows += 1;
            if !seg.syn {
                self.stats.midstream_flows += 1;
            }
            self.flows.insert(
                key,
                Box::new(Flow {
                    info,
                    conn: Some(conn),
                    held: 0,
                    halves: [Half::default(), Half::default()],
                    last_seen: ts,
                }),
            );
        }
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        let end = feed(
            flow,
            seg,
            ts,
            &self.config,
            &mut self.stats,
            &mut self.buffered_total,
            handler,
        );
        let held = flow.conn.as_ref().map_or(0, |c| handler.held_bytes(c));
        self.held_total = self.held_total + held - flow.held;
        flow.held = held;
        if let Some(reason) = end {
            self.close_flow(key, ts, reason, handler);
        }
        self.enforce_budget(ts, handler);
    }

    /// What the memory budget counts: each flow at a fixed cost, out-of-order bytes, and what
    /// the consumers hold.
    pub fn memory(&self) -> usize {
        self.flows.len() * flow_cost::<C>() + self.buffered_total + self.held_total
    }

    /// Makes room when the budget is exceeded, down to 7/8 of it so that the work (a scan of
    /// the table) is not repeated packet after packet: flows that never carried data go first
    /// (a SYN flood), then the oldest partial messages are given up as gaps, then the oldest
    /// flows.
    ///
    /// The check runs for every segment and is inlined; the work, rare, is not.
    #[inline]
    fn enforce_budget<H: StreamHandler<Conn = C>>(&mut self, ts: Timestamp, handler: &mut H) {
        if self.memory() > self.config.max_memory {
            self.make_room(ts, handler);
        }
    }

    #[cold]
    #[inline(never)]
    fn make_room<H: StreamHandler<Conn = C>>(&mut self, ts: Timestamp, handler: &mut H) {
        let budget = self.config.max_memory;
        self.stats.memory_budget_hits += 1;
        let target = budget - budget / 8;
        let oldest = |flows: &FlowMap<FlowKey, Box<Flow<C>>>, pick: &dyn Fn(&Flow<C>) -> bool| {
            let mut keys: Vec<(Timestamp, FlowKey)> = flows
                .iter()
                .filter(|(_, f)| f.conn.is_some() && pick(f))
                .map(|(k, f)| (f.last_seen, *k))
                .collect();
            keys.sort_unstable_by_key(|(t, _)| *t);
            keys
        };
        let silent = |f: &Flow<C>| {
            f.halves
                .iter()
                .all(|h| h.offset == 0 && h.pending.is_empty())
        };
        for (_, key) in oldest(&self.flows, &silent) {
            if self.memory() <= target {
                return;
            }
            self.close_flow(key, ts, CloseReason::Evicted, handler);
            self.flows.remove(&key);
        }
        for (_, key) in oldest(&self.flows, &|f| f.held > 0) {
            if self.memory() <= target {
                return;
            }
            self.abandon_held(key, ts, handler);
        }
        for (_, key) in oldest(&self.flows, &|_| true) {
            if self.memory() <= target {
                return;
            }
            self.close_flow(key, ts, CloseReason::Evicted, handler);
            self.flows.remove(&key);
        }
    }

    /// Has the consumer give up the partial messages it holds for a flow, as a gap of 0 bytes
    /// in each direction.
    fn abandon_held<H: StreamHandler<Conn = C>>(
        &mut self,
        key: FlowKey,
        ts: Timestamp,
        handler: &mut H,
    ) {
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        let Flow {
            info, conn, held, ..
        } = &mut **flow;
        let Some(conn) = conn.as_mut() else {
            return;
        };
        for dir in [Direction::ToServer, Direction::ToClient] {
            handler.gap(conn, info, dir, ts, 0);
        }
        let now = handler.held_bytes(conn);
        self.held_total = self.held_total + now - *held;
        *held = now;
        self.stats.partial_frames_abandoned += 1;
    }

    fn close_flow<H: StreamHandler<Conn = C>>(
        &mut self,
        key: FlowKey,
        ts: Timestamp,
        reason: CloseReason,
        handler: &mut H,
    ) {
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        let Some(mut conn) = flow.conn.take() else {
            return;
        };
        self.held_total -= flow.held;
        flow.held = 0;
        for dir in [Direction::ToServer, Direction::ToClient] {
            let half = &mut flow.halves[index(dir)];
            let info = &flow.info;
            let mut emit = |ev: Ev<'_>| match ev {
                Ev::Data(bytes) => handler.data(&mut conn, info, dir, ts, bytes),
                Ev::Gap(len) => handler.gap(&mut conn, info, dir, ts, len),
            };
            half.flush(&mut self.stats, &mut self.buffered_total, &mut emit);
        }
        match reason {
            CloseReason::Fin | CloseReason::Reset | CloseReason::Restarted => {
                self.stats.flows_closed += 1
            }
            CloseReason::Idle => self.stats.flows_expired += 1,
            CloseReason::Evicted => self.stats.flows_evicted += 1,
            CloseReason::EndOfCapture => {}
        }
        handler.close(conn, &flow.info, ts, reason);
        flow.halves = [Half::default(), Half::default()];
    }

    /// Evicts about an eighth of the table, least recently active first (closed entries count
    /// as inactive), so a flood of flows costs amortised constant time per flow.
    fn evict_oldest<H: StreamHandler<Conn = C>>(&mut self, ts: Timestamp, handler: &mut H) {
        let mut ages: Vec<(bool, Timestamp, FlowKey)> = self
            .flows
            .iter()
            .map(|(k, f)| (f.conn.is_some(), f.last_seen, *k))
            .collect();
        let n = (ages.len() / 8).max(1);
        if n < ages.len() {
            ages.select_nth_unstable(n);
        }
        for (_, _, key) in ages.into_iter().take(n) {
            self.close_flow(key, ts, CloseReason::Evicted, handler);
            self.flows.remove(&key);
        }
    }

    fn maybe_sweep<H: StreamHandler<Conn = C>>(&mut self, now: Timestamp, handler: &mut H) {
        if self.external_sweeps {
            return;
        }
        match self.next_sweep {
            None => self.next_sweep = Some(now.plus_nanos(SECOND)),
            Some(at) if now >= at => {
                self.next_sweep = Some(now.plus_nanos(SECOND));
                self.sweep(now, handler);
            }
            Some(_) => {}
        }
    }

    /// Expires idle connections, forgets long-closed ones and gives up on old holes.
    pub fn sweep<H: StreamHandler<Conn = C>>(&mut self, now: Timestamp, handler: &mut H) {
        let mut idle = Vec::new();
        let mut forget = Vec::new();
        for (key, flow) in self.flows.iter_mut() {
            let quiet = now.nanos_since(flow.last_seen);
            let Some(conn) = flow.conn.as_mut() else {
                if quiet > self.config.closed_linger_ns {
                    forget.push(*key);
                }
                continue;
            };
            if quiet > self.config.idle_timeout_ns {
                idle.push(*key);
                continue;
            }
            for dir in [Direction::ToServer, Direction::ToClient] {
                let half = &mut flow.halves[index(dir)];
                if half
                    .hole_since
                    .is_some_and(|s| now.nanos_since(s) > self.config.hole_timeout_ns)
                {
                    let info = &flow.info;
                    let mut emit = |ev: Ev<'_>| match ev {
                        Ev::Data(bytes) => handler.data(conn, info, dir, now, bytes),
                        Ev::Gap(len) => handler.gap(conn, info, dir, now, len),
                    };
                    half.flush(&mut self.stats, &mut self.buffered_total, &mut emit);
                }
            }
        }
        for key in idle {
            self.close_flow(key, now, CloseReason::Idle, handler);
            self.flows.remove(&key);
        }
        for key in forget {
            self.flows.remove(&key);
        }
    }

    /// Ends every connection (end of input): buffered bytes are delivered with gaps for holes.
    pub fn finish<H: StreamHandler<Conn = C>>(&mut self, now: Timestamp, handler: &mut H) {
        let mut keys: Vec<(u64, FlowKey)> = self
            .flows
            .iter()
            .filter(|(_, f)| f.conn.is_some())
            .map(|(k, f)| (f.info.id, *k))
            .collect();
        // Close in order of appearance so output is deterministic.
        keys.sort_unstable_by_key(|(id, _)| *id);
        for (_, key) in keys {
            self.close_flow(key, now, CloseReason::EndOfCapture, handler);
        }
        self.flows.clear();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    /// A tracked flow costs its table slot (key and pointer) plus the boxed flow: a SYN flood
    /// of the default cap holds about 229,376 of them.
    #[test]
    fn bytes_per_tracked_flow() {
        let slot = std::mem::size_of::<(FlowKey, Box<Flow<[u8; 16]>>)>() + 1;
        let flow = std::mem::size_of::<Flow<[u8; 16]>>();
        eprintln!("slot {slot} bytes, flow {flow} bytes");
        assert!(slot + flow <= 400, "{slot} + {flow} bytes per flow");
    }

    use super::*;
    use proptest::prelude::*;

    #[derive(Default, Debug)]
    struct Recorder {
        /// Per connection id: (bytes with gaps as offsets, gap count, close reason).
        streams: HashMap<(u64, usize), Vec<u8>>,
        gaps: HashMap<(u64, usize), Vec<(usize, u64)>>,
        closed: Vec<(u64, CloseReason)>,
        server_port: u16,
    }

    impl StreamHandler for Recorder {
        type Conn = ();
        fn open(&mut self, first: &TcpSegment<'_>, _ts: Timestamp) -> Option<((), ClientIs)> {
            if first.dst.port() == self.server_port {
                Some(((), ClientIs::Source))
            } else if first.src.port() == self.server_port {
                Some(((), ClientIs::Destination))
            } else {
                None
            }
        }
        fn data(
            &mut self,
            _: &mut (),
            info: &ConnInfo,
            dir: Direction,
            _: Timestamp,
            bytes: &[u8],
        ) {
            self.streams
                .entry((info.id, index(dir)))
                .or_default()
                .extend_from_slice(bytes);
        }
        fn gap(&mut self, _: &mut (), info: &ConnInfo, dir: Direction, _: Timestamp, len: u64) {
            let at = self
                .streams
                .get(&(info.id, index(dir)))
                .map_or(0, |s| s.len());
            self.gaps
                .entry((info.id, index(dir)))
                .or_default()
                .push((at, len));
        }
        fn close(&mut self, _: (), info: &ConnInfo, _: Timestamp, reason: CloseReason) {
            self.closed.push((info.id, reason));
        }
    }

    fn rec() -> Recorder {
        Recorder {
            server_port: 2181,
            ..Default::default()
        }
    }

    const C: &str = "10.0.0.1:40000";
    const S: &str = "10.0.0.2:2181";

    /// A segment between the test client and server (also the TLS layer's tests').
    pub(crate) fn seg<'a>(from_client: bool, seq: u32, payload: &'a [u8]) -> TcpSegment<'a> {
        let (src, dst) = if from_client { (C, S) } else { (S, C) };
        TcpSegment {
            src: src.parse().expect("addr"),
            dst: dst.parse().expect("addr"),
            seq,
            ack: None,
            syn: false,
            fin: false,
            rst: false,
            payload,
            missing: 0,
        }
    }

    fn t(ms: i64) -> Timestamp {
        Timestamp(ms * 1_000_000)
    }

    fn handshake(r: &mut Reassembler<()>, h: &mut Recorder, isn_c: u32, isn_s: u32) {
        let mut syn = seg(true, isn_c, b"");
        syn.syn = true;
        r.segment(&syn, t(0), h);
        let mut synack = seg(false, isn_s, b"");
        synack.syn = true;
        synack.ack = Some(isn_c.wrapping_add(1));
        r.segment(&synack, t(0), h);
    }

    #[test]
    fn in_order_both_directions_then_fin_closes() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let mut h = rec();
        handshake(&mut r, &mut h, 100, 5000);
        r.segment(&seg(true, 101, b"hello "), t(1), &mut h);
        r.segment(&seg(true, 107, b"world"), t(2), &mut h);
        r.segment(&seg(false, 5001, b"reply"), t(3), &mut h);
        let mut fin_c = seg(true, 112, b"");
        fin_c.fin = true;
        r.segment(&fin_c, t(4), &mut h);
        assert!(h.closed.is_empty(), "half-close keeps the connection");
        let mut fin_s = seg(false, 5006, b"!");
        fin_s.fin = true;
        r.segment(&fin_s, t(5), &mut h);
        assert_eq!(h.streams[&(0, 0)], b"hello world");
        assert_eq!(h.streams[&(0, 1)], b"reply!");
        assert_eq!(h.closed, vec![(0, CloseReason::Fin)]);
        assert_eq!(r.stats.flows, 1);
        assert_eq!(r.stats.midstream_flows, 0);
        // A late ACK after close is absorbed, not a new flow.
        let mut ack = seg(true, 113, b"");
        ack.ack = Some(5008);
        r.segment(&ack, t(6), &mut h);
        assert_eq!(r.stats.flows, 1);
    }

    #[test]
    fn reordering_retransmission_and_overlap() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let mut h = rec();
        handshake(&mut r, &mut h, 0, 0);
        r.segment(&seg(true, 6, b"fghij"), t(1), &mut h); // ahead of a hole
        assert!(!h.streams.contains_key(&(0, 0)));
        r.segment(&seg(true, 1, b"abcde"), t(2), &mut h); // fills it
        r.segment(&seg(true, 1, b"abcde"), t(3), &mut h); // pure retransmission
        r.segment(&seg(true, 9, b"ijklm"), t(4), &mut h); // overlaps "ij"
        assert_eq!(h.streams[&(0, 0)], b"abcdefghijklm");
        assert_eq!(r.stats.out_of_order, 1);
        assert_eq!(r.stats.retransmits, 1);
        assert_eq!(r.stats.overlaps, 1);
        assert_eq!(r.stats.gaps, 0);
    }

    #[test]
    fn sequence_numbers_wrap_around() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let mut h = rec();
        let isn = u32::MAX - 3;
        handshake(&mut r, &mut h, isn, 7);
        r.segment(&seg(true, isn.wrapping_add(1), b"abcdef"), t(1), &mut h);
        r.segment(&seg(true, isn.wrapping_add(11), b"klm"), t(2), &mut h);
        r.segment(&seg(true, isn.wrapping_add(7), b"ghij"), t(3), &mut h);
        assert_eq!(h.streams[&(0, 0)], b"abcdefghijklm");
        assert_eq!(r.stats.gaps, 0);
    }

    #[test]
    fn acknowledged_hole_becomes_a_gap_at_once() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let mut h = rec();
        handshake(&mut r, &mut h, 0, 0);
        r.segment(&seg(true, 1, b"aaaa"), t(1), &mut h);
        // The sniffer missed bytes 5..9; the server acknowledges them.
        let mut ack = seg(false, 1, b"");
        ack.ack = Some(13);
        r.segment(&ack, t(2), &mut h);
        r.segment(&seg(true, 9, b"cccc"), t(3), &mut h);
        assert_eq!(h.streams[&(0, 0)], b"aaaacccc");
        assert_eq!(h.gaps[&(0, 0)], vec![(4, 4)]);
        assert_eq!(r.stats.gap_bytes, 4);
    }

    #[test]
    fn unacknowledged_hole_waits_then_times_out() {
        let mut r = Reassembler::new(ReassemblyConfig {
            hole_timeout_ns: 2_000_000_000,
            ..Default::default()
        });
        let mut h = rec();
        handshake(&mut r, &mut h, 0, 0);
        r.segment(&seg(true, 5, b"late"), t(10), &mut h);
        assert!(!h.streams.contains_key(&(0, 0)));
        // Other traffic moves capture time on; the sweep gives the hole up.
        r.segment(&seg(false, 1, b"x"), t(1_500), &mut h);
        assert!(!h.streams.contains_key(&(0, 0)));
        r.segment(&seg(false, 2, b"y"), t(3_500), &mut h);
        assert_eq!(h.streams[&(0, 0)], b"late");
        assert_eq!(h.gaps[&(0, 0)], vec![(0, 4)]);
    }

    #[test]
    fn midstream_flow_is_tracked_from_first_segment_and_pure_acks_are_not_flows() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let mut h = rec();
        let mut ack = seg(true, 77, b"");
        ack.ack = Some(1);
        r.segment(&ack, t(0), &mut h);
        assert_eq!(r.stats.flows, 0);
        r.segment(&seg(false, 9000, b"tail of something"), t(1), &mut h);
        r.segment(&seg(true, 77, b"req"), t(2), &mut h);
        assert_eq!(r.stats.flows, 1);
        assert_eq!(r.stats.midstream_flows, 1);
        assert_eq!(h.streams[&(0, 1)], b"tail of something");
        assert_eq!(h.streams[&(0, 0)], b"req");
        r.finish(t(3), &mut h);
        assert_eq!(h.closed, vec![(0, CloseReason::EndOfCapture)]);
    }

    #[test]
    fn snaplen_truncated_segment_delivers_a_gap_for_its_tail() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let mut h = rec();
        handshake(&mut r, &mut h, 0, 0);
        let mut cut = seg(true, 1, b"head");
        cut.missing = 96;
        r.segment(&cut, t(1), &mut h);
        r.segment(&seg(true, 101, b"next"), t(2), &mut h);
        assert_eq!(h.streams[&(0, 0)], b"headnext");
        assert_eq!(h.gaps[&(0, 0)], vec![(4, 96)]);
    }

    #[test]
    fn reset_closes_and_new_syn_restarts() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let mut h = rec();
        handshake(&mut r, &mut h, 0, 0);
        let mut rst = seg(false, 1, b"");
        rst.rst = true;
        r.segment(&rst, t(1), &mut h);
        assert_eq!(h.closed, vec![(0, CloseReason::Reset)]);
        handshake(&mut r, &mut h, 1000, 2000);
        r.segment(&seg(true, 1001, b"again"), t(2), &mut h);
        assert_eq!(h.streams[&(1, 0)], b"again");
        assert_eq!(r.stats.flows, 2);
    }

    #[test]
    fn flow_table_is_bounded_by_eviction() {
        let mut r = Reassembler::new(ReassemblyConfig {
            max_flows: 64,
            ..Default::default()
        });
        let mut h = rec();
        for i in 0..10_000u32 {
            let mut s = seg(true, 1, b"x");
            s.src = SocketAddr::new([10, (i >> 16) as u8, (i >> 8) as u8, i as u8].into(), 1000);
            r.segment(&s, t(i as i64), &mut h);
            assert!(r.tracked_flows() <= 64);
        }
        assert_eq!(r.stats.flows, 10_000);
        assert!(r.stats.flows_evicted >= 10_000 - 64);
    }

    #[test]
    fn out_of_order_buffer_is_bounded() {
        let mut r = Reassembler::new(ReassemblyConfig {
            max_buffered_per_flow: 1000,
            ..Default::default()
        });
        let mut h = rec();
        handshake(&mut r, &mut h, 0, 0);
        let chunk = [7u8; 100];
        for i in 0..50u32 {
            r.segment(&seg(true, 1_000 + i * 100, &chunk), t(1), &mut h);
            assert!(r.buffered_bytes() <= 1000);
        }
        assert!(r.stats.buffer_limit_hits > 0);
        assert_eq!(h.gaps[&(0, 0)][0], (0, 999));
    }

    proptest! {
        /// Any reordering and duplication of a stream's segments, without loss, delivers
        /// exactly the original bytes; with loss, every delivered byte sits at its original
        /// offset and data plus gaps account for the whole stream.
        #[test]
        fn any_order_delivers_original_bytes(
            data in proptest::collection::vec(any::<u8>(), 1..2000),
            cuts in proptest::collection::vec(1usize..200, 1..40),
            order_seed in any::<u64>(),
            dup_mask in any::<u64>(),
            drop_mask in any::<u64>(),
            lose in any::<bool>(),
            isn in any::<u32>(),
        ) {
            let mut pieces = Vec::new();
            let mut pos = 0;
            for c in cuts.iter().cycle() {
                if pos >= data.len() { break; }
                let end = (pos + c).min(data.len());
                pieces.push((pos, end));
                pos = end;
            }
            let mut order: Vec<usize> = (0..pieces.len()).collect();
            let mut x = order_seed | 1;
            for i in (1..order.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                order.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let mut r = Reassembler::new(ReassemblyConfig::default());
            let mut h = rec();
            handshake(&mut r, &mut h, isn, 1);
            for (k, &i) in order.iter().enumerate() {
                if lose && (drop_mask >> (k % 64)) & 1 == 1 && i != 0 { continue; }
                let (a, b) = pieces[i];
                let s = seg(true, isn.wrapping_add(1 + a as u32), &data[a..b]);
                r.segment(&s, t(1), &mut h);
                if (dup_mask >> (k % 64)) & 1 == 1 {
                    r.segment(&s, t(1), &mut h);
                }
            }
            r.finish(t(2), &mut h);
            let got = h.streams.get(&(0, 0)).cloned().unwrap_or_default();
            let gaps = h.gaps.get(&(0, 0)).cloned().unwrap_or_default();
            if !lose {
                prop_assert_eq!(&got, &data);
                prop_assert!(gaps.is_empty());
            } else {
                // Rebuild positions: walk delivered bytes and gaps in order.
                let mut offset = 0usize;
                let mut delivered = 0usize;
                let mut gi = 0;
                while delivered < got.len() || gi < gaps.len() {
                    if gi < gaps.len() && gaps[gi].0 == delivered {
                        offset += gaps[gi].1 as usize;
                        gi += 1;
                        continue;
                    }
                    prop_assert_eq!(got[delivered], data[offset]);
                    delivered += 1;
                    offset += 1;
                }
                prop_assert!(offset <= data.len());
            }
        }
    }
}
