//! Latency samples of one group of a table (`--measure-latency`, `--trace-writes`), kept small.
//!
//! An HDR histogram over 1 µs–1 h at three significant digits costs about 190 KB, so one per
//! group made a capture of `load_gen` (every create a new path, grouped by path) take 780 MB.
//! A group therefore keeps only its occupied buckets: the lowest value of each bucket the
//! histogram would count a sample in, with how many samples fell in it, 8 bytes a bucket. A
//! group's memory is then bounded by the spread of its latencies, not by how many there were
//! (keeping the first samples as they were, as an earlier version did, grew with every sample
//! and turned each group into a whole histogram past 512: 805 MB on ten copies of `loadgen`).
//! Only a group with more than [`MAX_BUCKETS`] occupied buckets becomes a whole histogram.
//!
//! A histogram's figures depend only on its bucket counts, so the sparse form computes them
//! from its buckets with the histogram's own arithmetic (its quantile walk, its mean's sum in
//! the same order): the same numbers to the last digit, without filling and scanning 190 KB
//! per group (that took half of `--measure-latency`'s time on `loadgen`'s 4,000 paths).

use hdrhistogram::Histogram;
use std::sync::OnceLock;

/// Occupied buckets a group keeps before it turns into a whole histogram (64 KiB).
const MAX_BUCKETS: usize = 8192;

/// A new histogram of the range and precision zk-dump's latency tables use.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Makes the empty histogram a group turns into. Every kind used has a lowest discernible
/// value of 1 and three significant digits, so its buckets are [`bucket_of`]'s.
pub(crate) type NewHistogram = fn() -> Histogram<u64>;

/// A histogram of 1 as lowest value and three significant digits, of the smallest range: its
/// bucket arithmetic (which value goes in which bucket, a bucket's bounds) is that of every
/// such histogram, whatever its range.
fn scale() -> &'static Histogram<u64> {
    static SCALE: OnceLock<Histogram<u64>> = OnceLock::new();
    SCALE.get_or_init(|| Histogram::new_with_bounds(1, 2, 3).expect("valid histogram bounds"))
}

/// The lowest value of the bucket such a histogram counts `us` in.
fn bucket_of(us: u64) -> u64 {
    scale().lowest_equivalent(us)
}

/// The largest value the sparse form keeps: every histogram kind used holds it (the latency
/// tables' reach 1 h), so a bucket kept sparse is one the histogram would have counted.
const SPARSE_MAX: u64 = 3_600_000_000;

/// One occupied bucket: its lowest value and how many samples it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bucket {
    low: u32,
    n: u32,
}

/// One group's latencies, in microseconds.
#[derive(Debug, Clone)]
pub(crate) enum Samples {
    /// The occupied buckets, by value, and the number of samples in all of them.
    Sparse { buckets: Vec<Bucket>, total: u64 },
    /// A histogram of them.
    Many(Box<Histogram<u64>>),
}

/// What the latency tables show of a group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Figures {
    pub(crate) count: u64,
    pub(crate) mean: f64,
    pub(crate) p50: u64,
    pub(crate) p95: u64,
    pub(crate) p99: u64,
    pub(crate) max: u64,
}

impl Figures {
    /// A histogram's own figures.
    fn of(h: &Histogram<u64>) -> Figures {
        Figures {
            count: h.len(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.5),
            p95: h.value_at_quantile(0.95),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        }
    }
}

impl Default for Samples {
    fn default() -> Self {
        Samples::Sparse {
            buckets: Vec::new(),
            total: 0,
        }
    }
}

impl Samples {
    /// Records one latency.
    pub(crate) fn record(&mut self, us: u64, new: NewHistogram) {
        self.record_n(us, 1, new);
    }

