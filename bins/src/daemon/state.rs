//! zk-stats-daemon's state: zktraffic's counters (`/json/paths`, `/json/ips`, `/json/auths`,
//! `/json/auths-dump`, `/json/info`, with compatible keys) and the series `/metrics` serves,
//! fed the typed messages zk-dump's handler emits ([`ZkMessage`]; [`Shared`] is a [`ZkSink`]),
//! so every figure can be checked against `zk-dump --format json` of the same traffic.
//!
//! Memory is bounded whatever the traffic: key sets are capped (the overflow folds into an
//! `other` key per group) and latencies live in fixed buckets.

use super::signals::{LargestRequest, Signals};
use super::window::{group_of, Request, Window, MAX_KEYS, SEED_KEYS};
use crate::zk::{session_hex, Token, ZkBody, ZkMessage, ZkSink};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use zk_proto::message::RequestBody;
use zkwire_capture::CaptureStats;
use zkwire_capture::Timestamp;

/// What the daemon counts and serves.
#[derive(Debug, Clone)]
pub struct StatsOptions {
    /// Cut paths to their first D components (0: whole paths).
    pub depth: usize,
    /// Top-N paths kept per key in every `/json/*` answer, and per type in `/metrics`.
    pub max_results: usize,
    /// Serve the last complete window of this many nanoseconds (capture time) on the JSON
    /// endpoints instead of cumulative counters.
    pub window_ns: Option<i64>,
    /// Leave out the `…Bytes` counters.
    pub exclude_bytes: bool,
}

/// The daemon's hash maps: looked up several times per message, so with a fast hasher.
pub(super) use crate::intern::FastMap as Map;

/// Latency buckets, seconds.
pub(super) const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
pub(super) struct Latency {
    /// Per-bucket counts (the last one is +Inf).
    pub(super) buckets: [u64; BUCKETS.len() + 1],
    pub(super) sum: f64,
    pub(super) count: u64,
}

impl Latency {
    fn merge(&mut self, other: &Latency) {
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            *mine += theirs;
        }
        self.sum += other.sum;
        self.count += other.count;
    }

    fn observe(&mut self, seconds: f64) {
        let i = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        self.buckets[i] += 1;
        self.sum += seconds;
        self.count += 1;
    }
}

/// Everything the daemon knows.
#[derive(Debug)]
pub struct State {
    pub(super) opts: StatsOptions,
    pub(super) started: Instant,
    pub(super) window_start: Option<i64>,
    current: Window,
    previous: Option<Window>,
    /// Each client's identity (`scheme:user`), once it authenticated.
    pub(super) auths: Map<SocketAddr, String>,
    /// Clients that sent requests (bounded), for `/json/auths-dump`.
    pub(super) clients: HashSet<SocketAddr, foldhash::fast::RandomState>,
    pub(super) requests: Map<&'static str, PathSeries>,
    pub(super) request_bytes: Map<&'static str, u64>,
    /// Replies by type and error name.
    pub(super) replies: Map<(&'static str, &'static str), u64>,
    /// Latencies by reply type ([`State::latencies`] names them by request type).
    latency: Map<&'static str, Latency>,
    pub(super) events: Map<&'static str, u64>,
    pub(super) connections_opened: u64,
    pub(super) connections_closed: u64,
    pub(super) sessions: HashSet<String>,
    pub(super) sessions_overflow: u64,
    pub(super) watches_set: u64,
    pub(super) decode_errors: u64,
    /// Client-port TLS connections by what became of them (`decrypted`, `keys_missing`,
    /// `failed`).
    pub(super) tls: BTreeMap<&'static str, u64>,
    pub(super) zab_commit: Latency,
    /// Traced writes' stages (forward, propose, quorum, commit, reply), when the quorum port
    /// is sniffed too.
    pub(super) write_stages: [Latency; 5],
    pub(super) writes_traced: u64,
    /// The capture counters, refreshed as packets are read.
    pub capture: CaptureStats,
    /// True once a `-r` replay has read its whole input.
    pub replay_done: bool,
    /// The signals operators alert on.
    pub(super) signals: Signals,
}

