//! zk-dump: decode ZooKeeper client traffic from a capture file or a live interface.

use clap::Parser;
use std::process::ExitCode;
use zkwire::analysis::{Analysis, AnalysisSink, Analytics, GroupBy, SortBy};
use zkwire::exit;
use zkwire::input::{
    add_stats, conclude, open_source, port_filter, progress_bar, read_input, read_input_ticking,
    report_open_error, rereadable_file, InputArgs,
};
use zkwire::output::{Format, OutputArgs};
use zkwire::trace::{
    self, ClockOffset, HostsOptions, Sightings, TraceCounts, TraceOutput, WriteStats,
};
use zkwire::zk::{RenderOptions, ZkHandler, ZkOptions, ZkPrinter, ZkSink};
use zkwire_capture::{CaptureStats, RunOutcome, Timestamp};

const EXAMPLES: &str = "\
Examples:
  zk-dump -r capture.pcap                       decode a capture file
  zk-dump -i eth0                               watch live traffic on port 2181 (needs root)
  zk-dump -i any --port 2181 --port 2182 -c     several servers, coloured by client
  tcpdump -i lo -w - port 2181 | zk-dump -r -   read a capture from standard input
  zk-dump -r capture.pcap --format json | jq .  one JSON object per message
  zk-dump -r capture.pcap --path-prefix /app --limit 100
  zk-dump -r capture.pcap --count-requests 0 --group-by type
  zk-dump -i eth0 --measure-latency 10000 --group-by path --aggregation-depth 2 --sort-by p99
  zk-dump -r capture.pcap --sessions          (also --top-watches, --errors, --large 1048576)
  zk-dump -r capture.pcap --trace-writes --quorum-port 2888
                                              where each write's time goes, stage by stage
  zk-dump -r s1.pcap -r s2.pcap -r s3.pcap --trace-writes --format json
                                              one capture per server, clocks aligned

Exit status: 0 decoded what could be read (a damaged or cut-short capture gets a warning naming
the byte offset); 1 nothing could be read (no such file, not a capture, no permission, bad
interface or filter); 2 bad usage.";

/// Decode ZooKeeper client-protocol traffic: every request, its reply (typed and timed),
/// watch events, connects and four-letter words.
#[derive(Debug, Parser)]
#[command(name = "zk-dump", version, after_help = EXAMPLES)]
#[command(group(clap::ArgGroup::new("analysis").multiple(false)))]
struct Args {
    #[command(flatten)]
    input: InputArgs,

    #[command(flatten)]
    output: OutputArgs,

    /// ZooKeeper client port (repeat for several).
    #[arg(long = "port", visible_alias = "zookeeper-port", value_name = "PORT", default_values_t = [2181])]
    ports: Vec<u16>,

    /// Only connections from this client (IP or IP:PORT; repeatable).
    #[arg(long = "client", visible_alias = "include-host", value_name = "ADDR")]
    clients: Vec<String>,

    /// Only connections from this client port.
    #[arg(long, value_name = "PORT")]
    client_port: Option<u16>,

    /// Only messages about paths starting with this prefix.
    #[arg(long, value_name = "PREFIX")]
    path_prefix: Option<String>,

    /// Show pings (hidden by default).
    #[arg(short = 'p', long)]
    include_pings: bool,

    /// Print credentials seen on the wire (digest auth, SASL tokens, session passwords).
    #[arg(long)]
    show_secrets: bool,

    /// Print each message as it arrives instead of requests together with their replies.
    #[arg(long)]
    unpaired: bool,

    /// Largest frame accepted, in bytes (ZooKeeper's jute.maxbuffer defaults to 1 MiB).
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    max_frame_size: u32,

    /// Hex-dump frames that fail to decode.
    #[arg(long)]
    dump_bad_packet: bool,

    /// Count requests and print them grouped (--group-by), largest first; N > 0 stops after
    /// N requests, as zktraffic's --count-requests N does (0: the whole input).
    #[arg(long, value_name = "N", group = "analysis", help_heading = "Analysis")]
    count_requests: Option<u64>,

    /// Measure request→reply latencies and print percentiles per group; N > 0 stops after N
    /// samples (0: the whole input).
    #[arg(long, value_name = "N", group = "analysis", help_heading = "Analysis")]
    measure_latency: Option<u64>,

