//! Forecasts by Monte Carlo simulation of daily throughput: "when will N
//! items be done?" and "how many by then?", with the uncertainty said out
//! loud: percentiles, how far the 85th moves between seeds, a
//! process-behaviour (XmR) chart of the sampling window's weekly
//! throughput, and a backtest of the forecasts that would have been made 4,
//! 8 and 12 weeks ago.
//!
//! Each simulated day draws the throughput of a day of the sampling window
//! chosen uniformly at random; weekends and holidays stay in the sample as
//! they were (their zeros are part of the team's real pace). Day 1 of a
//! simulation is the forecast's first day (`today`), so "done on day k"
//! is the date `today + k − 1`.
//!
//! Pure: the caller passes the daily counts, the day numbers and the seed;
//! the generator is a seeded xoshiro256**, so a seed gives the same answer
//! on every machine.

use serde::Serialize;

use crate::time;

/// The percentiles reported.
pub const PERCENTILES: [u32; 4] = [50, 70, 85, 95];

/// The most simulations one forecast runs (each keeps a number: memory).
pub const MAX_TRIALS: usize = 1_000_000;

/// How far a simulation may run before it gives up: 20 years of days.
const MAX_DAYS: u32 = 20 * 366;

/// The seeds after the first that measure how much the 85th percentile
/// moves.
const EXTRA_SEEDS: u64 = 4;

/// Weeks ago of the backtests.
pub const BACKTEST_WEEKS: [u32; 3] = [4, 8, 12];

/// xoshiro256** (Blackman and Vigna), seeded through SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng([u64; 4]);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        let mut state = seed;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A number in `0..n` (`n > 0`), by multiply-shift.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// What is asked.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "question", rename_all = "snake_case")]
pub enum Question {
    /// When will `items` be done; with a deadline (a day number), the
    /// chance of making it.
    When {
        /// Items to finish.
        items: u64,
        /// The day asked for, if any.
        deadline: Option<i64>,
    },
    /// How many items by the end of `day` (a day number).
    HowMany {
        /// The last day counted.
        day: i64,
    },
}

/// The forecast's inputs.
#[derive(Debug, Clone)]
pub struct ForecastInput<'a> {
    /// Items finished per day, oldest first, ending the day before `today`.
    pub daily: &'a [u32],
    /// The forecast's first day (day number since 1970-01-01).
    pub today: i64,
    /// Days of the sampling window (the last days of `daily`).
    pub sample_days: usize,
    /// The question.
    pub question: Question,
    /// Simulations.
    pub trials: usize,
    /// The generator's seed.
    pub seed: u64,
    /// Work grows once started: each item becomes `split` items (1 to 3).
    pub split: f64,
}

/// Why no forecast can be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForecastError {
    /// The sampling window is shorter than two weeks or longer than the history.
    Window(String),
    /// Nothing was finished in the sampling window.
    NoThroughput,
    /// The question asks for nothing, or for the past.
    Question(String),
}

impl std::fmt::Display for ForecastError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForecastError::Window(why) | ForecastError::Question(why) => f.write_str(why),
            ForecastError::NoThroughput => f.write_str("nothing was finished in the sampling window"),
        }
    }
}

impl std::error::Error for ForecastError {}

/// One percentile's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PercentileRow {
    /// 50, 70, 85 or 95: the share of simulations that did at least as well.
    pub percentile: u32,
    /// When: the date by which this share of simulations finished
    /// (`None` past the 20-year horizon).
    pub date: Option<String>,
    /// When: days from the first day, counting it.
    pub days: Option<u32>,
    /// How many: at least this many items in this share of simulations.
    pub items: Option<u64>,
}

/// The chance of a deadline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadlineRow {
    /// The date asked for.
    pub date: String,
    /// Share of simulations done by the end of that day.
    pub probability: f64,
    /// The date with an 85% chance.
    pub date_for_85: Option<String>,
}

/// How much the 85th percentile moves with the seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedSpread {
    /// The seeds run (the first is the forecast's).
    pub seeds: Vec<u64>,
    /// The 85th percentile of each (days or items).
    pub p85: Vec<u64>,
    /// Largest minus smallest.
    pub spread: u64,
}

/// One week of the sampling window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekPoint {
    /// Its first day.
    pub start: String,
    /// Items finished.
    pub items: u64,
}

