//! The cascade: pyramid -> P-Net -> 24x24 crops -> R-Net -> 48x48 crops -> O-Net, in the order
//! facenet-pytorch runs it. The pyramid uses the same tensor operations (same libtorch
//! kernels, same numbers); crops and box arithmetic live in `boxes`, written to give the
//! numbers libtorch gives.
use super::boxes::{self, Candidate, Overlap};
use super::pyramid;
use super::Mtcnn;
use crate::error::Result;
use crate::face::Detection;
use image::RgbImage;
use tch::{Device, Tensor};

/// facenet feeds R- and O-Net at most this many crops at a time.
const CHUNK: i64 = 512;
/// NMS overlap thresholds: within a pyramid level, across levels, after R-Net, after O-Net.
const NMS_LEVEL: f64 = 0.5;
const NMS_PYRAMID: f64 = 0.7;
const NMS_RNET: f64 = 0.7;
const NMS_ONET: f64 = 0.7;

pub(super) fn detect(m: &Mtcnn, imgs: &[RgbImage]) -> Result<Vec<Vec<Detection>>> {
    let mut out = vec![Vec::new(); imgs.len()];
    let (w, h) = imgs[0].dimensions();
    let (w, h) = (w as usize, h as usize);
    if w == 0 || h == 0 {
        return Ok(out);
    }
    let c = stage_p(m, imgs, h, w)?;
    let c = if c.is_empty() {
        c
    } else {
        stage_r(m, imgs, c)?
    };
    let faces = if c.is_empty() {
        Vec::new()
    } else {
        stage_o(m, imgs, c)?
    };
    for (image, d) in faces {
        out[image].push(d);
    }
    for dets in &mut out {
        let area = |d: &Detection| (d.bbox[2] - d.bbox[0]) * (d.bbox[3] - d.bbox[1]);
        dets.sort_by(|a, b| area(b).total_cmp(&area(a)));
    }
    Ok(out)
}

/// `[N, 3, H, W]` float pixel values 0..255, viewed from NHWC bytes exactly as facenet's
/// `permute(0, 3, 1, 2).type(float)` (so kernels see the same channels-last strides).
#[cfg(test)]
pub(super) fn image_batch(imgs: &[RgbImage], device: Device) -> Result<Tensor> {
    let (w, h) = imgs[0].dimensions();
    let mut bytes = Vec::with_capacity(imgs.len() * (w * h * 3) as usize);
    for img in imgs {
        bytes.extend_from_slice(img.as_raw());
    }
    let t = Tensor::from_slice(&bytes)
        .f_view([imgs.len() as i64, h as i64, w as i64, 3])?
        .to_device(device)
        .permute([0, 3, 1, 2]);
    Ok(t.to_kind(tch::Kind::Float))
}

/// One pyramid level as `[N, 3, lh, lw]` with channels-last strides, as facenet's resampled
/// batch has them (the convolutions then sum in the same order).
pub(super) fn level_tensor(
    data: Vec<f32>,
    n: usize,
    lh: usize,
    lw: usize,
    device: Device,
) -> Result<Tensor> {
    let t = Tensor::from_slice(&data).f_view([n as i64, lh as i64, lw as i64, 3])?;
    Ok(t.to_device(device).permute([0, 3, 1, 2]))
}

fn to_vec(t: &Tensor) -> Result<Vec<f32>> {
    let flat = t.to_device(Device::Cpu).contiguous().flatten(0, -1);
    Ok(Vec::<f32>::try_from(&flat)?)
}

/// Stage 1: P-Net on every pyramid level (all images at once), NMS per level and across
/// levels, calibration, squaring.
fn stage_p(m: &Mtcnn, imgs: &[RgbImage], h: usize, w: usize) -> Result<Vec<Candidate>> {
    let cfg = &m.config;
    let n = imgs.len();
    let scales = boxes::pyramid(h, w, cfg.min_face_size, cfg.factor);
    let sizes: Vec<(usize, usize)> = scales
        .iter()
        .map(|&s| {
            let (lh, lw) = boxes::level_size(h, w, s);
            (lh as usize, lw as usize)
        })
        .collect();
    let levels = pyramid::levels(imgs, &sizes);
    let mut all = Vec::new();
    for ((&scale, &(lh, lw)), data) in scales.iter().zip(&sizes).zip(levels) {
        let x = level_tensor(data, n, lh, lw, m.device)?;
        let out = m.pnet.forward(&x);
        let size = out.prob.size();
        let (oh, ow) = (size[2] as usize, size[3] as usize);
        let prob = to_vec(&out.prob.select(1, 1))?;
        let reg = to_vec(&out.reg)?;
        let plane = oh * ow;
        let mut level = Vec::new();
        for i in 0..n {
            level.extend(boxes::proposals(
                i,
                &prob[i * plane..(i + 1) * plane],
                &reg[i * 4 * plane..(i + 1) * 4 * plane],
                (oh, ow),
                scale,
                cfg.thresholds[0],
            ));
        }
        let keep = boxes::nms(&level, NMS_LEVEL, Overlap::Union);
        all.extend(keep.into_iter().map(|k| level[k]));
    }
    let keep = boxes::nms(&all, NMS_PYRAMID, Overlap::Union);
    Ok(keep
        .into_iter()
        .map(|k| {
            let mut c = all[k];
            boxes::calibrate(&mut c);
            boxes::rerec(&mut c);
            c
        })
        .collect())
}

