//! One capture read on several threads: [`run_sharded`] reads the packets on the calling
//! thread and deals each TCP connection, by a hash of its two endpoints taken either way round,
//! to one of `N` shard threads, each with its own [`Reassembler`] and handler. A connection's
//! packets thus reach its handler in capture order, exactly as with [`run`](crate::run); what
//! differs is only the order of callbacks *between* connections of different shards, so a
//! consumer whose result does not depend on that order (counts, histograms, per-connection
//! pairing) gets the same result as from one thread, once the shards' results are merged.
//!
//! Time-driven work stays as one thread would do it: the reader decides when the reassembler's
//! once-a-second sweep (idle connections, old holes) is due, with the same rule, and every shard
//! sweeps at that point of its own stream. The limits of [`ReassemblyConfig`] (flows, memory)
//! are divided between the shards.
//!
//! A capture *file* can go faster still with [`run_sharded_reads`]: every shard thread reads
//! the file itself (the kernel caches its pages once for all of them) and skips the
//! connections of the other shards, so no packet is copied or handed between threads and no
//! thread only reads. Each thread pays for reading and slicing every packet, and decodes only
//! its share.

use crate::link::{decode_tcp, LinkType, TcpSegment};
use crate::pipeline::{count_read, count_skip, note_drops, RunOutcome, StopFlag};
use crate::reassembly::{FlowKey, Reassembler, ReassemblyConfig, StreamHandler};
use crate::source::{Next, PacketSource, RawPacket};
use crate::stats::CaptureStats;
use crate::time::Timestamp;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Packets per batch handed to a shard (and bytes, whichever fills first): large enough that
/// the hand-over costs little per packet, small enough to keep the shards busy together.
const BATCH_PACKETS: usize = 1024;
const BATCH_BYTES: usize = 256 << 10;
/// Batches in flight per shard: bounds memory (a few MiB per shard) whatever the speeds.
const IN_FLIGHT: usize = 4;
/// Capture time between two sweeps, as the reassembler keeps it.
const SWEEP_NS: i64 = 1_000_000_000;

/// Options of [`run_sharded`].
#[non_exhaustive]
pub struct ShardOptions<'a> {
    /// Checked between packets.
    pub stop: StopFlag,
    /// Called every `progress_every` packets with (bytes read, total bytes if known).
    pub progress: Option<&'a mut dyn FnMut(u64, Option<u64>)>,
    /// How often to report progress, in packets.
    pub progress_every: u64,
}

impl Default for ShardOptions<'_> {
    fn default() -> Self {
        ShardOptions {
            stop: StopFlag::new(),
            progress: None,
            progress_every: 16_384,
        }
    }
}

/// One item of a shard's input.
enum Item {
    /// A packet: its bytes are `bytes[start..end]` of the batch.
    Packet {
        ts: Timestamp,
        link: LinkType,
        start: usize,
        end: usize,
    },
    /// The sweep one reassembler would run now.
    Sweep(Timestamp),
    /// The capture time of the input's last packet (of any shard, or not TCP at all): where
    /// the connections still open end, as with one reassembler.
    End(Timestamp),
}

/// Packets (and sweeps) for one shard, in capture order.
#[derive(Default)]
struct Batch {
    items: Vec<Item>,
    bytes: Vec<u8>,
}

impl Batch {
    fn is_full(&self) -> bool {
        self.items.len() >= BATCH_PACKETS || self.bytes.len() >= BATCH_BYTES
    }

    fn clear(&mut self) {
        self.items.clear();
        self.bytes.clear();
    }
}

/// The reader's end of one shard: where its batches go and come back empty for reuse.
struct Lane {
    filling: Batch,
    to_shard: SyncSender<Batch>,
    spare: Receiver<Batch>,
}

impl Lane {
    fn send(&mut self) {
        if self.filling.items.is_empty() {
            return;
        }
        let mut next = self.spare.try_recv().unwrap_or_default();
        next.clear();
        let full = std::mem::replace(&mut self.filling, next);
        // A shard that panicked has hung up; its panic is raised when it is joined.
        let _ = self.to_shard.send(full);
    }
}

