//! `prepare`: from a dataset as its authors ship it to aligned face crops and a manifest
//! (DESIGN.md sections 2-4).
//!
//! A layout module only lists the dataset: one [`Item`] (a video, an image or a folder of
//! frames) per manifest `video`, with its label, domain and split(s). [`run::prepare`] then
//! decodes, detects, aligns and writes, the same way for every layout.
pub mod celebdf;
pub mod deepfakebench;
pub mod dfdc;
pub mod dffd;
pub mod ffpp;
pub mod folder;
pub mod run;
pub mod split;

pub use run::{prepare, PrepareOptions, Progress, Summary};

use crate::error::{Error, Result};
use crate::manifest::Split;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The on-disk layouts `prepare` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// FaceForensics++: `original_sequences/`, `manipulated_sequences/`, split JSONs.
    Ffpp,
    /// Celeb-DF v2: `Celeb-real/`, `Celeb-synthesis/`, `YouTube-real/`, the test list.
    CelebDf,
    /// DFFD: `<source>/{train,validation,test}/` image folders.
    Dffd,
    /// DeepfakeBench's `dataset_json/<name>.json` index of extracted frames.
    DeepfakeBench,
    /// DFDC: `dfdc_train_part_*/metadata.json`, optionally `test_videos/` + `labels.csv`.
    Dfdc,
    /// `real/` and `fake/<method>/` folders of images, videos or frame folders.
    Folder,
}

impl Layout {
    pub const ALL: [Layout; 6] = [
        Layout::Ffpp,
        Layout::CelebDf,
        Layout::Dffd,
        Layout::DeepfakeBench,
        Layout::Dfdc,
        Layout::Folder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Ffpp => "ffpp",
            Layout::CelebDf => "celebdf",
            Layout::Dffd => "dffd",
            Layout::DeepfakeBench => "deepfakebench",
            Layout::Dfdc => "dfdc",
            Layout::Folder => "folder",
        }
    }

    /// Lists the dataset under `root`.
    pub fn list(self, root: &Path, opts: &ListOptions) -> Result<Listing> {
        if !root.is_dir() {
            return Err(Error::invalid(format!(
                "{}: dataset root is not a folder",
                root.display()
            )));
        }
        let mut listing = match self {
            Layout::Ffpp => ffpp::list(root, opts),
            Layout::CelebDf => celebdf::list(root, opts),
            Layout::Dffd => dffd::list(root, opts),
            Layout::DeepfakeBench => deepfakebench::list(root, opts),
            Layout::Dfdc => dfdc::list(root, opts),
            Layout::Folder => folder::list(root, opts),
        }?;
        listing.renamed = disambiguate(root, &mut listing.items);
        if listing.items.is_empty() {
            return Err(Error::invalid(format!(
                "{}: no videos or images found for the {} layout{}",
                root.display(),
                self.as_str(),
                match self {
                    Layout::Ffpp | Layout::DeepfakeBench => format!(" (quality {})", opts.quality),
                    _ => String::new(),
                }
            )));
        }
        Ok(listing)
    }
}

impl FromStr for Layout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Layout::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                format!("unknown layout `{s}` (ffpp, celebdf, dffd, deepfakebench, dfdc, folder)")
            })
    }
}

/// How the layouts read the dataset.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ListOptions {
    /// FF++ / DeepfakeBench compression level (`c23`, `c40`, `raw`).
    pub quality: String,
    /// FF++ split JSONs (`train.json`, `val.json`, `test.json`); default `<root>/splits`.
    pub splits: Option<PathBuf>,
    /// DeepfakeBench index: a `.json` file or a folder of them; default `<root>/dataset_json`.
    pub index: Option<PathBuf>,
    /// Seed of the hashed splits (where the authors give none).
    pub seed: u64,
    /// Share of identities put in `val` where the authors give no validation split.
    pub val_frac: f64,
    /// Share of identities put in `test` where the authors give no test split (folder, DFD).
    pub test_frac: f64,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions {
            quality: "c23".into(),
            splits: None,
            index: None,
            seed: 0,
            val_frac: 0.1,
            test_frac: 0.2,
        }
    }
}

/// Where an item's frames come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Video(PathBuf),
    /// One image is one frame (frame index 0).
    Image(PathBuf),
    /// Extracted frames of one video, in order; frame `i` is the `i`-th path.
    Frames(Vec<PathBuf>),
}

impl Source {
    /// The file or folder named in `skipped.jsonl`.
    pub fn path(&self) -> PathBuf {
        match self {
            Source::Video(p) | Source::Image(p) => p.clone(),
            Source::Frames(f) => f
                .first()
                .and_then(|p| p.parent())
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        }
    }
}

/// One manifest `video`: its frames, label, domain and split(s).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Unique id, also the folder of its faces (`faces/<video>/`).
    pub video: String,
    pub source: Source,
    pub label: u8,
    pub domain: String,
    /// Usually one; DeepfakeBench lists some videos in several splits.
    pub splits: Vec<Split>,
}

/// Why a video, image or frame was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Reason {
    #[serde(rename = "unreadable")]
    Unreadable,
    #[serde(rename = "no face")]
    NoFace,
    #[serde(rename = "too small")]
    TooSmall,
    /// FF++: a video that none of the split files names.
    #[serde(rename = "not in splits")]
    NotInSplits,
    /// Listed by the dataset's index but absent on disk.
    #[serde(rename = "missing")]
    Missing,
}

