//! Write-path tracing (`zk-dump --trace-writes`, the stats daemon's stage histograms): each
//! client write followed from its request through the follower's forward, the leader's
//! PROPOSAL, the quorum's ACKs and the COMMIT, back to the reply.
//!
//! - `taps`: sightings from the client port (a [`ZkSink`](crate::zk::ZkSink)) and the quorum
//!   port (zab-dump's handler's tap).
//! - `tracer`: the join, a pure state machine over sightings in time order.
//! - `merge`: several hosts' captures, their clocks aligned on shared quorum packets, and
//!   their sightings merged by time; `hosts` reads them side by side.
//! - `report`: the JSON lines and the stage tables.

mod hosts;
mod merge;
mod report;
mod taps;
mod tracer;

pub use hosts::{trace_captures, CaptureRun, HostsOptions, HostsRun};
pub use merge::{estimate_offsets, merge_streams, ClockOffset};
pub use report::{TraceJson, WriteStats};
pub use taps::{lock, quorum_seen, SharedSightings, Sightings, TraceTap};
pub use tracer::{
    AckFrom, Link, Seen, Sighting, Stage, Stages, TraceCounts, WriteReply, WriteTrace, WriteTracer,
    GRACE_NS,
};

use crate::output::{Format, Printer};
use crate::ports::ByPort;
use crate::zab::{QuorumTap, ZabDump, ZabOptions};
use crate::zk::{ZkHandler, ZkOptions};
use std::io::Write;
use std::sync::{Arc, Mutex};
use zkwire_capture::Timestamp;

/// The client-port and quorum-port handlers of one capture, both sighting into one place.
pub type TraceHandler = ByPort<ZkHandler<TraceTap>, ZabDump<std::io::Sink>>;

/// A new shared [`Sightings`].
pub fn shared(sightings: Sightings) -> SharedSightings {
    Arc::new(Mutex::new(sightings))
}

/// A shared tracer: sightings traced as they come (`voters`, when the user gave them).
pub fn tracing(voters: Option<usize>) -> SharedSightings {
    shared(Sightings::Trace(Box::new(WriteTracer::new(voters))))
}

/// The quorum port's tap: sights the packets that belong to a write's path into `to`.
pub fn quorum_tap(to: SharedSightings) -> Box<QuorumTap> {
    Box::new(move |ts, info, direction, packet, sid| {
        if let Some(seen) = quorum_seen(info, direction, packet, sid) {
            lock(&to).push(Sighting { ts, seen });
        }
    })
}

/// Handlers for the client ports `zk.ports` and the quorum ports `quorum_ports`, sighting
/// into `to`.
pub fn handler(zk: ZkOptions, quorum_ports: Vec<u16>, to: SharedSightings) -> TraceHandler {
    ByPort {
        first: ZkHandler::new(zk, TraceTap::new(to.clone())),
        second: quorum_handler(quorum_ports, Some(to)),
    }
}

/// A handler for the quorum ports that prints nothing and sights into `to`, if given.
pub fn quorum_handler(ports: Vec<u16>, to: Option<SharedSightings>) -> ZabDump<std::io::Sink> {
    let options = ZabOptions {
        ports,
        include_pings: false,
        types: Vec::new(),
    };
    let mut quorum = ZabDump::new(
        options,
        Printer::new(std::io::sink(), Format::Json, true, false, None),
    );
    quorum.print = false;
    quorum.tap = to.map(quorum_tap);
    quorum
}

/// Moves `tracing`'s tracer to capture time `now` (`None`: the end of the input, every reply
/// still held is traced) and hands each trace made to `take`.
pub fn drain(tracing: &SharedSightings, now: Option<Timestamp>, mut take: impl FnMut(WriteTrace)) {
    if let Sightings::Trace(tracer) = &mut *lock(tracing) {
        match now {
            Some(now) => tracer.advance(now),
            None => tracer.finish(),
        }
        tracer.done.drain(..).for_each(&mut take);
    }
}

/// Where traces go: printed as JSON lines as they are made, or into the tables.
pub enum TraceOutput<W: Write> {
    /// One JSON object per trace.
    Json(Printer<W>),
    /// The stage tables, printed at the end.
    Table(Box<WriteStats>, Printer<W>),
}

impl<W: Write> TraceOutput<W> {
    /// Takes the traces `tracer` has made.
    pub fn take(&mut self, tracer: &mut WriteTracer) {
        tracer.done.drain(..).for_each(|t| self.push(t));
    }

    /// Takes one trace.
    pub fn push(&mut self, trace: WriteTrace) {
        match self {
            TraceOutput::Json(printer) => {
                if let Ok(line) = serde_json::to_string(&TraceJson(&trace)) {
                    printer.print(&line);
                }
            }
            TraceOutput::Table(stats, _) => stats.observe(trace),
        }
    }

    /// The end: the tables are printed (with what became of every write and the voters, when
    /// the user gave them); returns the printer.
    pub fn finish(self, counts: &TraceCounts, voters: Option<usize>) -> Printer<W> {
        match self {
            TraceOutput::Json(mut printer) => {
                printer.flush();
                printer
            }
            TraceOutput::Table(stats, mut printer) => {
                for line in stats.text(counts, voters) {
                    printer.print(&line);
                }
                printer.flush();
                printer
            }
        }
    }
}