/// When the reassembler's once-a-second sweep is due, by its own rule: once the capture time of
/// a TCP segment passes the next due time.
#[derive(Default)]
struct SweepClock(Option<Timestamp>);

impl SweepClock {
    /// Whether a sweep is due before the segment captured at `ts`.
    fn due(&mut self, ts: Timestamp) -> bool {
        match self.0 {
            Some(at) if ts < at => false,
            next => {
                self.0 = Some(ts.plus_nanos(SWEEP_NS));
                next.is_some()
            }
        }
    }
}

/// Which shard a connection goes to: the same for both directions.
///
/// Every shard works this out for every packet, so it hashes the flow table's packed key (a
/// few word-sized writes) rather than the two `SocketAddr`s (a dozen writes), and maps the hash
/// to a shard by a multiplication (its high bits), not a hardware division.
fn shard_of(hasher: &foldhash::fast::FixedState, a: SocketAddr, b: SocketAddr, n: usize) -> usize {
    let hash = hasher.hash_one(FlowKey::of(a, b));
    ((u128::from(hash) * n as u128) >> 64) as usize
}

/// Reads `source` to its end on this thread, dealing its TCP connections to `shards` threads,
/// each running a reassembler into the handler `make(i)` gives for shard `i`. Returns how the
/// input ended, with the counters of all shards added up, and the shards' handlers, in order, to
/// merge their results.
pub fn run_sharded<S, H, F>(
    source: &mut S,
    shards: usize,
    config: ReassemblyConfig,
    mut make: F,
    options: ShardOptions<'_>,
) -> (RunOutcome, Vec<H>)
where
    S: PacketSource + ?Sized,
    H: StreamHandler + Send,
    F: FnMut(usize) -> H,
{
    let n = shards.max(1);
    let per_shard = ReassemblyConfig {
        max_flows: (config.max_flows / n).max(1),
        max_memory: config.max_memory / n,
        max_buffered_total: config.max_buffered_total / n,
        ..config
    };
    let handlers: Vec<H> = (0..n).map(&mut make).collect();
    std::thread::scope(|scope| {
        let mut lanes = Vec::with_capacity(n);
        let mut joins = Vec::with_capacity(n);
        for (i, handler) in handlers.into_iter().enumerate() {
            let (to_shard, from_reader) = sync_channel::<Batch>(IN_FLIGHT);
            let (give_back, spare) = sync_channel::<Batch>(IN_FLIGHT + 1);
            let config = per_shard.clone();
            joins.push(
                scope.spawn(move || {
                    shard(i as u64, n as u64, config, handler, from_reader, give_back)
                }),
            );
            lanes.push(Lane {
                filling: Batch::default(),
                to_shard,
                spare,
            });
        }
        let read = read(source, &mut lanes, options);
        for lane in &mut lanes {
            if let Some(ts) = read.last_ts {
                lane.filling.items.push(Item::End(ts));
            }
            lane.send();
        }
        drop(lanes);
        conclude(read, joins.into_iter().map(join))
    })
}

/// A shard thread's result; its panic, if it panicked, is raised here.
fn join<T>(thread: std::thread::ScopedJoinHandle<'_, T>) -> T {
    thread
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// How a sharded run ended: the reading's outcome, with each shard's connection counters added
/// to the packet counters, and the shards' handlers, in order.
fn conclude<H>(
    read: Read,
    shards: impl IntoIterator<Item = (H, CaptureStats)>,
) -> (RunOutcome, Vec<H>) {
    let mut capture = read.stats;
    let mut handlers = Vec::new();
    for (handler, stats) in shards {
        capture.add(&stats);
        handlers.push(handler);
    }
    let outcome = RunOutcome {
        last_ts: read.last_ts,
        stopped: read.stopped,
        error: read.error,
        capture,
    };
    (outcome, handlers)
}

/// What the reader saw.
#[derive(Default)]
struct Read {
    stats: CaptureStats,
    last_ts: Option<Timestamp>,
    stopped: bool,
    error: Option<crate::source::SourceError>,
}

/// Progress reporting: the callback and every how many packets.
type Progress<'a> = (&'a mut dyn FnMut(u64, Option<u64>), u64);

