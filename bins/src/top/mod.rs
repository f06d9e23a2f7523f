//! zk-top's statistics: a [`ZkSink`] ([`Top`]) that keeps, per interval of capture time and
//! since the start, requests by type, path, client and server, latency percentiles per type,
//! errors, watches, sessions and capture health; and the tables the view shows of them
//! ([`Top::table`]), filtered, aggregated and sorted as the user asks ([`Query`]).
//!
//! Everything here is a pure function of the typed messages, the packets' capture times and the
//! capture counters, so it is unit-tested without a terminal. Requests are counted as
//! `zk-dump --count-requests` counts them (requests and ConnectRequests, decode errors
//! included; pings only when the handler passes them on, i.e. with `--include-pings`), so every
//! total can be checked against zk-dump of the same capture.
//!
//! [`view`] draws the tables with ratatui; [`ui`] is the key handling.

pub mod ui;
pub mod view;

use crate::analysis::aggregate_path;
use crate::intern::{FastMap, Interner};
use crate::trace::{Stage, WriteTrace};
use crate::zk::{Token, ZkBody, ZkMessage, ZkSink};
use hdrhistogram::Histogram;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use zk_proto::message::RequestBody;
use zkwire_capture::{CaptureStats, Timestamp};

/// A path, interned ([`Paths`]): counting a message hashes and allocates no string.
type PathId = u32;

