//! The capture crate's layers on a real capture, bottom up: merely iterating its records, link
//! decoding (`decode_tcp` on every frame, frames read beforehand), the whole pipeline through
//! reassembly, and length-prefix framing of the reassembled client-port streams (chunks as the
//! reassembler delivered them, collected beforehand).
//!
//! `ZKWIRE_BENCH_CAPTURE=/path/big.pcap cargo bench -p zkwire-benches --bench capture` benchmarks
//! any capture; by default the shipped `tests/data/zk38-mtu1500.pcap` is used. `scripts/bench.sh`
//! makes a large capture and runs the whole suite.

mod support;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use support::{capture, frames, source, Streams, CLIENT_PORT};
use zkwire_capture::source::Next;
use zkwire_capture::{
    decode_tcp, run, ClientIs, CloseReason, ConnInfo, Direction, Framer, FramerEvent,
    LengthPrefixed, PacketSource, PipelineOptions, Plausibility, Reassembler, ReassemblyConfig,
    StreamHandler, TcpSegment, Timestamp,
};

/// Accepts every connection and counts the bytes delivered, like the cheapest possible tool.
struct Count(u64);

impl StreamHandler for Count {
    type Conn = ();
    fn open(&mut self, first: &TcpSegment<'_>, _: Timestamp) -> Option<((), ClientIs)> {
        Some((
            (),
            if first.src.port() > first.dst.port() {
                ClientIs::Source
            } else {
                ClientIs::Destination
            },
        ))
    }
    fn data(&mut self, _: &mut (), _: &ConnInfo, _: Direction, _: Timestamp, bytes: &[u8]) {
        self.0 += bytes.len() as u64;
    }
    fn gap(&mut self, _: &mut (), _: &ConnInfo, _: Direction, _: Timestamp, _: u64) {}
    fn close(&mut self, _: (), _: &ConnInfo, _: Timestamp, _: CloseReason) {}
}

/// The client protocol's framing (zk-dump's minimum lengths), without a protocol check: the
/// shipped capture's connections start at their SYN, so the framer never hunts.
fn client_framing(dir: Direction) -> LengthPrefixed {
    let min_len = if dir == Direction::ToServer { 8 } else { 16 };
    LengthPrefixed::new(min_len, 64 << 20, |_| Plausibility::Yes)
}

fn bench(c: &mut Criterion) {
    let bytes = capture();
    let frames = frames(&bytes);
    let client = Streams::collect(&bytes, CLIENT_PORT);
    let frame_bytes = frames.iter().map(|(_, f)| f.len() as u64).sum();

    let mut group = c.benchmark_group("capture");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("iterate_records", |b| {
        b.iter(|| {
            let mut src = source(&bytes);
            let mut n = 0u64;
            while let Ok(Next::Packet(p)) = src.next_packet() {
                n += p.data.len() as u64;
            }
            n
        })
    });
    group.throughput(Throughput::ElementsAndBytes {
        elements: frames.len() as u64,
        bytes: frame_bytes,
    });
    group.bench_function("link", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for (link, frame) in &frames {
                if let Ok(segment) = decode_tcp(*link, frame) {
                    n += segment.payload.len();
                }
            }
            n
        })
    });
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("decode_and_reassemble", |b| {
        b.iter(|| {
            let mut src = source(&bytes);
            let mut reassembler = Reassembler::new(ReassemblyConfig::default());
            let mut count = Count(0);
            run(
                &mut src,
                &mut reassembler,
                &mut count,
                PipelineOptions::default(),
            );
            count.0
        })
    });
    group.throughput(Throughput::Bytes(client.total_bytes()));
    group.bench_function("framing", |b| {
        b.iter(|| {
            let mut framers: Vec<Framer<LengthPrefixed>> = (client.streams.iter())
                .map(|s| Framer::new(client_framing(s.dir), client.conns[s.conn].syn_seen))
                .collect();
            let mut messages = 0u64;
            for chunk in &client.chunks {
                framers[chunk.stream].push(&chunk.bytes, &mut |e| {
                    messages += u64::from(matches!(e, FramerEvent::Message(_)));
                });
            }
            messages
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
