//! From a captured frame to a TCP segment: link layers, IPv4/IPv6 and the TCP header.
//!
//! Slicing is lax on purpose: a frame cut short by the capture's snaplen still yields its TCP
//! segment, with the number of payload bytes the IP header promised but the capture lost in
//! [`TcpSegment::missing`]. The reassembler turns those into a hole, never into data.

use etherparse::{
    EtherType, IpNumber, Ipv4HeaderSlice, Ipv6HeaderSlice, LaxNetSlice, LaxSlicedPacket,
    TcpHeaderSlice, TransportSlice,
};
use std::net::{IpAddr, SocketAddr};

/// A pcap/pcapng link-layer type (the `LINKTYPE_*` registry number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub i32);

impl LinkType {
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II, with or without 802.1Q/802.1ad VLAN tags.
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP (old DLT_RAW value used by some systems).
    pub const RAW_OLD: LinkType = LinkType(12);
    /// Raw IP (another old DLT_RAW value).
    pub const RAW_OLD2: LinkType = LinkType(14);
    /// Raw IPv4 or IPv6, no link header.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux "cooked" capture v1 (`tcpdump -i any` on older libpcap).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux "cooked" capture v2 (`tcpdump -i any` on libpcap ≥ 1.10).
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// tcpdump's name for the link type (`EN10MB`, `LINUX_SLL2`, …), when it is one this
    /// crate knows.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "NULL",
            1 => "EN10MB",
            12 | 14 | 101 => "RAW",
            108 => "LOOP",
            113 => "LINUX_SLL",
            228 => "IPV4",
            229 => "IPV6",
            276 => "LINUX_SLL2",
            _ => return None,
        })
    }

    /// Whether [`decode_tcp`] understands this link type.
    pub fn is_supported(self) -> bool {
        matches!(self.0, 0 | 1 | 12 | 14 | 101 | 108 | 113 | 228 | 229 | 276)
    }
}

impl std::fmt::Display for LinkType {
    /// tcpdump's name where known (`EN10MB`), the registry number otherwise.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}", self.0),
        }
    }
}

/// One TCP segment as seen on the wire, borrowing its payload from the captured frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    /// Sender address and port.
    pub src: SocketAddr,
    /// Receiver address and port.
    pub dst: SocketAddr,
    /// Sequence number of the first payload byte (or of the SYN).
    pub seq: u32,
    /// Acknowledgement number, when the ACK flag is set.
    pub ack: Option<u32>,
    /// SYN flag.
    pub syn: bool,
    /// FIN flag.
    pub fin: bool,
    /// RST flag.
    pub rst: bool,
    /// The captured payload bytes.
    pub payload: &'a [u8],
    /// Payload bytes that the IP header announced but the capture did not keep (snaplen).
    pub missing: u32,
}

/// Why a frame produced no TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Skip {
    /// A well-formed frame that is not TCP over IP.
    NotTcp,
    /// A fragment of an IP datagram (not reassembled; counted).
    Fragment,
    /// The link type is not one zkwire decodes.
    UnsupportedLink,
    /// Too short or inconsistent to reach the TCP header.
    Malformed,
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;

/// Decodes a captured frame of the given link type down to its TCP segment.
pub fn decode_tcp(link: LinkType, frame: &[u8]) -> Result<TcpSegment<'_>, Skip> {
    match decode_plain_tcp(link, frame) {
        Some(segment) => Ok(segment),
        None => decode_tcp_lax(link, frame),
    }
}

