//! Live capture from a network interface through libpcap.
//!
//! Opening needs root or CAP_NET_RAW; the caller may drop privileges right after
//! [`LiveSource::open`] returns, since reading needs no further rights.

use super::{Next, PacketSource, RawPacket, SourceError};
use crate::link::LinkType;
use crate::time::Timestamp;

/// How to open a live capture.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LiveOptions {
    /// Interface name (`any` for all interfaces on Linux).
    pub iface: String,
    /// A BPF filter expression.
    pub filter: Option<String>,
    /// Bytes to keep of each packet.
    pub snaplen: i32,
    /// Put the interface in promiscuous mode.
    pub promiscuous: bool,
    /// Kernel buffer size in bytes (0 keeps libpcap's default).
    pub buffer_size: i32,
    /// Read timeout in milliseconds: how often the reader wakes up with nothing to read, and
    /// (outside immediate mode) the longest a packet waits in the kernel before delivery.
    pub timeout_ms: i32,
    /// Deliver every packet as it arrives. Off by default: libpcap then uses a ring of
    /// variable-size blocks (TPACKET_V3) that packs small packets densely, while immediate
    /// mode uses one fixed snaplen-sized slot per packet, so the same buffer holds hundreds of
    /// packets instead of tens of thousands and a burst overflows it.
    pub immediate: bool,
}

impl LiveOptions {
    /// Defaults for an interface: whole packets, not promiscuous, 8 MiB buffer, packets
    /// delivered in blocks at least every 100 ms.
    pub fn new(iface: impl Into<String>) -> LiveOptions {
        LiveOptions {
            iface: iface.into(),
            filter: None,
            snaplen: 262_144,
            promiscuous: false,
            buffer_size: 8 << 20,
            timeout_ms: 100,
            immediate: false,
        }
    }
}

/// Packets from a network interface.
pub struct LiveSource {
    iface: String,
    /// `None` only while switching to non-blocking mode.
    capture: Option<pcap::Capture<pcap::Active>>,
    link: LinkType,
    /// After a stop request: reading what is already queued, without blocking.
    draining: bool,
    /// The current packet. Copying it out of libpcap's buffer lets the read loop switch the
    /// capture to non-blocking mode on a stop request (a borrow of the capture could not
    /// outlive that); at live rates the copy is noise.
    packet: Vec<u8>,
}

impl LiveSource {
    /// Opens the interface and installs the filter.
    pub fn open(options: &LiveOptions) -> Result<LiveSource, SourceError> {
        let err = |e: pcap::Error| SourceError::Live {
            iface: options.iface.clone(),
            detail: e.to_string(),
        };
        let mut inactive = pcap::Capture::from_device(options.iface.as_str())
            .map_err(err)?
            .snaplen(options.snaplen)
            .promisc(options.promiscuous)
            .timeout(options.timeout_ms)
            .immediate_mode(options.immediate);
        if options.buffer_size > 0 {
            inactive = inactive.buffer_size(options.buffer_size);
        }
        let mut capture = inactive.open().map_err(err)?;
        if let Some(filter) = &options.filter {
            capture
                .filter(filter, true)
                .map_err(|e| SourceError::Live {
                    iface: options.iface.clone(),
                    detail: format!("bad filter {filter:?}: {e}"),
                })?;
        }
        let link = LinkType(capture.get_datalink().0);
        Ok(LiveSource {
            iface: options.iface.clone(),
            capture: Some(capture),
            link,
            draining: false,
            packet: Vec::with_capacity(65_536),
        })
    }
}

impl LiveSource {
    /// The interface's link-layer type.
    pub fn link_type(&self) -> LinkType {
        self.link
    }
}

impl PacketSource for LiveSource {
    // timeval's field types differ between platforms (i32 or i64): widen portably.
    #[allow(clippy::useless_conversion)]
    fn next_packet(&mut self) -> Result<Next<'_>, SourceError> {
        loop {
            let Some(capture) = self.capture.as_mut() else {
                return Ok(Next::End);
            };
            match capture.next_packet() {
                Ok(p) => {
                    let ts = Timestamp::from_parts(
                        i64::from(p.header.ts.tv_sec),
                        i64::from(p.header.ts.tv_usec).max(0) as u64,
                        1_000_000,
                    );
                    let orig_len = p.header.len;
                    self.packet.clear();
                    self.packet.extend_from_slice(p.data);
                    return Ok(Next::Packet(RawPacket {
                        ts,
                        link: self.link,
                        data: &self.packet,
                        orig_len,
                    }));
                }
                Err(pcap::Error::TimeoutExpired) if self.draining => return Ok(Next::End),
                Err(pcap::Error::TimeoutExpired) => return Ok(Next::Idle),
                Err(pcap::Error::NoMorePackets) if !self.draining => {
                    // A stop request broke the wait. Packets the kernel already queued are
                    // still read (without blocking), so Ctrl-C loses nothing captured.
                    self.draining = true;
                    let Some(capture) = self.capture.take() else {
                        return Ok(Next::End);
                    };
                    match capture.setnonblock() {
                        Ok(c) => self.capture = Some(c),
                        Err(_) => return Ok(Next::End),
                    }
                }
                Err(pcap::Error::NoMorePackets) => return Ok(Next::End),
                Err(e) => {
                    return Err(SourceError::Live {
                        iface: self.iface.clone(),
                        detail: e.to_string(),
                    })
                }
            }
        }
    }

    fn interrupter(&mut self) -> Option<Box<dyn Fn() + Send + Sync>> {
        // libpcap may block in poll() indefinitely when no packets arrive: pcap_breakloop
        // wakes it up, and the next read reports the end.
        let handle = self.capture.as_mut()?.breakloop_handle();
        Some(Box::new(move || handle.breakloop()))
    }

    fn drops(&mut self) -> Option<(u64, u64)> {
        {
            let stats = self.capture.as_mut()?.stats().ok()?;
            Some((stats.dropped as u64, stats.if_dropped as u64))
        }
    }
}
