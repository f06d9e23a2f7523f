//! The loop every tool runs: packets from a source, through link decoding and reassembly, into
//! the tool's [`StreamHandler`].

use crate::link::{decode_tcp, Skip};
use crate::reassembly::{Reassembler, StreamHandler};
use crate::source::{Next, PacketSource, RawPacket, SourceError};
use crate::stats::CaptureStats;
use crate::time::Timestamp;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Counts a packet read (both runners count the same way).
pub(crate) fn count_read(stats: &mut CaptureStats, packet: &RawPacket<'_>) {
    stats.packets += 1;
    stats.bytes += packet.data.len() as u64;
    if (packet.data.len() as u64) < packet.orig_len as u64 {
        stats.truncated += 1;
    }
}

/// Counts a packet that carries no TCP segment, by why.
pub(crate) fn count_skip(stats: &mut CaptureStats, skip: Skip) {
    match skip {
        Skip::NotTcp => stats.not_tcp += 1,
        Skip::Fragment => stats.ip_fragments += 1,
        Skip::UnsupportedLink => stats.unsupported_link += 1,
        Skip::Malformed => stats.malformed += 1,
    }
}

/// Copies a live source's drop counters, when it has them.
pub(crate) fn note_drops<S: PacketSource + ?Sized>(stats: &mut CaptureStats, source: &mut S) {
    if let Some((kernel, iface)) = source.drops() {
        stats.live = true;
        stats.kernel_drops = kernel;
        stats.interface_drops = iface;
    }
}

/// A flag another thread (a signal handler, a server) can raise to stop the loop.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A lowered flag.
    pub fn new() -> StopFlag {
        StopFlag::default()
    }

    /// Raises the flag.
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the flag was raised.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A periodic callback with the current capture time and counters.
pub type TickFn<'a> = dyn FnMut(Timestamp, &CaptureStats) + 'a;

/// Capture time between two ticks at most, nanoseconds.
const TICK_NS: i64 = 1_000_000_000;

/// Options of [`run`].
#[non_exhaustive]
pub struct PipelineOptions<'a> {
    /// Checked between packets and on idle wakeups.
    pub stop: StopFlag,
    /// Called every `progress_every` packets with (bytes read, total bytes if known).
    pub progress: Option<&'a mut dyn FnMut(u64, Option<u64>)>,
    /// How often to report progress, in packets.
    pub progress_every: u64,
    /// Called on idle wakeups, every `progress_every` packets and once per second of capture
    /// time, with the current capture time
    /// (for periodic work such as publishing statistics).
    pub on_tick: Option<&'a mut TickFn<'a>>,
}

impl Default for PipelineOptions<'_> {
    fn default() -> Self {
        PipelineOptions {
            stop: StopFlag::new(),
            progress: None,
            progress_every: 4096,
            on_tick: None,
        }
    }
}

/// How the loop ended.
#[derive(Debug)]
#[non_exhaustive]
pub struct RunOutcome {
    /// Timestamp of the last packet seen.
    pub last_ts: Option<Timestamp>,
    /// Whether the loop stopped because of the stop flag or the handler, not the input's end.
    pub stopped: bool,
    /// The error that ended the input early, if any (what came before it was still decoded).
    pub error: Option<SourceError>,
    /// The capture's counters at the end (packets, bytes, flows, gaps, retransmissions…).
    pub capture: CaptureStats,
}

/// The shortest way from a capture file to a handler's events: reads the whole file at `path`
/// (pcap or pcapng) through a [`Reassembler`] with the default settings into `handler`.
///
/// Fails only when the file cannot be opened or is not a capture; damage later in the file is
/// reported in [`RunOutcome::error`] after everything before it was decoded.
pub fn run_file<H: StreamHandler>(
    path: impl AsRef<std::path::Path>,
    handler: &mut H,
) -> Result<RunOutcome, SourceError> {
    let mut source = crate::source::FileSource::open(path.as_ref())?;
    let mut reassembler = Reassembler::new(crate::reassembly::ReassemblyConfig::default());
    Ok(run(
        &mut source,
        &mut reassembler,
        handler,
        PipelineOptions::default(),
    ))
}

/// Reads every packet of `source` into `reassembler` and `handler`, then ends all connections.
pub fn run<S, H>(
    source: &mut S,
    reassembler: &mut Reassembler<H::Conn>,
    handler: &mut H,
    mut options: PipelineOptions<'_>,
) -> RunOutcome
where
    S: PacketSource + ?Sized,
    H: StreamHandler,
{
    let mut last_ts = None;
    let mut last_tick = None;
    let mut stopped = false;
    let mut error = None;
    let every = options.progress_every.max(1);
    // The packet count of the next periodic call (a comparison per packet, not a division).
    let mut next_call = every;
    loop {
        if options.stop.is_stopped() || !handler.wants_more() {
            stopped = true;
            break;
        }
        let packet = match source.next_packet() {
            Ok(Next::Packet(p)) => p,
            Ok(Next::Idle) => {
                if let (Some(tick), Some(ts)) = (options.on_tick.as_mut(), last_ts) {
                    tick(ts, &reassembler.stats);
                }
                continue;
            }
            Ok(Next::End) => break,
            Err(e) => {
                error = Some(e);
                break;
            }
        };
        count_read(&mut reassembler.stats, &packet);
        let ts = packet.ts;
        last_ts = Some(ts);
        match decode_tcp(packet.link, packet.data) {
            Ok(segment) => reassembler.segment(&segment, ts, handler),
            Err(skip) => count_skip(&mut reassembler.stats, skip),
        }
        // Every `progress_every` packets, and at least once per second of capture time (so
        // a live consumer's periodic work, or a slow trickle of packets, is not held back).
        let second_passed =
            last_tick.is_none_or(|t: Timestamp| ts.0.saturating_sub(t.0) >= TICK_NS);
        let count_reached = reassembler.stats.packets == next_call;
        if count_reached {
            next_call += every;
        }
        if count_reached || second_passed {
            last_tick = Some(ts);
            if let Some(progress) = options.progress.as_mut() {
                let (done, total) = source.progress();
                progress(done, total);
            }
            note_drops(&mut reassembler.stats, source);
            if let Some(tick) = options.on_tick.as_mut() {
                tick(ts, &reassembler.stats);
            }
        }
    }
    note_drops(&mut reassembler.stats, source);
    reassembler.finish(last_ts.unwrap_or_default(), handler);
    RunOutcome {
        last_ts,
        stopped,
        error,
        capture: reassembler.stats.clone(),
    }
}
