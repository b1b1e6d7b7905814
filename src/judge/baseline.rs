//! The gate against the blessed baseline (SPEC §9.3): is this run's pass count significantly
//! below the baseline's? A one-sided Fisher exact test on the 2×2 table
//!
//! ```text
//!             passed   failed
//! baseline      K       N - K
//! this run      k       n - k
//! ```
//!
//! p = P(X ≤ k) for X hypergeometric (N + n runs, K + k passes, n drawn): the chance of a pass
//! count this low or lower if both came from the same agent. Exact, so it holds for the small
//! counts a gate uses (20 runs), where a normal approximation would not. Pure arithmetic.

/// SPEC §9.3's default significance level.
pub const DEFAULT_ALPHA: f64 = 0.01;

/// The one-sided p-value that this run (`passed` of `runs`) passes less often than the
/// baseline (`base_passed` of `base_runs`). 1.0 when there is nothing to compare.
pub fn fisher_less(base_runs: u32, base_passed: u32, runs: u32, passed: u32) -> f64 {
    let base_passed = base_passed.min(base_runs);
    let passed = passed.min(runs);
    let total = u64::from(base_runs) + u64::from(runs);
    let successes = u64::from(base_passed) + u64::from(passed);
    let draws = u64::from(runs);
    if total == 0 || draws == 0 {
        return 1.0;
    }
    let failures = total - successes;
    let low = draws.saturating_sub(failures);
    let high = u64::from(passed).min(successes);
    if high < low {
        return 0.0;
    }
    let denom = ln_choose(total, draws);
    let p: f64 = (low..=high)
        .map(|x| (ln_choose(successes, x) + ln_choose(failures, draws - x) - denom).exp())
        .sum();
    p.clamp(0.0, 1.0)
}

/// ln C(n, k), through sums of logarithms: exact enough for p-values and never overflows.
fn ln_choose(n: u64, k: u64) -> f64 {
    if k > n {
        return f64::NEG_INFINITY;
    }
    ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
}

/// ln n!: summed exactly for small n, by Stirling's series beyond (its first left-out term,
/// 1/(1680 n^7), is below 1e-19 there), so a baseline of billions of runs written into a
/// golden by hand costs no more than one of a hundred: the sum took minutes.
fn ln_factorial(n: u64) -> f64 {
    if n < STIRLING_FROM {
        return (2..=n).map(|i| (i as f64).ln()).sum();
    }
    let x = n as f64;
    let x2 = x * x;
    x * x.ln() - x + 0.5 * (std::f64::consts::TAU * x).ln() + 1.0 / (12.0 * x)
        - 1.0 / (360.0 * x * x2)
        + 1.0 / (1260.0 * x * x2 * x2)
}

const STIRLING_FROM: u64 = 256;

/// What the gate decided for one dialogue, for the reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselineVerdict {
    pub p_value: f64,
    /// `p_value < alpha`: the run passes significantly less often than the baseline.
    pub regressed: bool,
}

pub fn verdict(
    base_runs: u32,
    base_passed: u32,
    runs: u32,
    passed: u32,
    alpha: f64,
) -> BaselineVerdict {
    let p_value = fisher_less(base_runs, base_passed, runs, passed);
    BaselineVerdict {
        p_value,
        regressed: p_value < alpha,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values computed with exact integer arithmetic (Python's `math.comb`), the
    /// same as SciPy's `fisher_exact(..., alternative="less")`.
    #[test]
    fn matches_exact_reference_values() {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.max(1e-300) + 1e-15;
        for (k, n, big_k, big_n, p) in [
            (13, 20, 95, 100, 0.000_603_094_048_993_257_2),
            (18, 20, 95, 100, 0.330_135_530_440_163_75),
            (10, 20, 100, 100, 1.591_788_569_156_342_5e-9),
            (5, 5, 5, 5, 1.0),
            (0, 20, 100, 100, 3.394_176_516_652_835e-23),
            (20, 20, 0, 100, 1.0),
            (3, 5, 4, 5, 0.5),
        ] {
            let got = fisher_less(big_n, big_k, n, k);
            assert!(
                close(got, p),
                "k={k} n={n} K={big_k} N={big_n}: {got} vs {p}"
            );
        }
    }

    #[test]
    fn stirling_agrees_with_the_sum_and_huge_baselines_are_quick() {
        for n in [STIRLING_FROM, 300, 1000, 5000] {
            let sum: f64 = (2..=n).map(|i| (i as f64).ln()).sum();
            let got = ln_factorial(n);
            assert!((got - sum).abs() <= 1e-9 * sum, "n={n}: {got} vs {sum}");
        }
        // A hand-edited golden may say anything a u32 holds; summing 4e9 logarithms per term
        // took minutes.
        let started = std::time::Instant::now();
        let p = fisher_less(u32::MAX, u32::MAX, 10, 3);
        assert!(p < 1e-50, "{p}");
        assert!(fisher_less(u32::MAX, u32::MAX, 10, 10) > 0.99);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn an_unchanged_agent_is_not_a_regression_and_a_broken_one_is() {
        assert!(!verdict(100, 95, 20, 19, 0.01).regressed);
        assert!(!verdict(100, 95, 20, 17, 0.01).regressed);
        assert!(verdict(100, 95, 20, 13, 0.01).regressed);
        assert_eq!(fisher_less(0, 0, 0, 0), 1.0);
    }
}
