//! The signals an operations playbook alerts on, measured from the wire instead of polled
//! with four-letter words: open connections per server and per client host, outstanding
//! requests and watches per server, request sizes and the largest request, the zxid counter
//! and its exhaustion forecast (quorum port), elections and leader changes (election port).
//! `deploy/alerts.yml` turns each into a Prometheus alert.

use super::elections::LiveElections;
use crate::analysis::{Watcher, Watches};
use crate::zk::{ZkBody, ZkMessage};
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use zab_proto::Zxid;
use zkwire_capture::Timestamp;

/// Most connections, watchers or client hosts tracked; beyond it new ones are not (counted).
const MAX_TRACKED: usize = 200_000;
/// Request size buckets, bytes (1 MiB is ZooKeeper's default `jute.maxbuffer`).
pub(super) const SIZE_BUCKETS: [f64; 6] =
    [1024.0, 16384.0, 131072.0, 524288.0, 1048576.0, 4194304.0];
/// How long a window the write rate behind the zxid forecast is measured over, ns.
const RATE_WINDOW_NS: i64 = 60_000_000_000;

/// The largest request seen.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LargestRequest {
    /// Payload bytes.
    pub size: u64,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Its path, if it has one.
    pub path: Option<String>,
    /// The client that sent it.
    pub client: String,
    /// The server it went to.
    pub server: String,
}

/// The zxid counter as the leader's proposals show it.
#[derive(Debug, Default)]
struct ZxidState {
    last: Option<Zxid>,
    /// Proposals in the current rate window, and when it began.
    window: (Option<Timestamp>, u64),
    /// Proposals per second over the last complete window (or the current one, once a
    /// second long, before the first completes).
    rate: Option<f64>,
}

/// Everything behind the playbook's signals.
#[derive(Debug, Default)]
pub(super) struct Signals {
    /// Open connections and their outstanding requests (looked up for every message: a fast
    /// hasher, seeded, as the flow table's).
    conns: HashMap<(SocketAddr, SocketAddr), usize, foldhash::fast::RandomState>,
    untracked_connections: u64,
    /// Per server: open connections, outstanding requests.
    servers: BTreeMap<SocketAddr, (u64, u64)>,
    /// Open connections per client host.
    clients: HashMap<IpAddr, u64, foldhash::fast::RandomState>,
    /// Client hosts with their own label, in the order first seen (sticky: never re-ranked).
    labelled_clients: BTreeSet<IpAddr>,
    /// Watches held, by watcher, and the server each watcher's session was last seen on.
    watches: Watches,
    watcher_server: HashMap<Watcher, SocketAddr, foldhash::fast::RandomState>,
    /// Sessions not filed under their server because the table was full.
    refused_watchers: u64,
    /// Request sizes: per-bucket counts (the last is +Inf), sum, count.
    sizes: ([u64; SIZE_BUCKETS.len() + 1], u64, u64),
    pub(super) largest: Option<LargestRequest>,
    zxid: ZxidState,
    pub(super) elections: LiveElections,
}