/// What a request is counted under: type, path (whole; cut at view time), client, server.
type RequestKey = (&'static str, PathId, AddrId, AddrId);

/// What a reply's latency is kept under for the filters: request type, path, client.
type LatencyKey = (&'static str, PathId, AddrId);

/// Most distinct keys a per-key table of one period holds. Keys include the client's port, so
/// a busy or hostile ensemble (a connection per request, random paths) would otherwise grow
/// them without end; further keys count under `(other)` (requests, errors, watches) or, for
/// the filtered latency views, are left out (the per-type latencies stay complete).
const MAX_KEYS: usize = 100_000;
/// Most per-(type, path, client) latency histograms of one period (each is a few KiB).
const MAX_LATENCY_KEYS: usize = 10_000;
/// Most latency samples one interval keeps for the filtered view.
const MAX_INTERVAL_SAMPLES: usize = 1 << 20;

/// An address, interned: keys stay small, so the tables stay in cache.
type AddrId = u32;

/// The address keys fold into past [`MAX_KEYS`] (or past [`MAX_INTERNED`] addresses):
/// `0.0.0.0:0`.
const OTHER_ADDR: AddrId = 0;

/// Counts `key` in `table`, or under `overflow` once the table is full.
fn bump<K: std::hash::Hash + Eq>(
    table: &mut FastMap<K, u64>,
    key: K,
    overflow: impl FnOnce() -> K,
) {
    if let Some(n) = table.get_mut(&key) {
        *n += 1;
    } else if table.len() < MAX_KEYS {
        table.insert(key, 1);
    } else {
        *table.entry(overflow()).or_default() += 1;
    }
}

/// What an error reply is counted under: error name, reply type, path, client.
type ErrorKey = (String, &'static str, PathId, AddrId);

/// What a watch set or fired is counted under: path (whole), client.
type WatchKey = (PathId, AddrId);

/// Most distinct paths, and apart most distinct addresses, interned; later ones count under
/// the overflow's id.
const MAX_INTERNED: usize = 1 << 20;

/// Path id of "no path"; 1 is `(other)` (past [`MAX_INTERNED`] paths, or a table's overflow).
const NO_PATH: PathId = 0;
const OTHER_PATH: PathId = 1;

/// Every path seen: 0 is "no path", 1 is `(other)`.
#[derive(Debug, Clone)]
struct Paths(Interner<Box<str>>);

impl Paths {
    fn new() -> Paths {
        Paths(Interner::new(vec!["".into(), "(other)".into()]))
    }

    /// The path's id (an empty or absent path is "no path"; past [`MAX_INTERNED`] paths, a new
    /// one is `(other)`).
    fn path_id(&mut self, path: Option<&str>) -> PathId {
        match path.filter(|p| !p.is_empty()) {
            Some(path) => {
                let room = self.0.len() < MAX_INTERNED;
                self.0
                    .id(path, room, |p: &str| Box::from(p))
                    .unwrap_or(OTHER_PATH)
            }
            None => NO_PATH,
        }
    }

    /// The path of an id (`None`: no path).
    fn name(&self, id: PathId) -> Option<&str> {
        (id != NO_PATH).then(|| self.0.get(id).map_or("(other)", |n| &**n))
    }
}

/// Every client and server address seen: 0 is the overflow's, `0.0.0.0:0`.
#[derive(Debug, Clone)]
struct Addrs(Interner<SocketAddr>);

impl Addrs {
    fn new() -> Addrs {
        Addrs(Interner::new(vec![SocketAddr::from(([0, 0, 0, 0], 0))]))
    }

    /// The address's id (past [`MAX_INTERNED`] addresses, a new one is the overflow's).
    fn id(&mut self, addr: &SocketAddr) -> AddrId {
        let room = self.0.len() < MAX_INTERNED;
        self.0.id(addr, room, |a| *a).unwrap_or(OTHER_ADDR)
    }

    fn addr(&self, id: AddrId) -> SocketAddr {
        self.0
            .get(id)
            .copied()
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// The counters of one period: an interval of capture time, or the whole run.
#[derive(Debug, Clone, Default)]
pub struct Period {
    /// Capture time the period began at (its first packet, or the interval boundary).
    pub start: Option<Timestamp>,
    /// Its length in nanoseconds, once it is over.
    pub length_ns: Option<i64>,
    requests: FastMap<RequestKey, u64>,
    /// Request → reply latency in µs, by request type (3 significant digits: the unfiltered
    /// view).
    latency: FastMap<&'static str, Histogram<u64>>,
    /// The same latencies by (type, path, client), 2 significant digits, growing with the
    /// largest value: merged at view time when a path or client filter is set. The whole
    /// run's only: an interval keeps its samples instead (`samples`), since a histogram made
    /// anew for every key every second costs more than the samples it would hold.
    latency_by: FastMap<LatencyKey, Histogram<u64>>,
    /// An interval's latencies, one by one, for the filtered view (at most
    /// [`MAX_INTERVAL_SAMPLES`]; the per-type histograms stay complete).
    samples: Option<Vec<(LatencyKey, u64)>>,
    /// Error replies by (error name, reply type, path, client).
    errors: FastMap<ErrorKey, u64>,
    /// Watches set (requests leaving one), by (path, client).
    watches_set: FastMap<WatchKey, u64>,
    /// Watch notifications that fired, by (path, client).
    watches_fired: FastMap<WatchKey, u64>,
    /// Sessions opened, closed, expired, by client.
    sessions: FastMap<AddrId, [u64; 3]>,
    /// New sessions established (ConnectResponse to a ConnectRequest without a session).
    pub sessions_opened: u64,
    /// Sessions closed by their client (closeSession).
    pub sessions_closed: u64,
    /// Sessions found expired when their client reconnected (ConnectResponse with timeout 0).
    pub sessions_expired: u64,
    /// Packets read.
    pub packets: u64,
    /// Frames that did not decode.
    pub decode_errors: u64,
    /// Traced writes' stages (with `--quorum-port`), as their traces complete.
    pub writes: Option<Box<WriteStages>>,
}

/// Where a message is counted: its path, client and server, interned.
#[derive(Debug, Clone, Copy)]
struct Where {
    path: PathId,
    client: AddrId,
    server: AddrId,
}

/// Traced writes' latencies of one period, µs: each stage (forward, propose, quorum, commit,
/// reply), then request → reply.
#[derive(Debug, Clone)]
pub struct WriteStages([Histogram<u64>; 6]);

impl WriteStages {
    fn new() -> WriteStages {
        WriteStages(std::array::from_fn(|_| histogram()))
    }

    fn observe(&mut self, trace: &WriteTrace) {
        for (stage, us) in trace.stages.iter() {
            let _ = self.0[stage as usize].record(us.max(1));
        }
        let _ = self.0[5].record(trace.total_us.max(1));
    }

    /// Writes traced.
    pub fn count(&self) -> u64 {
        self.0[5].len()
    }
}

impl Period {
    /// An interval beginning at `at` (`None`: at its first packet).
    fn starting(at: Option<Timestamp>) -> Period {
        Period {
            start: at,
            samples: Some(Vec::new()),
            ..Period::default()
        }
    }

    /// Requests counted.
    pub fn request_count(&self) -> u64 {
        self.requests.values().sum()
    }

    /// Seconds the period covers (at least a microsecond, so rates stay finite).
    pub fn seconds(&self) -> f64 {
        (self.length_ns.unwrap_or(0).max(1_000) as f64) / 1e9
    }

    fn observe(&mut self, msg: &ZkMessage<'_>, at: Where, new_session: bool) {
        let Where {
            path,
            client,
            server,
        } = at;
        match msg.body {
            ZkBody::Opened | ZkBody::Unanswered { .. } => return,
            ZkBody::BadRequest { .. } | ZkBody::BadReply { .. } => self.decode_errors += 1,
            _ => {}
        }
        // Requests as zk-dump's --count-requests counts them.
        if matches!(msg.dir(), "request" | "connect") {
            let kind = msg.kind();
            bump(&mut self.requests, (kind, path, client, server), || {
                (kind, OTHER_PATH, OTHER_ADDR, OTHER_ADDR)
            });
        }
        if let Some(us) = msg.latency_us() {
            let kind = msg.opcode().map_or("unknown", |op| op.request_name());
            let _ = self
                .latency
                .entry(kind)
                .or_insert_with(histogram)
                .record(us.max(1));
            self.keep_latency((kind, path, client), us.max(1));
        }
        if let Some(err) = msg.err().filter(|e| *e != 0) {
            let name = msg
                .error_text()
                .map_or_else(|| err.to_string(), |t| t.into_owned());
            let kind = msg.kind();
            let overflow_name = name.clone();
            bump(&mut self.errors, (name, kind, path, client), || {
                (overflow_name, kind, OTHER_PATH, OTHER_ADDR)
            });
        }
        match msg.body {
            ZkBody::Request { request, .. } => {
                let watch =
                    request.body.sets_watch() || matches!(request.body, RequestBody::AddWatch(_));
                if watch {
                    bump(&mut self.watches_set, (path, client), || {
                        (OTHER_PATH, OTHER_ADDR)
                    });
                }
                if request.opcode == zk_proto::OpCode::CloseSession {
                    self.sessions_closed += 1;
                    self.session_counts(client)[1] += 1;
                }
            }
            ZkBody::Watch { event, .. } if event.event_type != -1 => {
                bump(&mut self.watches_fired, (path, client), || {
                    (OTHER_PATH, OTHER_ADDR)
                });
            }
            ZkBody::ConnectReply { reply, .. } => {
                if reply.time_out <= 0 {
                    self.sessions_expired += 1;
                    self.session_counts(client)[2] += 1;
                } else if new_session {
                    self.sessions_opened += 1;
                    self.session_counts(client)[0] += 1;
                }
            }
            _ => {}
        }
    }
}

impl Period {
    /// Keeps one latency for the filtered view: an interval's as a sample, the whole run's in
    /// its key's histogram (up to [`MAX_LATENCY_KEYS`] keys).
    fn keep_latency(&mut self, key: LatencyKey, us: u64) {
        if let Some(samples) = self.samples.as_mut() {
            if samples.len() < MAX_INTERVAL_SAMPLES {
                samples.push((key, us));
            }
            return;
        }
        let room = self.latency_by.len() < MAX_LATENCY_KEYS;
        if room || self.latency_by.contains_key(&key) {
            let h = self
                .latency_by
                .entry(key)
                .or_insert_with(|| Histogram::new(2).expect("valid histogram precision"));
            let _ = h.record(us);
        }
    }

    /// A client's session counters (opened, closed, expired), or the overflow's.
    fn session_counts(&mut self, client: AddrId) -> &mut [u64; 3] {
        let key = if self.sessions.len() < MAX_KEYS || self.sessions.contains_key(&client) {
            client
        } else {
            OTHER_ADDR
        };
        self.sessions.entry(key).or_default()
    }
}

/// zk-top's state: the current interval, the last complete one and the whole run.
#[derive(Debug, Clone)]
pub struct Top {
    interval_ns: i64,
    /// The interval being filled.
    pub current: Period,
    /// The last complete interval (the current one once the capture has ended).
    pub last: Option<Period>,
    /// Since the start.
    pub total: Period,
    /// Intervals completed so far.
    pub intervals: u64,
    /// Latest capture time seen.
    pub now: Option<Timestamp>,
    /// The capture's counters (gaps, kernel drops), as of the last tick.
    pub capture: CaptureStats,
    /// The input has ended (a file was read to its end, or the capture stopped).
    pub finished: bool,
    /// ConnectRequests waiting for their response: whether they ask for a new session.
    connecting: HashMap<(SocketAddr, SocketAddr), bool>,
    /// The paths the periods' tables refer to by number.
    paths: Paths,
    /// The addresses they refer to by number.
    addrs: Addrs,
}

impl Top {
    /// Empty state, rolling intervals of `interval_ns` of capture time.
    pub fn new(interval_ns: i64) -> Top {
        Top {
            interval_ns: interval_ns.max(1),
            current: Period::starting(None),
            last: None,
            total: Period::default(),
            intervals: 0,
            now: None,
            capture: CaptureStats::default(),
            finished: false,
            connecting: HashMap::new(),
            paths: Paths::new(),
            addrs: Addrs::new(),
        }
    }

    /// The interval length in nanoseconds.
    pub fn interval_ns(&self) -> i64 {
        self.interval_ns
    }

    /// A packet was read at `ts`.
    pub fn packet(&mut self, ts: Timestamp) {
        self.advance_to(ts);
        self.current.packets += 1;
        self.total.packets += 1;
    }

    /// Capture time has reached `now`: closes the intervals that ended before it. Returns
    /// whether one was closed.
    pub fn advance_to(&mut self, now: Timestamp) -> bool {
        if self.total.start.is_none() {
            self.total.start = Some(now);
        }
        let start = *self.current.start.get_or_insert(now);
        if self.now.is_none_or(|n| now > n) {
            self.now = Some(now);
        }
        let elapsed = now.nanos_since(start);
        if elapsed < self.interval_ns {
            return false;
        }
        let whole = elapsed / self.interval_ns;
        let next = start.plus_nanos(whole * self.interval_ns);
        let mut done = std::mem::replace(&mut self.current, Period::starting(Some(next)));
        if whole > 1 {
            // Nothing arrived during the intervals just before `next`.
            done = Period::starting(Some(next.plus_nanos(-self.interval_ns)));
        }
        done.length_ns = Some(self.interval_ns);
        self.last = Some(done);
        self.intervals += whole as u64;
        true
    }

    /// A write was traced through the quorum (counted in the interval its trace completes).
    pub fn write_traced(&mut self, trace: &WriteTrace) {
        for period in [&mut self.current, &mut self.total] {
            period
                .writes
                .get_or_insert_with(|| Box::new(WriteStages::new()))
                .observe(trace);
        }
    }

    /// The capture's counters.
    pub fn set_capture(&mut self, stats: &CaptureStats) {
        self.capture = stats.clone();
    }

    /// The input has ended: the interval being filled becomes the last one (cut at the last
    /// capture time), and the totals are final.
    pub fn finish(&mut self, stats: &CaptureStats) {
        self.set_capture(stats);
        if self.finished {
            return;
        }
        self.finished = true;
        if let (Some(start), Some(now)) = (self.current.start, self.now) {
            let mut done = std::mem::take(&mut self.current);
            done.length_ns = Some(now.nanos_since(start).max(0));
            self.last = Some(done);
        }
        if let (Some(start), Some(now)) = (self.total.start, self.now) {
            self.total.length_ns = Some(now.nanos_since(start).max(0));
        }
    }

    /// The interval the rate columns show: the last complete one.
    pub fn shown_interval(&self) -> Option<&Period> {
        self.last.as_ref()
    }

    /// Seconds of capture time since the first packet.
    pub fn elapsed_secs(&self) -> f64 {
        match (self.total.start, self.now) {
            (Some(s), Some(n)) => n.nanos_since(s) as f64 / 1e9,
            _ => 0.0,
        }
    }
}

impl ZkSink for Top {
    fn message(&mut self, msg: &ZkMessage<'_>) -> Option<Token> {
        self.advance_to(msg.ts);
        let conn = (msg.client, msg.server);
        let mut new_session = false;
        match msg.body {
            ZkBody::Connect { request, .. } => {
                self.connecting.insert(conn, request.session_id == 0);
            }
            ZkBody::ConnectReply { .. } => {
                new_session = self.connecting.remove(&conn).unwrap_or(false);
            }
            ZkBody::Closed => {
                self.connecting.remove(&conn);
            }
            _ => {}
        }
        let at = Where {
            path: self.paths.path_id(msg.path),
            client: self.addrs.id(&msg.client),
            server: self.addrs.id(&msg.server),
        };
        self.current.observe(msg, at, new_session);
        self.total.observe(msg, at, new_session);
        None
    }

    fn advance(&mut self, now: Timestamp) {
        self.advance_to(now);
    }
}

/// [`Top`] shared between the capture thread (a [`ZkSink`]) and the screen.
#[derive(Debug, Clone)]
pub struct SharedTop(Arc<Mutex<Top>>);

impl SharedTop {
    /// Wraps `top`.
    pub fn new(top: Top) -> SharedTop {
        SharedTop(Arc::new(Mutex::new(top)))
    }

    /// The state, even if a panicking thread poisoned the lock.
    pub fn lock(&self) -> MutexGuard<'_, Top> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ZkSink for SharedTop {
    fn message(&mut self, msg: &ZkMessage<'_>) -> Option<Token> {
        self.lock().message(msg)
    }

    fn advance(&mut self, now: Timestamp) {
        self.lock().advance_to(now);
    }
}

/// The panes, in the order the Tab key visits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    /// Requests by type (the main pane).
    Types,
    /// Requests by path, cut to the aggregation depth.
    Paths,
    /// Requests by client address.
    Clients,
    /// Requests by server address.
    Servers,
    /// Latency percentiles per request type.
    Latency,
    /// Error replies by code and type.
    Errors,
    /// Watches set and fired, by path.
    Watches,
    /// Sessions opened, closed, expired.
    Sessions,
    /// Traced writes' stages (with `--quorum-port`).
    Writes,
}

impl Pane {
    /// All panes.
    pub const ALL: [Pane; 9] = [
        Pane::Types,
        Pane::Paths,
        Pane::Clients,
        Pane::Servers,
        Pane::Latency,
        Pane::Errors,
        Pane::Watches,
        Pane::Sessions,
        Pane::Writes,
    ];

    /// The pane's tab title.
    pub fn title(self) -> &'static str {
        match self {
            Pane::Types => "Types",
            Pane::Paths => "Paths",
            Pane::Clients => "Clients",
            Pane::Servers => "Servers",
            Pane::Latency => "Latency",
            Pane::Errors => "Errors",
            Pane::Watches => "Watches",
            Pane::Sessions => "Sessions",
            Pane::Writes => "Writes",
        }
    }

    /// The columns of its table.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Pane::Types => &["type", "req/s", "interval", "total"],
            Pane::Paths => &["path", "req/s", "interval", "total"],
            Pane::Clients => &["client", "req/s", "interval", "total"],
            Pane::Servers => &["server", "req/s", "interval", "total"],
            Pane::Latency => &[
                "type", "n", "p50 us", "p99 us", "max us", "n total", "p50 us", "p99 us", "max us",
            ],
            Pane::Errors => &["error", "type", "interval", "total"],
            Pane::Watches => &["path", "set", "set total", "fired", "fired total"],
            Pane::Sessions => &["sessions", "interval", "total"],
            Pane::Writes => &[
                "stage", "n", "p50 us", "p99 us", "max us", "n total", "p50 us", "p99 us", "max us",
            ],
        }
    }

    /// The column rows are sorted by until the user picks another (the total, descending).
    pub fn default_sort(self) -> usize {
        match self {
            Pane::Latency => 5,
            Pane::Watches => 2,
            Pane::Sessions | Pane::Writes => 0,
            _ => self.columns().len() - 1,
        }
    }
}

/// How the user wants the tables: aggregation depth, filters, sort order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Cut paths to their first D components (0: whole paths).
    pub depth: usize,
    /// Only requests, latencies, errors and watches on paths starting with this (sessions
    /// have no path: the Sessions pane ignores it).
    pub path_prefix: Option<String>,
    /// Only requests, latencies, errors, watches and sessions of clients whose address
    /// (`ip:port`) starts with this.
    pub client: Option<String>,
    /// Column to sort by; `None`: the pane's default.
    pub sort: Option<usize>,
    /// Largest first (names: Z to A).
    pub descending: bool,
}

