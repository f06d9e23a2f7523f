//! Quorum-protocol decoding of every QuorumPacket of a real capture, one step at a time:
//! `packet_boundary` (where each record ends, asked at each record start of the reassembled
//! stream), `parse_quorum_packet` (the record), and `decode_packet` (its data by type and
//! direction, on records parsed beforehand). The port-2888 streams are reassembled and cut into
//! records by `QuorumSplitter` once, before timing, with zkwire-capture; SASL prelude packets
//! and snapshot streams are not records.
//!
//! `ZKWIRE_BENCH_CAPTURE=/path/big.pcap cargo bench -p zkwire-benches --bench zab-proto`
//! benchmarks any capture; by default the shipped `tests/data/zk38-mtu1500.pcap` is used.

#[path = "../../capture/benches/support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use support::{capture, throughput, Streams, QUORUM_PORT};
use zab_proto::{
    decode_packet, packet_boundary, parse_quorum_packet, starts_with_quorum_auth, Boundary,
    Plausibility, QuorumDirection, QuorumSplitter,
};
use zkwire_capture::{Framer, FramerEvent};

/// A QuorumPacket: the stream from its first byte on, and its length.
struct Record<'a> {
    rest: &'a [u8],
    len: usize,
    dir: QuorumDirection,
}

impl Record<'_> {
    fn bytes(&self) -> &[u8] {
        &self.rest[..self.len]
    }
}

/// Every QuorumPacket of a leader ↔ learner stream, cut by the protocol's own splitter (which
/// also passes over the snapshot stream after SNAP); quorum-SASL packets are left out.
fn find_records<'a>(
    stream: &'a [u8],
    dir: QuorumDirection,
    at_boundary: bool,
    out: &mut Vec<Record<'a>>,
) {
    let mut framer = Framer::new(QuorumSplitter::new(dir), at_boundary);
    // Every byte handed over is a message, skipped or discarded, in stream order, so the
    // offset of each message is the sum of what came before it.
    let mut at = 0;
    framer.push(stream, &mut |ev| match ev {
        FramerEvent::Message(m) => {
            if starts_with_quorum_auth(m) != Plausibility::Yes {
                out.push(Record {
                    rest: &stream[at..],
                    len: m.len(),
                    dir,
                });
            }
            at += m.len();
        }
        FramerEvent::Skipped(n) | FramerEvent::Discarded(n) => at += n as usize,
        _ => {}
    });
}

fn bench(c: &mut Criterion) {
    let quorum = Streams::collect(&capture(), QUORUM_PORT);
    let joined = quorum.joined();
    let mut records = Vec::new();
    for (stream, bytes) in quorum.streams.iter().zip(&joined) {
        let dir = match stream.dir {
            zkwire_capture::Direction::ToServer => QuorumDirection::LearnerToLeader,
            zkwire_capture::Direction::ToClient => QuorumDirection::LeaderToLearner,
        };
        let at_boundary = quorum.conns[stream.conn].syn_seen;
        find_records(bytes, dir, at_boundary, &mut records);
    }
    let packets: Vec<_> = (records.iter())
        .map(|r| (parse_quorum_packet(r.bytes()).expect("record").1, r.dir))
        .collect();

    let mut group = c.benchmark_group("zab-proto");
    group.sample_size(20);
    group.throughput(throughput(records.iter().map(Record::bytes)));
    group.bench_function("packet_boundary", |b| {
        b.iter(|| {
            (records.iter())
                .filter(|r| packet_boundary(r.rest) == Boundary::Complete(r.len))
                .count()
        })
    });
    group.bench_function("parse_quorum_packet", |b| {
        b.iter(|| {
            (records.iter())
                .filter(|r| parse_quorum_packet(r.bytes()).is_ok())
                .count()
        })
    });
    group.bench_function("decode_packet", |b| {
        b.iter(|| {
            (packets.iter())
                .filter(|(p, dir)| decode_packet(p, Some(*dir)).is_ok())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
