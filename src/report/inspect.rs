//! One pass of a trained model over a manifest split that keeps what the report plots:
//! scores, the features `C` and `C_bar` see, `C_bar`'s domain guesses, and for a few
//! faces the attention maps `M_df` / `M_dom` (mean over channels).
use crate::data::loader::Skipped;
use crate::detector::Detector;
use crate::error::{Error, Result};
use crate::manifest::{Manifest, Record};
use crate::metrics::ScoreRecord;
use crate::score::ScoreOptions;
use image::GrayImage;
use tch::{Device, Kind, Tensor};

/// Per kept image, in manifest order (unreadable images are in `skipped`).
pub struct Inspected {
    pub records: Vec<ScoreRecord>,
    /// The manifest's domain of each record.
    pub domains: Vec<String>,
    /// GAP of the features the classifier sees (I_df; I_X for the baseline).
    pub features: Vec<Vec<f32>>,
    /// GAP of I_dom, when the model has `A_dom`.
    pub dom_features: Option<Vec<Vec<f32>>>,
    /// `C_bar`'s arg-max domain (an index into the checkpoint's domain map).
    pub domain_pred: Option<Vec<usize>>,
    pub skipped: Vec<Skipped>,
}

/// One face with its attention maps, each `h x w` row-major, values in [0, 1].
pub struct FaceMaps {
    pub path: String,
    pub label: u8,
    pub domain: String,
    pub score: f32,
    /// The face as the model saw it (gray, model size).
    pub face: GrayImage,
    pub hw: (usize, usize),
    pub m_df: Option<Vec<f32>>,
    pub m_dom: Option<Vec<f32>>,
}

/// Score, features, I_dom features and predicted domain of one image.
type Row = (f32, Vec<f32>, Option<Vec<f32>>, Option<usize>);

/// Runs the model over `records` (eval mode, no `T`).
pub fn inspect(
    det: &Detector,
    device: Device,
    manifest: &Manifest,
    records: &[&Record],
    opts: &ScoreOptions,
) -> Result<Inspected> {
    let _guard = tch::no_grad_guard();
    let mut by_index: Vec<Option<Row>> = vec![None; records.len()];
    let mut skipped = Vec::new();
    for chunk in crate::score::loader(crate::score::record_samples(manifest, records), opts)? {
        let chunk = chunk?;
        skipped.extend(chunk.skipped);
        if chunk.batch.indices.is_empty() {
            continue;
        }
        let images = chunk.batch.images.to_device(device);
        let out = det.model.inspect(&images);
        // The same score `eval` gives (with the mirror image when the options say so).
        let mut p = out.logit.sigmoid().reshape([-1]);
        if opts.flip {
            p = (p + det.model.score(&images.flip([3i64])).reshape([-1])) / 2.0;
        }
        let scores = Vec::<f32>::try_from(p.to_device(Device::Cpu))?;
        let feats = crate::score::rows(&out.pooled)?;
        let dom = out
            .dom_pooled
            .as_ref()
            .map(crate::score::rows)
            .transpose()?;
        let pred = match &out.domain_logits {
            Some(l) => Some(Vec::<i64>::try_from(
                l.argmax(1, false).to_device(Device::Cpu),
            )?),
            None => None,
        };
        for (j, &i) in chunk.batch.indices.iter().enumerate() {
            by_index[i] = Some((
                scores[j],
                feats[j].clone(),
                dom.as_ref().map(|d| d[j].clone()),
                pred.as_ref().map(|p| p[j] as usize),
            ));
        }
    }
    let has_dom = det.model.config.variant.has_dom();
    let mut out = Inspected {
        records: Vec::new(),
        domains: Vec::new(),
        features: Vec::new(),
        dom_features: has_dom.then(Vec::new),
        domain_pred: has_dom.then(Vec::new),
        skipped,
    };
    for (r, v) in records.iter().zip(by_index) {
        let Some((score, feat, dom, pred)) = v else {
            continue;
        };
        out.records.push(ScoreRecord {
            path: Some(r.path.to_string_lossy().into_owned()),
            score: score as f64,
            label: r.label,
            video: r.video.clone(),
        });
        out.domains.push(r.domain.clone());
        out.features.push(feat);
        if let (Some(all), Some(d)) = (out.dom_features.as_mut(), dom) {
            all.push(d);
        }
        if let (Some(all), Some(p)) = (out.domain_pred.as_mut(), pred) {
            all.push(p);
        }
    }
    if out.records.is_empty() {
        return Err(Error::invalid(format!(
            "{}: none of the {} images could be read",
            manifest.path.display(),
            records.len()
        )));
    }
    Ok(out)
}

