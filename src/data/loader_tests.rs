//! Tests of the training and evaluation loaders on small PNGs written to a temp dir.
use super::*;
use image::{GrayImage, Luma};
use std::path::Path;

/// Writes `n` textured 12x12 PNGs (distinct per file) and returns their samples.
fn write_samples(dir: &Path, tag: &str, n: usize, label: u8, domain: usize) -> Vec<Sample> {
    (0..n)
        .map(|i| {
            let path = dir.join(format!("{tag}_{i}.png"));
            let seed = (tag.len() * 1000 + i * 7 + domain * 131) as u32;
            GrayImage::from_fn(12, 12, |x, y| {
                Luma([((x * 31 + y * 17 + seed * 29).wrapping_mul(2654435761) >> 24) as u8])
            })
            .save(&path)
            .unwrap();
            Sample {
                path,
                label,
                domain,
            }
        })
        .collect()
}

fn config(balance: Balance, batch: usize) -> TrainLoaderConfig {
    TrainLoaderConfig {
        size: 8,
        batch,
        balance,
        seed: 42,
        workers: 2,
        prefetch: 3,
        augment: AugmentConfig::default(),
        ..TrainLoaderConfig::default()
    }
}

fn labels(b: &Batch) -> Vec<f32> {
    Vec::<f32>::try_from(&b.labels).unwrap()
}

fn domains(b: &Batch) -> Vec<i64> {
    Vec::<i64>::try_from(&b.domains).unwrap()
}

#[test]
fn batches_hold_both_classes_under_imbalance() {
    let dir = tempfile::tempdir().unwrap();
    let mut samples = write_samples(dir.path(), "real", 30, 0, 0);
    samples.extend(write_samples(dir.path(), "fake", 3, 1, 1));
    let mut loader = TrainLoader::new(samples.clone(), &config(Balance::Class, 5), 0).unwrap();
    let mut reals_first_epoch: Vec<usize> = Vec::new();
    for b in 0..50u64 {
        let batch = loader.next_batch().unwrap();
        assert_eq!(batch.number, b);
        assert_eq!(batch.images.size(), [5, 1, 8, 8]);
        let fakes = labels(&batch).iter().filter(|&&l| l == 1.0).count();
        assert_eq!(fakes, if b.is_multiple_of(2) { 3 } else { 2 }, "batch {b}");
        for (&i, &l) in batch.indices.iter().zip(&labels(&batch)) {
            assert_eq!(samples[i].label as f32, l);
        }
        if b < 12 {
            // 12 batches take 6*2 + 6*3 = 30 reals: exactly one epoch.
            reals_first_epoch.extend(batch.indices.iter().filter(|&&i| i < 30));
        }
    }
    reals_first_epoch.sort();
    assert_eq!(reals_first_epoch, (0..30).collect::<Vec<_>>());
}

#[test]
fn class_domain_spreads_fake_domains() {
    let dir = tempfile::tempdir().unwrap();
    let mut samples = write_samples(dir.path(), "r", 10, 0, 0);
    samples.extend(write_samples(dir.path(), "a", 20, 1, 1));
    samples.extend(write_samples(dir.path(), "b", 2, 1, 2));
    samples.extend(write_samples(dir.path(), "c", 2, 1, 3));
    let count = |balance| {
        let mut cfg = config(balance, 6);
        cfg.augment = AugmentConfig::none();
        let mut loader = TrainLoader::new(samples.clone(), &cfg, 0).unwrap();
        let mut total = [0usize; 4];
        // 6-image batches hold 3 fakes; 8 batches = one epoch of the 24 fakes.
        for _ in 0..8 {
            let mut per = [0usize; 4];
            for d in domains(&loader.next_batch().unwrap()) {
                per[d as usize] += 1;
            }
            if balance == Balance::ClassDomain {
                assert_eq!(per, [3, 1, 1, 1]);
            }
            (0..4).for_each(|d| total[d] += per[d]);
        }
        total
    };
    assert_eq!(count(Balance::Class), [24, 20, 2, 2]);
    assert_eq!(count(Balance::ClassDomain), [24, 8, 8, 8]);
}

