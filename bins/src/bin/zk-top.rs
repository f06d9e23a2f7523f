//! zk-top: a live full-screen view of a ZooKeeper ensemble's client traffic (requests by type,
//! path, client and server, latency, errors, watches, sessions, capture health), on the same
//! capture and decoding pipeline as zk-dump. The statistics are `zkwire::top`; this file is the
//! flags, the terminal (set up, and restored also on panic and SIGTERM), the key loop on the
//! main thread and the capture on a worker thread sharing the state through a mutex. When
//! standard output is not a terminal it prints plain tables at every interval instead.

use clap::Parser;
use crossterm::event::{self, Event, KeyEventKind};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{cursor, execute};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use zkwire::exit;
use zkwire::input::{
    conclude, drive_with, open_source, paced, port_filter, report_open_error, InputArgs,
};
use zkwire::output::ColorWhen;
use zkwire::ports::ByPort;
use zkwire::top::ui::{Action, Ui};
use zkwire::top::view::{self, Info};
use zkwire::top::{plain_report, Query, Screen, SharedTop, Top};
use zkwire::trace::{self, TraceTap};
use zkwire::zk::{Tee, ZkHandler, ZkOptions};
use zkwire_capture::source::{PacketSource, SourceError};
use zkwire_capture::{CaptureStats, Inspect, RawPacket, RunOutcome, StopFlag, Timestamp};

const EXAMPLES: &str = "\
Examples:
  zk-top -i eth0                         watch port 2181 live (root or CAP_NET_RAW)
  zk-top -i any --port 2181 --port 2182  several client ports
  zk-top -i eth0 -Z nobody               drop root once the capture is open
  zk-top -r capture.pcap                 a file, as fast as possible; the totals stay until q
  zk-top -r capture.pcap --pace          a file at the speed it was captured
  zk-top -r capture.pcap | less          plain tables every interval, then the totals
  zk-top -i any --quorum-port 2888       add the Writes pane: each write's stages through the
                                         quorum (forward, propose, quorum, commit, reply)

Keys: Tab/1-9 pane, Down/Up j/k PgDn/PgUp Home/End g/G scroll, s/S sort column, r reverse,
+/- path depth, / path filter, c client filter, x clear filters, p pause, ? help, q or Ctrl-C
quit. Request counts follow
zk-dump --count-requests (pings only with --include-pings).";

/// A live full-screen view of ZooKeeper client traffic: requests by type, path, client and
/// server, latency percentiles, errors, watches, sessions and capture health.
#[derive(Debug, Parser)]
#[command(name = "zk-top", version, after_help = EXAMPLES)]
struct Args {
    #[command(flatten)]
    input: InputArgs,

    /// ZooKeeper client port (repeat for several).
    #[arg(long = "port", visible_alias = "zookeeper-port", value_name = "PORT", default_values_t = [2181])]
    ports: Vec<u16>,

    /// Also sniff this quorum port (the leader's, e.g. 2888; repeatable) and trace writes
    /// through the quorum: the Writes pane shows each stage's latency.
    #[arg(long = "quorum-port", value_name = "PORT")]
    quorum_ports: Vec<u16>,

    /// Seconds per interval: the screen refreshes, and the rate columns cover, this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, value_parser = positive_seconds)]
    interval: f64,

    /// Cut paths to their first D components at the start (0: whole paths; keys + and -).
    #[arg(long, value_name = "D", default_value_t = 0)]
    aggregation_depth: usize,

    /// Count pings as requests too (zk-dump leaves them out unless --include-pings).
    #[arg(long)]
    include_pings: bool,

    /// With -r: replay at the capture's own pace instead of as fast as possible.
    #[arg(long)]
    pace: bool,

    /// When to use colour (NO_COLOR in the environment turns auto off).
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    color: ColorWhen,
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.001 => Ok(v),
        _ => Err(format!(
            "{s:?} is not a number of seconds of at least 0.001"
        )),
    }
}

fn print_report(top: &Top, query: &Query, title: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(plain_report(top, query, title).as_bytes())?;
    out.flush()
}

fn interval_title(top: &Top) -> String {
    format!(
        "interval {} (t+{:.1}s)",
        top.intervals,
        top.intervals as f64 * top.interval_ns() as f64 / 1e9
    )
}

/// Capture time of the wall clock (live capture stamps packets with it).
fn wall_now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(since.as_nanos() as i64)
}

/// Opens the input, wrapped for pacing and counting each packet into [`Top`] (packets per
/// interval, the interval clock); with a `report` query, the plain tables are printed each time
/// an interval ends.
fn open(
    args: &Args,
    top: &SharedTop,
    stop: &StopFlag,
    report: Option<Query>,
) -> Result<Box<dyn PacketSource>, SourceError> {
    let live = args.input.iface.is_some();
    let ports = [&args.ports[..], &args.quorum_ports[..]].concat();
    let source = open_source("zk-top", &args.input, &port_filter(&ports))?;
    let source = if args.pace && !live {
        paced(source, stop.clone())
    } else {
        source
    };
    let (top, stop) = (top.clone(), stop.clone());
    Ok(Box::new(Inspect::new(source, move |p: &RawPacket<'_>| {
        let mut top = top.lock();
        let before = top.intervals;
        top.packet(p.ts);
        if let Some(query) = report.as_ref().filter(|_| top.intervals != before) {
            if print_report(&top, query, &interval_title(&top)).is_err() {
                // The reader went away (`| head`): stop reading.
                stop.stop();
            }
        }
    })))
}

