//! zk-dump's analysis modes: request counts, latency percentiles, watches, sessions, errors and
//! large messages, computed from the same message objects zk-dump prints as JSON (so every
//! figure can be checked against `zk-dump --format json` of the same input).

use crate::output::{Clock, Format};
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use zkwire_capture::Timestamp;

/// Tables updated once per message: a fast hasher (keys are bounded by the input anyway).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// How to group counts and latencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    /// By znode path (cut to `--aggregation-depth`).
    Path,
    /// By message type (`GetDataRequest`).
    Type,
    /// By client address.
    Client,
}

/// How to order latency rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    /// Mean latency.
    Avg,
    /// 95th percentile.
    P95,
    /// 99th percentile.
    P99,
    /// Number of samples.
    Count,
}

/// Which analysis to run.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Count requests.
    Count {
        /// Stop after this many requests (0: count them all).
        limit: u64,
        /// Grouping.
        group_by: GroupBy,
    },
    /// Request → reply latency percentiles.
    Latency {
        /// Stop after this many samples (0: all).
        limit: u64,
        /// Grouping.
        group_by: GroupBy,
        /// Row order.
        sort_by: SortBy,
    },
    /// Paths with the most watchers and clients holding the most watches.
    TopWatches,
    /// Every session: addresses, timeout, lifetime, ephemerals, how it ended.
    Sessions,
    /// Error replies by code and type, path and client.
    Errors,
    /// Messages of at least this many bytes, and bytes per group.
    Large {
        /// Size threshold (frame payload bytes).
        bytes: u64,
        /// Grouping of the bytes table.
        group_by: GroupBy,
    },
}

/// The analysis state.
pub struct Analytics {
    mode: Mode,
    depth: usize,
    /// Rows per table: `--top` when given (every table), else all rows (the watch tables
    /// keep [`WATCH_ROWS`]).
    top: Option<usize>,
    counts: FastMap<String, u64>,
    order: Vec<String>,
    latencies: HashMap<String, Histogram<u64>>,
    samples: u64,
    requests: HashMap<(String, i64), Map<String, Value>>,
    watches: HashMap<String, BTreeSet<(String, &'static str)>>,
    /// For `--top-watches`: sessions whose connection ended without a close: when, and their
    /// negotiated timeout (ms). The server expires them after the timeout unless they
    /// reconnect, and their watches end with them.
    disconnected: HashMap<String, (f64, f64)>,
    /// Negotiated session timeouts (ms), from ConnectReplies.
    session_timeouts: HashMap<String, f64>,
    sessions: BTreeMap<String, Session>,
    session_of_client: HashMap<String, String>,
    /// Error replies by (error, type / path / client, whether expected).
    errors: [HashMap<(String, String, bool), u64>; 3],
    /// Large messages with their capture time.
    large: Vec<(Timestamp, Map<String, Value>)>,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
struct Session {
    clients: BTreeSet<String>,
    timeout_ms: Option<i64>,
    first_seen: f64,
    last_seen: f64,
    requests: u64,
    ephemerals_created: u64,
    ended: Option<&'static str>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

fn text<'a>(m: &'a Map<String, Value>, key: &str) -> &'a str {
    m.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A path cut to its first `depth` components (0 keeps it whole); messages without a path
/// group under `(none)`.
pub fn aggregate_path(path: Option<&str>, depth: usize) -> Cow<'_, str> {
    let Some(path) = path.filter(|p| !p.is_empty()) else {
        return Cow::Borrowed("(none)");
    };
    if depth == 0 {
        return Cow::Borrowed(path);
    }
    // A well-formed path ("/a/b", no empty components) is cut in place, without allocating:
    // this runs for every request of `--count-requests`.
    let well_formed =
        path.starts_with('/') && (path == "/" || !path.ends_with('/')) && !path.contains("//");
    if well_formed {
        let cut = path
            .match_indices('/')
            .nth(depth)
            .map_or(path.len(), |(at, _)| at);
        return Cow::Borrowed(&path[..cut]);
    }
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .take(depth)
        .collect();
    Cow::Owned(format!("/{}", parts.join("/")))
}

impl Analytics {
    /// An analysis; `depth` cuts paths, `top` limits the rows of the watch tables.
    pub fn new(mode: Mode, depth: usize, top: Option<usize>) -> Analytics {
        Analytics {
            mode,
            depth,
            top,
            counts: FastMap::default(),
            order: Vec::new(),
            latencies: HashMap::new(),
            samples: 0,
            requests: HashMap::new(),
            watches: HashMap::new(),
            disconnected: HashMap::new(),
            session_timeouts: HashMap::new(),
            sessions: BTreeMap::new(),
            session_of_client: HashMap::new(),
            errors: Default::default(),
            large: Vec::new(),
        }
    }