fn assert_same(a: &Batch, b: &Batch) {
    assert_eq!(a.number, b.number);
    assert_eq!(a.indices, b.indices);
    assert!(
        a.images.equal(&b.images),
        "images of batch {} differ",
        a.number
    );
    assert!(a.labels.equal(&b.labels));
    assert!(a.domains.equal(&b.domains));
}

#[test]
fn deterministic_resumable_and_independent_of_workers() {
    let dir = tempfile::tempdir().unwrap();
    let mut samples = write_samples(dir.path(), "real", 7, 0, 0);
    samples.extend(write_samples(dir.path(), "fake", 5, 1, 1));
    samples.extend(write_samples(dir.path(), "fake2", 3, 1, 2));
    let cfg = config(Balance::ClassDomain, 5);
    let run = |cfg: &TrainLoaderConfig, start, n| {
        let mut loader = TrainLoader::new(samples.clone(), cfg, start).unwrap();
        (0..n)
            .map(|_| loader.next_batch().unwrap())
            .collect::<Vec<_>>()
    };
    let fresh = run(&cfg, 0, 8);
    for (a, b) in fresh.iter().zip(&run(&cfg, 0, 8)) {
        assert_same(a, b);
    }
    // Resume at batch 5: same as the fresh run from there on.
    let resumed = run(&cfg, 5, 3);
    for (a, b) in fresh[5..].iter().zip(&resumed) {
        assert_same(a, b);
    }
    let serial = TrainLoaderConfig {
        workers: 1,
        prefetch: 1,
        ..cfg.clone()
    };
    let wide = TrainLoaderConfig {
        workers: 3,
        prefetch: 7,
        ..cfg.clone()
    };
    for other in [run(&serial, 0, 8), run(&wide, 0, 8)] {
        for (a, b) in fresh.iter().zip(&other) {
            assert_same(a, b);
        }
    }
    let reseeded = run(
        &TrainLoaderConfig {
            seed: 43,
            ..cfg.clone()
        },
        0,
        8,
    );
    assert!(fresh
        .iter()
        .zip(&reseeded)
        .any(|(a, b)| !a.images.equal(&b.images)));
    // Augmentation is on: images differ from the plain decode of the same samples.
    let plain = run(
        &TrainLoaderConfig {
            augment: AugmentConfig::none(),
            ..cfg
        },
        0,
        8,
    );
    assert!(fresh
        .iter()
        .zip(&plain)
        .any(|(a, b)| !a.images.equal(&b.images)));
}

#[test]
fn pixels_are_the_resized_gray_image() {
    let dir = tempfile::tempdir().unwrap();
    let mut samples = write_samples(dir.path(), "real", 1, 0, 0);
    samples.extend(write_samples(dir.path(), "fake", 1, 1, 3));
    let cfg = TrainLoaderConfig {
        augment: AugmentConfig::none(),
        ..config(Balance::Class, 2)
    };
    let batch = TrainLoader::new(samples.clone(), &cfg, 0)
        .unwrap()
        .next_batch()
        .unwrap();
    for (row, &i) in batch.indices.iter().enumerate() {
        let img = resize_gray(&load_gray(&samples[i].path).unwrap(), 8);
        let want = Tensor::from_slice(&gray_to_f32(&img)).view([1, 8, 8]);
        assert!(batch.images.get(row as i64).equal(&want));
    }
    assert_eq!(domains(&batch).iter().sum::<i64>(), 3);
}