/// One request type's `zkwire_requests` series by path, with labels that never churn.
///
/// The first `max_results` paths of a type get their own label and keep it; every later path
/// counts under `path="other"`. So each series only grows, none disappears between scrapes
/// (re-ranking a near-equal top-N on every scrape made most series new ones), and the label
/// values per type stay bounded. Long-lived hot nodes (configuration, locks, leader
/// election) appear early in any capture, so they are the ones labelled.
#[derive(Debug, Default)]
pub(super) struct PathSeries {
    pub(super) labelled: BTreeMap<String, u64>,
    pub(super) other: u64,
}

impl PathSeries {
    fn count(&mut self, path: &str, cap: usize) {
        if let Some(n) = self.labelled.get_mut(path) {
            *n += 1;
        } else if self.labelled.len() < cap {
            self.labelled.insert(path.to_string(), 1);
        } else {
            self.other += 1;
        }
    }
}

/// The state shared between the capture loop and the HTTP server.
#[derive(Debug, Clone)]
pub struct Shared(Arc<Mutex<State>>);

/// zktraffic's `writes`: the operations that change the tree (creates, deletes, setData,
/// setACL, multi, reconfig). closeSession and check are transactions too (zk-proto's
/// `OpCode::is_write`), but zktraffic files them under reads, and `/json/paths` keeps its keys.
fn zktraffic_write(op: zk_proto::OpCode) -> bool {
    op.is_write() && !matches!(op, zk_proto::OpCode::CloseSession | zk_proto::OpCode::Check)
}

/// zktraffic's identity of an auth request: `scheme:user` for a digest credential (never the
/// password), `scheme:<redacted>` otherwise.
fn identity(a: &zk_proto::records::AuthPacket<'_>) -> String {
    let scheme = a.scheme.map(|s| s.to_string_lossy()).unwrap_or_default();
    let user = (scheme == "digest")
        .then_some(a.auth)
        .flatten()
        .map(|cred| {
            let user = cred.split(|b| *b == b':').next().unwrap_or_default();
            String::from_utf8_lossy(user).into_owned()
        });
    match user {
        Some(user) => format!("{scheme}:{user}"),
        None => format!("{scheme}:<redacted>"),
    }
}

fn path_key(path: Option<&str>, depth: usize) -> Cow<'_, str> {
    // zktraffic files messages without a path under "/".
    match path {
        Some(p) if !p.is_empty() => crate::analysis::aggregate_path(Some(p), depth),
        _ => Cow::Borrowed("/"),
    }
}

impl Shared {
    /// Empty counters.
    pub fn new(opts: StatsOptions) -> Shared {
        Shared(Arc::new(Mutex::new(State {
            opts,
            started: Instant::now(),
            window_start: None,
            current: Window::seeded(),
            previous: None,
            auths: Map::default(),
            clients: HashSet::default(),
            requests: Map::default(),
            request_bytes: Map::default(),
            replies: Map::default(),
            latency: Map::default(),
            events: Map::default(),
            connections_opened: 0,
            connections_closed: 0,
            sessions: HashSet::new(),
            sessions_overflow: 0,
            watches_set: 0,
            decode_errors: 0,
            tls: BTreeMap::new(),
            zab_commit: Latency::default(),
            write_stages: Default::default(),
            writes_traced: 0,
            capture: CaptureStats::default(),
            replay_done: false,
            signals: Signals::default(),
        })))
    }

    /// The state, even if a panicking thread poisoned the lock (counters stay usable).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one decoded message.
    pub fn observe(&self, msg: &ZkMessage<'_>) {
        self.lock().observe(msg);
    }

    /// Records one ZAB proposal → commit latency.
    pub fn zab_commit(&self, micros: u64) {
        self.lock().zab_commit.observe(micros as f64 / 1e6);
    }

    /// Records one traced write's stages.
    pub fn write_traced(&self, trace: &crate::trace::WriteTrace) {
        let mut st = self.lock();
        st.writes_traced += 1;
        for (stage, us) in trace.stages.iter() {
            st.write_stages[stage as usize].observe(us as f64 / 1e6);
        }
    }

    /// Records a new live proposal of the leader (quorum port): the zxid counter.
    pub fn zab_proposal(&self, ts: Timestamp, zxid: zab_proto::Zxid) {
        self.lock().signals.proposal(ts, zxid);
    }

