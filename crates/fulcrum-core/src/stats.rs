//! Summary statistics with an explicit averaging convention, so every number
//! in a report says how it was computed (METRICS.md, Conventions).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// How the central value and percentiles of a distribution are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Average {
    /// Linear interpolation between closest ranks (R type 7, numpy's
    /// default): the median of 1, 2 is 1.5. fulcrum's default.
    #[default]
    Interpolated,
    /// The lower of the two middle values, as Apache DevLake reports:
    /// `sorted[(n - 1) / 2]`; percentiles take the nearest lower rank.
    LowerMedian,
    /// The arithmetic mean in place of the median, as Middleware reports;
    /// percentiles are interpolated.
    Mean,
}

impl fmt::Display for Average {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Average::Interpolated => "interpolated",
            Average::LowerMedian => "lower-median",
            Average::Mean => "mean",
        })
    }
}

impl FromStr for Average {
    type Err = UnknownAverage;

    /// Accepts `interpolated`, `lower-median` (or `lower_median`) and `mean`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "interpolated" => Ok(Average::Interpolated),
            "lower-median" | "lower_median" => Ok(Average::LowerMedian),
            "mean" => Ok(Average::Mean),
            _ => Err(UnknownAverage(s.to_string())),
        }
    }
}

/// An averaging convention name that [`Average::from_str`] does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAverage(pub String);

impl fmt::Display for UnknownAverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown average `{}`: expected interpolated, lower-median or mean", self.0)
    }
}

impl std::error::Error for UnknownAverage {}

/// The summary of a distribution that every duration metric reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// How many values it was computed from (never 0).
    pub count: usize,
    /// The median under `convention`; the arithmetic mean when the
    /// convention is [`Average::Mean`].
    pub median: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 90th percentile.
    pub p90: f64,
    /// The convention that produced these numbers.
    pub convention: Average,
}

/// Summarizes `values` (in any order) under `convention`; `None` when there
/// are none, because an empty distribution has no median (not 0). Values are
/// expected finite; a NaN would sort last.
pub fn summarize(values: &[f64], convention: Average) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    // Values equal under `total_cmp` are the same bits: an unstable sort
    // gives the same order, without a stable sort's buffer.
    sorted.sort_unstable_by(f64::total_cmp);
    let percentile = |percent| match convention {
        Average::LowerMedian => lower_rank(&sorted, percent),
        Average::Interpolated | Average::Mean => interpolated(&sorted, percent),
    };
    let median = match convention {
        Average::Mean => sorted.iter().sum::<f64>() / sorted.len() as f64,
        _ => percentile(50),
    };
    Some(Summary { count: sorted.len(), median, p75: percentile(75), p90: percentile(90), convention })
}

/// The median of `values` under `convention` (the mean for
/// [`Average::Mean`]); `None` when empty.
pub fn median(values: &[f64], convention: Average) -> Option<f64> {
    summarize(values, convention).map(|summary| summary.median)
}

/// The 95 % Wilson score interval `[low, high]` of `successes` out of
/// `trials` (Wilson 1927; z = 1.959964). Unlike the normal approximation it
/// stays inside 0..1 and is honest for small samples and rates near 0 or 1:
/// 0 of 3 gives `[0, 0.56]`. `[0, 1]` when there are no trials.
pub fn wilson(successes: usize, trials: usize) -> [f64; 2] {
    if trials == 0 {
        return [0.0, 1.0];
    }
    const Z: f64 = 1.959_963_984_540_054;
    let n = trials as f64;
    let p = successes.min(trials) as f64 / n;
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    [(centre - half).clamp(0.0, 1.0), (centre + half).clamp(0.0, 1.0)]
}

/// The Gini coefficient of non-negative `values` (0 = perfectly even, close
/// to 1 = one value carries everything), used for review load. `None` when
/// empty, when all are zero (nobody carried anything: no inequality to
/// measure), or when a value is negative or not finite.
pub fn gini(values: &[f64]) -> Option<f64> {
    if values.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return None;
    }
    let total: f64 = values.iter().sum();
    if values.is_empty() || total <= 0.0 {
        return None;
    }
    let mut sorted = values.to_vec();
    // Values equal under `total_cmp` are the same bits: an unstable sort
    // gives the same order, without a stable sort's buffer.
    sorted.sort_unstable_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let weighted: f64 = sorted.iter().enumerate().map(|(i, value)| (i as f64 + 1.0) * value).sum();
    Some(2.0 * weighted / (n * total) - (n + 1.0) / n)
}

/// R type 7: position `h = (n - 1) · p` (computed in integers so 90 % of
/// 10 is exactly 9), interpolating between its neighbours.
fn interpolated(sorted: &[f64], percent: usize) -> f64 {
    let scaled = (sorted.len() - 1) * percent;
    let (index, remainder) = (scaled / 100, scaled % 100);
    if remainder == 0 {
        return sorted[index];
    }
    let fraction = remainder as f64 / 100.0;
    sorted[index] + fraction * (sorted[index + 1] - sorted[index])
}

