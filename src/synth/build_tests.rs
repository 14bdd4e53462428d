use super::*;
use crate::face::Detection;
use image::Rgb;
use std::collections::{BTreeSet, HashMap};

/// A 240x240 "photo" with one face-like blob: skin ellipse, white dots at the five
/// landmarks, a textured background; `k` moves and tints it so identities differ.
fn synthetic_face(k: usize) -> (RgbImage, Detection) {
    let (ox, oy) = (100.0 + (k % 3) as f32 * 8.0, 95.0 + (k % 4) as f32 * 6.0);
    let lm: Landmarks = [
        [ox - 20.0, oy],
        [ox + 20.0, oy - 1.0],
        // Nose off-centre towards the image right, so a mirror image is recognisable.
        [ox + 8.0, oy + 22.0],
        [ox - 15.0, oy + 42.0],
        [ox + 15.0, oy + 41.0],
    ];
    let tint = (k * 37 % 60) as u8;
    let img = RgbImage::from_fn(240, 240, |x, y| {
        let (fx, fy) = (x as f32 - ox, y as f32 - (oy + 18.0));
        if lm
            .iter()
            .any(|p| (p[0] - x as f32).abs() <= 1.5 && (p[1] - y as f32).abs() <= 1.5)
        {
            Rgb([255, 255, 255])
        } else if (fx / 45.0).powi(2) + (fy / 60.0).powi(2) <= 1.0 {
            Rgb([190 - tint, 140, 120 + tint / 2])
        } else {
            let t = ((x * 7 + y * 13 + k as u32 * 5) % 50) as u8;
            Rgb([40 + t, 60 + tint, 80 + t])
        }
    });
    let det = Detection {
        bbox: [ox - 45.0, oy - 42.0, ox + 45.0, oy + 78.0],
        prob: 0.999,
        landmarks: lm,
    };
    (img, det)
}

/// `n` faces spread over three "photos".
fn faces(n: usize) -> Vec<SourceFace> {
    (0..n)
        .map(|k| {
            let (img, det) = synthetic_face(k);
            SourceFace {
                identity: format!("photo{}#{k}", k % 3),
                person: format!("photo{}#{k}", k % 3),
                photo_name: format!("photo{}.jpg", k % 3),
                photo: Arc::new(img),
                detection: det,
            }
        })
        .collect()
}

fn small_opts(seed: u64) -> SynthOptions {
    SynthOptions {
        seed,
        per_face: 2,
        size: 96,
        sheet_rows: 3,
        ..SynthOptions::default()
    }
}

#[test]
fn splits_are_identity_disjoint_deterministic_and_near_60_20_20() {
    let ids: Vec<String> = (0..20).map(|k| format!("p{}#{k}", k % 4)).collect();
    let items = || ids.iter().map(|id| id.as_str());
    let a = assign_splits(items(), 7);
    let b = assign_splits(items(), 7);
    assert_eq!(a, b);
    assert_eq!(a.len(), 20);
    let count = |s| a.values().filter(|&&x| x == s).count();
    assert_eq!(
        (count(Split::Train), count(Split::Val), count(Split::Test)),
        (12, 4, 4)
    );
    // Another seed deals the identities differently.
    assert_ne!(assign_splits(items(), 8), a);
    // Input order does not matter.
    let rev: Vec<_> = items().collect::<Vec<_>>().into_iter().rev().collect();
    assert_eq!(assign_splits(rev, 7), a);
}

/// Faces, not persons, are shared 60/20/20: two persons filmed for 32 frames and 40 of one
/// photo each give 104 faces (shares 62.4 / 20.8 / 20.8). By hand: both videos go to train
/// (room 62.4, then 30.4 against 20.8), then the single faces fill val and test to 20 each.
#[test]
fn splits_share_faces_not_persons() {
    let mut faces: Vec<String> = (0..40).map(|k| format!("single{k}")).collect();
    for video in ["vid_a", "vid_b"] {
        faces.extend((0..32).map(|_| video.to_string()));
    }
    let a = assign_splits(faces.iter().map(|f| f.as_str()), 3);
    let mut load: HashMap<Split, usize> = HashMap::new();
    for f in &faces {
        *load.entry(a[f.as_str()]).or_default() += 1;
    }
    assert_eq!((a["vid_a"], a["vid_b"]), (Split::Train, Split::Train));
    assert_eq!(
        (load[&Split::Train], load[&Split::Val], load[&Split::Test]),
        (64, 20, 20)
    );
}

