//! Client-protocol decoding of every request and reply of a real capture: `decode_request`,
//! `decode_reply` (given the opcode of the request each reply answers), and the
//! `ConnectionTracker` that pairs them as zk-dump does. The frames are reassembled and cut out of
//! the client-port streams once, before timing, with zkwire-capture.
//!
//! `ZKWIRE_BENCH_CAPTURE=/path/big.pcap cargo bench -p zkwire-benches --bench zk-proto` benchmarks
//! any capture; by default the shipped `tests/data/zk38-mtu1500.pcap` is used.

#[path = "../../capture/benches/support/mod.rs"]
mod support;

mod client;

use client::{frames, trackers};
use criterion::{criterion_group, criterion_main, Criterion};
use support::{capture, throughput, Streams, CLIENT_PORT};
use zk_proto::tracker::{ClientFrame, ServerFrame};
use zk_proto::{decode_reply, decode_request, OpCode};
use zkwire_capture::Direction;

fn bench(c: &mut Criterion) {
    let streams = Streams::collect(&capture(), CLIENT_PORT);
    let frames = frames(&streams);

    // The request payloads, and each reply's with the opcode of the request it answers (`None`
    // for watch notifications), as the tracker pairs them.
    let mut requests: Vec<&[u8]> = Vec::new();
    let mut replies: Vec<(&[u8], Option<OpCode>)> = Vec::new();
    let mut pairing = trackers(&streams);
    for f in &frames {
        let tracker = &mut pairing[f.conn];
        match f.dir {
            Direction::ToServer => {
                if let ClientFrame::Request(_) = tracker.on_client_frame(&f.payload, f.ts, |_| ()) {
                    requests.push(&f.payload);
                }
            }
            Direction::ToClient => {
                if let ServerFrame::Reply { matched, .. } =
                    tracker.on_server_frame(&f.payload, f.ts)
                {
                    replies.push((&f.payload, matched.map(|p| p.opcode)));
                }
            }
        }
    }

    let mut group = c.benchmark_group("zk-proto");
    group.sample_size(20);
    group.throughput(throughput(requests.iter().copied()));
    group.bench_function("decode_request", |b| {
        b.iter(|| {
            requests
                .iter()
                .filter(|p| decode_request(p).is_ok())
                .count()
        })
    });
    group.throughput(throughput(replies.iter().map(|r| r.0)));
    group.bench_function("decode_reply", |b| {
        b.iter(|| {
            (replies.iter())
                .filter(|(p, op)| decode_reply(p, *op).is_ok())
                .count()
        })
    });
    group.throughput(throughput(frames.iter().map(|f| &f.payload[..])));
    group.bench_function("track", |b| {
        b.iter(|| {
            let mut trackers = trackers(&streams);
            let mut decoded = 0usize;
            for f in &frames {
                let tracker = &mut trackers[f.conn];
                decoded += usize::from(match f.dir {
                    Direction::ToServer => matches!(
                        tracker.on_client_frame(&f.payload, f.ts, |_| ()),
                        ClientFrame::Request(_) | ClientFrame::Connect(_)
                    ),
                    Direction::ToClient => matches!(
                        tracker.on_server_frame(&f.payload, f.ts),
                        ServerFrame::Reply { .. } | ServerFrame::Connect(_)
                    ),
                });
            }
            decoded
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