/// The process-behaviour chart (XmR) of weekly throughput.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stability {
    /// Whole weeks of the sampling window, ending the day before today.
    pub weeks: Vec<WeekPoint>,
    /// Their mean.
    pub mean: f64,
    /// The mean moving range.
    pub moving_range: f64,
    /// Upper natural process limit: mean + 2.66 × moving range.
    pub upper_limit: f64,
    /// Lower natural process limit (not below 0).
    pub lower_limit: f64,
    /// What the chart signals, in words; empty when the process is stable.
    pub signals: Vec<String>,
}

/// A forecast that would have been made in the past, against what happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// How long ago it would have been made.
    pub weeks_ago: u32,
    /// Its median: items it expected in the weeks since.
    pub forecast_p50: u64,
    /// At least this many with 85% confidence.
    pub forecast_p85: u64,
    /// Items actually finished since.
    pub actual: u64,
    /// `(forecast_p50 − actual) / actual`; `None` when nothing was finished.
    pub error: Option<f64>,
}

/// The forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// What was asked.
    #[serde(flatten)]
    pub question: Question,
    /// The first day of the forecast.
    pub first_day: String,
    /// The sampling window: first and last day, days, items finished.
    pub sample_first_day: String,
    /// Its last day (the day before the first day of the forecast).
    pub sample_last_day: String,
    /// Days in it.
    pub sample_days: usize,
    /// Items finished in it.
    pub sample_items: u64,
    /// Simulations run.
    pub trials: usize,
    /// The seed.
    pub seed: u64,
    /// The split factor applied.
    pub split: f64,
    /// Items simulated: `ceil(items × split)` for "when".
    pub simulated_items: Option<u64>,
    /// The answers.
    pub percentiles: Vec<PercentileRow>,
    /// With a deadline.
    pub deadline: Option<DeadlineRow>,
    /// How much the 85th percentile moves between seeds.
    pub seed_spread: SeedSpread,
    /// Is the sampling window a stable process?
    pub stability: Stability,
    /// Past forecasts against what happened (those with history enough).
    pub backtest: Vec<Backtest>,
    /// What the reader should know.
    pub warnings: Vec<String>,
}

fn date(day: i64) -> String {
    time::format_date(day * time::SECONDS_PER_DAY)
}

/// The nearest-rank `p`-th percentile of ascending `sorted`.
fn rank(sorted: &[u64], p: u32) -> u64 {
    let n = sorted.len();
    let index = (u64::from(p) * n as u64).div_ceil(100).max(1) as usize - 1;
    sorted[index.min(n - 1)]
}

/// Days each simulation needs for `items` (`MAX_DAYS + 1` when it does not
/// get there), ascending.
pub fn simulate_days(sample: &[u32], items: u64, trials: usize, rng: &mut Rng) -> Vec<u64> {
    let mut out: Vec<u64> = (0..trials)
        .map(|_| {
            let (mut done, mut days) = (0u64, 0u32);
            while done < items && days <= MAX_DAYS {
                done += u64::from(sample[rng.below(sample.len())]);
                days += 1;
            }
            u64::from(days)
        })
        .collect();
    out.sort_unstable();
    out
}

/// Items each simulation finishes in `days`, ascending.
pub fn simulate_items(sample: &[u32], days: u64, trials: usize, rng: &mut Rng) -> Vec<u64> {
    let mut out: Vec<u64> =
        (0..trials).map(|_| (0..days).map(|_| u64::from(sample[rng.below(sample.len())])).sum()).collect();
    out.sort_unstable();
    out
}

/// "At least this many with `p`% confidence": the `(100 − p)`-th
/// percentile of the items (ascending), by nearest rank from the top.
fn at_least(sorted: &[u64], p: u32) -> u64 {
    let n = sorted.len();
    let from_top = (u64::from(p) * n as u64).div_ceil(100).max(1) as usize;
    sorted[n - from_top.min(n)]
}

/// Original items from simulated ones under a split factor.
fn unsplit(items: u64, split: f64) -> u64 {
    (items as f64 / split).floor() as u64
}