    /// Paths with the most watchers and sessions holding the most watches (set minus fired).
    #[arg(long, group = "analysis", help_heading = "Analysis")]
    top_watches: bool,

    /// Every session: clients, negotiated timeout, lifetime, requests, ephemerals, how it ended.
    #[arg(long, group = "analysis", help_heading = "Analysis")]
    sessions: bool,

    /// Error replies by code and request type, path and client.
    #[arg(long, group = "analysis", help_heading = "Analysis")]
    errors: bool,

    /// Messages of at least BYTES, then bytes per group (--group-by).
    #[arg(
        long,
        value_name = "BYTES",
        group = "analysis",
        help_heading = "Analysis"
    )]
    large: Option<u64>,

    /// Group counts, latencies, bytes and write traces by path, type, client or server
    /// (default: path; type for --trace-writes).
    #[arg(long, value_enum, help_heading = "Analysis")]
    group_by: Option<GroupBy>,

    /// Latency row order: avg, p95, p99 or count (path/type/client mean --group-by, as in
    /// zktraffic's older README).
    #[arg(long, value_name = "KEY", help_heading = "Analysis")]
    sort_by: Option<String>,

    /// Cut paths to their first D components when grouping (0: whole paths).
    #[arg(long, value_name = "D", default_value_t = 0, help_heading = "Analysis")]
    aggregation_depth: usize,

    /// Rows in every analysis table (default: all rows, and 20 in the watch tables); a cut
    /// table ends with a line saying how many rows were left out.
    #[arg(long, value_name = "N", help_heading = "Analysis")]
    top: Option<usize>,

    /// Follow each write through the quorum: client request → the follower's forward → the
    /// leader's PROPOSAL → the ACK completing a quorum → the COMMIT → the reply. The capture
    /// must hold the quorum port too (--quorum-port); give -r once per host for several
    /// hosts' captures.
    #[arg(long, group = "analysis", help_heading = "Write tracing")]
    trace_writes: bool,

    /// The leader's quorum port, for --trace-writes (repeat for several).
    #[arg(long = "quorum-port", value_name = "PORT", default_values_t = [2888], help_heading = "Write tracing")]
    quorum_ports: Vec<u16>,

    /// Voting members of the ensemble, for the quorum stage (default: 1 + the most followers
    /// one PROPOSAL was seen going to).
    #[arg(long, value_name = "N", help_heading = "Write tracing")]
    voters: Option<usize>,

    /// Live: reprint the analysis every SECONDS, like top.
    #[arg(long, value_name = "SECONDS", help_heading = "Analysis")]
    interval: Option<f64>,

    /// Threads decoding --count-requests 0 and --measure-latency 0, each a share of the
    /// connections, their tables merged: the same tables as one thread gives. On a capture
    /// file each thread reads the file itself (default: one per core); from standard input
    /// one more thread reads and deals the packets out (default: one per core but the
    /// reader's). Other modes, limits, --interval and live capture read on one thread.
    #[arg(long, value_name = "N", help_heading = "Analysis")]
    threads: Option<usize>,
}

