//! Latency samples of one group of a table (`--measure-latency`, `--trace-writes`), kept small:
//! an HDR histogram over 1 µs–1 h at three significant digits costs about 190 KB, so one per
//! group made a capture of `load_gen` (every create a new path, grouped by path) take 780 MB
//! and 8× the time. A group keeps its first [`FEW`] samples as they are and becomes a histogram
//! only past that; its figures are always read through a histogram of the same kind (a scratch
//! one for the few), so they are the same numbers to the last digit.

use hdrhistogram::Histogram;

/// Samples a group keeps as plain values before it turns into a histogram (4 KiB).
const FEW: usize = 512;

/// A new histogram of the range and precision zk-dump's latency tables use.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Makes the empty histogram a group turns into.
pub(crate) type NewHistogram = fn() -> Histogram<u64>;

/// One group's latencies, in microseconds.
#[derive(Debug, Clone)]
pub(crate) enum Samples {
    /// Fewer than [`FEW`] samples, as recorded.
    Few(Vec<u64>),
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

impl Default for Samples {
    fn default() -> Self {
        Samples::Few(Vec::new())
    }
}

impl Samples {
    /// Records one latency; past [`FEW`] samples the group turns into a `new()` histogram.
    pub(crate) fn record(&mut self, us: u64, new: NewHistogram) {
        match self {
            Samples::Few(values) => {
                values.push(us);
                if values.len() >= FEW {
                    let mut h = new();
                    for v in values.drain(..) {
                        let _ = h.record(v);
                    }
                    *self = Samples::Many(Box::new(h));
                }
            }
            Samples::Many(h) => {
                let _ = h.record(us);
            }
        }
    }

    /// Adds the samples of `other` (the same group in another shard).
    pub(crate) fn merge(&mut self, other: Samples, new: NewHistogram) {
        match other {
            Samples::Few(values) => values.into_iter().for_each(|v| self.record(v, new)),
            Samples::Many(theirs) => match self {
                Samples::Many(mine) => {
                    // Same bounds and precision on both sides: adding cannot fail.
                    let _ = mine.add(&*theirs);
                }
                Samples::Few(values) => {
                    let mut h = theirs;
                    for v in values.drain(..) {
                        let _ = h.record(v);
                    }
                    *self = Samples::Many(h);
                }
            },
        }
    }

    /// Samples recorded.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Samples::Few(values) => values.len() as u64,
            Samples::Many(h) => h.len(),
        }
    }

    /// The group's figures, read through a histogram: `scratch` (of the kind `record` was
    /// given; emptied here) for a group of few samples.
    pub(crate) fn figures(&self, scratch: &mut Histogram<u64>) -> Figures {
        let h: &Histogram<u64> = match self {
            Samples::Many(h) => h,
            Samples::Few(values) => {
                scratch.reset();
                for &v in values {
                    let _ = scratch.record(v);
                }
                scratch
            }
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Few or many, merged or not: the figures are a histogram's own.
    #[test]
    fn figures_are_the_histograms_whatever_the_form() {
        let mut scratch = histogram();
        for n in [1usize, 7, FEW - 1, FEW, FEW + 1, 3 * FEW] {
            let values: Vec<u64> = (0..n as u64).map(|i| 1 + (i * 7919) % 250_000).collect();
            let mut reference = histogram();
            let mut samples = Samples::default();
            for &v in &values {
                let _ = reference.record(v);
                samples.record(v, histogram);
            }
            assert_eq!(matches!(samples, Samples::Many(_)), n >= FEW, "{n}");
            let expected = Figures {
                count: reference.len(),
                mean: reference.mean(),
                p50: reference.value_at_quantile(0.5),
                p95: reference.value_at_quantile(0.95),
                p99: reference.value_at_quantile(0.99),
                max: reference.max(),
            };
            assert_eq!(samples.figures(&mut scratch), expected, "{n}");
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
                assert_eq!(ab.figures(&mut scratch), expected, "{n} cut {cut}");
                assert_eq!(right.figures(&mut scratch), expected, "{n} cut {cut}");
            }
        }
    }
}
