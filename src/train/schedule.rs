//! The GRL weight schedule of the paper: beta rises from 0 to ~1 over training.

/// `beta = 2 / (1 + exp(-5 q)) - 1`, `q` the finished fraction of training in [0, 1].
pub fn beta(q: f64) -> f64 {
    2.0 / (1.0 + (-5.0 * q.clamp(0.0, 1.0)).exp()) - 1.0
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
}
