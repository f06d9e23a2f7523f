//! zk-dump's sinks end to end over a real capture: reading, reassembly, zk-proto's stream
//! decoder and zk-dump's handler, into each sink — the analyses (`--count-requests` by path,
//! type and client, `--measure-latency`) and the printers (paired text, unpaired text, JSON),
//! writing into a discarded buffer. Throughput is in messages, so the per-message cost of each
//! mode reads off directly; the difference to the count modes is what printing costs.
//!
//! `ZKWIRE_BENCH_CAPTURE=/path/big.pcap cargo bench -p zkwire` benchmarks any capture; by
//! default the shipped `tests/data/zk38-mtu1500.pcap` is used.

#[path = "../../crates/capture/benches/support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::Arc;
use support::{capture, source, CLIENT_PORT};
use zkwire::analysis::{Analysis, AnalysisSink, Analytics, GroupBy, SortBy};
use zkwire::input::drive;
use zkwire::output::{Format, Printer};
use zkwire::zk::{RenderOptions, ZkHandler, ZkOptions, ZkPrinter, ZkSink};
use zkwire_capture::ReassemblyConfig;

fn options() -> ZkOptions {
    ZkOptions {
        ports: vec![CLIENT_PORT],
        clients: Vec::new(),
        client_port: None,
        path_prefix: None,
        include_pings: false,
        max_frame: 1 << 20,
    }
}

/// Runs the whole capture into `sink`; returns the messages decoded.
fn run<S: ZkSink>(bytes: &Arc<[u8]>, sink: S) -> u64 {
    let mut handler = ZkHandler::new(options(), sink);
    let mut file = source(bytes);
    let _ = drive(
        &mut file,
        &mut handler,
        ReassemblyConfig::default(),
        false,
        None,
    );
    handler.counts.messages
}

fn printer(format: Format) -> Printer<std::io::Sink> {
    Printer::new(std::io::sink(), format, true, false, None)
}

fn analysis(mode: Analysis) -> AnalysisSink<std::io::Sink> {
    AnalysisSink::new(Analytics::new(mode, 0, None), printer(Format::Text))
}

fn bench(c: &mut Criterion) {
    let bytes = capture();
    let messages = run(&bytes, analysis(Analysis::TopWatches));
    let mut group = c.benchmark_group("zk_sinks");
    group.sample_size(10);
    group.throughput(Throughput::Elements(messages));
    for (name, group_by) in [
        ("path", GroupBy::Path),
        ("type", GroupBy::Type),
        ("client", GroupBy::Client),
    ] {
        group.bench_function(BenchmarkId::new("count_requests", name), |b| {
            b.iter(|| run(&bytes, analysis(Analysis::Count { limit: 0, group_by })))
        });
    }
    group.bench_function("measure_latency/path", |b| {
        let mode = Analysis::Latency {
            limit: 0,
            group_by: GroupBy::Path,
            sort_by: SortBy::Avg,
        };
        b.iter(|| run(&bytes, analysis(mode.clone())))
    });
    for (name, format, unpaired) in [
        ("text", Format::Text, false),
        ("text_unpaired", Format::Text, true),
        ("json", Format::Json, false),
    ] {
        group.bench_function(BenchmarkId::new("print", name), |b| {
            b.iter(|| {
                let sink = ZkPrinter::new(printer(format), RenderOptions::default(), unpaired);
                run(&bytes, sink)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
