//! DORA performance tiers as data: one benchmark set per State of DevOps
//! report year, each citing the table its numbers come from. The 2023 set is
//! the default because its thresholds are monotone (a better tier always has
//! a better bound); the 2024 report's cluster centroids put medium's change
//! failure rate (10 %) below high's (20 %).

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::time::{SECONDS_PER_DAY, SECONDS_PER_MONTH, SECONDS_PER_WEEK};

/// A DORA performance tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// The best-performing cluster.
    Elite,
    /// Second.
    High,
    /// Third.
    Medium,
    /// Last.
    Low,
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tier::Elite => "elite",
            Tier::High => "high",
            Tier::Medium => "medium",
            Tier::Low => "low",
        })
    }
}

/// The State of DevOps report whose benchmarks classify a metric.
/// Serializes as the year number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BenchmarkYear {
    /// State of DevOps 2021.
    Y2021,
    /// Accelerate State of DevOps 2023 (default).
    #[default]
    Y2023,
    /// Accelerate State of DevOps 2024.
    Y2024,
}

impl BenchmarkYear {
    /// The report year as a number.
    pub fn year(self) -> u16 {
        match self {
            BenchmarkYear::Y2021 => 2021,
            BenchmarkYear::Y2023 => 2023,
            BenchmarkYear::Y2024 => 2024,
        }
    }

    /// Its benchmark set.
    pub fn benchmarks(self) -> &'static Benchmarks {
        match self {
            BenchmarkYear::Y2021 => &BENCHMARKS_2021,
            BenchmarkYear::Y2023 => &BENCHMARKS_2023,
            BenchmarkYear::Y2024 => &BENCHMARKS_2024,
        }
    }
}

impl fmt::Display for BenchmarkYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.year())
    }
}

impl FromStr for BenchmarkYear {
    type Err = UnknownBenchmarkYear;

    /// Accepts `2021`, `2023` and `2024`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "2021" => Ok(BenchmarkYear::Y2021),
            "2023" => Ok(BenchmarkYear::Y2023),
            "2024" => Ok(BenchmarkYear::Y2024),
            _ => Err(UnknownBenchmarkYear(s.to_string())),
        }
    }
}

impl Serialize for BenchmarkYear {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(self.year())
    }
}

/// A benchmark year that has no benchmark set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownBenchmarkYear(pub String);

impl fmt::Display for UnknownBenchmarkYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no DORA benchmarks for `{}`: expected 2021, 2023 or 2024", self.0)
    }
}

impl std::error::Error for UnknownBenchmarkYear {}

/// The thresholds of one report year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Benchmarks {
    /// The report year.
    pub year: BenchmarkYear,
    /// Where the numbers come from: report title and table.
    pub source: &'static str,
    /// Deployment frequency thresholds.
    pub deployment_frequency: FrequencyFloors,
    /// Lead time for changes (seconds).
    pub lead_time: DurationCeilings,
    /// Change failure rate.
    pub change_failure_rate: RateRule,
    /// Failed deployment recovery time (seconds).
    pub recovery_time: DurationCeilings,
}

/// Deployment frequency: elite and high read the median number of
/// deployment days per week (a *typical* week, as "on demand" and "once per
/// week" describe), medium the average deployments per 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FrequencyFloors {
    /// Elite at or above this median of deployment days per week.
    pub elite_days_per_week: f64,
    /// High at or above this median of deployment days per week.
    pub high_days_per_week: f64,
    /// Medium at or above this many deployments per 30 days.
    pub medium_per_month: f64,
}

/// Duration tiers by strict upper bounds, in seconds: below `elite` is
/// Elite, else below `high` High, else below `medium` Medium, else Low. Equal
/// bounds make a tier unreachable, as the published table implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DurationCeilings {
    /// Elite below this.
    pub elite: i64,
    /// High below this.
    pub high: i64,
    /// Medium below this.
    pub medium: i64,
}

/// How a change failure rate (0..1) maps to a tier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum RateRule {
    /// Inclusive upper bounds: at most `elite` is Elite, else at most `high`
    /// High, else at most `medium` Medium, else Low.
    AtMost {
        /// Elite up to this rate.
        elite: f64,
        /// High up to this rate.
        high: f64,
        /// Medium up to this rate.
        medium: f64,
    },
    /// The tier whose published centroid is nearest (ties go to the better
    /// tier), for reports that publish cluster centres, not ranges.
    NearestCentroid {
        /// Elite centroid.
        elite: f64,
        /// High centroid.
        high: f64,
        /// Medium centroid.
        medium: f64,
        /// Low centroid.
        low: f64,
    },
}

const HOUR: i64 = 3600;

const FREQUENCY: FrequencyFloors =
    FrequencyFloors { elite_days_per_week: 5.0, high_days_per_week: 1.0, medium_per_month: 1.0 };