/// The forecast for `input`.
pub fn forecast(input: &ForecastInput<'_>) -> Result<Forecast, ForecastError> {
    if input.sample_days < 14 {
        return Err(ForecastError::Window(format!(
            "a sampling window of {} days is too short to show a pace: use 2 weeks or more (12 weeks is the default)",
            input.sample_days
        )));
    }
    if input.sample_days > input.daily.len() {
        return Err(ForecastError::Window(format!(
            "the sampling window ({} days) is longer than the history ({} days)",
            input.sample_days,
            input.daily.len()
        )));
    }
    if !(1.0..=3.0).contains(&input.split) {
        return Err(ForecastError::Question(format!("a split factor of {} is outside 1 to 3", input.split)));
    }
    if input.trials == 0 || input.trials > MAX_TRIALS {
        return Err(ForecastError::Question(format!(
            "{} trials: use 1,000 to {MAX_TRIALS} (10,000 is the default)",
            input.trials
        )));
    }
    let sample = &input.daily[input.daily.len() - input.sample_days..];
    let sample_items: u64 = sample.iter().map(|&n| u64::from(n)).sum();
    if sample_items == 0 {
        return Err(ForecastError::NoThroughput);
    }
    let today = input.today;
    let mut warnings = Vec::new();
    let seeds: Vec<u64> = (0..=EXTRA_SEEDS).map(|i| input.seed.wrapping_add(i)).collect();
    let (percentiles, deadline, simulated_items, p85s) = match input.question {
        Question::When { items, deadline } => {
            if items == 0 {
                return Err(ForecastError::Question("0 items: ask for 1 or more".into()));
            }
            if let Some(day) = deadline
                && day < today
            {
                return Err(ForecastError::Question(format!(
                    "the deadline {} is in the past (the forecast starts {})",
                    date(day),
                    date(today)
                )));
            }
            let simulated = (items as f64 * input.split).ceil() as u64;
            let runs: Vec<Vec<u64>> =
                seeds.iter().map(|&s| simulate_days(sample, simulated, input.trials, &mut Rng::new(s))).collect();
            let days = &runs[0];
            let when = |d: u64| (d <= u64::from(MAX_DAYS)).then(|| date(today + d as i64 - 1));
            let rows = PERCENTILES
                .iter()
                .map(|&p| {
                    let d = rank(days, p);
                    PercentileRow {
                        percentile: p,
                        date: when(d),
                        days: (d <= u64::from(MAX_DAYS)).then_some(d as u32),
                        items: None,
                    }
                })
                .collect();
            let deadline = deadline.map(|day| {
                // Simulations past the 20-year horizon never count as made.
                let allowed = ((day - today + 1) as u64).min(u64::from(MAX_DAYS));
                let made = days.partition_point(|&d| d <= allowed);
                DeadlineRow {
                    date: date(day),
                    probability: made as f64 / days.len() as f64,
                    date_for_85: when(rank(days, 85)),
                }
            });
            if days.last().is_some_and(|&d| d > u64::from(MAX_DAYS)) {
                warnings.push(
                    "some simulations did not finish within 20 years: the pace sampled is too slow for this many items"
                        .into(),
                );
            }
            (rows, deadline, Some(simulated), runs.iter().map(|r| rank(r, 85)).collect::<Vec<_>>())
        }
        Question::HowMany { day } => {
            if day < today {
                return Err(ForecastError::Question(format!(
                    "{} is in the past (the forecast starts {})",
                    date(day),
                    date(today)
                )));
            }
            let days = (day - today + 1) as u64;
            if days > u64::from(MAX_DAYS) {
                return Err(ForecastError::Question(format!(
                    "{} is more than 20 years ahead: no pace sampled today says anything about it",
                    date(day)
                )));
            }
            let runs: Vec<Vec<u64>> =
                seeds.iter().map(|&s| simulate_items(sample, days, input.trials, &mut Rng::new(s))).collect();
            let rows = PERCENTILES
                .iter()
                .map(|&p| PercentileRow {
                    percentile: p,
                    date: None,
                    days: None,
                    items: Some(unsplit(at_least(&runs[0], p), input.split)),
                })
                .collect();
            (rows, None, None, runs.iter().map(|r| unsplit(at_least(r, 85), input.split)).collect())
        }
    };
    let spread = p85s.iter().max().unwrap_or(&0) - p85s.iter().min().unwrap_or(&0);
    let stability = stability(sample, today);
    if !stability.signals.is_empty() {
        warnings.push(format!(
            "the sampling window is not a stable process ({}): the past pace may not be the future's",
            stability.signals.join("; ")
        ));
    }
    if input.split > 1.0 {
        warnings.push(format!("each item is assumed to become {} items once started (split factor)", input.split));
    }
    let backtest = backtest(input);
    if backtest.len() < BACKTEST_WEEKS.len() {
        warnings.push(format!(
            "backtests need {} days of history before each past forecast: {} of {} could be run",
            input.sample_days,
            backtest.len(),
            BACKTEST_WEEKS.len()
        ));
    }
    Ok(Forecast {
        question: input.question,
        first_day: date(today),
        sample_first_day: date(today - input.sample_days as i64),
        sample_last_day: date(today - 1),
        sample_days: input.sample_days,
        sample_items,
        trials: input.trials,
        seed: input.seed,
        split: input.split,
        simulated_items,
        percentiles,
        deadline,
        seed_spread: SeedSpread { seeds, p85: p85s, spread },
        stability,
        backtest,
        warnings,
    })
}