/// Stage 2: R-Net on 24x24 crops, threshold, NMS, calibration, squaring.
fn stage_r(m: &Mtcnn, imgs: &[RgbImage], cands: Vec<Candidate>) -> Result<Vec<Candidate>> {
    let (crops, cands) = crop(imgs, m.device, cands, 24)?;
    let Some(crops) = crops else {
        return Ok(Vec::new());
    };
    let (mut reg, mut prob) = (Vec::new(), Vec::new());
    for x in chunks(&crops) {
        let out = m.rnet.forward(&x);
        reg.extend(to_vec(&out.reg)?);
        prob.extend(to_vec(&out.prob)?);
    }
    let passed: Vec<Candidate> = cands
        .iter()
        .enumerate()
        .filter(|(k, _)| prob[2 * k + 1] > m.config.thresholds[1])
        .map(|(k, c)| Candidate {
            score: prob[2 * k + 1],
            reg: [reg[4 * k], reg[4 * k + 1], reg[4 * k + 2], reg[4 * k + 3]],
            ..*c
        })
        .collect();
    let keep = boxes::nms(&passed, NMS_RNET, Overlap::Union);
    Ok(keep
        .into_iter()
        .map(|k| {
            let mut c = passed[k];
            boxes::bbreg(&mut c);
            boxes::rerec(&mut c);
            c
        })
        .collect())
}

/// Stage 3: O-Net on 48x48 crops, threshold, landmarks (on the box O-Net saw), calibration,
/// NMS by the smaller area. Returns `(image, face)` in descending score order.
fn stage_o(m: &Mtcnn, imgs: &[RgbImage], cands: Vec<Candidate>) -> Result<Vec<(usize, Detection)>> {
    let (crops, cands) = crop(imgs, m.device, cands, 48)?;
    let Some(crops) = crops else {
        return Ok(Vec::new());
    };
    let (mut reg, mut lms, mut prob) = (Vec::new(), Vec::new(), Vec::new());
    for x in chunks(&crops) {
        let out = m.onet.forward(&x);
        reg.extend(to_vec(&out.reg)?);
        lms.extend(to_vec(&out.landmarks)?);
        prob.extend(to_vec(&out.prob)?);
    }
    let mut passed = Vec::new();
    let mut points = Vec::new();
    for (k, c) in cands.iter().enumerate() {
        let score = prob[2 * k + 1];
        if score <= m.config.thresholds[2] {
            continue;
        }
        points.push(boxes::landmarks(&c.bbox, &lms[10 * k..10 * k + 10]));
        let mut c = Candidate {
            score,
            reg: [reg[4 * k], reg[4 * k + 1], reg[4 * k + 2], reg[4 * k + 3]],
            ..*c
        };
        boxes::bbreg(&mut c);
        passed.push(c);
    }
    let keep = boxes::nms(&passed, NMS_ONET, Overlap::Min);
    Ok(keep
        .into_iter()
        .map(|k| {
            let c = &passed[k];
            let d = Detection {
                bbox: c.bbox,
                prob: c.score,
                landmarks: points[k],
            };
            (c.image, d)
        })
        .collect())
}

/// Each candidate's clipped window resampled to `size` x `size` (see [`boxes::area_crop`]),
/// normalised and stacked on the nets' device. Candidates whose box lies wholly outside the
/// image are dropped (facenet skips their crops).
fn crop(
    imgs: &[RgbImage],
    device: Device,
    cands: Vec<Candidate>,
    size: usize,
) -> Result<(Option<Tensor>, Vec<Candidate>)> {
    let (w, h) = imgs[0].dimensions();
    let mut data = Vec::with_capacity(cands.len() * 3 * size * size);
    let mut kept = Vec::with_capacity(cands.len());
    for c in cands {
        let Some(win) = boxes::window(&c.bbox, w as usize, h as usize) else {
            continue;
        };
        boxes::area_crop(&imgs[c.image], &win, size, &mut data);
        kept.push(c);
    }
    if kept.is_empty() {
        return Ok((None, kept));
    }
    let s = size as i64;
    // Channels last, as facenet's crops are (area resampling keeps its channels-last frame's
    // layout): R- and O-Net's max pooling runs about 3x faster that way than on planes.
    let t = crate::layers::channels_last(&Tensor::from_slice(&data).f_view([
        kept.len() as i64,
        3,
        s,
        s,
    ])?);
    Ok((Some(t.to_device(device)), kept))
}

fn chunks(x: &Tensor) -> impl Iterator<Item = Tensor> + '_ {
    let n = x.size()[0];
    (0..n)
        .step_by(CHUNK as usize)
        .map(move |i| x.narrow(0, i, CHUNK.min(n - i)))
}