    fn key(&self, m: &Map<String, Value>, group_by: GroupBy) -> String {
        match group_by {
            GroupBy::Path => {
                aggregate_path(m.get("path").and_then(Value::as_str), self.depth).into_owned()
            }
            GroupBy::Type => text(m, "type").to_string(),
            GroupBy::Client => text(m, "client").to_string(),
        }
    }

    fn bump(&mut self, key: &str, by: u64) {
        match self.counts.get_mut(key) {
            Some(n) => *n += by,
            None => {
                self.order.push(key.to_string());
                self.counts.insert(key.to_string(), by);
            }
        }
    }

    /// Whether this analysis looks at requests only (so callers may skip building messages).
    pub fn counts_requests_only(&self) -> bool {
        matches!(self.mode, Mode::Count { .. })
    }

    /// Counts one request directly (the fast path of `--count-requests`), with the same keys
    /// as [`Analytics::observe`] would derive from the message object.
    pub fn count_request(&mut self, kind: &str, path: Option<&str>, client: std::net::SocketAddr) {
        let Mode::Count { group_by, .. } = self.mode else {
            return;
        };
        if self.is_done() {
            return;
        }
        match group_by {
            GroupBy::Path => self.bump(&aggregate_path(path, self.depth), 1),
            GroupBy::Type => self.bump(kind, 1),
            GroupBy::Client => self.bump(&client.to_string(), 1),
        }
        self.samples += 1;
    }

    /// Whether the requested number of requests or samples has been seen.
    pub fn is_done(&self) -> bool {
        match self.mode {
            Mode::Count { limit, .. } => limit > 0 && self.samples >= limit,
            Mode::Latency { limit, .. } => limit > 0 && self.samples >= limit,
            _ => false,
        }
    }

    /// Takes in one decoded message (as zk-dump's JSON object).
    /// Feeds one message object, its time taken from its `ts` (seconds; see
    /// [`Analytics::observe_at`] to give the exact capture time).
    pub fn observe(&mut self, m: &Map<String, Value>) {
        let ts = m.get("ts").and_then(Value::as_f64).unwrap_or(0.0);
        self.observe_at(m, Timestamp((ts * 1e9).round() as i64));
    }

    /// Feeds one message object captured at `ts`.
    pub fn observe_at(&mut self, m: &Map<String, Value>, ts: Timestamp) {
        if self.is_done() {
            return;
        }
        let dir = text(m, "dir");
        let is_request = dir == "request" || dir == "connect";
        match self.mode.clone() {
            Mode::Count { group_by, .. } => {
                if is_request {
                    let key = self.key(m, group_by);
                    self.bump(&key, 1);
                    self.samples += 1;
                }
            }
            Mode::Latency { group_by, .. } => {
                if let Some(us) = m.get("latency_us").and_then(Value::as_u64) {
                    let mut key = self.key(m, group_by);
                    if group_by == GroupBy::Type {
                        // Group replies under their request's name, as zktraffic does.
                        key = key
                            .strip_suffix("Reply")
                            .map_or(key.clone(), |k| format!("{k}Request"));
                    }
                    let _ = self
                        .latencies
                        .entry(key)
                        .or_insert_with(histogram)
                        .record(us.max(1));
                    self.samples += 1;
                }
            }
            Mode::TopWatches => self.watch(m),
            Mode::Sessions => self.session(m),
            Mode::Errors => {
                if dir == "reply" && m.get("err").and_then(Value::as_i64).is_some_and(|e| e != 0) {
                    let error = text(m, "error");
                    let kind = text(m, "type").replace("Reply", "Request");
                    let expected = is_expected_error(&kind, error);
                    let path = aggregate_path(m.get("path").and_then(Value::as_str), self.depth);
                    for (table, detail) in [
                        (0, text(m, "type").to_string()),
                        (1, path.into_owned()),
                        (2, text(m, "client").to_string()),
                    ] {
                        *self.errors[table]
                            .entry((error.to_string(), detail, expected))
                            .or_default() += 1;
                    }
                }
            }
            Mode::Large { bytes, group_by } => {
                let size = m.get("size").and_then(Value::as_u64).unwrap_or(0);
                let key = self.key(m, group_by);
                self.bump(&key, size);
                if size >= bytes {
                    self.large.push((ts, m.clone()));
                }
            }
        }
    }

