//! `prepare` end to end on small trees of each layout: real face videos made with ffmpeg,
//! a corrupt video, a video without a face and a zero-byte image, with the deterministic
//! stand-in detector of `prepare_support` (the MTCNN runs are in `prepare_mtcnn.rs`).
mod prepare_support;

use crossdf::face::FaceDetector;
use crossdf::manifest::{Manifest, Split};
use crossdf::media::FrameSelection;
use crossdf::prepare::run::Faces;
use crossdf::prepare::{prepare, Layout, ListOptions, PrepareOptions, Progress, Skip, Summary};
use prepare_support::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

fn opts(layout: Layout, frames: usize) -> PrepareOptions {
    PrepareOptions {
        layout,
        frames: FrameSelection::Even(frames),
        size: 64,
        jobs: 2,
        batch: 3,
        ..PrepareOptions::default()
    }
}

fn run(root: &Path, out: &Path, o: &PrepareOptions, det: &dyn FaceDetector) -> Summary {
    let done = AtomicUsize::new(0);
    let total = AtomicUsize::new(0);
    let s = prepare(root, out, o, det, &|p| match p {
        Progress::Total(n) => total.store(n, Ordering::SeqCst),
        Progress::Done { .. } => {
            done.fetch_add(1, Ordering::SeqCst);
        }
    })
    .unwrap();
    assert_eq!(done.load(Ordering::SeqCst), total.load(Ordering::SeqCst));
    s
}