/// One line of `skipped.jsonl`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Skip {
    /// The file (relative to the dataset root when inside it).
    pub source: String,
    pub video: Option<String>,
    /// `None` when the whole video or image was not used.
    pub frame: Option<u64>,
    pub reason: Reason,
    pub detail: String,
}

/// What a layout found.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub items: Vec<Item>,
    /// Files the layout itself could not use (not in any split, listed but missing).
    pub skipped: Vec<Skip>,
    /// Ids changed because two sources mapped to one id.
    pub renamed: Vec<Renamed>,
}

/// A video id that [`disambiguate`] changed, for `prepare`'s output.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Renamed {
    /// The file or folder (relative to the dataset root when inside it).
    pub source: String,
    pub from: String,
    pub to: String,
}

/// Sorts items by id and gives every member of a group sharing one id a new id: the id
/// plus the source's extension (`clip.mp4`, `clip.png`, `clip.frames`), then `~2`, `~3`, ...
/// while that is still taken. Members are taken in source-path order, so the same tree
/// always gets the same ids; a dataset is never refused for its file names.
fn disambiguate(root: &Path, items: &mut [Item]) -> Vec<Renamed> {
    items.sort_by(|a, b| {
        (a.video.as_str(), a.source.path()).cmp(&(b.video.as_str(), b.source.path()))
    });
    let mut taken: std::collections::HashSet<String> =
        items.iter().map(|i| i.video.clone()).collect();
    let mut renamed = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let end = start
            + items[start..]
                .iter()
                .take_while(|i| i.video == items[start].video)
                .count();
        if end - start > 1 {
            for item in &mut items[start..end] {
                let ext = match &item.source {
                    Source::Frames(_) => "frames".to_string(),
                    Source::Video(p) | Source::Image(p) => p
                        .extension()
                        .map(|e| clean_id(&e.to_string_lossy().to_lowercase()))
                        .unwrap_or_else(|| "file".into()),
                };
                let base = format!("{}.{ext}", item.video);
                let (mut to, mut k) = (base.clone(), 1);
                while taken.contains(&to) {
                    k += 1;
                    to = format!("{base}~{k}");
                }
                taken.insert(to.clone());
                renamed.push(Renamed {
                    source: shown(root, &item.source.path()),
                    from: std::mem::replace(&mut item.video, to.clone()),
                    to,
                });
            }
        }
        start = end;
    }
    items.sort_by(|a, b| a.video.cmp(&b.video));
    renamed
}

pub const VIDEO_EXTENSIONS: [&str; 10] = [
    "mp4", "avi", "mov", "mkv", "webm", "m4v", "mpg", "mpeg", "flv", "wmv",
];
pub const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "bmp", "webp", "tif"];

fn has_ext(path: &Path, exts: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.contains(&e.to_ascii_lowercase().as_str()))
}

pub fn is_video(path: &Path) -> bool {
    has_ext(path, &VIDEO_EXTENSIONS)
}

pub fn is_image(path: &Path) -> bool {
    has_ext(path, &IMAGE_EXTENSIONS)
}

/// Entries of a folder, sorted by name (empty when the folder does not exist).
pub(crate) fn entries(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        if !e.file_name().to_string_lossy().starts_with('.') {
            out.push(e.path());
        }
    }
    out.sort();
    Ok(out)
}

/// File stem as a string.
pub(crate) fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A folder's name as a string.
pub(crate) fn name(path: &Path) -> String {
    path.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A video id safe as a relative folder path on any system: `/`-separated parts that keep
/// ASCII letters, digits and `._-` and every non-ASCII character except spaces and control
/// characters (so Chinese, Cyrillic or accented names stay apart); anything else becomes
/// `_`, and no part is `.` or `..`.
pub fn clean_id(id: &str) -> String {
    id.split('/')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let s: String = p
                .chars()
                .map(|c| {
                    let keep = if c.is_ascii() {
                        c.is_ascii_alphanumeric() || "._-".contains(c)
                    } else {
                        !c.is_whitespace() && !c.is_control()
                    };
                    if keep {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            if s == "." || s == ".." {
                "_".repeat(s.len())
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `path` relative to `root` when inside it, for messages and `skipped.jsonl`.
pub(crate) fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
#[path = "layout_tests.rs"]
mod layout_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_safe_relative_paths() {
        assert_eq!(clean_id("Deepfakes/000_003"), "Deepfakes/000_003");
        assert_eq!(clean_id("/a/../b c/ä.mp4"), "a/__/b_c/ä.mp4");
        assert_eq!(clean_id("real/视频 一\u{3000}.mp4"), "real/视频_一_.mp4");
        assert_eq!(clean_id("Видео:1\u{200}"), "Видео_1\u{200}");
        assert_eq!(clean_id("a\u{0}b\u{85}c"), "a_b_c");
        assert_eq!(clean_id("x//y/."), "x/y/_");
    }

    #[test]
    fn layouts_round_trip_their_names() {
        for l in Layout::ALL {
            assert_eq!(l.as_str().parse::<Layout>().unwrap(), l);
        }
        assert!("ff++".parse::<Layout>().is_err());
    }
}
