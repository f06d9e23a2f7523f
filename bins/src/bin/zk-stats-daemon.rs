//! zk-stats-daemon: always-on ZooKeeper client-traffic statistics over HTTP.

use clap::Parser;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;
use zkwire::daemon::{HttpServer, Limits, Shared, StatsOptions};
use zkwire::exit;
use zkwire::fle::{FleDump, FleOptions};
use zkwire::input::{
    add_stats, conclude, drive_with, open_source, paced, port_filter, report_open_error, InputArgs,
};
use zkwire::output::{Format, Printer};
use zkwire::ports::ByPort;
use zkwire::trace::{self, TraceTap};
use zkwire::zab::{ZabDump, ZabOptions};
use zkwire::zk::{Tee, ZkHandler, ZkOptions};
use zkwire_capture::source::PacketSource;
use zkwire_capture::{CaptureStats, StopFlag, Timestamp};

const EXAMPLES: &str = "\
Examples:
  zk-stats-daemon -i eth0                          sniff port 2181, serve on 127.0.0.1:7070
  zk-stats-daemon -i any --http-addr 0.0.0.0:7070  serve to other hosts (Prometheus scrapes)
  zk-stats-daemon -r capture.pcap --pace           replay a capture at its own speed, keep serving
  zk-stats-daemon -i any --quorum-port 2888 --election-port 3888
                                                   add the zxid counter, elections, leader changes
  curl -s 127.0.0.1:7070/metrics | grep zkwire_requests_total
  curl -s 127.0.0.1:7070/json/paths

Endpoints: /metrics (Prometheus), /json/paths, /json/ips, /json/auths, /json/auths-dump,
/json/info, /healthz. Stops cleanly on SIGTERM or Ctrl-C.";

/// Serve ZooKeeper client-traffic statistics over HTTP: zktraffic's JSON endpoints and
/// Prometheus metrics, from a live interface or a replayed capture.
#[derive(Debug, Parser)]
#[command(name = "zk-stats-daemon", version, after_help = EXAMPLES)]
struct Args {
    #[command(flatten)]
    input: InputArgs,

    /// ZooKeeper client port (repeat for several).
    #[arg(long = "port", visible_alias = "zookeeper-port", value_name = "PORT", default_values_t = [2181])]
    ports: Vec<u16>,

    /// Also sniff this quorum port (the leader's, e.g. 2888) for ZAB commit latency
    /// (repeatable).
    #[arg(long = "quorum-port", value_name = "PORT")]
    quorum_ports: Vec<u16>,

    /// Also sniff this election port (e.g. 3888) for elections, their duration, the current
    /// leader and leader changes (repeatable).
    #[arg(long = "election-port", value_name = "PORT")]
    election_ports: Vec<u16>,

    /// Address to serve HTTP on (loopback by default; port 0 picks a free one).
    #[arg(
        long,
        visible_alias = "http-address",
        value_name = "ADDR",
        default_value = "127.0.0.1:7070"
    )]
    http_addr: SocketAddr,

    /// Cut paths to their first D components in every statistic (0: whole paths).
    #[arg(long, value_name = "D", default_value_t = 0)]
    aggregation_depth: usize,

    /// Top-N paths kept per key in every /json answer, and per type in /metrics.
    #[arg(long, value_name = "N", default_value_t = 10)]
    max_results: usize,

    /// Serve the last complete window of this many seconds on the JSON endpoints, as zktraffic
    /// did (60); by default counters are cumulative, as Prometheus expects.
    #[arg(long, value_name = "SECONDS")]
    window: Option<u64>,

    /// Leave out the ...Bytes counters.
    #[arg(long)]
    exclude_bytes: bool,

    /// With -r: replay at the capture's own pace instead of as fast as possible.
    #[arg(long)]
    pace: bool,

    /// With -r: replay the capture this many times (0: forever), then keep serving.
    #[arg(long, value_name = "N", default_value_t = 1)]
    repeat: u64,

    /// Most HTTP connections open at once; one more closes the oldest (a flood of idle or slow
    /// connections cannot lock a scrape out).
    #[arg(long, value_name = "N", default_value_t = 512)]
    http_max_connections: usize,

    /// zktraffic's spelling: serve HTTP on this port (of --http-addr's address).
    #[arg(long, value_name = "PORT", help_heading = "zktraffic compatibility")]
    http_port: Option<u16>,

    /// zktraffic's flag, accepted: the daemon stays in the foreground (run it under systemd:
    /// deploy/zk-stats-daemon.service).
    #[arg(long = "app_daemonize", help_heading = "zktraffic compatibility")]
    app_daemonize: bool,
}

