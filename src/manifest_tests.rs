use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const GOOD: &str = r#"{"path": "faces/a/0.png", "label": 0, "domain": "real", "video": "a", "split": "train"}
{"path": "faces/b/0.png", "label": 1, "domain": "Deepfakes", "video": "b", "split": "train", "source": "ff++", "frame": 7}
{"path": "faces/b/1.png", "label": 1, "domain": "Deepfakes", "video": "b", "split": "train"}
{"path": "faces/c/0.png", "label": 1, "domain": "FaceSwap", "video": "c", "split": "val"}
{"path": "faces/d/0.png", "label": 0, "domain": "real", "video": "d", "split": "test"}
{"path": "faces/e/0.png", "label": 1, "domain": "Deepfakes", "video": "e", "split": "test"}
"#;

/// Six good lines, then `bad` as line 7, then one more good line.
fn with_bad_line_7(bad: &str) -> String {
    let mut s = GOOD.to_string();
    s.push_str(bad);
    s.push('\n');
    s.push_str(r#"{"path": "x.png", "label": 0, "domain": "real", "video": "x", "split": "val"}"#);
    s.push('\n');
    s
}

fn assert_line_error(bad: &str, expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "faces.jsonl", &with_bad_line_7(bad));
    let err = Manifest::read(&p).unwrap_err();
    match &err {
        Error::Line { path, line, msg } => {
            assert_eq!(path, &p);
            assert_eq!(*line, 7);
            assert!(msg.contains(expect), "message {msg:?} lacks {expect:?}");
        }
        other => panic!("expected a line error, got {other:?}"),
    }
    let shown = err.to_string();
    assert!(shown.contains("faces.jsonl:7:"), "{shown}");
}

#[test]
fn bad_json_names_file_and_line() {
    assert_line_error(r#"{"path": "y.png", "label": 1,"#, "bad JSON");
}

#[test]
fn missing_field_is_named() {
    assert_line_error(
        r#"{"path": "y.png", "label": 1, "domain": "Deepfakes", "split": "train"}"#,
        "missing field `video`",
    );
}

#[test]
fn label_2_is_rejected_with_its_value() {
    assert_line_error(
        r#"{"path": "y.png", "label": 2, "domain": "Deepfakes", "video": "y", "split": "train"}"#,
        "got 2",
    );
}

#[test]
fn unknown_split_lists_allowed() {
    assert_line_error(
        r#"{"path": "y.png", "label": 1, "domain": "Deepfakes", "video": "y", "split": "dev"}"#,
        "unknown split `dev` (allowed: train, val, test)",
    );
}

#[test]
fn label_domain_mismatch_and_empty_path() {
    assert_line_error(
        r#"{"path": "y.png", "label": 0, "domain": "Deepfakes", "video": "y", "split": "train"}"#,
        "label 0 (real) needs domain \"real\"",
    );
    assert_line_error(
        r#"{"path": "y.png", "label": 1, "domain": "real", "video": "y", "split": "train"}"#,
        "label 1 (fake) cannot have domain",
    );
    assert_line_error(
        r#"{"path": "", "label": 1, "domain": "NT", "video": "y", "split": "train"}"#,
        "empty path",
    );
    assert_line_error(r#"[1, 2]"#, "expected a JSON object");
}

#[test]
fn read_all_errors_reports_every_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = with_bad_line_7(r#"{"label": 1}"#);
    text.push_str("not json\n");
    let p = write(dir.path(), "m.jsonl", &text);
    let (m, errors) = Manifest::read_all_errors(&p).unwrap();
    assert_eq!(m.records.len(), 7);
    let lines: Vec<usize> = errors
        .iter()
        .map(|e| match e {
            Error::Line { line, .. } => *line,
            _ => 0,
        })
        .collect();
    assert_eq!(lines, vec![7, 9]);
}

#[test]
fn blank_lines_are_skipped_and_lines_still_count() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "\n{}\n   \n{}",
        GOOD.lines().next().unwrap(),
        r#"{"path": 3}"#
    );
    let p = write(dir.path(), "m.jsonl", &text);
    let err = Manifest::read(&p).unwrap_err().to_string();
    assert!(
        err.contains("m.jsonl:4: field `path` must be a string, got 3"),
        "{err}"
    );
}