/// The analysis the flags ask for, if any.
fn analysis(args: &Args) -> Result<Option<Analysis>, String> {
    let mut group_by = args.group_by.unwrap_or(GroupBy::Path);
    let mut sort_by = SortBy::Avg;
    match args.sort_by.as_deref() {
        None => {}
        Some("avg") => sort_by = SortBy::Avg,
        Some("p95") => sort_by = SortBy::P95,
        Some("p99") => sort_by = SortBy::P99,
        Some("count") => sort_by = SortBy::Count,
        Some("path") => group_by = GroupBy::Path,
        Some("type") => group_by = GroupBy::Type,
        Some("client") => group_by = GroupBy::Client,
        Some(other) => {
            return Err(format!(
                "--sort-by {other:?}: expected avg, p95, p99 or count"
            ))
        }
    }
    Ok(if let Some(limit) = args.count_requests {
        Some(Analysis::Count { limit, group_by })
    } else if let Some(limit) = args.measure_latency {
        Some(Analysis::Latency {
            limit,
            group_by,
            sort_by,
        })
    } else if args.top_watches {
        Some(Analysis::TopWatches)
    } else if args.sessions {
        Some(Analysis::Sessions)
    } else if args.errors {
        Some(Analysis::Errors)
    } else {
        args.large.map(|bytes| Analysis::Large { bytes, group_by })
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mode = match analysis(&args) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("zk-dump: error: {e}");
            return ExitCode::from(exit::USAGE as u8);
        }
    };
    let opts = ZkOptions {
        ports: args.ports.clone(),
        clients: args.clients.clone(),
        client_port: args.client_port,
        path_prefix: args.path_prefix.clone(),
        include_pings: args.include_pings,
        max_frame: args.max_frame_size,
    };
    let render = RenderOptions {
        show_secrets: args.show_secrets,
        dump_bad_packets: args.dump_bad_packet,
    };
    if args.trace_writes {
        return trace_writes(&args, opts);
    }
    let live = args.input.iface.is_some();
    let json = args.output.format == zkwire::output::Format::Json;
    match mode {
        None => {
            let sink = ZkPrinter::new(args.output.printer(live), render, args.unpaired);
            let mut handler = ZkHandler::new(opts, sink);
            let run = match read_input("zk-dump", &args.input, &args.ports, &mut handler) {
                Ok(run) => run,
                Err(code) => return code,
            };
            handler.sink.finish();
            let error = handler.sink.printer.write_error.take();
            conclude_run(&args, &handler, run, error)
        }
        Some(mode) => {
            let mut analytics = Analytics::new(mode, args.aggregation_depth, args.top);
            if let Some(shards) = shards(&args, &analytics) {
                return analyse_sharded(&args, opts, analytics, shards);
            }
            if json {
                analytics.keep_large_as_json(render);
            }
            // --limit counts messages printed; an analysis prints a table, whole.
            let mut sink = AnalysisSink::new(analytics, args.output.printer_with_limit(live, None));
            sink.interval_ns = args.interval.filter(|s| *s > 0.0).map(|s| (s * 1e9) as i64);
            sink.redraw = sink.interval_ns.is_some()
                && !json
                && std::io::IsTerminal::is_terminal(&std::io::stdout());
            let mut handler = ZkHandler::new(opts, sink);
            let run = match read_input("zk-dump", &args.input, &args.ports, &mut handler) {
                Ok(run) => run,
                Err(code) => return code,
            };
            handler.sink.report();
            handler.sink.printer.flush();
            let error = handler.sink.printer.write_error.take();
            conclude_run(&args, &handler, run, error)
        }
    }
}

/// How many threads an analysis reads with: more than one only where the shards' tables merge
/// into exactly one thread's (see `--threads`).
fn shards(args: &Args, analytics: &Analytics) -> Option<usize> {
    // By default every core. Shards that read a file for themselves take one each; behind a
    // reader, which takes one, the shards take the others (on two cores the reader would
    // compete with its shards, and copying packets for them then costs more than the second
    // core gives on captures of few connections or large packets).
    let threads = args.threads.unwrap_or_else(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        match rereadable_file(&args.input) {
            Some(_) => cores,
            None => cores.saturating_sub(1),
        }
    });
    let eligible =
        analytics.is_mergeable() && args.interval.is_none() && args.input.iface.is_none();
    (eligible && threads > 1).then_some(threads)
}

