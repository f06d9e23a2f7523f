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