#[test]
fn manifest_is_identity_disjoint_and_labels_match_domains() {
    let dir = tempfile::tempdir().unwrap();
    let faces = faces(10);
    let summary = build(&faces, &small_opts(3), dir.path()).unwrap();
    let m = Manifest::read(dir.path().join("manifest.jsonl")).unwrap();
    let methods: Vec<String> = methods::all_methods()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    assert_eq!(summary.methods, methods);
    assert_eq!(m.records.len(), 10 * 2 * (1 + methods.len()));

    let mut split_of: HashMap<&str, Split> = HashMap::new();
    let mut label_of: HashMap<&str, u8> = HashMap::new();
    for r in &m.records {
        // The identity is the video id up to the method suffix.
        let identity = r.video.split('@').next().unwrap();
        let prev = split_of.insert(identity, r.split);
        let prev_label = label_of.insert(&r.video, r.label);
        assert!(
            prev_label.is_none() || prev_label == Some(r.label),
            "{} mixes labels",
            r.video
        );
        assert!(
            prev.is_none() || prev == Some(r.split),
            "{} in two splits",
            r.video
        );
        assert_eq!(r.label == 0, r.domain == REAL_DOMAIN, "{r:?}");
        assert!(
            r.domain == REAL_DOMAIN || methods.contains(&r.domain),
            "{r:?}"
        );
        assert!(
            r.path.starts_with(Path::new("images").join(&r.domain)),
            "{r:?}"
        );
        let img = image::open(m.resolve(r)).unwrap();
        assert_eq!((img.width(), img.height()), (96, 96));
    }
    assert_eq!(split_of.len(), 10);
    // Counts in synth.json agree with the manifest.
    let total: usize = summary.splits.values().map(|c| c.images).sum();
    assert_eq!(total, m.records.len());
    let ids: usize = summary.splits.values().map(|c| c.identities).sum();
    assert_eq!(ids, 10);
    for (s, c) in &summary.splits {
        assert_eq!(c.real, m.split(*s).filter(|r| r.label == 0).count());
        for (meth, n) in &c.fake {
            assert_eq!(*n, m.split(*s).filter(|r| &r.domain == meth).count());
        }
    }
    let written: SynthSummary =
        serde_json::from_slice(&std::fs::read(dir.path().join("synth.json")).unwrap()).unwrap();
    assert_eq!(written.splits, summary.splits);
    for meth in &methods {
        assert!(dir
            .path()
            .join("sheets")
            .join(format!("{meth}.png"))
            .is_file());
    }
}

#[test]
fn same_seed_same_images_and_a_second_run_reuses_them() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let faces = faces(10);
    let opts = SynthOptions {
        methods: vec!["identity_swap".into(), "gan_upsample".into()],
        ..small_opts(11)
    };
    let s1 = build(&faces, &opts, d1.path()).unwrap();
    build(&faces, &opts, d2.path()).unwrap();
    let m1 = std::fs::read(d1.path().join("manifest.jsonl")).unwrap();
    assert_eq!(m1, std::fs::read(d2.path().join("manifest.jsonl")).unwrap());
    let manifest = Manifest::read(d1.path().join("manifest.jsonl")).unwrap();
    for r in manifest.records.iter().step_by(5) {
        let a = std::fs::read(d1.path().join(&r.path)).unwrap();
        let b = std::fs::read(d2.path().join(&r.path)).unwrap();
        assert!(a == b, "{} differs between runs", r.path.display());
    }
    // Variants of one face are jittered, not copies.
    let v0 = image::open(d1.path().join(image_path("real", "photo0#0", 0))).unwrap();
    let v1 = image::open(d1.path().join(image_path("real", "photo0#0", 1))).unwrap();
    assert_ne!(v0.as_bytes(), v1.as_bytes());

    assert_eq!((s1.written, s1.reused), (manifest.records.len(), 0));
    let again = build(&faces, &opts, d1.path()).unwrap();
    assert_eq!((again.written, again.reused), (0, manifest.records.len()));
    assert_eq!(again.splits, s1.splits);

    let err = build(&faces, &small_opts(12), d1.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("seed 11"), "{err}");

    // Same options, but more faces move persons between splits: the old images (donors
    // included) belong to another assignment.
    let err = build(&self::faces(14), &opts, d1.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("another assignment of faces to splits"),
        "{err}"
    );
    assert!(err.contains("of 14 faces"), "{err}");
}