/// Reads `source` to its end (or until `stop`), counting every packet and what is not TCP, and
/// hands each TCP segment to `each` with its capture time and raw packet. Both ways of sharding
/// read this way: the reader of [`run_sharded`] and every thread of [`run_sharded_reads`].
fn read_packets<S: PacketSource + ?Sized>(
    source: &mut S,
    stop: &StopFlag,
    mut progress: Option<Progress<'_>>,
    mut each: impl FnMut(Timestamp, &RawPacket<'_>, &TcpSegment<'_>),
) -> Read {
    let mut out = Read::default();
    // The packet count of the next report: a comparison per packet, not a division.
    let mut next_report = progress.as_ref().map_or(0, |p| p.1.max(1));
    loop {
        if stop.is_stopped() {
            out.stopped = true;
            break;
        }
        let packet = match source.next_packet() {
            Ok(Next::Packet(p)) => p,
            Ok(Next::Idle) => continue,
            Ok(Next::End) => break,
            Err(e) => {
                out.error = Some(e);
                break;
            }
        };
        count_read(&mut out.stats, &packet);
        let ts = packet.ts;
        out.last_ts = Some(ts);
        match decode_tcp(packet.link, packet.data) {
            Ok(segment) => each(ts, &packet, &segment),
            Err(skip) => count_skip(&mut out.stats, skip),
        }
        if let Some((report, every)) = progress.as_mut() {
            if out.stats.packets == next_report {
                next_report += (*every).max(1);
                let (done, total) = source.progress();
                report(done, total);
            }
        }
    }
    note_drops(&mut out.stats, source);
    out
}

/// The reader: decodes each packet far enough to know its connection and appends it to that
/// shard's batch; counts what is not TCP; tells every shard when a sweep is due.
fn read<S: PacketSource + ?Sized>(
    source: &mut S,
    lanes: &mut [Lane],
    mut options: ShardOptions<'_>,
) -> Read {
    let hasher = foldhash::fast::FixedState::with_seed(0x5eed);
    let n = lanes.len();
    let every = options.progress_every;
    let progress = options.progress.take().map(|report| (report, every));
    let mut sweeps = SweepClock::default();
    read_packets(source, &options.stop, progress, |ts, packet, segment| {
        if sweeps.due(ts) {
            for lane in lanes.iter_mut() {
                lane.filling.items.push(Item::Sweep(ts));
            }
        }
        let lane = &mut lanes[shard_of(&hasher, segment.src, segment.dst, n)];
        let start = lane.filling.bytes.len();
        lane.filling.bytes.extend_from_slice(packet.data);
        lane.filling.items.push(Item::Packet {
            ts,
            link: packet.link,
            start,
            end: lane.filling.bytes.len(),
        });
        if lane.filling.is_full() {
            lane.send();
        }
    })
}

/// A shard: reassembles its connections into its handler, sweeping when told, and hands back
/// the handler with its counters once the reader hangs up.
fn shard<H: StreamHandler>(
    index: u64,
    shards: u64,
    config: ReassemblyConfig,
    mut handler: H,
    from_reader: Receiver<Batch>,
    give_back: SyncSender<Batch>,
) -> (H, CaptureStats) {
    let mut reassembler = Reassembler::new(config);
    reassembler.shard(index, shards);
    let mut last_ts = None;
    for batch in from_reader {
        for item in &batch.items {
            match *item {
                Item::Packet {
                    ts,
                    link,
                    start,
                    end,
                } => {
                    last_ts = Some(ts);
                    let data = batch.bytes.get(start..end).unwrap_or_default();
                    // The reader decoded these bytes already: only TCP segments come here.
                    if let Ok(segment) = decode_tcp(link, data) {
                        reassembler.segment(&segment, ts, &mut handler);
                    }
                }
                Item::Sweep(ts) => reassembler.sweep(ts, &mut handler),
                Item::End(ts) => last_ts = Some(ts),
            }
        }
        let _ = give_back.try_send(batch);
    }
    reassembler.finish(last_ts.unwrap_or_default(), &mut handler);
    (handler, reassembler.stats)
}

