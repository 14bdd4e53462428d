//! Scoring new media with a trained detector: find the faces, align them exactly as
//! `prepare` does, and score each with `G`, `A_df`, `C`.
//!
//! An image's score is the highest of its faces' (one fake face makes the image fake); a
//! video's is the mean of its frames' scores, the paper's video level, where a frame's score
//! is again its highest face's.
use crate::data::image::{gray_to_f32, resize_gray, to_gray, to_tensor};
use crate::detector::Detector;
use crate::error::{Error, Result};
use crate::face::align::DEFAULT_MARGIN;
use crate::face::select::Selection;
use crate::face::{align_or_crop, FaceDetector};
use crate::media::{self, FrameSelection};
use crate::prepare::{is_image, is_video};
use image::{DynamicImage, RgbImage};
use serde::Serialize;
use std::path::{Path, PathBuf};
use tch::{Device, Tensor};

#[derive(Debug, Clone)]
pub struct DetectOptions {
    pub selection: Selection,
    pub frames: FrameSelection,
    /// Side of the aligned crop before the model's resize: `prepare`'s `--size`.
    pub align_size: u32,
    pub margin: f32,
    /// P(fake) at or above this is called fake.
    pub threshold: f64,
    /// Frames per face-detector call.
    pub batch: usize,
    /// Also compute each face's `M_df` / `M_dom` / Grad-CAM ([`FaceScore::heat`]).
    pub heatmaps: bool,
    /// Score at this input side instead of the one the model was trained at (`None`): a
    /// larger side keeps more detail of high-resolution faces, at the cost of speed.
    pub input_size: Option<u32>,
}

