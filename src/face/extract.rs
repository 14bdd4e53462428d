//! Faces of a still image: detection, selection and aligned crops saved as PNG (what
//! `crossdf faces` does). Video frames reach the same [`select`] and [`write_aligned`] through
//! [`Mtcnn::detect_batch`], one call per batch of frames.
use crate::error::{Error, Result};
use crate::face::{align_or_crop, Detection, Mtcnn};
use image::RgbImage;
use std::path::{Path, PathBuf};

pub use super::select::Faces as Select;

/// One face of an image as reported: its index in the detector's order, the detection and,
/// when crops are written, where and how.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FaceRecord {
    pub index: usize,
    #[serde(flatten)]
    pub detection: Detection,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aligned: Option<PathBuf>,
    /// True when the landmarks were implausible and the square box crop was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<bool>,
}

/// Reads an image file as RGB (alpha dropped, no EXIF rotation, as the detector's reference).
pub fn read_rgb(path: &Path) -> Result<RgbImage> {
    image::open(path)
        .map(|i| i.to_rgb8())
        .map_err(|source| Error::Image {
            path: path.to_path_buf(),
            source,
        })
}

/// The kept faces with their index among all detections (largest first, the detector's order).
pub fn select(detections: Vec<Detection>, which: Select) -> Vec<(usize, Detection)> {
    let all = detections.into_iter().enumerate();
    match which {
        Select::All => all.collect(),
        Select::Largest => {
            let area = |d: &Detection| (d.bbox[2] - d.bbox[0]) * (d.bbox[3] - d.bbox[1]);
            all.max_by(|(i, a), (j, b)| area(a).total_cmp(&area(b)).then(j.cmp(i)))
                .into_iter()
                .collect()
        }
    }
}

/// Detects and selects the faces of an image file.
pub fn faces_in_image(
    mtcnn: &Mtcnn,
    path: &Path,
    which: Select,
) -> Result<(RgbImage, Vec<FaceRecord>)> {
    let img = read_rgb(path)?;
    let dets = mtcnn
        .detect(&img)
        .map_err(|e| e.context(format!("{}: face detection", path.display())))?;
    let records = select(dets, which)
        .into_iter()
        .map(|(index, detection)| FaceRecord {
            index,
            detection,
            aligned: None,
            fallback: None,
        })
        .collect();
    Ok((img, records))
}

/// Writes each face's aligned `size` x `size` crop to `dir/<stem>_<index>.png` (atomically) and
/// records the path and whether the box fallback was used.
pub fn write_aligned(
    img: &RgbImage,
    faces: &mut [FaceRecord],
    dir: &Path,
    stem: &str,
    size: u32,
    margin: f32,
) -> Result<()> {
    if size == 0 || !(margin.is_finite() && margin > 0.0) {
        return Err(Error::invalid(format!(
            "aligned crops need a positive size and margin, got {size} px and {margin}"
        )));
    }
    for f in faces {
        let d = &f.detection;
        let a = align_or_crop(img, d.bbox, &d.landmarks, size, margin);
        let path = dir.join(format!("{stem}_{}.png", f.index));
        crate::fsutil::write_png(&path, &a.image)?;
        f.aligned = Some(path);
        f.fallback = Some(a.fallback);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x: f32, side: f32) -> Detection {
        Detection {
            bbox: [x, 0.0, x + side, side],
            prob: 0.99,
            landmarks: [[0.0; 2]; 5],
        }
    }

    #[test]
    fn largest_keeps_the_biggest_box_and_its_index() {
        let d = vec![det(0.0, 30.0), det(50.0, 80.0), det(200.0, 10.0)];
        let l = select(d.clone(), Select::Largest);
        assert_eq!(l, vec![(1, d[1].clone())]);
        assert_eq!(select(d.clone(), Select::All).len(), 3);
        assert!(select(Vec::new(), Select::Largest).is_empty());
    }

    #[test]
    fn aligned_crops_are_written_as_png_with_their_paths() {
        let dir = tempfile::tempdir().unwrap();
        let img = RgbImage::from_fn(120, 100, |x, y| image::Rgb([x as u8, y as u8, 90]));
        let lm = [
            [40.0, 40.0],
            [70.0, 40.0],
            [55.0, 55.0],
            [43.0, 70.0],
            [67.0, 70.0],
        ];
        let mut faces = vec![
            FaceRecord {
                index: 2,
                detection: Detection {
                    bbox: [25.0, 15.0, 85.0, 90.0],
                    prob: 0.99,
                    landmarks: lm,
                },
                aligned: None,
                fallback: None,
            },
            FaceRecord {
                index: 5,
                detection: det(10.0, 30.0), // all landmarks at the origin: implausible
                aligned: None,
                fallback: None,
            },
        ];
        write_aligned(&img, &mut faces, dir.path(), "photo", 64, 1.3).unwrap();
        let p = dir.path().join("photo_2.png");
        assert_eq!(faces[0].aligned.as_deref(), Some(p.as_path()));
        assert_eq!(faces[0].fallback, Some(false));
        assert_eq!(faces[1].fallback, Some(true));
        let back = image::open(&p).unwrap().to_rgb8();
        assert_eq!(back.dimensions(), (64, 64));
        assert!(dir.path().join("photo_5.png").is_file());
        let json = serde_json::to_value(&faces[0]).unwrap();
        assert_eq!(json["index"], 2);
        assert!(json["box"].is_array() && json["landmarks"].is_array());
        assert!(write_aligned(&img, &mut faces, dir.path(), "x", 0, 1.3).is_err());
    }
}
