use super::*;

const HELLO: &str = "hello face\n";
const OTHER: &str = "other\n";
// Computed with `printf 'hello face\n' | sha256sum` and `printf 'other\n' | sha256sum`.
const HELLO_SHA: &str = "ab6b4bf9fe90c8cfc60e5d777e6f991383ea493066835ae3eb4e17bcce58063c";
const OTHER_SHA: &str = "7e4fa2eb8c7ac089739d5defc4489fad68a100d92082ca35c6b40a4524821f87";

fn sha(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

fn tar_gz(path: &Path, files: &[(&str, &str)]) {
    let f = std::fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (name, body) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, body.as_bytes()).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap();
}

fn wheel(path: &Path, files: &[(&str, &str)]) {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    for (name, body) in files {
        z.start_file(*name, zip::write::FileOptions::default())
            .unwrap();
        z.write_all(body.as_bytes()).unwrap();
    }
    z.finish().unwrap();
}

#[test]
fn sha256_matches_the_standard_test_vector() {
    assert_eq!(
        sha("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn tarball_is_extracted_verified_and_reused_without_a_second_download() {
    let root = tempfile::tempdir().unwrap();
    let asset = Asset {
        name: "fake-npm",
        source: Source::Npm {
            package: "fake",
            version: "1.0.0",
        },
        files: &[("package/a/face.txt", HELLO_SHA)],
    };
    assert!(!asset.is_cached(root.path()));
    let mut downloads = 0;
    let dir = asset
        .fetch_with(root.path(), |tmp| {
            downloads += 1;
            let p = tmp.join("fake-1.0.0.tgz");
            tar_gz(
                &p,
                &[("package/a/face.txt", HELLO), ("package/b.txt", OTHER)],
            );
            Ok(p)
        })
        .unwrap();
    assert_eq!(dir, root.path().join("assets/fake-npm"));
    assert_eq!(
        std::fs::read_to_string(dir.join("package/a/face.txt")).unwrap(),
        HELLO
    );
    // Unlisted members are not copied.
    assert!(!dir.join("package/b.txt").exists());
    // Cache hit: the download step must not run again.
    let again = asset
        .fetch_with(root.path(), |_| panic!("downloaded twice"))
        .unwrap();
    assert_eq!(again, dir);
    assert_eq!(downloads, 1);
    // No temp folders are left beside the asset.
    let names: Vec<_> = std::fs::read_dir(root.path().join("assets"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("fake-npm")]);
}

#[test]
fn checksum_mismatch_is_an_error_and_leaves_no_asset_folder() {
    let root = tempfile::tempdir().unwrap();
    let asset = Asset {
        name: "fake-wheel",
        source: Source::PyPI {
            package: "fake",
            version: "1.0",
        },
        files: &[("pkg/data/x.txt", HELLO_SHA)],
    };
    let err = asset
        .fetch_with(root.path(), |tmp| {
            let p = tmp.join("fake-1.0-py3-none-any.whl");
            wheel(&p, &[("pkg/data/x.txt", OTHER)]);
            Ok(p)
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("pkg/data/x.txt"), "{err}");
    assert!(err.contains(OTHER_SHA), "{err}");
    assert!(err.contains("fake==1.0"), "{err}");
    assert!(!asset.dir(root.path()).exists());
    let left = std::fs::read_dir(root.path().join("assets"))
        .unwrap()
        .count();
    assert_eq!(left, 0);
    // The right content then goes through.
    let dir = asset
        .fetch_with(root.path(), |tmp| {
            let p = tmp.join("fake-1.0-py3-none-any.whl");
            wheel(&p, &[("pkg/data/x.txt", HELLO)]);
            Ok(p)
        })
        .unwrap();
    assert_eq!(sha256_file(&dir.join("pkg/data/x.txt")).unwrap(), HELLO_SHA);
}

#[test]
fn a_listed_file_missing_from_the_package_is_named() {
    let root = tempfile::tempdir().unwrap();
    let asset = Asset {
        name: "fake-crate",
        source: Source::Crate {
            name: "fake",
            version: "0.1.0",
        },
        files: &[("fake-0.1.0/test.png", "00")],
    };
    let err = asset
        .fetch_with(root.path(), |tmp| {
            let p = tmp.join("fake-0.1.0.crate");
            tar_gz(&p, &[("fake-0.1.0/README.md", OTHER)]);
            Ok(p)
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("no file fake-0.1.0/test.png"), "{err}");
}

#[test]
fn photo_assets_list_well_formed_checksums() {
    for a in PHOTO_ASSETS {
        for (p, sha) in a.files {
            assert_eq!(sha.len(), 64, "{p}");
            assert!(sha
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        }
    }
}
