//! zk-dump's analysis tables in their steady state (tables and histograms already made by the
//! first iterations): `Analytics::count_request` (`--count-requests`) for every request of a
//! real capture, grouped by path, type and client; and `Analytics::observe` of every reply's
//! latency (`--measure-latency`, grouped by path), which records into HDR histograms. The
//! requests are paired with their replies once, before timing, as zk-dump pairs them; pings are
//! left out, as zk-dump leaves them out by default.
//!
//! `ZKWIRE_BENCH_CAPTURE=/path/big.pcap cargo bench -p zkwire` benchmarks any capture; by
//! default the shipped `tests/data/zk38-mtu1500.pcap` is used.

#[path = "../../crates/capture/benches/support/mod.rs"]
mod support;

#[path = "../../crates/zk-proto/benches/client/mod.rs"]
mod client;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde_json::{json, Map, Value};
use std::net::SocketAddr;
use support::{capture, Streams, CLIENT_PORT};
use zk_proto::tracker::{ClientFrame, ServerFrame};
use zk_proto::OpCode;
use zkwire::analytics::{Analytics, GroupBy, Mode, SortBy};
use zkwire_capture::Direction;

/// What `--count-requests` takes from one request: its type, path and client.
type Counted = (&'static str, Option<String>, SocketAddr);

/// The path of a request, zk-dump's key for `--group-by path`.
fn path_of(frame: &ClientFrame<'_>) -> Option<String> {
    match frame {
        ClientFrame::Request(r) => r.body.path().map(|p| p.to_string_lossy().into()),
        _ => None,
    }
}

/// The requests to count, and the reply messages (as zk-dump builds them) to time.
fn workload() -> (Vec<Counted>, Vec<Map<String, Value>>) {
    let streams = Streams::collect(&capture(), CLIENT_PORT);
    let (mut requests, mut replies) = (Vec::new(), Vec::new());
    let mut trackers = client::trackers::<Option<String>>(&streams);
    for f in client::frames(&streams) {
        let (tracker, addr) = (&mut trackers[f.conn], streams.conns[f.conn].client);
        if f.dir == Direction::ToServer {
            let frame = tracker.on_client_frame(&f.payload, f.ts, path_of);
            let kind = match &frame {
                ClientFrame::Connect(_) => Some("ConnectRequest"),
                ClientFrame::Request(r) => Some(r.opcode)
                    .filter(|&op| op != OpCode::Ping)
                    .map(OpCode::request_name),
                _ => None,
            };
            if let Some(kind) = kind {
                requests.push((kind, path_of(&frame), addr));
            }
        } else if let ServerFrame::Reply {
            matched: Some(request),
            ..
        } = tracker.on_server_frame(&f.payload, f.ts)
        {
            let Some(op) = Some(request.opcode).filter(|&o| o != OpCode::Ping) else {
                continue;
            };
            let mut m = Map::new();
            m.insert("client".into(), json!(addr.to_string()));
            m.insert("dir".into(), json!("reply"));
            m.insert("type".into(), json!(op.reply_name()));
            let latency_us = request.latency_ns(f.ts) / 1000;
            if let Some(path) = request.data {
                m.insert("path".into(), json!(path));
            }
            m.insert("latency_us".into(), json!(latency_us));
            replies.push(m);
        }
    }
    (requests, replies)
}

fn bench(c: &mut Criterion) {
    let (requests, replies) = workload();

    let mut group = c.benchmark_group("analytics");
    group.sample_size(20);
    group.throughput(Throughput::Elements(requests.len() as u64));
    for (name, group_by) in [
        ("path", GroupBy::Path),
        ("type", GroupBy::Type),
        ("client", GroupBy::Client),
    ] {
        let mut analytics = Analytics::new(Mode::Count { limit: 0, group_by }, 0, None);
        group.bench_function(BenchmarkId::new("count_request", name), |b| {
            b.iter(|| {
                for (kind, path, client) in &requests {
                    analytics.count_request(kind, path.as_deref(), *client);
                }
            })
        });
    }
    group.throughput(Throughput::Elements(replies.len() as u64));
    let latency = Mode::Latency {
        limit: 0,
        group_by: GroupBy::Path,
        sort_by: SortBy::Avg,
    };
    let mut analytics = Analytics::new(latency, 0, None);
    group.bench_function("observe_latency", |b| {
        b.iter(|| replies.iter().for_each(|m| analytics.observe(m)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
