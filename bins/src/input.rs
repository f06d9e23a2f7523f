//! Choosing and opening the packet source: `-r FILE` (pcap/pcapng, `-` for standard input) or
//! `-i IFACE` (libpcap), plus the options every tool shares for live capture, progress and the
//! end-of-run summary.

use clap::Args;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zkwire_capture::source::{LiveOptions, LiveSource};
use zkwire_capture::tls::{TlsLayer, TlsReport};
use zkwire_capture::{
    run, CaptureStats, FileSource, Inspect, PacketSource, PipelineOptions, RawPacket, Reassembler,
    ReassemblyConfig, RunOutcome, SourceError, StopFlag, Take, Timestamp,
};

/// Where packets come from, and how to capture them live.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Capture live from this interface (`any` for all; needs root or CAP_NET_RAW).
    #[arg(
        short = 'i',
        long = "iface",
        value_name = "IFACE",
        conflicts_with = "read"
    )]
    pub iface: Option<String>,

    /// Read packets from a pcap or pcapng file (`-` for standard input). `zk-dump
    /// --trace-writes` takes one per host: their clocks are aligned and they are read as one.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Vec<PathBuf>,

    /// Bytes to capture of each packet (live only).
    #[arg(short = 's', long, value_name = "BYTES", default_value_t = 262_144)]
    pub snaplen: i32,

    /// Kernel capture buffer in KiB (live only).
    #[arg(
        short = 'B',
        long = "buffer-size",
        value_name = "KIB",
        default_value_t = 8192
    )]
    pub buffer_size_kib: i32,

    /// Put the interface into promiscuous mode (off by default).
    #[arg(long)]
    pub promisc: bool,

    /// Hand each packet over as soon as it arrives (live only), as tcpdump's option does.
    /// Without it packets reach the decoder in batches at most 100 ms late, and the kernel
    /// buffer holds far more of them, so bursts are not dropped.
    #[arg(long)]
    pub immediate_mode: bool,

    /// After opening the capture, switch to this user (and its groups), as tcpdump -Z does:
    /// nothing after that runs as root.
    #[arg(short = 'Z', long = "drop-privileges", value_name = "USER")]
    pub drop_privileges: Option<String>,

    /// Stop after reading this many packets (tcpdump's -c; here -c is zktraffic's colours).
    #[arg(long, value_name = "N")]
    pub max_packets: Option<u64>,

    /// One memory budget, in MiB, over tracked connections, out-of-order segments and partial
    /// messages; over it, connections that never carried data go first, then the oldest
    /// partial messages (as gaps), then the oldest connections (all counted).
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub max_memory: usize,

    /// No progress bar when reading a file.
    #[arg(long)]
    pub no_progress: bool,

    /// No summary line on stderr at the end.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Write the end-of-run summary as JSON to this file (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,

    /// Decrypt TLS connections (secureClientPort, sslQuorum) with the secrets in this NSS key
    /// log — the SSLKEYLOGFILE format OpenSSL, Python, curl, browsers and Java key-log agents
    /// write. Read as it grows, so a live capture can start before the client. Its secrets are
    /// never printed. Without it, TLS connections are reported with their clear handshake only.
    #[arg(long = "tls-keylog", value_name = "FILE")]
    pub tls_keylog: Option<PathBuf>,

    /// A BPF filter expression for live capture, as in tcpdump (default: the tool's ports).
    #[arg(value_name = "EXPRESSION", trailing_var_arg = true)]
    pub expression: Vec<String>,
}

/// A BPF filter matching TCP traffic on any of `ports`.
pub fn port_filter(ports: &[u16]) -> String {
    let alternatives: Vec<String> = ports.iter().map(|p| format!("port {p}")).collect();
    format!("tcp and ({})", alternatives.join(" or "))
}

impl InputArgs {
    /// The reassembler's settings these options ask for.
    pub fn reassembly_config(&self) -> zkwire_capture::ReassemblyConfig {
        zkwire_capture::ReassemblyConfig {
            max_memory: self.max_memory.saturating_mul(1 << 20),
            ..Default::default()
        }
    }
}

