//! What `zk-dump --trace-writes` prints: one JSON object per traced write, or a table of
//! stage percentiles per group (request type by default) and the slowest writes with their
//! breakdown and the follower whose ACK came last.

use super::tracer::{AckFrom, Stage, TraceCounts, WriteTrace};
use crate::analysis::{aggregate_path, GroupBy};
use crate::samples::Samples;
use hdrhistogram::Histogram;
use serde::ser::{SerializeMap, Serializer};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// Most groups in the table; later ones are summed under `(other)`.
const MAX_GROUPS: usize = 10_000;
/// Slowest writes listed when `--top` does not say.
const SLOWEST: usize = 10;

/// A write's type as the table names it: zk-dump's request type name.
fn type_name(t: &WriteTrace) -> &'static str {
    t.opcode.request_name()
}

/// A multi's operations, `200 create, 1 check`.
fn ops_text(t: &WriteTrace) -> String {
    t.ops
        .iter()
        .map(|(name, n)| format!("{n} {name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Stage and total percentiles of one group.
struct Row {
    total: Samples,
    stages: [Samples; 5],
}

fn histogram() -> Histogram<u64> {
    // Three significant digits, growing as needed: never fails for these bounds.
    Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits are valid"))
}

impl Row {
    fn new() -> Row {
        Row {
            total: Samples::default(),
            stages: std::array::from_fn(|_| Samples::default()),
        }
    }

    fn observe(&mut self, t: &WriteTrace) {
        self.total.record(t.total_us, histogram);
        for (stage, us) in t.stages.iter() {
            self.stages[stage as usize].record(us, histogram);
        }
    }
}

/// The table of traced writes.
pub struct WriteStats {
    group_by: GroupBy,
    depth: usize,
    rows: HashMap<String, Row>,
    /// The slowest writes (a min-heap, of at most `keep`).
    slowest: BinaryHeap<Reverse<Slow>>,
    keep: usize,
}

/// A trace ordered by its total time, then its zxid (unique per trace).
struct Slow(WriteTrace);

impl Slow {
    fn key(&self) -> (u64, i64) {
        (self.0.total_us, self.0.zxid)
    }
}

impl PartialEq for Slow {
    fn eq(&self, other: &Slow) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Slow {}

impl PartialOrd for Slow {
    fn partial_cmp(&self, other: &Slow) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Slow {
    fn cmp(&self, other: &Slow) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl WriteStats {
    /// Groups by `group_by` (paths cut to `depth` components); keeps the `top` slowest writes.
    pub fn new(group_by: GroupBy, depth: usize, top: Option<usize>) -> WriteStats {
        WriteStats {
            group_by,
            depth,
            rows: HashMap::new(),
            slowest: BinaryHeap::new(),
            keep: top.unwrap_or(SLOWEST),
        }
    }

    fn key(&self, t: &WriteTrace) -> String {
        match self.group_by {
            GroupBy::Type => type_name(t).to_string(),
            GroupBy::Path => aggregate_path(t.path.as_deref(), self.depth).into_owned(),
            GroupBy::Client => t.client.to_string(),
            GroupBy::Server => t.server.to_string(),
        }
    }

    /// Counts one trace.
    pub fn observe(&mut self, t: WriteTrace) {
        let mut key = self.key(&t);
        if !self.rows.contains_key(&key) && self.rows.len() >= MAX_GROUPS {
            key = "(other)".into();
        }
        self.rows.entry(key).or_insert_with(Row::new).observe(&t);
        if self.keep == 0 {
            return;
        }
        self.slowest.push(Reverse(Slow(t)));
        if self.slowest.len() > self.keep {
            self.slowest.pop();
        }
    }

    /// The text report: what was traced, the stage table, the slowest writes.
    pub fn text(&self, counts: &TraceCounts, voters: Option<usize>) -> Vec<String> {
        let mut out = vec![format!(
            "{} of {} writes traced ({} requests before the capture, {} proposals not in it); \
             times in ms, p50/p99",
            counts.traced, counts.writes, counts.request_not_seen, counts.proposal_not_seen
        )];
        if let Some(v) = voters {
            out.push(format!("quorum of {v} voting members"));
        }
        out.push(String::new());
        out.extend(self.stage_table());
        let slowest = self.slowest_table();
        if !slowest.is_empty() {
            out.push(String::new());
            out.push("Slowest writes".into());
            out.extend(slowest);
        }
        out
    }

    fn stage_table(&self) -> Vec<String> {
        let mut rows: Vec<(&String, &Row)> = self.rows.iter().collect();
        rows.sort_by(|a, b| b.1.total.len().cmp(&a.1.total.len()).then(a.0.cmp(b.0)));
        let cell = |samples: &Samples| {
            let h = samples.figures();
            if h.count == 0 {
                "-".to_string()
            } else {
                format!("{}/{}", ms(h.p50), ms(h.p99))
            }
        };
        let body = rows
            .iter()
            .map(|(k, r)| {
                [
                    k.to_string(),
                    r.total.len().to_string(),
                    cell(&r.total),
                    cell(&r.stages[0]),
                    cell(&r.stages[1]),
                    cell(&r.stages[2]),
                    cell(&r.stages[3]),
                    cell(&r.stages[4]),
                ]
            })
            .collect();
        let header = [
            crate::analysis::group_name(self.group_by),
            "writes",
            "total",
            "forward",
            "propose",
            "quorum",
            "commit",
            "reply",
        ]
        .map(str::to_string);
        crate::analysis::aligned(header, body)
    }

    fn slowest_table(&self) -> Vec<String> {
        let mut slowest: Vec<&WriteTrace> = self.slowest.iter().map(|s| &s.0 .0).collect();
        // Slowest first; equal totals by zxid.
        slowest.sort_by(|a, b| b.total_us.cmp(&a.total_us).then(a.zxid.cmp(&b.zxid)));
        let stage = |t: &WriteTrace, s: Stage| t.stages.get(s).map_or("-".into(), ms);
        let body: Vec<[String; 12]> = slowest
            .iter()
            .map(|t| {
                let mut kind = type_name(t).to_string();
                if !t.ops.is_empty() {
                    kind = format!("{kind} ({})", ops_text(t));
                }
                [
                    format!("0x{:x}", t.zxid),
                    kind,
                    t.path.as_deref().unwrap_or("-").to_string(),
                    t.server.to_string(),
                    ms(t.total_us),
                    stage(t, Stage::Forward),
                    stage(t, Stage::Propose),
                    stage(t, Stage::Quorum),
                    stage(t, Stage::Commit),
                    stage(t, Stage::Reply),
                    format!("{}/{}", t.acks, t.followers),
                    t.last_ack.map_or("-".into(), |a| ack_text(&a)),
                ]
            })
            .collect();
        if body.is_empty() {
            return Vec::new();
        }
        let header = [
            "zxid", "type", "path", "server", "total", "forward", "propose", "quorum", "commit",
            "reply", "acks", "last ACK",
        ]
        .map(str::to_string);
        crate::analysis::aligned(header, body)
    }
}

/// Microseconds as milliseconds with three decimals.
fn ms(us: u64) -> String {
    format!("{}.{:03}", us / 1000, us % 1000)
}

/// `sid 3 127.0.0.3:41234 +1.204` (ms after the PROPOSAL).
fn ack_text(a: &AckFrom) -> String {
    let who = match a.sid {
        Some(sid) => format!("sid {sid} {}", a.learner),
        None => a.learner.to_string(),
    };
    match a.after_us {
        Some(us) => format!("{who} +{}", ms(us)),
        None => who,
    }
}

/// Serialises an [`AckFrom`] as `{learner, sid, after_us}`.
struct AckJson<'a>(&'a AckFrom);

impl serde::Serialize for AckJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("learner", &self.0.learner.to_string())?;
        if let Some(sid) = self.0.sid {
            m.serialize_entry("sid", &sid)?;
        }
        if let Some(us) = self.0.after_us {
            m.serialize_entry("after_us", &us)?;
        }
        m.end()
    }
}

/// Serialises a trace as its JSON line's object.
pub struct TraceJson<'a>(pub &'a WriteTrace);

impl serde::Serialize for TraceJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("ts", &t.request_ts.as_secs_f64())?;
        m.serialize_entry("zxid", &t.zxid)?;
        m.serialize_entry("zxid_hex", &format!("0x{:x}", t.zxid))?;
        m.serialize_entry("session", &crate::zk::session_hex(t.session))?;
        m.serialize_entry("xid", &t.xid)?;
        m.serialize_entry("type", type_name(t))?;
        if !t.ops.is_empty() {
            m.serialize_entry("ops", &OpsJson(&t.ops))?;
        }
        m.serialize_entry("path", &t.path.as_deref())?;
        m.serialize_entry("client", &t.client.to_string())?;
        m.serialize_entry("server", &t.server.to_string())?;
        m.serialize_entry("err", &t.err)?;
        m.serialize_entry("total_us", &t.total_us)?;
        m.serialize_entry("stages", &StagesJson(t))?;
        m.serialize_entry("followers", &t.followers)?;
        m.serialize_entry("acks", &t.acks)?;
        if let Some(a) = &t.quorum_ack {
            m.serialize_entry("quorum_ack", &AckJson(a))?;
        }
        if let Some(a) = &t.last_ack {
            m.serialize_entry("last_ack", &AckJson(a))?;
        }
        m.end()
    }
}

struct StagesJson<'a>(&'a WriteTrace);

impl serde::Serialize for StagesJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (stage, us) in self.0.stages.iter() {
            m.serialize_entry(&format_args!("{}_us", stage.name()), &us)?;
        }
        m.end()
    }
}

struct OpsJson<'a>(&'a [(&'static str, u32)]);

impl serde::Serialize for OpsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (name, n) in self.0 {
            m.serialize_entry(name, n)?;
        }
        m.end()
    }
}
