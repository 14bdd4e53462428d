//! Tests of the model report's parts: confusion counts, map up-sampling, subsampling,
//! t-SNE, per-method metrics and the choice of faces for the attention sheet.
use super::attention::{overlay, upsample};
use super::confusion::Confusion;
use super::inspect::{pick_per_domain, Inspected};
use super::model_report::per_domain;
use super::tsne::{embed, perplexity_for, subsample};
use crate::manifest::{Record, Split};
use crate::metrics::ScoreRecord;

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn confusion_counts_rows_by_truth_and_keeps_held_out_rows() {
    let model = names(&["real", "a", "b"]);
    let truth = names(&["real", "real", "a", "a", "b", "held", "held", "held"]);
    let pred = [0, 1, 1, 1, 0, 2, 2, 0];
    let c = Confusion::new(&truth, &pred, &model).unwrap();
    assert_eq!(c.cols, model);
    assert_eq!(c.rows, names(&["real", "a", "b", "held"]));
    assert_eq!(
        c.counts,
        vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 0], vec![1, 0, 2]]
    );
    let f = c.row_fractions();
    assert!((f[3][2] - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(
        c.to_csv(),
        "true\\predicted,real,a,b\nreal,1,1,0\na,0,2,0\nb,1,0,0\nheld,1,0,2\n"
    );
    // A trained domain absent from the split has no row.
    let c = Confusion::new(&names(&["real", "a"]), &[0, 2], &model).unwrap();
    assert_eq!(c.rows, names(&["real", "a"]));
    assert!(Confusion::new(&names(&["real"]), &[3], &model).is_err());
    assert!(Confusion::new(&names(&["real"]), &[0, 1], &model).is_err());
    let img = Confusion::new(&truth, &pred, &model)
        .unwrap()
        .render("t")
        .unwrap();
    assert!(img.width() > 300 && img.height() > 300);
}

#[test]
fn upsample_matches_half_pixel_bilinear() {
    // torch.nn.functional.interpolate(mode="bilinear", align_corners=False) of [[0, 4], [8, 12]]
    // to 4x4: rows 0, 1, 3, 3... computed by hand from the half-pixel rule.
    let up = upsample(&[0.0, 4.0, 8.0, 12.0], (2, 2), 4).unwrap();
    let row0 = [0.0, 1.0, 3.0, 4.0];
    let row1 = [2.0, 3.0, 5.0, 6.0];
    let row3 = [8.0, 9.0, 11.0, 12.0];
    for (x, v) in row0.iter().enumerate() {
        assert!((up[x] - v).abs() < 1e-6, "{up:?}");
        assert!((up[4 + x] - row1[x]).abs() < 1e-6, "{up:?}");
        assert!((up[12 + x] - row3[x]).abs() < 1e-6, "{up:?}");
    }
    assert!(upsample(&[1.0; 3], (2, 2), 4).is_err());
}

#[test]
fn overlay_keeps_size_and_marks_the_hot_spot() {
    let face = image::GrayImage::from_pixel(8, 8, image::Luma([128]));
    let img = overlay(&face, &[0.0, 0.0, 0.0, 1.0], (2, 2), 1.0).unwrap();
    assert_eq!(img.dimensions(), (8, 8));
    // Viridis runs from dark purple (low) to yellow (high).
    let (lo, hi) = (img.get_pixel(0, 0).0, img.get_pixel(7, 7).0);
    assert!(
        hi[0] > 200 && hi[1] > 200 && lo[0] < 100 && lo[1] < 30,
        "{lo:?} {hi:?}"
    );
}

#[test]
fn subsample_keeps_each_group_share_in_order() {
    let g: Vec<String> = (0..100)
        .map(|i| if i < 80 { "a" } else { "b" }.to_string())
        .collect();
    let k = subsample(&g, 10);
    assert_eq!(k.len(), 10);
    assert!(k.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(k.iter().filter(|&&i| i >= 80).count(), 2);
    assert_eq!(subsample(&g, 500).len(), 100);
    assert_eq!(perplexity_for(1000), 30.0);
    assert_eq!(perplexity_for(31), 10.0);
}

#[test]
fn tsne_separates_two_clusters_and_is_seeded() {
    let mut feats = Vec::new();
    for i in 0..30 {
        let c = if i < 15 { 0.0 } else { 10.0 };
        feats.push(
            (0..8)
                .map(|d| c + ((i * 7 + d * 3) % 5) as f32 * 0.1)
                .collect(),
        );
    }
    let a = embed(&feats, 3, 1000).unwrap();
    let b = embed(&feats, 3, 1000).unwrap();
    assert_eq!(a, b);
    let d = |p: [f32; 2], q: [f32; 2]| (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2);
    // Each point's nearest neighbour in the plane lies in its own cluster.
    let same = (0..30)
        .filter(|&i| {
            let nn = (0..30)
                .filter(|&j| j != i)
                .min_by(|&x, &y| d(a[i], a[x]).total_cmp(&d(a[i], a[y])))
                .unwrap();
            (nn < 15) == (i < 15)
        })
        .count();
    assert!(
        same >= 28,
        "{same} of 30 nearest neighbours in the same cluster: {a:?}"
    );
    assert!(embed(&feats[..3], 0, 10).is_err());
    let mut bad = feats.clone();
    bad[2][1] = f32::NAN;
    assert!(embed(&bad, 0, 10).is_err());
}

#[test]
fn per_domain_pits_each_method_against_all_reals() {
    let rec = |score, label| ScoreRecord {
        path: None,
        score,
        label,
        video: "v".into(),
    };
    let ins = Inspected {
        records: vec![
            rec(0.1, 0),
            rec(0.5, 0),
            rec(0.9, 1),
            rec(0.6, 1),
            rec(0.3, 1),
            rec(0.05, 1),
        ],
        domains: names(&["real", "real", "a", "a", "b", "b"]),
        features: vec![vec![0.0]; 6],
        dom_features: None,
        domain_pred: None,
        skipped: vec![],
    };
    let d = per_domain(&ins);
    assert_eq!(d.len(), 2);
    // a: 0.9 and 0.6 beat both reals -> 1.0; b: 0.3 beats 0.1 only, 0.05 beats none -> 1/4.
    assert_eq!((d[0].domain.as_str(), d[0].metrics.auc), ("a", 1.0));
    assert_eq!((d[1].domain.as_str(), d[1].metrics.auc), ("b", 0.25));
}

#[test]
fn attention_faces_come_from_different_videos_first() {
    let r = |dom: &str, video: &str| Record::new("x.png", 1, dom, video, Split::Test);
    let recs = [
        r("b", "v1"),
        r("b", "v1"),
        r("b", "v2"),
        r("a", "v3"),
        r("a", "v3"),
    ];
    let refs: Vec<&Record> = recs.iter().collect();
    let p = pick_per_domain(&refs, 2);
    let got: Vec<(&str, &str)> = p
        .iter()
        .map(|r| (r.domain.as_str(), r.video.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![("a", "v3"), ("a", "v3"), ("b", "v1"), ("b", "v2")]
    );
}