/// The value at rank `floor((n - 1) · p)`: for the median, DevLake's
/// `sorted[(n - 1) / 2]`.
fn lower_rank(sorted: &[f64], percent: usize) -> f64 {
    sorted[(sorted.len() - 1) * percent / 100]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(median, p75, p90)` of `values` under each convention.
    fn check(values: &[f64], convention: Average, expected: (f64, f64, f64)) {
        let summary = summarize(values, convention).expect("non-empty input");
        let actual = (summary.median, summary.p75, summary.p90);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(
            close(actual.0, expected.0) && close(actual.1, expected.1) && close(actual.2, expected.2),
            "{values:?} {convention:?}: got {actual:?}, expected {expected:?}"
        );
        assert_eq!(summary.count, values.len());
        assert_eq!(summary.convention, convention);
    }

    #[test]
    fn one_value() {
        for convention in [Average::Interpolated, Average::LowerMedian, Average::Mean] {
            check(&[10.0], convention, (10.0, 10.0, 10.0));
        }
    }

    #[test]
    fn two_values() {
        // h = 0.5, 0.75, 0.9 between 10 and 20.
        check(&[20.0, 10.0], Average::Interpolated, (15.0, 17.5, 19.0));
        // floor(h) = 0 for all three.
        check(&[20.0, 10.0], Average::LowerMedian, (10.0, 10.0, 10.0));
        check(&[20.0, 10.0], Average::Mean, (15.0, 17.5, 19.0));
    }

    #[test]
    fn four_values() {
        let values = [10.0, 2.0, 3.0, 1.0];
        // sorted 1 2 3 10; h = 1.5 → 2.5; h = 2.25 → 3 + .25·7; h = 2.7 → 3 + .7·7.
        check(&values, Average::Interpolated, (2.5, 4.75, 7.9));
        // ranks floor(1.5) = 1, floor(2.25) = 2, floor(2.7) = 2.
        check(&values, Average::LowerMedian, (2.0, 3.0, 3.0));
        // mean 16 / 4.
        check(&values, Average::Mean, (4.0, 4.75, 7.9));
    }

    #[test]
    fn five_values() {
        let values = [5.0, 1.0, 4.0, 2.0, 3.0];
        // sorted 1..5; h = 2 → 3; h = 3 → 4; h = 3.6 → 4.6.
        check(&values, Average::Interpolated, (3.0, 4.0, 4.6));
        // ranks 2, 3, 3.
        check(&values, Average::LowerMedian, (3.0, 4.0, 4.0));
        check(&[1.0, 2.0, 3.0, 4.0, 15.0], Average::Mean, (5.0, 4.0, 10.6));
    }

    #[test]
    fn empty_has_no_summary() {
        assert_eq!(summarize(&[], Average::Interpolated), None);
        assert_eq!(median(&[], Average::Mean), None);
        assert_eq!(median(&[4.0, 1.0, 2.0], Average::Interpolated), Some(2.0));
    }

    #[test]
    fn gini_coefficient() {
        assert_eq!(gini(&[3.0, 3.0, 3.0, 3.0]), Some(0.0));
        // sorted 0 0 0 1: 2·(4·1)/(4·1) − 5/4 = 0.75.
        assert_eq!(gini(&[1.0, 0.0, 0.0, 0.0]), Some(0.75));
        // sorted 1 3: 2·(1 + 6)/(2·4) − 3/2 = 0.25.
        assert_eq!(gini(&[3.0, 1.0]), Some(0.25));
        assert_eq!(gini(&[]), None);
        assert_eq!(gini(&[0.0, 0.0]), None);
        assert_eq!(gini(&[1.0, -1.0]), None);
    }

    #[test]
    fn average_names() {
        for average in [Average::Interpolated, Average::LowerMedian, Average::Mean] {
            assert_eq!(average.to_string().parse::<Average>(), Ok(average));
        }
        assert_eq!("lower_median".parse(), Ok(Average::LowerMedian));
        assert!("median".parse::<Average>().is_err());
    }

    #[test]
    fn wilson_intervals_worked_by_hand() {
        // 0 of 3: centre = (0 + z²/6)/(1 + z²/3) = 0.6403/2.2805 = 0.2808;
        // half = z/(2.2805)·√(z²/36) = 0.8595·0.3267 = 0.2808 → [0, 0.5615].
        let [low, high] = wilson(0, 3);
        assert!(low.abs() < 1e-12, "{low}");
        assert!((high - 0.5615).abs() < 1e-4, "{high}");
        // 5 of 10: symmetric around 0.5; half = 0.8485·√(0.025 + 0.009604) = 0.2134
        // → [0.2366, 0.7634].
        let [low, high] = wilson(5, 10);
        assert!((low - 0.2366).abs() < 1e-4 && (high - 0.7634).abs() < 1e-4, "{low} {high}");
        assert_eq!(wilson(0, 0), [0.0, 1.0]);
        let [low, high] = wilson(10, 10);
        assert!((high - 1.0).abs() < 1e-12 && (low - 0.7225).abs() < 1e-4, "{low}");
    }
}
