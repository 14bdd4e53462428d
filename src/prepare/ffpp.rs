//! FaceForensics++ as its download script leaves it:
//!
//! ```text
//! original_sequences/youtube/<q>/videos/000.mp4               real
//! original_sequences/actors/<q>/videos/01__walking.mp4         real (DeepFakeDetection's actors)
//! manipulated_sequences/<Method>/<q>/videos/000_003.mp4        fake, domain <Method>
//! splits/{train,val,test}.json                                  [[target, source], ...]
//! ```
//!
//! The official split files (from the FaceForensics repository, `dataset/splits/`) list id
//! pairs `[a, b]`: the real videos `a` and `b` and the fakes `a_b` and `b_a` belong to that
//! split. DeepFakeDetection (`01_02__scene__code`) is not in those files: its videos and the
//! actors' real videos are split by a seeded hash of the target actor (`01`), so one actor
//! never sits in two splits.
use super::split::by_fraction;
use super::{clean_id, entries, is_video, shown, Item, ListOptions, Listing, Reason, Skip, Source};
use crate::error::{Error, Result};
use crate::manifest::Split;
use std::collections::HashMap;
use std::path::Path;

/// The manipulation methods FF++ ships (the folder names are the domain names).
pub const METHODS: [&str; 6] = [
    "Deepfakes",
    "Face2Face",
    "FaceSwap",
    "NeuralTextures",
    "FaceShifter",
    "DeepFakeDetection",
];

/// The method whose videos are not in the official split files.
const DFD: &str = "DeepFakeDetection";

/// Reads `train.json`, `val.json`, `test.json` into video id -> split.
pub fn read_splits(dir: &Path) -> Result<HashMap<String, Split>> {
    let mut map: HashMap<String, Split> = HashMap::new();
    for split in Split::ALL {
        let path = dir.join(format!("{}.json", split.as_str()));
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::invalid(format!(
                "{}: cannot read the FF++ split file ({e}); pass --splits with the folder \
                 holding train.json, val.json and test.json (FaceForensics repository, \
                 dataset/splits)",
                path.display()
            ))
        })?;
        let pairs: Vec<Vec<String>> = serde_json::from_str(&text).map_err(|e| {
            Error::invalid(format!(
                "{}: expected a JSON list of [target, source] id pairs: {e}",
                path.display()
            ))
        })?;
        for (i, pair) in pairs.iter().enumerate() {
            let [a, b] = pair.as_slice() else {
                return Err(Error::invalid(format!(
                    "{}: entry {i} has {} ids, expected 2",
                    path.display(),
                    pair.len()
                )));
            };
            for id in [a.clone(), b.clone(), format!("{a}_{b}"), format!("{b}_{a}")] {
                if let Some(prev) = map.insert(id.clone(), split) {
                    if prev != split {
                        return Err(Error::invalid(format!(
                            "{}: video `{id}` is also in {prev}.json",
                            path.display()
                        )));
                    }
                }
            }
        }
    }
    Ok(map)
}

/// The actor a DeepFakeDetection file belongs to: the text before the first `_`.
fn actor(stem: &str) -> &str {
    stem.split('_').next().unwrap_or(stem)
}

pub fn list(root: &Path, opts: &ListOptions) -> Result<Listing> {
    let splits_dir = opts.splits.clone().unwrap_or_else(|| root.join("splits"));
    let official = read_splits(&splits_dir)?;
    let q = &opts.quality;
    let mut out = Listing::default();
    let mut add = |folder: &Path, group: &str, label: u8, domain: &str| -> Result<()> {
        for path in entries(&folder.join(q).join("videos"))? {
            if !is_video(&path) {
                continue;
            }
            let stem = super::stem(&path);
            let split = if group == "actors" || domain == DFD {
                Some(by_fraction(
                    opts.seed,
                    actor(&stem),
                    opts.val_frac,
                    opts.test_frac,
                ))
            } else {
                official.get(&stem).copied()
            };
            let video = clean_id(&format!("{group}/{stem}"));
            match split {
                Some(s) => out.items.push(Item {
                    video,
                    source: Source::Video(path),
                    label,
                    domain: domain.to_string(),
                    splits: vec![s],
                }),
                None => out.skipped.push(Skip {
                    source: shown(root, &path),
                    video: Some(video),
                    frame: None,
                    reason: Reason::NotInSplits,
                    detail: format!("`{stem}` is in none of {}", splits_dir.display()),
                }),
            }
        }
        Ok(())
    };
    let originals = root.join("original_sequences");
    add(&originals.join("youtube"), "youtube", 0, "real")?;
    add(&originals.join("actors"), "actors", 0, "real")?;
    for dir in entries(&root.join("manipulated_sequences"))? {
        if dir.is_dir() {
            let method = super::name(&dir);
            add(&dir, &method, 1, &method)?;
        }
    }
    Ok(out)
}
