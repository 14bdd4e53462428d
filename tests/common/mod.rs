//! Small generated datasets for the training tests: real faces are smooth random blobs,
//! fakes carry a faint high-frequency texture (one pattern per "method").
#![allow(dead_code)]
use image::GrayImage;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::process::Command;

/// Runs the crossdf binary; returns (success, stdout, stderr).
pub fn crossdf(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_crossdf"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn blob(rng: &mut impl Rng, size: u32) -> GrayImage {
    let (cx, cy) = (rng.random_range(0.3..0.7), rng.random_range(0.3..0.7));
    let r = rng.random_range(0.2..0.35f32);
    let base = rng.random_range(60.0..140.0f32);
    GrayImage::from_fn(size, size, |x, y| {
        let dx = x as f32 / size as f32 - cx;
        let dy = y as f32 / size as f32 - cy;
        let v = base + 80.0 * (-(dx * dx + dy * dy) / (r * r)).exp();
        image::Luma([v.clamp(0.0, 255.0) as u8])
    })
}

fn textured(mut img: GrayImage, method: usize) -> GrayImage {
    for (x, y, p) in img.enumerate_pixels_mut() {
        let on = match method {
            0 => (x + y) % 2 == 0,
            _ => (x / 2 + y / 2) % 2 == 0,
        };
        let v = p.0[0] as i32 + if on { 18 } else { -18 };
        p.0[0] = v.clamp(0, 255) as u8;
    }
    img
}

/// Writes `n_per_class` real and fake images per split into `dir` and a manifest
/// `dir/manifest.jsonl`; fakes alternate between two methods (domains).
pub fn write_dataset(dir: &Path, n_per_class: usize, size: u32) -> std::path::PathBuf {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut lines = String::new();
    for split in ["train", "val", "test"] {
        for i in 0..n_per_class {
            for label in [0u8, 1] {
                let img = blob(&mut rng, size);
                let (img, domain) = if label == 1 {
                    let m = i % 2;
                    (textured(img, m), ["checker", "blocks"][m])
                } else {
                    (img, "real")
                };
                let rel = format!("img/{split}_{label}_{i}.png");
                std::fs::create_dir_all(dir.join("img")).unwrap();
                img.save(dir.join(&rel)).unwrap();
                lines.push_str(&format!(
                    "{{\"path\": \"{rel}\", \"label\": {label}, \"domain\": \"{domain}\", \"video\": \"{split}{label}_{}\", \"split\": \"{split}\"}}\n",
                    i / 2
                ));
            }
        }
    }
    let m = dir.join("manifest.jsonl");
    std::fs::write(&m, lines).unwrap();
    m
}
