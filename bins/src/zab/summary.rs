//! What zab-dump measures for `--summary` and how it reports it: in-flight proposals and their
//! proposal → quorum → commit latency, ack lag per follower, write rate, each learner's sync,
//! and the zxid counter's distance to overflow ([`Measurements`], fed by `measure` for every
//! decoded packet); the report as a struct ([`ZabSummary`]) and as text lines
//! ([`summary_text`]).

use super::handler::ZabDump;
use super::zxid_queue::ZxidQueue;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::io::Write;
use zab_proto::{Learner, Packet, QuorumDirection, Zxid};
use zkwire_capture::{ConnInfo, Timestamp};

/// A learner's synchronisation with the leader.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SyncReport {
    /// The learner's server id (from FOLLOWERINFO/OBSERVERINFO), if seen.
    pub sid: Option<i64>,
    /// The learner's address.
    pub learner: String,
    /// DIFF, TRUNC or SNAP.
    pub mode: &'static str,
    /// Packets the leader sent from the sync marker to UPTODATE.
    pub packets: u64,
    /// Bytes the leader sent in that time (snapshot stream included).
    pub bytes: u64,
    /// From the sync marker to UPTODATE, milliseconds (None if UPTODATE was not seen).
    pub duration_ms: Option<f64>,
}

pub(super) struct Syncing {
    pub(super) mode: &'static str,
    start: Timestamp,
    pub(super) packets: u64,
    pub(super) bytes: u64,
}

/// What `--summary` measures on one learner's connection.
#[derive(Default)]
pub(super) struct LearnerState {
    pub(super) syncing: Option<Syncing>,
    /// Proposals sent live to this learner and not yet acknowledged: zxid → time.
    pub(super) sent: ZxidQueue<Timestamp>,
    /// This learner's row in the ack-lag table, once it acked something.
    lag_row: Option<usize>,
}

#[derive(Default)]
struct InFlight {
    first_sent: Option<Timestamp>,
    acks: u32,
    quorum_at: Option<Timestamp>,
}

/// Latency and rate measurements for `--summary`.
pub struct Measurements {
    proposals: ZxidQueue<InFlight>,
    to_quorum: Histogram<u64>,
    to_commit: Histogram<u64>,
    /// (learner, ack lag), in order of first ack; reported by learner name.
    ack_lag: Vec<(String, Histogram<u64>)>,
    followers: BTreeMap<String, ()>,
    live_proposals: u64,
    first_proposal: Option<Timestamp>,
    last_proposal: Option<Timestamp>,
    last_zxid: Option<i64>,
    /// The highest zxid seen committed: a proposal at or below it is a late copy of one
    /// already measured (each follower has its own send queue, so a slow follower can get a
    /// PROPOSAL after a faster one got its COMMIT).
    committed_through: Option<i64>,
    pub(super) syncs: Vec<SyncReport>,
}

fn histogram() -> Histogram<u64> {
    // Microseconds from 1 µs to an hour, 3 significant digits: constant memory.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

impl Default for Measurements {
    fn default() -> Self {
        Measurements {
            proposals: ZxidQueue::default(),
            to_quorum: histogram(),
            to_commit: histogram(),
            ack_lag: Vec::new(),
            followers: BTreeMap::new(),
            live_proposals: 0,
            first_proposal: None,
            last_proposal: None,
            last_zxid: None,
            committed_through: None,
            syncs: Vec::new(),
        }
    }
}

fn micros(from: Timestamp, to: Timestamp) -> u64 {
    (to.nanos_since(from).max(0) as u64 / 1000).max(1)
}

/// A latency distribution in the summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LatencyStats {
    /// Samples.
    pub count: u64,
    /// Mean, milliseconds.
    pub avg_ms: f64,
    /// 95th percentile, milliseconds.
    pub p95_ms: f64,
    /// 99th percentile, milliseconds.
    pub p99_ms: f64,
    /// Largest, milliseconds.
    pub max_ms: f64,
}

/// How close the zxid counter is to overflowing, in the summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ZxidCounter {
    /// The highest zxid proposed live, as `epoch/counter`.
    pub last_zxid: String,
    /// The same zxid in hex.
    pub last_zxid_hex: String,
    /// Its counter (low 32 bits).
    pub counter: u64,
    /// Proposals left before the counter reaches 0xffffffff (and forces an election).
    pub remaining: u64,
    /// How much of the counter is used, percent.
    pub used_percent: f64,
    /// Seconds until the counter overflows at the current write rate (None without writes).
    pub forecast_seconds: Option<f64>,
}

/// The `--summary` report: what [`Measurements`] measured, in the order it is printed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ZabSummary {
    /// Proposals seen sent live (outside a sync).
    pub live_proposals: u64,
    /// Live proposals per second, first to last.
    pub write_rate_per_sec: f64,
    /// Proposal → quorum of ACKs (None when nothing was measured).
    pub proposal_to_quorum: Option<LatencyStats>,
    /// Proposal → COMMIT (None when nothing was measured).
    pub proposal_to_commit: Option<LatencyStats>,
    /// Proposal → ACK per follower, by follower name (`sid N`, or its address).
    pub ack_lag_by_follower: BTreeMap<String, Option<LatencyStats>>,
    /// Each learner's sync, in order of its end.
    pub syncs: Vec<SyncReport>,
    /// The zxid counter's distance to overflow (None when no proposal was seen).
    pub zxid_counter: Option<ZxidCounter>,
}