/// State of DevOps 2021.
///
/// Lead time: elite < 1 hour, high "one day to one week" (read < 1 week),
/// medium "one to six months" (read < 6 months), low beyond. Change failure
/// rate: elite 0–15 %, high, medium and low all 16–30 %: the table cannot
/// tell them apart, so 16–30 % is High and above 30 % Low; Medium is never
/// given. Recovery: elite < 1 hour, high < 1 day, medium < 1 week.
pub static BENCHMARKS_2021: Benchmarks = Benchmarks {
    year: BenchmarkYear::Y2021,
    source: "Accelerate State of DevOps 2021 (DORA, Google Cloud), table \
             \"Software delivery performance metric\" by elite/high/medium/low performers",
    deployment_frequency: FREQUENCY,
    lead_time: DurationCeilings { elite: HOUR, high: SECONDS_PER_WEEK, medium: 6 * SECONDS_PER_MONTH },
    change_failure_rate: RateRule::AtMost { elite: 0.15, high: 0.30, medium: 0.30 },
    recovery_time: DurationCeilings { elite: HOUR, high: SECONDS_PER_DAY, medium: SECONDS_PER_WEEK },
};

/// Accelerate State of DevOps 2023 (default).
///
/// Lead time: elite < 1 day, high 1 day–1 week, medium 1 week–1 month, low
/// beyond. Change failure rate: elite 5 %, high 10 %, medium 15 %, low 64 %,
/// read as upper bounds (≤ 5 % elite …, above 15 % low). Recovery: elite
/// < 1 hour, high < 1 day, medium 1 day–1 week, low beyond.
pub static BENCHMARKS_2023: Benchmarks = Benchmarks {
    year: BenchmarkYear::Y2023,
    source: "Accelerate State of DevOps Report 2023 (DORA, Google Cloud), \
             table \"Performance levels\" of software delivery performance",
    deployment_frequency: FREQUENCY,
    lead_time: DurationCeilings { elite: SECONDS_PER_DAY, high: SECONDS_PER_WEEK, medium: SECONDS_PER_MONTH },
    change_failure_rate: RateRule::AtMost { elite: 0.05, high: 0.10, medium: 0.15 },
    recovery_time: DurationCeilings { elite: HOUR, high: SECONDS_PER_DAY, medium: SECONDS_PER_WEEK },
};

/// Accelerate State of DevOps 2024.
///
/// Lead time: elite < 1 day, high < 1 week, medium < 1 month, low beyond.
/// Change failure rate: cluster centroids elite 5 %, high 20 %, medium 10 %,
/// low 40 %; not monotone, so a rate takes the nearest centroid (12 % is
/// Medium, 17 % High). Recovery: elite < 1 hour, high < 1 day, medium
/// < 1 day, low 1 week–1 month: under one day is High, from one day on Low;
/// Medium is never given.
pub static BENCHMARKS_2024: Benchmarks = Benchmarks {
    year: BenchmarkYear::Y2024,
    source: "Accelerate State of DevOps Report 2024 (DORA, Google Cloud), \
             table \"Software delivery performance levels\" (cluster centroids)",
    deployment_frequency: FREQUENCY,
    lead_time: DurationCeilings { elite: SECONDS_PER_DAY, high: SECONDS_PER_WEEK, medium: SECONDS_PER_MONTH },
    change_failure_rate: RateRule::NearestCentroid { elite: 0.05, high: 0.20, medium: 0.10, low: 0.40 },
    recovery_time: DurationCeilings { elite: HOUR, high: SECONDS_PER_DAY, medium: SECONDS_PER_DAY },
};

impl Benchmarks {
    /// Deployment frequency tier from the median deployment days per week
    /// and the deployments per 30 days of the window.
    pub fn deployment_frequency(&self, median_days_per_week: f64, per_month: f64) -> Tier {
        let floors = &self.deployment_frequency;
        if median_days_per_week >= floors.elite_days_per_week {
            Tier::Elite
        } else if median_days_per_week >= floors.high_days_per_week {
            Tier::High
        } else if per_month >= floors.medium_per_month {
            Tier::Medium
        } else {
            Tier::Low
        }
    }

    /// Lead time tier from the median lead time in seconds.
    pub fn lead_time(&self, median_seconds: f64) -> Tier {
        self.lead_time.classify(median_seconds)
    }

    /// Recovery time tier from the median recovery time in seconds.
    pub fn recovery_time(&self, median_seconds: f64) -> Tier {
        self.recovery_time.classify(median_seconds)
    }

    /// Change failure rate tier from a rate in 0..1.
    pub fn change_failure_rate(&self, rate: f64) -> Tier {
        match self.change_failure_rate {
            RateRule::AtMost { elite, high, medium } => {
                if rate <= elite {
                    Tier::Elite
                } else if rate <= high {
                    Tier::High
                } else if rate <= medium {
                    Tier::Medium
                } else {
                    Tier::Low
                }
            }
            RateRule::NearestCentroid { elite, high, medium, low } => {
                let mut best = (Tier::Elite, (rate - elite).abs());
                for (tier, centroid) in [(Tier::High, high), (Tier::Medium, medium), (Tier::Low, low)] {
                    let distance = (rate - centroid).abs();
                    if distance < best.1 {
                        best = (tier, distance);
                    }
                }
                best.0
            }
        }
    }