/// The XmR chart of the sample's whole weeks (counted back from its end).
fn stability(sample: &[u32], today: i64) -> Stability {
    let whole = sample.len() / 7;
    let skip = sample.len() - whole * 7;
    let weeks: Vec<WeekPoint> = sample[skip..]
        .chunks(7)
        .enumerate()
        .map(|(i, days)| WeekPoint {
            start: date(today - (whole - i) as i64 * 7),
            items: days.iter().map(|&n| u64::from(n)).sum(),
        })
        .collect();
    let values: Vec<f64> = weeks.iter().map(|w| w.items as f64).collect();
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    let ranges: Vec<f64> = values.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let moving_range = ranges.iter().sum::<f64>() / ranges.len().max(1) as f64;
    let (upper_limit, lower_limit) = (mean + 2.66 * moving_range, (mean - 2.66 * moving_range).max(0.0));
    let mut signals = Vec::new();
    let outside: Vec<String> = weeks
        .iter()
        .filter(|w| (w.items as f64) > upper_limit || (w.items as f64) < lower_limit)
        .map(|w| format!("{} ({})", w.start, w.items))
        .collect();
    if !outside.is_empty() {
        signals.push(format!("weeks outside the limits: {}", outside.join(", ")));
    }
    // A run of 8 or more weeks on one side of the mean, ending in the last 4.
    let side: Vec<i8> = values
        .iter()
        .map(|&v| {
            if v > mean {
                1
            } else if v < mean {
                -1
            } else {
                0
            }
        })
        .collect();
    let mut run = 0usize;
    for (i, s) in side.iter().enumerate() {
        run = if *s != 0 && i > 0 && side[i - 1] == *s { run + 1 } else { usize::from(*s != 0) };
        if run >= 8 && i + 4 >= side.len() {
            signals.push(format!("{run} weeks in a row {} the mean", if *s > 0 { "above" } else { "below" }));
            break;
        }
    }
    // A trend: the last 6 weeks each higher (or each lower) than the one before.
    if values.len() >= 6 {
        let last = &values[values.len() - 6..];
        if last.windows(2).all(|w| w[1] > w[0]) {
            signals.push("the last 6 weeks each finished more than the one before".into());
        } else if last.windows(2).all(|w| w[1] < w[0]) {
            signals.push("the last 6 weeks each finished fewer than the one before".into());
        }
    }
    Stability { weeks, mean, moving_range, upper_limit, lower_limit, signals }
}