fn stats_of(h: &Histogram<u64>) -> Option<LatencyStats> {
    if h.is_empty() {
        return None;
    }
    Some(LatencyStats {
        count: h.len(),
        avg_ms: h.mean() / 1000.0,
        p95_ms: h.value_at_quantile(0.95) as f64 / 1000.0,
        p99_ms: h.value_at_quantile(0.99) as f64 / 1000.0,
        max_ms: h.max() as f64 / 1000.0,
    })
}

impl Measurements {
    fn quorum_acks(&self) -> u32 {
        // The leader acknowledges its own proposals: a majority of (followers + 1) needs this
        // many follower ACKs.
        let voters = self.followers.len() as u32 + 1;
        (voters / 2 + 1).saturating_sub(1).max(1)
    }

    /// The summary.
    pub fn report(&self) -> ZabSummary {
        let span = match (self.first_proposal, self.last_proposal) {
            (Some(a), Some(b)) if b > a => b.nanos_since(a) as f64 / 1e9,
            _ => 0.0,
        };
        let rate = if span > 0.0 {
            self.live_proposals as f64 / span
        } else {
            0.0
        };
        let overflow = self.last_zxid.map(|z| {
            let counter = Zxid(z).counter() as u64;
            // ZooKeeper forces a new epoch (an election) when the counter reaches 0xffffffff.
            let left = 0xffff_ffffu64.saturating_sub(counter);
            ZxidCounter {
                last_zxid: Zxid(z).to_string(),
                last_zxid_hex: format!("0x{:x}", z as u64),
                counter,
                remaining: left,
                used_percent: counter as f64 * 100.0 / 4_294_967_295.0,
                forecast_seconds: (rate > 0.0).then(|| left as f64 / rate),
            }
        });
        // By follower name (one row per follower, so names do not repeat).
        let ack_lag = self
            .ack_lag
            .iter()
            .map(|(k, h)| (k.clone(), stats_of(h)))
            .collect();
        ZabSummary {
            live_proposals: self.live_proposals,
            write_rate_per_sec: rate,
            proposal_to_quorum: stats_of(&self.to_quorum),
            proposal_to_commit: stats_of(&self.to_commit),
            ack_lag_by_follower: ack_lag,
            syncs: self.syncs.clone(),
            zxid_counter: overflow,
        }
    }
}

fn learner_key(sid: Option<i64>, info: &ConnInfo) -> String {
    match sid {
        Some(s) => format!("sid {s}"),
        None => info.client.to_string(),
    }
}

