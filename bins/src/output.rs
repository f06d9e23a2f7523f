//! How the tools print: colour only when asked or on a terminal, zktraffic's clock format, and
//! a per-client colour so interleaved conversations stay readable.

use anstyle::{AnsiColor, Style};
use chrono::{Local, Offset, TimeZone, Utc};
use clap::ValueEnum;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::IsTerminal;
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

/// A stable colour for a key (a client address), as zktraffic's `-c` does.
pub fn color_for(key: impl Hash) -> Style {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    Style::new().fg_color(Some(
        PALETTE[(h.finish() % PALETTE.len() as u64) as usize].into(),
    ))
}

/// Formats capture times as zktraffic does (`HH:MM:SS:ffffff`, local time), caching the UTC
/// offset per hour so a busy capture does not look up the time zone for every line.
#[derive(Debug, Default)]
pub struct Clock {
    utc: bool,
    cached: Option<(i64, i32)>,
}

impl Clock {
    /// A clock printing local time, or UTC when `utc` is set.
    pub fn new(utc: bool) -> Clock {
        Clock { utc, cached: None }
    }

    /// `HH:MM:SS:ffffff`.
    pub fn format(&mut self, ts: Timestamp) -> String {
        let secs = ts.secs();
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
        format!(
            "{:02}:{:02}:{:02}:{:06}",
            day / 3600,
            (day / 60) % 60,
            day % 60,
            ts.subsec_nanos() / 1000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_clock_matches_zktraffic_format() {
        let mut c = Clock::new(true);
        let ts = Timestamp(((21 * 3600 + 8 * 60 + 7) as i64) * 1_000_000_000 + 432_361_000);
        assert_eq!(c.format(ts), "21:08:07:432361");
    }

    #[test]
    fn colours_are_stable_per_key() {
        assert_eq!(color_for("127.0.0.1:5000"), color_for("127.0.0.1:5000"));
    }
}