#[test]
fn decode_error_names_the_file_and_drop_does_not_hang() {
    let dir = tempfile::tempdir().unwrap();
    let mut samples = write_samples(dir.path(), "real", 4, 0, 0);
    let bad = dir.path().join("broken.png");
    std::fs::write(&bad, b"not an image").unwrap();
    samples.push(Sample {
        path: bad,
        label: 1,
        domain: 1,
    });
    // Without the cache the file is read when a batch needs it.
    let uncached = TrainLoaderConfig {
        cache: false,
        ..config(Balance::Class, 4)
    };
    let mut loader = TrainLoader::new(samples.clone(), &uncached, 0).unwrap();
    let err = loader.next_batch().unwrap_err();
    assert!(err.to_string().contains("broken.png"), "{err}");
    drop(loader);
    // With it, up front: 1 of 5 unreadable is over the 5% default share...
    let err = TrainLoader::new(samples.clone(), &config(Balance::Class, 4), 0)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("1 of 5") && err.contains("broken.png"),
        "{err}"
    );

    samples.pop();
    let err = TrainLoader::new(samples.clone(), &config(Balance::Class, 4), 0)
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("has no fake (label 1) images"),
        "{err}"
    );

    // Workers blocked on full channels must stop when the loader goes away.
    samples.extend(write_samples(dir.path(), "fake", 2, 1, 1));
    let cfg = TrainLoaderConfig {
        workers: 3,
        prefetch: 1,
        ..config(Balance::Class, 4)
    };
    let mut loader = TrainLoader::new(samples, &cfg, 0).unwrap();
    loader.next_batch().unwrap();
    // A hang here would stall the test run: the harness reports it, no clock needed.
    drop(loader);
}

#[test]
fn unreadable_files_below_the_share_are_left_out_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let mut samples = write_samples(dir.path(), "real", 6, 0, 0);
    samples.extend(write_samples(dir.path(), "fake", 3, 1, 1));
    let bad = dir.path().join("truncated.png");
    std::fs::write(&bad, &std::fs::read(&samples[0].path).unwrap()[..20]).unwrap();
    samples.push(Sample {
        path: bad.clone(),
        label: 1,
        domain: 1,
    });
    let cfg = TrainLoaderConfig {
        max_unreadable: 0.2,
        ..config(Balance::Class, 4)
    };
    let mut loader = TrainLoader::new(samples, &cfg, 0).unwrap();
    assert_eq!(loader.skipped().len(), 1);
    assert_eq!(loader.skipped()[0].path, bad);
    assert_eq!(loader.skipped()[0].index, 9);
    assert_eq!(loader.counts().manifest_fakes, 3);
    for _ in 0..6 {
        let b = loader.next_batch().unwrap();
        // The class balance holds with the fake left out.
        assert_eq!(labels(&b).iter().filter(|&&l| l == 1.0).count(), 2);
    }
}

#[test]
fn cached_batches_equal_freshly_decoded_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut samples = write_samples(dir.path(), "real", 5, 0, 0);
    samples.extend(write_samples(dir.path(), "fake", 4, 1, 1));
    let cached = config(Balance::Class, 4);
    let fresh = TrainLoaderConfig {
        cache: false,
        ..cached.clone()
    };
    let mut a = TrainLoader::new(samples.clone(), &cached, 0).unwrap();
    let mut b = TrainLoader::new(samples, &fresh, 0).unwrap();
    for _ in 0..8 {
        assert_same(&a.next_batch().unwrap(), &b.next_batch().unwrap());
    }
}

fn online_config(methods: &[&str]) -> TrainLoaderConfig {
    TrainLoaderConfig {
        size: 64,
        online: crate::data::online::OnlineConfig {
            methods: methods.iter().map(|m| m.to_string()).collect(),
            ..Default::default()
        },
        online_domains: (1..=methods.len()).collect(),
        balance: Balance::ClassDomain,
        augment: AugmentConfig::none(),
        ..config(Balance::ClassDomain, 6)
    }
}

