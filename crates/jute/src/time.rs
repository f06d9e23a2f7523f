//! Packet timestamps: nanoseconds since the Unix epoch, as recorded by the capture.
//!
//! Every timeout in the pipeline runs on these capture timestamps, never on the wall clock, so
//! replaying a file gives the same result on any machine at any speed.

use std::fmt;

/// A capture timestamp in nanoseconds since the Unix epoch (may be negative for odd files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Builds a timestamp from whole seconds and a sub-second count in `units_per_sec` units.
    pub fn from_parts(secs: i64, frac: u64, units_per_sec: u64) -> Self {
        // Every packet's time comes through here. The two resolutions of nearly every capture
        // divide a second exactly, so their fractions scale by a multiplication; other
        // resolutions take a 128-bit division.
        let nanos = match units_per_sec {
            1_000_000 => frac as i128 * 1000,
            1_000_000_000 => frac as i128,
            units => (frac as i128).saturating_mul(1_000_000_000) / units.max(1) as i128,
        };
        let total = (secs as i128) * 1_000_000_000 + nanos;
        Timestamp(total.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
    }

    /// Builds a timestamp from a raw tick count at `units_per_sec` ticks per second, plus an
    /// offset in whole seconds (pcapng's `if_tsoffset`).
    pub fn from_ticks(ticks: u64, units_per_sec: u64, offset_secs: i64) -> Self {
        // Division by a constant is a multiplication: the common resolutions (every packet of
        // a pcapng file comes through here) avoid two hardware divisions.
        let (secs, frac) = match units_per_sec {
            1_000_000 => (ticks / 1_000_000, ticks % 1_000_000),
            1_000_000_000 => (ticks / 1_000_000_000, ticks % 1_000_000_000),
            units => {
                let units = units.max(1);
                (ticks / units, ticks % units)
            }
        };
        Self::from_parts(
            (secs as i64).saturating_add(offset_secs),
            frac,
            units_per_sec.max(1),
        )
    }

    /// Seconds since the epoch as a float (for JSON output).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Whole seconds since the epoch.
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    /// Nanoseconds within the second.
    pub fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(1_000_000_000) as u32
    }

    /// The time from `earlier` to `self` in nanoseconds (saturating, may be negative).
    pub fn nanos_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// This timestamp moved forward by `nanos`.
    pub fn plus_nanos(self, nanos: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(nanos))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.secs(), self.subsec_nanos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The formula the fast paths must agree with: a 128-bit division for every resolution.
    fn from_ticks_by_division(ticks: u64, units: u64, offset: i64) -> Timestamp {
        let units = units.max(1);
        let secs = ((ticks / units) as i64).saturating_add(offset);
        let nanos = ((ticks % units) as i128).saturating_mul(1_000_000_000) / units as i128;
        let total = secs as i128 * 1_000_000_000 + nanos;
        Timestamp(total.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
    }

    proptest::proptest! {
        #[test]
        fn common_resolutions_agree_with_the_division(
            ticks: u64,
            offset in proptest::prop_oneof![proptest::strategy::Just(0i64), proptest::num::i64::ANY],
            units in proptest::sample::select(vec![0u64, 1, 1024, 1_000_000, 1_000_000_000, 7]),
        ) {
            proptest::prop_assert_eq!(
                Timestamp::from_ticks(ticks, units, offset),
                from_ticks_by_division(ticks, units, offset)
            );
            let frac = ticks % units.max(1);
            proptest::prop_assert_eq!(
                Timestamp::from_parts(offset, frac, units),
                from_ticks_by_division(frac, units, offset)
            );
        }
    }

    #[test]
    fn micro_and_nano_resolutions_agree() {
        let micro = Timestamp::from_parts(1_700_000_000, 123_456, 1_000_000);
        let nano = Timestamp::from_parts(1_700_000_000, 123_456_000, 1_000_000_000);
        assert_eq!(micro, nano);
        assert_eq!(micro.subsec_nanos(), 123_456_000);
        assert_eq!(micro.secs(), 1_700_000_000);
    }

    #[test]
    fn ticks_with_offset_and_odd_resolution() {
        // 2^-10 second resolution (pcapng if_tsresol = 0x8a).
        let ts = Timestamp::from_ticks(1024 * 5 + 512, 1024, 100);
        assert_eq!(ts.secs(), 105);
        assert_eq!(ts.subsec_nanos(), 500_000_000);
    }

    #[test]
    fn negative_timestamps_split_correctly() {
        let ts = Timestamp(-1);
        assert_eq!(ts.secs(), -1);
        assert_eq!(ts.subsec_nanos(), 999_999_999);
        assert_eq!(ts.to_string(), "-1.999999999");
    }

    #[test]
    fn huge_values_saturate_instead_of_overflowing() {
        let ts = Timestamp::from_ticks(u64::MAX, 1, i64::MAX);
        assert_eq!(ts, Timestamp(i64::MAX));
    }
}