/// Opens the source the user asked for. `default_filter` is used for live capture when the
/// user gave no expression. A live capture announces itself on stderr once packets are being
/// captured (as tcpdump does), so scripts can wait for that line before generating traffic.
pub fn open_source(
    tool: &str,
    args: &InputArgs,
    default_filter: &str,
) -> Result<Box<dyn PacketSource>, SourceError> {
    check_key_log(tool, args)?;
    let source = open_unlimited(tool, args, default_filter)?;
    Ok(match args.max_packets {
        Some(limit) => Box::new(Take::new(source, limit)),
        None => source,
    })
}

/// The file `-r` names when each of several threads can read it for itself
/// (`zkwire_capture::sharded::run_sharded_reads`): one regular file, read whole (no
/// `--max-packets`); not standard input, a pipe or a live interface.
pub fn rereadable_file(args: &InputArgs) -> Option<&Path> {
    if args.iface.is_some() || args.max_packets.is_some() {
        return None;
    }
    let [path] = args.read.as_slice() else {
        return None;
    };
    let regular = std::fs::metadata(path).is_ok_and(|m| m.is_file());
    (path.as_os_str() != "-" && regular).then_some(path.as_path())
}

/// Checks `--tls-keylog` before reading: a capture file is decoded at once, so its key log
/// must be readable now; a live capture may start before the client that writes the key log,
/// so a missing one is only noted, and read once it appears.
fn check_key_log(tool: &str, args: &InputArgs) -> Result<(), SourceError> {
    let Some(path) = &args.tls_keylog else {
        return Ok(());
    };
    match std::fs::File::open(path) {
        Ok(_) => Ok(()),
        Err(e) if args.iface.is_some() && e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "{tool}: note: --tls-keylog {} does not exist yet; it is read once a client \
                 writes it",
                path.display()
            );
            Ok(())
        }
        Err(source) => Err(SourceError::Io {
            what: format!("--tls-keylog {}", path.display()),
            source,
        }),
    }
}

fn open_unlimited(
    tool: &str,
    args: &InputArgs,
    default_filter: &str,
) -> Result<Box<dyn PacketSource>, SourceError> {
    if let Some(iface) = &args.iface {
        let mut options = LiveOptions::new(iface.clone());
        options.snaplen = args.snaplen;
        options.promiscuous = args.promisc;
        options.immediate = args.immediate_mode;
        options.buffer_size = args.buffer_size_kib.saturating_mul(1024);
        let filter = if args.expression.is_empty() {
            default_filter.to_string()
        } else {
            args.expression.join(" ")
        };
        options.filter = Some(filter.clone());
        let source = LiveSource::open(&options)?;
        if let Some(user) = &args.drop_privileges {
            drop_privileges(user).map_err(|detail| SourceError::Live {
                iface: iface.clone(),
                detail,
            })?;
        }
        eprintln!(
            "{tool}: listening on {iface}, link-type {}, filter \"{filter}\"",
            source.link_type()
        );
        return Ok(Box::new(source));
    }
    if args.read.len() > 1 {
        return Err(SourceError::Io {
            what: "-r".into(),
            source: std::io::Error::other(
                "one capture at a time here; several (one per host) only with zk-dump \
                 --trace-writes",
            ),
        });
    }
    let path = args
        .read
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("-"));
    if path.as_os_str() == "-" && std::io::stdin().is_terminal() {
        return Err(SourceError::Io {
            what: "standard input".into(),
            source: std::io::Error::other(
                "no capture piped in: use -r FILE or -i IFACE (see --help)",
            ),
        });
    }
    Ok(Box::new(FileSource::open(&path)?))
}

/// The first half of every tool's run: opens the input the flags name (`-r`/`-i`, capturing
/// only `ports` live) and drives it through `handler` — the tool's decoder with its sinks —
/// with progress and Ctrl-C handling. Returns the outcome and the capture counters for
/// [`conclude`], or the exit code when the input could not be opened (already reported, with a
/// hint how to fix it).
pub fn read_input<H: TlsReport>(
    tool: &str,
    args: &InputArgs,
    ports: &[u16],
    handler: &mut H,
) -> Result<(RunOutcome, CaptureStats), std::process::ExitCode> {
    read_input_ticking(tool, args, ports, handler, None)
}