impl<W: Write> ZabDump<W> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn measure(
        &mut self,
        conn: &mut LearnerState,
        learner: Learner,
        info: &ConnInfo,
        dir: QuorumDirection,
        ts: Timestamp,
        p: &Packet<'_>,
        size: usize,
    ) {
        let ms = &mut self.measurements;
        if let Some(sync) = conn.syncing.as_mut() {
            if dir == QuorumDirection::LeaderToLearner {
                sync.packets += 1;
                sync.bytes += size as u64;
            }
        }
        match p {
            Packet::FollowerInfo { .. } => {
                conn.lag_row = None;
                ms.followers.insert(learner_key(learner.sid, info), ());
            }
            Packet::ObserverInfo { .. } => {
                conn.lag_row = None;
            }
            Packet::Diff { .. } | Packet::Trunc { .. } | Packet::Snap { .. }
                if dir == QuorumDirection::LeaderToLearner =>
            {
                conn.syncing = Some(Syncing {
                    mode: p.packet_type().name(),
                    start: ts,
                    packets: 1,
                    bytes: size as u64,
                });
            }
            Packet::UpToDate { .. } if dir == QuorumDirection::LeaderToLearner => {
                if let Some(s) = conn.syncing.take() {
                    ms.syncs.push(SyncReport {
                        sid: learner.sid,
                        learner: info.client.to_string(),
                        mode: s.mode,
                        packets: s.packets,
                        bytes: s.bytes,
                        duration_ms: Some(ts.nanos_since(s.start) as f64 / 1e6),
                    });
                }
            }
            Packet::Proposal { zxid, .. }
                if dir == QuorumDirection::LeaderToLearner && conn.syncing.is_none() =>
            {
                if ms.committed_through.is_none_or(|c| zxid.0 > c) {
                    let entry = ms.proposals.entry(zxid.0, InFlight::default);
                    if entry.first_sent.is_none() {
                        entry.first_sent = Some(ts);
                        ms.live_proposals += 1;
                        ms.first_proposal.get_or_insert(ts);
                        ms.last_proposal = Some(ts);
                        ms.last_zxid = Some(ms.last_zxid.map_or(zxid.0, |z| z.max(zxid.0)));
                        if let Some(tell) = self.on_proposal.as_mut() {
                            tell(ts, *zxid);
                        }
                    }
                }
                *conn.sent.entry(zxid.0, || ts) = ts;
            }
            Packet::Ack { zxid }
                if dir == QuorumDirection::LearnerToLeader && !learner.observer =>
            {
                if let Some(sent) = conn.sent.take_through(zxid.0) {
                    let row = *conn.lag_row.get_or_insert_with(|| {
                        let name = learner_key(learner.sid, info);
                        match ms.ack_lag.iter().position(|(n, _)| *n == name) {
                            Some(row) => row,
                            None => {
                                ms.ack_lag.push((name, histogram()));
                                ms.ack_lag.len() - 1
                            }
                        }
                    });
                    if let Some((_, lag)) = ms.ack_lag.get_mut(row) {
                        let _ = lag.record(micros(sent, ts));
                    }
                }
                let need = ms.quorum_acks();
                if let Some(entry) = ms.proposals.get_mut(zxid.0) {
                    entry.acks += 1;
                    if entry.acks >= need && entry.quorum_at.is_none() {
                        entry.quorum_at = Some(ts);
                        if let Some(first) = entry.first_sent {
                            let _ = ms.to_quorum.record(micros(first, ts));
                        }
                    }
                }
            }
            Packet::Commit { zxid }
                if dir == QuorumDirection::LeaderToLearner && conn.syncing.is_none() =>
            {
                ms.committed_through = Some(ms.committed_through.map_or(zxid.0, |c| c.max(zxid.0)));
                if let Some(entry) = ms.proposals.take_through(zxid.0) {
                    if let Some(first) = entry.first_sent {
                        let us = micros(first, ts);
                        let _ = ms.to_commit.record(us);
                        if let Some(tell) = self.on_commit.as_mut() {
                            tell(us);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// The `--summary` report as text lines.
pub fn summary_text(report: &ZabSummary) -> Vec<String> {
    let fmt = |v: &Option<LatencyStats>| match v {
        None => "none".to_string(),
        Some(v) => format!(
            "avg {:.3} ms, p95 {:.3} ms, p99 {:.3} ms (n={})",
            v.avg_ms, v.p95_ms, v.p99_ms, v.count
        ),
    };
    let mut lines = vec![
        format!(
            "writes: {} live proposals, {:.1}/s",
            report.live_proposals, report.write_rate_per_sec
        ),
        format!("proposal -> quorum: {}", fmt(&report.proposal_to_quorum)),
        format!("proposal -> commit: {}", fmt(&report.proposal_to_commit)),
    ];
    for (who, v) in &report.ack_lag_by_follower {
        lines.push(format!("ack lag {who}: {}", fmt(v)));
    }
    for s in &report.syncs {
        // Named as everywhere else: by sid when known (with the connection's address), by
        // address otherwise.
        let address = &s.learner;
        let name = match s.sid {
            Some(sid) => format!("sid {sid} ({address})"),
            None => address.to_string(),
        };
        lines.push(format!(
            "sync {name}: {}, {} packets, {} bytes, {}",
            s.mode,
            s.packets,
            s.bytes,
            s.duration_ms
                .map_or("no UPTODATE seen".into(), |d| format!("{d:.1} ms"))
        ));
    }
    if let Some(z) = &report.zxid_counter {
        let forecast = z
            .forecast_seconds
            .map_or("no writes to extrapolate".to_string(), |s| {
                format!(
                    "overflows in {:.0} s ({:.1} days) at the current rate",
                    s,
                    s / 86_400.0
                )
            });
        lines.push(format!(
            "zxid counter: last {} ({}), {:.6}% used, {} left; {forecast}",
            z.last_zxid, z.last_zxid_hex, z.used_percent, z.remaining
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 22 item 8: a learner whose sid was not seen is named by its address in every
    /// line (the sync line said `sync ? (address)` beside `ack lag address`).
    #[test]
    fn learners_are_named_alike_in_every_summary_line() {
        let sync = |sid, learner: &str, mode, packets, bytes, duration_ms| SyncReport {
            sid,
            learner: learner.into(),
            mode,
            packets,
            bytes,
            duration_ms: Some(duration_ms),
        };
        let report = ZabSummary {
            live_proposals: 0,
            write_rate_per_sec: 0.0,
            proposal_to_quorum: None,
            proposal_to_commit: None,
            ack_lag_by_follower: [("127.0.0.1:40000".into(), None), ("sid 2".into(), None)].into(),
            syncs: vec![
                sync(None, "127.0.0.1:40000", "DIFF", 3, 192, 1.0),
                sync(Some(2), "127.0.0.1:40001", "SNAP", 4, 900, 2.0),
            ],
            zxid_counter: None,
        };
        let lines = summary_text(&report);
        assert!(lines
            .iter()
            .any(|l| l.starts_with("ack lag 127.0.0.1:40000:")));
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("sync 127.0.0.1:40000: DIFF")),
            "{lines:?}"
        );
        assert!(lines
            .iter()
            .any(|l| l.starts_with("sync sid 2 (127.0.0.1:40001): SNAP")));
        assert!(!lines.iter().any(|l| l.contains('?')), "{lines:?}");
    }
}
