//! zk-dump's analyses: request counts, latency percentiles, watches, sessions, errors and large
//! messages, over the typed messages zk-dump's handler emits (so every figure can be checked
//! against `zk-dump --format json` of the same input).
//!
//! [`Analytics`] is the state, fed with [`Analytics::observe`] — usable from other tools that
//! make [`ZkMessage`]s of their own; [`AnalysisSink`] is zk-dump's sink around it, which
//! reprints the tables every `--interval` of capture time.

mod sessions;
mod tables;
mod watches;

use crate::line::Line;
use crate::output::{Format, Printer};
use crate::samples::{histogram, Samples};
use crate::zk::{describe, RenderOptions, Token, ZkBody, ZkMessage, ZkSink};
use sessions::Sessions;
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use zkwire_capture::Timestamp;

pub use tables::WATCH_ROWS;
pub(crate) use tables::{aligned, group_name};
pub use watches::{Watcher, Watches};

use crate::intern::FastMap;

/// How to group counts and latencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    /// By znode path (cut to `--aggregation-depth`).
    Path,
    /// By message type (`GetDataRequest`).
    Type,
    /// By client address.
    Client,
    /// By server address.
    Server,
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
pub enum Analysis {
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

/// A message of at least `--large` bytes.
#[derive(Debug)]
struct LargeMessage {
    ts: Timestamp,
    kind: &'static str,
    size: u64,
    dir: &'static str,
    path: String,
    client: String,
    /// The message as zk-dump's JSON line (JSON output only).
    json: Option<Vec<u8>>,
}

/// A count table's entry.
#[derive(Debug, Clone, Copy)]
struct Tally {
    n: u64,
    /// When the key was first seen.
    first: Timestamp,
}

/// Error replies: (error, detail, whether expected) → count.
type ErrorTable = HashMap<(String, String, bool), u64>;

/// The analysis state.
pub struct Analytics {
    mode: Analysis,
    depth: usize,
    /// Rows per table: `--top` when given (every table), else all rows (the watch tables
    /// keep [`WATCH_ROWS`]).
    top: Option<usize>,
    /// Count (or bytes) per key, with when the key was first seen (ties in the tables go to
    /// the key seen first, as zktraffic's do; then by name).
    counts: FastMap<String, Tally>,
    latencies: FastMap<String, Samples>,
    samples: u64,
    watches: Watches,
    sessions: Sessions,
    /// Error replies by (error, type / path / client, whether expected).
    errors: [ErrorTable; 3],
    large: Vec<LargeMessage>,
    /// How `--large` keeps each message's JSON line, when the output is JSON.
    large_json: Option<(Line, RenderOptions)>,
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
    /// An analysis; `depth` cuts paths, `top` limits the rows of every table.
    pub fn new(mode: Analysis, depth: usize, top: Option<usize>) -> Analytics {
        Analytics {
            mode,
            depth,
            top,
            counts: FastMap::default(),
            latencies: FastMap::default(),
            samples: 0,
            watches: Watches::default(),
            sessions: Sessions::default(),
            errors: Default::default(),
            large: Vec::new(),
            large_json: None,
        }
    }

    /// The analysis this runs.
    pub fn mode(&self) -> &Analysis {
        &self.mode
    }

    /// Keeps `--large` messages as JSON lines rendered with `opts` (for JSON output).
    pub fn keep_large_as_json(&mut self, opts: RenderOptions) {
        self.large_json = Some((Line::new(Format::Json), opts));
    }

