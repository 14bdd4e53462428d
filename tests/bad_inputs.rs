//! The bad-input corpus, generated here (no files committed): what a hostile but fair user
//! feeds the commands. Every case must end in a clear error that names the file (and line),
//! exit status 2, and no half-written output; a batch command records the bad file and goes on.
mod common;

use std::path::Path;
use std::process::{Command, Output};

fn crossdf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crossdf"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A PNG whose header claims `w` x `h` pixels (a decompression bomb when large), with valid
/// chunk checksums so the decoder gets as far as the size.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend(kind);
        out.extend(data);
        let crc = crc32(&out[start..]);
        out.extend(crc.to_be_bytes());
    }
    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

fn good_png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// `(file name, bytes)` of every unreadable image or video the corpus holds.
fn bad_media() -> Vec<(&'static str, Vec<u8>)> {
    let png = good_png();
    vec![
        ("zero-byte.png", Vec::new()),
        ("truncated.png", png[..png.len() / 2].to_vec()),
        ("text-as.png", b"this is not a picture\n".to_vec()),
        ("bomb.png", png_claiming(200_000, 200_000)),
        (
            "junk.jpg",
            (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
        (
            "truncated.mp4",
            b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41\x00\x00".to_vec(),
        ),
        ("zero-byte.mp4", Vec::new()),
    ]
}

fn train_tiny_model(dir: &Path) -> std::path::PathBuf {
    let m = common::write_dataset(dir, 6, 32);
    let out = dir.join("run");
    let o = crossdf()
        .args(["train", "--train"])
        .arg(&m)
        .arg("--out")
        .arg(&out)
        .args(["--backbone", "resnet-tiny", "--size", "32", "--batch", "4"])
        .args([
            "--epochs",
            "1",
            "--steps-per-epoch",
            "2",
            "--no-augment",
            "--workers",
            "1",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

#[test]
fn detect_names_every_unreadable_file_goes_on_and_writes_whole_files() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_tiny_model(dir.path());
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    let media = bad_media();
    for (name, bytes) in &media {
        std::fs::write(corpus.join(name), bytes).unwrap();
    }
    let json = dir.path().join("detect.jsonl");
    let o = crossdf()
        .args(["detect", "--model"])
        .arg(&model)
        .arg("--json")
        .arg(&json)
        .arg(&corpus)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), media.len());
    for (name, _) in &media {
        let line = lines
            .iter()
            .find(|l| l["path"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("no line for {name}"));
        assert_eq!(line["verdict"], "error", "{line}");
        assert!(line["error"].as_str().unwrap().contains(name), "{line}");
        assert!(
            err.lines().any(|l| l.contains(name) && l.contains("error")),
            "{name}: {err}"
        );
    }
    assert!(
        err.contains(&format!("{} unreadable", media.len())),
        "{err}"
    );
    // An output that cannot be created: a clear error naming it, nothing left behind.
    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, b"x").unwrap();
    let o = crossdf()
        .args(["detect", "--model"])
        .arg(&model)
        .arg("--json")
        .arg(blocked.join("out.jsonl"))
        .arg(corpus.join("zero-byte.png"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("a-file"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&blocked).unwrap(), b"x");
    // A missing input and a missing model are named too.
    let o = crossdf()
        .args(["detect", "--model"])
        .arg(&model)
        .arg(dir.path().join("nowhere.mp4"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nowhere.mp4"), "{}", stderr(&o));
    let o = crossdf()
        .args(["detect", "--model"])
        .arg(dir.path().join("no-model"))
        .arg(corpus.join("zero-byte.png"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no-model"), "{}", stderr(&o));
}

const GOOD: &str =
    r#"{"path": "a.png", "label": 0, "domain": "real", "video": "v0", "split": "train"}"#;

#[test]
fn manifest_check_names_file_and_line_of_every_bad_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        ("empty.jsonl", String::new(), Some("empty.jsonl")),
        (
            "binary.jsonl",
            "\u{0}\u{1}\u{2}garbage\u{ff}".into(),
            Some("binary.jsonl:1"),
        ),
        (
            "label2.jsonl",
            format!("{GOOD}\n{}\n", GOOD.replace("\"label\": 0", "\"label\": 2")),
            Some("label2.jsonl:2"),
        ),
        (
            "no-split.jsonl",
            format!("{GOOD}\n{}\n", GOOD.replace(", \"split\": \"train\"", "")),
            Some("no-split.jsonl:2"),
        ),
        (
            "bad-split.jsonl",
            format!("{}\n", GOOD.replace("train", "training")),
            Some("bad-split.jsonl:1"),
        ),
        (
            "truncated.jsonl",
            format!("{GOOD}\n{}", &GOOD[..40]),
            Some("truncated.jsonl:2"),
        ),
        ("bom.jsonl", format!("\u{feff}{GOOD}\n"), None),
        (
            "bom.csv",
            "\u{feff}path,label,domain,video,split\na.png,0,real,v0,train\n".into(),
            None,
        ),
        (
            "short-row.csv",
            "path,label,domain,video,split\na.png,0,real\n".into(),
            Some("short-row.csv:2"),
        ),
    ];
    for (name, text, want) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let o = crossdf()
            .args(["manifest", "check"])
            .arg(&path)
            .output()
            .unwrap();
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "{name}: {err}");
        match want {
            None => assert!(o.status.success(), "{name}: {err}"),
            Some(w) => {
                assert_eq!(o.status.code(), Some(2), "{name}: {err}");
                assert!(err.contains(w), "{name}: want `{w}` in: {err}");
            }
        }
    }
}

#[test]
fn metrics_refuses_scores_that_are_not_numbers_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"{"score": 0.2, "label": 0, "video": "a"}
{"score": 0.9, "label": 1, "video": "b"}
"#;
    for (name, bad) in [
        ("nan", r#"{"score": NaN, "label": 1, "video": "c"}"#),
        ("null", r#"{"score": null, "label": 1, "video": "c"}"#),
        ("inf", r#"{"score": 1e999, "label": 1, "video": "c"}"#),
        ("string", r#"{"score": "0.5", "label": 1, "video": "c"}"#),
        ("label", r#"{"score": 0.5, "label": 3, "video": "c"}"#),
    ] {
        let path = dir.path().join(format!("{name}.jsonl"));
        std::fs::write(&path, format!("{good}{bad}\n")).unwrap();
        let json = dir.path().join(format!("{name}-metrics.json"));
        let o = crossdf()
            .args(["metrics", "--scores"])
            .arg(&path)
            .arg("--json")
            .arg(&json)
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(&format!("{name}.jsonl:3")), "{name}: {err}");
        assert!(!json.exists(), "{name}: a metrics file was written");
    }
    let bom = dir.path().join("bom.jsonl");
    std::fs::write(&bom, format!("\u{feff}{good}")).unwrap();
    let o = crossdf()
        .args(["metrics", "--scores"])
        .arg(&bom)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_mistyped_device_is_refused_before_any_work_with_the_choices() {
    // One flag for every command, before or after the subcommand's name.
    for args in [
        &["--device", "gpu", "eval", "--model", "m", "--data", "d"][..],
        &["detect", "x.png", "--model", "m", "--device", "cuda:x"],
        &["train", "--train", "d", "--out", "o", "--device", "CPU"],
    ] {
        let o = crossdf().args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains("choose one of cpu, cuda, cuda:N"),
            "{args:?}: {err}"
        );
    }
}
