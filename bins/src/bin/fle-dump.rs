//! fle-dump: decode ZooKeeper leader-election traffic from a capture file or a live interface.

use clap::Parser;
use std::process::ExitCode;
use zkwire::fle::{Election, FleCounts, FleDump, FleOptions};
use zkwire::input::{conclude, read_input, InputArgs};
use zkwire::output::{Format, OutputArgs};

const EXAMPLES: &str = "\
Examples:
  fle-dump -r capture.pcap                      every initial message and notification
  fle-dump -i eth0 -c                           live, coloured by sender (needs root)
  fle-dump -r capture.pcap --summary            each election: rounds, votes, winner, duration
  fle-dump -r capture.pcap --format json --no-config

Exit status: 0 decoded what could be read (a damaged or cut-short capture gets a warning naming
the byte offset); 1 nothing could be read (no such file, not a capture, no permission, bad
interface or filter); 2 bad usage.";

/// Decode ZooKeeper FastLeaderElection traffic (the election port): initial messages of every
/// protocol generation and notifications of every size, with who sent them.
#[derive(Debug, Parser)]
#[command(name = "fle-dump", version, after_help = EXAMPLES)]
struct Args {
    #[command(flatten)]
    input: InputArgs,

    #[command(flatten)]
    output: OutputArgs,

    /// Election port (repeat for several).
    #[arg(long = "port", value_name = "PORT", default_values_t = [3888])]
    ports: Vec<u16>,

    /// Leave the dynamic configuration out of notifications.
    #[arg(long)]
    no_config: bool,

    /// After the messages, reconstruct each election: start, rounds, each server's vote,
    /// the winner and how long votes took to converge. With --limit 0, only the summary.
    #[arg(long)]
    summary: bool,
}

/// A `--summary --format json` line.
#[derive(serde::Serialize)]
struct ElectionLine<'a> {
    kind: &'static str,
    election: &'a Election,
}

/// fle-dump's part of the `--stats-json` file.
#[derive(serde::Serialize)]
struct Stats<'a> {
    fle: &'a FleCounts,
    elections: &'a [Election],
}

fn main() -> ExitCode {
    let args = Args::parse();
    let opts = FleOptions {
        ports: args.ports.clone(),
        no_config: args.no_config,
        limit: args.output.limit,
    };
    let mut printer = args.output.printer(args.input.iface.is_some());
    if args.summary && args.output.limit == Some(0) {
        // Only the summary: decode everything, print no message lines.
        printer = zkwire::output::Printer::new(
            Box::new(std::io::sink()),
            args.output.format,
            true,
            false,
            None,
        );
    }
    let mut dump = FleDump::new(opts, printer);
    let (outcome, capture) = match read_input("fle-dump", &args.input, &args.ports, &mut dump) {
        Ok(run) => run,
        Err(code) => return code,
    };
    dump.printer.flush();
    let elections = dump.elections.finish(&dump.sids);
    if args.summary {
        let mut out = args.output.printer_with_limit(false, None);
        for e in &elections {
            let line = match args.output.format {
                Format::Json => serde_json::to_string(&ElectionLine {
                    kind: "election",
                    election: e,
                })
                .unwrap_or_default(),
                Format::Text => {
                    let votes: Vec<String> = e
                        .votes
                        .iter()
                        .map(|(sid, v)| {
                            format!(
                                "{sid}→{} ({}, epoch {})",
                                v.leader, v.state, v.election_epoch
                            )
                        })
                        .collect();
                    let what = if e.joined_existing_leader {
                        format!(
                            "servers {:?} rejoined leader {}",
                            e.looking,
                            e.leader.map_or("?".into(), |l| l.to_string())
                        )
                    } else {
                        format!(
                            "leader {} elected by {:?}",
                            e.leader.map_or("?".into(), |l| l.to_string()),
                            e.looking
                        )
                    };
                    format!(
                        "election {}: {what}; votes converged in {:.1} ms over {} notifications; rounds (election epochs) {:?}; last votes: {}",
                        e.number,
                        e.duration_ms,
                        e.notifications,
                        e.election_epochs,
                        votes.join(", ")
                    )
                }
            };
            out.print(&line);
        }
        out.flush();
    }
    let c = &dump.counts;
    let summary = format!(
        "{} connections, {} initial messages, {} notifications ({} unattributed), {} elections, {} decode errors",
        c.connections,
        c.initial_messages,
        c.notifications,
        c.unattributed,
        elections.len(),
        c.decode_errors
    );
    let stats = Stats {
        fle: c,
        elections: &elections,
    };
    // `conclude` merges it into the capture's counters.
    if !args.input.quiet {
        let decoded = dump.counts.initial_messages
            + dump.counts.notifications
            + dump.counts.quorum_auth
            + dump.counts.decode_errors;
        dump.ports_seen
            .report_if_nothing_decoded("fle-dump", &capture, decoded);
    }
    conclude(
        "fle-dump",
        &args.input,
        outcome,
        &capture,
        dump.printer.write_error.take(),
        &summary,
        &stats,
    )
}