    /// Records an election notification (election port).
    pub fn election_notification(
        &self,
        ts: Timestamp,
        sid: Option<i64>,
        from: std::net::SocketAddr,
        n: &fle_proto::Notification<'_>,
    ) {
        self.lock().signals.elections.notification(ts, sid, from, n);
    }

    /// Capture time has reached `now` (an election that went quiet is over).
    pub fn tick(&self, now: Timestamp) {
        self.lock().signals.elections.tick(now);
    }
}

impl State {
    /// Starts a new window when `--window` of capture time has passed since the current one
    /// began (`now` in nanoseconds).
    fn rotate(&mut self, now: i64) {
        let Some(len) = self.opts.window_ns.filter(|&n| n > 0) else {
            return;
        };
        match self.window_start {
            None => self.window_start = Some(now),
            Some(start) if now - start >= len => {
                let fresh = Window::seeded();
                self.previous = Some(std::mem::replace(&mut self.current, fresh));
                // Windows stay aligned to the first one, skipping empty ones.
                self.window_start = Some(start + (now - start) / len * len);
            }
            Some(_) => {}
        }
    }

    fn observe(&mut self, msg: &ZkMessage<'_>) {
        self.rotate(msg.ts.0);
        let labels = self.opts.max_results.min(MAX_KEYS);
        self.signals.observe(msg, labels);
        self.signals.elections.tick(msg.ts);
        let kind = msg.kind();
        if kind == "DecodeError" {
            self.decode_errors += 1;
            return;
        }
        let path = path_key(msg.path, self.opts.depth);
        let path = path.as_ref();
        match msg.body {
            ZkBody::Request { .. } | ZkBody::Connect { .. } => self.request(msg, kind, path),
            ZkBody::Reply { reply, .. } => {
                self.current.count(kind, path);
                let error = zk_proto::error_name(reply.header.err).unwrap_or("UNKNOWN");
                *self.replies.entry((kind, error)).or_default() += 1;
                if let Some(us) = msg.latency_us() {
                    // Reply types are a fixed set: no cap needed.
                    self.latency
                        .entry(kind)
                        .or_default()
                        .observe(us as f64 / 1e6);
                }
            }
            ZkBody::ConnectReply { .. } => {
                self.current.count(kind, path);
                if let Some(s) = msg.session.map(session_hex) {
                    if self.sessions.len() < MAX_KEYS {
                        self.sessions.insert(s);
                    } else if !self.sessions.contains(&s) {
                        self.sessions_overflow += 1;
                    }
                }
            }
            ZkBody::Watch { event, .. } => {
                let event =
                    zk_proto::event_type_name(event.event_type).unwrap_or("UnknownWatchEvent");
                self.current.count(event, path);
                *self.events.entry(event).or_default() += 1;
            }
            ZkBody::Opened => self.connections_opened += 1,
            ZkBody::Closed => self.connections_closed += 1,
            ZkBody::Tls(Some(notice)) => {
                *self.tls.entry(crate::tls::status(&notice)).or_default() += 1;
            }
            _ => {}
        }
    }

    /// zktraffic's request keys: by type, read/write, IP and identity, with and without bytes.
    fn request(&mut self, msg: &ZkMessage<'_>, kind: &'static str, path: &str) {
        let size = msg.size();
        let client = msg.client;
        if self.clients.len() < MAX_KEYS {
            self.clients.insert(client);
        }
        let writes = msg.opcode().is_some_and(zktraffic_write);
        let body = match msg.body {
            ZkBody::Request { request, .. } => Some(request.body),
            _ => None,
        };
        if let Some(RequestBody::Auth(a)) = body {
            if self.auths.len() < MAX_KEYS || self.auths.contains_key(&client) {
                self.auths.insert(client, identity(&a));
            }
        }
        // zktraffic files SetAuth itself under an empty identity.
        let auth = if kind == "SetAuthRequest" {
            ""
        } else {
            self.auths.get(&client).map_or("noauth", String::as_str)
        };
        let watch = body.is_some_and(|b| b.sets_watch());
        self.current.request(&Request {
            kind,
            writes,
            path,
            ip: client.ip(),
            identity: auth,
            size,
            bytes: !self.opts.exclude_bytes,
            watch,
        });
        if watch {
            self.watches_set += 1;
        }
        let cap = self.opts.max_results.min(MAX_KEYS);
        // Request types are a fixed set: no cap needed.
        self.requests.entry(kind).or_default().count(path, cap);
        *self.request_bytes.entry(kind).or_default() += size;
    }