/// Reads the same capture once per shard, on as many threads: `sources[i]` is shard `i`'s own
/// reader of it (a file opened once per shard). Each thread slices every packet, keeps the
/// sweeps on the one-thread schedule, and reassembles only the connections [`run_sharded`]
/// would deal to it, into the handler `make(i)` gives. Returns how shard 0's reading ended,
/// with the packet counters of shard 0 (all of them read every packet) and the connection
/// counters of all shards added up, and the shards' handlers, in order, to merge their results.
///
/// Nothing passes between the threads, so on a machine of few cores this is the faster way
/// to spread a file over them; a stream that can be read only once (standard input, a live
/// interface) needs [`run_sharded`].
pub fn run_sharded_reads<S, H, F>(
    sources: Vec<S>,
    config: ReassemblyConfig,
    mut make: F,
    mut options: ShardOptions<'_>,
) -> (RunOutcome, Vec<H>)
where
    S: PacketSource + Send,
    H: StreamHandler + Send,
    F: FnMut(usize) -> H,
{
    let n = sources.len().max(1);
    let per_shard = ReassemblyConfig {
        max_flows: (config.max_flows / n).max(1),
        max_memory: config.max_memory / n,
        max_buffered_total: config.max_buffered_total / n,
        ..config
    };
    let mut jobs: Vec<(S, H)> = Vec::with_capacity(n);
    for (i, source) in sources.into_iter().enumerate() {
        jobs.push((source, make(i)));
    }
    let mut jobs = jobs.into_iter();
    let Some((mut first, first_handler)) = jobs.next() else {
        return conclude(Read::default(), std::iter::empty());
    };
    std::thread::scope(|scope| {
        let mut joins = Vec::with_capacity(n - 1);
        for (i, (mut source, handler)) in jobs.enumerate() {
            let config = per_shard.clone();
            let stop = options.stop.clone();
            joins.push(
                scope.spawn(move || {
                    read_share((i + 1, n), config, &mut source, handler, &stop, None)
                }),
            );
        }
        // Shard 0 reads on this thread, which reports the progress.
        let every = options.progress_every;
        let progress = options.progress.take().map(|report| (report, every));
        let (handler, read, shard_stats) = read_share(
            (0, n),
            per_shard.clone(),
            &mut first,
            first_handler,
            &options.stop,
            progress,
        );
        // Every thread read every packet: the packet counters are shard 0's alone.
        let others = joins.into_iter().map(|thread| {
            let (handler, _, stats) = join(thread);
            (handler, stats)
        });
        conclude(read, std::iter::once((handler, shard_stats)).chain(others))
    })
}