#[test]
fn jsonl_round_trip_keeps_unknown_fields() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "m.jsonl", GOOD);
    let m = Manifest::read(&p).unwrap();
    assert_eq!(m.records.len(), 6);
    let r = &m.records[1];
    assert_eq!(r.extra.get("source"), Some(&Value::from("ff++")));
    assert_eq!(r.extra.get("frame"), Some(&Value::from(7)));
    let out = dir.path().join("copy.jsonl");
    m.write(&out).unwrap();
    let back = Manifest::read(&out).unwrap();
    assert_eq!(back.records, m.records);
    // Known columns come first, in the documented order.
    let first = std::fs::read_to_string(&out).unwrap();
    assert!(first.starts_with(
        r#"{"path":"faces/a/0.png","label":0,"domain":"real","video":"a","split":"train"}"#
    ));
}

#[test]
fn csv_round_trip_with_extra_column() {
    let dir = tempfile::tempdir().unwrap();
    let text = "path,label,domain,video,split,quality\n\
                faces/a.png,0,real,a,train,c23\n\
                \n\
                faces/b.png,1,NeuralTextures,b,test,c40\n";
    let p = write(dir.path(), "m.csv", text);
    let m = Manifest::read(&p).unwrap();
    assert_eq!(m.records.len(), 2);
    assert_eq!(m.records[1].domain, "NeuralTextures");
    assert_eq!(m.records[1].split, Split::Test);
    assert_eq!(m.records[1].extra.get("quality"), Some(&Value::from("c40")));
    assert_eq!(m.line_of(1), 4);
    let out = dir.path().join("copy.csv");
    m.write(&out).unwrap();
    assert_eq!(Manifest::read(&out).unwrap().records, m.records);
    // CSV -> JSONL keeps the extra column too.
    let j = dir.path().join("copy.jsonl");
    m.write(&j).unwrap();
    assert_eq!(Manifest::read(&j).unwrap().records, m.records);
}

#[test]
fn csv_errors_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "m.csv",
        "path,label,domain,video,split\na.png,0,real,a,train\n\nb.png,2,X,b,train\n",
    );
    let e = Manifest::read(&p).unwrap_err().to_string();
    assert!(
        e.contains("m.csv:4: label must be 0 (real) or 1 (fake), got `2`"),
        "{e}"
    );
    let p = write(
        dir.path(),
        "n.csv",
        "path,label,domain,video\na.png,0,real,a\n",
    );
    let e = Manifest::read(&p).unwrap_err().to_string();
    assert!(e.contains("n.csv:1: missing column `split`"), "{e}");
    let p = write(
        dir.path(),
        "o.csv",
        "path,label,domain,video,split\na.png,0,real\n",
    );
    let e = Manifest::read(&p).unwrap_err().to_string();
    assert!(e.contains("o.csv:2: expected 5 columns"), "{e}");
}

#[test]
fn unknown_extension_is_rejected() {
    let e = Manifest::read("faces.txt").unwrap_err().to_string();
    assert!(e.contains("unknown manifest format"), "{e}");
}

#[test]
fn paths_resolve_against_the_manifest_folder() {
    let m = Manifest::new(
        "/data/set/manifest.jsonl",
        vec![
            Record::new("faces/a.png", 0, "real", "a", Split::Train),
            Record::new("/abs/b.png", 1, "F2F", "b", Split::Train),
        ],
    );
    assert_eq!(
        m.resolve(&m.records[0]),
        PathBuf::from("/data/set/faces/a.png")
    );
    assert_eq!(m.resolve(&m.records[1]), PathBuf::from("/abs/b.png"));
    let bare = Manifest::new("manifest.jsonl", m.records.clone());
    assert_eq!(
        bare.resolve(&bare.records[0]),
        PathBuf::from("./faces/a.png")
    );
}

#[test]
fn check_files_reports_each_missing_image_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("faces/a")).unwrap();
    std::fs::write(dir.path().join("faces/a/0.png"), b"x").unwrap();
    std::fs::create_dir_all(dir.path().join("faces/b/0.png")).unwrap(); // a folder, not a file
    let p = write(dir.path(), "m.jsonl", &format!("\n{GOOD}"));
    let m = Manifest::read(&p).unwrap();
    let errors = m.check_files();
    assert_eq!(errors.len(), 5);
    let first = errors[0].to_string();
    assert!(first.contains("m.jsonl:3: image file not found"), "{first}");
    assert!(first.contains("faces/b/0.png"), "{first}");
    let last = errors[4].to_string();
    assert!(
        last.contains("m.jsonl:7:") && last.contains("faces/e/0.png"),
        "{last}"
    );
}