    fn key<'m>(&self, msg: &ZkMessage<'m>, group_by: GroupBy) -> Cow<'m, str> {
        match group_by {
            GroupBy::Path => aggregate_path(msg.path, self.depth),
            GroupBy::Type => Cow::Borrowed(msg.kind()),
            GroupBy::Client => Cow::Owned(msg.client.to_string()),
            GroupBy::Server => Cow::Owned(msg.server.to_string()),
        }
    }

    fn bump(&mut self, key: &str, by: u64, at: Timestamp) {
        match self.counts.get_mut(key) {
            Some(t) => t.n += by,
            None => {
                self.counts
                    .insert(key.to_string(), Tally { n: by, first: at });
            }
        }
    }

    /// Adds the counts and latencies of `other`, an analysis of other connections of the same
    /// capture (a shard of it), as if one analysis had seen both: counts add up, a key's first
    /// sighting is the earlier one, histograms add. The count and latency analyses only: the
    /// others follow state across connections.
    pub fn merge(&mut self, other: Analytics) {
        self.samples += other.samples;
        for (key, t) in other.counts {
            let mine = self.counts.entry(key).or_insert(Tally {
                n: 0,
                first: t.first,
            });
            mine.n += t.n;
            mine.first = mine.first.min(t.first);
        }
        for (key, samples) in other.latencies {
            match self.latencies.get_mut(&key) {
                Some(mine) => mine.merge(samples, histogram),
                None => {
                    self.latencies.insert(key, samples);
                }
            }
        }
    }

    /// Whether [`Analytics::merge`] gives the same result as one analysis of everything: the
    /// count and latency analyses, counting every request or sample (no limit).
    pub fn is_mergeable(&self) -> bool {
        matches!(
            self.mode,
            Analysis::Count { limit: 0, .. } | Analysis::Latency { limit: 0, .. }
        )
    }

    /// Whether the requested number of requests or samples has been seen.
    pub fn is_done(&self) -> bool {
        match self.mode {
            Analysis::Count { limit, .. } | Analysis::Latency { limit, .. } => {
                limit > 0 && self.samples >= limit
            }
            _ => false,
        }
    }

    /// Takes in one message.
    pub fn observe(&mut self, msg: &ZkMessage<'_>) {
        // The analyses look at what the connections carried, not at their opening.
        if self.is_done() || matches!(msg.body, ZkBody::Opened | ZkBody::Unanswered { .. }) {
            return;
        }
        match self.mode {
            Analysis::Count { group_by, .. } => {
                if matches!(msg.dir(), "request" | "connect") {
                    let key = self.key(msg, group_by);
                    self.bump(&key, 1, msg.ts);
                    self.samples += 1;
                }
            }
            Analysis::Latency { group_by, .. } => {
                if let Some(us) = msg.latency_us() {
                    let mut key = self.key(msg, group_by);
                    if group_by == GroupBy::Type {
                        // Group replies under their request's name, as zktraffic does.
                        if let Some(k) = key.strip_suffix("Reply") {
                            key = Cow::Owned(format!("{k}Request"));
                        }
                    }
                    let samples = match self.latencies.get_mut(key.as_ref()) {
                        Some(h) => h,
                        None => self.latencies.entry(key.into_owned()).or_default(),
                    };
                    samples.record(us.max(1), histogram);
                    self.samples += 1;
                }
            }
            Analysis::TopWatches => self.watches.observe(msg),
            Analysis::Sessions => self.sessions.observe(msg),
            Analysis::Errors => self.error(msg),
            Analysis::Large { bytes, group_by } => {
                let size = msg.size();
                let key = self.key(msg, group_by);
                self.bump(&key, size, msg.ts);
                if size >= bytes {
                    self.keep_large(msg);
                }
            }
        }
    }

    fn error(&mut self, msg: &ZkMessage<'_>) {
        if msg.err().is_none_or(|e| e == 0) {
            return;
        }
        let error = msg.error_text().unwrap_or_default();
        let kind = msg.kind();
        let expected = tables::is_expected_error(&kind.replace("Reply", "Request"), &error);
        let path = aggregate_path(msg.path, self.depth);
        for (table, detail) in [
            (0, kind.to_string()),
            (1, path.into_owned()),
            (2, msg.client.to_string()),
        ] {
            *self.errors[table]
                .entry((error.to_string(), detail, expected))
                .or_default() += 1;
        }
    }

    fn keep_large(&mut self, msg: &ZkMessage<'_>) {
        let json = self.large_json.as_mut().map(|(line, opts)| {
            describe(msg, line, *opts);
            let mut out = Vec::new();
            line.write_json(&mut out);
            out
        });
        self.large.push(LargeMessage {
            ts: msg.ts,
            kind: msg.kind(),
            size: msg.size(),
            dir: msg.dir(),
            path: msg.path.unwrap_or("").to_string(),
            client: msg.client.to_string(),
            json,
        });
    }
}

/// zk-dump's analysis sink: feeds [`Analytics`] and prints its tables at the end, and every
/// `--interval` of capture time when asked.
pub struct AnalysisSink<W: Write> {
    /// The analysis.
    pub analytics: Analytics,
    /// Where tables go.
    pub printer: Printer<W>,
    /// Reprint the tables every this many nanoseconds of capture time (`--interval`).
    pub interval_ns: Option<i64>,
    /// Clear the screen before each reprint (text on a terminal).
    pub redraw: bool,
    last_report: Option<Timestamp>,
}

impl<W: Write> AnalysisSink<W> {
    /// A sink feeding `analytics` and printing to `printer`.
    pub fn new(analytics: Analytics, printer: Printer<W>) -> AnalysisSink<W> {
        AnalysisSink {
            analytics,
            printer,
            interval_ns: None,
            redraw: false,
            last_report: None,
        }
    }

    /// Prints the tables.
    pub fn report(&mut self) {
        let format = self.printer.format();
        for line in self.analytics.render(format, self.printer.clock_mut()) {
            self.printer.print(&line);
        }
    }
}

impl<W: Write> ZkSink for AnalysisSink<W> {
    fn message(&mut self, msg: &ZkMessage<'_>) -> Option<Token> {
        self.analytics.observe(msg);
        None
    }