/// 64x64 face-like crops (a bright disc on a dark ground, textured per file).
fn write_faces(dir: &Path, n: usize) -> Vec<Sample> {
    (0..n)
        .map(|i| {
            let path = dir.join(format!("face_{i}.png"));
            GrayImage::from_fn(64, 64, |x, y| {
                let r = ((x as f32 - 32.0).powi(2) + (y as f32 - 34.0).powi(2)).sqrt();
                let base = if r < 20.0 {
                    150 + 10 * (i as u32 % 5)
                } else {
                    50
                };
                let tex = (x * 7 + y * 13 + i as u32 * 101).wrapping_mul(2654435761) >> 28;
                Luma([(base + tex) as u8])
            })
            .save(&path)
            .unwrap();
            Sample {
                path,
                label: 0,
                domain: 0,
            }
        })
        .collect()
}

#[test]
fn online_forgeries_are_fresh_seeded_and_resume_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut samples = write_faces(dir.path(), 4);
    // A listed fake is dropped when online forgeries replace the manifest's fakes.
    samples.extend(write_samples(dir.path(), "listed", 2, 1, 1));
    let cfg = online_config(&["self_blend", "identity_swap"]);
    let mut a = TrainLoader::new(samples.clone(), &cfg, 0).unwrap();
    assert_eq!(
        a.counts(),
        SampleCounts {
            real: 4,
            manifest_fakes: 0,
            online_pairs: 8
        }
    );
    let run: Vec<Batch> = (0..12).map(|_| a.next_batch().unwrap()).collect();
    // Same seed, started at batch 7 (a resume): identical batches from there on.
    let mut resumed = TrainLoader::new(samples.clone(), &cfg, 7).unwrap();
    for want in &run[7..] {
        assert_same(want, &resumed.next_batch().unwrap());
    }
    // Both methods appear as their own domains, and every batch holds both classes.
    let mut seen = std::collections::BTreeSet::new();
    let mut fakes: Vec<Vec<f32>> = Vec::new();
    for b in &run {
        let (l, d) = (labels(b), domains(b));
        assert_eq!(l.iter().filter(|&&x| x == 1.0).count(), 3);
        let px = Vec::<f32>::try_from(b.images.flatten(0, -1)).unwrap();
        let n = 64 * 64;
        for (k, (&lab, &dom)) in l.iter().zip(&d).enumerate() {
            if lab == 1.0 {
                seen.insert(dom);
                fakes.push(px[k * n..(k + 1) * n].to_vec());
            }
        }
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![1, 2]);
    // 36 fakes from 8 (face, method) pairs: pairs repeat, their pixels never do.
    for i in 0..fakes.len() {
        for j in i + 1..fakes.len() {
            assert_ne!(fakes[i], fakes[j], "fakes {i} and {j} are identical");
        }
    }
    // Another seed, other fakes.
    let other = TrainLoaderConfig { seed: 43, ..cfg };
    let mut c = TrainLoader::new(samples, &other, 0).unwrap();
    let first = c.next_batch().unwrap();
    assert!(!first.images.equal(&run[0].images));
}

fn eval_fixture(dir: &Path) -> Vec<Sample> {
    let mut samples = write_samples(dir, "e", 7, 0, 0);
    samples[3].path = dir.join("missing.png");
    samples[5].label = 1;
    samples
}