/// The common case, decoded with etherparse's header slices alone: IPv4 or IPv6 right after the
/// link header (and up to two VLAN tags), TCP right after IP, lengths consistent, no fragment.
/// Anything else (extension headers, fragments, odd lengths, garbage) returns `None` and goes
/// through the
/// general lax slicer, to which this is held equal by a property test. It exists because the
/// general slicer costs several times more per packet, and most packets are plain.
fn decode_plain_tcp(link: LinkType, frame: &[u8]) -> Option<TcpSegment<'_>> {
    let (ether_type, ip) = match link {
        LinkType::ETHERNET => {
            // Up to two VLAN tags (802.1Q, 802.1ad QinQ), as production captures often carry.
            let mut at = 12;
            let mut ether_type = read_u16(frame, at).ok()?;
            for _ in 0..2 {
                if ether_type != 0x8100 && ether_type != 0x88a8 {
                    break;
                }
                at += 4;
                ether_type = read_u16(frame, at).ok()?;
            }
            (ether_type, frame.get(at + 2..)?)
        }
        LinkType::LINUX_SLL => (read_u16(frame, 14).ok()?, frame.get(16..)?),
        LinkType::LINUX_SLL2 => (read_u16(frame, 0).ok()?, frame.get(20..)?),
        LinkType::RAW
        | LinkType::RAW_OLD
        | LinkType::RAW_OLD2
        | LinkType::IPV4
        | LinkType::IPV6 => match frame.first()? >> 4 {
            4 => (ETHERTYPE_IPV4, frame),
            6 => (ETHERTYPE_IPV6, frame),
            _ => return None,
        },
        _ => return None,
    };
    let (src, dst, tcp_start, ip_end) = match (ether_type, ip.first()? >> 4) {
        (ETHERTYPE_IPV4, 4) => {
            let h = Ipv4HeaderSlice::from_slice(ip).ok()?;
            let header_len = h.slice().len();
            let total = h.total_len() as usize;
            if h.protocol() != IpNumber::TCP || h.is_fragmenting_payload() || total < header_len {
                return None;
            }
            let (src, dst) = (h.source_addr(), h.destination_addr());
            (IpAddr::V4(src), IpAddr::V4(dst), header_len, total)
        }
        (ETHERTYPE_IPV6, 6) => {
            let h = Ipv6HeaderSlice::from_slice(ip).ok()?;
            if h.next_header() != IpNumber::TCP || h.payload_length() == 0 {
                return None;
            }
            let (src, dst) = (h.source_addr(), h.destination_addr());
            (
                IpAddr::V6(src),
                IpAddr::V6(dst),
                40,
                40 + h.payload_length() as usize,
            )
        }
        _ => return None,
    };
    // Bytes past the datagram's end are link padding; bytes short of it were cut by snaplen.
    let captured_end = ip.len().min(ip_end);
    let tcp = TcpHeaderSlice::from_slice(ip.get(tcp_start..captured_end)?).ok()?;
    let payload = ip.get(tcp_start + tcp.slice().len()..captured_end)?;
    Some(TcpSegment {
        src: SocketAddr::new(src, tcp.source_port()),
        dst: SocketAddr::new(dst, tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack: tcp.ack().then(|| tcp.acknowledgment_number()),
        syn: tcp.syn(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        payload,
        missing: u32::try_from(ip_end - captured_end).ok()?,
    })
}

/// Any frame of a supported link type, sliced laxly (see the module documentation).
fn decode_tcp_lax(link: LinkType, frame: &[u8]) -> Result<TcpSegment<'_>, Skip> {
    let sliced = match link {
        LinkType::ETHERNET => LaxSlicedPacket::from_ethernet(frame).map_err(|_| Skip::Malformed)?,
        LinkType::RAW
        | LinkType::RAW_OLD
        | LinkType::RAW_OLD2
        | LinkType::IPV4
        | LinkType::IPV6 => LaxSlicedPacket::from_ip(frame).map_err(|_| Skip::Malformed)?,
        LinkType::LINUX_SLL => from_ether_type(read_u16(frame, 14)?, frame.get(16..))?,
        LinkType::LINUX_SLL2 => from_ether_type(read_u16(frame, 0)?, frame.get(20..))?,
        LinkType::NULL | LinkType::LOOP => {
            let family = frame.get(..4).ok_or(Skip::Malformed)?;
            let be = u32::from_be_bytes([family[0], family[1], family[2], family[3]]);
            let le = u32::from_le_bytes([family[0], family[1], family[2], family[3]]);
            // The NULL family is in the capturing host's byte order, which the file does not
            // record; LOOP is always big-endian. Accepting either order is unambiguous because
            // the values are small.
            let known = |f: u32| matches!(f, 2 | 24 | 28 | 30);
            if !(known(be) || (link == LinkType::NULL && known(le))) {
                return Err(Skip::NotTcp);
            }
            LaxSlicedPacket::from_ip(&frame[4..]).map_err(|_| Skip::Malformed)?
        }
        _ => return Err(Skip::UnsupportedLink),
    };
    segment_from(sliced)
}