impl Default for DetectOptions {
    fn default() -> Self {
        DetectOptions {
            selection: Selection::default(),
            frames: FrameSelection::default(),
            align_size: 224,
            margin: DEFAULT_MARGIN,
            threshold: 0.5,
            batch: 8,
            heatmaps: false,
            input_size: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Video,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Fake,
    Real,
    /// No usable face: no score, not a "real".
    NoFace,
    /// The file could not be read.
    Error,
}

/// One scored face.
#[derive(Debug, Clone, Serialize)]
pub struct FaceScore {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<u64>,
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
    /// The face detector's confidence.
    pub prob: f32,
    /// P(fake).
    pub score: f64,
    /// False when the landmarks looked wrong and the square box crop was used.
    pub aligned: bool,
    /// Where this face's heat-map strip was written (`detect --heatmap`), or a PNG data URL
    /// (`serve`); columns as [`crate::heatmap::strip_columns`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heatmap: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heatmap_columns: Option<Vec<&'static str>>,
    /// The maps themselves, with [`DetectOptions::heatmaps`].
    #[serde(skip)]
    pub heat: Option<crate::heatmap::FaceHeat>,
}

/// One frame's P(fake): its highest face's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FramePoint {
    pub frame: u64,
    pub score: f64,
}

/// The result for one image or video, as `detect` prints it (JSON).
#[derive(Debug, Clone, Serialize)]
pub struct MediaScore {
    pub path: String,
    pub kind: MediaKind,
    /// P(fake) of the whole file; `None` without a usable face.
    pub score: Option<f64>,
    pub verdict: Verdict,
    pub threshold: f64,
    /// Frames (1 for an image) looked at, and how many of them had no usable face.
    pub frames: usize,
    pub frames_without_face: usize,
    pub faces: Vec<FaceScore>,
    /// A video's P(fake) per frame with a face, in frame order (empty for images).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub per_frame: Vec<FramePoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// P(fake) of aligned RGB crops, through the loader's own gray conversion and resize.
pub fn score_crops(det: &Detector, device: Device, crops: &[RgbImage]) -> Result<Vec<f64>> {
    let size = det.config.model.size as u32;
    Ok(crop_tensor(device, crops, size)?
        .map(|x| score_tensor(det, &x))
        .transpose()?
        .unwrap_or_default())
}

/// The model's input for `crops` (`None` for no crops).
fn crop_tensor(device: Device, crops: &[RgbImage], size: u32) -> Result<Option<Tensor>> {
    if crops.is_empty() {
        return Ok(None);
    }
    let planes: Vec<Vec<f32>> = crops
        .iter()
        .map(|c| {
            gray_to_f32(&resize_gray(
                &to_gray(&DynamicImage::ImageRgb8(c.clone())),
                size,
            ))
        })
        .collect();
    Ok(Some(to_tensor(&planes, size)?.to_device(device)))
}

fn score_tensor(det: &Detector, x: &Tensor) -> Result<Vec<f64>> {
    let _guard = tch::no_grad_guard();
    let s =
        crate::score::score_batch(&det.model, x, det.config.data.eval_flip).to_device(Device::Cpu);
    Ok(Vec::<f32>::try_from(s.reshape([-1]))?
        .into_iter()
        .map(f64::from)
        .collect())
}

/// Faces and their scores for frames of one file; frames without a usable face count.
fn score_frames(
    det: &Detector,
    device: Device,
    finder: &dyn FaceDetector,
    indices: &[Option<u64>],
    images: &[RgbImage],
    opts: &DetectOptions,
) -> Result<(Vec<FaceScore>, usize)> {
    let found = finder.detect_batch(images)?;
    let mut crops = Vec::new();
    let mut faces = Vec::new();
    let mut without = 0;
    for ((index, frame), dets) in indices.iter().zip(images).zip(found) {
        let Ok(kept) = opts.selection.select(dets) else {
            without += 1;
            continue;
        };
        for d in kept {
            let a = align_or_crop(frame, d.bbox, &d.landmarks, opts.align_size, opts.margin);
            crops.push(a.image);
            faces.push(FaceScore {
                frame: *index,
                bbox: d.bbox,
                prob: d.prob,
                score: f64::NAN,
                aligned: !a.fallback,
                heatmap: None,
                heatmap_columns: None,
                heat: None,
            });
        }
    }
    let size = opts.input_size.unwrap_or(det.config.model.size as u32);
    if let Some(x) = crop_tensor(device, &crops, size)? {
        for (f, s) in faces.iter_mut().zip(score_tensor(det, &x)?) {
            f.score = s;
        }
        if opts.heatmaps {
            for (f, h) in faces
                .iter_mut()
                .zip(crate::heatmap::face_heats(&det.model, &x)?)
            {
                f.heatmap_columns = Some(crate::heatmap::strip_columns(&h));
                f.heat = Some(h);
            }
        }
    }
    Ok((faces, without))
}

/// Highest face score per frame, in frame order.
fn frame_scores(faces: &[FaceScore]) -> Vec<(Option<u64>, f64)> {
    let mut out: Vec<(Option<u64>, f64)> = Vec::new();
    for f in faces {
        match out.last_mut() {
            Some((frame, s)) if *frame == f.frame => *s = s.max(f.score),
            _ => out.push((f.frame, f.score)),
        }
    }
    out
}

fn finish(
    path: &Path,
    kind: MediaKind,
    frames: usize,
    (faces, without): (Vec<FaceScore>, usize),
    opts: &DetectOptions,
) -> MediaScore {
    let per_frame = frame_scores(&faces);
    let score = (!per_frame.is_empty())
        .then(|| per_frame.iter().map(|(_, s)| s).sum::<f64>() / per_frame.len() as f64);
    let per_frame = per_frame
        .into_iter()
        .filter_map(|(frame, score)| frame.map(|frame| FramePoint { frame, score }))
        .collect();
    let verdict = match score {
        None => Verdict::NoFace,
        Some(s) if s >= opts.threshold => Verdict::Fake,
        Some(_) => Verdict::Real,
    };
    MediaScore {
        path: path.display().to_string(),
        kind,
        score,
        verdict,
        threshold: opts.threshold,
        frames,
        frames_without_face: without,
        faces,
        per_frame,
        error: None,
    }
}

/// Scores an image already in memory (`path` only labels the result).
pub fn detect_rgb(
    det: &Detector,
    device: Device,
    finder: &dyn FaceDetector,
    path: &Path,
    img: RgbImage,
    opts: &DetectOptions,
) -> Result<MediaScore> {
    let scored = score_frames(det, device, finder, &[None], &[img], opts)?;
    Ok(finish(path, MediaKind::Image, 1, scored, opts))
}

/// Called as a video's frames are scored: (frames scored so far, frames to score).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

fn detect_video(
    det: &Detector,
    device: Device,
    finder: &dyn FaceDetector,
    path: &Path,
    opts: &DetectOptions,
    progress: Progress,
) -> Result<MediaScore> {
    let info = media::probe(path)?;
    let indices = opts.frames.indices(info.frames);
    let mut faces = Vec::new();
    let mut without = 0;
    let mut scored = 0;
    progress(0, indices.len());
    let (mut pending, mut frames): (Vec<Option<u64>>, Vec<RgbImage>) = (Vec::new(), Vec::new());
    let mut flush = |pending: &mut Vec<Option<u64>>, frames: &mut Vec<RgbImage>| -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let (f, w) = score_frames(det, device, finder, pending, frames, opts)?;
        faces.extend(f);
        without += w;
        scored += pending.len();
        // A short video may hold fewer frames than asked for; never report past the end.
        progress(scored, indices.len().max(scored));
        pending.clear();
        frames.clear();
        Ok(())
    };
    let report = media::decode_frames(path, &info, &indices, |i, img| {
        pending.push(Some(i));
        frames.push(img);
        if pending.len() >= opts.batch.max(1) {
            flush(&mut pending, &mut frames)?;
        }
        Ok(())
    })?;
    flush(&mut pending, &mut frames)?;
    if report.decoded == 0 {
        let why = report
            .error
            .unwrap_or_else(|| "no frame could be decoded".into());
        return Err(Error::invalid(format!("{}: {why}", path.display())));
    }
    Ok(finish(
        path,
        MediaKind::Video,
        report.decoded,
        (faces, without),
        opts,
    ))
}

/// Scores one image or video file; a file that cannot be read gives `Verdict::Error`
/// with the reason, so a batch goes on.
pub fn detect_file(
    det: &Detector,
    device: Device,
    finder: &dyn FaceDetector,
    path: &Path,
    opts: &DetectOptions,
) -> MediaScore {
    detect_file_with_progress(det, device, finder, path, opts, &|_, _| {})
}

/// [`detect_file`], telling `progress` how far a video's scoring has come.
pub fn detect_file_with_progress(
    det: &Detector,
    device: Device,
    finder: &dyn FaceDetector,
    path: &Path,
    opts: &DetectOptions,
    progress: Progress,
) -> MediaScore {
    let kind = if is_video(path) {
        MediaKind::Video
    } else {
        MediaKind::Image
    };
    let result = match kind {
        MediaKind::Video => detect_video(det, device, finder, path, opts, progress),
        MediaKind::Image => image::ImageReader::open(path)
            .map_err(|e| Error::io(path, e))
            .and_then(|r| r.with_guessed_format().map_err(|e| Error::io(path, e)))
            .and_then(|r| {
                r.decode().map_err(|source| Error::Image {
                    path: path.to_path_buf(),
                    source,
                })
            })
            .and_then(|img| detect_rgb(det, device, finder, path, img.to_rgb8(), opts)),
    };
    result.unwrap_or_else(|e| MediaScore {
        path: path.display().to_string(),
        kind,
        score: None,
        verdict: Verdict::Error,
        threshold: opts.threshold,
        frames: 0,
        frames_without_face: 0,
        faces: Vec::new(),
        per_frame: Vec::new(),
        error: Some(e.to_string()),
    })
}

/// The files to score: each input file as given, each folder's images and videos
/// (recursively, sorted). A path that does not exist is an error naming it.
pub fn collect_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if is_image(&p) || is_video(&p) {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(Error::invalid(format!(
                "{}: no such file or folder",
                p.display()
            )));
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "detect_tests.rs"]
pub(crate) mod tests;