#[test]
fn eval_skip_reports_missing_file_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let samples = eval_fixture(dir.path());
    let cfg = EvalLoaderConfig {
        size: 8,
        batch: 3,
        workers: 2,
        prefetch: 2,
        on_error: OnError::Skip,
    };
    let loader = EvalLoader::new(samples.clone(), &cfg).unwrap();
    assert_eq!(loader.chunks(), 3);
    let out: Vec<EvalBatch> = loader.map(|b| b.unwrap()).collect();
    let indices: Vec<Vec<usize>> = out.iter().map(|e| e.batch.indices.clone()).collect();
    assert_eq!(indices, [vec![0, 1, 2], vec![4, 5], vec![6]]);
    assert_eq!(out[1].batch.images.size(), [2, 1, 8, 8]);
    assert_eq!(labels(&out[1].batch), [0.0, 1.0]);
    assert_eq!(out[1].skipped.len(), 1);
    assert_eq!(out[1].skipped[0].index, 3);
    assert_eq!(out[1].skipped[0].path, samples[3].path);
    assert!(!out[1].skipped[0].reason.is_empty());
    assert!(out[0].skipped.is_empty() && out[2].skipped.is_empty());
    // No augmentation: the rows are the plain resized decode.
    let img = resize_gray(&load_gray(&samples[6].path).unwrap(), 8);
    let want = Tensor::from_slice(&gray_to_f32(&img)).view([1, 1, 8, 8]);
    assert!(out[2].batch.images.equal(&want));

    // A chunk whose every file is unreadable is empty, not an error.
    let cfg = EvalLoaderConfig { batch: 1, ..cfg };
    let empty = EvalLoader::new(samples, &cfg)
        .unwrap()
        .nth(3)
        .unwrap()
        .unwrap();
    assert_eq!(empty.batch.images.size(), [0, 1, 8, 8]);
    assert_eq!(empty.batch.labels.size(), [0]);
    assert_eq!(empty.skipped[0].index, 3);
}

#[test]
fn eval_fail_stops_at_the_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let samples = eval_fixture(dir.path());
    let cfg = EvalLoaderConfig {
        size: 8,
        batch: 3,
        workers: 1,
        prefetch: 1,
        on_error: OnError::Fail,
    };
    let mut loader = EvalLoader::new(samples, &cfg).unwrap();
    assert_eq!(loader.next().unwrap().unwrap().batch.indices, [0, 1, 2]);
    let err = loader.next().unwrap().unwrap_err();
    assert!(err.to_string().contains("missing.png"), "{err}");
    assert!(loader.next().is_none());
}

/// With `online.size`, fakes are made on the crops at that side and every face is then
/// resized to the model's input: a real face's row is exactly what evaluation reads for the
/// file, and a fake's row is the fake made at full size, resized.
#[test]
fn online_size_forges_at_crop_size_then_resizes_like_eval() {
    let dir = tempfile::tempdir().unwrap();
    let samples = write_faces(dir.path(), 4);
    let full = TrainLoaderConfig {
        size: 64,
        online: OnlineConfig {
            size: Some(64),
            ..online_config(&["self_blend", "identity_swap"]).online
        },
        ..online_config(&["self_blend", "identity_swap"])
    };
    let small = TrainLoaderConfig {
        size: 32,
        ..full.clone()
    };
    let mut a = TrainLoader::new(samples.clone(), &full, 0).unwrap();
    let mut b = TrainLoader::new(samples.clone(), &small, 0).unwrap();
    let mut fakes = 0;
    for _ in 0..3 {
        let (x, y) = (a.next_batch().unwrap(), b.next_batch().unwrap());
        assert_eq!(x.indices, y.indices);
        assert_eq!(y.images.size(), [6, 1, 32, 32]);
        for (k, &i) in (0i64..).zip(&x.indices) {
            let big = Vec::<f32>::try_from(x.images.get(k).flatten(0, -1)).unwrap();
            let big = GrayImage::from_raw(
                64,
                64,
                big.iter().map(|v| (v * 255.0).round() as u8).collect(),
            )
            .unwrap();
            let want = if labels(&x)[k as usize] == 0.0 {
                resize_gray(&load_gray(&samples[i].path).unwrap(), 32)
            } else {
                fakes += 1;
                resize_gray(&big, 32)
            };
            let want = Tensor::from_slice(&gray_to_f32(&want)).view([1, 32, 32]);
            assert!(y.images.get(k).equal(&want), "row {k} (sample {i})");
        }
    }
    assert_eq!(fakes, 9);
}
