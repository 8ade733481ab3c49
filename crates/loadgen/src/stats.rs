//! Latency percentiles, medians of repeated runs, and loss counting.

use serde::{Deserialize, Serialize};

/// Latencies in microseconds, summarised.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Latency {
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

/// The `q`-quantile (0..=1) of `sorted` by the nearest-rank method: the smallest value
/// with at least `q` of the samples at or below it. `None` for no samples.
pub(crate) fn quantile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "q is in 0..=1, so the rank is a whole number from 1 to len"
    )]
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

/// p50, p99 and max of `samples` (sorted here).
pub(crate) fn latency(mut samples: Vec<u64>) -> Latency {
    samples.sort_unstable();
    Latency {
        p50_us: quantile(&samples, 0.50).unwrap_or(0),
        p99_us: quantile(&samples, 0.99).unwrap_or(0),
        max_us: samples.last().copied().unwrap_or(0),
    }
}

/// The median of repeated measurements, and their spread (min and max).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub(crate) struct Repeated {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

pub(crate) fn repeated(values: &[f64]) -> Repeated {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n == 0 {
        0.0
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Repeated {
        median,
        min: sorted.first().copied().unwrap_or(0.0),
        max: sorted.last().copied().unwrap_or(0.0),
    }
}

/// Deliveries that did not arrive: every receiver should get every message sent.
pub(crate) fn lost(sent: u64, receivers: u64, delivered: u64) -> u64 {
    (sent * receivers).saturating_sub(delivered)
}

/// A duration in whole microseconds. A `u64` of them lasts 584,000 years, so the
/// saturation never happens; it only spares us a truncating `as`.
pub(crate) fn micros(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&samples, 0.5), Some(50));
        assert_eq!(quantile(&samples, 0.99), Some(99));
        assert_eq!(quantile(&samples, 1.0), Some(100));
        assert_eq!(quantile(&samples, 0.0), Some(1));
        assert_eq!(quantile(&[7], 0.99), Some(7));
        assert_eq!(quantile(&[], 0.5), None);
        // Ten samples: p99 is the largest, p50 the fifth.
        let ten: Vec<u64> = (1..=10).collect();
        assert_eq!((quantile(&ten, 0.5), quantile(&ten, 0.99)), (Some(5), Some(10)));
    }

    #[test]
    fn latency_sorts_first() {
        let summary = latency(vec![30, 10, 20, 1000]);
        assert_eq!(summary, Latency { p50_us: 20, p99_us: 1000, max_us: 1000 });
        assert_eq!(latency(Vec::new()), Latency::default());
    }

    #[test]
    fn medians_and_spread() {
        assert_eq!(repeated(&[3.0, 1.0, 2.0]), Repeated { median: 2.0, min: 1.0, max: 3.0 });
        assert_eq!(repeated(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
    }

    #[test]
    fn loss_counts_every_receiver() {
        assert_eq!(lost(100, 3, 300), 0);
        assert_eq!(lost(100, 3, 297), 3);
        // More than expected (a duplicate) is not negative loss.
        assert_eq!(lost(1, 1, 2), 0);
    }
}