impl Default for Query {
    fn default() -> Query {
        Query {
            depth: 0,
            path_prefix: None,
            client: None,
            sort: None,
            descending: true,
        }
    }
}

impl Query {
    /// Whether something on `path` (none: it has no path) of `client` passes both filters.
    fn wants_at(&self, path: Option<&str>, client: SocketAddr) -> bool {
        let path_ok = self
            .path_prefix
            .as_deref()
            .is_none_or(|prefix| path.is_some_and(|p| p.starts_with(prefix)));
        path_ok && self.wants_client(client)
    }

    fn wants_client(&self, client: SocketAddr) -> bool {
        self.client
            .as_deref()
            .is_none_or(|c| client.to_string().starts_with(c))
    }

    /// A path or client filter is set.
    pub fn filtered(&self) -> bool {
        self.path_prefix.is_some() || self.client.is_some()
    }
}

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A name.
    Text(String),
    /// A count.
    Count(u64),
    /// A rate per second.
    Rate(f64),
    /// Microseconds, when there were samples.
    Micros(Option<u64>),
}

impl Cell {
    fn cmp(&self, other: &Cell) -> Ordering {
        match (self, other) {
            (Cell::Text(a), Cell::Text(b)) => a.cmp(b),
            (Cell::Count(a), Cell::Count(b)) => a.cmp(b),
            (Cell::Rate(a), Cell::Rate(b)) => a.total_cmp(b),
            (Cell::Micros(a), Cell::Micros(b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }

    /// Whether it is a number (right-aligned).
    pub fn numeric(&self) -> bool {
        !matches!(self, Cell::Text(_))
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Text(t) => f.write_str(t),
            Cell::Count(n) => write!(f, "{n}"),
            Cell::Rate(r) => write!(f, "{r:.1}"),
            Cell::Micros(Some(us)) => write!(f, "{us}"),
            Cell::Micros(None) => f.write_str("-"),
        }
    }
}

/// One screen's worth of the state ([`Top::screen`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Screen {
    /// The input has ended.
    pub finished: bool,
    /// The interval length, ns.
    pub interval_ns: i64,
    /// The capture health line.
    pub health: String,
    /// The shown pane's table.
    pub table: Table,
}

/// A pane's table, sorted.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Which pane.
    pub pane: Pane,
    /// Column headers.
    pub columns: &'static [&'static str],
    /// The column the rows are sorted by.
    pub sort: usize,
    /// Whether largest first.
    pub descending: bool,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
}