/// [`read_input`] with a callback told the capture time now and then (every few thousand
/// packets, and when a live capture is idle).
pub fn read_input_ticking<H: TlsReport>(
    tool: &str,
    args: &InputArgs,
    ports: &[u16],
    handler: &mut H,
    on_tick: Option<&mut zkwire_capture::pipeline::TickFn<'_>>,
) -> Result<(RunOutcome, CaptureStats), std::process::ExitCode> {
    let mut source = open_source(tool, args, &port_filter(ports)).map_err(|e| {
        report_open_error(tool, &e);
        std::process::ExitCode::from(crate::exit::FATAL as u8)
    })?;
    Ok(drive_with(
        source.as_mut(),
        handler,
        args.reassembly_config(),
        !args.no_progress,
        StopFlag::new(),
        on_tick,
        args.tls_keylog.as_deref(),
    ))
}

/// The sum of two runs' capture counters (several files, or a replay repeated).
pub fn add_stats(total: &CaptureStats, run: &CaptureStats) -> CaptureStats {
    let mut sum = total.clone();
    sum.add(run);
    sum
}

/// Runs the pipeline over `source` with a progress bar for files (when stderr is a terminal)
/// and Ctrl-C handling, returning the outcome and the capture counters.
pub fn drive<H: TlsReport>(
    source: &mut dyn PacketSource,
    handler: &mut H,
    config: ReassemblyConfig,
    show_progress: bool,
    tls_keylog: Option<&Path>,
) -> (RunOutcome, CaptureStats) {
    drive_with(
        source,
        handler,
        config,
        show_progress,
        StopFlag::new(),
        None,
        tls_keylog,
    )
}

/// [`drive`] with the caller's stop flag (raised by Ctrl-C or SIGTERM too) and a periodic
/// callback with the capture counters. TLS connections are decrypted with the secrets of
/// `tls_keylog` (see [`TlsLayer`]) before `handler` sees them.
pub fn drive_with<H: TlsReport>(
    source: &mut dyn PacketSource,
    handler: &mut H,
    config: ReassemblyConfig,
    show_progress: bool,
    stop: StopFlag,
    mut on_tick: Option<&mut zkwire_capture::pipeline::TickFn<'_>>,
    tls_keylog: Option<&Path>,
) -> (RunOutcome, CaptureStats) {
    let on_signal = stop.clone();
    let wake = source.interrupter();
    // A second Ctrl-C while shutting down should still kill the process: ctrlc keeps
    // handling, so exit directly if the flag was already raised.
    let _ = ctrlc::set_handler(move || {
        if on_signal.is_stopped() {
            std::process::exit(130);
        }
        on_signal.stop();
        if let Some(wake) = &wake {
            wake();
        }
    });
    let mut reassembler = Reassembler::new(config);
    let bar = progress_bar(source, show_progress);
    let mut progress = |done: u64, _total: Option<u64>| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    };
    // A local closure: the pipeline's callbacks share one lifetime.
    let mut tick = |ts: zkwire_capture::Timestamp, stats: &CaptureStats| {
        if let Some(t) = on_tick.as_mut() {
            t(ts, stats);
        }
    };
    let mut options = PipelineOptions::default();
    options.stop = stop;
    options.progress = Some(&mut progress);
    options.progress_every = 16_384;
    options.on_tick = Some(&mut tick);
    let mut layer = TlsLayer::with_optional_key_log(handler, tls_keylog);
    let outcome = run(source, &mut reassembler, &mut layer, options);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let mut stats = reassembler.stats;
    stats.tls = layer.stats().clone();
    (outcome, stats)
}

/// A progress bar for reading `source`, when asked for, on a terminal, and the input is a file
/// of more than 8 MiB.
pub fn progress_bar(source: &dyn PacketSource, show: bool) -> Option<indicatif::ProgressBar> {
    let (_, total) = source.progress();
    (show && std::io::stderr().is_terminal())
        .then_some(total)
        .flatten()
        .filter(|t| *t > 8 << 20)
        .map(|t| {
            let bar = indicatif::ProgressBar::new(t);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        })
}