/// The "how many in the weeks since" forecast made `weeks_ago` weeks ago
/// from the sampling window that ended then, against what was finished.
fn backtest(input: &ForecastInput<'_>) -> Vec<Backtest> {
    BACKTEST_WEEKS
        .iter()
        .filter_map(|&weeks_ago| {
            let horizon = weeks_ago as usize * 7;
            let end = input.daily.len().checked_sub(horizon)?;
            let start = end.checked_sub(input.sample_days)?;
            let sample = &input.daily[start..end];
            if sample.iter().all(|&n| n == 0) {
                return None;
            }
            let runs = simulate_items(sample, horizon as u64, input.trials, &mut Rng::new(input.seed));
            let actual: u64 = input.daily[end..].iter().map(|&n| u64::from(n)).sum();
            let forecast_p50 = at_least(&runs, 50);
            Some(Backtest {
                weeks_ago,
                forecast_p50,
                forecast_p85: at_least(&runs, 85),
                actual,
                error: (actual > 0).then(|| (forecast_p50 as f64 - actual as f64) / actual as f64),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: i64 = 20_089; // 2025-01-01

    fn input(daily: &[u32], question: Question) -> ForecastInput<'_> {
        ForecastInput { daily, today: TODAY, sample_days: 84, question, trials: 10_000, seed: 7, split: 1.0 }
    }

    #[test]
    fn a_constant_pace_gives_one_date_at_every_percentile() {
        let daily = vec![2; 84];
        let when = forecast(&input(&daily, Question::When { items: 10, deadline: None })).unwrap();
        // 2 a day: 10 items take 5 days, today counting as the first.
        let dates: Vec<_> = when.percentiles.iter().map(|p| (p.percentile, p.date.clone().unwrap())).collect();
        assert_eq!(dates, PERCENTILES.iter().map(|&p| (p, "2025-01-05".to_owned())).collect::<Vec<_>>());
        assert_eq!(when.seed_spread.spread, 0);
        assert!(when.stability.signals.is_empty(), "{:?}", when.stability);
        let many = forecast(&input(&daily, Question::HowMany { day: TODAY + 9 })).unwrap();
        assert!(many.percentiles.iter().all(|p| p.items == Some(20)), "{:?}", many.percentiles);
    }

    /// P(Binomial(n, 1/2) ≥ k), exactly.
    fn at_least_k_of(n: u64, k: u64) -> f64 {
        let mut total = 0.0;
        for i in k..=n {
            let mut c = 1.0;
            for j in 0..i {
                c = c * (n - j) as f64 / (j + 1) as f64;
            }
            total += c;
        }
        total / 2f64.powi(n as i32)
    }

    #[test]
    fn a_known_distribution_gives_the_exact_percentiles_within_a_day() {
        // Half the days finish one item, half none: a day is a fair coin.
        let daily: Vec<u32> = (0..84).map(|i| i % 2).collect();
        let when = forecast(&input(&daily, Question::When { items: 10, deadline: Some(TODAY + 19) })).unwrap();
        for row in &when.percentiles {
            // Exact: the fewest days d with P(at least 10 heads in d) ≥ p.
            let exact = (10..200).find(|&d| at_least_k_of(d, 10) >= f64::from(row.percentile) / 100.0).unwrap();
            let simulated = u64::from(row.days.unwrap());
            assert!(simulated.abs_diff(exact) <= 1, "p{}: {simulated} days, exactly {exact}", row.percentile);
        }
        // A deadline 20 days away: P(at least 10 heads in 20) = 0.588.
        let chance = when.deadline.as_ref().unwrap().probability;
        assert!((chance - at_least_k_of(20, 10)).abs() < 0.02, "{chance}");
        let many = forecast(&input(&daily, Question::HowMany { day: TODAY + 39 })).unwrap();
        for row in &many.percentiles {
            // Exact: the most items x with P(at least x in 40 days) ≥ p.
            let exact = (0..=40).rev().find(|&x| at_least_k_of(40, x) >= f64::from(row.percentile) / 100.0).unwrap();
            let simulated = row.items.unwrap();
            assert!(simulated.abs_diff(exact) <= 1, "p{}: {simulated} items, exactly {exact}", row.percentile);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_answer_and_others_say_how_much_it_moves() {
        let daily: Vec<u32> = (0..120).map(|i| (i * 7 % 5) as u32).collect();
        let question = Question::When { items: 60, deadline: None };
        let a = forecast(&input(&daily, question)).unwrap();
        assert_eq!(a, forecast(&input(&daily, question)).unwrap());
        assert_eq!(a.seed_spread.seeds, vec![7, 8, 9, 10, 11]);
        assert_eq!(a.seed_spread.p85[0], u64::from(a.percentiles[2].days.unwrap()));
        assert!(a.seed_spread.spread <= 2, "10,000 trials hold the 85th within days: {:?}", a.seed_spread);
    }

    #[test]
    fn a_split_factor_multiplies_the_work() {
        let daily = vec![3; 84];
        let plain = forecast(&input(&daily, Question::When { items: 30, deadline: None })).unwrap();
        let split =
            forecast(&ForecastInput { split: 2.0, ..input(&daily, Question::When { items: 30, deadline: None }) })
                .unwrap();
        assert_eq!((plain.percentiles[0].days, split.percentiles[0].days), (Some(10), Some(20)));
        assert_eq!(split.simulated_items, Some(60));
        assert!(split.warnings.iter().any(|w| w.contains("split factor")), "{:?}", split.warnings);
        let many =
            forecast(&ForecastInput { split: 2.0, ..input(&daily, Question::HowMany { day: TODAY + 9 }) }).unwrap();
        assert_eq!(many.percentiles[0].items, Some(15));
    }

    #[test]
    fn bad_questions_are_refused_with_their_reason() {
        let daily = vec![1; 84];
        let when = |items, deadline| forecast(&input(&daily, Question::When { items, deadline }));
        assert!(matches!(when(0, None), Err(ForecastError::Question(w)) if w.contains("0 items")));
        assert!(matches!(when(5, Some(TODAY - 1)), Err(ForecastError::Question(w)) if w.contains("in the past")));
        let far = forecast(&input(&daily, Question::HowMany { day: TODAY + 365 * 30 }));
        assert!(matches!(far, Err(ForecastError::Question(w)) if w.contains("more than 20 years ahead")));
        // A deadline past the horizon: simulations that never finish are not "made".
        let slow: Vec<u32> = (0..84).map(|d| u32::from(d == 0)).collect();
        let odds =
            forecast(&input(&slow, Question::When { items: 1_000_000, deadline: Some(TODAY + 365 * 30) })).unwrap();
        assert_eq!(odds.deadline.unwrap().probability, 0.0);
        let past = forecast(&input(&daily, Question::HowMany { day: TODAY - 3 }));
        assert!(matches!(past, Err(ForecastError::Question(w)) if w.contains("2024-12-29 is in the past")));
        let zeros = vec![0; 84];
        assert_eq!(
            forecast(&input(&zeros, Question::When { items: 1, deadline: None })),
            Err(ForecastError::NoThroughput)
        );
        let short = ForecastInput { sample_days: 10, ..input(&daily, Question::When { items: 1, deadline: None }) };
        assert!(matches!(forecast(&short), Err(ForecastError::Window(w)) if w.contains("too short")));
        let many = ForecastInput { trials: usize::MAX, ..input(&daily, Question::When { items: 1, deadline: None }) };
        assert!(matches!(forecast(&many), Err(ForecastError::Question(w)) if w.contains("use 1,000 to 1000000")));
        let long = ForecastInput { sample_days: 100, ..input(&daily, Question::When { items: 1, deadline: None }) };
        assert!(matches!(forecast(&long), Err(ForecastError::Window(w)) if w.contains("longer than the history")));
    }

    #[test]
    fn the_chart_flags_weeks_outside_the_limits_and_trends() {
        // Eleven quiet weeks of 7, then a week of 70.
        let mut daily = vec![1; 77];
        daily.extend([10; 7]);
        let f = forecast(&input(&daily, Question::When { items: 5, deadline: None })).unwrap();
        let s = &f.stability;
        assert_eq!(s.weeks.len(), 12);
        assert_eq!((s.weeks[0].start.as_str(), s.weeks[11].items), ("2024-10-09", 70));
        // Mean (11 × 7 + 70) / 12 = 12.25; moving ranges: one of 63 over 11.
        assert!((s.mean - 12.25).abs() < 1e-9 && (s.moving_range - 63.0 / 11.0).abs() < 1e-9, "{s:?}");
        assert!(s.signals[0].starts_with("weeks outside the limits: 2024-12-25 (70)"), "{:?}", s.signals);
        assert!(f.warnings.iter().any(|w| w.contains("not a stable process")));
        // Rising every week for six weeks.
        let rising: Vec<u32> = (0..84).map(|d| 1 + d / 7).collect();
        let f = forecast(&input(&rising, Question::When { items: 5, deadline: None })).unwrap();
        assert!(f.stability.signals.iter().any(|s| s.contains("each finished more")), "{:?}", f.stability.signals);
    }

    #[test]
    fn backtests_compare_past_forecasts_with_what_happened() {
        // 2 a day for 84 days, then 1 a day for the last 12 weeks.
        let mut daily = vec![2; 84];
        daily.extend(vec![1; 84]);
        let f = forecast(&input(&daily, Question::When { items: 5, deadline: None })).unwrap();
        let rows: Vec<_> = f.backtest.iter().map(|b| (b.weeks_ago, b.forecast_p50, b.actual)).collect();
        // 4 and 8 weeks ago the window was partly fast (the pace fell), 12
        // weeks ago all fast: 168 expected, 84 done, an error of +100%.
        assert_eq!(rows[2], (12, 168, 84));
        assert_eq!(f.backtest[2].error, Some(1.0));
        assert!(rows[0].1 > 28 && rows[1].1 > 56, "{rows:?}");
        // Without history enough, fewer backtests, said.
        let f = forecast(&input(&daily[84..], Question::When { items: 5, deadline: None })).unwrap();
        assert!(f.backtest.is_empty());
        assert!(f.warnings.iter().any(|w| w.contains("0 of 3 could be run")), "{:?}", f.warnings);
    }

    #[test]
    fn the_generator_is_uniform_enough() {
        let mut rng = Rng::new(1);
        let mut counts = [0usize; 10];
        for _ in 0..100_000 {
            counts[rng.below(10)] += 1;
        }
        assert!(counts.iter().all(|&c| (9_500..10_500).contains(&c)), "{counts:?}");
    }
}