/// Adds up the requests `wants` takes by `group`, into (group → interval count, total count),
/// then by the group's name: names are made once per group, not once per key.
fn grouped<G: std::hash::Hash + Eq>(
    interval: Option<&Period>,
    total: &Period,
    wants: impl Fn(&RequestKey) -> bool,
    group: impl Fn(&RequestKey) -> G,
    name: impl Fn(G) -> String,
) -> HashMap<String, (u64, u64)> {
    let mut by_group: FastMap<G, (u64, u64)> = FastMap::default();
    for (col, p) in [(0, interval), (1, Some(total))] {
        for (k, n) in p.into_iter().flat_map(|p| p.requests.iter()) {
            if wants(k) {
                let counts = by_group.entry(group(k)).or_default();
                if col == 0 {
                    counts.0 += n;
                } else {
                    counts.1 += n;
                }
            }
        }
    }
    let mut m: HashMap<String, (u64, u64)> = HashMap::new();
    for (g, (i, t)) in by_group {
        let counts = m.entry(name(g)).or_default();
        counts.0 += i;
        counts.1 += t;
    }
    m
}

fn percentile(h: Option<&Histogram<u64>>, q: f64) -> Cell {
    Cell::Micros(h.filter(|h| !h.is_empty()).map(|h| h.value_at_quantile(q)))
}

