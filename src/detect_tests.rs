use super::*;
use crate::data::loader::OnError;
use crate::did::{DidModel, Variant};
use crate::face::{template, Detection};
use crate::manifest::{Manifest, Record, Split};
use crate::score::{score_records, ScoreOptions};
use crate::train::checkpoint::CheckpointMeta;
use crate::train::config::TrainConfig;
use image::Rgb;
use tch::nn;

/// A randomly initialised small DID detector (scores vary with the input, which is all
/// these tests need).
pub(crate) fn detector() -> Detector {
    tch::manual_seed(5);
    let mut config = TrainConfig::default();
    config.model.backbone = crate::backbone::BackboneKind::ResnetTiny;
    config.model.size = 64;
    config.model.variant = Variant::Did;
    let vs = nn::VarStore::new(Device::Cpu);
    let model = DidModel::new(&vs.root(), &config.model, 3).unwrap();
    Detector {
        meta: CheckpointMeta {
            config: serde_json::to_value(&config).unwrap(),
            domains: vec!["real".into(), "a".into(), "b".into()],
            step: 0,
            epoch: 0,
            val: None,
            best_val_auc: None,
            crossdf_version: "test".into(),
        },
        vs,
        model,
        config,
        path: PathBuf::from("/srv/models/run7/test.safetensors"),
    }
}

/// Finds one face per frame where the template says a face of a `size` crop sits, scaled
/// to the frame; frames whose top-left pixel is pure black have no face.
pub(crate) struct TemplateFaces;

impl FaceDetector for TemplateFaces {
    fn detect_batch(&self, frames: &[RgbImage]) -> Result<Vec<Vec<Detection>>> {
        Ok(frames
            .iter()
            .map(|f| {
                if f.get_pixel(0, 0).0 == [0, 0, 0] {
                    return vec![];
                }
                let w = f.width() as f32;
                let lm = template(f.width(), DEFAULT_MARGIN);
                vec![Detection {
                    bbox: [w * 0.25, w * 0.2, w * 0.75, w * 0.85],
                    prob: 0.99,
                    landmarks: lm,
                }]
            })
            .collect())
    }
}

pub(crate) fn photo(seed: u32, size: u32) -> RgbImage {
    RgbImage::from_fn(size, size, |x, y| {
        let v = (x * 7 + y * 13 + seed * 31) % 251;
        Rgb([v as u8, (v / 2 + 40) as u8, (255 - v) as u8])
    })
}

#[test]
fn crops_are_scored_exactly_as_the_training_loader_sees_them() {
    let det = detector();
    let dir = tempfile::tempdir().unwrap();
    let crops: Vec<RgbImage> = (0..3).map(|i| photo(i, 224)).collect();
    let mut records = Vec::new();
    for (i, c) in crops.iter().enumerate() {
        let p = dir.path().join(format!("{i}.png"));
        c.save(&p).unwrap();
        records.push(Record::new(
            format!("{i}.png"),
            1,
            "a",
            format!("v{i}"),
            Split::Test,
        ));
    }
    let m = Manifest::new(dir.path().join("m.jsonl"), records);
    let refs: Vec<&Record> = m.records.iter().collect();
    let opts = ScoreOptions {
        size: 64,
        batch: 2,
        workers: 1,
        on_error: OnError::Fail,
        flip: false,
    };
    let want = score_records(&det.model, Device::Cpu, &m, &refs, &opts).unwrap();
    let got = score_crops(&det, Device::Cpu, &crops).unwrap();
    for (g, w) in got.iter().zip(&want.records) {
        assert!((g - w.score).abs() < 1e-6, "{g} vs {}", w.score);
    }
    // Different inputs, different scores: the comparison above is not vacuous.
    assert!((got[0] - got[1]).abs() > 1e-7 || (got[1] - got[2]).abs() > 1e-7);
}

#[test]
fn an_image_scores_its_face_and_a_faceless_one_has_no_score() {
    let det = detector();
    let opts = DetectOptions::default();
    let img = photo(3, 300);
    let r = detect_rgb(
        &det,
        Device::Cpu,
        &TemplateFaces,
        Path::new("x.png"),
        img.clone(),
        &opts,
    )
    .unwrap();
    assert_eq!(r.faces.len(), 1);
    assert!(r.faces[0].aligned);
    // The same face aligned by hand and scored directly.
    let d = &TemplateFaces
        .detect_batch(std::slice::from_ref(&img))
        .unwrap()[0][0];
    let crop = align_or_crop(&img, d.bbox, &d.landmarks, 224, DEFAULT_MARGIN).image;
    let s = score_crops(&det, Device::Cpu, &[crop]).unwrap()[0];
    assert_eq!(r.score, Some(s));
    assert_eq!(
        r.verdict,
        if s >= 0.5 {
            Verdict::Fake
        } else {
            Verdict::Real
        }
    );
    let black = RgbImage::new(100, 100);
    let r = detect_rgb(
        &det,
        Device::Cpu,
        &TemplateFaces,
        Path::new("b.png"),
        black,
        &opts,
    )
    .unwrap();
    assert_eq!(
        (r.score, r.verdict, r.frames_without_face),
        (None, Verdict::NoFace, 1)
    );
}

fn face(frame: u64, score: f64) -> FaceScore {
    FaceScore {
        frame: Some(frame),
        bbox: [0.0; 4],
        prob: 1.0,
        score,
        aligned: true,
        heatmap: None,
        heatmap_columns: None,
        heat: None,
    }
}

