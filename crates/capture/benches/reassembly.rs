//! Reassembly throughput on a real capture beside the cost of merely iterating its records.
//!
//! `ZKWIRE_BENCH_CAPTURE=/path/big.pcap cargo bench -p zkwire-capture` benchmarks any capture;
//! by default the shipped `tests/data/zk38-mtu1500.pcap` is used. `scripts/bench.sh` makes a
//! large capture and runs the whole suite.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::io::Cursor;
use std::sync::Arc;
use zkwire_capture::source::Next;
use zkwire_capture::{
    run, ClientIs, CloseReason, ConnInfo, Direction, FileSource, PacketSource, PipelineOptions,
    Reassembler, ReassemblyConfig, StreamHandler, TcpSegment, Timestamp,
};

fn capture() -> Arc<[u8]> {
    let path = std::env::var("ZKWIRE_BENCH_CAPTURE").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/zk38-mtu1500.pcap"
        )
        .to_string()
    });
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("read {path}: {e}"))
        .into()
}

fn source(bytes: &Arc<[u8]>) -> FileSource {
    FileSource::from_reader("bench".into(), Cursor::new(bytes.clone()), None).expect("capture")
}

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

fn bench(c: &mut Criterion) {
    let bytes = capture();
    let mut group = c.benchmark_group("capture");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(20);
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
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