/// The `i`th write-stage histogram of a period (5: the total), once a write was traced.
fn write_stage(p: Option<&Period>, i: usize) -> Option<&Histogram<u64>> {
    p?.writes.as_ref().map(|w| &w.0[i])
}

/// A histogram's cells: samples, p50, p99, max.
fn latency_cells(h: Option<&Histogram<u64>>) -> [Cell; 4] {
    [
        Cell::Count(h.map_or(0, |h| h.len())),
        percentile(h, 0.5),
        percentile(h, 0.99),
        Cell::Micros(h.filter(|h| !h.is_empty()).map(|h| h.max())),
    ]
}

impl Top {
    /// The table of `pane`, filtered, aggregated and sorted as `query` asks.
    pub fn table(&self, pane: Pane, query: &Query) -> Table {
        let interval = self.shown_interval();
        let secs = interval.map_or(1.0, Period::seconds);
        let (paths, addrs) = (&self.paths, &self.addrs);
        let wants_at =
            |path: PathId, client: AddrId| query.wants_at(paths.name(path), addrs.addr(client));
        let wants = |k: &RequestKey| wants_at(k.1, k.2);
        let rows = |counts: HashMap<String, (u64, u64)>| -> Vec<Vec<Cell>> {
            counts
                .into_iter()
                .map(|(k, (n, total))| {
                    vec![
                        Cell::Text(k),
                        Cell::Rate(n as f64 / secs),
                        Cell::Count(n),
                        Cell::Count(total),
                    ]
                })
                .collect()
        };
        let mut rows = match pane {
            Pane::Types => rows(grouped(
                interval,
                &self.total,
                wants,
                |k| k.0,
                str::to_string,
            )),
            Pane::Paths => rows(grouped(
                interval,
                &self.total,
                wants,
                |k| k.1,
                |id| aggregate_path(paths.name(id), query.depth).into_owned(),
            )),
            Pane::Clients => rows(grouped(
                interval,
                &self.total,
                wants,
                |k| k.2,
                |c| addrs.addr(c).to_string(),
            )),
            Pane::Servers => rows(grouped(
                interval,
                &self.total,
                wants,
                |k| k.3,
                |c| addrs.addr(c).to_string(),
            )),
            Pane::Latency => {
                // Unfiltered: the precise per-type histograms; filtered: the matching per-key
                // ones merged.
                let merged = |p: Option<&Period>| -> FastMap<&'static str, Histogram<u64>> {
                    let mut m: FastMap<&'static str, Histogram<u64>> = FastMap::default();
                    let new = || Histogram::new(2).expect("valid histogram precision");
                    for ((kind, path, client), h) in p.into_iter().flat_map(|p| &p.latency_by) {
                        if wants_at(*path, *client) {
                            let _ = m.entry(kind).or_insert_with(new).add(h);
                        }
                    }
                    let samples = p.and_then(|p| p.samples.as_deref()).unwrap_or_default();
                    for ((kind, path, client), us) in samples {
                        if wants_at(*path, *client) {
                            let _ = m.entry(kind).or_insert_with(new).record(*us);
                        }
                    }
                    m
                };
                let (i_all, t_all);
                let (i_map, t_map) = if query.filtered() {
                    (i_all, t_all) = (merged(interval), merged(Some(&self.total)));
                    (Some(&i_all), &t_all)
                } else {
                    (interval.map(|p| &p.latency), &self.total.latency)
                };
                let mut kinds: Vec<&'static str> = t_map.keys().copied().collect();
                kinds.sort_unstable();
                kinds
                    .into_iter()
                    .map(|kind| {
                        let mut row = vec![Cell::Text(kind.to_string())];
                        row.extend(latency_cells(i_map.and_then(|m| m.get(kind))));
                        row.extend(latency_cells(t_map.get(kind)));
                        row
                    })
                    .collect()
            }
            Pane::Errors => {
                let mut m: HashMap<(&str, &'static str), [u64; 2]> = HashMap::new();
                for (col, p) in [(0, interval), (1, Some(&self.total))] {
                    for ((err, kind, path, client), n) in p.into_iter().flat_map(|p| &p.errors) {
                        if wants_at(*path, *client) {
                            m.entry((err.as_str(), *kind)).or_default()[col] += n;
                        }
                    }
                }
                m.into_iter()
                    .map(|((err, kind), [n, total])| {
                        vec![
                            Cell::Text(err.to_string()),
                            Cell::Text(kind.to_string()),
                            Cell::Count(n),
                            Cell::Count(total),
                        ]
                    })
                    .collect()
            }
            Pane::Watches => {
                let mut m: HashMap<String, [u64; 4]> = HashMap::new();
                let mut add = |table: &FastMap<WatchKey, u64>, col: usize| {
                    for ((path, client), n) in table {
                        if wants_at(*path, *client) {
                            let key = aggregate_path(paths.name(*path), query.depth).into_owned();
                            m.entry(key).or_default()[col] += n;
                        }
                    }
                };
                if let Some(p) = interval {
                    add(&p.watches_set, 0);
                    add(&p.watches_fired, 2);
                }
                add(&self.total.watches_set, 1);
                add(&self.total.watches_fired, 3);
                m.into_iter()
                    .map(|(path, n)| {
                        let mut row = vec![Cell::Text(path)];
                        row.extend(n.iter().map(|n| Cell::Count(*n)));
                        row
                    })
                    .collect()
            }
            Pane::Sessions => {
                // Sessions have no path: only the client filter applies.
                let of = |p: Option<&Period>, col: usize| -> u64 {
                    p.map_or(0, |p| {
                        p.sessions
                            .iter()
                            .filter(|(c, _)| query.wants_client(addrs.addr(**c)))
                            .map(|(_, n)| n[col])
                            .sum()
                    })
                };
                ["opened", "closed", "expired"]
                    .iter()
                    .enumerate()
                    .map(|(col, name)| {
                        vec![
                            Cell::Text(name.to_string()),
                            Cell::Count(of(interval, col)),
                            Cell::Count(of(Some(&self.total), col)),
                        ]
                    })
                    .collect()
            }
            // Traces are not kept per path or client: the filters do not apply here.
            Pane::Writes => {
                let names = Stage::ALL.iter().map(|s| s.name()).chain(["total"]);
                names
                    .enumerate()
                    .map(|(i, name)| {
                        let mut row = vec![Cell::Text(name.to_string())];
                        row.extend(latency_cells(write_stage(interval, i)));
                        row.extend(latency_cells(write_stage(Some(&self.total), i)));
                        row
                    })
                    .collect()
            }
        };
        let columns = pane.columns();
        let sort = query
            .sort
            .filter(|c| *c < columns.len())
            .unwrap_or_else(|| pane.default_sort());
        let descending = query.descending;
        // Sessions and write stages keep their natural order until the user sorts.
        if !matches!(pane, Pane::Sessions | Pane::Writes) || query.sort.is_some() {
            rows.sort_by(|a, b| {
                let by = a[sort].cmp(&b[sort]);
                let by = if descending { by.reverse() } else { by };
                // Ties in name order, so the screen does not shuffle.
                by.then_with(|| a[0].cmp(&b[0]))
            });
        }
        Table {
            pane,
            columns,
            sort,
            descending,
            rows,
        }
    }

