use super::*;
use rand_distr::{Distribution, Normal};

fn rec(score: f64, label: u8, video: &str) -> ScoreRecord {
    ScoreRecord {
        path: None,
        score,
        label,
        video: video.to_string(),
    }
}

/// Pair counting, O(n^2): an AUC computed without ranks.
fn naive_auc(s: &[f64], l: &[u8]) -> f64 {
    let (mut num, mut pairs) = (0.0, 0.0);
    for i in 0..s.len() {
        for j in 0..s.len() {
            if l[i] == 1 && l[j] == 0 {
                pairs += 1.0;
                num += if s[i] > s[j] {
                    1.0
                } else if s[i] == s[j] {
                    0.5
                } else {
                    0.0
                };
            }
        }
    }
    num / pairs
}

#[test]
fn percentile_is_numpys_linear_rule() {
    let v = [1.0, 2.0, 4.0, 8.0];
    // numpy.percentile([1,2,4,8], [0, 2.5, 50, 97.5, 100]) = 1, 1.075, 3, 7.7, 8
    for (q, want) in [
        (0.0, 1.0),
        (0.025, 1.075),
        (0.5, 3.0),
        (0.975, 7.7),
        (1.0, 8.0),
    ] {
        assert!((percentile(&v, q) - want).abs() < 1e-12, "{q}");
    }
}

#[test]
fn identities_group_a_face_with_its_fakes() {
    assert_eq!(identity_of("sample1#3@self_blend"), "sample1#3");
    assert_eq!(identity_of("000_003"), "000_003");
    let cl = clusters(&["b@x", "a", "b", "a@y", "c"]);
    assert_eq!(cl, vec![vec![1, 3], vec![0, 2], vec![4]]);
}

/// The interval against one computed independently: the same draws (ChaCha8 under the
/// documented seed, k uniform cluster picks per resample), pair-counting AUC, a sort and
/// numpy's percentile rule written out.
#[test]
fn auc_interval_matches_an_independent_computation() {
    let normal = Normal::new(0.0, 1.0).unwrap();
    let mut g = ChaCha8Rng::seed_from_u64(3);
    let mut recs = Vec::new();
    for id in 0..12 {
        for f in 0..3 {
            recs.push(rec(normal.sample(&mut g), 0, &format!("p{id}")));
            recs.push(rec(normal.sample(&mut g) + 1.0, 1, &format!("p{id}@m{f}")));
        }
    }
    let got = intervals(&recs).unwrap().auc;

    let mut ids: Vec<String> = recs
        .iter()
        .map(|r| identity_of(&r.video).to_string())
        .collect();
    ids.sort();
    ids.dedup();
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut stats = Vec::new();
    for _ in 0..RESAMPLES {
        let (mut s, mut l) = (Vec::new(), Vec::new());
        for _ in 0..ids.len() {
            let id = &ids[rng.random_range(0..ids.len())];
            for r in recs.iter().filter(|r| identity_of(&r.video) == id) {
                s.push(r.score);
                l.push(r.label);
            }
        }
        stats.push(naive_auc(&s, &l));
    }
    stats.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (stats.len() - 1) as f64;
        let i = pos.floor() as usize;
        stats[i] + (pos - i as f64) * (stats[i + 1] - stats[i])
    };
    assert_eq!(got.clusters, 12);
    assert_eq!(got.resamples, RESAMPLES);
    assert!(
        (got.lo - q(0.025)).abs() < 1e-12,
        "{} vs {}",
        got.lo,
        q(0.025)
    );
    assert!(
        (got.hi - q(0.975)).abs() < 1e-12,
        "{} vs {}",
        got.hi,
        q(0.975)
    );
}

/// With independent records the bootstrap's width matches the analytic standard error of
/// Hanley & McNeil (1982); copying every record 10x inside its identity leaves the identity
/// bootstrap's width where it was (no new evidence), where a frame bootstrap would shrink it.
#[test]
fn width_follows_hanley_mcneil_and_ignores_copies_within_an_identity() {
    let normal = Normal::new(0.0, 1.0).unwrap();
    let mut g = ChaCha8Rng::seed_from_u64(9);
    let n = 300;
    let mut recs = Vec::new();
    for i in 0..n {
        recs.push(rec(normal.sample(&mut g), 0, &format!("r{i}")));
        recs.push(rec(normal.sample(&mut g) + 0.8, 1, &format!("f{i}")));
    }
    let (s, l): (Vec<f64>, Vec<u8>) = recs.iter().map(|r| (r.score, r.label)).unzip();
    let a = metrics::auc(&s, &l).unwrap();
    let (q1, q2) = (a / (2.0 - a), 2.0 * a * a / (1.0 + a));
    let nf = n as f64;
    let se = ((a * (1.0 - a) + (nf - 1.0) * (q1 - a * a) + (nf - 1.0) * (q2 - a * a)) / (nf * nf))
        .sqrt();
    let ci = intervals(&recs).unwrap().auc;
    let width = ci.hi - ci.lo;
    let want = 2.0 * 1.96 * se;
    assert!((width / want - 1.0).abs() < 0.2, "{width} vs {want}");
    assert!(ci.lo < a && a < ci.hi);

    let copies: Vec<ScoreRecord> = recs
        .iter()
        .flat_map(|r| std::iter::repeat_n(r.clone(), 10))
        .collect();
    let ci10 = intervals(&copies).unwrap().auc;
    assert!(
        ((ci10.hi - ci10.lo) / width - 1.0).abs() < 0.15,
        "{ci10:?} vs {ci:?}"
    );
}

#[test]
fn paired_difference_sees_a_consistent_gain_and_refuses_misaligned_tables() {
    let normal = Normal::new(0.0, 1.0).unwrap();
    let mut g = ChaCha8Rng::seed_from_u64(4);
    let mut base = Vec::new();
    for id in 0..40 {
        for f in 0..4 {
            base.push((normal.sample(&mut g), 0u8, format!("p{id}"), f));
            base.push((normal.sample(&mut g) + 0.5, 1u8, format!("p{id}@m"), f));
        }
    }
    // b is a; a' separates the classes more (fakes shifted up) on every identity.
    let table = |shift: f64| -> Vec<ScoreRecord> {
        base.iter()
            .map(|(s, l, v, f)| ScoreRecord {
                path: Some(format!("{v}/{f}")),
                score: s + shift * *l as f64,
                label: *l,
                video: v.clone(),
            })
            .collect()
    };
    let (better, same) = (table(1.0), table(0.0));
    let (d, ci) = paired_auc_difference(&[&better], &[&same, &same]).unwrap();
    assert!(d > 0.1 && ci.excludes_zero() && ci.lo > 0.0, "{d} {ci:?}");
    let (d0, ci0) = paired_auc_difference(&[&same], &[&same]).unwrap();
    assert_eq!(d0, 0.0);
    assert!(!ci0.excludes_zero());
    let mut shuffled = same.clone();
    shuffled.swap(0, 1);
    assert!(paired_auc_difference(&[&better], &[&shuffled]).is_none());
}