    /// Reprints the tables when `--interval` of capture time has passed. Every event ticks,
    /// whatever the analysis takes of it, so steady traffic of any kind keeps reports coming.
    fn advance(&mut self, now: Timestamp) {
        let Some(every) = self.interval_ns else {
            return;
        };
        match self.last_report {
            None => self.last_report = Some(now),
            Some(last) if now.nanos_since(last) >= every => {
                self.last_report = Some(now);
                if self.redraw {
                    // On a terminal the report replaces the previous one, as top does.
                    self.printer.print_raw("\x1b[H\x1b[2J");
                }
                let when = self.printer.clock().format_date(now);
                self.printer.print(&format!("--- {when} ---"));
                self.report();
            }
            Some(_) => {}
        }
    }

    fn done(&self) -> bool {
        self.printer.done() || self.analytics.is_done()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_proto::message::RequestBody;
    use zk_proto::records::{ConnectRequest, ConnectResponse, PathWatchRequest};
    use zk_proto::{OpCode, Request};

    #[test]
    fn paths_are_cut_to_the_aggregation_depth() {
        assert_eq!(aggregate_path(Some("/a/b/c"), 0), "/a/b/c");
        assert_eq!(aggregate_path(Some("/a/b/c"), 2), "/a/b");
        assert_eq!(aggregate_path(Some("/a"), 3), "/a");
        assert_eq!(aggregate_path(Some("/"), 1), "/");
        assert_eq!(aggregate_path(None, 1), "(none)");
    }

    /// A message at `secs` from client `c:port` of session `session`.
    fn at(secs: f64, port: u16, session: Option<i64>, body: ZkBody<'_>) -> ZkMessage<'_> {
        ZkMessage {
            ts: Timestamp((secs * 1e9) as i64),
            client: std::net::SocketAddr::from(([10, 0, 0, 1], port)),
            server: std::net::SocketAddr::from(([10, 0, 0, 9], 2181)),
            session,
            path: Some("/w"),
            outstanding: 0,
            body,
        }
    }

    const SESSION: Option<i64> = Some(1);

    /// A session that set a watch, then lost its connection at `closed` seconds.
    fn watcher_then_lost(a: &mut Analytics, closed: f64) {
        let accepted = ConnectResponse {
            protocol_version: 0,
            time_out: 6000,
            session_id: 1,
            passwd: None,
            read_only: None,
        };
        let (get, reply) = crate::test_support::watching_get_data();
        let connect = ZkBody::ConnectReply {
            reply: &accepted,
            size: 0,
        };
        let request = ZkBody::Request {
            request: &get,
            size: 0,
        };
        let reply = ZkBody::Reply {
            reply: &reply,
            token: None,
            latency_ns: Some(1),
            size: 0,
        };
        for m in [
            at(1.0, 1, SESSION, connect),
            at(1.1, 1, SESSION, request),
            at(1.2, 1, SESSION, reply),
            at(closed, 1, SESSION, ZkBody::Closed),
        ] {
            a.observe(&m);
        }
    }

    fn watches_of(a: &Analytics, session: &str) -> Option<usize> {
        a.watches
            .held_counts()
            .find(|(w, _)| w.to_string() == session)
            .map(|(_, n)| n)
    }

    #[test]
    fn watches_end_when_a_lost_session_times_out_unless_it_reconnects() {
        let mut a = Analytics::new(Analysis::TopWatches, 0, None);
        watcher_then_lost(&mut a, 2.0);
        assert_eq!(watches_of(&a, "0x1"), Some(1), "set by the reply");
        a.observe(&at(7.9, 2, Some(2), ZkBody::Closed));
        assert_eq!(watches_of(&a, "0x1"), Some(1), "within the timeout");
        a.observe(&at(8.1, 2, Some(2), ZkBody::Closed));
        assert_eq!(watches_of(&a, "0x1"), None, "expired 6 s after the loss");

        let mut b = Analytics::new(Analysis::TopWatches, 0, None);
        watcher_then_lost(&mut b, 2.0);
        let resume = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 5,
            time_out: 6000,
            session_id: 1,
            passwd: None,
            read_only: None,
        };
        let resume = ZkBody::Connect {
            request: &resume,
            size: 0,
        };
        b.observe(&at(3.0, 3, SESSION, resume));
        b.observe(&at(20.0, 2, Some(2), ZkBody::Closed));
        assert_eq!(watches_of(&b, "0x1"), Some(1), "resumed in time");
    }

    #[test]
    fn counts_follow_the_grouping_and_the_limit() {
        let get = Request {
            xid: 1,
            opcode: OpCode::GetData,
            body: RequestBody::GetData(PathWatchRequest {
                path: Some("/w".into()),
                watch: false,
            }),
        };
        let mut a = Analytics::new(
            Analysis::Count {
                limit: 2,
                group_by: GroupBy::Type,
            },
            0,
            None,
        );
        for _ in 0..3 {
            a.observe(&at(
                1.0,
                1,
                None,
                ZkBody::Request {
                    request: &get,
                    size: 9,
                },
            ));
        }
        assert!(a.is_done());
        let table = a.render(Format::Text, &mut crate::output::Clock::new(true));
        assert_eq!(table[2], "GetDataRequest      2", "{table:#?}");
    }
}