    /// Records `n` samples of `us` (or of its bucket: the same to a histogram). A group turns
    /// into a `new()` histogram when it would hold too many buckets, or a bucket or count it
    /// cannot (over an hour, over 4 billion samples).
    fn record_n(&mut self, us: u64, n: u64, new: NewHistogram) {
        let (buckets, total) = match self {
            Samples::Many(h) => {
                let _ = h.record_n(us, n);
                return;
            }
            Samples::Sparse { buckets, total } => (buckets, total),
        };
        let low = bucket_of(us);
        let fits = |low: u64, n: u64| low <= SPARSE_MAX && u32::try_from(n).is_ok();
        match buckets.binary_search_by_key(&low, |b| u64::from(b.low)) {
            Ok(at) if fits(low, u64::from(buckets[at].n) + n) => {
                buckets[at].n += n as u32;
                *total += n;
                return;
            }
            Err(at) if fits(low, n) && buckets.len() < MAX_BUCKETS => {
                buckets.insert(
                    at,
                    Bucket {
                        low: low as u32,
                        n: n as u32,
                    },
                );
                *total += n;
                return;
            }
            _ => {}
        }
        let mut h = new();
        for b in buckets.iter() {
            let _ = h.record_n(u64::from(b.low), u64::from(b.n));
        }
        let _ = h.record_n(us, n);
        *self = Samples::Many(Box::new(h));
    }

    /// Adds the samples of `other` (the same group in another shard).
    pub(crate) fn merge(&mut self, other: Samples, new: NewHistogram) {
        match other {
            Samples::Sparse { buckets, .. } => buckets
                .iter()
                .for_each(|b| self.record_n(u64::from(b.low), u64::from(b.n), new)),
            Samples::Many(mut theirs) => match self {
                Samples::Many(mine) => {
                    // Same bounds and precision on both sides: adding cannot fail.
                    let _ = mine.add(&*theirs);
                }
                Samples::Sparse { buckets, .. } => {
                    for b in buckets.iter() {
                        let _ = theirs.record_n(u64::from(b.low), u64::from(b.n));
                    }
                    *self = Samples::Many(theirs);
                }
            },
        }
    }

    /// Samples recorded.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Samples::Sparse { total, .. } => *total,
            Samples::Many(h) => h.len(),
        }
    }

    /// The group's figures, as its histogram gives them.
    pub(crate) fn figures(&self) -> Figures {
        match self {
            Samples::Many(h) => Figures::of(h),
            Samples::Sparse { buckets, total } => sparse_figures(buckets, *total),
        }
    }
}

