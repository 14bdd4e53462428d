//! Runs the built `crossdf manifest check` on manifests in a temp folder.
mod common;
use common::crossdf;

fn line(path: &str, label: u8, domain: &str, video: &str, split: &str) -> String {
    format!(
        r#"{{"path": "{path}", "label": {label}, "domain": "{domain}", "video": "{video}", "split": "{split}"}}"#
    )
}

/// Six lines: train has 2 real + 2 Deepfakes frames (videos r1, f1), test 1 real + 1 FaceSwap.
fn six_lines() -> Vec<String> {
    vec![
        line("faces/r1/0.png", 0, "real", "r1", "train"),
        line("faces/r1/1.png", 0, "real", "r1", "train"),
        line("faces/f1/0.png", 1, "Deepfakes", "f1", "train"),
        line("faces/f1/1.png", 1, "Deepfakes", "f1", "train"),
        line("faces/r2/0.png", 0, "real", "r2", "test"),
        line("faces/f2/0.png", 1, "FaceSwap", "f2", "test"),
    ]
}

#[test]
fn good_manifest_prints_summary() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("faces.jsonl");
    std::fs::write(&m, six_lines().join("\n")).unwrap();
    let (ok, stdout, stderr) = crossdf(&["manifest", "check", m.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("train      1  Deepfakes         2"),
        "{stdout}"
    );
    assert!(
        stdout.contains("test       1  FaceSwap          1"),
        "{stdout}"
    );
    assert!(stdout.contains("train         4         2"), "{stdout}");
    assert!(stdout.contains("videos: 4"), "{stdout}");
    assert!(
        stdout.contains("domains: real, Deepfakes, FaceSwap"),
        "{stdout}"
    );
}

#[test]
fn bad_line_7_exits_nonzero_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("faces.jsonl");
    let mut lines = six_lines();
    lines.push(line("faces/x/0.png", 2, "Deepfakes", "x", "train"));
    std::fs::write(&m, lines.join("\n")).unwrap();
    let (ok, _, stderr) = crossdf(&["manifest", "check", m.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("faces.jsonl:7: label must be 0 (real) or 1 (fake), got 2"),
        "{stderr}"
    );
}

#[test]
fn check_files_reports_missing_images() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("faces.csv");
    let csv =
        "path,label,domain,video,split\nfaces/a.png,0,real,a,train\nfaces/b.png,1,NT,b,train\n";
    std::fs::write(&m, csv).unwrap();
    std::fs::create_dir(dir.path().join("faces")).unwrap();
    std::fs::write(dir.path().join("faces/a.png"), b"x").unwrap();
    let (ok, _, stderr) = crossdf(&["manifest", "check", m.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = crossdf(&["manifest", "check", "--check-files", m.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("faces.csv:3: image file not found"),
        "{stderr}"
    );
    assert!(stderr.contains("faces/b.png"), "{stderr}");
    assert!(stderr.contains("1 image file(s) missing"), "{stderr}");
}
