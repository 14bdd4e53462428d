//! Tiny datasets for the `prepare` tests: short face videos made with ffmpeg from the
//! registry face photos (a 160x160 window panning one pixel per frame across a real face),
//! and a deterministic stand-in detector that finds those faces again by matching the
//! frame against the source photo.
#![allow(dead_code)]
use crossdf::assets::PHOTO_ASSETS;
use crossdf::face::{Detection, FaceDetector};
use crossdf::synth::photos;
use image::RgbImage;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

pub const WINDOW: u32 = 160;
/// Frames per generated video; the window moves `PAN` px right per frame.
pub const FRAMES: u32 = 10;
pub const PAN: u32 = 1;

/// A face of a registry photo and the window's top-left corner at frame 0.
#[derive(Clone)]
pub struct Clip {
    pub photo: Arc<RgbImage>,
    pub det: Detection,
    pub x0: u32,
    pub y0: u32,
}

/// Faces 45-90 px tall whose panning window stays inside the photo.
pub fn clips(n: usize) -> Vec<Clip> {
    select_clips(n, false)
}

/// As [`clips`], and no other face of the photo near the window (for a real detector,
/// which would see the neighbours too).
pub fn isolated_clips(n: usize) -> Vec<Clip> {
    select_clips(n, true)
}

/// A reference face: facenet-pytorch's MTCNN on a registry photo
/// (tests/fixtures/mtcnn_faces.json), independent of crossdf's own detector.
struct RefFace {
    photo_name: String,
    index: usize,
    photo: Arc<RgbImage>,
    detection: Detection,
}

fn reference_faces() -> Vec<RefFace> {
    let cache = crossdf::assets::cache_root().unwrap();
    let list = photos::parse_face_list(photos::INTERIM_FACES_JSON).unwrap();
    let mut out = Vec::new();
    for (name, entry) in list {
        let asset = PHOTO_ASSETS.iter().find(|a| a.name == entry.asset).unwrap();
        let path = asset.fetch(&cache).unwrap().join(&entry.path);
        let mut img = image::open(&path).unwrap().to_rgb8();
        photos::remove_drawn_boxes(&mut img);
        let photo = Arc::new(img);
        for (index, d) in entry.faces.into_iter().enumerate() {
            if photos::keep(&d) {
                out.push(RefFace {
                    photo_name: name.clone(),
                    index,
                    photo: photo.clone(),
                    detection: d,
                });
            }
        }
    }
    out
}

fn select_clips(n: usize, isolated: bool) -> Vec<Clip> {
    let faces = reference_faces();
    let mut out = Vec::new();
    for f in &faces {
        let [x1, y1, x2, y2] = f.detection.bbox;
        if !(45.0..=90.0).contains(&f.detection.min_side()) {
            continue;
        }
        let (cx, cy) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
        let x0 = cx - WINDOW as f32 / 2.0 - (FRAMES * PAN) as f32 / 2.0;
        let y0 = cy - WINDOW as f32 / 2.0;
        let (w, h) = f.photo.dimensions();
        if x0 < 0.0 || y0 < 0.0 || x0 as u32 + WINDOW + FRAMES * PAN >= w || y0 as u32 + WINDOW >= h
        {
            continue;
        }
        // No other face of the photo may show in the window, so the face is the only one.
        let (wx0, wx1) = (x0 - 30.0, x0 + (WINDOW + FRAMES * PAN) as f32 + 30.0);
        let (wy0, wy1) = (y0 - 30.0, y0 + WINDOW as f32 + 30.0);
        let crowded = faces.iter().any(|g| {
            let [a, b, c, d] = g.detection.bbox;
            let (gx, gy) = ((a + c) / 2.0, (b + d) / 2.0);
            g.photo_name == f.photo_name
                && g.index != f.index
                && (wx0..wx1).contains(&gx)
                && (wy0..wy1).contains(&gy)
        });
        if isolated && crowded {
            continue;
        }
        out.push(Clip {
            photo: f.photo.clone(),
            det: f.detection.clone(),
            x0: x0 as u32,
            y0: y0 as u32,
        });
        if out.len() == n {
            break;
        }
    }
    assert_eq!(out.len(), n, "not enough registry faces of the right size");
    out
}

/// The window of frame `k`.
pub fn frame(c: &Clip, k: u32) -> RgbImage {
    image::imageops::crop_imm(&*c.photo, c.x0 + k * PAN, c.y0, WINDOW, WINDOW).to_image()
}

