//! How the tools print: colour only when asked or on a terminal, zktraffic's clock format, and
//! a per-client colour so interleaved conversations stay readable.

use crate::line::Line;
use anstyle::{AnsiColor, Style};
use chrono::{Local, Offset, TimeZone, Utc};
use clap::ValueEnum;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::IsTerminal;
use std::io::Write;
use zkwire_capture::Timestamp;

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Only when standard output is a terminal (and NO_COLOR is not set).
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl ColorWhen {
    /// Whether colour is on for standard output.
    pub fn enabled(self) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        }
    }
}

const PALETTE: [AnsiColor; 7] = [
    AnsiColor::Red,
    AnsiColor::Green,
    AnsiColor::Yellow,
    AnsiColor::Blue,
    AnsiColor::Magenta,
    AnsiColor::Cyan,
    AnsiColor::BrightWhite,
];

/// Colours by key (a client address), as zktraffic's `-c` does: each new key takes the next
/// colour of the palette, so the first seven clients all differ (hashing the key made two of
/// three clients share a colour), and a key keeps its colour for the whole run.
#[derive(Debug, Default)]
pub struct Palette {
    assigned: std::collections::HashMap<u64, usize>,
}

impl Palette {
    /// The colour of `key`.
    pub fn color_for(&mut self, key: impl Hash) -> Style {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        let next = self.assigned.len() % PALETTE.len();
        let index = *self.assigned.entry(h.finish()).or_insert(next);
        Style::new().fg_color(Some(PALETTE[index].into()))
    }
}

/// Formats capture times as zktraffic does (`HH:MM:SS:ffffff`, local time), caching the UTC
/// offset per hour so a busy capture does not look up the time zone for every line.
#[derive(Debug, Default)]
pub struct Clock {
    utc: bool,
    cached: Option<(i64, i32)>,
    /// The last second formatted and its `HH:MM:SS:` (a busy capture prints many lines a
    /// second: only their microseconds differ).
    second: Option<(i64, [u8; 9])>,
}

impl Clock {
    /// A clock printing local time, or UTC when `utc` is set.
    pub fn new(utc: bool) -> Clock {
        Clock {
            utc,
            cached: None,
            second: None,
        }
    }

    /// `YYYY-MM-DD HH:MM:SS` and the zone (`UTC`, or the local offset), for headings.
    pub fn format_date(&self, ts: Timestamp) -> String {
        let Some(utc) = chrono::DateTime::from_timestamp(ts.secs(), 0) else {
            return ts.secs().to_string();
        };
        if self.utc {
            utc.format("%Y-%m-%d %H:%M:%S UTC").to_string()
        } else {
            utc.with_timezone(&Local)
                .format("%Y-%m-%d %H:%M:%S %:z")
                .to_string()
        }
    }