fn read_u16(frame: &[u8], at: usize) -> Result<u16, Skip> {
    frame
        .get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or(Skip::Malformed)
}

fn from_ether_type(ether_type: u16, rest: Option<&[u8]>) -> Result<LaxSlicedPacket<'_>, Skip> {
    let rest = rest.ok_or(Skip::Malformed)?;
    if ether_type != ETHERTYPE_IPV4
        && ether_type != ETHERTYPE_IPV6
        && ether_type != 0x8100
        && ether_type != 0x88a8
    {
        return Err(Skip::NotTcp);
    }
    Ok(LaxSlicedPacket::from_ether_type(
        EtherType(ether_type),
        rest,
    ))
}

fn segment_from(sliced: LaxSlicedPacket<'_>) -> Result<TcpSegment<'_>, Skip> {
    let (src_ip, dst_ip, ip_start, ip_total, fragmented) = match &sliced.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            let h = v4.header();
            let total = if h.total_len() == 0 {
                None
            } else {
                Some(h.total_len() as usize)
            };
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                h.slice().as_ptr() as usize,
                total,
                v4.is_payload_fragmented(),
            )
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let h = v6.header();
            let total = if h.payload_length() == 0 {
                None // jumbogram or TSO: length unknown, trust what was captured
            } else {
                Some(40 + h.payload_length() as usize)
            };
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                h.slice().as_ptr() as usize,
                total,
                v6.is_payload_fragmented(),
            )
        }
        Some(LaxNetSlice::Arp(_)) => return Err(Skip::NotTcp),
        None => {
            return Err(if sliced.stop_err.is_some() {
                Skip::Malformed
            } else {
                Skip::NotTcp
            });
        }
    };
    if fragmented {
        return Err(Skip::Fragment);
    }
    let tcp = match &sliced.transport {
        Some(TransportSlice::Tcp(tcp)) => tcp,
        Some(_) => return Err(Skip::NotTcp),
        None => {
            let is_tcp = match &sliced.net {
                Some(LaxNetSlice::Ipv4(v4)) => v4.payload().ip_number == etherparse::IpNumber::TCP,
                Some(LaxNetSlice::Ipv6(v6)) => v6.payload().ip_number == etherparse::IpNumber::TCP,
                _ => false,
            };
            return Err(if is_tcp {
                Skip::Malformed
            } else {
                Skip::NotTcp
            });
        }
    };
    let payload = tcp.payload();
    // How far into the IP datagram the TCP payload starts: what the header promised beyond
    // that, minus what was captured, is the snaplen-truncated tail.
    let payload_offset = (payload.as_ptr() as usize).saturating_sub(ip_start);
    let missing = match ip_total {
        Some(total) => total
            .saturating_sub(payload_offset)
            .saturating_sub(payload.len()),
        None => 0,
    };
    Ok(TcpSegment {
        src: SocketAddr::new(src_ip, tcp.source_port()),
        dst: SocketAddr::new(dst_ip, tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack: tcp.ack().then(|| tcp.acknowledgment_number()),
        syn: tcp.syn(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        payload,
        missing: u32::try_from(missing).unwrap_or(u32::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn tcp_ipv4(payload: &[u8]) -> Vec<u8> {
        let builder = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 2181, 1000, 65535)
            .ack(77)
            .psh();
        let mut out = Vec::new();
        builder.write(&mut out, payload).expect("write to a Vec");
        out
    }

    fn with_ethernet(ip: &[u8], vlans: &[u16]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        for v in vlans {
            f.extend_from_slice(&0x8100u16.to_be_bytes());
            f.extend_from_slice(&v.to_be_bytes());
        }
        f.extend_from_slice(&0x0800u16.to_be_bytes());
        f.extend_from_slice(ip);
        f
    }

    #[test]
    fn ethernet_with_vlan_and_qinq() {
        let ip = tcp_ipv4(b"hello");
        for vlans in [&[][..], &[5][..], &[5, 6][..]] {
            let frame = with_ethernet(&ip, vlans);
            let seg = decode_tcp(LinkType::ETHERNET, &frame).expect("tcp");
            assert_eq!(seg.payload, b"hello");
            assert_eq!(seg.src, "10.0.0.1:40000".parse().expect("addr"));
            assert_eq!(seg.dst.port(), 2181);
            assert_eq!(seg.seq, 1000);
            assert_eq!(seg.ack, Some(77));
            assert_eq!(seg.missing, 0);
        }
    }

    #[test]
    fn cooked_v1_and_v2_and_loopbacks_and_raw() {
        let ip = tcp_ipv4(b"abc");
        let mut sll = vec![0u8; 16];
        sll[14..16].copy_from_slice(&0x0800u16.to_be_bytes());
        sll.extend_from_slice(&ip);
        let mut sll2 = vec![0u8; 20];
        sll2[0..2].copy_from_slice(&0x0800u16.to_be_bytes());
        sll2.extend_from_slice(&ip);
        let mut null_le = 2u32.to_le_bytes().to_vec();
        null_le.extend_from_slice(&ip);
        let mut loop_be = 2u32.to_be_bytes().to_vec();
        loop_be.extend_from_slice(&ip);
        for (lt, frame) in [
            (LinkType::LINUX_SLL, &sll),
            (LinkType::LINUX_SLL2, &sll2),
            (LinkType::NULL, &null_le),
            (LinkType::LOOP, &loop_be),
            (LinkType::RAW, &ip),
            (LinkType::IPV4, &ip),
        ] {
            let seg = decode_tcp(lt, frame).unwrap_or_else(|e| panic!("{lt:?}: {e:?}"));
            assert_eq!(seg.payload, b"abc", "{lt:?}");
        }
    }

    #[test]
    fn ipv6_tcp() {
        let builder = PacketBuilder::ipv6([0; 16], [1; 16], 64)
            .tcp(1, 2181, 5, 100)
            .syn();
        let mut out = Vec::new();
        builder.write(&mut out, &[]).expect("write");
        let seg = decode_tcp(LinkType::RAW, &out).expect("tcp");
        assert!(seg.syn);
        assert_eq!(seg.ack, None);
        assert!(seg.src.is_ipv6());
    }

    #[test]
    fn snaplen_truncation_reports_missing_bytes_not_data() {
        let frame = with_ethernet(&tcp_ipv4(&[7u8; 100]), &[]);
        let cut = &frame[..frame.len() - 60];
        let seg = decode_tcp(LinkType::ETHERNET, cut).expect("tcp");
        assert_eq!(seg.payload.len(), 40);
        assert_eq!(seg.missing, 60);
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let mut frame = with_ethernet(&tcp_ipv4(&[]), &[]);
        frame.extend_from_slice(&[0u8; 6]); // minimum-size frame padding
        let seg = decode_tcp(LinkType::ETHERNET, &frame).expect("tcp");
        assert!(seg.payload.is_empty());
        assert_eq!(seg.missing, 0);
    }

    #[test]
    fn non_tcp_and_garbage_are_skipped() {
        let udp = {
            let b = PacketBuilder::ipv4([1, 1, 1, 1], [2, 2, 2, 2], 1).udp(1, 2);
            let mut v = Vec::new();
            b.write(&mut v, b"x").expect("write");
            v
        };
        assert_eq!(decode_tcp(LinkType::RAW, &udp), Err(Skip::NotTcp));
        assert_eq!(
            decode_tcp(LinkType::ETHERNET, &[1, 2, 3]),
            Err(Skip::Malformed)
        );
        assert_eq!(
            decode_tcp(LinkType(999), &[0; 64]),
            Err(Skip::UnsupportedLink)
        );
        let mut ip = tcp_ipv4(b"x");
        ip.truncate(30); // IPv4 header and half a TCP header
        assert_eq!(decode_tcp(LinkType::RAW, &ip), Err(Skip::Malformed));
    }

    #[test]
    fn fragments_are_counted_not_parsed() {
        let mut ip = tcp_ipv4(b"payload");
        ip[6] = 0x20; // more-fragments flag
        assert_eq!(decode_tcp(LinkType::RAW, &ip), Err(Skip::Fragment));
    }

    fn linked(link: usize, ip: &[u8], v6: bool) -> (LinkType, Vec<u8>) {
        let ether_type: u16 = if v6 { 0x86dd } else { 0x0800 };
        let (lt, mut frame) = match link {
            0 => {
                let mut f = vec![0u8; 12];
                f.extend_from_slice(&ether_type.to_be_bytes());
                (LinkType::ETHERNET, f)
            }
            1 => {
                let mut f = vec![0u8; 16];
                f[14..16].copy_from_slice(&ether_type.to_be_bytes());
                (LinkType::LINUX_SLL, f)
            }
            2 => {
                let mut f = vec![0u8; 20];
                f[0..2].copy_from_slice(&ether_type.to_be_bytes());
                (LinkType::LINUX_SLL2, f)
            }
            3 => (LinkType::RAW, Vec::new()),
            tags => {
                // Ethernet with one (802.1Q) or two (802.1ad + 802.1Q) VLAN tags.
                let mut f = vec![0u8; 12];
                if tags == 5 {
                    f.extend_from_slice(&[0x88, 0xa8, 0x00, 0x07]);
                }
                f.extend_from_slice(&[0x81, 0x00, 0x00, 0x2a]);
                f.extend_from_slice(&ether_type.to_be_bytes());
                (LinkType::ETHERNET, f)
            }
        };
        frame.extend_from_slice(ip);
        (lt, frame)
    }

    proptest::proptest! {
        /// The plain-packet shortcut never disagrees with the general slicer: on real frames,
        /// frames with link padding, frames cut by a snaplen and frames with corrupted headers,
        /// whenever the shortcut answers, the general path gives the same segment.
        #[test]
        fn plain_path_agrees_with_the_lax_slicer(
            v6 in proptest::bool::ANY,
            link in 0usize..6,
            payload_len in 0usize..120,
            flags in 0u8..16,
            seq in proptest::num::u32::ANY,
            pad in 0usize..8,
            cut in proptest::option::of(0usize..200),
            mutations in proptest::collection::vec((0usize..90, proptest::num::u8::ANY), 0..3),
        ) {
            let builder = if v6 {
                PacketBuilder::ipv6([1; 16], [2; 16], 64)
            } else {
                PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            };
            let mut tcp = builder.tcp(40000, 2181, seq, 1000);
            if flags & 1 != 0 { tcp = tcp.syn(); }
            if flags & 2 != 0 { tcp = tcp.fin(); }
            if flags & 4 != 0 { tcp = tcp.rst(); }
            if flags & 8 != 0 { tcp = tcp.ack(seq ^ 0x5555); }
            let payload: Vec<u8> = (0..payload_len).map(|i| i as u8).collect();
            let mut ip = Vec::new();
            tcp.write(&mut ip, &payload).expect("write to a Vec");
            let (lt, mut frame) = linked(link, &ip, v6);
            frame.extend(std::iter::repeat_n(0u8, pad));
            let pristine = mutations.is_empty() && cut.is_none();
            for (at, byte) in &mutations {
                if let Some(b) = frame.get_mut(*at) {
                    *b = *byte;
                }
            }
            if let Some(cut) = cut {
                frame.truncate(cut);
            }
            let plain = decode_plain_tcp(lt, &frame);
            if pristine {
                proptest::prop_assert!(plain.is_some(), "a plain frame took the slow path");
                proptest::prop_assert_eq!(plain.map(|s| s.payload), Some(&payload[..]));
            }
            if let Some(segment) = plain {
                proptest::prop_assert_eq!(Ok(segment), decode_tcp_lax(lt, &frame));
            }
        }
    }
}
