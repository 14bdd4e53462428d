//! Seeded splits where the dataset's authors give none: a group key (an identity, a video)
//! hashes to a number in [0, 1) that picks the split, so every file of one group lands in
//! the same split, independently of file order, platform or the other groups.
use crate::manifest::Split;
use sha2::{Digest, Sha256};

/// A uniform number in [0, 1) from `seed` and `key` (SHA-256, first 8 bytes).
pub fn unit_hash(seed: u64, key: &str) -> f64 {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(key.as_bytes());
    let d = h.finalize();
    let x = u64::from_le_bytes(d[..8].try_into().expect("8 bytes"));
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// `test` below `test_frac`, `val` below `test_frac + val_frac`, else `train`.
pub fn by_fraction(seed: u64, key: &str, val_frac: f64, test_frac: f64) -> Split {
    let u = unit_hash(seed, key);
    if u < test_frac {
        Split::Test
    } else if u < test_frac + val_frac {
        Split::Val
    } else {
        Split::Train
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_are_met_on_many_keys_and_depend_on_the_seed() {
        let n = 20_000;
        let mut counts = [0usize; 3];
        for i in 0..n {
            match by_fraction(7, &format!("id{i}"), 0.1, 0.2) {
                Split::Train => counts[0] += 1,
                Split::Val => counts[1] += 1,
                Split::Test => counts[2] += 1,
            }
        }
        // Binomial standard deviation at n = 20000 is under 0.3 %; allow 1 %.
        let share = |c: usize| c as f64 / n as f64;
        assert!((share(counts[0]) - 0.7).abs() < 0.01, "{counts:?}");
        assert!((share(counts[1]) - 0.1).abs() < 0.01, "{counts:?}");
        assert!((share(counts[2]) - 0.2).abs() < 0.01, "{counts:?}");
        let differ = (0..200)
            .filter(|i| unit_hash(1, &format!("k{i}")) != unit_hash(2, &format!("k{i}")))
            .count();
        assert_eq!(differ, 200);
        assert_eq!(unit_hash(3, "abc"), unit_hash(3, "abc"));
        assert_eq!(by_fraction(0, "x", 0.0, 0.0), Split::Train);
        assert_eq!(by_fraction(0, "x", 0.0, 1.0), Split::Test);
    }
}