    /// What the screen shows of the state for `ui`'s pane and query: made under the lock,
    /// drawn after it is released (the capture never waits for the terminal), and far
    /// smaller than the state itself.
    pub fn screen(&self, ui: &ui::Ui) -> Screen {
        Screen {
            finished: self.finished,
            interval_ns: self.interval_ns,
            health: self.health(),
            table: self.table(ui.pane, &ui.query),
        }
    }

    /// One line of capture health: packets (and per second over the shown interval), kernel
    /// drops, gaps, decode errors.
    pub fn health(&self) -> String {
        let rate = self
            .shown_interval()
            .map_or(0.0, |p| p.packets as f64 / p.seconds());
        let c = &self.capture;
        format!(
            "packets {} ({rate:.0}/s)  kernel drops {}  if drops {}  gaps {}  decode errors {}  \
             requests {}  t+{:.1}s",
            self.total.packets,
            c.kernel_drops,
            c.interface_drops,
            c.gaps,
            self.total.decode_errors,
            self.total.request_count(),
            self.elapsed_secs(),
        )
    }
}

impl Table {
    /// The table as plain text: a header, a rule, the rows (zk-dump's table style).
    pub fn plain(&self) -> String {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(ToString::to_string).collect())
            .collect();
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|c| {
                cells
                    .iter()
                    .map(|r| r[c].len())
                    .chain([self.columns[c].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let numeric: Vec<bool> = (0..self.columns.len())
            .map(|c| self.rows.first().is_some_and(|r| r[c].numeric()))
            .collect();
        let mut out = String::new();
        let line = |out: &mut String, row: &[String]| {
            let parts: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(c, s)| {
                    let w = widths[c];
                    if numeric[c] {
                        format!("{s:>w$}")
                    } else {
                        format!("{s:<w$}")
                    }
                })
                .collect();
            let _ = writeln!(out, "{}", parts.join("  ").trim_end());
        };
        let header: Vec<String> = self.columns.iter().map(|c| c.to_string()).collect();
        line(&mut out, &header);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        let _ = writeln!(out, "{}", rule.join("  "));
        for row in &cells {
            line(&mut out, row);
        }
        out
    }
}

/// Every pane as plain text (for standard output that is not a terminal), headed by `title`
/// and the capture health.
pub fn plain_report(top: &Top, query: &Query, title: &str) -> String {
    let mut out = format!("=== {title} ===\n{}\n", top.health());
    for pane in Pane::ALL {
        if pane == Pane::Writes && top.total.writes.is_none() {
            continue; // no quorum port, or no write yet
        }
        let _ = write!(
            out,
            "\n[{}]\n{}",
            pane.title(),
            top.table(pane, query).plain()
        );
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod bounds {
    use super::*;

    /// A connection per request from ever new client ports: the per-key tables stop growing
    /// at their bound, and the totals stay exact.
    #[test]
    fn per_key_tables_are_bounded_and_totals_stay_exact() {
        let payload = [0, 0, 0, 7, 0, 0, 0, 4, 0, 0, 0, 2, b'/', b'a', 0];
        let request = zk_proto::decode_request(&payload).expect("getData");
        let mut period = Period::starting(Some(Timestamp(0)));
        let n = MAX_KEYS + 500;
        for i in 0..n {
            let client = SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 5000));
            period.observe(
                &ZkMessage {
                    ts: Timestamp(1),
                    client,
                    server: SocketAddr::from(([10, 0, 0, 9], 2181)),
                    session: None,
                    path: Some("/a"),
                    outstanding: 1,
                    body: ZkBody::Request {
                        request: &request,
                        size: payload.len(),
                    },
                },
                Where {
                    path: 2,
                    client: i as AddrId + 1,
                    server: 1,
                },
                false,
            );
        }
        assert!(period.requests.len() <= MAX_KEYS + 1);
        assert_eq!(period.request_count(), n as u64);
    }
}