impl Signals {
    /// Takes in one client message (with the most distinct client hosts that get a label).
    pub(super) fn observe(&mut self, msg: &ZkMessage<'_>, max_labels: usize) {
        let key = (msg.client, msg.server);
        match msg.body {
            ZkBody::Opened => {
                if self.conns.len() >= MAX_TRACKED {
                    self.untracked_connections += 1;
                    return;
                }
                if self.conns.insert(key, 0).is_none() {
                    self.servers.entry(msg.server).or_default().0 += 1;
                    *self.clients.entry(msg.client.ip()).or_default() += 1;
                    if self.labelled_clients.len() < max_labels {
                        self.labelled_clients.insert(msg.client.ip());
                    }
                }
            }
            ZkBody::Closed => {
                if let Some(outstanding) = self.conns.remove(&key) {
                    let server = self.servers.entry(msg.server).or_default();
                    server.0 = server.0.saturating_sub(1);
                    server.1 = server.1.saturating_sub(outstanding as u64);
                    if let Some(n) = self.clients.get_mut(&msg.client.ip()) {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            self.clients.remove(&msg.client.ip());
                        }
                    }
                }
            }
            _ => {
                if let Some(was) = self.conns.get_mut(&key) {
                    let server = self.servers.entry(msg.server).or_default();
                    server.1 = (server.1 + msg.outstanding as u64).saturating_sub(*was as u64);
                    *was = msg.outstanding;
                }
            }
        }
        if let ZkBody::Request { .. } = msg.body {
            self.request_size(msg);
        }
        self.watches.observe(msg);
        if let Some(session) = msg.session {
            let watcher = Watcher::Session(session);
            if let Some(server) = self.watcher_server.get_mut(&watcher) {
                *server = msg.server;
                return;
            }
            if self.watcher_server.len() >= MAX_TRACKED {
                self.refused_watchers += 1;
                if self.refused_watchers % 65_536 == 1 {
                    // Sessions come and go for months: forget those that hold no watch (now
                    // and then, not for every new session, so a full table costs no scan per
                    // message).
                    let holding: std::collections::HashSet<Watcher> = self
                        .watches
                        .held_counts()
                        .filter(|(_, n)| *n > 0)
                        .map(|(w, _)| w)
                        .collect();
                    self.watcher_server.retain(|w, _| holding.contains(w));
                }
            }
            if self.watcher_server.len() < MAX_TRACKED {
                self.watcher_server.insert(watcher, msg.server);
            }
        }
    }

    fn request_size(&mut self, msg: &ZkMessage<'_>) {
        let size = msg.size();
        let bucket = SIZE_BUCKETS
            .iter()
            .position(|b| size as f64 <= *b)
            .unwrap_or(SIZE_BUCKETS.len());
        self.sizes.0[bucket] += 1;
        self.sizes.1 += size;
        self.sizes.2 += 1;
        if self.largest.as_ref().is_none_or(|l| size > l.size) {
            self.largest = Some(LargestRequest {
                size,
                kind: msg.kind(),
                path: msg.path.map(str::to_string),
                client: msg.client.to_string(),
                server: msg.server.to_string(),
            });
        }
    }

    /// A new live proposal of the leader (quorum port).
    pub(super) fn proposal(&mut self, ts: Timestamp, zxid: Zxid) {
        let z = &mut self.zxid;
        z.last = Some(z.last.map_or(zxid, |l| l.max(zxid)));
        let (start, n) = &mut z.window;
        let begun = *start.get_or_insert(ts);
        *n += 1;
        let elapsed = ts.nanos_since(begun);
        if elapsed >= RATE_WINDOW_NS {
            z.rate = Some(*n as f64 / (elapsed as f64 / 1e9));
            z.window = (Some(ts), 0);
        } else if z.rate.is_none() && elapsed >= 1_000_000_000 {
            z.rate = Some(*n as f64 / (elapsed as f64 / 1e9));
        }
    }

    /// Watches outstanding per server: each watcher's watches, filed under the server its
    /// session was last seen on (watchers whose server is unknown are left out).
    fn watches_by_server(&self) -> BTreeMap<SocketAddr, u64> {
        let mut by_server: BTreeMap<SocketAddr, u64> = BTreeMap::new();
        for server in self.servers.keys() {
            by_server.insert(*server, 0);
        }
        for (watcher, n) in self.watches.held_counts() {
            if let Some(server) = self.watcher_server.get(&watcher) {
                *by_server.entry(*server).or_default() += n as u64;
            }
        }
        by_server
    }

    /// Encodes every signal's series.
    pub(super) fn encode(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let server_label = |s: &SocketAddr| vec![("server", s.to_string())];
        gauges(
            encoder,
            "zkwire_server_connections_open",
            "Client connections open to each server",
            self.servers
                .iter()
                .map(|(s, (n, _))| (server_label(s), *n as i64)),
        )?;
        gauges(
            encoder,
            "zkwire_requests_outstanding",
            "Requests sent to each server and not answered yet",
            self.servers
                .iter()
                .map(|(s, (_, n))| (server_label(s), *n as i64)),
        )?;
        gauges(
            encoder,
            "zkwire_watches_outstanding",
            "Watches set on each server, minus fired, removed and ended with their session",
            self.watches_by_server()
                .into_iter()
                .map(|(s, n)| (server_label(&s), n as i64)),
        )?;
        let mut per_client: BTreeMap<String, i64> = self
            .labelled_clients
            .iter()
            .map(|ip| (ip.to_string(), 0))
            .collect();
        for (ip, n) in &self.clients {
            let label = if self.labelled_clients.contains(ip) {
                ip.to_string()
            } else {
                "other".to_string()
            };
            *per_client.entry(label).or_default() += *n as i64;
        }
        gauges(
            encoder,
            "zkwire_client_connections_open",
            "Connections open per client host (the first hosts seen keep a label; the rest as \
             client=\"other\")",
            per_client
                .into_iter()
                .map(|(c, n)| (vec![("client", c)], n)),
        )?;
        let max = self.clients.values().copied().max().unwrap_or(0);
        ConstGauge::new(max as i64).encode(encoder.encode_descriptor(
            "zkwire_client_connections_open_max",
            "The most connections any single client host holds open",
            None,
            MetricType::Gauge,
        )?)?;
        let (buckets, sum, count) = &self.sizes;
        histogram(
            encoder,
            "zkwire_request_size_bytes",
            "Request payload sizes",
            &SIZE_BUCKETS,
            buckets,
            *sum as f64,
            *count,
        )?;
        let largest = self.largest.as_ref().map_or(0, |l| l.size);
        ConstGauge::new(largest as i64).encode(encoder.encode_descriptor(
            "zkwire_request_size_max_bytes",
            "The largest request seen (its type, path and client: /json/info)",
            None,
            MetricType::Gauge,
        )?)?;
        self.encode_zxid(encoder)?;
        self.elections.encode(encoder)
    }

    fn encode_zxid(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(last) = self.zxid.last else {
            return Ok(());
        };
        ConstGauge::new(i64::from(last.epoch())).encode(encoder.encode_descriptor(
            "zkwire_zxid_epoch",
            "Epoch of the last zxid the leader proposed",
            None,
            MetricType::Gauge,
        )?)?;
        ConstGauge::new(i64::from(last.counter())).encode(encoder.encode_descriptor(
            "zkwire_zxid_counter",
            "Counter (low 32 bits) of the last zxid the leader proposed; at 0xffffffff the \
             ensemble must elect a leader",
            None,
            MetricType::Gauge,
        )?)?;
        if let Some(rate) = self.zxid.rate.filter(|r| *r > 0.0) {
            let remaining = f64::from(u32::MAX - last.counter());
            ConstGauge::new(remaining / rate).encode(encoder.encode_descriptor(
                "zkwire_zxid_counter_exhaustion_seconds",
                "Forecast seconds until the zxid counter is used up, at the current write rate",
                None,
                MetricType::Gauge,
            )?)?;
        }
        Ok(())
    }
}