/// Delays packets to their capture timing, relative to the first one (`--pace` of the tools
/// that replay a file: zk-stats-daemon, zk-top); a raised `stop` ends a wait at once.
pub fn paced(inner: Box<dyn PacketSource>, stop: StopFlag) -> Box<dyn PacketSource> {
    let mut origin: Option<(Instant, Timestamp)> = None;
    Box::new(Inspect::new(inner, move |p: &RawPacket<'_>| {
        let (wall, first) = *origin.get_or_insert((Instant::now(), p.ts));
        let due = wall + Duration::from_nanos(p.ts.nanos_since(first).max(0) as u64);
        // Sleep in short steps so a stop request is honoured promptly.
        while !stop.is_stopped() {
            let now = Instant::now();
            if now >= due {
                break;
            }
            std::thread::sleep((due - now).min(Duration::from_millis(50)));
        }
    }))
}

/// Writes the summary JSON where the user asked.
pub fn write_stats_json(args: &InputArgs, value: &impl serde::Serialize) -> std::io::Result<()> {
    let Some(path) = &args.stats_json else {
        return Ok(());
    };
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)? + "\n";
    if path.as_os_str() == "-" {
        use std::io::Write;
        std::io::stdout().write_all(text.as_bytes())
    } else {
        std::fs::write(path, text)
    }
}

/// The `--stats-json` object: capture counters, peak memory, then the tool's own keys.
#[derive(serde::Serialize)]
struct StatsJson<'a, T: serde::Serialize> {
    capture: &'a CaptureStats,
    peak_rss_bytes: Option<u64>,
    #[serde(flatten)]
    tool: T,
}

/// Ends a run the same way for every tool: the one-line summary on stderr (unless `-q`), the
/// `--stats-json` file (capture counters under `capture`, merged with the tool's own object),
/// and an exit code from [`crate::exit`].
pub fn conclude(
    tool: &str,
    args: &InputArgs,
    outcome: RunOutcome,
    capture: &CaptureStats,
    write_error: Option<std::io::Error>,
    summary: &str,
    tool_json: &impl serde::Serialize,
) -> std::process::ExitCode {
    use crate::exit;
    use std::process::ExitCode;
    // A closed pipe (`| head`) is how a reader says it has enough: not an error.
    let broken_pipe = write_error
        .as_ref()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe);
    if let Some(e) = write_error.as_ref().filter(|_| !broken_pipe) {
        eprintln!("{tool}: error writing output: {e}");
    }
    if !args.quiet {
        eprintln!("{tool}: {}, {summary}", capture.summary_fields());
    }
    let json = StatsJson {
        capture,
        peak_rss_bytes: peak_rss_bytes(),
        tool: tool_json,
    };
    if let Err(e) = write_stats_json(args, &json) {
        eprintln!("{tool}: error writing --stats-json: {e}");
        return ExitCode::from(exit::FATAL as u8);
    }
    if let Some(e) = outcome.error {
        // A capture cut short (tcpdump killed mid-write) is normal: what could be read was
        // decoded, so only a capture with nothing readable is a failure.
        if capture.packets == 0 {
            eprintln!("{tool}: error: {e}");
            return ExitCode::from(exit::FATAL as u8);
        }
        eprintln!("{tool}: warning: {e}; everything before it was decoded");
    }
    if write_error.is_some() && !broken_pipe {
        return ExitCode::from(exit::FATAL as u8);
    }
    ExitCode::from(exit::OK as u8)
}

/// The server-side TCP ports of connections a tool did not decode, to tell a user who forgot
/// `--port` what the capture does hold.
#[derive(Debug, Default)]
pub struct PortsSeen(std::collections::BTreeMap<u16, u64>);

impl PortsSeen {
    /// Most distinct ports kept.
    const MAX: usize = 1024;

    /// Notes a segment of a connection the tool passes over (the reassembler offers each one):
    /// the port of a SYN's receiver, else the lower port (servers listen on low ports, clients
    /// use ephemeral ones).
    pub fn note(&mut self, first: &zkwire_capture::TcpSegment<'_>) {
        let port = if first.syn && first.ack.is_none() {
            first.dst.port()
        } else {
            first.src.port().min(first.dst.port())
        };
        if self.0.len() < Self::MAX || self.0.contains_key(&port) {
            *self.0.entry(port).or_default() += 1;
        }
    }

    /// Adds the ports another handler passed over (a shard of the same capture).
    pub fn merge(&mut self, other: PortsSeen) {
        for (port, n) in other.0 {
            if self.0.len() < Self::MAX || self.0.contains_key(&port) {
                *self.0.entry(port).or_default() += n;
            }
        }
    }

