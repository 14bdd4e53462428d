use super::*;
use crate::metrics::{LabelledMetrics, Level};
use crate::metrics::{Metrics, RocPoint};
use plotters::style::{Color, Palette, Palette99};
use std::collections::BTreeMap;

fn lm(level: Level, auc: f64, eer: f64) -> LabelledMetrics {
    LabelledMetrics {
        level,
        split: "test".into(),
        checkpoint_rule: CHECKPOINT_RULE.into(),
        metrics: Metrics {
            n: 10,
            n_real: 5,
            n_fake: 5,
            auc,
            eer,
            eer_threshold: 0.5,
            ap: 0.5,
            acc: 0.5,
        },
        ci: None,
    }
}

fn row(name: &str, intra: (f64, f64), cross: (f64, f64)) -> VariantResult {
    VariantResult {
        variant: name.into(),
        seed: 0,
        config: serde_json::json!({"variant": name}),
        best_epoch: 2,
        best_val_auc: Some(0.9),
        intra: [
            lm(Level::Frame, intra.0, intra.1),
            lm(Level::Video, 0.99, 0.01),
        ],
        cross: [
            lm(Level::Frame, cross.0, cross.1),
            lm(Level::Video, 0.55, 0.45),
        ],
        train_seconds: 12.0,
        test_seconds: 3.0,
    }
}

fn summary() -> ExperimentSummary {
    ExperimentSummary {
        title: "t".into(),
        seed: 7,
        device: "Cpu".into(),
        seen_methods: vec!["self_blend".into()],
        held_out_methods: vec!["face_warp".into()],
        checkpoint_rule: CHECKPOINT_RULE.into(),
        counts: vec![SetCounts {
            name: "cross test".into(),
            split: "test".into(),
            identities: 3,
            images: 9,
            domains: BTreeMap::from([("real".into(), 4), ("face_warp".into(), 5)]),
        }],
        results: vec![
            row("did", (0.91, 0.12), (0.61, 0.41)),
            row("bce", (0.95, 0.08), (0.66, 0.38)),
        ],
        aggregates: Vec::new(),
        comparisons: vec![comparison(-0.05, Some((-0.09, -0.01)))],
        wall_seconds: BTreeMap::from([("total".into(), 100.0)]),
        notes: vec!["a note".into()],
    }
}

fn comparison(d: f64, ci: Option<(f64, f64)>) -> Comparison {
    Comparison {
        a: "did".into(),
        b: "bce".into(),
        set: "cross".into(),
        difference: d,
        ci: ci.map(|(lo, hi)| crate::interval::Interval {
            lo,
            hi,
            clusters: 11,
            resamples: 1000,
        }),
        seeds_a: 3,
        seeds_b: 3,
    }
}

#[test]
fn frame_table_has_labelled_headers_and_the_given_numbers() {
    let t = results_table(&summary().results, Level::Frame);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines.len(), 4);
    let tag = "(frame, test, best(val frame AUC))";
    assert_eq!(
        lines[0],
        format!(
            "| variant | seed | intra AUC {tag} [95% CI] | intra EER | cross AUC {tag} [95% CI] | cross EER |"
        )
    );
    assert_eq!(lines[2], "| did | 0 | 0.9100 | 0.1200 | 0.6100 | 0.4100 |");
    assert_eq!(lines[3], "| bce | 0 | 0.9500 | 0.0800 | 0.6600 | 0.3800 |");
    let v = results_table(&summary().results, Level::Video);
    assert!(
        v.contains("(video, test,")
            && v.contains("| did | 0 | 0.9900 | 0.0100 | 0.5500 | 0.4500 |"),
        "{v}"
    );
}