    /// Rework rate has no published tier in any benchmark year: always `None`.
    pub fn rework_rate(&self, _rate: f64) -> Option<Tier> {
        None
    }
}

impl DurationCeilings {
    fn classify(&self, seconds: f64) -> Tier {
        if seconds < self.elite as f64 {
            Tier::Elite
        } else if seconds < self.high as f64 {
            Tier::High
        } else if seconds < self.medium as f64 {
            Tier::Medium
        } else {
            Tier::Low
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Tier::*;

    const H: f64 = 3600.0;
    const D: f64 = 86_400.0;

    /// Classifies each input with `classify` and compares the tiers.
    fn check<T: Copy + fmt::Debug>(classify: impl Fn(T) -> Tier, cases: &[(T, Tier)]) {
        let actual: Vec<(T, Tier)> = cases.iter().map(|&(x, _)| (x, classify(x))).collect();
        assert_eq!(format!("{actual:?}"), format!("{cases:?}"));
    }

    #[test]
    fn deployment_frequency_is_the_same_every_year() {
        for year in [BenchmarkYear::Y2021, BenchmarkYear::Y2023, BenchmarkYear::Y2024] {
            let b = year.benchmarks();
            check(
                |(days, month)| b.deployment_frequency(days, month),
                &[
                    ((5.0, 20.0), Elite),
                    ((4.5, 30.0), High),
                    ((1.0, 4.0), High),
                    ((0.5, 2.0), Medium),
                    ((0.0, 1.0), Medium),
                    ((0.0, 0.9), Low),
                ],
            );
        }
    }

    #[test]
    fn tiers_2023() {
        let b = BenchmarkYear::Y2023.benchmarks();
        check(
            |s| b.lead_time(s),
            &[
                (D - 1.0, Elite),
                (D, High),
                (7.0 * D - 1.0, High),
                (7.0 * D, Medium),
                (30.0 * D - 1.0, Medium),
                (30.0 * D, Low),
            ],
        );
        check(
            |r| b.change_failure_rate(r),
            &[(0.05, Elite), (0.051, High), (0.10, High), (0.15, Medium), (0.151, Low), (0.64, Low)],
        );
        check(
            |s| b.recovery_time(s),
            &[(H - 1.0, Elite), (H, High), (D, Medium), (7.0 * D - 1.0, Medium), (7.0 * D, Low)],
        );
    }

    #[test]
    fn tiers_2021() {
        let b = BenchmarkYear::Y2021.benchmarks();
        check(
            |s| b.lead_time(s),
            &[
                (H - 1.0, Elite),
                (H, High),
                (7.0 * D - 1.0, High),
                (7.0 * D, Medium),
                (180.0 * D - 1.0, Medium),
                (180.0 * D, Low),
            ],
        );
        // No Medium: 2021 gives high, medium and low the same 16–30 % range.
        check(|r| b.change_failure_rate(r), &[(0.15, Elite), (0.16, High), (0.30, High), (0.31, Low)]);
        check(|s| b.recovery_time(s), &[(H - 1.0, Elite), (H, High), (D, Medium), (7.0 * D, Low)]);
    }

    #[test]
    fn tiers_2024() {
        let b = BenchmarkYear::Y2024.benchmarks();
        check(|s| b.lead_time(s), &[(D - 1.0, Elite), (D, High), (7.0 * D, Medium), (30.0 * D, Low)]);
        // Nearest of 5 % / 20 % / 10 % / 40 %: midpoints 7.5, 15 and 30 %.
        check(
            |r| b.change_failure_rate(r),
            &[
                (0.0, Elite),
                (0.07, Elite),
                (0.08, Medium),
                (0.14, Medium),
                (0.16, High),
                (0.29, High),
                (0.31, Low),
                (0.9, Low),
            ],
        );
        check(|s| b.recovery_time(s), &[(H - 1.0, Elite), (H, High), (D - 1.0, High), (D, Low)]);
        assert_eq!(b.rework_rate(0.1), None);
    }

    #[test]
    fn years_parse_and_print() {
        for year in [BenchmarkYear::Y2021, BenchmarkYear::Y2023, BenchmarkYear::Y2024] {
            assert_eq!(year.to_string().parse(), Ok(year));
            assert_eq!(year.benchmarks().year, year);
            assert!(year.benchmarks().source.contains(&year.to_string()));
        }
        assert_eq!(BenchmarkYear::default(), BenchmarkYear::Y2023);
        let error = "2022".parse::<BenchmarkYear>().expect_err("2022 has no set");
        assert!(error.to_string().contains("2022"));
    }
}