#[test]
fn variant_landmarks_follow_the_image_through_jitter_and_flip() {
    let (img, det) = synthetic_face(1);
    let a = align_or_crop(&img, det.bbox, &det.landmarks, 128, 1.3);
    assert!(!a.fallback);
    let p = Prepared {
        identity: "x#0".into(),
        person: "x#0".into(),
        split: Split::Train,
        photo: Arc::new(img),
        landmarks: det.landmarks,
        base: a.transform,
    };
    let mut flips = BTreeSet::new();
    for v in 0..12 {
        let mut rng = image_rng(5, "x#0", "real", v);
        let f = variant(&p, 128, &mut rng);
        let [le, re, nose, lm, rm] = f.landmarks;
        assert!(le[0] < re[0] && lm[0] < rm[0], "{:?}", f.landmarks);
        // The white landmark dots of the photo sit under the returned landmarks.
        for q in &f.landmarks {
            let px = f.image.get_pixel(q[0].round() as u32, q[1].round() as u32);
            assert!(px[0] > 200 && px[1] > 180, "no dot under {q:?}: {px:?}");
        }
        // Which side of the eye midpoint the nose lies on, along the eye axis: only a mirror
        // image changes it.
        let (ax, ay) = (re[0] - le[0], re[1] - le[1]);
        let (mx, my) = ((le[0] + re[0]) / 2.0, (le[1] + re[1]) / 2.0);
        flips.insert((nose[0] - mx) * ax + (nose[1] - my) * ay > 0.0);
    }
    // Some variants were mirrored and some not.
    assert_eq!(flips.len(), 2);
}

#[test]
fn unknown_method_and_too_few_faces_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SynthOptions {
        methods: vec!["nope".into()],
        ..small_opts(0)
    };
    let err = build(&faces(10), &opts, dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown forgery method `nope`"), "{err}");
    let err = build(&faces(4), &small_opts(0), dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("split"), "{err}");
}

/// Without train fakes, the train split holds its real faces only, and val and test are the
/// same files, byte for byte, as in a full build.
#[test]
fn train_fakes_off_leaves_train_real_only_and_val_test_unchanged() {
    let (full, lean) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let faces = faces(10);
    let opts = SynthOptions {
        methods: vec!["self_blend".into()],
        ..small_opts(5)
    };
    build(&faces, &opts, full.path()).unwrap();
    let no_train = SynthOptions {
        train_fakes: false,
        ..opts
    };
    build(&faces, &no_train, lean.path()).unwrap();
    let (a, b) = (
        Manifest::read(full.path().join("manifest.jsonl")).unwrap(),
        Manifest::read(lean.path().join("manifest.jsonl")).unwrap(),
    );
    let train_fakes = |m: &Manifest| m.split(Split::Train).filter(|r| r.label == 1).count();
    assert!(train_fakes(&a) > 0);
    assert_eq!(train_fakes(&b), 0);
    let others = |m: &Manifest| -> Vec<Record> {
        m.records
            .iter()
            .filter(|r| r.split != Split::Train || r.label == 0)
            .cloned()
            .collect()
    };
    assert_eq!(others(&a), others(&b));
    for r in others(&b).iter().filter(|r| r.label == 1) {
        let x = std::fs::read(full.path().join(&r.path)).unwrap();
        assert_eq!(x, std::fs::read(lean.path().join(&r.path)).unwrap());
    }
}