#[test]
fn aggregates_are_mean_and_sample_sd_over_seeds() {
    let mut rows = summary().results;
    let mut r2 = rows[0].clone();
    r2.seed = 1;
    r2.cross[0].metrics.auc = 0.71;
    rows.push(r2);
    let agg = aggregate(&rows);
    assert_eq!(agg.len(), 2);
    assert_eq!(
        (agg[0].variant.as_str(), agg[0].seeds.clone()),
        ("did", vec![0, 1])
    );
    // mean(0.61, 0.71) = 0.66; sample sd = 0.1 / sqrt(2).
    assert!((agg[0].cross_auc.mean - 0.66).abs() < 1e-12);
    assert!((agg[0].cross_auc.sd - 0.1 / 2f64.sqrt()).abs() < 1e-12);
    assert_eq!(agg[1].cross_auc.sd, 0.0);
    let t = aggregate_table(&agg);
    assert!(t.contains("| did | 2 | 0.9100 +- 0.0000 |"), "{t}");
    // One seed has no sd: the mean alone.
    assert!(t.contains("| bce | 1 | 0.9500 |"), "{t}");
}

#[test]
fn a_verdict_needs_an_interval_that_excludes_zero() {
    let behind = comparison(-0.05, Some((-0.09, -0.01))).sentence();
    assert!(
        behind.contains("-0.0500") && behind.contains("BCE ahead"),
        "{behind}"
    );
    let ahead = comparison(0.04, Some((0.01, 0.07))).sentence();
    assert!(
        ahead.contains("+0.0400")
            && ahead.contains("[0.010, 0.070]")
            && ahead.contains("DID ahead"),
        "{ahead}"
    );
    assert!(ahead.contains("11 test identities") && ahead.contains("3 vs 3 seeds"));
    let open = comparison(0.04, Some((-0.01, 0.07))).sentence();
    assert!(
        open.contains("no verdict") && !open.contains("ahead"),
        "{open}"
    );
    assert!(comparison(0.04, None).sentence().contains("no verdict"));
}

#[test]
fn summary_files_hold_counts_tables_and_labelled_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let s = summary();
    write_summary(dir.path(), &s).unwrap();
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        md.contains("| set | split | identities | images | face_warp | real |"),
        "{md}"
    );
    assert!(md.contains("| cross test | test | 3 | 9 | 5 | 4 |"), "{md}");
    assert!(md.contains(&results_table(&s.results, Level::Frame)));
    assert!(md.contains("BCE ahead"));
    assert!(md.contains("- a note"));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["seed"], 7);
    let cross = &json["results"][1]["cross"][0];
    assert_eq!(
        (cross["level"].as_str(), cross["split"].as_str()),
        (Some("frame"), Some("test"))
    );
    assert_eq!(cross["checkpoint_rule"], CHECKPOINT_RULE);
    assert_eq!(cross["metrics"]["auc"], 0.66);
    assert_eq!(json["results"][1]["variant"], "bce");
    assert_eq!(json["held_out_methods"][0], "face_warp");
}

#[test]
fn roc_png_is_written_decodable_with_the_curve_colours() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roc.png");
    let pt = |fpr, tpr| RocPoint {
        fpr,
        tpr,
        threshold: 0.5,
    };
    let perfect = [pt(0.0, 0.0), pt(0.0, 1.0), pt(1.0, 1.0)];
    let chance = [pt(0.0, 0.0), pt(0.5, 0.5), pt(1.0, 1.0)];
    let curves = [
        roc::Curve {
            label: "did",
            auc: 1.0,
            points: &perfect,
        },
        roc::Curve {
            label: "bce",
            auc: 0.5,
            points: &chance,
        },
    ];
    roc::write_png(&path, "ROC test", &curves, 640, 480).unwrap();
    let img = image::open(&path).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (640, 480));
    for i in 0..2 {
        let c = Palette99::pick(i).to_rgba();
        let n = img.pixels().filter(|p| p.0 == [c.0, c.1, c.2]).count();
        // A 2-px line across a plot of a few hundred pixels, plus its legend sample.
        assert!(n > 300, "curve {i}: {n} pixels of its colour");
    }
    // Labels are drawn: dark pixels below the plot area (x axis tick labels and caption).
    let dark_bottom = (440..480)
        .flat_map(|y| (0..640).map(move |x| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&v| v < 100))
        .count();
    assert!(dark_bottom > 50, "{dark_bottom}");
    assert!(roc::render("x", &curves, 100, 100).is_err());
}