    fn watcher_of(&self, m: &Map<String, Value>) -> String {
        m.get("session")
            .and_then(Value::as_str)
            .map_or_else(|| text(m, "client").to_string(), str::to_string)
    }

    /// Watches end with their session: a close, an expiry the server reports, or a lost
    /// connection not resumed within the session timeout (the server's view).
    fn end_sessions(&mut self, m: &Map<String, Value>) {
        let ts = m.get("ts").and_then(Value::as_f64).unwrap_or(0.0);
        let session = m.get("session").and_then(Value::as_str).map(str::to_string);
        let watches = &mut self.watches;
        self.disconnected.retain(|s, (closed, timeout_ms)| {
            let expired = ts > *closed + *timeout_ms / 1e3;
            if expired {
                watches.remove(s);
            }
            !expired
        });
        let Some(session) = session else { return };
        match (text(m, "dir"), text(m, "type")) {
            ("connect", _) => {
                // Resumed on a new connection: its watches are re-armed (setWatches follows).
                self.disconnected.remove(&session);
            }
            ("connect_reply", _) => {
                if m.get("expired").and_then(Value::as_bool) == Some(true) {
                    self.watches.remove(&session);
                } else if let Some(t) = m.get("time_out").and_then(Value::as_f64) {
                    self.session_timeouts.insert(session, t);
                }
            }
            ("reply", "CloseReply") if m.get("err").and_then(Value::as_i64) == Some(0) => {
                self.watches.remove(&session);
                self.session_timeouts.remove(&session);
            }
            ("closed", _) if self.watches.contains_key(&session) => {
                let timeout = self.session_timeouts.get(&session).copied();
                // Without a known timeout the capture cannot tell when it expires: kept.
                if let Some(timeout) = timeout {
                    self.disconnected.insert(session, (ts, timeout));
                }
            }
            _ => {}
        }
    }