fn skipped(out: &Path) -> Vec<Skip> {
    std::fs::read_to_string(out.join("skipped.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// video -> (label, domain, split, frames) from the manifest.
fn by_video(m: &Manifest) -> BTreeMap<String, (u8, String, Split, Vec<u64>)> {
    let mut out: BTreeMap<String, (u8, String, Split, Vec<u64>)> = BTreeMap::new();
    for r in &m.records {
        let e =
            out.entry(r.video.clone())
                .or_insert((r.label, r.domain.clone(), r.split, Vec::new()));
        assert_eq!((e.0, &e.1, e.2), (r.label, &r.domain, r.split), "{r:?}");
        e.3.push(r.extra["frame"].as_u64().unwrap());
        assert!(m.resolve(r).is_file(), "{}", r.path.display());
    }
    out
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn ffpp_tree_labels_domains_splits_skips_and_resume() {
    let c = clips(4);
    let t = tempfile::tempdir().unwrap();
    let (root, out) = (t.path().join("ffpp"), t.path().join("out"));
    let vids = |rel: &str| root.join(rel);
    face_video(
        &c[0],
        &vids("original_sequences/youtube/c23/videos/000.mp4"),
    );
    face_video(
        &c[1],
        &vids("original_sequences/youtube/c23/videos/001.mp4"),
    );
    no_face_video(&vids("original_sequences/youtube/c23/videos/002.mp4"));
    face_video(
        &c[2],
        &vids("manipulated_sequences/Deepfakes/c23/videos/000_001.mp4"),
    );
    face_video(
        &c[3],
        &vids("manipulated_sequences/Face2Face/c23/videos/001_000.mp4"),
    );
    corrupt_video(&vids(
        "manipulated_sequences/NeuralTextures/c23/videos/000_001.mp4",
    ));
    write(&root, "splits/train.json", r#"[["000", "001"]]"#);
    write(&root, "splits/val.json", "[]");
    write(&root, "splits/test.json", r#"[["002", "003"]]"#);
    let det = PanDetector { clips: c };
    let o = opts(Layout::Ffpp, 4);
    let s = run(&root, &out, &o, &det);
    let m = Manifest::read(&s.manifest).unwrap();
    let v = by_video(&m);
    let even4 = vec![1, 3, 6, 8]; // floor((2i+1) * 10 / 8)
    let want = |l: u8, d: &str, sp: Split| (l, d.to_string(), sp, even4.clone());
    assert_eq!(v["youtube/000"], want(0, "real", Split::Train));
    assert_eq!(v["youtube/001"], want(0, "real", Split::Train));
    assert_eq!(v["Deepfakes/000_001"], want(1, "Deepfakes", Split::Train));
    assert_eq!(v["Face2Face/001_000"], want(1, "Face2Face", Split::Train));
    assert_eq!(v.len(), 4);
    assert_eq!(
        m.records[0].path.to_str(),
        Some("faces/Deepfakes/000_001/00001.png")
    );
    let img = image::open(m.resolve(&m.records[0])).unwrap();
    assert_eq!((img.width(), img.height()), (64, 64));
    // The corrupt video is skipped whole; the face-less one frame by frame.
    let sk = skipped(&out);
    assert_eq!(s.skipped, sk.len());
    assert_eq!(sk.len(), 5, "{sk:#?}");
    let corrupt: Vec<_> = sk
        .iter()
        .filter(|x| x.video.as_deref() == Some("NeuralTextures/000_001"))
        .collect();
    assert_eq!(corrupt.len(), 1);
    assert_eq!(
        serde_json::to_value(corrupt[0].reason).unwrap(),
        "unreadable"
    );
    assert_eq!(corrupt[0].frame, None);
    assert!(
        corrupt[0].detail.contains("000_001.mp4"),
        "{}",
        corrupt[0].detail
    );
    let noface: Vec<_> = sk
        .iter()
        .filter(|x| x.video.as_deref() == Some("youtube/002"))
        .collect();
    assert_eq!(
        noface.iter().map(|x| x.frame.unwrap()).collect::<Vec<_>>(),
        even4
    );
    assert!(noface
        .iter()
        .all(|x| serde_json::to_value(x.reason).unwrap() == "no face"));
    assert_eq!((s.items, s.reused, s.frames_decoded), (6, 0, 5 * 4));

    // Resume: a second run reuses every item and writes the same files.
    let before = std::fs::read(&s.manifest).unwrap();
    let before_sk = std::fs::read(&s.skipped_file).unwrap();
    let s2 = run(&root, &out, &o, &det);
    assert_eq!((s2.reused, s2.frames_decoded), (6, 0));
    assert_eq!(std::fs::read(&s2.manifest).unwrap(), before);
    assert_eq!(std::fs::read(&s2.skipped_file).unwrap(), before_sk);
    // An item interrupted before its part file was written is redone, and only it.
    std::fs::remove_file(out.join("parts/youtube/001.jsonl")).unwrap();
    std::fs::remove_file(out.join("faces/youtube/001/00003.png")).unwrap();
    let s3 = run(&root, &out, &o, &det);
    assert_eq!((s3.reused, s3.frames_decoded), (5, 4));
    assert_eq!(std::fs::read(&s3.manifest).unwrap(), before);
    // No temp file is left anywhere.
    let leftovers: Vec<_> = walk(&out)
        .into_iter()
        .filter(|p| p.rsplit('/').next().unwrap().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Other options into the same folder are refused.
    let other = PrepareOptions {
        size: 96,
        ..o.clone()
    };
    let e = prepare(&root, &out, &other, &det, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("prepare.json"), "{e}");
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.to_string_lossy().into_owned());
        }
    }
    out
}

#[test]
fn celebdf_tree_every_kth_frame() {
    let c = clips(3);
    let t = tempfile::tempdir().unwrap();
    let (root, out) = (t.path().join("celeb"), t.path().join("out"));
    face_video(&c[0], &root.join("Celeb-real/id0_0000.mp4"));
    face_video(&c[1], &root.join("Celeb-synthesis/id0_id1_0000.mp4"));
    face_video(&c[2], &root.join("YouTube-real/00000.mp4"));
    write(
        &root,
        "List_of_testing_videos.txt",
        "0 Celeb-synthesis/id0_id1_0000.mp4\n",
    );
    let det = PanDetector { clips: c };
    let o = PrepareOptions {
        frames: FrameSelection::Every(4),
        list: ListOptions {
            val_frac: 0.0,
            ..ListOptions::default()
        },
        ..opts(Layout::CelebDf, 0)
    };
    let s = run(&root, &out, &o, &det);
    let v = by_video(&Manifest::read(&s.manifest).unwrap());
    let every4 = vec![0, 4, 8];
    assert_eq!(
        v["Celeb-real/id0_0000"],
        (0, "real".into(), Split::Train, every4.clone())
    );
    assert_eq!(
        v["Celeb-synthesis/id0_id1_0000"],
        (1, "Celeb-synthesis".into(), Split::Test, every4.clone())
    );
    assert_eq!(
        v["YouTube-real/00000"],
        (0, "real".into(), Split::Train, every4)
    );
    assert_eq!(s.skipped, 0);
}

#[test]
fn dffd_images_zero_byte_file_and_too_small() {
    let c = clips(2);
    let t = tempfile::tempdir().unwrap();
    let (root, out) = (t.path().join("dffd"), t.path().join("out"));
    for (rel, clip) in [
        ("ffhq/train/00001.png", &c[0]),
        ("faceapp/test/00002.png", &c[1]),
    ] {
        std::fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
        frame(clip, 0).save(root.join(rel)).unwrap();
    }
    write(&root, "stylegan_ffhq/validation/00003.png", "");
    let det = PanDetector { clips: c };
    let s = run(&root, &out, &opts(Layout::Dffd, 32), &det);
    let v = by_video(&Manifest::read(&s.manifest).unwrap());
    assert_eq!(v["ffhq/00001"], (0, "real".into(), Split::Train, vec![0]));
    assert_eq!(
        v["faceapp/00002"],
        (1, "faceapp".into(), Split::Test, vec![0])
    );
    let sk = skipped(&out);
    assert_eq!(sk.len(), 1);
    assert_eq!(sk[0].source, "stylegan_ffhq/validation/00003.png");
    assert_eq!(serde_json::to_value(sk[0].reason).unwrap(), "unreadable");
    assert!(sk[0].detail.contains("0 bytes"), "{}", sk[0].detail);
    // Raising the face size floor turns every face into a "too small" skip.
    let out2 = t.path().join("out2");
    let big = PrepareOptions {
        min_face: 500.0,
        ..opts(Layout::Dffd, 32)
    };
    let s = run(&root, &out2, &big, &det);
    assert_eq!((s.records, s.skipped), (0, 3));
    let reasons: Vec<_> = skipped(&out2)
        .iter()
        .map(|x| serde_json::to_value(x.reason).unwrap())
        .collect();
    assert_eq!(reasons.iter().filter(|r| *r == "too small").count(), 2);
}

#[test]
fn deepfakebench_frames_and_folder_layout() {
    let c = clips(3);
    let t = tempfile::tempdir().unwrap();
    // DeepfakeBench: extracted frames listed in the index, one video in two splits.
    let root = t.path().join("rgb");
    let mut frames = Vec::new();
    for k in 0..6 {
        let rel = format!("FaceForensics++/original_sequences/youtube/c23/frames/000/{k:03}.png");
        std::fs::create_dir_all(root.join(&rel).parent().unwrap()).unwrap();
        // Extracted frames may differ in size: frame 3 is cut 8 px shorter.
        let mut f = frame(&c[0], k);
        if k == 3 {
            f = image::imageops::crop_imm(&f, 0, 0, WINDOW, WINDOW - 8).to_image();
        }
        f.save(root.join(&rel)).unwrap();
        frames.push(rel.replace('/', "\\\\"));
    }
    let list = frames
        .iter()
        .map(|f| format!("\"{f}\""))
        .collect::<Vec<_>>()
        .join(",");
    let video = format!(
        r#"{{"000": {{"label": "FF-real", "frames": [{list}]}}, "001": {{"label": "FF-real", "frames": ["gone/000.png"]}}, "002": {{"label": "FF-real", "frames": []}}}}"#
    );
    write(
        &root,
        "dataset_json/FF-DF.json",
        &format!(
            r#"{{"FF-DF": {{"FF-real": {{"train": {{"c23": {video}}}, "val": {{"c23": {video}}}, "test": {{"c23": {{}}}}}}}}}}"#
        ),
    );
    let det = PanDetector { clips: c.clone() };
    let s = run(
        &root,
        &t.path().join("o1"),
        &opts(Layout::DeepfakeBench, 3),
        &det,
    );
    let m = Manifest::read(&s.manifest).unwrap();
    // Frames 1, 3, 5 of 6, each written once and listed under train and val.
    assert_eq!(m.records.len(), 6);
    let splits: Vec<_> = m
        .records
        .iter()
        .map(|r| (r.split, r.extra["frame"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        splits,
        [
            (Split::Train, 1),
            (Split::Val, 1),
            (Split::Train, 3),
            (Split::Val, 3),
            (Split::Train, 5),
            (Split::Val, 5)
        ]
    );
    assert!(m
        .records
        .iter()
        .all(|r| r.video == "FF-real/000" && r.label == 0));
    // A listed frame that is not on disk, and a video listed without frames.
    let sk: Vec<(String, Option<u64>, String)> = skipped(&t.path().join("o1"))
        .into_iter()
        .map(|x| {
            let reason = serde_json::to_value(x.reason).unwrap();
            (
                x.video.unwrap(),
                x.frame,
                reason.as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        sk,
        [
            ("FF-real/001".to_string(), Some(0), "missing".to_string()),
            ("FF-real/002".to_string(), None, "missing".to_string())
        ]
    );

    // Folder: videos, an image and a fake method; the same stem shares a split.
    let root = t.path().join("folder");
    face_video(&c[0], &root.join("real/clipA.mp4"));
    frame(&c[1], 0)
        .save({
            std::fs::create_dir_all(root.join("real")).unwrap();
            root.join("real/photo.png")
        })
        .unwrap();
    face_video(&c[2], &root.join("fake/SwapX/clipA.mp4"));
    let o = PrepareOptions {
        faces: Faces::All,
        ..opts(Layout::Folder, 2)
    };
    let s = run(&root, &t.path().join("o2"), &o, &det);
    let m = Manifest::read(&s.manifest).unwrap();
    let v = by_video(&m);
    assert_eq!(v["real/clipA"].0, 0);
    assert_eq!(
        (v["SwapX/clipA"].0, v["SwapX/clipA"].1.as_str()),
        (1, "SwapX")
    );
    assert_eq!(v["real/clipA"].2, v["SwapX/clipA"].2);
    assert_eq!(v["real/clipA"].3, vec![2, 7]);
    assert_eq!(v["real/photo"].3, vec![0]);
    assert!(m.records.iter().all(|r| r.extra["face"] == 0));
    assert!(m.records[0].path.to_str().unwrap().ends_with("_0.png"));
}