    /// The request latencies by request type (`…Request`), in name order.
    pub(super) fn latencies(&self) -> BTreeMap<String, Latency> {
        let mut out: BTreeMap<String, Latency> = BTreeMap::new();
        for (kind, lat) in &self.latency {
            let name = match kind.strip_suffix("Reply") {
                Some(k) => format!("{k}Request"),
                None => kind.to_string(),
            };
            out.entry(name).or_default().merge(lat);
        }
        out
    }

    fn served_window(&self) -> &Window {
        match (self.opts.window_ns, &self.previous) {
            (Some(_), Some(prev)) => prev,
            (Some(_), None) => {
                // No complete window yet: zktraffic serves nothing during the first minute.
                static EMPTY: std::sync::OnceLock<Window> = std::sync::OnceLock::new();
                EMPTY.get_or_init(|| Window::with_max_keys(0))
            }
            (None, _) => &self.current,
        }
    }

    /// `/json/paths`, `/json/ips` or `/json/auths`: the keys of one family, top-N paths per
    /// key, in key order.
    pub fn json_family(&self, family: &str) -> BTreeMap<String, u64> {
        let counts = self.served_window().family(family);
        let mut groups: Map<&str, Vec<(&String, u64)>> = Map::default();
        for (k, n) in &counts {
            groups.entry(group_of(k)).or_default().push((k, *n));
        }
        let mut out = BTreeMap::new();
        for (group, mut rows) in groups {
            rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            // Totals and the always-present keys are never cut.
            let keep = if group == "total" || rows.len() == 1 {
                rows.len()
            } else {
                self.opts.max_results
            };
            for (i, (k, n)) in rows.into_iter().enumerate() {
                // The always-present keys survive the top-N cut of their group too.
                if i < keep || SEED_KEYS.contains(&k.as_str()) {
                    out.insert(k.clone(), n);
                }
            }
        }
        out
    }

    /// `/json/auths-dump`: every client's identity, `noauth` for a client that never
    /// authenticated (as zktraffic lists them); passwords are never kept.
    pub fn auths_dump(&self) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = self
            .clients
            .iter()
            .map(|c| (c.to_string(), "noauth".to_string()))
            .collect();
        out.extend(self.auths.iter().map(|(c, a)| (c.to_string(), a.clone())));
        out
    }

    /// `/json/info`.
    pub fn info(&self) -> Info {
        Info {
            uptime: self.started.elapsed().as_secs(),
            version: env!("CARGO_PKG_VERSION"),
            packets: self.capture.packets,
            bytes: self.capture.bytes,
            kernel_drops: self.capture.kernel_drops,
            interface_drops: self.capture.interface_drops,
            flows: self.capture.flows,
            gaps: self.capture.gaps,
            decode_errors: self.decode_errors,
            connections_open: self
                .connections_opened
                .saturating_sub(self.connections_closed),
            sessions: self.sessions.len() as u64 + self.sessions_overflow,
            memory_rss_bytes: rss_bytes(),
            replay_done: self.replay_done,
            largest_request: self.signals.largest.clone(),
            leader_id: self.signals.elections.leader(),
        }
    }
}

/// `/json/info`: the daemon's own state.
#[derive(Debug, serde::Serialize)]
pub struct Info {
    /// Seconds since start.
    pub uptime: u64,
    /// zkwire's version.
    pub version: &'static str,
    /// Packets read.
    pub packets: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Packets the kernel dropped.
    pub kernel_drops: u64,
    /// Packets the interface dropped.
    pub interface_drops: u64,
    /// TCP flows tracked.
    pub flows: u64,
    /// Gaps in TCP streams.
    pub gaps: u64,
    /// Frames that failed to decode.
    pub decode_errors: u64,
    /// Connections open now.
    pub connections_open: u64,
    /// Sessions seen.
    pub sessions: u64,
    /// Resident memory.
    pub memory_rss_bytes: Option<u64>,
    /// True once a `-r` replay has read its whole input.
    pub replay_done: bool,
    /// The largest request seen: size, type, path, client and server.
    pub largest_request: Option<LargestRequest>,
    /// The current leader's server id (with `--election-port`), when known.
    pub leader_id: Option<i64>,
}

