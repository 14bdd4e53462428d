use super::*;
use crate::metrics;
use std::path::PathBuf;

/// Two identities per split; each has one real image and one image per method.
fn bench(dir: &Path) -> Manifest {
    let methods = [
        "self_blend",
        "identity_swap",
        "gan_upsample",
        "face_warp",
        "local_edit",
    ];
    let mut recs = Vec::new();
    for (split, ids) in [
        (Split::Train, ["a", "b"]),
        (Split::Val, ["c", "d"]),
        (Split::Test, ["e", "f"]),
    ] {
        for id in ids {
            recs.push(Record::new(
                format!("images/real/{id}.png"),
                0,
                "real",
                id,
                split,
            ));
            for m in methods {
                let video = format!("{id}@{m}");
                recs.push(Record::new(
                    format!("images/{m}/{id}.png"),
                    1,
                    m,
                    video,
                    split,
                ));
            }
        }
    }
    Manifest::new(dir.join("data").join("manifest.jsonl"), recs)
}

#[test]
fn seen_manifest_has_no_held_out_method_and_test_sets_only_test() {
    let dir = Path::new("/tmp/demo-out");
    let b = bench(dir);
    let d = derive_manifests(&b, &MethodSplit::default(), dir).unwrap();

    // Real + 3 seen methods, 6 identities, every split.
    assert_eq!(d.seen.records.len(), 6 * 4);
    for r in &d.seen.records {
        assert!(!HELD_OUT_METHODS.contains(&r.domain.as_str()), "{r:?}");
    }
    let splits: BTreeSet<Split> = d.seen.records.iter().map(|r| r.split).collect();
    assert_eq!(splits.len(), 3);

    assert_eq!(d.intra_test.records.len(), 2 * 4);
    assert_eq!(d.cross_test.records.len(), 2 * 3);
    for r in d.intra_test.records.iter().chain(&d.cross_test.records) {
        assert_eq!(r.split, Split::Test);
    }
    let cross: BTreeSet<&str> = d
        .cross_test
        .records
        .iter()
        .map(|r| r.domain.as_str())
        .collect();
    assert_eq!(cross, BTreeSet::from(["real", "face_warp", "local_edit"]));
    let intra: BTreeSet<&str> = d
        .intra_test
        .records
        .iter()
        .map(|r| r.domain.as_str())
        .collect();
    assert_eq!(
        intra,
        BTreeSet::from(["real", "self_blend", "identity_swap", "gan_upsample"])
    );
}

#[test]
fn derived_paths_resolve_to_the_same_files_and_videos_are_kept() {
    let dir = Path::new("/tmp/demo-out");
    let b = bench(dir);
    let d = derive_manifests(&b, &MethodSplit::default(), dir).unwrap();
    let r = &d.intra_test.records[1];
    assert_eq!(r.path, PathBuf::from("data/images/self_blend/e.png"));
    assert_eq!(
        d.intra_test.resolve(r),
        Path::new("/tmp/demo-out/data/images/self_blend/e.png")
    );
    assert_eq!(r.video, "e@self_blend");
    // Groups stay single-label, so video-level metrics of a derived set are defined.
    let scored: Vec<metrics::ScoreRecord> = d
        .cross_test
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| metrics::ScoreRecord {
            path: None,
            score: i as f64,
            label: r.label,
            video: r.video.clone(),
        })
        .collect();
    let [_, video] = metrics::frame_and_video(&scored, "test", "x").unwrap();
    assert_eq!(video.metrics.n, 6);
}

#[test]
fn counts_are_per_set_and_split() {
    let dir = Path::new("/tmp/demo-out");
    let d = derive_manifests(&bench(dir), &MethodSplit::default(), dir).unwrap();
    let names: Vec<(&str, usize, usize)> = d
        .counts
        .iter()
        .map(|c| (c.split.as_str(), c.identities, c.images))
        .collect();
    assert_eq!(
        names,
        [
            ("train", 2, 8),
            ("val", 2, 8),
            ("test", 2, 8),
            ("test", 2, 6)
        ]
    );
    assert_eq!(d.counts[3].domains.get("face_warp"), Some(&2));
    assert_eq!(d.counts[3].domains.get("self_blend"), None);
}

#[test]
fn bad_method_splits_are_errors() {
    let dir = Path::new("/tmp/demo-out");
    let b = bench(dir);
    let split = |seen: &[&str], held: &[&str]| MethodSplit {
        seen: seen.iter().map(|s| s.to_string()).collect(),
        held_out: held.iter().map(|s| s.to_string()).collect(),
    };
    for (s, msg) in [
        (
            split(&["self_blend"], &["self_blend"]),
            "both seen and held out",
        ),
        (
            split(&["self_blend"], &["deepfakes"]),
            "not in the benchmark",
        ),
        (split(&[], &["face_warp"]), "at least one"),
        (split(&["real"], &["face_warp"]), "not a forgery method"),
    ] {
        let e = derive_manifests(&b, &s, dir)
            .err()
            .expect("an error")
            .to_string();
        assert!(e.contains(msg), "{e}");
    }
}

#[test]
fn a_split_without_the_faces_it_needs_is_an_error() {
    let dir = Path::new("/tmp/demo-out");
    let methods = MethodSplit {
        seen: vec!["self_blend".into()],
        held_out: vec!["face_warp".into()],
    };
    // Train without real faces (online fakes need them); val and test without fakes.
    for (drop, msg) in [
        ((Split::Train, true), "the train split needs real images"),
        (
            (Split::Val, false),
            "the val split needs both real and fake images",
        ),
        (
            (Split::Test, false),
            "the test split needs both real and fake images",
        ),
    ] {
        let mut b = bench(dir);
        b.records
            .retain(|r| !(r.split == drop.0 && (r.domain == "real") == drop.1));
        let e = derive_manifests(&b, &methods, dir)
            .err()
            .expect("an error")
            .to_string();
        assert!(e.contains(msg), "{e}");
    }
    assert!(derive_manifests(&bench(dir), &methods, dir).is_ok());
}

#[test]
fn quick_config_is_smaller_and_keeps_the_papers_loss_but_lambda_dec() {
    let seen: Vec<String> = SEEN_METHODS.iter().map(|s| s.to_string()).collect();
    let q = demo_config(Variant::Bce, true, 3, &seen);
    let f = demo_config(Variant::Bce, false, 3, &seen);
    assert_eq!(q.data.online.methods, seen);
    assert_eq!(q.model.size, MODEL_SIZE as i64);
    assert_eq!(q.data.online.size, Some(BENCH_SIZE));
    assert!(q.total_steps() < f.total_steps());
    assert_eq!((q.seed, q.model.variant), (3, Variant::Bce));
    let paper = TrainConfig::default().loss;
    assert_eq!(q.loss.lambda_dec, 0.001);
    assert_eq!(
        crate::did::LossConfig {
            lambda_dec: paper.lambda_dec,
            ..q.loss.clone()
        },
        paper
    );
    q.validate().unwrap();
    f.validate().unwrap();
}

#[test]
fn self_blends_get_three_shares_whatever_the_method_order() {
    let seen: Vec<String> = ["gan_upsample", "self_blend", "face_warp"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let c = demo_config(Variant::Did, false, 0, &seen);
    assert_eq!(c.data.online.shares, [1, 3, 1]);
    c.validate().unwrap();
    let without = demo_config(Variant::Did, false, 0, &seen[..1]);
    assert_eq!(without.data.online.shares, [1]);
    assert!(c.model.frozen_blocks > 0 && c.model.frozen_blocks < 17);
}
