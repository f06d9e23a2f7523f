//! Several hosts' captures traced as one (`zk-dump --trace-writes -r s1.pcap -r s2.pcap …`):
//! the clocks are aligned on the head of each capture ([`super::estimate_offsets`]), then every
//! capture is read on its own thread, moved onto the first one's clock, and what they show is
//! merged by time into one tracer ([`super::merge_streams`]): bounded memory, every core.

use super::{estimate_offsets, handler, lock, merge_streams, shared};
use super::{ClockOffset, Sightings, WriteTracer};
use crate::input::drive;
use crate::zk::{ZkCounts, ZkOptions};
use std::path::{Path, PathBuf};
use zkwire_capture::{CaptureStats, FileSource, ReassemblyConfig, RunOutcome, SourceError};

/// Quorum packets read from the head of each capture to align the clocks.
const OFFSET_PACKETS: usize = 200_000;

/// How to read each capture.
#[derive(Debug, Clone)]
pub struct HostsOptions {
    /// The client side: ports, filters.
    pub zk: ZkOptions,
    /// The leader's quorum ports.
    pub quorum_ports: Vec<u16>,
    /// The reassembler's settings.
    pub reassembly: ReassemblyConfig,
    /// Voting members, when known.
    pub voters: Option<usize>,
    /// The NSS key log that decrypts TLS connections.
    pub tls_keylog: Option<std::path::PathBuf>,
}

/// One capture's reading.
#[derive(Debug)]
pub struct CaptureRun {
    /// How it ended.
    pub outcome: RunOutcome,
    /// The capture counters.
    pub capture: CaptureStats,
    /// The client-port counters.
    pub zk: ZkCounts,
}

/// What tracing several captures gave.
#[derive(Debug)]
pub struct HostsRun {
    /// The tracer, every reply traced (its counts final).
    pub tracer: WriteTracer,
    /// Each capture's reading, in the order given.
    pub captures: Vec<CaptureRun>,
    /// Each capture's clock against the first's.
    pub offsets: Vec<ClockOffset>,
}

/// Traces `paths` as one: `aligned` is told the clock offsets once they are known, `take` is
/// handed the tracer whenever it may have made traces (to drain [`WriteTracer::done`]).
pub fn trace_captures(
    paths: &[PathBuf],
    opts: &HostsOptions,
    aligned: impl FnOnce(&[ClockOffset]),
    mut take: impl FnMut(&mut WriteTracer),
) -> Result<HostsRun, SourceError> {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let mut heads = Vec::new();
    for path in paths {
        let head = Sightings::Head {
            seen: Vec::new(),
            cap: OFFSET_PACKETS,
        };
        if let (_, Sightings::Head { seen, .. }) = read_capture(opts, path, head)? {
            heads.push(seen);
        }
    }
    let offsets = estimate_offsets(&names, &heads);
    drop(heads);
    aligned(&offsets);
    let mut streams = Vec::new();
    let mut readers = Vec::new();
    for (path, offset) in paths.iter().zip(&offsets) {
        let (to, stream) = std::sync::mpsc::sync_channel(1 << 16);
        let send = Sightings::Send {
            to,
            shift_ns: offset.offset_ns,
        };
        let (opts, path) = (opts.clone(), path.clone());
        readers.push(std::thread::spawn(move || {
            read_capture(&opts, &path, send).map(|(run, _)| run)
        }));
        streams.push(stream);
    }
    let mut tracer = WriteTracer::new(opts.voters);
    merge_streams(streams, |sighting| {
        tracer.sight(sighting);
        take(&mut tracer);
    });
    tracer.finish();
    take(&mut tracer);
    let mut captures = Vec::new();
    for reader in readers {
        // A reader that panicked is a bug; its capture is then reported as unreadable.
        let run = reader.join().unwrap_or_else(|_| {
            Err(SourceError::Io {
                what: "a capture reader".into(),
                source: std::io::Error::other("the reader thread failed"),
            })
        })?;
        captures.push(run);
    }
    Ok(HostsRun {
        tracer,
        captures,
        offsets,
    })
}

/// Reads one capture through the trace handlers into `into`; returns its reading and `into`.
fn read_capture(
    opts: &HostsOptions,
    path: &Path,
    into: Sightings,
) -> Result<(CaptureRun, Sightings), SourceError> {
    let to = shared(into);
    let mut handler = handler(opts.zk.clone(), opts.quorum_ports.clone(), to.clone());
    let mut source = FileSource::open(path)?;
    let (outcome, capture) = drive(
        &mut source,
        &mut handler,
        opts.reassembly.clone(),
        false,
        opts.tls_keylog.as_deref(),
    );
    let zk = handler.first.counts.clone();
    drop(handler);
    let empty = Sightings::Head {
        seen: Vec::new(),
        cap: 0,
    };
    let into = std::mem::replace(&mut *lock(&to), empty);
    let run = CaptureRun {
        outcome,
        capture,
        zk,
    };
    Ok((run, into))
}
