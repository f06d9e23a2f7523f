//! Capture files: classic pcap (either byte order, micro- or nanosecond timestamps) and pcapng
//! (any number of sections and interfaces, each with its own link type and time resolution).
//!
//! The file is streamed through a fixed-size buffer, so a multi-gigabyte capture never has to
//! fit in memory; `-` reads standard input, so `tcpdump -w - | zk-dump -r -` works.

use super::{Next, PacketSource, RawPacket, SourceError};
use crate::link::LinkType;
use crate::time::Timestamp;
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const INITIAL_BUFFER: usize = 1 << 20;
/// A single record larger than this is treated as corruption rather than buffered.
const MAX_RECORD: usize = 256 << 20;

type LegacyFrameParser =
    fn(
        &[u8],
    ) -> pcap_parser::nom::IResult<&[u8], pcap_parser::LegacyPcapBlock<'_>, PcapError<&[u8]>>;

type PacketBlockParser = fn(
    &[u8],
) -> pcap_parser::nom::IResult<
    &[u8],
    pcap_parser::pcapng::EnhancedPacketBlock<'_>,
    PcapError<&[u8]>,
>;

#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    units_per_sec: u64,
    offset_secs: i64,
}

/// Packets from a pcap or pcapng file or stream.
pub struct FileSource {
    what: String,
    reader: Box<dyn PcapReaderIterator + Send>,
    to_consume: usize,
    legacy: Option<Interface>,
    /// The record parser of a classic pcap file, once its header was read: records are then
    /// parsed straight from the buffer, without pcap-parser's block enum (see `find_packet`).
    legacy_frames: Option<LegacyFrameParser>,
    /// The enhanced packet block parser of the current pcapng section (its byte order), once
    /// its header was read: packet blocks are then parsed straight from the buffer too.
    packet_blocks: Option<PacketBlockParser>,
    interfaces: Vec<Interface>,
    last_ts: Timestamp,
    bytes_read: Arc<AtomicU64>,
    total: Option<u64>,
    capacity: usize,
}

struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where a packet block's bytes sit in the reader's buffer, captured while the block is
/// borrowed so the slice can be re-borrowed after the borrow ends.
struct Found {
    ts: Timestamp,
    link: LinkType,
    addr: usize,
    len: usize,
    orig_len: u32,
}

/// Where an enhanced packet block's packet is, with its time and link type from its
/// interface.
fn enhanced_packet(
    interfaces: &[Interface],
    last_ts: Timestamp,
    epb: &pcap_parser::pcapng::EnhancedPacketBlock<'_>,
) -> Found {
    match interfaces.get(epb.if_id as usize) {
        Some(iface) => {
            let ticks = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
            Found {
                ts: Timestamp::from_ticks(ticks, iface.units_per_sec, iface.offset_secs),
                link: iface.link,
                addr: epb.data.as_ptr() as usize,
                len: (epb.caplen as usize).min(epb.data.len()),
                orig_len: epb.origlen,
            }
        }
        // A packet on an undeclared interface: nothing tells its link type, so it cannot
        // be decoded; hand it over as unsupported.
        None => Found {
            ts: last_ts,
            link: LinkType(-1),
            addr: epb.data.as_ptr() as usize,
            len: 0,
            orig_len: epb.origlen,
        },
    }
}

