//! zk-dump: decode ZooKeeper client traffic from a capture file or a live interface.

use clap::Parser;
use std::process::ExitCode;
use zkwire::exit;
use zkwire::input::{conclude, drive, open_source, port_filter, InputArgs};
use zkwire::output::OutputArgs;
use zkwire::zk::{ZkDump, ZkOptions};
use zkwire_capture::ReassemblyConfig;

const EXAMPLES: &str = "\
Examples:
  zk-dump -r capture.pcap                       decode a capture file
  zk-dump -i eth0                               watch live traffic on port 2181 (needs root)
  zk-dump -i any --port 2181 --port 2182 -c     several servers, coloured by client
  tcpdump -i lo -w - port 2181 | zk-dump -r -   read a capture from standard input
  zk-dump -r capture.pcap --format json | jq .  one JSON object per message
  zk-dump -r capture.pcap --path-prefix /app --limit 100

Exit status: 0 decoded everything; 1 input could not be opened or read; 2 bad usage;
3 the input was damaged or cut short (everything readable was decoded).";

/// Decode ZooKeeper client-protocol traffic: every request, its reply (typed and timed),
/// watch events, connects and four-letter words.
#[derive(Debug, Parser)]
#[command(name = "zk-dump", version, after_help = EXAMPLES)]
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
}

fn main() -> ExitCode {
    let args = Args::parse();
    let opts = ZkOptions {
        ports: args.ports.clone(),
        clients: args.clients.clone(),
        client_port: args.client_port,
        path_prefix: args.path_prefix.clone(),
        include_pings: args.include_pings,
        show_secrets: args.show_secrets,
        unpaired: args.unpaired,
        max_frame: args.max_frame_size,
        dump_bad_packets: args.dump_bad_packet,
    };
    let mut source = match open_source("zk-dump", &args.input, &port_filter(&args.ports)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("zk-dump: error: {e}");
            return ExitCode::from(exit::FATAL as u8);
        }
    };
    let printer = args.output.printer(args.input.iface.is_some());
    let mut dump = ZkDump::new(opts, printer);
    let (outcome, capture) = drive(
        source.as_mut(),
        &mut dump,
        ReassemblyConfig::default(),
        !args.input.no_progress,
    );
    dump.printer.flush();
    let counts = &dump.counts;
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
    let json = serde_json::json!({ "zk": counts });
    conclude(
        "zk-dump",
        &args.input,
        outcome,
        &capture,
        dump.printer.write_error.take(),
        &summary,
        json,
    )
}
