//! The analyses' output: aligned text tables with headers (zktraffic's look) or one JSON
//! object per row.

use super::{Analysis, Analytics, GroupBy, SortBy, Tally, Watcher};
use crate::line::Line;
use crate::output::{Clock, Format};
use crate::samples::Figures;
use std::collections::{BTreeSet, HashMap};

/// A JSON row from (key, value) pairs in order.
fn row(fill: impl FnOnce(&mut Line)) -> String {
    let mut line = Line::new(Format::Json);
    fill(&mut line);
    line.to_json()
}

impl Analytics {
    /// Rows a table shows.
    fn rows(&self) -> usize {
        self.top.unwrap_or(usize::MAX)
    }

    /// The result as output lines in the given format; `clock` formats the times of text rows.
    pub fn render(&self, format: Format, clock: &mut Clock) -> Vec<String> {
        match &self.mode {
            Analysis::Count { group_by, .. } => self.count_table(format, *group_by, "count"),
            Analysis::Latency {
                group_by, sort_by, ..
            } => self.latency_table(format, *group_by, *sort_by),
            Analysis::TopWatches => self.watch_tables(format),
            Analysis::Sessions => self.session_table(format),
            Analysis::Errors => self.error_tables(format),
            Analysis::Large { group_by, .. } => {
                let mut lines: Vec<String> = match format {
                    Format::Json => self
                        .large
                        .iter()
                        .filter_map(|m| m.json.as_deref())
                        .map(|message| {
                            row(|r| {
                                r.str("kind", "large");
                                r.rendered("message", message);
                            })
                        })
                        .collect(),
                    Format::Text => aligned(
                        ["time", "type", "bytes", "dir", "path", "client"].map(str::to_string),
                        self.large
                            .iter()
                            .take(self.rows())
                            .map(|m| {
                                [
                                    clock.format(m.ts),
                                    m.kind.to_string(),
                                    m.size.to_string(),
                                    m.dir.to_string(),
                                    m.path.clone(),
                                    m.client.clone(),
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
        let mut rows: Vec<(&String, Tally)> = self.counts.iter().map(|(k, t)| (k, *t)).collect();
        // Largest first; ties go to the key seen first, as in zktraffic's table (then by name,
        // so that the order never depends on which connection was read first).
        rows.sort_by(|a, b| {
            (b.1.n.cmp(&a.1.n))
                .then(a.1.first.cmp(&b.1.first))
                .then(a.0.cmp(b.0))
        });
        rows.into_iter().map(|(k, t)| (k, t.n)).collect()
    }

    fn count_table(&self, format: Format, group_by: GroupBy, what: &'static str) -> Vec<String> {
        let rows = self.sorted_counts();
        let name = group_name(group_by);
        let shown = rows.iter().take(self.rows());
        match format {
            Format::Json => shown
                .map(|(k, n)| {
                    row(|r| {
                        r.str(name, k);
                        r.int(what, *n);
                    })
                })
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
        // Each group's figures once.
        let mut rows: Vec<(&String, Figures)> = self
            .latencies
            .iter()
            .map(|(k, samples)| (k, samples.figures()))
            .collect();
        let metric = |h: &Figures| match sort_by {
            SortBy::Avg => h.mean,
            SortBy::P95 => h.p95 as f64,
            SortBy::P99 => h.p99 as f64,
            SortBy::Count => h.count as f64,
        };
        rows.sort_by(|a, b| metric(&b.1).total_cmp(&metric(&a.1)).then(a.0.cmp(b.0)));
        let total = rows.len();
        rows.truncate(self.rows());
        let name = group_name(group_by);
        match format {
            Format::Json => rows
                .iter()
                .map(|(k, h)| {
                    row(|r| {
                        r.str(name, k);
                        r.int("count", h.count);
                        r.f64("avg_us", h.mean);
                        r.int("p50_us", h.p50);
                        r.int("p95_us", h.p95);
                        r.int("p99_us", h.p99);
                        r.int("max_us", h.max);
                    })
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
                        h.count.to_string(),
                        ms(h.mean),
                        ms(h.p50 as f64),
                        ms(h.p95 as f64),
                        ms(h.p99 as f64),
                        ms(h.max as f64),
                    ]
                });
                with_rest(aligned(header, body.collect()), total, self.rows())
            }
        }
    }

    fn watch_tables(&self, format: Format) -> Vec<String> {
        let mut by_path: HashMap<&str, BTreeSet<Watcher>> = HashMap::new();
        let mut by_client: Vec<(String, usize)> = Vec::new();
        for (who, set) in &self.watches.held {
            if !set.is_empty() {
                by_client.push((who.to_string(), set.len()));
            }
            for (path, _) in set {
                by_path.entry(path).or_default().insert(*who);
            }
        }
        let mut paths: Vec<(&str, usize)> = by_path.iter().map(|(p, w)| (*p, w.len())).collect();
        paths.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        by_client.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        match format {
            Format::Json => paths
                .iter()
                .take(self.top.unwrap_or(WATCH_ROWS))
                .map(|(p, n)| {
                    row(|r| {
                        r.str("kind", "path");
                        r.str("path", p);
                        r.int("watchers", *n);
                    })
                })
                .chain(
                    by_client
                        .iter()
                        .take(self.top.unwrap_or(WATCH_ROWS))
                        .map(|(c, n)| {
                            row(|r| {
                                r.str("kind", "watcher");
                                r.str("session", c);
                                r.int("watches", *n);
                            })
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
                .by_id
                .iter()
                .map(|(id, s)| {
                    row(|r| {
                        r.str("kind", "session");
                        r.str("session", id);
                        r.merge(s);
                        r.f64("lifetime_s", s.last_seen - s.first_seen);
                        r.str("ended", s.ended.unwrap_or("open at end of capture"));
                    })
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
                    .by_id
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
                        row(|r| {
                            r.str("kind", "errors");
                            r.str("error", error);
                            r.str(title, detail);
                            r.int("count", *n);
                            r.bool("expected", expected);
                        })
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
pub(super) fn is_expected_error(kind: &str, error: &str) -> bool {
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

pub(crate) fn group_name(g: GroupBy) -> &'static str {
    match g {
        GroupBy::Path => "path",
        GroupBy::Type => "type",
        GroupBy::Client => "client",
        GroupBy::Server => "server",
    }
}

/// A table with a header and a rule: text columns left-aligned, number columns right-aligned,
/// like zktraffic's tables.
pub(crate) fn aligned<const N: usize>(header: [String; N], rows: Vec<[String; N]>) -> Vec<String> {
    let mut widths = header.clone().map(|h| h.len());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    // Numbers (and `p50/p99` pairs, `-` for none) align right, text left.
    let number = |c: &str| c == "-" || c.split('/').all(|part| part.parse::<f64>().is_ok());
    let numeric: Vec<bool> = (0..N)
        .map(|i| i > 0 && rows.iter().all(|r| number(&r[i])))
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
    fn tables_align_columns() {
        let t = aligned(
            ["k".into(), "n".into()],
            vec![["long-key".into(), "5".into()], ["x".into(), "123".into()]],
        );
        assert_eq!(t[0], "k           n");
        assert_eq!(t[2], "long-key    5");
        assert_eq!(t[3], "x         123");
    }
}
