//! Setup shared by the benchmarks of every layer: the capture to replay, its frames, and its
//! reassembled byte streams, all collected once before any timing starts.
//!
//! Each bench binary is its own crate, so the benches of the other crates include this file
//! with `#[path = "../../capture/benches/support/mod.rs"] mod support;`. The benches of the
//! library crates are built by the unpublished `zkwire-benches` package (`benches/Cargo.toml`),
//! which depends on all of them; `zkwire`'s own bench includes this file too. Not every binary
//! uses every item.
//!
//! The capture is `$ZKWIRE_BENCH_CAPTURE` or the shipped `tests/data/zk38-mtu1500.pcap`; either
//! way the servers must listen on ZooKeeper's default ports ([`CLIENT_PORT`], [`QUORUM_PORT`],
//! [`ELECTION_PORT`]), as `scripts/make-big-capture.py`'s copies of the shipped capture do.
#![allow(dead_code)]

use criterion::Throughput;
use std::io::Cursor;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use zkwire_capture::source::Next;
use zkwire_capture::{
    run, ClientIs, CloseReason, ConnInfo, Direction, FileSource, Framer, FramerEvent, LinkType,
    PacketSource, PipelineOptions, Reassembler, ReassemblyConfig, Splitter, StreamHandler,
    TcpSegment, Timestamp,
};

/// The client port.
pub const CLIENT_PORT: u16 = 2181;
/// The quorum (zab) port.
pub const QUORUM_PORT: u16 = 2888;
/// The leader-election port.
pub const ELECTION_PORT: u16 = 3888;

/// The capture's bytes.
pub fn capture() -> Arc<[u8]> {
    let path = std::env::var("ZKWIRE_BENCH_CAPTURE").unwrap_or_else(|_| {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("tests/data/zk38-mtu1500.pcap"))
            .find(|p| p.exists())
            .expect("tests/data/zk38-mtu1500.pcap above the package");
        shipped.display().to_string()
    });
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("read {path}: {e}"))
        .into()
}

/// A source reading the capture from memory.
pub fn source(bytes: &Arc<[u8]>) -> FileSource {
    FileSource::from_reader("bench".into(), Cursor::new(bytes.clone()), None).expect("capture")
}

/// Every captured frame with its link type.
pub fn frames(bytes: &Arc<[u8]>) -> Vec<(LinkType, Vec<u8>)> {
    let mut src = source(bytes);
    let mut frames = Vec::new();
    while let Ok(Next::Packet(p)) = src.next_packet() {
        frames.push((p.link, p.data.to_vec()));
    }
    frames
}

/// One connection.
#[derive(Debug)]
pub struct Connection {
    /// The client's address.
    pub client: SocketAddr,
    /// Whether the SYN was seen (the streams' first bytes are message boundaries).
    pub syn_seen: bool,
}

/// One direction of one connection.
#[derive(Debug)]
pub struct Stream {
    /// Index into [`Streams::conns`].
    pub conn: usize,
    /// Which way the bytes flow.
    pub dir: Direction,
}

/// Bytes of one stream: as the reassembler delivered them (about one TCP segment's worth), or
/// one whole message from [`Streams::messages`].
#[derive(Debug)]
pub struct Chunk {
    /// Index into [`Streams::streams`].
    pub stream: usize,
    /// Capture time of the delivery (that completed the message).
    pub ts: Timestamp,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// The reassembled streams of every connection to one server port. Gaps are not recorded (the
/// shipped capture has none).
#[derive(Debug, Default)]
pub struct Streams {
    /// Every connection that carried data, in order of first data.
    pub conns: Vec<Connection>,
    /// Each direction of each connection, in order of first data.
    pub streams: Vec<Stream>,
    /// Every delivery of every stream, in capture order.
    pub chunks: Vec<Chunk>,
}

impl Streams {
    /// Reassembles every connection whose server listens on `server_port`.
    pub fn collect(capture: &Arc<[u8]>, server_port: u16) -> Streams {
        let mut collector = Collector {
            port: server_port,
            out: Streams::default(),
        };
        let mut reassembler = Reassembler::new(ReassemblyConfig::default());
        let mut src = source(capture);
        run(
            &mut src,
            &mut reassembler,
            &mut collector,
            PipelineOptions::default(),
        );
        collector.out
    }

    /// Total bytes of every stream.
    pub fn total_bytes(&self) -> u64 {
        self.chunks.iter().map(|c| c.bytes.len() as u64).sum()
    }

    /// Each stream's bytes joined into one buffer, indexed like [`Streams::streams`].
    pub fn joined(&self) -> Vec<Vec<u8>> {
        let mut out = vec![Vec::new(); self.streams.len()];
        for c in &self.chunks {
            out[c.stream].extend_from_slice(&c.bytes);
        }
        out
    }

    /// Whole messages of every stream (length prefixes included) in capture order, cut by a
    /// [`Framer`] per stream with the splitter `splitter` makes for it.
    pub fn messages<S: Splitter>(&self, mut splitter: impl FnMut(&Stream) -> S) -> Vec<Chunk> {
        let mut framers: Vec<Framer<S>> = (self.streams.iter())
            .map(|s| Framer::new(splitter(s), self.conns[s.conn].syn_seen))
            .collect();
        let mut out = Vec::new();
        for c in &self.chunks {
            framers[c.stream].push(&c.bytes, &mut |e| {
                if let FramerEvent::Message(m) = e {
                    out.push(Chunk {
                        stream: c.stream,
                        ts: c.ts,
                        bytes: m.to_vec(),
                    });
                }
            });
        }
        out
    }
}

/// Throughput of handling each of `messages` once: messages and bytes per second.
pub fn throughput<'a>(messages: impl IntoIterator<Item = &'a [u8]>) -> Throughput {
    let (elements, bytes) =
        (messages.into_iter()).fold((0, 0), |(n, len), m| (n + 1, len + m.len() as u64));
    Throughput::ElementsAndBytes { elements, bytes }
}

/// Records the streams of the connections to one port.
struct Collector {
    port: u16,
    out: Streams,
}

impl StreamHandler for Collector {
    /// The connection's index and those of its two directions' streams, once they carry data.
    type Conn = (Option<usize>, [Option<usize>; 2]);

    fn open(&mut self, first: &TcpSegment<'_>, _: Timestamp) -> Option<(Self::Conn, ClientIs)> {
        let client_is = if first.dst.port() == self.port {
            ClientIs::Source
        } else if first.src.port() == self.port {
            ClientIs::Destination
        } else {
            return None;
        };
        Some(((None, [None; 2]), client_is))
    }

    fn data(
        &mut self,
        conn: &mut Self::Conn,
        info: &ConnInfo,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
    ) {
        let out = &mut self.out;
        let index = *conn.0.get_or_insert_with(|| {
            out.conns.push(Connection {
                client: info.client,
                syn_seen: info.syn_seen,
            });
            out.conns.len() - 1
        });
        let slot = &mut conn.1[usize::from(dir == Direction::ToClient)];
        let stream = *slot.get_or_insert_with(|| {
            out.streams.push(Stream { conn: index, dir });
            out.streams.len() - 1
        });
        out.chunks.push(Chunk {
            stream,
            ts,
            bytes: bytes.to_vec(),
        });
    }

    fn gap(&mut self, _: &mut Self::Conn, _: &ConnInfo, _: Direction, _: Timestamp, _: u64) {}

    fn close(&mut self, _: Self::Conn, _: &ConnInfo, _: Timestamp, _: CloseReason) {}
}