/// Encodes one gauge family.
fn gauges(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl Iterator<Item = (Vec<(&'static str, String)>, i64)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, v) in rows {
        ConstGauge::new(v).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

/// Encodes one unlabelled histogram from per-bucket counts (`bounds`, then +Inf).
pub(super) fn histogram(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    bounds: &[f64],
    counts: &[u64],
    sum: f64,
    count: u64,
) -> Result<(), std::fmt::Error> {
    let buckets: Vec<(f64, u64)> = bounds
        .iter()
        .copied()
        .chain(std::iter::once(f64::INFINITY))
        .zip(counts.iter().copied())
        .collect();
    encoder
        .encode_descriptor(name, help, None, MetricType::Histogram)?
        .encode_histogram::<Vec<(&str, String)>>(sum, count, &buckets, None)
}

/// Encodes one unlabelled counter.
pub(super) fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    v: u64,
) -> Result<(), std::fmt::Error> {
    ConstCounter::new(v).encode(encoder.encode_descriptor(name, help, None, MetricType::Counter)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(port: u16, outstanding: usize, body: ZkBody<'_>) -> ZkMessage<'_> {
        ZkMessage {
            ts: Timestamp(1),
            client: SocketAddr::from(([10, 0, 0, 1], port)),
            server: SocketAddr::from(([10, 0, 0, 9], 2181)),
            session: Some(7),
            path: Some("/w"),
            outstanding,
            body,
        }
    }

    #[test]
    fn connections_outstanding_requests_and_watches_per_server() {
        let server = SocketAddr::from(([10, 0, 0, 9], 2181));
        let (get, reply) = crate::test_support::watching_get_data();
        let mut s = Signals::default();
        s.observe(&msg(5000, 0, ZkBody::Opened), 10);
        s.observe(&msg(5001, 0, ZkBody::Opened), 10);
        let request = ZkBody::Request {
            request: &get,
            size: 2_000_000,
        };
        s.observe(&msg(5000, 1, request), 10);
        assert_eq!(s.servers[&server], (2, 1), "two open, one outstanding");
        assert_eq!(
            s.clients.values().max(),
            Some(&2),
            "one host, two connections"
        );
        let answered = ZkBody::Reply {
            reply: &reply,
            token: None,
            latency_ns: Some(5),
            size: 20,
        };
        s.observe(&msg(5000, 0, answered), 10);
        assert_eq!(s.servers[&server], (2, 0));
        assert_eq!(s.watches_by_server()[&server], 1, "the watch is set");
        assert_eq!(s.largest.as_ref().map(|l| l.size), Some(2_000_000));
        assert_eq!(s.sizes.0[5], 1, "2 MB: above 1 MiB, within 4 MiB");
        s.observe(&msg(5001, 0, ZkBody::Closed), 10);
        s.observe(&msg(5000, 0, ZkBody::Closed), 10);
        assert_eq!(s.servers[&server], (0, 0));
        assert!(s.clients.is_empty());
    }
}