    /// When packets were read but nothing was decoded, says so: TLS connections that could
    /// not be decrypted, else the busiest ports (a wrong `--port`).
    pub fn report_if_nothing_decoded(&self, tool: &str, capture: &CaptureStats, decoded: u64) {
        let packets = capture.packets;
        if packets == 0 || decoded > 0 {
            return;
        }
        let tls = &capture.tls;
        if tls.connections > tls.decrypted {
            let hint = if tls.failed > 0 {
                "is --tls-keylog the key log of these clients?"
            } else {
                "give their key log with --tls-keylog FILE (see --help)"
            };
            eprintln!(
                "{tool}: note: read {packets} packets but decoded nothing: {} TLS connections \
                 could not be decrypted ({} without keys, {} failed); {hint}",
                tls.connections - tls.decrypted,
                tls.keys_missing,
                tls.failed
            );
            return;
        }
        let mut ports: Vec<(&u16, &u64)> = self.0.iter().collect();
        ports.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let listed: Vec<String> = ports
            .iter()
            .take(5)
            .map(|(p, n)| format!("{p} ({n} segment{})", if **n == 1 { "" } else { "s" }))
            .collect();
        if listed.is_empty() {
            eprintln!("{tool}: note: read {packets} packets but decoded nothing: no TCP connection in them");
        } else {
            eprintln!(
                "{tool}: note: read {packets} packets but decoded nothing; TCP ports seen: {} — \
                 is --port right?",
                listed.join(", ")
            );
        }
    }
}

/// The process's peak resident memory so far, in bytes: `VmHWM` of `/proc/self/status`
/// (`getrusage`'s maximum is inherited across `execve`, so a tool started by a large process
/// would report that process's peak).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Prints why the input could not be opened and, where the cause is known, how to fix it.
pub fn report_open_error(tool: &str, e: &SourceError) {
    eprintln!("{tool}: error: {e}");
    if let Some(hint) = open_error_hint(tool, e) {
        eprintln!("{tool}: {hint}");
    }
}

/// How to fix a failed open, when the cause is one users hit (as tcpdump explains it).
fn open_error_hint(tool: &str, e: &SourceError) -> Option<String> {
    let SourceError::Live { detail, .. } = e else {
        return None;
    };
    let detail = detail.to_lowercase();
    (detail.contains("permission") || detail.contains("not permitted")).then(|| {
        format!(
            "capturing needs root or the CAP_NET_RAW capability: run it with sudo, or grant it \
             once with `sudo setcap cap_net_raw,cap_net_admin=eip $(command -v {tool})`; \
             `-Z USER` then drops to USER once the capture is open"
        )
    })
}

/// Switches to `user`'s uid, gid and supplementary groups for good (real, effective and saved
/// ids), so that a compromised decoder holds no privilege. Called after the capture is open:
/// reading an open capture needs no rights.
pub fn drop_privileges(user: &str) -> Result<(), String> {
    use nix::unistd::{setgid, setgroups, setuid, Uid, User};
    let entry = User::from_name(user)
        .map_err(|e| format!("cannot look up user {user:?}: {e}"))?
        .ok_or_else(|| format!("no such user {user:?}"))?;
    setgroups(&[entry.gid]).map_err(|e| format!("setgroups: {e}"))?;
    setgid(entry.gid).map_err(|e| format!("setgid: {e}"))?;
    setuid(entry.uid).map_err(|e| format!("setuid: {e}"))?;
    // setuid from root sets all three ids; make sure there is no way back.
    if entry.uid != Uid::from_raw(0) && setuid(Uid::from_raw(0)).is_ok() {
        return Err("privileges could not be dropped".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 22 item 8: a permission error says how to get the permission.
    #[test]
    fn permission_errors_say_how_to_get_the_permission() {
        let e = SourceError::Live {
            iface: "eth0".into(),
            detail: "You don't have permission to capture on that device (socket: Operation \
                     not permitted)"
                .into(),
        };
        let hint = open_error_hint("zk-dump", &e).expect("a hint");
        assert!(
            hint.contains("sudo") && hint.contains("cap_net_raw"),
            "{hint}"
        );
        let other = SourceError::Live {
            iface: "eth9".into(),
            detail: "No such device exists".into(),
        };
        assert_eq!(open_error_hint("zk-dump", &other), None);
    }
}
