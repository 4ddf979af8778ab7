//! The forecast benchmark of issue 15 (run by `bench/forecast.sh`): 10,000
//! trials over a year of days, against the 50 ms target, and the whole
//! forecast (5 seeds, 3 backtests, the stability chart) beside it.
//!
//! `cargo run --release -p fulcrum-core --example forecast_bench`

use std::time::Instant;

use fulcrum_core::forecast::{ForecastInput, Question, Rng, forecast, simulate_items};

fn main() {
    // Two years of days: 0 to 6 merges a day, weekends quiet.
    let mut rng = Rng::new(42);
    let daily: Vec<u32> = (0..730).map(|d| if d % 7 >= 5 { 0 } else { rng.below(7) as u32 }).collect();
    let sample = &daily[daily.len() - 364..];
    let runs = 20;
    let mut best = f64::MAX;
    for seed in 0..runs {
        let started = Instant::now();
        let items = simulate_items(sample, 365, 10_000, &mut Rng::new(seed));
        best = best.min(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(items.len(), 10_000);
    }
    println!(
        "one simulation, 10,000 trials × 365 days: {best:.2} ms (best of {runs}; x{:.2} of the 50 ms target)",
        best / 50.0
    );
    let input = ForecastInput {
        daily: &daily,
        today: 20_089,
        sample_days: 364,
        question: Question::HowMany { day: 20_089 + 364 },
        trials: 10_000,
        seed: 1,
        split: 1.0,
    };
    let mut whole = f64::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        let f = forecast(&input).expect("a forecast");
        whole = whole.min(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(f.seed_spread.seeds.len(), 5);
    }
    println!(
        "whole forecast (5 seeds of 10,000 trials × 365 days, 3 backtests, XmR chart): {whole:.2} ms (best of 5; x{:.2} of 50 ms)",
        whole / 50.0
    );
}
