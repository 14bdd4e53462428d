//! The DeepFake Detection Challenge (DFDC) set as Kaggle ships it:
//!
//! ```text
//! dfdc_train_part_0/metadata.json   {"abc.mp4": {"label": "FAKE", "split": "train",
//!                                                "original": "xyz.mp4"}, ...}
//! dfdc_train_part_0/abc.mp4 ...
//! test_videos/*.mp4                 the public test set (optional) ...
//! labels.csv                        ... with its labels: `filename,label` (1 or FAKE = fake)
//! ```
//!
//! DFDC names no forgery method, so every fake is the one domain `dfdc`. Splits keep a fake
//! with its original: the group key is the original's file name (a real video's own), hashed
//! with the seed; parts of one original spread over several `dfdc_train_part_*` folders stay
//! together. With `labels.csv` the test set is `test` and the training parts give train and
//! val only; without it a seeded share of originals is carved out as test.
use super::split::by_fraction;
use super::{clean_id, entries, is_video, shown, Item, ListOptions, Listing, Reason, Skip, Source};
use crate::error::{Error, Result};
use crate::manifest::Split;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

pub const FAKE_DOMAIN: &str = "dfdc";
pub const TEST_FOLDER: &str = "test_videos";
pub const TEST_LABELS: &str = "labels.csv";

#[derive(Deserialize)]
struct Entry {
    label: String,
    #[serde(default)]
    original: Option<String>,
}

fn label_of(text: &str) -> Option<u8> {
    match text.trim().to_ascii_uppercase().as_str() {
        "FAKE" | "1" => Some(1),
        "REAL" | "0" => Some(0),
        _ => None,
    }
}

/// `labels.csv` as `file name -> label`; a header line `filename,label` is allowed.
pub fn read_labels(path: &Path) -> Result<BTreeMap<String, u8>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out = BTreeMap::new();
    for (i, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (i == 0 && line.to_ascii_lowercase().starts_with("filename")) {
            continue;
        }
        let bad = |msg: String| Error::Line {
            path: path.to_path_buf(),
            line: i + 1,
            msg,
        };
        let Some((file, label)) = line.split_once(',') else {
            return Err(bad(format!("expected `filename,label`, got `{line}`")));
        };
        let label = label_of(label)
            .ok_or_else(|| bad(format!("label must be 0, 1, REAL or FAKE, got `{label}`")))?;
        out.insert(file.trim().to_string(), label);
    }
    Ok(out)
}

fn read_metadata(path: &Path) -> Result<BTreeMap<String, Entry>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| Error::json(format!("{}: not DFDC metadata", path.display()), e))
}

pub fn list(root: &Path, opts: &ListOptions) -> Result<Listing> {
    let mut out = Listing::default();
    let labels_path = root.join(TEST_LABELS);
    let test_labels = if labels_path.is_file() {
        Some(read_labels(&labels_path)?)
    } else {
        None
    };
    let test_frac = if test_labels.is_some() {
        0.0
    } else {
        opts.test_frac
    };
    let parts: Vec<_> = entries(root)?
        .into_iter()
        .filter(|p| p.is_dir() && p.join("metadata.json").is_file())
        .collect();
    if parts.is_empty() && test_labels.is_none() {
        return Err(Error::invalid(format!(
            "{}: the dfdc layout needs dfdc_train_part_*/metadata.json folders (or {TEST_LABELS} \
             with {TEST_FOLDER}/)",
            root.display()
        )));
    }
    for part in parts {
        let meta_path = part.join("metadata.json");
        let meta = read_metadata(&meta_path)?;
        let part_name = super::name(&part);
        for (file, entry) in &meta {
            let label = label_of(&entry.label).ok_or_else(|| {
                Error::invalid(format!(
                    "{}: `{file}` has label `{}` (expected REAL or FAKE)",
                    meta_path.display(),
                    entry.label
                ))
            })?;
            let path = part.join(file);
            if !path.is_file() {
                out.skipped.push(Skip {
                    source: shown(root, &path),
                    video: None,
                    frame: None,
                    reason: Reason::Missing,
                    detail: format!("listed in {} but not found", shown(root, &meta_path)),
                });
                continue;
            }
            let group = match (label, &entry.original) {
                (1, Some(original)) => original.as_str(),
                _ => file.as_str(),
            };
            out.items.push(Item {
                video: clean_id(&format!("{part_name}/{}", super::stem(&path))),
                source: Source::Video(path),
                label,
                domain: if label == 0 { "real" } else { FAKE_DOMAIN }.into(),
                splits: vec![by_fraction(opts.seed, group, opts.val_frac, test_frac)],
            });
        }
        for path in entries(&part)? {
            let listed = path
                .file_name()
                .is_some_and(|n| meta.contains_key(n.to_string_lossy().as_ref()));
            if is_video(&path) && !listed {
                out.skipped.push(Skip {
                    source: shown(root, &path),
                    video: None,
                    frame: None,
                    reason: Reason::NotInSplits,
                    detail: format!("not in {}", shown(root, &meta_path)),
                });
            }
        }
    }
    if let Some(labels) = test_labels {
        let folder = root.join(TEST_FOLDER);
        for (file, &label) in &labels {
            let path = folder.join(file);
            if !path.is_file() {
                out.skipped.push(Skip {
                    source: shown(root, &path),
                    video: None,
                    frame: None,
                    reason: Reason::Missing,
                    detail: format!("listed in {TEST_LABELS} but not found"),
                });
                continue;
            }
            out.items.push(Item {
                video: clean_id(&format!("{TEST_FOLDER}/{}", super::stem(&path))),
                source: Source::Video(path),
                label,
                domain: if label == 0 { "real" } else { FAKE_DOMAIN }.into(),
                splits: vec![Split::Test],
            });
        }
    }
    Ok(out)
}