impl ZkSink for Shared {
    fn message(&mut self, msg: &ZkMessage<'_>) -> Option<Token> {
        self.observe(msg);
        None
    }
}

/// Resident memory of this process, from /proc (Linux).
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request message of `kind`'s opcode on `path` from `client`, decoded from its bytes.
    fn with_request(
        client: &str,
        opcode: i32,
        path: &str,
        watch: bool,
        f: impl FnOnce(&ZkMessage<'_>),
    ) {
        let mut payload = Vec::new();
        payload.extend_from_slice(&1i32.to_be_bytes());
        payload.extend_from_slice(&opcode.to_be_bytes());
        payload.extend_from_slice(&(path.len() as i32).to_be_bytes());
        payload.extend_from_slice(path.as_bytes());
        match opcode {
            4 => payload.push(u8::from(watch)),
            2 => payload.extend_from_slice(&(-1i32).to_be_bytes()),
            _ => {}
        }
        let request = zk_proto::decode_request(&payload).expect("decodes");
        f(&ZkMessage {
            ts: zkwire_capture::Timestamp(1_000_000_000),
            client: client.parse().expect("address"),
            server: "10.0.0.9:2181".parse().expect("address"),
            session: None,
            path: Some(path),
            outstanding: 0,
            body: ZkBody::Request {
                request: &request,
                size: payload.len(),
            },
        });
    }

    #[test]
    fn requests_feed_zktraffic_keys() {
        let shared = Shared::new(StatsOptions {
            depth: 1,
            max_results: 10,
            window_ns: None,
            exclude_bytes: false,
        });
        for _ in 0..2 {
            with_request("10.0.0.1:5000", 4, "/configs/a", true, |m| {
                shared.observe(m)
            });
        }
        let paths = shared.lock().json_family("paths");
        let size = 4 + 4 + 4 + "/configs/a".len() as u64 + 1;
        assert_eq!(paths["GetDataRequest/configs"], 2);
        assert_eq!(paths["GetDataRequestBytes/configs"], 2 * size);
        assert_eq!(paths["reads/configs"], 2);
        assert_eq!(paths["watches/configs"], 2);
        assert_eq!(paths["total/reads"], 2);
        assert_eq!(paths["writes/"], 0);
        let ips = shared.lock().json_family("ips");
        assert_eq!(ips["per_ip/GetDataRequest/configs:10.0.0.1"], 2);
        let auths = shared.lock().json_family("auths");
        assert_eq!(auths["per_auth/GetDataRequest/configs:noauth"], 2);
    }

    /// Issue 22 item 8: `writes/` fell out of `/json/paths` when busier write paths filled the
    /// top-N; unauthenticated clients were missing from `/json/auths-dump`.
    #[test]
    fn always_present_keys_and_noauth_clients() {
        let shared = Shared::new(StatsOptions {
            depth: 0,
            max_results: 1,
            window_ns: None,
            exclude_bytes: false,
        });
        for path in ["/a", "/b", "/b"] {
            with_request("10.0.0.1:5000", 2, path, false, |m| shared.observe(m));
        }
        let paths = shared.lock().json_family("paths");
        assert_eq!(paths["writes/b"], 2);
        assert_eq!(paths["writes/"], 0, "{paths:?}");
        assert!(!paths.contains_key("writes/a"), "top 1 only: {paths:?}");
        with_request("10.0.0.2:6000", 4, "/a", false, |m| shared.observe(m));
        let dump = shared.lock().auths_dump();
        assert_eq!(dump["10.0.0.2:6000"], "noauth", "{dump:?}");
        assert_eq!(dump["10.0.0.1:5000"], "noauth", "{dump:?}");
    }
}