/// One thread of [`run_sharded_reads`]: reads all of `source`, reassembling shard `index`'s
/// connections into `handler`. Returns the handler, what was read (packet counters) and the
/// reassembler's counters (this shard's connections).
fn read_share<S: PacketSource + ?Sized, H: StreamHandler>(
    (index, shards): (usize, usize),
    config: ReassemblyConfig,
    source: &mut S,
    mut handler: H,
    stop: &StopFlag,
    progress: Option<Progress<'_>>,
) -> (H, Read, CaptureStats) {
    let hasher = foldhash::fast::FixedState::with_seed(0x5eed);
    let mut reassembler = Reassembler::new(config);
    reassembler.shard(index as u64, shards as u64);
    let mut sweeps = SweepClock::default();
    let read = read_packets(source, stop, progress, |ts, _, segment| {
        if sweeps.due(ts) {
            reassembler.sweep(ts, &mut handler);
        }
        if shard_of(&hasher, segment.src, segment.dst, shards) == index {
            reassembler.segment(segment, ts, &mut handler);
        }
    });
    reassembler.finish(read.last_ts.unwrap_or_default(), &mut handler);
    (handler, read, reassembler.stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{run, PipelineOptions};
    use crate::reassembly::{ClientIs, CloseReason, ConnInfo};
    use crate::source::RawPacket;
    use crate::{Direction, TcpSegment};
    use std::collections::BTreeMap;

    /// Packets held in memory (raw IPv4, link type 101).
    struct Packets {
        list: Vec<(Timestamp, Vec<u8>)>,
        next: usize,
    }

    impl PacketSource for Packets {
        fn next_packet(&mut self) -> Result<Next<'_>, crate::source::SourceError> {
            let Some((ts, data)) = self.list.get(self.next) else {
                return Ok(Next::End);
            };
            self.next += 1;
            Ok(Next::Packet(RawPacket {
                ts: *ts,
                link: LinkType::RAW,
                data,
                orig_len: data.len() as u32,
            }))
        }
    }

    /// What each connection delivered, keyed by its client: bytes per direction, gaps (when,
    /// how long), when it closed.
    type Delivered = (Vec<u8>, Vec<u8>, Vec<(i64, u64)>, Option<i64>);

    #[derive(Default)]
    struct Streams(BTreeMap<SocketAddr, Delivered>);

    impl StreamHandler for Streams {
        type Conn = SocketAddr;

        fn open(&mut self, first: &TcpSegment<'_>, _: Timestamp) -> Option<(SocketAddr, ClientIs)> {
            let side = ClientIs::for_server_ports(first, &[2181])?;
            Some((side.endpoints(first).0, side))
        }

        fn data(&mut self, c: &mut SocketAddr, _: &ConnInfo, d: Direction, _: Timestamp, b: &[u8]) {
            let entry = self.0.entry(*c).or_default();
            match d {
                Direction::ToServer => entry.0.extend_from_slice(b),
                Direction::ToClient => entry.1.extend_from_slice(b),
            }
        }

        fn gap(&mut self, c: &mut SocketAddr, _: &ConnInfo, _: Direction, ts: Timestamp, n: u64) {
            self.0.entry(*c).or_default().2.push((ts.0, n));
        }

        fn close(&mut self, c: SocketAddr, _: &ConnInfo, ts: Timestamp, _: CloseReason) {
            self.0.entry(c).or_default().3 = Some(ts.0);
        }
    }

    fn tcp(from_client: bool, client: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let (c, s) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        let builder = if from_client {
            etherparse::PacketBuilder::ipv4(c, s, 64).tcp(client, 2181, seq, 65535)
        } else {
            etherparse::PacketBuilder::ipv4(s, c, 64).tcp(2181, client, seq, 65535)
        };
        let mut out = Vec::new();
        builder.write(&mut out, payload).expect("packet");
        out
    }

    /// 50 connections interleaved, some with segments out of order, some with a hole that is
    /// only given up on by the sweep (no ACK covers it), one in a UDP packet's company.
    fn capture() -> Vec<(Timestamp, Vec<u8>)> {
        let mut list = Vec::new();
        let mut ms = 0i64;
        let at = |ms: &mut i64| {
            *ms += 7;
            Timestamp(*ms * 1_000_000)
        };
        for round in 0..6u32 {
            for conn in 0..50u16 {
                let port = 40_000 + conn;
                let payload = format!("c{conn}r{round};");
                let seq = 1000 + round * payload.len() as u32;
                // Every 7th connection loses round 2 for good: a hole, given up by the sweep.
                if conn % 7 == 0 && round == 2 {
                    continue;
                }
                list.push((at(&mut ms), tcp(true, port, seq, payload.as_bytes())));
                let reply = format!("s{conn}r{round}!");
                let rseq = 9000 + round * reply.len() as u32;
                list.push((at(&mut ms), tcp(false, port, rseq, reply.as_bytes())));
            }
            // Twelve seconds of silence now and then: sweeps fall between the rounds.
            ms += 12_000;
        }
        let udp = etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(1, 2);
        let mut datagram = Vec::new();
        udp.write(&mut datagram, b"not tcp").expect("udp");
        list.push((at(&mut ms), datagram));
        list
    }

    /// What one thread delivers from the capture, and how its run ended.
    fn one_thread() -> (Streams, RunOutcome) {
        let mut one = Streams::default();
        let mut reassembler = Reassembler::new(ReassemblyConfig::default());
        let mut source = Packets {
            list: capture(),
            next: 0,
        };
        let outcome = run(
            &mut source,
            &mut reassembler,
            &mut one,
            PipelineOptions::default(),
        );
        (one, outcome)
    }

    /// The shards' streams, together.
    fn merged(handlers: Vec<Streams>) -> BTreeMap<SocketAddr, Delivered> {
        handlers.into_iter().flat_map(|h| h.0).collect()
    }

    #[test]
    fn shards_deliver_what_one_thread_delivers() {
        let (one, single) = one_thread();
        assert!(one.0.values().any(|s| !s.2.is_empty()), "some holes");
        for shards in [1, 2, 3, 8] {
            let mut source = Packets {
                list: capture(),
                next: 0,
            };
            let (outcome, handlers) = run_sharded(
                &mut source,
                shards,
                ReassemblyConfig::default(),
                |_| Streams::default(),
                ShardOptions::default(),
            );
            assert_eq!(handlers.len(), shards);
            assert_eq!(merged(handlers), one.0, "{shards} shards");
            assert_eq!(outcome.capture, single.capture, "{shards} shards");
            assert_eq!(outcome.last_ts, single.last_ts);
        }
    }

    /// Both directions of a connection go to one shard, every shard gets a fair share of many
    /// connections, and no index is out of range.
    #[test]
    fn connections_spread_over_the_shards() {
        let hasher = foldhash::fast::FixedState::with_seed(0x5eed);
        let server = SocketAddr::from(([10, 0, 0, 2], 2181));
        for n in [1, 2, 3, 8] {
            let mut counts = vec![0usize; n];
            for port in 1024..9216u16 {
                let client = SocketAddr::from(([10, 0, 0, 1], port));
                let shard = shard_of(&hasher, client, server, n);
                assert_eq!(shard, shard_of(&hasher, server, client, n));
                counts[shard] += 1;
            }
            let fair = 8192 / n;
            assert!(counts.iter().all(|&c| c > fair * 9 / 10), "{n}: {counts:?}");
        }
    }

    /// Each shard reading the whole capture itself gives what one thread gives, counters
    /// included (the packets counted once), and reports progress from one thread.
    #[test]
    fn shards_reading_for_themselves_deliver_what_one_thread_delivers() {
        let (one, single) = one_thread();
        for shards in [1, 2, 3, 8] {
            let sources = (0..shards)
                .map(|_| Packets {
                    list: capture(),
                    next: 0,
                })
                .collect();
            let mut reports = 0;
            let mut progress = |_: u64, _: Option<u64>| reports += 1;
            let options = ShardOptions {
                progress: Some(&mut progress),
                progress_every: 100,
                ..Default::default()
            };
            let (outcome, handlers) = run_sharded_reads(
                sources,
                ReassemblyConfig::default(),
                |_| Streams::default(),
                options,
            );
            assert_eq!(handlers.len(), shards);
            assert_eq!(merged(handlers), one.0, "{shards} shards");
            assert_eq!(outcome.capture, single.capture, "{shards} shards");
            assert_eq!(outcome.last_ts, single.last_ts);
            assert_eq!(reports, capture().len() / 100, "{shards} shards");
        }
    }
}