impl FileSource {
    /// Opens a capture file; `-` means standard input.
    pub fn open(path: &Path) -> Result<FileSource, SourceError> {
        if path.as_os_str() == "-" {
            return Self::from_reader("standard input".into(), std::io::stdin(), None);
        }
        let what = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| SourceError::Io {
            what: what.clone(),
            source,
        })?;
        let total = file.metadata().ok().map(|m| m.len());
        Self::from_reader(what, file, total)
    }

    /// Reads a capture from any byte stream; `what` names it in error messages.
    pub fn from_reader(
        what: String,
        input: impl Read + Send + 'static,
        total: Option<u64>,
    ) -> Result<FileSource, SourceError> {
        let bytes_read = Arc::new(AtomicU64::new(0));
        let counting = CountingReader {
            inner: input,
            count: bytes_read.clone(),
        };
        let reader = match pcap_parser::create_reader(INITIAL_BUFFER, counting) {
            Ok(r) => r,
            Err(PcapError::Eof) => return Err(SourceError::Empty { what }),
            Err(PcapError::ReadError) => {
                return Err(SourceError::Io {
                    what,
                    source: std::io::Error::other("read failed"),
                })
            }
            Err(PcapError::Incomplete(_)) => {
                return Err(SourceError::Truncated { what, offset: 0 })
            }
            Err(_) => return Err(SourceError::NotACapture { what }),
        };
        Ok(FileSource {
            what,
            reader,
            to_consume: 0,
            legacy: None,
            legacy_frames: None,
            packet_blocks: None,
            interfaces: Vec::new(),
            last_ts: Timestamp(0),
            bytes_read,
            total,
            capacity: INITIAL_BUFFER,
        })
    }

    fn offset(&self) -> u64 {
        self.reader.consumed() as u64
    }

    /// Reads blocks until a packet block is found; returns where its bytes are.
    fn find_packet(&mut self) -> Result<Option<Found>, SourceError> {
        // The common cases, a classic pcap record or a pcapng enhanced packet block whole in
        // the buffer, are parsed in place, without pcap-parser's block enum: through it a
        // pcapng packet cost four times a classic one. Anything else (another block, a block
        // cut by the buffer's end, the end of the file, damage) takes the general path below,
        // which parses the same bytes again.
        if self.legacy_frames.is_some() || self.packet_blocks.is_some() {
            self.reader.consume_noshift(self.to_consume);
            self.to_consume = 0;
            let data = self.reader.data();
            if let (Some(parse), Some(iface)) = (self.legacy_frames, self.legacy) {
                if let Ok((rest, b)) = parse(data) {
                    self.to_consume = data.len() - rest.len();
                    return Ok(Some(Found {
                        ts: Timestamp::from_parts(
                            b.ts_sec as i64,
                            b.ts_usec as u64,
                            iface.units_per_sec,
                        ),
                        link: iface.link,
                        addr: b.data.as_ptr() as usize,
                        len: b.data.len(),
                        orig_len: b.origlen,
                    }));
                }
            } else if let Some(Ok((rest, epb))) = self.packet_blocks.map(|parse| parse(data)) {
                self.to_consume = data.len() - rest.len();
                return Ok(Some(enhanced_packet(&self.interfaces, self.last_ts, &epb)));
            }
        }
        loop {
            if self.to_consume > 0 {
                // No shift per record: the buffer is compacted once per refill instead.
                self.reader.consume_noshift(self.to_consume);
                self.to_consume = 0;
            }
            let step = match self.reader.next() {
                Ok((used, block)) => {
                    self.to_consume = used;
                    match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            let units = if h.is_nanosecond_precision() {
                                1_000_000_000
                            } else {
                                1_000_000
                            };
                            self.legacy = Some(Interface {
                                link: LinkType(h.network.0),
                                units_per_sec: units,
                                offset_secs: 0,
                            });
                            self.legacy_frames = match (h.is_modified_format(), h.is_bigendian()) {
                                (true, _) => None,
                                (false, true) => Some(pcap_parser::pcap::parse_pcap_frame_be),
                                (false, false) => Some(pcap_parser::pcap::parse_pcap_frame),
                            };
                            None
                        }
                        PcapBlockOwned::Legacy(b) => {
                            let iface = self.legacy.unwrap_or(Interface {
                                link: LinkType::ETHERNET,
                                units_per_sec: 1_000_000,
                                offset_secs: 0,
                            });
                            let ts = Timestamp::from_parts(
                                b.ts_sec as i64,
                                b.ts_usec as u64,
                                iface.units_per_sec,
                            );
                            Some(Found {
                                ts,
                                link: iface.link,
                                addr: b.data.as_ptr() as usize,
                                len: b.data.len(),
                                orig_len: b.origlen,
                            })
                        }
                        PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                            // Interface ids are per section, and so is the byte order.
                            self.interfaces.clear();
                            self.packet_blocks = Some(if shb.big_endian() {
                                pcap_parser::pcapng::parse_enhancedpacketblock_be
                            } else {
                                pcap_parser::pcapng::parse_enhancedpacketblock_le
                            });
                            None
                        }
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                            self.interfaces.push(Interface {
                                link: LinkType(idb.linktype.0),
                                units_per_sec: idb.ts_resolution().unwrap_or(1_000_000),
                                offset_secs: idb.ts_offset(),
                            });
                            None
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            Some(enhanced_packet(&self.interfaces, self.last_ts, &epb))
                        }
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                            // Simple packets carry no timestamp and belong to interface 0.
                            let link = self.interfaces.first().map_or(LinkType(-1), |i| i.link);
                            let snap = spb.data.len().min(spb.origlen as usize);
                            Some(Found {
                                ts: self.last_ts,
                                link,
                                addr: spb.data.as_ptr() as usize,
                                len: snap,
                                orig_len: spb.origlen,
                            })
                        }
                        PcapBlockOwned::NG(_) => None,
                    }
                }
                Err(PcapError::Eof) => return Ok(None),
                // pcap-parser reports BufferTooSmall from a record's *claimed* length, before its
                // bytes were read: read first, and grow only once the buffer is really full, so a
                // hostile length in a small file costs nothing.
                Err(PcapError::Incomplete(_) | PcapError::BufferTooSmall) => {
                    if self.reader.reader_exhausted() {
                        if self.reader.data().is_empty() {
                            return Ok(None);
                        }
                        return Err(SourceError::Truncated {
                            what: self.what.clone(),
                            offset: self.offset(),
                        });
                    }
                    let before = self.reader.data().len();
                    if let Err(e) = self.reader.refill() {
                        let detail = e.to_string();
                        return Err(self.read_error(detail));
                    }
                    if self.reader.data().len() == before && !self.reader.reader_exhausted() {
                        // The buffer is full and still holds no whole record: grow it.
                        self.grow()?;
                    }
                    continue;
                }
                Err(PcapError::UnexpectedEof) => {
                    return Err(SourceError::Truncated {
                        what: self.what.clone(),
                        offset: self.offset(),
                    })
                }
                Err(PcapError::ReadError) => return Err(self.read_error("read failed".into())),
                Err(e) => {
                    let detail = match e {
                        PcapError::NomError(_, kind) => format!("{kind:?}"),
                        PcapError::OwnedNomError(_, kind) => format!("{kind:?}"),
                        _ => "unrecognised record".to_string(),
                    };
                    return Err(SourceError::Corrupt {
                        what: self.what.clone(),
                        offset: self.offset(),
                        detail,
                    });
                }
            };
            if let Some(found) = step {
                return Ok(Some(found));
            }
        }
    }

    fn grow(&mut self) -> Result<(), SourceError> {
        let new = self.capacity * 2;
        if new > MAX_RECORD || !self.reader.grow(new) {
            return Err(SourceError::Corrupt {
                what: self.what.clone(),
                offset: self.offset(),
                detail: format!("record larger than {} MiB", MAX_RECORD >> 20),
            });
        }
        self.capacity = new;
        Ok(())
    }

    fn read_error(&self, detail: String) -> SourceError {
        SourceError::Io {
            what: self.what.clone(),
            source: std::io::Error::other(detail),
        }
    }
}

