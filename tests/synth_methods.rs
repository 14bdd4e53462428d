//! Behaviour of the procedural forgery methods on synthetic faces drawn here: two different
//! "identities" (shaded ellipse faces with darker eye/mouth blobs at the 224-template landmarks
//! on a smooth textured background).
use crossdf::synth::methods::{all_methods, contact_sheet, method_by_name, Face, Forgery};
use image::{GrayImage, Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TEMPLATE: [[f32; 2]; 5] = [
    [83.0, 102.0],
    [141.0, 102.0],
    [112.0, 134.0],
    [90.0, 163.0],
    [134.0, 163.0],
];

struct Look {
    skin: [f32; 3],
    background: [f32; 3],
    eye: (f32, f32),
    mouth_height: f32,
    stripes: f32,
}

/// A `size` x `size` face whose landmarks are the template scaled to `size`, nudged by `offset`.
fn synthetic_face(size: u32, look: &Look, offset: [f32; 2], seed: u64, identity: &str) -> Face {
    let s = size as f32 / 224.0;
    let lm = TEMPLATE.map(|p| [p[0] * s + offset[0], p[1] * s + offset[1]]);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let blob = |x: f32, y: f32, c: [f32; 2], rx: f32, ry: f32| {
        ((x - c[0]) / rx).powi(2) + ((y - c[1]) / ry).powi(2)
    };
    let mouth_centre = [(lm[3][0] + lm[4][0]) / 2.0, (lm[3][1] + lm[4][1]) / 2.0];
    let image = RgbImage::from_fn(size, size, |x, y| {
        let (x, y) = (x as f32, y as f32);
        let noise: f32 = rng.random_range(-6.0..6.0);
        let (u, v) = (x / s, y / s);
        let texture = 18.0 * (u / 17.0).sin() * (v / 23.0).cos() + 10.0 * ((u + v) / 9.0).sin();
        let mut px = look.background.map(|b| b + texture + noise);
        let face = blob(x, y, [112.0 * s, 125.0 * s], 70.0 * s, 92.0 * s);
        if face <= 1.0 {
            let shade = 0.7 + 0.3 * (1.0 - face) - 0.1 * (u - 112.0) / 70.0;
            let pores = 6.0 * (u / look.stripes).sin() * (v / 3.1).sin();
            px = look.skin.map(|k| k * shade + pores + noise);
        }
        for eye in &lm[..2] {
            if blob(x, y, *eye, look.eye.0 * s, look.eye.1 * s) <= 1.0 {
                px = [40.0 + noise, 30.0 + noise, 30.0 + noise];
            }
        }
        if blob(x, y, lm[2], 6.0 * s, 9.0 * s) <= 1.0 {
            px = px.map(|v| v * 0.8);
        }
        if blob(
            x,
            y,
            mouth_centre,
            (lm[4][0] - lm[3][0]) / 2.0,
            look.mouth_height * s,
        ) <= 1.0
        {
            px = [120.0 + noise, 40.0 + noise, 50.0 + noise];
        }
        Rgb(px.map(|v| v.round().clamp(0.0, 255.0) as u8))
    });
    Face {
        image,
        landmarks: lm,
        identity: identity.to_string(),
    }
}

fn target_face() -> Face {
    let look = Look {
        skin: [205.0, 160.0, 130.0],
        background: [70.0, 110.0, 140.0],
        eye: (12.0, 6.0),
        mouth_height: 8.0,
        stripes: 2.3,
    };
    synthetic_face(224, &look, [0.0, 0.0], 1, "target")
}

fn donor_face() -> Face {
    let look = Look {
        skin: [140.0, 100.0, 80.0],
        background: [150.0, 140.0, 90.0],
        eye: (15.0, 8.0),
        mouth_height: 12.0,
        stripes: 4.7,
    };
    synthetic_face(224, &look, [2.0, -3.0], 2, "donor")
}

fn luma(p: &Rgb<u8>) -> f32 {
    0.299 * p.0[0] as f32 + 0.587 * p.0[1] as f32 + 0.114 * p.0[2] as f32
}

fn forge(method: &dyn Forgery, target: &Face, donor: &Face, seed: u64) -> RgbImage {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    method
        .apply(target, method.needs_donor().then_some(donor), &mut rng)
        .unwrap()
}

/// Mean |luma difference| over the pixels where `region` is set (everywhere when None).
fn mean_luma_change(a: &RgbImage, b: &RgbImage, region: Option<&GrayImage>) -> f32 {
    let (mut sum, mut n) = (0.0, 0usize);
    for (i, (p, q)) in a.pixels().zip(b.pixels()).enumerate() {
        if region.is_none_or(|m| m.as_raw()[i] > 0) {
            sum += (luma(p) - luma(q)).abs();
            n += 1;
        }
    }
    sum / n.max(1) as f32
}

#[test]
fn every_method_changes_luma_inside_its_footprint() {
    let (target, donor) = (target_face(), donor_face());
    for method in all_methods() {
        let footprint = method.footprint(&target);
        for seed in 0..6 {
            let fake = forge(method.as_ref(), &target, &donor, seed);
            let change = mean_luma_change(&target.image, &fake, footprint.as_ref());
            // A trace may be confined to one part of the footprint (self_blend over the
            // mouth only): some change on average, and a visible one on a share of it.
            let (mut visible, mut n) = (0usize, 0usize);
            for (i, (p, q)) in target.image.pixels().zip(fake.pixels()).enumerate() {
                if footprint.as_ref().is_none_or(|m| m.as_raw()[i] > 0) {
                    n += 1;
                    visible += ((luma(p) - luma(q)).abs() > 3.0) as usize;
                }
            }
            let share = visible as f32 / n.max(1) as f32;
            assert!(
                change > 0.5 && share > 0.02,
                "{} seed {seed}: mean luma change {change}, visible on {share}",
                method.name()
            );
        }
    }
}

#[test]
fn pixels_outside_the_footprint_are_untouched() {
    let (target, donor) = (target_face(), donor_face());
    for method in all_methods() {
        let Some(footprint) = method.footprint(&target) else {
            assert_eq!(method.name(), "gan_upsample");
            continue;
        };
        assert_eq!(footprint.dimensions(), target.image.dimensions());
        let inside = footprint.pixels().filter(|p| p.0[0] > 0).count();
        let total = footprint.len();
        assert!(
            inside > 0 && inside < total,
            "{}: footprint covers {inside} of {total}",
            method.name()
        );
        for seed in 0..6 {
            let fake = forge(method.as_ref(), &target, &donor, seed);
            for ((p, q), m) in target
                .image
                .pixels()
                .zip(fake.pixels())
                .zip(footprint.pixels())
            {
                if m.0[0] == 0 {
                    assert!(
                        p == q,
                        "{} seed {seed} changed a pixel outside its footprint",
                        method.name()
                    );
                }
            }
        }
    }
}

#[test]
fn local_edit_footprint_is_small() {
    let target = target_face();
    let local = method_by_name("local_edit")
        .unwrap()
        .footprint(&target)
        .unwrap();
    let blend = method_by_name("self_blend")
        .unwrap()
        .footprint(&target)
        .unwrap();
    let count = |m: &GrayImage| m.pixels().filter(|p| p.0[0] > 0).count();
    assert!(
        count(&local) * 2 < count(&blend),
        "{} vs {}",
        count(&local),
        count(&blend)
    );
}

#[test]
fn same_seed_same_output_other_seed_other_output() {
    let (target, donor) = (target_face(), donor_face());
    for method in all_methods() {
        let a = forge(method.as_ref(), &target, &donor, 7);
        let b = forge(method.as_ref(), &target, &donor, 7);
        assert!(a == b, "{} is not deterministic", method.name());
        for other in [8, 9, 10] {
            let c = forge(method.as_ref(), &target, &donor, other);
            assert!(a != c, "{}: seeds 7 and {other} agree", method.name());
        }
    }
}

#[test]
fn output_has_the_input_size_for_other_sizes_too() {
    let look = Look {
        skin: [190.0, 150.0, 120.0],
        background: [60.0, 60.0, 60.0],
        eye: (12.0, 6.0),
        mouth_height: 8.0,
        stripes: 3.0,
    };
    for size in [224, 160, 301] {
        let target = synthetic_face(size, &look, [0.0, 0.0], 3, "a");
        let donor = synthetic_face(224, &look, [1.0, 1.0], 4, "b");
        for method in all_methods() {
            let fake = forge(method.as_ref(), &target, &donor, 1);
            assert_eq!(fake.dimensions(), (size, size), "{}", method.name());
            if let Some(f) = method.footprint(&target) {
                assert_eq!(f.dimensions(), (size, size), "{}", method.name());
            }
        }
    }
}

/// Largest of the three Nyquist-frequency DFT magnitudes of the luma plane, per pixel:
/// |sum Y (-1)^x|, |sum Y (-1)^y|, |sum Y (-1)^(x+y)|, divided by the pixel count.
fn nyquist_energy(img: &RgbImage) -> f32 {
    let mut sums = [0.0f64; 3];
    for (x, y, p) in img.enumerate_pixels() {
        let v = luma(p) as f64;
        let (sx, sy) = (
            if x % 2 == 0 { 1.0 } else { -1.0 },
            if y % 2 == 0 { 1.0 } else { -1.0 },
        );
        sums[0] += v * sx;
        sums[1] += v * sy;
        sums[2] += v * sx * sy;
    }
    let n = img.len() as f64 / 3.0;
    sums.iter().map(|s| (s / n).abs()).fold(0.0, f64::max) as f32
}

#[test]
fn gan_upsampling_leaves_a_nyquist_checkerboard() {
    let (target, donor) = (target_face(), donor_face());
    let gan = method_by_name("gan_upsample").unwrap();
    let before = nyquist_energy(&target.image);
    for seed in 0..10 {
        let after = nyquist_energy(&forge(gan.as_ref(), &target, &donor, seed));
        assert!(
            after > 1.0 && after > 10.0 * before,
            "seed {seed}: {after} vs original {before}"
        );
    }
    // The other methods leave the Nyquist bin near where it was.
    for method in all_methods().iter().filter(|m| m.name() != "gan_upsample") {
        let after = nyquist_energy(&forge(method.as_ref(), &target, &donor, 0));
        assert!(after < 0.5, "{}: {after}", method.name());
    }
}

#[test]
fn names_are_unique_and_found_by_name() {
    let methods = all_methods();
    let names: Vec<&str> = methods.iter().map(|m| m.name()).collect();
    assert_eq!(
        names,
        [
            "self_blend",
            "identity_swap",
            "gan_upsample",
            "face_warp",
            "local_edit"
        ]
    );
    for name in &names {
        assert_eq!(method_by_name(name).map(|m| m.name()), Some(*name));
    }
    assert!(method_by_name("Deepfakes").is_none());
    let donors: Vec<&str> = methods
        .iter()
        .filter(|m| m.needs_donor())
        .map(|m| m.name())
        .collect();
    assert_eq!(donors, ["identity_swap"]);
}

#[test]
fn identity_swap_brings_in_the_donor() {
    // Inside the inner face the swap should look more like the donor than the target does.
    let (target, donor) = (target_face(), donor_face());
    let swap = method_by_name("identity_swap").unwrap();
    let fake = forge(swap.as_ref(), &target, &donor, 0);
    // The donor's mouth is taller (12 vs 8): just above the target's mouth blob the fake
    // holds mouth-dark pixels where the target has skin.
    let (x, y) = (112, 163 - 10);
    assert!(luma(fake.get_pixel(x, y)) + 30.0 < luma(target.image.get_pixel(x, y)));
}

#[test]
fn identity_swap_without_a_donor_or_an_alignable_one_is_an_error() {
    let target = target_face();
    let swap = method_by_name("identity_swap").unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let e = swap.apply(&target, None, &mut rng).unwrap_err().to_string();
    assert!(e.contains("needs a donor"), "{e}");
    // A donor whose five landmarks are one point cannot be aligned: no silent identity warp.
    let mut donor = target_face();
    donor.landmarks = [[50.0, 50.0]; 5];
    let e = swap
        .apply(&target, Some(&donor), &mut rng)
        .unwrap_err()
        .to_string();
    assert!(e.contains("admit no alignment"), "{e}");
}

fn sheet_rows(seeds: &[u64]) -> Vec<(RgbImage, RgbImage)> {
    let (target, donor) = (target_face(), donor_face());
    let mut rows = Vec::new();
    for method in all_methods() {
        for &seed in seeds {
            rows.push((
                target.image.clone(),
                forge(method.as_ref(), &target, &donor, seed),
            ));
        }
    }
    rows
}

#[test]
fn contact_sheet_is_written_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sheet.png");
    let sheet = contact_sheet(&sheet_rows(&[0]), 96);
    sheet.save(&path).unwrap();
    let back = image::open(&path).unwrap().to_rgb8();
    assert!(back == sheet);
    assert_eq!(back.dimensions(), (3 * 96 + 8, 5 * 98 + 2));
}

/// For a human: `cargo test --test synth_methods -- --ignored` writes every method on the
/// synthetic face (3 seeds each) to `$TMPDIR/synth_look.png`, and each method alone to
/// `$TMPDIR/synth_look_<method>.png`.
#[test]
#[ignore]
fn write_look_sheet() {
    let dir = std::env::temp_dir();
    let rows = sheet_rows(&[0, 1, 2]);
    contact_sheet(&rows, 224)
        .save(dir.join("synth_look.png"))
        .unwrap();
    for (method, chunk) in all_methods().iter().zip(rows.chunks(3)) {
        let path = dir.join(format!("synth_look_{}.png", method.name()));
        contact_sheet(chunk, 224).save(&path).unwrap();
    }
    eprintln!("wrote {}/synth_look*.png", dir.display());
}
