//! Election-protocol decoding of every message of a real capture: the per-direction
//! `ElectionStream` (initial messages, SASL packets and notification frames, as fle-dump drives
//! it) over each reassembled port-3888 stream, and `decode_notification` on the notification
//! payloads alone. The streams are reassembled once, before timing, with zkwire-capture.
//!
//! `ZKWIRE_BENCH_CAPTURE=/path/big.pcap cargo bench -p zkwire-benches --bench fle-proto`
//! benchmarks any capture; by default the shipped `tests/data/zk38-mtu1500.pcap` is used.

#[path = "../../capture/benches/support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use fle_proto::{decode_notification, ElectionMessage, ElectionStream, Sender, Step};
use support::{capture, throughput, Streams, ELECTION_PORT};
use zkwire_capture::Direction;

/// Decodes one direction up to its last whole message, handing `each` every step with the
/// bytes it covers (a frame's length prefix included).
fn decode<'a>(
    mut stream: ElectionStream,
    mut buf: &'a [u8],
    mut each: impl FnMut(&'a [u8], &Step<'a>),
) {
    loop {
        let step = stream.next(buf);
        let len = match step {
            Step::Message { len, .. } | Step::BadFrame { len, .. } | Step::Skipped { len } => len,
            _ => return,
        };
        each(&buf[..len], &step);
        buf = &buf[len..];
    }
}

fn bench(c: &mut Criterion) {
    let election = Streams::collect(&capture(), ELECTION_PORT);
    let joined = election.joined();
    let decoder = |i: usize| {
        let s = &election.streams[i];
        match (election.conns[s.conn].syn_seen, s.dir) {
            (false, _) => ElectionStream::mid_stream(),
            (true, Direction::ToServer) => ElectionStream::new(Sender::Initiator),
            (true, Direction::ToClient) => ElectionStream::new(Sender::Acceptor),
        }
    };

    // Every message's bytes, and the payload of every notification frame.
    let (mut messages, mut notifications) = (Vec::new(), Vec::new());
    for (i, bytes) in joined.iter().enumerate() {
        decode(decoder(i), bytes, |covered, step| {
            if let Step::Message { message, .. } = step {
                messages.push(covered);
                if let ElectionMessage::Notification(_) = message {
                    notifications.push(&covered[4..]);
                }
            }
        });
    }

    let mut group = c.benchmark_group("fle-proto");
    group.sample_size(20);
    group.throughput(throughput(messages.iter().copied()));
    group.bench_function("election_stream", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for (i, bytes) in joined.iter().enumerate() {
                decode(decoder(i), bytes, |_, step| {
                    n += usize::from(matches!(step, Step::Message { .. }));
                });
            }
            n
        })
    });
    group.throughput(throughput(notifications.iter().copied()));
    group.bench_function("decode_notification", |b| {
        b.iter(|| {
            (notifications.iter())
                .filter(|p| decode_notification(p).is_ok())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