#[test]
fn a_video_scores_the_mean_of_its_frames_highest_faces() {
    let faces = vec![face(0, 0.2), face(0, 0.6), face(4, 0.1)];
    assert_eq!(frame_scores(&faces), vec![(Some(0), 0.6), (Some(4), 0.1)]);
    let r = finish(
        Path::new("v.mp4"),
        MediaKind::Video,
        3,
        (faces, 1),
        &DetectOptions::default(),
    );
    assert!((r.score.unwrap() - 0.35).abs() < 1e-12);
    assert_eq!(r.verdict, Verdict::Real);
    assert_eq!(
        r.per_frame,
        vec![
            FramePoint {
                frame: 0,
                score: 0.6
            },
            FramePoint {
                frame: 4,
                score: 0.1
            }
        ]
    );
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["per_frame"][1]["frame"], 4);
    assert!(v["faces"][0].get("heatmap").is_none());
}

#[test]
fn heatmaps_come_with_every_face_when_asked_for() {
    let det = detector();
    let opts = DetectOptions {
        heatmaps: true,
        ..DetectOptions::default()
    };
    let r = detect_rgb(
        &det,
        Device::Cpu,
        &TemplateFaces,
        Path::new("a.png"),
        photo(3, 200),
        &opts,
    )
    .unwrap();
    assert_eq!(r.faces.len(), 1);
    let f = &r.faces[0];
    let h = f.heat.as_ref().expect("a heat map");
    let side = det.config.model.size as u32;
    assert_eq!(h.face.dimensions(), (side, side));
    assert_eq!(
        f.heatmap_columns.as_deref(),
        Some(["face", "M_df", "M_dom", "Grad-CAM"].as_slice())
    );
    let strip = crate::heatmap::strip(h, 96).unwrap();
    assert_eq!(strip.dimensions(), (4 * 96 + 3 * 4, 96));
    // The same score with or without the maps.
    let plain = detect_rgb(
        &det,
        Device::Cpu,
        &TemplateFaces,
        Path::new("a.png"),
        photo(3, 200),
        &DetectOptions::default(),
    )
    .unwrap();
    assert_eq!(plain.score, r.score);
    assert!(plain.faces[0].heat.is_none());
}

#[test]
fn a_folder_batch_records_unreadable_files_and_goes_on() {
    let det = detector();
    let dir = tempfile::tempdir().unwrap();
    photo(1, 120).save(dir.path().join("a.png")).unwrap();
    std::fs::write(dir.path().join("b.jpg"), b"").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    photo(2, 120).save(dir.path().join("sub/c.png")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"not media").unwrap();
    let files = collect_inputs(&[dir.path().to_path_buf()]).unwrap();
    let names: Vec<_> = files
        .iter()
        .map(|p| {
            p.strip_prefix(dir.path())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, vec!["a.png", "b.jpg", "sub/c.png"]);
    let opts = DetectOptions::default();
    let results: Vec<_> = files
        .iter()
        .map(|p| detect_file(&det, Device::Cpu, &TemplateFaces, p, &opts))
        .collect();
    assert_eq!(results[1].verdict, Verdict::Error);
    assert!(results[1].error.as_ref().unwrap().contains("b.jpg"));
    assert!(results[0].score.is_some() && results[2].score.is_some());
    let err = collect_inputs(&[dir.path().join("missing")]).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn a_video_file_is_decoded_and_scored_per_frame() {
    let det = detector();
    let dir = tempfile::tempdir().unwrap();
    // Four frames: two with a face, then two black ones (no face).
    for i in 0..4 {
        let img = if i < 2 {
            photo(i, 160)
        } else {
            RgbImage::new(160, 160)
        };
        img.save(dir.path().join(format!("f{i}.png"))).unwrap();
    }
    let video = dir.path().join("v.mkv");
    let ok = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-framerate", "4", "-i"])
        .arg(dir.path().join("f%d.png"))
        .args(["-c:v", "ffv1"])
        .arg(&video)
        .status()
        .expect("ffmpeg is installed by scripts/setup.sh");
    assert!(ok.success());
    // Two frames per face-detector call: progress is told after each call.
    let opts = DetectOptions {
        batch: 2,
        ..DetectOptions::default()
    };
    let told = std::sync::Mutex::new(Vec::new());
    let r = detect_file_with_progress(&det, Device::Cpu, &TemplateFaces, &video, &opts, &|d, n| {
        told.lock().unwrap().push((d, n))
    });
    assert_eq!(told.into_inner().unwrap(), [(0, 4), (2, 4), (4, 4)]);
    let plain = detect_file(&det, Device::Cpu, &TemplateFaces, &video, &opts);
    assert_eq!(
        serde_json::to_value(&plain).unwrap(),
        serde_json::to_value(&r).unwrap()
    );
    assert_eq!(r.kind, MediaKind::Video);
    assert_eq!((r.frames, r.frames_without_face), (4, 2), "{r:?}");
    assert_eq!(r.faces.len(), 2);
    let mean = (r.faces[0].score + r.faces[1].score) / 2.0;
    assert!((r.score.unwrap() - mean).abs() < 1e-12);
}

#[test]
fn a_face_can_be_scored_at_another_input_size() {
    let det = detector();
    let img = photo(3, 300);
    let at = |input_size| {
        let opts = DetectOptions {
            input_size,
            ..DetectOptions::default()
        };
        detect_rgb(
            &det,
            Device::Cpu,
            &TemplateFaces,
            Path::new("x.png"),
            img.clone(),
            &opts,
        )
        .unwrap()
        .score
        .unwrap()
    };
    let (trained, larger) = (at(None), at(Some(det.config.model.size as u32 * 3 / 2)));
    assert!((0.0..=1.0).contains(&larger), "{larger}");
    // Another size is another input: the score moves, but stays a probability.
    assert!((trained - larger).abs() > 1e-9, "{trained} {larger}");
}