/// Encodes frames with libx264 (as FF++ and Celeb-DF ship H.264 mp4), else MPEG-4 part 2.
pub fn encode(frames: &[RgbImage], out: &Path) {
    let dir = tempfile::tempdir().unwrap();
    for (i, f) in frames.iter().enumerate() {
        f.save(dir.path().join(format!("{i:03}.png"))).unwrap();
    }
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let run = |codec: &[&str]| {
        Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-framerate", "25", "-i"])
            .arg(dir.path().join("%03d.png"))
            .args(codec)
            .args(["-pix_fmt", "yuv420p"])
            .arg(out)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    assert!(
        run(&["-c:v", "libx264", "-crf", "16"]) || run(&["-c:v", "mpeg4", "-q:v", "2"]),
        "ffmpeg could not write {}",
        out.display()
    );
}

/// A `FRAMES`-frame face video.
pub fn face_video(c: &Clip, out: &Path) {
    let frames: Vec<RgbImage> = (0..FRAMES).map(|k| frame(c, k)).collect();
    encode(&frames, out);
}

/// A video of smooth moving colour bands: nothing like a face.
pub fn no_face_video(out: &Path) {
    let frames: Vec<RgbImage> = (0..FRAMES)
        .map(|k| {
            RgbImage::from_fn(WINDOW, WINDOW, |x, y| {
                let v = ((x + 3 * k) * 255 / WINDOW) as u8;
                image::Rgb([v, 255 - v, (y * 255 / WINDOW) as u8])
            })
        })
        .collect();
    encode(&frames, out);
}

pub fn corrupt_video(out: &Path) {
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let junk: Vec<u8> = (0..4000u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(out, junk).unwrap();
}

/// Finds the clips' faces by matching a frame against each clip's photo at every pan
/// position (and a few pixels around it): mean absolute difference of the green channel
/// on a 4-px grid. A frame that matches no photo has no face.
pub struct PanDetector {
    pub clips: Vec<Clip>,
}

impl PanDetector {
    fn find(&self, f: &RgbImage) -> Option<Detection> {
        let mut best: Option<(f32, Detection)> = None;
        for c in &self.clips {
            for dy in 0..=4u32 {
                for dx in 0..=(FRAMES * PAN + 4) {
                    let (ox, oy) = (c.x0 as i64 + dx as i64 - 2, c.y0 as i64 + dy as i64 - 2);
                    if ox < 0 || oy < 0 {
                        continue;
                    }
                    let (ox, oy) = (ox as u32, oy as u32);
                    if ox + f.width() > c.photo.width() || oy + f.height() > c.photo.height() {
                        continue;
                    }
                    let (mut sum, mut n) = (0f32, 0f32);
                    for y in (0..f.height()).step_by(4) {
                        for x in (0..f.width()).step_by(4) {
                            let a = f.get_pixel(x, y)[1] as f32;
                            let b = c.photo.get_pixel(ox + x, oy + y)[1] as f32;
                            sum += (a - b).abs();
                            n += 1.0;
                        }
                    }
                    let mad = sum / n;
                    if mad < 8.0 && best.as_ref().is_none_or(|(m, _)| mad < *m) {
                        let (sx, sy) = (ox as f32, oy as f32);
                        let mut d = c.det.clone();
                        d.bbox = [
                            d.bbox[0] - sx,
                            d.bbox[1] - sy,
                            d.bbox[2] - sx,
                            d.bbox[3] - sy,
                        ];
                        d.landmarks = d.landmarks.map(|[x, y]| [x - sx, y - sy]);
                        best = Some((mad, d));
                    }
                }
            }
        }
        best.map(|(_, d)| d)
    }
}

impl FaceDetector for PanDetector {
    fn detect_batch(&self, frames: &[RgbImage]) -> crossdf::Result<Vec<Vec<Detection>>> {
        Ok(frames
            .iter()
            .map(|f| self.find(f).into_iter().collect())
            .collect())
    }
}

/// A detector that fails when a batch mixes frame sizes (as MTCNN's batched pass does), and
/// otherwise behaves like `inner`.
pub struct SameSizeBatches<D>(pub D);

impl<D: FaceDetector> FaceDetector for SameSizeBatches<D> {
    fn detect_batch(&self, frames: &[RgbImage]) -> crossdf::Result<Vec<Vec<Detection>>> {
        if frames
            .windows(2)
            .any(|w| w[0].dimensions() != w[1].dimensions())
        {
            return Err(crossdf::Error::invalid("batch mixes frame sizes"));
        }
        self.0.detect_batch(frames)
    }
}