/// Up to `per_domain` records of each domain, from different videos where the split has
/// enough (frames of one video look alike), sorted by domain for the attention sheet.
pub fn pick_per_domain<'a>(records: &[&'a Record], per_domain: usize) -> Vec<&'a Record> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut taken: BTreeMap<&str, usize> = BTreeMap::new();
    let mut videos: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut picked = vec![false; records.len()];
    // First pass: one face per video; second pass fills domains with few videos.
    for distinct in [true, false] {
        for (i, r) in records.iter().enumerate() {
            let n = taken.entry(r.domain.as_str()).or_default();
            if picked[i] || *n >= per_domain {
                continue;
            }
            if distinct && !videos.insert((r.domain.as_str(), r.video.as_str())) {
                continue;
            }
            *n += 1;
            picked[i] = true;
        }
    }
    let mut out: Vec<&Record> = records
        .iter()
        .zip(&picked)
        .filter(|(_, &p)| p)
        .map(|(r, _)| *r)
        .collect();
    out.sort_by(|a, b| a.domain.cmp(&b.domain));
    out
}

fn channel_mean(m: &Tensor, i: i64) -> Result<Vec<f32>> {
    let m = m
        .get(i)
        .mean_dim([0i64].as_slice(), false, Kind::Float)
        .to_device(Device::Cpu)
        .contiguous();
    Ok(Vec::<f32>::try_from(m.reshape([-1]))?)
}

/// The attention maps of `records` (read errors skip the face, as in `inspect`).
pub fn attention_maps(
    det: &Detector,
    device: Device,
    manifest: &Manifest,
    records: &[&Record],
    opts: &ScoreOptions,
) -> Result<Vec<FaceMaps>> {
    let _guard = tch::no_grad_guard();
    let mut out = Vec::new();
    for chunk in crate::score::loader(crate::score::record_samples(manifest, records), opts)? {
        let chunk = chunk?;
        if chunk.batch.indices.is_empty() {
            continue;
        }
        let images = chunk.batch.images.to_device(device);
        let o = det.model.inspect(&images);
        let scores = Vec::<f32>::try_from(o.logit.sigmoid().reshape([-1]).to_device(Device::Cpu))?;
        let hw = o
            .m_df
            .as_ref()
            .map(|m| (m.size()[2] as usize, m.size()[3] as usize))
            .unwrap_or((0, 0));
        let size = opts.size;
        for (j, &i) in chunk.batch.indices.iter().enumerate() {
            let r = records[i];
            let pixels =
                Vec::<f32>::try_from(images.get(j as i64).to_device(Device::Cpu).reshape([-1]))?;
            let bytes = pixels
                .iter()
                .map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
                .collect();
            let face = GrayImage::from_raw(size, size, bytes)
                .ok_or_else(|| Error::invalid("model input is not size x size"))?;
            out.push(FaceMaps {
                path: r.path.to_string_lossy().into_owned(),
                label: r.label,
                domain: r.domain.clone(),
                score: scores[j],
                face,
                hw,
                m_df: o
                    .m_df
                    .as_ref()
                    .map(|m| channel_mean(m, j as i64))
                    .transpose()?,
                m_dom: o
                    .m_dom
                    .as_ref()
                    .map(|m| channel_mean(m, j as i64))
                    .transpose()?,
            });
        }
    }
    Ok(out)
}