fn main() -> ExitCode {
    let mut args = Args::parse();
    if let Some(port) = args.http_port {
        args.http_addr.set_port(port);
    }
    let shared = Shared::new(StatsOptions {
        depth: args.aggregation_depth,
        max_results: args.max_results,
        window_ns: args
            .window
            .filter(|w| *w > 0)
            .map(|w| w as i64 * 1_000_000_000),
        exclude_bytes: args.exclude_bytes,
    });
    let limits = Limits {
        max_connections: args.http_max_connections,
        ..Limits::default()
    };
    let server = match HttpServer::start(args.http_addr, shared.clone(), limits) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "zk-stats-daemon: error: cannot serve HTTP on {}: {e}",
                args.http_addr
            );
            return ExitCode::from(exit::FATAL as u8);
        }
    };
    let bound = server.local_addr();
    let mut announced = false;
    let stop = StopFlag::new();
    let live = args.input.iface.is_some();
    let mut runs = 0u64;
    let mut total = CaptureStats::default();
    let mut outcome = None;
    let mut failure = None;
    let all_ports = [
        &args.ports[..],
        &args.quorum_ports[..],
        &args.election_ports[..],
    ]
    .concat();
    while !stop.is_stopped() && (live || args.repeat == 0 || runs < args.repeat) {
        let source = match open_source("zk-stats-daemon", &args.input, &port_filter(&all_ports)) {
            Ok(s) => s,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        if !announced {
            // Only once the capture is open: a script waiting for this line can rely on it.
            eprintln!("zk-stats-daemon: serving http://{bound}/metrics and /json/*");
            if args.app_daemonize {
                eprintln!(
                    "zk-stats-daemon: --app_daemonize: staying in the foreground (run it as a \
                     systemd service: deploy/zk-stats-daemon.service)"
                );
            }
            announced = true;
        }
        let mut source: Box<dyn PacketSource> = if args.pace && !live {
            paced(source, stop.clone())
        } else {
            source
        };
        let opts = ZkOptions {
            ports: args.ports.clone(),
            clients: Vec::new(),
            client_port: None,
            path_prefix: None,
            include_pings: true,
            max_frame: 64 << 20,
        };
        let sink = || {
            Printer::new(
                Box::new(std::io::sink()) as Box<dyn std::io::Write>,
                Format::Json,
                true,
                false,
                None,
            )
        };
        // With the quorum port, writes are traced too (a fresh tracer per replay: zxids repeat).
        let tracing = (!args.quorum_ports.is_empty()).then(|| trace::tracing(None));
        let zk = ZkHandler::new(
            opts,
            Tee(shared.clone(), tracing.clone().map(TraceTap::new)),
        );
        let mut zab = ZabDump::new(
            ZabOptions {
                ports: args.quorum_ports.clone(),
                include_pings: false,
                types: Vec::new(),
            },
            sink(),
        );
        zab.print = false;
        let commits = shared.clone();
        zab.on_commit = Some(Box::new(move |us| commits.zab_commit(us)));
        let proposals = shared.clone();
        zab.on_proposal = Some(Box::new(move |ts, zxid| proposals.zab_proposal(ts, zxid)));
        zab.tap = tracing.clone().map(trace::quorum_tap);
        let mut fle = FleDump::new(
            FleOptions {
                ports: args.election_ports.clone(),
                no_config: true,
                limit: None,
            },
            sink(),
        );
        fle.track_elections = false;
        let votes = shared.clone();
        fle.on_notification = Some(Box::new(move |ts, sid, from, n| {
            votes.election_notification(ts, sid, from, n)
        }));
        // Client, quorum and election traffic in one capture: each connection goes to the
        // decoder of its port.
        let mut dump = ByPort {
            first: zk,
            second: ByPort {
                first: zab,
                second: fle,
            },
        };
        let ticker = shared.clone();
        let base = total.clone();
        let traced = tracing.clone();
        let mut on_tick = move |now: Timestamp, stats: &CaptureStats| {
            ticker.lock().capture = add_stats(&base, stats);
            ticker.tick(now);
            if let Some(tracing) = &traced {
                trace::drain(tracing, Some(now), |t| ticker.write_traced(&t));
            }
        };
        let (run, stats) = drive_with(
            source.as_mut(),
            &mut dump,
            args.input.reassembly_config(),
            false,
            stop.clone(),
            Some(&mut on_tick),
            args.input.tls_keylog.as_deref(),
        );
        drop(dump);
        if let Some(tracing) = &tracing {
            trace::drain(tracing, None, |t| shared.write_traced(&t));
        }
        total = add_stats(&total, &stats);
        shared.lock().capture = total.clone();
        if !live {
            // The end of the file: an election that was decided is over.
            shared.tick(Timestamp(i64::MAX));
        }
        runs += 1;
        let damaged = run.error.is_some();
        outcome = Some(run);
        if live || damaged {
            break;
        }
    }
    if !announced {
        // The capture never opened: nothing to serve.
        server.shutdown();
        if let Some(e) = &failure {
            report_open_error("zk-stats-daemon", e);
        }
        return ExitCode::from(exit::FATAL as u8);
    }
    if !live {
        shared.lock().replay_done = true;
        if let Some(e) = &failure {
            eprintln!("zk-stats-daemon: error: {e}");
        } else {
            eprintln!(
                "zk-stats-daemon: replay finished after {runs} run(s); still serving until SIGTERM"
            );
        }
        while !stop.is_stopped() {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    server.shutdown();
    if let (Some(e), true) = (failure, live) {
        eprintln!("zk-stats-daemon: error: {e}");
        return ExitCode::from(exit::FATAL as u8);
    }
    let info = shared.lock().info();
    let summary = format!(
        "{} sessions, {} decode errors",
        info.sessions, info.decode_errors
    );
    match outcome {
        Some(outcome) => conclude(
            "zk-stats-daemon",
            &args.input,
            outcome,
            &total,
            None,
            &summary,
            &info,
        ),
        None => ExitCode::from(exit::FATAL as u8),
    }
}