/// Runs the capture into `top` until it ends or `stop` is raised; the end is marked in `top`.
fn capture(
    args: &Args,
    mut source: Box<dyn PacketSource>,
    report: Option<Query>,
    top: &SharedTop,
    stop: &StopFlag,
) -> (RunOutcome, CaptureStats) {
    let opts = ZkOptions {
        ports: args.ports.clone(),
        clients: Vec::new(),
        client_port: None,
        path_prefix: None,
        include_pings: args.include_pings,
        max_frame: 64 << 20,
    };
    // With a quorum port, writes are traced into the Writes pane.
    let tracing = (!args.quorum_ports.is_empty()).then(|| trace::tracing(None));
    let client = ZkHandler::new(opts, Tee(top.clone(), tracing.clone().map(TraceTap::new)));
    let mut handler = ByPort {
        first: client,
        second: trace::quorum_handler(args.quorum_ports.clone(), tracing.clone()),
    };
    let live = args.input.iface.is_some();
    let ticker = top.clone();
    let traced = tracing.clone();
    let mut on_tick = move |now: Timestamp, stats: &CaptureStats| {
        let mut top = ticker.lock();
        top.set_capture(stats);
        if let Some(tracing) = &traced {
            trace::drain(tracing, Some(now), |t| top.write_traced(&t));
        }
        // Live: an idle capture still closes its intervals on time.
        if live && top.advance_to(wall_now()) {
            if let Some(query) = &report {
                let _ = print_report(&top, query, &interval_title(&top));
            }
        }
    };
    let (outcome, stats) = drive_with(
        source.as_mut(),
        &mut handler,
        args.input.reassembly_config(),
        false,
        stop.clone(),
        Some(&mut on_tick),
        args.input.tls_keylog.as_deref(),
    );
    drop(handler);
    let mut top = top.lock();
    if let Some(tracing) = &tracing {
        trace::drain(tracing, None, |t| top.write_traced(&t));
    }
    top.finish(&stats);
    (outcome, stats)
}

fn finish(args: &Args, top: &SharedTop, outcome: RunOutcome, stats: &CaptureStats) -> ExitCode {
    let (requests, decode_errors) = {
        let top = top.lock();
        (top.total.request_count(), top.total.decode_errors)
    };
    /// `--stats-json`: the capture's counters, then zk-top's own.
    #[derive(serde::Serialize)]
    struct Stats {
        top: TopStats,
    }
    #[derive(serde::Serialize)]
    struct TopStats {
        requests: u64,
        decode_errors: u64,
    }
    conclude(
        "zk-top",
        &args.input,
        outcome,
        stats,
        None,
        &format!("{requests} requests, {decode_errors} decode errors"),
        &Stats {
            top: TopStats {
                requests,
                decode_errors,
            },
        },
    )
}

/// Standard output is not a terminal: plain tables every interval, the totals at the end.
fn plain(args: &Args, top: &SharedTop, stop: &StopFlag) -> ExitCode {
    let query = Query {
        depth: args.aggregation_depth,
        ..Query::default()
    };
    let source = match open(args, top, stop, Some(query.clone())) {
        Ok(s) => s,
        Err(e) => {
            report_open_error("zk-top", &e);
            return ExitCode::from(exit::FATAL as u8);
        }
    };
    let (outcome, stats) = capture(args, source, Some(query.clone()), top, stop);
    let _ = print_report(&top.lock(), &query, "totals");
    finish(args, top, outcome, &stats)
}

/// Puts the terminal back: cooked mode, the main screen, the cursor.
fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(std::io::stdout(), LeaveAlternateScreen, cursor::Show);
}

/// Restores the terminal when dropped (normal exit, error, unwinding).
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> std::io::Result<TerminalGuard> {
        // A panic anywhere (the capture thread too) restores the terminal before the message
        // is printed, and ends the process: a half-drawn screen is of no use.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
            std::process::exit(101);
        }));
        enable_raw_mode()?;
        let guard = TerminalGuard;
        execute!(std::io::stdout(), EnterAlternateScreen, cursor::Hide)?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// The full-screen view: capture on a worker thread, keys and drawing here.
