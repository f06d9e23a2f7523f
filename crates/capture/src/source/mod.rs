//! Where packets come from: capture files (pcap, pcapng, standard input) and, with the `live`
//! feature, network interfaces through libpcap.
//!
//! A source lends one packet at a time ([`PacketSource::next_packet`]); the packet borrows the
//! source's buffer, so nothing is copied between the file and the decoders.

mod file;
#[cfg(feature = "live")]
mod live;

pub use file::FileSource;
#[cfg(feature = "live")]
pub use live::{LiveOptions, LiveSource};

use crate::link::LinkType;
use crate::time::Timestamp;

/// One captured frame, borrowed from the source.
#[derive(Debug, Clone, Copy)]
pub struct RawPacket<'a> {
    /// When the packet was captured.
    pub ts: Timestamp,
    /// The link-layer type of `data`.
    pub link: LinkType,
    /// The captured bytes (possibly fewer than the frame had on the wire).
    pub data: &'a [u8],
    /// The frame's length on the wire.
    pub orig_len: u32,
}

/// What a source has next.
#[derive(Debug)]
pub enum Next<'a> {
    /// A packet.
    Packet(RawPacket<'a>),
    /// Nothing right now (a live capture's read timeout): a chance to check for shutdown.
    Idle,
    /// The end of the input.
    End,
}

/// A stream of captured packets.
pub trait PacketSource {
    /// The next packet, or `Idle`/`End`. Errors are fatal for this source.
    fn next_packet(&mut self) -> Result<Next<'_>, SourceError>;

    /// Bytes of input consumed so far and the total, where known (for progress bars).
    fn progress(&self) -> (u64, Option<u64>) {
        (0, None)
    }

    /// Kernel and interface drop counters, for live sources.
    fn drops(&mut self) -> Option<(u64, u64)> {
        None
    }

    /// A function another thread can call to wake up a source blocked waiting for packets (a
    /// live capture with no traffic), so that a stop request is noticed at once.
    fn interrupter(&mut self) -> Option<Box<dyn Fn() + Send + Sync>> {
        None
    }
}

/// Why a source could not deliver packets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The input could not be opened or read.
    #[error("cannot read {what}: {source}")]
    Io {
        /// The file or stream being read.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The input is empty.
    #[error("{what} is empty: not a pcap or pcapng capture")]
    Empty {
        /// The file or stream being read.
        what: String,
    },
    /// The input does not start with a pcap or pcapng header.
    #[error("{what} is not a pcap or pcapng capture (unrecognised header at offset 0)")]
    NotACapture {
        /// The file or stream being read.
        what: String,
    },
    /// The input ends in the middle of a record.
    #[error("{what} is cut short: incomplete record at offset {offset}")]
    Truncated {
        /// The file or stream being read.
        what: String,
        /// Byte offset of the incomplete record.
        offset: u64,
    },
    /// A record could not be parsed.
    #[error("{what} is damaged: unreadable record at offset {offset} ({detail})")]
    Corrupt {
        /// The file or stream being read.
        what: String,
        /// Byte offset of the bad record.
        offset: u64,
        /// What was wrong.
        detail: String,
    },
    /// The live capture failed.
    #[error("live capture on {iface}: {detail}")]
    Live {
        /// Interface name.
        iface: String,
        /// libpcap's message.
        detail: String,
    },
}

impl<S: PacketSource + ?Sized> PacketSource for Box<S> {
    fn next_packet(&mut self) -> Result<Next<'_>, SourceError> {
        (**self).next_packet()
    }

    fn progress(&self) -> (u64, Option<u64>) {
        (**self).progress()
    }

    fn drops(&mut self) -> Option<(u64, u64)> {
        (**self).drops()
    }

    fn interrupter(&mut self) -> Option<Box<dyn Fn() + Send + Sync>> {
        (**self).interrupter()
    }
}

/// The methods a source wrapping another (`self.inner`) hands on to it unchanged.
macro_rules! wrapped_source_methods {
    () => {
        fn progress(&self) -> (u64, Option<u64>) {
            self.inner.progress()
        }

        fn drops(&mut self) -> Option<(u64, u64)> {
            self.inner.drops()
        }

        fn interrupter(&mut self) -> Option<Box<dyn Fn() + Send + Sync>> {
            self.inner.interrupter()
        }
    };
}

/// Another source, with `f` shown each packet before it is handed on: pacing a replay to its
/// capture times, counting packets into statistics.
pub struct Inspect<S, F> {
    inner: S,
    f: F,
}

impl<S: PacketSource, F: FnMut(&RawPacket<'_>)> Inspect<S, F> {
    /// `inner`, each packet shown to `f` first.
    pub fn new(inner: S, f: F) -> Inspect<S, F> {
        Inspect { inner, f }
    }
}

impl<S: PacketSource, F: FnMut(&RawPacket<'_>)> PacketSource for Inspect<S, F> {
    fn next_packet(&mut self) -> Result<Next<'_>, SourceError> {
        let next = self.inner.next_packet()?;
        if let Next::Packet(p) = &next {
            (self.f)(p);
        }
        Ok(next)
    }

    wrapped_source_methods!();
}

/// The first `limit` packets of another source, then the end (tcpdump's `-c`): lets a live
/// run stop by itself once it has seen a known number of packets.
pub struct Take<S> {
    inner: S,
    left: u64,
}

impl<S: PacketSource> Take<S> {
    /// At most `limit` packets of `inner`.
    pub fn new(inner: S, limit: u64) -> Take<S> {
        Take { inner, left: limit }
    }
}

impl<S: PacketSource> PacketSource for Take<S> {
    fn next_packet(&mut self) -> Result<Next<'_>, SourceError> {
        if self.left == 0 {
            return Ok(Next::End);
        }
        let next = self.inner.next_packet()?;
        if let Next::Packet(_) = next {
            self.left -= 1;
        }
        Ok(next)
    }

    wrapped_source_methods!();
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Endless(u64);

    impl PacketSource for Endless {
        fn next_packet(&mut self) -> Result<Next<'_>, SourceError> {
            self.0 += 1;
            if self.0 % 3 == 0 {
                return Ok(Next::Idle);
            }
            Ok(Next::Packet(RawPacket {
                ts: Timestamp(self.0 as i64),
                link: LinkType::ETHERNET,
                data: &[],
                orig_len: 0,
            }))
        }
    }

    #[test]
    fn take_ends_after_the_limit_counting_packets_not_idle_wakeups() {
        let mut source = Take::new(Endless(0), 5);
        let mut packets = 0;
        let mut calls = 0;
        loop {
            calls += 1;
            match source.next_packet().expect("no error") {
                Next::Packet(_) => packets += 1,
                Next::Idle => {}
                Next::End => break,
            }
        }
        assert_eq!(packets, 5);
        assert!(calls > 6, "idle wakeups were not counted as packets");
        assert!(matches!(source.next_packet(), Ok(Next::End)));
    }

    #[test]
    fn inspect_shows_each_packet_once_and_hands_every_one_on() {
        let mut seen = Vec::new();
        let mut handed = Vec::new();
        {
            let inspected = Inspect::new(Endless(0), |p: &RawPacket<'_>| seen.push(p.ts.0));
            let mut source = Take::new(inspected, 4);
            loop {
                match source.next_packet().expect("no error") {
                    Next::Packet(p) => handed.push(p.ts.0),
                    Next::Idle => {}
                    Next::End => break,
                }
            }
        }
        assert_eq!(handed, [1, 2, 4, 5]);
        assert_eq!(seen, handed);
    }
}
