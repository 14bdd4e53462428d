//! Celeb-DF v2 as its authors ship it:
//!
//! ```text
//! Celeb-real/id0_0000.mp4            real, identity id0
//! YouTube-real/00000.mp4             real, each video its own person
//! Celeb-synthesis/id0_id1_0000.mp4   fake: id1's face on id0's video (target id0)
//! List_of_testing_videos.txt         "<label> <folder>/<file>" per line
//! ```
//!
//! In the test list the label is 1 for REAL and 0 for fake (the opposite of this project's
//! convention); every line is checked against its folder, so a flipped list is an error.
//! Videos not listed are train, minus a seeded share of identities carved out as val (the
//! authors give no validation split). The fake domain is the folder name, `Celeb-synthesis`.
use super::split::unit_hash;
use super::{clean_id, entries, is_video, shown, Item, ListOptions, Listing, Reason, Skip, Source};
use crate::error::{Error, Result};
use crate::manifest::Split;
use std::collections::BTreeSet;
use std::path::Path;

/// `(folder, label)`: 0 real, 1 fake.
pub const FOLDERS: [(&str, u8); 3] = [
    ("Celeb-real", 0),
    ("YouTube-real", 0),
    ("Celeb-synthesis", 1),
];
pub const TEST_LIST: &str = "List_of_testing_videos.txt";
pub const FAKE_DOMAIN: &str = "Celeb-synthesis";

/// Reads the test list into `folder/file` paths, checking each label against its folder.
pub fn read_test_list(path: &Path) -> Result<BTreeSet<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |msg: String| Error::Line {
            path: path.to_path_buf(),
            line: i + 1,
            msg,
        };
        let Some((label, rel)) = line.split_once(char::is_whitespace) else {
            return Err(bad(format!(
                "expected `<label> <folder>/<file>`, got `{line}`"
            )));
        };
        let rel = rel.trim().replace('\\', "/");
        let folder = rel.split('/').next().unwrap_or("");
        let Some(&(_, ours)) = FOLDERS.iter().find(|(f, _)| *f == folder) else {
            return Err(bad(format!("unknown folder `{folder}` in `{rel}`")));
        };
        // The list writes 1 for real, 0 for fake.
        let theirs_real = match label {
            "1" => true,
            "0" => false,
            _ => return Err(bad(format!("label must be 0 or 1, got `{label}`"))),
        };
        if theirs_real != (ours == 0) {
            return Err(bad(format!(
                "label {label} contradicts folder {folder} (the list writes 1 for real videos)"
            )));
        }
        out.insert(rel);
    }
    Ok(out)
}

/// The person a video shows: `id7` for `id7_0003` and `id7_id2_0003`, the file name for
/// YouTube-real (each of those is a different person).
pub fn identity(folder: &str, stem: &str) -> String {
    match folder {
        "YouTube-real" => format!("yt{stem}"),
        _ => stem.split('_').next().unwrap_or(stem).to_string(),
    }
}

pub fn list(root: &Path, opts: &ListOptions) -> Result<Listing> {
    let test = read_test_list(&root.join(TEST_LIST))?;
    let mut out = Listing::default();
    let mut seen = BTreeSet::new();
    for (folder, label) in FOLDERS {
        for path in entries(&root.join(folder))? {
            if !is_video(&path) {
                continue;
            }
            let file = path.file_name().unwrap_or_default().to_string_lossy();
            let rel = format!("{folder}/{file}");
            let stem = super::stem(&path);
            let split = if test.contains(&rel) {
                Split::Test
            } else if unit_hash(opts.seed, &identity(folder, &stem)) < opts.val_frac {
                Split::Val
            } else {
                Split::Train
            };
            seen.insert(rel);
            out.items.push(Item {
                video: clean_id(&format!("{folder}/{stem}")),
                source: Source::Video(path),
                label,
                domain: if label == 0 { "real" } else { FAKE_DOMAIN }.into(),
                splits: vec![split],
            });
        }
    }
    for rel in test.difference(&seen) {
        out.skipped.push(Skip {
            source: rel.clone(),
            video: None,
            frame: None,
            reason: Reason::Missing,
            detail: format!(
                "listed in {TEST_LIST} but not found under {}",
                shown(root, root)
            ),
        });
    }
    Ok(out)
}
