//! `/metrics`: the daemon's state as Prometheus/OpenMetrics text, encoded at scrape time.

use super::signals::histogram;
use super::state::{PathSeries, Shared, BUCKETS};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;

/// Encodes the Prometheus metrics at scrape time from the shared counters.
#[derive(Debug)]
struct Metrics(Shared);

fn labels<const N: usize>(pairs: [(&'static str, String); N]) -> Vec<(&'static str, String)> {
    pairs.to_vec()
}

impl Collector for Metrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let st = self.0.lock();
        // Requests by type and path: sticky labels for at most N paths per type, the rest
        // under path="other", so label cardinality stays bounded and series never churn.
        let by_type: BTreeMap<&str, &PathSeries> =
            st.requests.iter().map(|(t, s)| (*t, s)).collect();
        {
            let mut metric = encoder.encode_descriptor(
                "zkwire_requests",
                "Client requests by type and path (top paths per type; the rest as path=\"other\")",
                None,
                MetricType::Counter,
            )?;
            for (t, series) in by_type {
                for (p, n) in &series.labelled {
                    let l = labels([("type", t.to_string()), ("path", p.to_string())]);
                    ConstCounter::new(*n).encode(metric.encode_family(&l)?)?;
                }
                if series.other > 0 {
                    let l = labels([("type", t.to_string()), ("path", "other".to_string())]);
                    ConstCounter::new(series.other).encode(metric.encode_family(&l)?)?;
                }
            }
        }
        {
            let mut metric = encoder.encode_descriptor(
                "zkwire_request_bytes",
                "Bytes of client requests by type (frame payload)",
                None,
                MetricType::Counter,
            )?;
            let mut rows: Vec<(&str, &u64)> =
                st.request_bytes.iter().map(|(t, n)| (*t, n)).collect();
            rows.sort();
            for (t, n) in rows {
                ConstCounter::new(*n)
                    .encode(metric.encode_family(&labels([("type", t.to_string())]))?)?;
            }
        }
        {
            let mut metric = encoder.encode_descriptor(
                "zkwire_replies",
                "Replies by type and error",
                None,
                MetricType::Counter,
            )?;
            let mut rows: Vec<_> = st.replies.iter().collect();
            rows.sort();
            for ((t, e), n) in rows {
                let l = labels([("type", t.to_string()), ("error", e.to_string())]);
                ConstCounter::new(*n).encode(metric.encode_family(&l)?)?;
            }
        }
        {
            let mut metric = encoder.encode_descriptor(
                "zkwire_request_latency_seconds",
                "Request to reply latency by request type",
                None,
                MetricType::Histogram,
            )?;
            for (t, lat) in &st.latencies() {
                let buckets = bucket_pairs(lat);
                let l = labels([("type", t.clone())]);
                metric
                    .encode_family(&l)?
                    .encode_histogram::<Vec<(&str, String)>>(lat.sum, lat.count, &buckets, None)?;
            }
        }
        if !st.tls.is_empty() {
            let mut metric = encoder.encode_descriptor(
                "zkwire_tls_connections",
                "Client-port TLS connections by result: decrypted with --tls-keylog, keys_missing \
                 or failed (not decoded)",
                None,
                MetricType::Counter,
            )?;
            for (result, n) in &st.tls {
                let l = labels([("result", result.to_string())]);
                ConstCounter::new(*n).encode(metric.encode_family(&l)?)?;
            }
        }
        if st.zab_commit.count > 0 {
            let lat = &st.zab_commit;
            histogram(
                &mut encoder,
                "zkwire_zab_commit_latency_seconds",
                "Leader proposal to commit latency (quorum port)",
                &BUCKETS,
                &lat.buckets,
                lat.sum,
                lat.count,
            )?;
        }
        if st.writes_traced > 0 {
            let mut metric = encoder.encode_descriptor(
                "zkwire_write_stage_seconds",
                "Traced writes by stage: client request to forward, to PROPOSAL, to the quorum's \
                 ACK, to the COMMIT, to the reply (quorum port)",
                None,
                MetricType::Histogram,
            )?;
            for stage in crate::trace::Stage::ALL {
                let lat = &st.write_stages[stage as usize];
                let buckets = bucket_pairs(lat);
                let l = labels([("stage", stage.name().to_string())]);
                metric
                    .encode_family(&l)?
                    .encode_histogram::<Vec<(&str, String)>>(lat.sum, lat.count, &buckets, None)?;
            }
        }
        {
            let mut metric = encoder.encode_descriptor(
                "zkwire_watch_events",
                "Watch notifications by event",
                None,
                MetricType::Counter,
            )?;
            let mut rows: Vec<(&str, &u64)> = st.events.iter().map(|(e, n)| (*e, n)).collect();
            rows.sort();
            for (e, n) in rows {
                ConstCounter::new(*n)
                    .encode(metric.encode_family(&labels([("event", e.to_string())]))?)?;
            }
        }
        let counters: [(&str, &str, u64); 13] = [
            (
                "zkwire_writes_traced",
                "Writes followed from the client through the quorum and back (quorum port)",
                st.writes_traced,
            ),
            (
                "zkwire_watches_set",
                "Read requests that set a watch",
                st.watches_set,
            ),
            (
                "zkwire_connections_opened",
                "Client connections seen opening",
                st.connections_opened,
            ),
            (
                "zkwire_sessions",
                "Distinct sessions seen",
                st.sessions.len() as u64 + st.sessions_overflow,
            ),
            (
                "zkwire_decode_errors",
                "Messages that failed to decode",
                st.decode_errors,
            ),
            ("zkwire_capture_packets", "Packets read", st.capture.packets),
            (
                "zkwire_capture_bytes",
                "Captured bytes read",
                st.capture.bytes,
            ),
            (
                "zkwire_capture_kernel_drops",
                "Packets the kernel dropped before capture",
                st.capture.kernel_drops,
            ),
            (
                "zkwire_capture_gaps",
                "Holes in TCP streams given up on",
                st.capture.gaps,
            ),
            (
                "zkwire_capture_retransmits",
                "Retransmitted or duplicated segments",
                st.capture.retransmits,
            ),
            (
                "zkwire_capture_flows_evicted",
                "Connections given up to stay within the flow cap or the memory budget",
                st.capture.flows_evicted,
            ),
            (
                "zkwire_capture_memory_budget_hits",
                "Times the memory budget (--max-memory) was reached",
                st.capture.memory_budget_hits,
            ),
            (
                "zkwire_capture_partial_messages_abandoned",
                "Partial messages given up as gaps to stay within the memory budget",
                st.capture.partial_frames_abandoned,
            ),
        ];
        for (name, help, value) in counters {
            ConstCounter::new(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Counter,
            )?)?;
        }
        let open = st.connections_opened.saturating_sub(st.connections_closed) as i64;
        ConstGauge::new(open).encode(encoder.encode_descriptor(
            "zkwire_connections_open",
            "Client connections currently open",
            None,
            MetricType::Gauge,
        )?)?;
        st.signals.encode(&mut encoder)?;
        Ok(())
    }
}

/// A latency histogram's (upper bound, count) pairs, +Inf last.
fn bucket_pairs(lat: &super::state::Latency) -> Vec<(f64, u64)> {
    BUCKETS
        .iter()
        .copied()
        .chain(std::iter::once(f64::INFINITY))
        .zip(lat.buckets.iter().copied())
        .collect()
}

/// The Prometheus text exposition of the counters.
pub fn prometheus_text(shared: &Shared) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Metrics(shared.clone())));
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
        out.clear();
    }
    out
}