    fn watch(&mut self, m: &Map<String, Value>) {
        self.end_sessions(m);
        let client = text(m, "client").to_string();
        let dir = text(m, "dir");
        let who = self.watcher_of(m);
        if dir == "request" {
            if let Some(xid) = m.get("xid").and_then(Value::as_i64) {
                self.requests.insert((client.clone(), xid), m.clone());
            }
            // setWatches re-arms watches after a reconnect; the server accepts them all.
            let lists: [(&str, &'static str); 5] = [
                ("data_watches", "data"),
                ("exist_watches", "data"),
                ("child_watches", "child"),
                ("persistent_watches", "persistent"),
                ("persistent_recursive_watches", "persistent_recursive"),
            ];
            for (key, kind) in lists {
                for p in m.get(key).and_then(Value::as_array).into_iter().flatten() {
                    if let Some(p) = p.as_str() {
                        self.watches
                            .entry(who.clone())
                            .or_default()
                            .insert((p.to_string(), kind));
                    }
                }
            }
            return;
        }
        if dir == "reply" {
            let Some(xid) = m.get("xid").and_then(Value::as_i64) else {
                return;
            };
            let Some(req) = self.requests.remove(&(client, xid)) else {
                return;
            };
            let err = m.get("err").and_then(Value::as_i64).unwrap_or(-1);
            let path = text(&req, "path").to_string();
            let kind = text(&req, "type");
            let watched = req.get("watch").and_then(Value::as_bool) == Some(true);
            let set = self.watches.entry(who).or_default();
            match kind {
                // exists sets a watch whether or not the node exists.
                "ExistsRequest" if watched && (err == 0 || err == -101) => {
                    set.insert((path, "data"));
                }
                "GetDataRequest" if watched && err == 0 => {
                    set.insert((path, "data"));
                }
                "GetChildrenRequest" | "GetChildren2Request" if watched && err == 0 => {
                    set.insert((path, "child"));
                }
                "AddWatchRequest" if err == 0 => {
                    let recursive = req.get("mode").and_then(Value::as_i64) == Some(1);
                    set.insert((
                        path,
                        if recursive {
                            "persistent_recursive"
                        } else {
                            "persistent"
                        },
                    ));
                }
                "RemoveWatchesRequest" | "CheckWatchesRequest"
                    if err == 0 && kind == "RemoveWatchesRequest" =>
                {
                    let t = req.get("watcher_type").and_then(Value::as_i64).unwrap_or(3);
                    set.retain(|(p, k)| {
                        p != &path
                            || !match t {
                                1 => *k == "child",
                                2 => *k == "data",
                                _ => true,
                            }
                    });
                }
                _ => {}
            }
            return;
        }
        if dir == "event" {
            // One-shot watches fire once; persistent ones stay.
            let path = text(m, "path").to_string();
            let fired: &[&str] = match text(m, "event") {
                "NodeDataChanged" | "NodeCreated" => &["data"],
                "NodeChildrenChanged" => &["child"],
                "NodeDeleted" => &["data", "child"],
                _ => &[],
            };
            if let Some(set) = self.watches.get_mut(&who) {
                set.retain(|(p, k)| p != &path || !fired.contains(k));
            }
        }
    }

    fn session(&mut self, m: &Map<String, Value>) {
        let ts = m.get("ts").and_then(Value::as_f64).unwrap_or(0.0);
        let client = text(m, "client").to_string();
        let kind = text(m, "type");
        let session = match m.get("session").and_then(Value::as_str) {
            Some(s) => s.to_string(),
            None => match self.session_of_client.get(&client) {
                Some(s) => s.clone(),
                None => return,
            },
        };
        if kind == "ConnectReply" {
            let timeout = m.get("time_out").and_then(Value::as_i64);
            let requested = self.session_of_client.get(&client).cloned();
            if timeout == Some(0) {
                // The server refused to re-attach: the session the client asked for expired.
                if let Some(old) = requested.and_then(|r| self.sessions.get_mut(&r)) {
                    old.ended = Some("expired");
                }
                return;
            }
            self.session_of_client
                .insert(client.clone(), session.clone());
            let s = self.sessions.entry(session).or_insert_with(|| Session {
                first_seen: ts,
                ..Default::default()
            });
            s.timeout_ms = timeout;
            s.clients.insert(client);
            s.last_seen = ts;
            return;
        }
        if kind == "ConnectRequest" {
            // A reconnect names the session it wants back.
            self.session_of_client.insert(client, session);
            return;
        }
        let s = self.sessions.entry(session).or_insert_with(|| Session {
            first_seen: ts,
            ..Default::default()
        });
        s.clients.insert(client.clone());
        s.last_seen = s.last_seen.max(ts);
        match text(m, "dir") {
            "request" => {
                s.requests += 1;
                if kind == "CloseRequest" {
                    s.ended = Some("closed by client");
                }
                if let Some(xid) = m.get("xid").and_then(Value::as_i64) {
                    if kind.starts_with("Create") {
                        self.requests.insert((client, xid), m.clone());
                    }
                }
            }
            "reply" => {
                if let Some(xid) = m.get("xid").and_then(Value::as_i64) {
                    if let Some(req) = self.requests.remove(&(client, xid)) {
                        let ephemeral = text(&req, "mode").starts_with("EPHEMERAL");
                        if ephemeral && m.get("err").and_then(Value::as_i64) == Some(0) {
                            s.ephemerals_created += 1;
                        }
                    }
                }
            }
            "closed" if s.ended.is_none() => s.ended = Some("connection closed"),
            _ => {}
        }
    }

    /// Rows a table shows.
    fn rows(&self) -> usize {
        self.top.unwrap_or(usize::MAX)
    }

    /// The result as output lines in the given format; `clock` formats the times of text rows.
    pub fn render(&self, format: Format, clock: &mut Clock) -> Vec<String> {
        match &self.mode {
            Mode::Count { group_by, .. } => self.count_table(format, *group_by, "count"),
            Mode::Latency {
                group_by, sort_by, ..
            } => self.latency_table(format, *group_by, *sort_by),
            Mode::TopWatches => self.watch_tables(format),
            Mode::Sessions => self.session_table(format),
            Mode::Errors => self.error_tables(format),
            Mode::Large { group_by, .. } => {
                let mut lines: Vec<String> = match format {
                    Format::Json => self
                        .large
                        .iter()
                        .map(|(_, m)| json!({"kind": "large", "message": m}).to_string())
                        .collect(),
                    Format::Text => aligned(
                        ["time", "type", "bytes", "dir", "path", "client"].map(str::to_string),
                        self.large
                            .iter()
                            .take(self.rows())
                            .map(|(ts, m)| {
                                [
                                    clock.format(*ts),
                                    text(m, "type").to_string(),
                                    m.get("size")
                                        .and_then(Value::as_u64)
                                        .unwrap_or(0)
                                        .to_string(),
                                    text(m, "dir").to_string(),
                                    text(m, "path").to_string(),
                                    text(m, "client").to_string(),
                                ]
                            })
                            .collect(),
                    ),
                };
                lines.extend(self.count_table(format, *group_by, "bytes"));
                lines
            }
        }
    }

    fn sorted_counts(&self) -> Vec<(&String, u64)> {
        let mut rows: Vec<(usize, &String, u64)> = self
            .order
            .iter()
            .enumerate()
            .map(|(i, k)| (i, k, self.counts[k]))
            .collect();
        // Largest first; ties keep first-seen order, as zktraffic's table does.
        rows.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        rows.into_iter().map(|(_, k, n)| (k, n)).collect()
    }

    fn count_table(&self, format: Format, group_by: GroupBy, what: &str) -> Vec<String> {
        let rows = self.sorted_counts();
        let name = group_name(group_by);
        let shown = rows.iter().take(self.rows());
        match format {
            Format::Json => shown
                .map(|(k, n)| json!({ name: k, what: n }).to_string())
                .collect(),
            Format::Text => with_rest(
                aligned(
                    [name.to_string(), what.to_string()],
                    shown.map(|(k, n)| [k.to_string(), n.to_string()]).collect(),
                ),
                rows.len(),
                self.rows(),
            ),
        }
    }

    fn latency_table(&self, format: Format, group_by: GroupBy, sort_by: SortBy) -> Vec<String> {
        let mut rows: Vec<(&String, &Histogram<u64>)> = self.latencies.iter().collect();
        let metric = |h: &Histogram<u64>| match sort_by {
            SortBy::Avg => h.mean(),
            SortBy::P95 => h.value_at_quantile(0.95) as f64,
            SortBy::P99 => h.value_at_quantile(0.99) as f64,
            SortBy::Count => h.len() as f64,
        };
        rows.sort_by(|a, b| metric(b.1).total_cmp(&metric(a.1)).then(a.0.cmp(b.0)));
        let total = rows.len();
        rows.truncate(self.rows());
        let name = group_name(group_by);
        match format {
            Format::Json => rows
                .iter()
                .map(|(k, h)| {
                    json!({
                        name: k,
                        "count": h.len(),
                        "avg_us": h.mean(),
                        "p50_us": h.value_at_quantile(0.5),
                        "p95_us": h.value_at_quantile(0.95),
                        "p99_us": h.value_at_quantile(0.99),
                        "max_us": h.max(),
                    })
                    .to_string()
                })
                .collect(),
            Format::Text => {
                let header = [
                    name, "count", "avg_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms",
                ]
                .map(str::to_string);
                let ms = |v: f64| format!("{:.3}", v / 1000.0);
                let body = rows.iter().map(|(k, h)| {
                    [
                        k.to_string(),
                        h.len().to_string(),
                        ms(h.mean()),
                        ms(h.value_at_quantile(0.5) as f64),
                        ms(h.value_at_quantile(0.95) as f64),
                        ms(h.value_at_quantile(0.99) as f64),
                        ms(h.max() as f64),
                    ]
                });
                with_rest(aligned(header, body.collect()), total, self.rows())
            }
        }
    }

    fn watch_tables(&self, format: Format) -> Vec<String> {
        let mut by_path: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        let mut by_client: Vec<(&str, usize)> = Vec::new();
        for (who, set) in &self.watches {
            if !set.is_empty() {
                by_client.push((who, set.len()));
            }
            for (path, _) in set {
                by_path.entry(path).or_default().insert(who);
            }
        }
        let mut paths: Vec<(&str, usize)> = by_path.iter().map(|(p, w)| (*p, w.len())).collect();
        paths.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        by_client.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        match format {
            Format::Json => paths
                .iter()
                .take(self.top.unwrap_or(WATCH_ROWS))
                .map(|(p, n)| json!({"kind": "path", "path": p, "watchers": n}).to_string())
                .chain(
                    by_client
                        .iter()
                        .take(self.top.unwrap_or(WATCH_ROWS))
                        .map(|(c, n)| {
                            json!({"kind": "watcher", "session": c, "watches": n}).to_string()
                        }),
                )
                .collect(),
            Format::Text => {
                let mut lines = vec!["paths with the most watchers:".to_string()];
                lines.extend(aligned(
                    ["path".into(), "watchers".into()],
                    paths
                        .iter()
                        .take(self.top.unwrap_or(WATCH_ROWS))
                        .map(|(p, n)| [p.to_string(), n.to_string()])
                        .collect(),
                ));
                lines.push("sessions holding the most watches:".into());
                lines.extend(aligned(
                    ["session".into(), "watches".into()],
                    by_client
                        .iter()
                        .take(self.top.unwrap_or(WATCH_ROWS))
                        .map(|(c, n)| [c.to_string(), n.to_string()])
                        .collect(),
                ));
                lines
            }
        }
    }

    fn session_table(&self, format: Format) -> Vec<String> {
        match format {
            Format::Json => self
                .sessions
                .iter()
                .map(|(id, s)| {
                    let mut v = json!({"kind": "session", "session": id});
                    if let (Some(o), Ok(Value::Object(fields))) =
                        (v.as_object_mut(), serde_json::to_value(s))
                    {
                        o.extend(fields);
                        o.insert("lifetime_s".into(), json!(s.last_seen - s.first_seen));
                        o.insert(
                            "ended".into(),
                            json!(s.ended.unwrap_or("open at end of capture")),
                        );
                    }
                    v.to_string()
                })
                .collect(),
            Format::Text => aligned(
                [
                    "session",
                    "clients",
                    "timeout_ms",
                    "lifetime_s",
                    "requests",
                    "ephemerals",
                    "ended",
                ]
                .map(str::to_string),
                self.sessions
                    .iter()
                    .map(|(id, s)| {
                        [
                            id.clone(),
                            s.clients.iter().cloned().collect::<Vec<_>>().join(","),
                            s.timeout_ms.map_or("?".into(), |t| t.to_string()),
                            format!("{:.3}", s.last_seen - s.first_seen),
                            s.requests.to_string(),
                            s.ephemerals_created.to_string(),
                            s.ended.unwrap_or("open at end of capture").to_string(),
                        ]
                    })
                    .collect(),
            ),
        }
    }

    /// Error replies by type, path and client: real failures first, then the outcomes a
    /// client expects and handles (NONODE on exists, NODEEXISTS on create…), apart.
    fn error_tables(&self, format: Format) -> Vec<String> {
        let mut lines = Vec::new();
        for expected in [false, true] {
            for (table, title) in self.errors.iter().zip(["type", "path", "client"]) {
                let mut rows: Vec<(&str, &str, u64)> = table
                    .iter()
                    .filter(|((_, _, e), _)| *e == expected)
                    .map(|((error, detail, _), n)| (error.as_str(), detail.as_str(), *n))
                    .collect();
                rows.sort_by(|a, b| b.2.cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
                let total = rows.len();
                rows.truncate(self.rows());
                match format {
                    Format::Json => lines.extend(rows.iter().map(|(error, detail, n)| {
                        json!({"kind": "errors", "error": error, title: detail, "count": n,
                               "expected": expected})
                        .to_string()
                    })),
                    Format::Text => {
                        lines.push(if expected {
                            format!("expected outcomes (not failures) by {title}:")
                        } else {
                            format!("errors by {title}:")
                        });
                        let table = aligned(
                            ["error".to_string(), title.to_string(), "count".to_string()],
                            rows.iter()
                                .map(|(e, d, n)| [e.to_string(), d.to_string(), n.to_string()])
                                .collect(),
                        );
                        lines.extend(with_rest(table, total, self.rows()));
                    }
                }
            }
        }
        lines
    }
}

/// Rows of the watch tables when `--top` is not given.
pub const WATCH_ROWS: usize = 20;

/// Whether an error reply is an outcome the client expects and handles rather than a failure:
/// the node it probes is absent, the node it creates exists, the version it conditions on moved
/// (the idioms of recipes: `exists` before create, create-if-absent, optimistic updates).
fn is_expected_error(kind: &str, error: &str) -> bool {
    matches!(
        (kind, error),
        ("ExistsRequest", "NONODE")
            | (
                "CreateRequest" | "Create2Request" | "CreateContainerRequest" | "CreateTTLRequest",
                "NODEEXISTS"
            )
            | ("DeleteRequest", "NONODE" | "BADVERSION")
            | ("SetDataRequest", "BADVERSION")
    )
}

/// A table cut to `shown` rows, with a last line saying how many more there are.
fn with_rest(mut table: Vec<String>, total: usize, shown: usize) -> Vec<String> {
    if total > shown {
        table.push(format!("… {} more (--top)", total - shown));
    }
    table
}

fn group_name(g: GroupBy) -> &'static str {
    match g {
        GroupBy::Path => "path",
        GroupBy::Type => "type",
        GroupBy::Client => "client",
    }
}

/// A table with a header and a rule: text columns left-aligned, number columns right-aligned,
/// like zktraffic's tables.
fn aligned<const N: usize>(header: [String; N], rows: Vec<[String; N]>) -> Vec<String> {
    let mut widths = header.clone().map(|h| h.len());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    // Numbers align right, text left.
    let numeric: Vec<bool> = (0..N)
        .map(|i| i > 0 && rows.iter().all(|r| r[i].parse::<f64>().is_ok()))
        .collect();
    let line = |cells: &[String; N]| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if numeric[i] {
                    format!("{c:>w$}", w = widths[i])
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![
        line(&header),
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  "),
    ];
    out.extend(rows.iter().map(line));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cut_to_the_aggregation_depth() {
        assert_eq!(aggregate_path(Some("/a/b/c"), 0), "/a/b/c");
        assert_eq!(aggregate_path(Some("/a/b/c"), 2), "/a/b");
        assert_eq!(aggregate_path(Some("/a"), 3), "/a");
        assert_eq!(aggregate_path(Some("/"), 1), "/");
        assert_eq!(aggregate_path(None, 1), "(none)");
    }

    #[test]
    fn tables_align_columns() {
        let t = aligned(
            ["k".into(), "n".into()],
            vec![["long-key".into(), "5".into()], ["x".into(), "123".into()]],
        );
        assert_eq!(t[0], "k           n");
        assert_eq!(t[2], "long-key    5");
        assert_eq!(t[3], "x         123");
    }

    fn msg(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// A session that set a watch, then lost its connection at `closed` (s).
    fn watcher_then_lost(a: &mut Analytics, closed: f64) {
        let s = "0x1";
        for m in [
            json!({"ts": 1.0, "dir": "connect_reply", "type": "ConnectReply", "session": s,
                   "client": "c:1", "time_out": 6000}),
            json!({"ts": 1.1, "dir": "request", "type": "GetDataRequest", "session": s,
                   "client": "c:1", "xid": 1, "path": "/w", "watch": true}),
            json!({"ts": 1.2, "dir": "reply", "type": "GetDataReply", "session": s,
                   "client": "c:1", "xid": 1, "err": 0}),
            json!({"ts": closed, "dir": "closed", "type": "ConnectionClosed", "session": s,
                   "client": "c:1"}),
        ] {
            a.observe(&msg(m));
        }
    }

    #[test]
    fn watches_end_when_a_lost_session_times_out_unless_it_reconnects() {
        let mut a = Analytics::new(Mode::TopWatches, 0, None);
        watcher_then_lost(&mut a, 2.0);
        let later = |ts: f64| {
            json!({"ts": ts, "dir": "request", "type": "PingRequest",
                                     "session": "0x2", "client": "c:2", "xid": -2})
        };
        a.observe(&msg(later(7.9)));
        assert_eq!(
            a.watches.get("0x1").map(BTreeSet::len),
            Some(1),
            "within the timeout"
        );
        a.observe(&msg(later(8.1)));
        assert!(
            !a.watches.contains_key("0x1"),
            "expired 6 s after the connection was lost"
        );

        let mut b = Analytics::new(Mode::TopWatches, 0, None);
        watcher_then_lost(&mut b, 2.0);
        b.observe(&msg(
            json!({"ts": 3.0, "dir": "connect", "type": "ConnectRequest",
                              "session": "0x1", "client": "c:3"}),
        ));
        b.observe(&msg(later(20.0)));
        assert_eq!(
            b.watches.get("0x1").map(BTreeSet::len),
            Some(1),
            "resumed in time"
        );
    }
}
