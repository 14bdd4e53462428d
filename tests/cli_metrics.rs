//! Runs the built `crossdf metrics` on scores files in a temp folder.
mod common;
use common::crossdf;

// Frames: video a (real) 0.2, 0.4; video b (fake) 0.9; video c (fake) 0.35, 0.45.
// Frame level: fake/real pairs won 2 (0.9) + 1 (0.35) + 2 (0.45) of 6 -> AUC 0.8333.
// Video level: means a 0.3, b 0.9, c 0.4 -> both fakes above the real -> AUC 1.0000.
const SCORES: &str = r#"{"path": "a/0.png", "score": 0.2, "label": 0, "video": "a"}
{"path": "a/1.png", "score": 0.4, "label": 0, "video": "a"}
{"path": "b/0.png", "score": 0.9, "label": 1, "video": "b"}
{"score": 0.35, "label": 1, "video": "c"}
{"score": 0.45, "label": 1, "video": "c"}
"#;

#[test]
fn prints_both_levels_and_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let scores = dir.path().join("scores.jsonl");
    std::fs::write(&scores, SCORES).unwrap();
    let json = dir.path().join("out/metrics.json");
    let (ok, stdout, stderr) = crossdf(&[
        "metrics",
        "--scores",
        scores.to_str().unwrap(),
        "--split",
        "test",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("frame-level  split=test  checkpoint=n/a (external scores)  n=5"),
        "{stdout}"
    );
    assert!(lines[0].contains("AUC=0.8333"), "{stdout}");
    assert!(lines[1].starts_with("video-level  split=test"), "{stdout}");
    assert!(
        lines[1].contains("n=3") && lines[1].contains("AUC=1.0000"),
        "{stdout}"
    );

    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v[0]["level"], "frame");
    assert_eq!(v[1]["level"], "video");
    assert_eq!(v[1]["split"], "test");
    assert!((v[0]["metrics"]["auc"].as_f64().unwrap() - 5.0 / 6.0).abs() < 1e-12);
}

#[test]
fn split_defaults_to_unspecified() {
    let dir = tempfile::tempdir().unwrap();
    let scores = dir.path().join("s.jsonl");
    std::fs::write(&scores, SCORES).unwrap();
    let (ok, stdout, stderr) = crossdf(&["metrics", "--scores", scores.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("split=unspecified"), "{stdout}");
}

#[test]
fn one_class_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let scores = dir.path().join("fakes.jsonl");
    std::fs::write(
        &scores,
        "{\"score\": 0.9, \"label\": 1}\n{\"score\": 0.7, \"label\": 1}\n",
    )
    .unwrap();
    let (ok, stdout, stderr) = crossdf(&["metrics", "--scores", scores.to_str().unwrap()]);
    assert!(!ok);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("fakes.jsonl"), "{stderr}");
    assert!(
        stderr.contains("needs both real (0) and fake (1) labels; got only 2 fake"),
        "{stderr}"
    );
}

#[test]
fn bad_line_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let scores = dir.path().join("s.jsonl");
    std::fs::write(
        &scores,
        "{\"score\": 0.9, \"label\": 1}\n{\"score\": 0.7}\n",
    )
    .unwrap();
    let (ok, _, stderr) = crossdf(&["metrics", "--scores", scores.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("s.jsonl:2: missing field `label`"),
        "{stderr}"
    );
}
