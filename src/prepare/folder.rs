//! A plain folder tree, for data that comes in no published layout:
//!
//! ```text
//! real/clip.mp4             a video
//! real/photo.jpg            an image (its own video id)
//! real/person7/a.mp4        videos grouped by a folder (an identity): one split per folder
//! real/clip9/0001.png ...   a folder of images only: the extracted frames of one video
//! fake/<method>/...         the same, fake, domain <method>
//! ```
//!
//! Splits come from a seeded hash of the group: the folder for grouped files, else the file
//! name without extension (so `real/a.mp4` and `fake/x/a.mp4` share a split).
use super::split::by_fraction;
use super::{clean_id, entries, is_image, is_video, Item, ListOptions, Listing, Source};
use crate::error::{Error, Result};
use std::path::Path;

fn collect(
    dir: &Path,
    label: u8,
    domain: &str,
    opts: &ListOptions,
    out: &mut Listing,
) -> Result<()> {
    let split = |key: &str| vec![by_fraction(opts.seed, key, opts.val_frac, opts.test_frac)];
    let item = |video: String, source: Source, key: &str| Item {
        video: clean_id(&video),
        source,
        label,
        domain: domain.to_string(),
        splits: split(key),
    };
    for path in entries(dir)? {
        if path.is_dir() {
            let name = super::name(&path);
            let files = entries(&path)?;
            if files.iter().any(|p| is_video(p)) {
                for v in files.iter().filter(|p| is_video(p)) {
                    let id = format!("{domain}/{name}/{}", super::stem(v));
                    out.items.push(item(id, Source::Video(v.clone()), &name));
                }
            } else {
                let frames: Vec<_> = files.into_iter().filter(|p| is_image(p)).collect();
                if !frames.is_empty() {
                    let id = format!("{domain}/{name}");
                    out.items.push(item(id, Source::Frames(frames), &name));
                }
            }
        } else if is_video(&path) {
            let name = super::stem(&path);
            out.items
                .push(item(format!("{domain}/{name}"), Source::Video(path), &name));
        } else if is_image(&path) {
            let name = super::stem(&path);
            out.items
                .push(item(format!("{domain}/{name}"), Source::Image(path), &name));
        }
    }
    Ok(())
}

pub fn list(root: &Path, opts: &ListOptions) -> Result<Listing> {
    let (real, fake) = (root.join("real"), root.join("fake"));
    if !real.is_dir() && !fake.is_dir() {
        return Err(Error::invalid(format!(
            "{}: the folder layout needs real/ and fake/<method>/ subfolders",
            root.display()
        )));
    }
    let mut out = Listing::default();
    collect(&real, 0, "real", opts, &mut out)?;
    for method in entries(&fake)? {
        if method.is_dir() {
            let name = super::name(&method);
            if name == "real" {
                return Err(Error::invalid(format!(
                    "{}: a fake method cannot be called `real`",
                    method.display()
                )));
            }
            collect(&method, 1, &name, opts, &mut out)?;
        }
    }
    Ok(out)
}