impl PacketSource for FileSource {
    fn next_packet(&mut self) -> Result<Next<'_>, SourceError> {
        let Some(found) = self.find_packet()? else {
            return Ok(Next::End);
        };
        self.last_ts = found.ts;
        let data = self.reader.data();
        let start = found.addr.wrapping_sub(data.as_ptr() as usize);
        let bytes = data
            .get(start..start.saturating_add(found.len))
            .unwrap_or(&[]);
        Ok(Next::Packet(RawPacket {
            ts: found.ts,
            link: found.link,
            data: bytes,
            orig_len: found.orig_len,
        }))
    }

    fn progress(&self) -> (u64, Option<u64>) {
        (self.bytes_read.load(Ordering::Relaxed), self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn legacy_file(big_endian: bool, nanos: bool, packets: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let w32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w16 = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut f = Vec::new();
        f.extend_from_slice(&w32(magic));
        f.extend_from_slice(&w16(2));
        f.extend_from_slice(&w16(4));
        f.extend_from_slice(&w32(0));
        f.extend_from_slice(&w32(0));
        f.extend_from_slice(&w32(65535));
        f.extend_from_slice(&w32(101));
        for (sec, frac, data) in packets {
            f.extend_from_slice(&w32(*sec));
            f.extend_from_slice(&w32(*frac));
            f.extend_from_slice(&w32(data.len() as u32));
            f.extend_from_slice(&w32(data.len() as u32));
            f.extend_from_slice(data);
        }
        f
    }

    fn collect(src: &mut FileSource) -> Result<Vec<(Timestamp, i32, Vec<u8>)>, SourceError> {
        let mut out = Vec::new();
        loop {
            match src.next_packet()? {
                Next::Packet(p) => out.push((p.ts, p.link.0, p.data.to_vec())),
                Next::Idle => {}
                Next::End => return Ok(out),
            }
        }
    }

    #[test]
    fn classic_pcap_in_both_byte_orders_and_resolutions() {
        for be in [false, true] {
            for nanos in [false, true] {
                let file = legacy_file(be, nanos, &[(10, 5, b"abc"), (11, 7, b"defg")]);
                let mut src = FileSource::from_reader("t".into(), std::io::Cursor::new(file), None)
                    .expect("open");
                let got = collect(&mut src).expect("read");
                assert_eq!(got.len(), 2);
                assert_eq!(got[0].2, b"abc");
                assert_eq!(got[1].2, b"defg");
                assert_eq!(got[0].1, 101);
                let frac_ns = if nanos { 5 } else { 5_000 };
                assert_eq!(
                    got[0].0,
                    Timestamp(10_000_000_000 + frac_ns),
                    "be={be} nanos={nanos}"
                );
            }
        }
    }

    #[test]
    fn truncated_file_reports_offset_after_readable_packets() {
        let mut file = legacy_file(false, false, &[(1, 0, b"whole"), (2, 0, b"cut-short")]);
        file.truncate(file.len() - 4);
        let mut src = FileSource::from_reader("cut.pcap".into(), std::io::Cursor::new(file), None)
            .expect("open");
        let first = match src.next_packet().expect("first") {
            Next::Packet(p) => p.data.to_vec(),
            other => panic!("expected a packet, got {other:?}"),
        };
        assert_eq!(first, b"whole");
        let err = src.next_packet().expect_err("second record is cut");
        assert!(
            matches!(err, SourceError::Truncated { offset: 45, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("offset 45"));
    }

    #[test]
    fn not_a_capture_and_empty_input() {
        let err = FileSource::from_reader(
            "x".into(),
            std::io::Cursor::new(b"hello world, not pcap".to_vec()),
            None,
        )
        .err()
        .expect("error");
        assert!(matches!(err, SourceError::NotACapture { .. }));
        let err = FileSource::from_reader("y".into(), std::io::Cursor::new(Vec::new()), None)
            .err()
            .expect("error");
        assert!(matches!(err, SourceError::Empty { .. }));
    }

    /// A pcapng section in either byte order: Ethernet interface 0 (microseconds), Linux SLL2
    /// interface 1 (nanoseconds), and a packet on each.
    fn pcapng_section(big_endian: bool) -> Vec<u8> {
        let u32b = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u16b = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let block = |kind: u32, body: &[u8]| {
            let mut padded = body.to_vec();
            while padded.len() % 4 != 0 {
                padded.push(0);
            }
            let len = (12 + padded.len()) as u32;
            [&u32b(kind)[..], &u32b(len), &padded, &u32b(len)].concat()
        };
        let mut f = Vec::new();
        let shb = [&u32b(0x1a2b_3c4d)[..], &u16b(1), &u16b(0), &[0xff; 8]].concat();
        f.extend(block(0x0a0d_0d0a, &shb));
        f.extend(block(1, &[&u16b(1)[..], &u16b(0), &u32b(0)].concat()));
        // if_tsresol = 9 (nanoseconds), then opt_endofopt.
        let resolution = [&u16b(9)[..], &u16b(1), &[9, 0, 0, 0], &[0; 4]].concat();
        f.extend(block(
            1,
            &[&u16b(276)[..], &u16b(0), &u32b(0), &resolution].concat(),
        ));
        let epb = |if_id: u32, ticks: u64, data: &[u8]| {
            let len = u32b(data.len() as u32);
            let head = [
                u32b(if_id),
                u32b((ticks >> 32) as u32),
                u32b(ticks as u32),
                len,
                len,
            ];
            block(6, &[&head.concat()[..], data].concat())
        };
        f.extend(epb(0, 2_000_001, b"eth"));
        f.extend(epb(1, 3_000_000_002, b"cooked"));
        f
    }

    #[test]
    fn pcapng_with_two_interfaces_of_different_link_types_and_resolutions() {
        // Sections in both byte orders, one after the other: each has its own interfaces.
        let f = [pcapng_section(false), pcapng_section(true)].concat();
        let mut src =
            FileSource::from_reader("ng".into(), std::io::Cursor::new(f), None).expect("open");
        let got = collect(&mut src).expect("read");
        assert_eq!(got.len(), 4);
        for section in got.chunks(2) {
            assert_eq!((section[0].1, section[0].2.as_slice()), (1, &b"eth"[..]));
            assert_eq!(section[0].0, Timestamp(2_000_001_000));
            assert_eq!(
                (section[1].1, section[1].2.as_slice()),
                (276, &b"cooked"[..])
            );
            assert_eq!(section[1].0, Timestamp(3_000_000_002));
        }
    }

    #[test]
    fn reads_records_larger_than_the_initial_buffer() {
        let big = vec![0xabu8; INITIAL_BUFFER * 3];
        let file = legacy_file(false, false, &[(1, 0, &big), (2, 0, b"after")]);
        let mut src =
            FileSource::from_reader("big".into(), std::io::Cursor::new(file), None).expect("open");
        let got = collect(&mut src).expect("read");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].2.len(), big.len());
        assert_eq!(got[1].2, b"after");
    }
}
