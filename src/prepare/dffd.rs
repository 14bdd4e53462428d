//! DFFD (Dang et al., CVPR 2020, "On the Detection of Digital Face Manipulation") as its
//! authors ship it: one folder per source, each with the authors' identity-disjoint
//! `train/`, `validation/` and `test/` image folders (50 / 5 / 45 %).
//!
//! ```text
//! ffhq/train/00000.png                 real
//! celeba_2w/validation/000001.png      real
//! youtube/test/...                     real (FF++ source frames)
//! faceapp/train/...  stargan/  pggan_v1/  pggan_v2/  stylegan_celeba/  stylegan_ffhq/
//! Deepfakes/  FaceSwap/  Face2Face/    fake, domain = folder name
//! ```
//!
//! These names are the folders the authors' releases unpack to (as read by public DFFD
//! loaders). DFFD is an image dataset: each image is its own `video` id.
use super::{clean_id, entries, is_image, Item, ListOptions, Listing, Source};
use crate::error::Result;
use crate::manifest::Split;
use std::path::Path;

/// Sources of real faces (compared case-insensitively); every other source is a forgery.
pub const REAL_SOURCES: [&str; 4] = ["ffhq", "celeba", "celeba_2w", "youtube"];

/// The split folders, as DFFD names them (`val` also accepted).
pub const SPLIT_FOLDERS: [(&str, Split); 4] = [
    ("train", Split::Train),
    ("validation", Split::Val),
    ("val", Split::Val),
    ("test", Split::Test),
];

pub fn list(root: &Path, _opts: &ListOptions) -> Result<Listing> {
    let mut out = Listing::default();
    for dir in entries(root)? {
        if !dir.is_dir() {
            continue;
        }
        let source = super::name(&dir);
        let real = REAL_SOURCES.contains(&source.to_ascii_lowercase().as_str());
        for (sub, split) in SPLIT_FOLDERS {
            for path in entries(&dir.join(sub))? {
                if !is_image(&path) {
                    continue;
                }
                out.items.push(Item {
                    video: clean_id(&format!("{source}/{}", super::stem(&path))),
                    source: Source::Image(path),
                    label: if real { 0 } else { 1 },
                    domain: if real { "real".into() } else { source.clone() },
                    splits: vec![split],
                });
            }
        }
    }
    Ok(out)
}