#[test]
fn summary_counts_a_hand_made_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "m.jsonl", GOOD);
    let mut m = Manifest::read(&p).unwrap();
    m.records
        .push(Record::new("z.png", 1, "FaceSwap", "a", Split::Test));
    let s = m.summary();
    let key = |sp, l, d: &str| (sp, l, d.to_string());
    assert_eq!(s.counts.get(&key(Split::Train, 0, "real")), Some(&1));
    assert_eq!(s.counts.get(&key(Split::Train, 1, "Deepfakes")), Some(&2));
    assert_eq!(s.counts.get(&key(Split::Val, 1, "FaceSwap")), Some(&1));
    assert_eq!(s.counts.get(&key(Split::Test, 1, "FaceSwap")), Some(&1));
    assert_eq!(s.counts.len(), 6);
    assert_eq!(s.images[&Split::Train], 3);
    assert_eq!(s.videos[&Split::Train], 2); // a, b
    assert_eq!(s.videos[&Split::Test], 3); // d, e, a
    assert_eq!(s.total_images, 7);
    assert_eq!(s.total_videos, 5);
    assert_eq!(s.videos_in_several_splits, 1);
    let shown = s.to_string();
    assert!(
        shown.contains("train      1  Deepfakes         2"),
        "{shown}"
    );
    assert!(shown.contains("total         7         5"), "{shown}");
    assert!(
        shown.contains("1 video(s) appear in more than one split"),
        "{shown}"
    );
}

#[test]
fn domain_names_put_real_first_then_sorted_fakes() {
    let m = Manifest::new(
        "m.jsonl",
        vec![
            Record::new("1.png", 1, "NeuralTextures", "1", Split::Train),
            Record::new("2.png", 1, "Deepfakes", "2", Split::Train),
            Record::new("3.png", 1, "FaceSwap", "3", Split::Val),
            Record::new("4.png", 1, "Deepfakes", "4", Split::Train),
        ],
    );
    assert_eq!(
        m.domain_names(),
        ["real", "Deepfakes", "FaceSwap", "NeuralTextures"]
    );
    assert_eq!(m.split(Split::Train).count(), 3);
}

#[test]
fn split_parses_and_prints() {
    for s in Split::ALL {
        assert_eq!(s.to_string().parse::<Split>().unwrap(), s);
    }
    assert_eq!(serde_json::to_string(&Split::Val).unwrap(), "\"val\"");
    assert!("Train".parse::<Split>().is_err());
}

#[test]
fn write_refuses_an_invalid_record() {
    let dir = tempfile::tempdir().unwrap();
    let m = Manifest::new(
        dir.path().join("m.jsonl"),
        vec![Record::new("a.png", 0, "Deepfakes", "a", Split::Train)],
    );
    let e = m.write(dir.path().join("m.jsonl")).unwrap_err().to_string();
    assert!(e.contains("record 0"), "{e}");
    assert!(!dir.path().join("m.jsonl").exists());
}

#[test]
fn byte_order_mark_before_json_lines_is_accepted_and_errors_keep_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "bom.jsonl", &format!("\u{feff}{GOOD}"));
    let m = Manifest::read(&p).unwrap();
    assert_eq!(m.records.len(), 6);
    assert_eq!(m.records[0].video, "a");
    let p = write(
        dir.path(),
        "bom_bad.jsonl",
        &format!("\u{feff}{}", with_bad_line_7("{not json")),
    );
    let e = Manifest::read(&p).unwrap_err().to_string();
    assert!(e.contains("bom_bad.jsonl") && e.contains('7'), "{e}");
    // Score files alike.
    let s = write(
        dir.path(),
        "scores.jsonl",
        "\u{feff}{\"score\": 0.9, \"label\": 1, \"video\": \"v\"}\n{\"score\": 0.1, \"label\": 0, \"video\": \"w\"}\n",
    );
    let r = crate::metrics::read_scores(&s).unwrap();
    assert_eq!((r.len(), r[0].score, r[1].label), (2, 0.9, 0));
}