    /// `HH:MM:SS:ffffff`.
    pub fn format(&mut self, ts: Timestamp) -> String {
        let mut out = Vec::with_capacity(15);
        self.format_into(ts, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// `HH:MM:SS:ffffff`, appended to `out` (digits written directly: this runs per line).
    pub fn format_into(&mut self, ts: Timestamp, out: &mut Vec<u8>) {
        let secs = ts.secs();
        let prefix = match self.second {
            Some((s, prefix)) if s == secs => prefix,
            _ => {
                let prefix = self.time_of_day(secs);
                self.second = Some((secs, prefix));
                prefix
            }
        };
        let mut text = [0u8; 15];
        text[..9].copy_from_slice(&prefix);
        let mut micros = ts.subsec_nanos() / 1000;
        for d in text[9..].iter_mut().rev() {
            *d = b'0' + (micros % 10) as u8;
            micros /= 10;
        }
        out.extend_from_slice(&text);
    }

    /// `HH:MM:SS:` of the second `secs` since the epoch, in this clock's zone.
    fn time_of_day(&mut self, secs: i64) -> [u8; 9] {
        let offset = if self.utc {
            0
        } else {
            let hour = secs.div_euclid(3600);
            match self.cached {
                Some((h, off)) if h == hour => off,
                _ => {
                    let off = Utc
                        .timestamp_opt(secs, 0)
                        .single()
                        .map(|utc| {
                            Local
                                .offset_from_utc_datetime(&utc.naive_utc())
                                .fix()
                                .local_minus_utc()
                        })
                        .unwrap_or(0);
                    self.cached = Some((hour, off));
                    off
                }
            }
        };
        let local = secs + offset as i64;
        let day = local.rem_euclid(86_400);
        let day = day as u64; // rem_euclid: 0 ≤ day < 86,400
        let mut text = [b':'; 9];
        for (at, v) in [(0, day / 3600), (3, (day / 60) % 60), (6, day % 60)] {
            text[at] = b'0' + (v / 10) as u8;
            text[at + 1] = b'0' + (v % 10) as u8;
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A clock kept from line to line (its second cached) writes what a new one writes.
        #[test]
        fn a_kept_clock_formats_as_a_new_one(
            times in proptest::collection::vec(-4_000_000_000_000i64..4_000_000_000_000, 1..40),
            utc: bool,
        ) {
            let mut kept = Clock::new(utc);
            let mut last = 0;
            for (i, t) in times.iter().enumerate() {
                // After a time anywhere: one up to 3 ms later (mostly the same second), then
                // one up to 3 s later (mostly the next seconds).
                last = match i % 3 {
                    0 => *t,
                    1 => last + t.rem_euclid(3_000_000),
                    _ => last + t.rem_euclid(3_000_000_000),
                };
                let ts = Timestamp(last);
                proptest::prop_assert_eq!(kept.format(ts), Clock::new(utc).format(ts));
            }
        }
    }

    #[test]
    fn utc_clock_matches_zktraffic_format() {
        let mut c = Clock::new(true);
        let ts = Timestamp(((21 * 3600 + 8 * 60 + 7) as i64) * 1_000_000_000 + 432_361_000);
        assert_eq!(c.format(ts), "21:08:07:432361");
        assert_eq!(c.format_date(ts), "1970-01-01 21:08:07 UTC");
    }

    #[test]
    fn colours_are_stable_per_key_and_distinct_for_the_first_clients() {
        let mut p = Palette::default();
        let clients = ["127.0.0.1:5000", "127.0.0.1:5001", "127.0.0.1:5002"];
        let first: Vec<_> = clients.iter().map(|c| p.color_for(c)).collect();
        assert_eq!(clients.map(|c| p.color_for(c)).to_vec(), first);
        assert!(first[0] != first[1] && first[1] != first[2] && first[0] != first[2]);
    }
}

/// Output format shared by the tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// zktraffic-style lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Writes lines — typed [`Line`]s rendered as JSON or zktraffic-style text, and tables —
/// honouring `--limit` and remembering the first write error (a closed pipe stops the run
/// quietly).
pub struct Printer<W: std::io::Write> {
    out: W,
    format: Format,
    clock: Clock,
    color: bool,
    palette: Palette,
    limit: Option<u64>,
    /// Lines printed.
    pub printed: u64,
    /// The first error writing output.
    pub write_error: Option<std::io::Error>,
}

impl<W: std::io::Write> Printer<W> {
    /// A printer to `out`.
    pub fn new(out: W, format: Format, utc: bool, color: bool, limit: Option<u64>) -> Printer<W> {
        Printer {
            out,
            format,
            clock: Clock::new(utc),
            color,
            palette: Palette::default(),
            limit,
            printed: 0,
            write_error: None,
        }
    }

    /// The output format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Whether `--limit` lines were printed.
    pub fn limit_reached(&self) -> bool {
        self.limit.is_some_and(|l| self.printed >= l)
    }

    /// Whether nothing more will be printed (limit reached or output closed).
    pub fn done(&self) -> bool {
        self.write_error.is_some() || self.limit_reached()
    }

    /// Renders a typed line without colour: JSON as is; text as
    /// `HH:MM:SS:ffffff [arrow ]Kind(k=v, …, trailer)` (see [`Line::write_text`]), appended to
    /// `out`.
    #[allow(clippy::too_many_arguments)] // the parts of one line; a struct would only rename them
    #[inline] // into each printer, whose constant keys then compare without a call
    pub fn render_into(
        &mut self,
        out: &mut Vec<u8>,
        line: &Line,
        ts: Timestamp,
        kind_key: &str,
        skip: impl Fn(&[u8], &[u8], bool) -> bool,
        trailer: &[u8],
        indent: usize,
    ) {
        match self.format {
            Format::Json => line.write_json(out),
            Format::Text => {
                self.clock.format_into(ts, out);
                line.write_text(out, kind_key, skip, trailer, indent);
            }
        }
    }

    /// Colours `out[start..]` by `color_key` when colour is on (text only).
    #[inline] // a flag test, for every line: the colouring itself is rare
    pub fn paint_from(&mut self, out: &mut Vec<u8>, start: usize, color_key: impl Hash) {
        if self.color && self.format == Format::Text {
            let style = self.palette.color_for(color_key);
            let prefix = style.render().to_string();
            out.splice(start..start, prefix.bytes());
            let _ = write!(out, "{}", style.render_reset());
        }
    }

    /// Prints one rendered line (without its newline), unless the limit is reached or output
    /// failed.
    pub fn print_bytes(&mut self, line: &[u8]) {
        if self.done() {
            return;
        }
        self.printed += 1;
        let written = self
            .out
            .write_all(line)
            .and_then(|()| self.out.write_all(b"\n"));
        if let Err(e) = written {
            self.write_error = Some(e);
        }
    }

    /// Prints one line, unless the limit is reached or output failed.
    pub fn print(&mut self, line: &str) {
        // One packet can carry several messages: the limit is checked per line.
        if self.done() {
            return;
        }
        self.printed += 1;
        if let Err(e) = writeln!(self.out, "{line}") {
            self.write_error = Some(e);
        }
    }

    /// Writes `text` as it is (a terminal control sequence): no newline, not a counted line.
    pub fn print_raw(&mut self, text: &str) {
        if let Err(e) = write!(self.out, "{text}") {
            self.write_error.get_or_insert(e);
        }
    }

    /// The output written so far (for tests writing into a buffer).
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The clock that formats this printer's times.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The clock, to format times elsewhere (it caches the zone offset).
    pub fn clock_mut(&mut self) -> &mut Clock {
        &mut self.clock
    }

    /// Flushes output.
    pub fn flush(&mut self) {
        if let Err(e) = self.out.flush() {
            self.write_error.get_or_insert(e);
        }
    }
}

/// Output options every tool shares.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Stop after printing this many messages.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,

    /// Colour each line by peer (as zktraffic's -c; on a terminal unless --color=always).
    #[arg(short = 'c', long)]
    pub colors: bool,

    /// When to use colour.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,

    /// Print times in UTC instead of local time.
    #[arg(long)]
    pub utc: bool,
}

impl OutputArgs {
    /// Whether lines are coloured: text output only, `--color always`, or `-c` on a terminal.
    pub fn color_enabled(&self) -> bool {
        self.format == Format::Text
            && match self.color {
                ColorWhen::Always => true,
                ColorWhen::Never => false,
                ColorWhen::Auto => self.colors && ColorWhen::Auto.enabled(),
            }
    }

    /// A printer to standard output: line-buffered when live or on a terminal (so lines appear
    /// as they happen), block-buffered otherwise.
    pub fn printer(&self, live: bool) -> Printer<Box<dyn std::io::Write>> {
        self.printer_with_limit(live, self.limit)
    }

    /// As [`OutputArgs::printer`], with another line limit (summaries print whole).
    pub fn printer_with_limit(
        &self,
        live: bool,
        limit: Option<u64>,
    ) -> Printer<Box<dyn std::io::Write>> {
        let stdout = std::io::stdout();
        let out: Box<dyn std::io::Write> = if live || stdout.is_terminal() {
            Box::new(std::io::LineWriter::new(stdout.lock()))
        } else {
            Box::new(std::io::BufWriter::with_capacity(1 << 16, stdout.lock()))
        };
        Printer::new(out, self.format, self.utc, self.color_enabled(), limit)
    }
}
