use super::*;
use proptest::prelude::*;

const EPS: f64 = 1e-12;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

// scores [0.1, 0.4, 0.35, 0.8], labels [0, 0, 1, 1]
// Fake/real pairs: 0.8 beats 0.1 and 0.4 (2); 0.35 beats 0.1, loses to 0.4 (1) -> AUC 3/4.
// Descending: 0.8(F) 0.4(R) 0.35(F) 0.1(R)
//   t=0.8 : tp1 fp0 -> R 0.5 P 1    ROC (0, 0.5)
//   t=0.4 : tp1 fp1 -> R 0.5 P 0.5  ROC (0.5, 0.5)  FPR = FNR = 0.5 exactly
//   t=0.35: tp2 fp1 -> R 1   P 2/3  ROC (0.5, 1)
//   t=0.1 : tp2 fp2 -> R 1   P 0.5  ROC (1, 1)
// AP = 0.5*1 + 0*0.5 + 0.5*(2/3) = 0.8333...; ACC: 0.35 is the only miss -> 0.75.
const S1: [f64; 4] = [0.1, 0.4, 0.35, 0.8];
const L1: [u8; 4] = [0, 0, 1, 1];

#[test]
fn small_case_by_hand() {
    assert!(close(auc(&S1, &L1).unwrap(), 0.75));
    assert!(close(average_precision(&S1, &L1).unwrap(), 5.0 / 6.0));
    assert!(close(accuracy(&S1, &L1).unwrap(), 0.75));
    let e = eer(&S1, &L1).unwrap();
    assert!(close(e.eer, 0.5) && close(e.threshold, 0.4), "{e:?}");
    let roc = roc_curve(&S1, &L1).unwrap();
    let pts: Vec<(f64, f64)> = roc.iter().map(|p| (p.fpr, p.tpr)).collect();
    assert_eq!(
        pts,
        [(0.0, 0.0), (0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (1.0, 1.0)]
    );
    assert_eq!(roc[0].threshold, f64::INFINITY);
    assert_eq!(roc[4].threshold, 0.1);
}

// scores [0.3, 0.3, 0.3, 0.7, 0.1], labels [1, 0, 0, 1, 0]
// Pairs (fake vs real): 0.3 vs 0.3 twice -> 1/2 + 1/2; 0.3 vs 0.1 -> 1; 0.7 beats all 3 -> 3.
// AUC = 5/6. Groups: 0.7: tp1 fp0 (R .5, P 1); 0.3: tp2 fp2 (R 1, P .5) -> AP = .5 + .25 = .75.
#[test]
fn ties_count_half() {
    let s = [0.3, 0.3, 0.3, 0.7, 0.1];
    let l = [1, 0, 0, 1, 0];
    assert!(close(auc(&s, &l).unwrap(), 5.0 / 6.0));
    assert!(close(average_precision(&s, &l).unwrap(), 0.75));
    // All scores tied: no information, AUC 1/2; ROC jumps straight to (1,1).
    assert!(close(auc(&[0.5; 4], &[0, 1, 1, 0]).unwrap(), 0.5));
    let e = eer(&[0.5, 0.5], &[0, 1]).unwrap();
    assert!(close(e.eer, 0.5) && close(e.threshold, 0.5), "{e:?}");
}

// scores [0.1, 0.2, 0.3, 0.4, 0.5], labels [0, 1, 0, 1, 1]; P = 3, N = 2.
// ROC: t=.5 (0, 1/3) d=-2/3; t=.4 (0, 2/3) d=-1/3; t=.3 (1/2, 2/3) d=+1/6  (d = FPR - FNR)
// Crossing between t=.4 and t=.3 at fraction u = (1/3)/(1/6 + 1/3) = 2/3:
// FPR = 2/3 * 1/2 = 1/3, FNR = 1 - 2/3 = 1/3 -> EER 1/3; threshold .4 - 2/3*.1 = 0.3333.
#[test]
fn eer_interpolates_between_bracketing_points() {
    let e = eer(&[0.1, 0.2, 0.3, 0.4, 0.5], &[0, 1, 0, 1, 1]).unwrap();
    assert!(close(e.eer, 1.0 / 3.0), "{e:?}");
    assert!(close(e.threshold, 0.4 - 0.2 / 3.0), "{e:?}");
}

#[test]
fn perfect_separation() {
    let s = [0.1, 0.2, 0.7, 0.9];
    let l = [0, 0, 1, 1];
    let m = Metrics::compute(&s, &l).unwrap();
    assert_eq!((m.n, m.n_real, m.n_fake), (4, 2, 2));
    assert!(close(m.auc, 1.0) && close(m.ap, 1.0) && close(m.acc, 1.0));
    assert!(m.eer.abs() < EPS && close(m.eer_threshold, 0.7), "{m:?}");
    // Reversed scores: AUC 0, EER 1.
    let r = Metrics::compute(&s, &[1, 1, 0, 0]).unwrap();
    assert!(r.auc.abs() < EPS && close(r.eer, 1.0), "{r:?}");
}

#[test]
fn accuracy_counts_half_as_fake() {
    assert!(close(accuracy(&[0.5, 0.4999], &[1, 0]).unwrap(), 1.0));
    assert!(close(accuracy(&[0.5], &[0]).unwrap(), 0.0));
}

#[test]
fn degenerate_inputs_are_errors() {
    let msg = |r: Result<f64>| r.unwrap_err().to_string();
    let e = msg(auc(&[0.2, 0.9], &[1, 1]));
    assert!(
        e.contains("AUC needs both real (0) and fake (1) labels; got only 2 fake"),
        "{e}"
    );
    let e = msg(auc(&[0.2], &[0]));
    assert!(e.contains("got only 1 real"), "{e}");
    assert!(msg(auc(&[], &[])).contains("empty"));
    assert!(msg(auc(&[0.1, 0.2], &[0])).contains("2 scores but 1 labels"));
    let e = msg(auc(&[0.1, f64::NAN, 0.3], &[0, 1, 1]));
    assert!(e.contains("index 1 is NaN"), "{e}");
    let e = msg(average_precision(&[0.1, 0.2, f64::INFINITY], &[0, 1, 1]));
    assert!(e.contains("index 2 is inf"), "{e}");
    let e = msg(accuracy(&[0.1, 0.2], &[0, 2]));
    assert!(e.contains("label at index 1 is 2"), "{e}");
    assert!(eer(&[0.3, 0.4], &[0, 0]).is_err());
    assert!(roc_curve(&[0.3, 0.4], &[1, 1]).is_err());
    assert!(Metrics::compute(&[0.3], &[1]).is_err());
}

fn rec(video: &str, score: f64, label: u8) -> ScoreRecord {
    ScoreRecord {
        path: None,
        score,
        label,
        video: video.into(),
    }
}

#[test]
fn video_level_means_frames_in_first_seen_order() {
    let r = [
        rec("a", 0.2, 0),
        rec("b", 0.9, 1),
        rec("a", 0.4, 0),
        rec("c", 0.6, 1),
        rec("c", 0.8, 1),
    ];
    let v = video_level(&r).unwrap();
    let got: Vec<(&str, f64, u8, usize)> = v
        .iter()
        .map(|v| (v.video.as_str(), v.score, v.label, v.frames))
        .collect();
    assert_eq!(got.len(), 3);
    assert_eq!((got[0].0, got[0].2, got[0].3), ("a", 0, 2));
    assert!(close(got[0].1, 0.3) && close(got[1].1, 0.9) && close(got[2].1, 0.7));
    assert_eq!((got[2].0, got[2].3), ("c", 2));
    let e = video_level(&[rec("a", 0.2, 0), rec("a", 0.4, 1)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("video `a` has frames with both labels"), "{e}");
}

#[test]
fn labelled_metrics_print_and_serialize() {
    // Frames: a(0.2, 0.4: real) b(0.9: fake) c(0.35, 0.45: fake).
    // Frame-level pairs: 0.9 beats both reals (2); 0.35 beats 0.2 (1); 0.45 beats both (2) -> 5/6.
    // Video means: a 0.3, b 0.9, c 0.4 -> both fakes above the one real -> AUC 1.
    let r = [
        rec("a", 0.2, 0),
        rec("a", 0.4, 0),
        rec("b", 0.9, 1),
        rec("c", 0.35, 1),
        rec("c", 0.45, 1),
    ];
    let [f, v] = frame_and_video(&r, "test", "best(val AUC)").unwrap();
    assert!(close(f.metrics.auc, 5.0 / 6.0) && close(v.metrics.auc, 1.0));
    assert_eq!((f.metrics.n, v.metrics.n), (5, 3));
    let line = f.to_string();
    assert!(
        line.starts_with(
            "frame-level  split=test  checkpoint=best(val AUC)  n=5 (real 2, fake 3)  AUC=0.8333 ["
        ),
        "{line}"
    );
    // The interval comes with the number of identities it was resampled over.
    assert!(
        line.ends_with("(95% CI, bootstrap over 3 identities)"),
        "{line}"
    );
    let ci = f.ci.unwrap();
    assert!(ci.auc.lo <= f.metrics.auc && f.metrics.auc <= ci.auc.hi);
    assert!(v.to_string().starts_with("video-level  split=test"));
    let j = serde_json::to_value(&v).unwrap();
    assert_eq!(j["level"], "video");
    assert_eq!(j["metrics"]["n"], 3);
    // One video only: the video level cannot be measured and says so.
    let e = frame_and_video(&[rec("a", 0.2, 0), rec("a", 0.4, 0)], "x", "y");
    assert!(e.is_err());
}

#[test]
fn scores_file_round_trip_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("scores.jsonl");
    let mut r = vec![rec("v1", 0.123456789012345, 1), rec("v2", 1e-7, 0)];
    r[0].path = Some("faces/v1/0.png".into());
    write_scores(&p, &r).unwrap();
    assert_eq!(read_scores(&p).unwrap(), r);

    std::fs::write(
        &p,
        "{\"score\": 0.5, \"label\": 1, \"extra\": [1]}\n\n{\"score\": 0.25, \"label\": 0, \"video\": \"x\"}\n",
    )
    .unwrap();
    let got = read_scores(&p).unwrap();
    assert_eq!(got, vec![rec("1", 0.5, 1), rec("x", 0.25, 0)]);

    std::fs::write(
        &p,
        "{\"score\": 0.5, \"label\": 1}\n{\"score\": 0.5, \"label\": 3}\n",
    )
    .unwrap();
    let e = read_scores(&p).unwrap_err().to_string();
    assert!(
        e.contains("scores.jsonl:2: label must be 0 (real) or 1 (fake), got 3"),
        "{e}"
    );
    std::fs::write(&p, "{\"label\": 1}\n").unwrap();
    let e = read_scores(&p).unwrap_err().to_string();
    assert!(e.contains("scores.jsonl:1: missing field `score`"), "{e}");
    std::fs::write(&p, "{\"score\": \"high\", \"label\": 1}\n").unwrap();
    assert!(read_scores(&p)
        .unwrap_err()
        .to_string()
        .contains("finite number"));
    assert!(write_scores(&p, &[rec("a", f64::NAN, 0)]).is_err());
}

/// O(n^2) pair count, ties 1/2: the definition, not the rank formula.
fn auc_by_pairs(s: &[f64], l: &[u8]) -> f64 {
    let mut wins = 0.0;
    let mut pairs = 0.0;
    for (&si, _) in s.iter().zip(l).filter(|(_, &y)| y == 1) {
        for (&sj, _) in s.iter().zip(l).filter(|(_, &y)| y == 0) {
            pairs += 1.0;
            wins += if si > sj {
                1.0
            } else if si == sj {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / pairs
}

/// AP as the mean, over fakes, of the precision at that fake's score threshold.
fn ap_by_fakes(s: &[f64], l: &[u8]) -> f64 {
    let fakes: Vec<f64> = s
        .iter()
        .zip(l)
        .filter(|(_, &y)| y == 1)
        .map(|(&x, _)| x)
        .collect();
    let total: f64 = fakes
        .iter()
        .map(|&t| {
            let above = s.iter().filter(|&&x| x >= t).count() as f64;
            let tp = fakes.iter().filter(|&&x| x >= t).count() as f64;
            tp / above
        })
        .sum();
    total / fakes.len() as f64
}

fn tied_data() -> impl Strategy<Value = (Vec<f64>, Vec<u8>)> {
    prop::collection::vec((0u8..5, 0u8..2), 2..60)
        .prop_map(|v| {
            (
                v.iter().map(|(s, _)| *s as f64 / 4.0).collect(),
                v.iter().map(|(_, l)| *l).collect(),
            )
        })
        .prop_filter("both classes", |(_, l): &(Vec<f64>, Vec<u8>)| {
            l.contains(&0) && l.contains(&1)
        })
}

proptest! {
    #[test]
    fn auc_equals_pair_count((s, l) in tied_data()) {
        let a = auc(&s, &l).unwrap();
        prop_assert!((a - auc_by_pairs(&s, &l)).abs() < 1e-9);
    }

    #[test]
    fn ap_equals_mean_precision_at_fakes((s, l) in tied_data()) {
        let a = average_precision(&s, &l).unwrap();
        prop_assert!((a - ap_by_fakes(&s, &l)).abs() < 1e-9);
    }

    #[test]
    fn eer_is_where_fpr_equals_fnr_on_the_roc((s, l) in tied_data()) {
        // Along the ROC, FPR rises and FNR falls, so the crossing value lies between the
        // largest min(FPR, FNR) and the smallest max(FPR, FNR) over the points.
        let e = eer(&s, &l).unwrap();
        let roc = roc_curve(&s, &l).unwrap();
        prop_assert!((0.0..=1.0).contains(&e.eer));
        let best = roc.iter().map(|p| p.fpr.max(1.0 - p.tpr)).fold(f64::INFINITY, f64::min);
        let worst_below = roc.iter().map(|p| p.fpr.min(1.0 - p.tpr)).fold(f64::NEG_INFINITY, f64::max);
        prop_assert!(e.eer <= best + 1e-12 && e.eer >= worst_below - 1e-12);
    }
}
