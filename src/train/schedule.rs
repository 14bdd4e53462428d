//! What changes with the step: the GRL weight beta of the paper, and the learning-rate factor.
use serde::{Deserialize, Serialize};

/// `beta = 2 / (1 + exp(-5 q)) - 1`, `q` the finished fraction of training in [0, 1].
pub fn beta(q: f64) -> f64 {
    2.0 / (1.0 + (-5.0 * q.clamp(0.0, 1.0)).exp()) - 1.0
}

/// How the learning rate moves over training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    /// The paper's: one rate throughout.
    #[default]
    Constant,
    /// Half a cosine from the full rate down to 0 at the last step. On short fine-tuning
    /// runs the low-rate tail settles the weights that a constant rate leaves oscillating.
    Cosine,
}

/// The factor on the configured rates at `step` (0-based) of `total`: a linear warm-up over
/// the first `warmup` steps (Adam's first moments are noisy, and ImageNet weights are easily
/// knocked about by a new head's large early gradients), then `schedule`.
pub fn lr_factor(schedule: LrSchedule, step: usize, total: usize, warmup: usize) -> f64 {
    if step < warmup {
        return (step + 1) as f64 / (warmup + 1) as f64;
    }
    match schedule {
        LrSchedule::Constant => 1.0,
        LrSchedule::Cosine => {
            let span = total.saturating_sub(warmup).max(1) as f64;
            let q = ((step - warmup) as f64 / span).min(1.0);
            0.5 * (1.0 + (std::f64::consts::PI * q).cos())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_paper_values() {
        assert!((beta(0.25) - 0.554600).abs() < 1e-6, "{}", beta(0.25));
        assert!((beta(1.0) - 0.986614).abs() < 1e-6, "{}", beta(1.0));
        assert_eq!(beta(0.0), 0.0);
    }

    #[test]
    fn lr_factor_warms_up_linearly_then_follows_the_schedule() {
        // Warm-up of 4 steps: 1/5 .. 4/5, then the schedule from its start.
        let w: Vec<f64> = (0..4)
            .map(|s| lr_factor(LrSchedule::Cosine, s, 104, 4))
            .collect();
        assert_eq!(w, vec![0.2, 0.4, 0.6, 0.8]);
        assert_eq!(lr_factor(LrSchedule::Cosine, 4, 104, 4), 1.0);
        // Half-way through the cosine part: cos(pi/2) = 0 -> 0.5.
        assert!((lr_factor(LrSchedule::Cosine, 54, 104, 4) - 0.5).abs() < 1e-12);
        // A quarter: 0.5 (1 + cos(pi/4)).
        let quarter = 0.5 * (1.0 + (std::f64::consts::FRAC_1_SQRT_2));
        assert!((lr_factor(LrSchedule::Cosine, 29, 104, 4) - quarter).abs() < 1e-12);
        // The last step is one step short of 0.
        let last = lr_factor(LrSchedule::Cosine, 103, 104, 4);
        assert!(last > 0.0 && last < 1e-3, "{last}");
        assert_eq!(lr_factor(LrSchedule::Constant, 0, 10, 0), 1.0);
        assert_eq!(lr_factor(LrSchedule::Constant, 9, 10, 0), 1.0);
        assert_eq!(lr_factor(LrSchedule::Constant, 0, 10, 1), 0.5);
    }
}
