//! zab-dump: decode ZooKeeper quorum (ZAB) traffic from a capture file or a live interface.

use clap::Parser;
use std::process::ExitCode;
use zkwire::input::{conclude, read_input, InputArgs};
use zkwire::output::{Format, OutputArgs, Printer};
use zkwire::zab::{summary_text, ZabCounts, ZabDump, ZabOptions, ZabSummary};

const EXAMPLES: &str = "\
Examples:
  zab-dump -r capture.pcap                      every quorum packet (pings hidden)
  zab-dump --iface eth0 --port 2888 -c          live, coloured by sender (needs root)
  zab-dump -r capture.pcap --type PROPOSAL --type COMMIT --format json
  zab-dump -r capture.pcap --summary --limit 0  only the summary: latencies, syncs, zxid overflow

Exit status: 0 decoded what could be read (a damaged or cut-short capture gets a warning naming
the byte offset); 1 nothing could be read (no such file, not a capture, no permission, bad
interface or filter); 2 bad usage.";

/// Decode ZooKeeper's quorum protocol (leader <-> learners): every packet type, the
/// transactions inside proposals, learner handshakes and syncs.
#[derive(Debug, Parser)]
#[command(name = "zab-dump", version, after_help = EXAMPLES)]
struct Args {
    #[command(flatten)]
    input: InputArgs,

    #[command(flatten)]
    output: OutputArgs,

    /// The leader's quorum port (repeat for several; zktraffic's default was 2889).
    #[arg(long = "port", value_name = "PORT", default_values_t = [2888])]
    ports: Vec<u16>,

    /// Show PING packets (hidden by default, as in zktraffic).
    #[arg(short = 'p', long)]
    include_pings: bool,

    /// Only these packet types, e.g. PROPOSAL (repeatable or comma-separated).
    #[arg(long = "type", value_name = "TYPE", value_delimiter = ',')]
    types: Vec<String>,

    /// After the packets: proposal -> quorum -> commit latency (avg/p95/p99), ack lag per
    /// follower, write rate, each learner's sync (DIFF/TRUNC/SNAP and size), and the zxid
    /// counter's distance to 2^32 with a forecast of its overflow. With --limit 0, only that.
    #[arg(long)]
    summary: bool,
}

/// The `--summary --format json` line.
#[derive(serde::Serialize)]
struct SummaryLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    summary: &'a ZabSummary,
}

/// zab-dump's part of the `--stats-json` file.
#[derive(serde::Serialize)]
struct Stats<'a> {
    zab: &'a ZabCounts,
    summary: &'a ZabSummary,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let opts = ZabOptions {
        ports: args.ports.clone(),
        include_pings: args.include_pings,
        types: args
            .types
            .iter()
            .map(|t| t.trim().to_ascii_uppercase())
            .collect(),
    };
    let printer = if args.summary && args.output.limit == Some(0) {
        Printer::new(
            Box::new(std::io::sink()) as Box<dyn std::io::Write>,
            args.output.format,
            true,
            false,
            None,
        )
    } else {
        args.output.printer(args.input.iface.is_some())
    };
    let mut dump = ZabDump::new(opts, printer);
    dump.print = !(args.summary && args.output.limit == Some(0));
    let (outcome, capture) = match read_input("zab-dump", &args.input, &args.ports, &mut dump) {
        Ok(run) => run,
        Err(code) => return code,
    };
    dump.printer.flush();
    let report = dump.measurements.report();
    if args.summary {
        let mut out = args.output.printer_with_limit(false, None);
        match args.output.format {
            Format::Json => {
                let line = SummaryLine {
                    kind: "summary",
                    summary: &report,
                };
                out.print(&serde_json::to_string(&line).unwrap_or_default())
            }
            Format::Text => {
                for line in summary_text(&report) {
                    out.print(&line);
                }
            }
        }
        out.flush();
    }
    let c = &dump.counts;
    let summary = format!(
        "{} connections, {} packets, {} snapshot bytes, {} decode errors, {} resyncs",
        c.connections, c.packets, c.snapshot_bytes, c.decode_errors, c.resyncs
    );
    let stats = Stats {
        zab: c,
        summary: &report,
    };
    // `conclude` merges it into the capture's counters.
    if !args.input.quiet {
        let decoded = dump.counts.packets + dump.counts.quorum_auth + dump.counts.decode_errors;
        dump.ports_seen
            .report_if_nothing_decoded("zab-dump", &capture, decoded);
    }
    conclude(
        "zab-dump",
        &args.input,
        outcome,
        &capture,
        dump.printer.write_error.take(),
        &summary,
        &stats,
    )
}