/// The figures a histogram holding these bucket counts gives, computed as hdrhistogram
/// computes them: the mean sums each bucket's middle value times its share in value order;
/// a quantile is the highest value of the first bucket whose running count reaches it; the
/// maximum the highest value of the last bucket.
fn sparse_figures(buckets: &[Bucket], total: u64) -> Figures {
    let scale = scale();
    let mut mean = 0.0_f64;
    if total > 0 {
        for b in buckets {
            let middle = scale.median_equivalent(u64::from(b.low));
            mean += middle as f64 * u64::from(b.n) as f64 / total as f64;
        }
    }
    let quantile = |q: f64| -> u64 {
        let target = ((q * total as f64).ceil() as u64).max(1);
        let mut running = 0u64;
        for b in buckets {
            running += u64::from(b.n);
            if running >= target {
                return scale.highest_equivalent(u64::from(b.low));
            }
        }
        0
    };
    Figures {
        count: total,
        mean,
        p50: quantile(0.5),
        p95: quantile(0.95),
        p99: quantile(0.99),
        max: buckets
            .last()
            .map_or(0, |b| scale.highest_equivalent(u64::from(b.low))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_figures(values: &[u64], new: NewHistogram) -> Figures {
        let mut reference = new();
        for &v in values {
            let _ = reference.record(v);
        }
        Figures::of(&reference)
    }

    fn growing() -> Histogram<u64> {
        Histogram::new(3).expect("valid")
    }

    /// Sparse or whole, merged or not: the figures are a histogram's own.
    #[test]
    fn figures_are_the_histograms_whatever_the_form() {
        let mut saw_whole = false;
        // Scattered over 1 µs–0.25 s, and every value of 1 µs–0.3 s (9,364 buckets, past
        // MAX_BUCKETS).
        let scattered = |n: u64| {
            (0..n)
                .map(|i| 1 + (i * 7919) % 250_000)
                .collect::<Vec<u64>>()
        };
        let sets = [1, 7, 511, 512, 513, 3_000, 30_000]
            .map(scattered)
            .into_iter()
            .chain([(1..=300_000).collect()]);
        for values in sets {
            let n = values.len();
            let expected = reference_figures(&values, histogram);
            let mut samples = Samples::default();
            values.iter().for_each(|&v| samples.record(v, histogram));
            let buckets: std::collections::HashSet<u64> =
                values.iter().map(|&v| bucket_of(v)).collect();
            assert_eq!(
                matches!(samples, Samples::Many(_)),
                buckets.len() > MAX_BUCKETS,
                "{n}"
            );
            saw_whole |= matches!(samples, Samples::Many(_));
            assert_eq!(samples.len(), n as u64);
            assert_eq!(samples.figures(), expected, "{n}");
            // Split in two shards, merged either way round.
            for cut in [0, n / 3, n] {
                let (a, b) = values.split_at(cut);
                let mut left = Samples::default();
                a.iter().for_each(|&v| left.record(v, histogram));
                let mut right = Samples::default();
                b.iter().for_each(|&v| right.record(v, histogram));
                let mut ab = left.clone();
                ab.merge(right.clone(), histogram);
                right.merge(left, histogram);
                assert_eq!(ab.figures(), expected, "{n} cut {cut}");
                assert_eq!(right.figures(), expected, "{n} cut {cut}");
            }
        }
        assert!(saw_whole, "no case went past MAX_BUCKETS");
    }

    /// Figures from the buckets equal the histogram's own, to the last bit of the mean, over
    /// many shapes: narrow and wide, with zeros, repeated values, and values near the reach.
    #[test]
    fn sparse_figures_are_the_histograms_to_the_bit() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for case in 0..300 {
            let len = (next() % 2_000) as usize;
            let spread = [10, 2_000, 1_000_000, 90_000_000, SPARSE_MAX][case % 5];
            let base = [0, 1, 1_000, 3_000_000][case % 4];
            let values: Vec<u64> = (0..len)
                .map(|_| (base + next() % spread).min(SPARSE_MAX))
                .chain((0..case % 3).map(|_| base)) // a repeated value
                .collect();
            for new in [histogram as NewHistogram, growing] {
                let mut samples = Samples::default();
                values.iter().for_each(|&v| samples.record(v, new));
                assert!(matches!(samples, Samples::Sparse { .. }), "{case}");
                assert_eq!(
                    samples.figures(),
                    reference_figures(&values, new),
                    "case {case}"
                );
            }
        }
        assert_eq!(
            Samples::default().figures(),
            reference_figures(&[], histogram)
        );
        let reach = scale().highest_equivalent(SPARSE_MAX);
        assert!(
            histogram().record(reach).is_ok(),
            "the tables' histogram holds {reach}"
        );
    }

    /// The buckets kept are those of every histogram kind the tables use.
    #[test]
    fn buckets_are_those_of_every_histogram_kind() {
        for new in [histogram as NewHistogram, growing] {
            let h = new();
            let mut v = 0u64;
            while v < 4_000_000_000 {
                assert_eq!(bucket_of(v), h.lowest_equivalent(v), "{v}");
                assert_eq!(bucket_of(v + 1), h.lowest_equivalent(v + 1), "{v}");
                v = v * 3 / 2 + 7;
            }
        }
    }

    /// A group's memory follows the spread of its latencies, not their number: a million
    /// samples between 1 and 2 ms occupy the 1,000 buckets of that range and stay sparse.
    #[test]
    fn many_samples_over_a_narrow_spread_stay_small() {
        let mut samples = Samples::default();
        for i in 0..1_000_000u64 {
            samples.record(1_000 + (i * 7919) % 1_000, histogram);
        }
        let Samples::Sparse { buckets, total } = &samples else {
            panic!("turned into a whole histogram");
        };
        assert_eq!(*total, 1_000_000);
        assert!(buckets.len() <= 1_000, "{}", buckets.len());
    }

    /// Values past what a bucket of the sparse form holds go to a whole histogram, which keeps
    /// or drops them as its range says (the growing one keeps them).
    #[test]
    fn values_beyond_the_sparse_form_go_to_a_histogram() {
        let values = [5, 70, 9_000_000_000, 12];
        let mut samples = Samples::default();
        values.iter().for_each(|&v| samples.record(v, growing));
        assert!(matches!(samples, Samples::Many(_)));
        assert_eq!(samples.figures(), reference_figures(&values, growing));
        let mut bounded = Samples::default();
        values.iter().for_each(|&v| bounded.record(v, histogram));
        assert_eq!(bounded.figures(), reference_figures(&values, histogram));
    }
}