/// An analysis read by `shards` threads, each with its own decoder over its share of the
/// connections (zkwire-capture's `run_sharded`); their tables and counters are merged, then
/// printed as one thread would print them.
fn analyse_sharded(args: &Args, opts: ZkOptions, analytics: Analytics, shards: usize) -> ExitCode {
    use zkwire::output::Printer;
    use zkwire_capture::sharded::{run_sharded, run_sharded_reads, ShardOptions};
    use zkwire_capture::tls::TlsLayer;
    use zkwire_capture::FileSource;
    let mut source = match open_source("zk-dump", &args.input, &port_filter(&args.ports)) {
        Ok(s) => s,
        Err(e) => {
            report_open_error("zk-dump", &e);
            return ExitCode::from(exit::FATAL as u8);
        }
    };
    let (depth, top) = (args.aggregation_depth, args.top);
    let keylog = args.input.tls_keylog.as_deref();
    let make = |_| {
        let quiet = Printer::new(std::io::sink(), Format::Json, true, false, None);
        let sink = AnalysisSink::new(Analytics::new(analytics.mode().clone(), depth, top), quiet);
        TlsLayer::with_optional_key_log(ZkHandler::new(opts.clone(), sink), keylog)
    };
    let bar = progress_bar(source.as_ref(), !args.input.no_progress);
    let mut progress = |done: u64, _: Option<u64>| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    };
    let mut options = ShardOptions::default();
    options.progress = Some(&mut progress);
    let config = args.input.reassembly_config();
    let (mut outcome, layers) = match rereadable_file(&args.input) {
        // Each shard reads the file itself: nothing is copied between threads.
        Some(path) => {
            let sources: Result<Vec<FileSource>, _> =
                (0..shards).map(|_| FileSource::open(path)).collect();
            match sources {
                Ok(sources) => run_sharded_reads(sources, config, make, options),
                Err(e) => {
                    report_open_error("zk-dump", &e);
                    return ExitCode::from(exit::FATAL as u8);
                }
            }
        }
        None => run_sharded(source.as_mut(), shards, config, make, options),
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let mut merged: Option<ZkHandler<_>> = None;
    for layer in layers {
        outcome.capture.tls.add(layer.stats());
        let handler = layer.into_inner();
        match &mut merged {
            None => merged = Some(handler),
            Some(all) => {
                all.counts.add(&handler.counts);
                all.ports_seen.merge(handler.ports_seen);
                all.sink.analytics.merge(handler.sink.analytics);
            }
        }
    }
    let Some(mut handler) = merged else {
        return ExitCode::from(exit::FATAL as u8);
    };
    // The merged tables, printed as one thread's would be.
    let merged = std::mem::replace(&mut handler.sink.analytics, analytics);
    let mut out = AnalysisSink::new(merged, args.output.printer_with_limit(false, None));
    out.report();
    out.printer.flush();
    let error = out.printer.write_error.take();
    let capture = outcome.capture.clone();
    conclude_run(args, &handler, (outcome, capture), error)
}

/// What reading the input gave: how it ended, and the capture counters.
type Run = (RunOutcome, zkwire_capture::CaptureStats);

/// The summary line, the JSON statistics and the exit code.
fn conclude_run<S: ZkSink>(
    args: &Args,
    handler: &ZkHandler<S>,
    (outcome, capture): Run,
    write_error: Option<std::io::Error>,
) -> ExitCode {
    let counts = &handler.counts;
    let summary = format!(
        "{} messages ({} requests, {} replies, {} events), {} decode errors, {} unmatched replies, {} resyncs",
        counts.messages,
        counts.requests,
        counts.replies,
        counts.events,
        counts.decode_errors,
        counts.unmatched_replies,
        counts.resyncs
    );
    #[derive(serde::Serialize)]
    struct Stats<'a> {
        zk: &'a zkwire::zk::ZkCounts,
    }
    if !args.input.quiet {
        handler
            .ports_seen
            .report_if_nothing_decoded("zk-dump", &capture, counts.messages);
    }
    conclude(
        "zk-dump",
        &args.input,
        outcome,
        &capture,
        write_error,
        &summary,
        &Stats { zk: counts },
    )
}

/// `--trace-writes`: traces every write of the capture (or of several hosts' captures, their
/// clocks aligned) and prints them as JSON lines or as the stage tables.
fn trace_writes(args: &Args, opts: ZkOptions) -> ExitCode {
    let live = args.input.iface.is_some();
    let group_by = args.group_by.unwrap_or(GroupBy::Type);
    let mut out = match args.output.format {
        Format::Json => TraceOutput::Json(args.output.printer(live)),
        Format::Text => TraceOutput::Table(
            Box::new(WriteStats::new(group_by, args.aggregation_depth, args.top)),
            args.output.printer_with_limit(live, None),
        ),
    };
    let traced = if args.input.read.len() > 1 {
        trace_files(args, opts, &mut out)
    } else {
        trace_one(args, opts, &mut out)
    };
    let Ok((counts, runs)) = traced else {
        return ExitCode::from(exit::FATAL as u8);
    };
    let mut printer = out.finish(&counts, args.voters);
    let write_error = printer.write_error.take();
    let summary = format!(
        "{} of {} writes traced ({} requests before the capture, {} proposals not in it)",
        counts.traced, counts.writes, counts.request_not_seen, counts.proposal_not_seen
    );
    let mut capture = CaptureStats::default();
    for run in &runs.captures {
        capture = add_stats(&capture, run);
    }
    #[derive(serde::Serialize)]
    struct Stats<'a> {
        trace: &'a TraceCounts,
        zk: &'a [zkwire::zk::ZkCounts],
        clock_offsets: &'a [ClockOffset],
    }
    conclude(
        "zk-dump",
        &args.input,
        runs.outcome,
        &capture,
        write_error,
        &summary,
        &Stats {
            trace: &counts,
            zk: &runs.zk,
            clock_offsets: &runs.offsets,
        },
    )
}

