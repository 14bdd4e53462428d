//! `crossdf weights inspect|list|fetch` without network: fixtures and a temp cache.
use std::path::Path;
use std::process::Command;

fn crossdf(args: &[&str], cache: &Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_crossdf"))
        .args(args)
        .env("CROSSDF_CACHE", cache)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch_files")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn inspect_prints_every_tensor_of_both_layouts() {
    let cache = tempfile::tempdir().unwrap();
    for (file, format) in [
        ("legacy.pt", "PyTorch legacy"),
        ("zip_nested.pth", "PyTorch zip"),
    ] {
        let (ok, out, err) = crossdf(&["weights", "inspect", &fixture(file)], cache.path());
        assert!(ok, "{err}");
        let lines: Vec<&str> = out.lines().collect();
        // 17 tensors (scripts/fixtures/torch_files.py) and a summary line.
        assert_eq!(lines.len(), 18, "{out}");
        assert_eq!(lines[0], "conv.weight\t[2, 3, 2, 2]\tfloat32");
        assert!(lines.contains(&"dtypes.bf16\t[3]\tbfloat16"), "{out}");
        assert!(
            lines.contains(&"bn.num_batches_tracked\t[]\tint64"),
            "{out}"
        );
        assert!(lines.contains(&"view.transposed\t[4, 3]\tfloat32"), "{out}");
        assert!(
            lines[17].ends_with(&format!("{format} format, 17 tensors, 88 values")),
            "{out}"
        );
    }
}

#[test]
fn inspect_of_a_broken_file_names_it() {
    let cache = tempfile::tempdir().unwrap();
    let bad = cache.path().join("half.pt");
    let bytes = std::fs::read(fixture("legacy.pt")).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    let (ok, _, err) = crossdf(&["weights", "inspect", bad.to_str().unwrap()], cache.path());
    assert!(!ok);
    assert!(
        err.starts_with("error: ") && err.contains("half.pt"),
        "{err}"
    );
}

#[test]
fn list_shows_every_registry_entry_and_what_it_fits() {
    let cache = tempfile::tempdir().unwrap();
    let (ok, out, err) = crossdf(&["weights", "list"], cache.path());
    assert!(ok, "{err}");
    for (name, fits) in [
        ("efficientnet-lite0", "efficientnet-lite0"),
        ("efficientnet-lite1", "efficientnet-lite1"),
        ("efficientnet-lite2", "efficientnet-lite2"),
        ("mobilenet_v2", "mobilenet-v2"),
        ("mtcnn", "mtcnn"),
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing: {out}"));
        assert!(line.contains(&format!("fits {fits} ")), "{line}");
        assert!(line.ends_with("not cached"), "{line}");
    }
    assert!(out.contains("facenet-pytorch==2.6.0"), "{out}");
}

#[test]
fn fetch_of_an_unknown_name_lists_the_known_ones() {
    let cache = tempfile::tempdir().unwrap();
    let (ok, _, err) = crossdf(&["weights", "fetch", "resnet50"], cache.path());
    assert!(!ok);
    assert!(
        err.contains("\"resnet50\"") && err.contains("mtcnn"),
        "{err}"
    );
}