fn full_screen(args: Args, top: SharedTop, stop: StopFlag) -> ExitCode {
    let args = std::sync::Arc::new(args);
    let (opened, is_open) = mpsc::channel();
    let worker = {
        let (args, top, stop) = (args.clone(), top.clone(), stop.clone());
        std::thread::spawn(move || match open(&args, &top, &stop, None) {
            Ok(source) => {
                let _ = opened.send(None);
                Some(capture(&args, source, None, &top, &stop))
            }
            Err(e) => {
                let _ = opened.send(Some(e));
                None
            }
        })
    };
    // Only once the input is open (errors and the live "listening" line go to the terminal
    // as usual).
    match is_open.recv() {
        Ok(None) => {}
        Ok(Some(e)) => {
            report_open_error("zk-top", &e);
            let _ = worker.join();
            return ExitCode::from(exit::FATAL as u8);
        }
        // The capture thread died before opening (its panic message is on stderr).
        Err(_) => return ExitCode::from(exit::FATAL as u8),
    }
    let source = match (&args.input.iface, args.input.read.first()) {
        (Some(iface), _) => format!("-i {iface}"),
        (None, Some(file)) => format!("-r {}", file.display()),
        (None, None) => "-r -".to_string(),
    };
    let info = Info {
        source,
        color: args.color.enabled(),
    };
    // A signal raises `stop`, which the key loop checks between waits for a key. When the
    // terminal has hung up (SIGHUP: the terminal window closed, the tmux server killed), the
    // terminal library's wait for a key can spin on the closed input and never return: end the
    // process from here then, the terminal restored, rather than leave it spinning.
    {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.is_stopped() {
                std::thread::sleep(Duration::from_millis(100));
            }
            std::thread::sleep(Duration::from_secs(3));
            restore_terminal();
            std::process::exit(exit::OK);
        });
    }
    let result = key_loop(&args, &top, &stop, &info, &worker);
    stop.stop();
    if let Err(e) = result {
        eprintln!("zk-top: error: terminal: {e}");
        return ExitCode::from(exit::FATAL as u8);
    }
    // A live capture notices the stop within its read timeout; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !worker.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if !worker.is_finished() {
        return ExitCode::from(exit::OK as u8);
    }
    match worker.join() {
        Ok(Some((outcome, stats))) => finish(&args, &top, outcome, &stats),
        _ => ExitCode::from(exit::FATAL as u8),
    }
}

fn key_loop(
    args: &Args,
    top: &SharedTop,
    stop: &StopFlag,
    info: &Info,
    worker: &std::thread::JoinHandle<Option<(RunOutcome, CaptureStats)>>,
) -> std::io::Result<()> {
    let _guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    let live = args.input.iface.is_some();
    let every = Duration::from_secs_f64(args.interval);
    let mut ui = Ui::new(args.aggregation_depth);
    // Paused, the view is a copy of the state at the pause; else each screen is made from the
    // live state under its lock, and only the shown pane's table is computed.
    let mut frozen: Option<Top> = None;
    let mut shown = top.lock().screen(&ui);
    let mut next_refresh = Instant::now();
    let mut ended = false;
    let mut redraw = true;
    loop {
        // SIGTERM or SIGINT (Ctrl-C itself arrives as a key in raw mode).
        if stop.is_stopped() {
            return Ok(());
        }
        let now = Instant::now();
        // The end of a file shows at once, not at the next refresh.
        let just_ended = !ended && worker.is_finished();
        if now >= next_refresh || just_ended {
            ended |= just_ended;
            if live {
                top.lock().advance_to(wall_now());
            }
            if frozen.is_none() {
                shown = top.lock().screen(&ui);
            }
            next_refresh = now + every;
            redraw = true;
        }
        if redraw {
            let mut extent = ui.extent;
            terminal.draw(|f| extent = view::draw(f, &shown, &ui, info))?;
            // The scrolling keys clamp to the table as drawn.
            ui.extent = extent;
            redraw = false;
        }
        let wait = next_refresh
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(100));
        if !event::poll(wait)? {
            continue;
        }
        match event::read()? {
            Event::Key(key) if key.kind != KeyEventKind::Release => match ui.on_key(key) {
                Action::Quit => return Ok(()),
                Action::TogglePause => {
                    frozen = ui.paused.then(|| top.lock().clone());
                    shown = screen_of(top, frozen.as_ref(), &ui);
                    redraw = true;
                }
                Action::Redraw => {
                    shown = screen_of(top, frozen.as_ref(), &ui);
                    redraw = true;
                }
                Action::None => {}
            },
            Event::Resize(..) => redraw = true,
            _ => {}
        }
    }
}

/// The screen for `ui`: of the state frozen at a pause, or of the live state.
fn screen_of(top: &SharedTop, frozen: Option<&Top>, ui: &Ui) -> Screen {
    match frozen {
        Some(top) => top.screen(ui),
        None => top.lock().screen(ui),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    // SIGTERM and SIGINT raise this flag through the capture's own handler (installed by
    // `drive_with`), which also wakes a live capture blocked waiting for packets: the capture
    // ends, and the full-screen view leaves with the terminal restored. A handler of zk-top's
    // own would replace it, and an idle live capture would never notice the signal.
    let stop = StopFlag::new();
    let top = SharedTop::new(Top::new((args.interval * 1e9) as i64));
    if std::io::stdout().is_terminal() {
        full_screen(args, top, stop)
    } else {
        plain(&args, &top, &stop)
    }
}
