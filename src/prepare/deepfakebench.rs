//! DeepfakeBench's dataset index (`preprocessing/dataset_json/<name>.json`, written by its
//! `rearrange.py`, read by `training/dataset/abstract_dataset.py`):
//!
//! ```text
//! { "<dataset>": { "<label name>": { "train"|"val"|"test": {
//!       ["c23"|"c40"|"raw": {]   # FF++-derived sets only
//!         "<video>": { "label": "<label name>", "frames": ["<path>", ...] } } } } }
//! ```
//!
//! Frame paths are relative to DeepfakeBench's `rgb_dir` (here `--root`), may use `\`
//! and a leading `./`; absolute paths are used as they are. Labels follow DeepfakeBench's
//! `label_dict` (`FF-real` 0, `FF-DF` 1, ...); a label it does not list is real when its
//! name contains "real". Some sets (DeepFakeDetection) list a video in every split: the
//! video is prepared once and written under each split, as DeepfakeBench reads it.
use super::{clean_id, entries, Item, ListOptions, Listing, Source};
use crate::error::{Error, Result};
use crate::manifest::Split;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// DeepfakeBench label name -> (label, domain).
const LABELS: [(&str, u8, &str); 24] = [
    ("FF-real", 0, "real"),
    ("FF-DF", 1, "Deepfakes"),
    ("FF-F2F", 1, "Face2Face"),
    ("FF-FS", 1, "FaceSwap"),
    ("FF-NT", 1, "NeuralTextures"),
    ("FF-FH", 1, "FaceShifter"),
    ("FF-SH", 1, "FaceShifter"),
    ("DFD_real", 0, "real"),
    ("DFD_fake", 1, "DeepFakeDetection"),
    ("CelebDFv1_real", 0, "real"),
    ("CelebDFv1_fake", 1, "CelebDFv1"),
    ("CelebDFv2_real", 0, "real"),
    ("CelebDFv2_fake", 1, "Celeb-synthesis"),
    ("DFDCP_Real", 0, "real"),
    ("DFDCP_FakeA", 1, "DFDCP_FakeA"),
    ("DFDCP_FakeB", 1, "DFDCP_FakeB"),
    ("DFDC_Real", 0, "real"),
    ("DFDC_Fake", 1, "DFDC"),
    ("DF_real", 0, "real"),
    ("DF_fake", 1, "DeeperForensics"),
    ("UADFV_Real", 0, "real"),
    ("UADFV_Fake", 1, "UADFV"),
    ("roop_Real", 0, "real"),
    ("roop_Fake", 1, "roop"),
];

/// (label, domain) of a DeepfakeBench label name.
pub fn label_of(name: &str) -> (u8, String) {
    match LABELS.iter().find(|(n, _, _)| *n == name) {
        Some(&(_, l, d)) => (l, d.to_string()),
        None if name.to_ascii_lowercase().contains("real") => (0, "real".into()),
        None => (1, name.to_string()),
    }
}

/// A frame path of the index, resolved against `root`.
pub fn frame_path(root: &Path, p: &str) -> PathBuf {
    let p = p.replace('\\', "/");
    let p = p.strip_prefix("./").unwrap_or(&p);
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(p.trim_start_matches('/'))
    }
}

/// Frame number of a file name when it is numeric (`012.png` -> 12), for frame order.
fn frame_key(p: &Path) -> (u64, PathBuf) {
    let n = super::stem(p).parse::<u64>().unwrap_or(u64::MAX);
    (n, p.to_path_buf())
}

fn index_files(root: &Path, opts: &ListOptions) -> Result<Vec<PathBuf>> {
    let index = opts
        .index
        .clone()
        .unwrap_or_else(|| root.join("dataset_json"));
    if index.is_file() {
        return Ok(vec![index]);
    }
    let files: Vec<PathBuf> = entries(&index)?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    if files.is_empty() {
        return Err(Error::invalid(format!(
            "{}: no DeepfakeBench index (.json) found; pass --index with a dataset_json file \
             or folder",
            index.display()
        )));
    }
    Ok(files)
}

fn object<'a>(v: &'a Value, file: &Path, what: &str) -> Result<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| Error::invalid(format!("{}: {what} must be a JSON object", file.display())))
}

/// Whether a split's map holds videos (objects with `frames`) rather than compression levels.
fn holds_videos(m: &Map<String, Value>) -> bool {
    m.values().any(|v| v.get("frames").is_some())
}

pub fn list(root: &Path, opts: &ListOptions) -> Result<Listing> {
    // video id -> item, so a video listed in several splits is prepared once.
    let mut items: BTreeMap<String, Item> = BTreeMap::new();
    for file in index_files(root, opts)? {
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| Error::json(format!("{}: bad JSON", file.display()), e))?;
        for (dataset, labels) in object(&v, &file, "the index")? {
            for (label_name, splits) in object(labels, &file, dataset)? {
                for (split_name, videos) in object(splits, &file, label_name)? {
                    let split: Split = split_name.parse().map_err(|e| {
                        Error::invalid(format!("{}: {dataset}/{label_name}: {e}", file.display()))
                    })?;
                    let mut videos = object(videos, &file, split_name)?;
                    if !videos.is_empty() && !holds_videos(videos) {
                        // FF++-derived sets nest one more level: the compression.
                        match videos.get(&opts.quality) {
                            Some(v) => videos = object(v, &file, &opts.quality)?,
                            None => continue,
                        }
                    }
                    for (name, info) in videos {
                        let lname = info
                            .get("label")
                            .and_then(Value::as_str)
                            .unwrap_or(label_name);
                        let (label, domain) = label_of(lname);
                        let frames = info.get("frames").and_then(Value::as_array).ok_or_else(
                            || {
                                Error::invalid(format!(
                                    "{}: {dataset}/{label_name}/{split_name}/{name}: no `frames` list",
                                    file.display()
                                ))
                            },
                        )?;
                        let mut paths: Vec<PathBuf> = frames
                            .iter()
                            .filter_map(Value::as_str)
                            .map(|p| frame_path(root, p))
                            .collect();
                        paths.sort_by_key(|p| frame_key(p));
                        paths.dedup();
                        let video = clean_id(&format!("{label_name}/{name}"));
                        let item = items.entry(video.clone()).or_insert_with(|| Item {
                            video,
                            source: Source::Frames(paths),
                            label,
                            domain,
                            splits: Vec::new(),
                        });
                        if !item.splits.contains(&split) {
                            item.splits.push(split);
                            item.splits.sort();
                        }
                    }
                }
            }
        }
    }
    Ok(Listing {
        items: items
            .into_values()
            .filter(|i| !i.splits.is_empty())
            .collect(),
        ..Listing::default()
    })
}