/// What reading the captures of a trace gave.
struct TraceRuns {
    outcome: RunOutcome,
    captures: Vec<CaptureStats>,
    zk: Vec<zkwire::zk::ZkCounts>,
    offsets: Vec<ClockOffset>,
}

/// One capture (or a live interface): traced as it is read, JSON lines printed as they come.
fn trace_one(
    args: &Args,
    opts: ZkOptions,
    out: &mut TraceOutput<Box<dyn std::io::Write>>,
) -> Result<(TraceCounts, TraceRuns), ExitCode> {
    let to = trace::tracing(args.voters);
    let mut handler = trace::handler(opts, args.quorum_ports.clone(), to.clone());
    let ticking = to.clone();
    // Capture time moves on with every packet (quorum pings too), not only with sightings.
    let mut on_tick = |now: Timestamp, _: &CaptureStats| {
        trace::drain(&ticking, Some(now), |t| out.push(t));
    };
    let ports = [&args.ports[..], &args.quorum_ports[..]].concat();
    let (outcome, capture) = read_input_ticking(
        "zk-dump",
        &args.input,
        &ports,
        &mut handler,
        Some(&mut on_tick),
    )?;
    if !args.input.quiet {
        handler.first.ports_seen.report_if_nothing_decoded(
            "zk-dump",
            &capture,
            handler.first.counts.messages,
        );
    }
    let zk = vec![handler.first.counts.clone()];
    drop(handler);
    trace::drain(&to, None, |t| out.push(t));
    let counts = match &*trace::lock(&to) {
        Sightings::Trace(tracer) => tracer.counts.clone(),
        _ => TraceCounts::default(),
    };
    let runs = TraceRuns {
        outcome,
        captures: vec![capture],
        zk,
        offsets: Vec::new(),
    };
    Ok((counts, runs))
}

/// Several hosts' captures, traced as one by [`trace::trace_captures`].
fn trace_files(
    args: &Args,
    opts: ZkOptions,
    out: &mut TraceOutput<Box<dyn std::io::Write>>,
) -> Result<(TraceCounts, TraceRuns), ExitCode> {
    let hosts = HostsOptions {
        zk: opts,
        quorum_ports: args.quorum_ports.clone(),
        reassembly: args.input.reassembly_config(),
        voters: args.voters,
        tls_keylog: args.input.tls_keylog.clone(),
    };
    let quiet = args.input.quiet;
    let aligned = |offsets: &[ClockOffset]| {
        if !quiet {
            report_offsets(offsets);
        }
    };
    let run = trace::trace_captures(&args.input.read, &hosts, aligned, |tracer| out.take(tracer))
        .map_err(|e| {
        report_open_error("zk-dump", &e);
        ExitCode::from(exit::FATAL as u8)
    })?;
    let mut outcome: Option<RunOutcome> = None;
    let (mut captures, mut zk) = (Vec::new(), Vec::new());
    for c in run.captures {
        captures.push(c.capture);
        zk.push(c.zk);
        // The first damaged file is the one the exit status speaks of.
        if outcome.as_ref().is_none_or(|o| o.error.is_none()) {
            outcome = Some(c.outcome);
        }
    }
    let outcome = outcome.ok_or(ExitCode::from(exit::USAGE as u8))?;
    let runs = TraceRuns {
        outcome,
        captures,
        zk,
        offsets: run.offsets,
    };
    Ok((run.tracer.counts, runs))
}

/// Says on stderr how each capture's clock was aligned with the first's.
fn report_offsets(offsets: &[ClockOffset]) {
    let Some(first) = offsets.first() else {
        return;
    };
    for o in &offsets[1..] {
        if o.packets == 0 {
            eprintln!(
                "zk-dump: {}: no quorum packet in common with the other captures: its clock is \
                 taken as is (capture the leader's host too)",
                o.file
            );
        } else {
            eprintln!(
                "zk-dump: {}: clock {:+.6} s against {} (from {} quorum packets seen in both)",
                o.file,
                o.offset_ns as f64 / 1e9,
                first.file,
                o.packets
            );
        }
    }
}
