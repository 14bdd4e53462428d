//! The readers against files PyTorch 2.11 wrote (scripts/fixtures/torch_files.py) and
//! against broken copies of them.
use super::*;
use std::path::PathBuf;
use tch::{Kind, Tensor};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch_files")
        .join(name)
}

struct Expected {
    name: String,
    dtype: String,
    shape: Vec<i64>,
    values: Vec<f64>,
}

fn expected() -> Vec<Expected> {
    let text = std::fs::read_to_string(fixture("expected.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|e| Expected {
            name: e["name"].as_str().unwrap().to_string(),
            dtype: e["dtype"].as_str().unwrap().to_string(),
            shape: e["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_i64().unwrap())
                .collect(),
            values: e["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| match v {
                    serde_json::Value::Bool(b) => *b as i64 as f64,
                    v => v.as_f64().unwrap(),
                })
                .collect(),
        })
        .collect()
}

fn short_dtype(k: Kind) -> &'static str {
    match k {
        Kind::Float => "f32",
        Kind::Double => "f64",
        Kind::Half => "f16",
        Kind::BFloat16 => "bf16",
        Kind::Int64 => "i64",
        Kind::Int => "i32",
        Kind::Uint8 => "u8",
        Kind::Bool => "bool",
        _ => "other",
    }
}

fn values(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(Kind::Double).reshape([-1])).unwrap()
}

fn assert_matches_expected(tensors: &[(String, Tensor)], what: &str) {
    let want = expected();
    let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    let want_names: Vec<&str> = want.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, want_names, "{what}: names and order");
    for ((name, t), e) in tensors.iter().zip(&want) {
        assert_eq!(short_dtype(t.kind()), e.dtype, "{what}: {name} dtype");
        assert_eq!(t.size(), e.shape, "{what}: {name} shape");
        assert!(t.is_contiguous(), "{what}: {name} contiguous");
        assert_eq!(t.device(), tch::Device::Cpu);
        // Equal to the last bit of f64 parsing (serde_json may round the decimal text one
        // unit off): any wrong f32/f16 bit would be millions of times further away.
        let got = values(t);
        assert_eq!(got.len(), e.values.len(), "{what}: {name}");
        for (g, w) in got.iter().zip(&e.values) {
            assert!(
                (g - w).abs() <= 4.0 * f64::EPSILON * w.abs(),
                "{what}: {name}: {g} vs {w}"
            );
        }
    }
}

#[test]
fn both_torch_layouts_give_pytorchs_values() {
    for (file, format) in [
        ("legacy.pt", Format::TorchLegacy),
        ("zip.pt", Format::TorchZip),
        ("legacy_nested.pth", Format::TorchLegacy),
        ("zip_nested.pth", Format::TorchZip),
    ] {
        let (got_format, tensors) = read_tensors_with_format(&fixture(file)).unwrap();
        assert_eq!(got_format, format, "{file}");
        assert_matches_expected(&tensors, file);
    }
}

#[test]
fn format_is_told_by_content_not_extension() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["legacy.pt", "zip.pt"] {
        let renamed = dir.path().join(format!("{file}.safetensors"));
        std::fs::copy(fixture(file), &renamed).unwrap();
        assert_matches_expected(&read_tensors(&renamed).unwrap(), file);
    }
    let junk = dir.path().join("junk.pth");
    std::fs::write(&junk, b"hello, not weights").unwrap();
    let e = read_tensors(&junk).unwrap_err().to_string();
    assert!(e.contains("junk.pth") && e.contains("neither"), "{e}");
}

#[test]
fn safetensors_round_trip_keeps_order_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w.safetensors");
    let tensors = read_tensors(&fixture("legacy.pt")).unwrap();
    write_safetensors(&out, &tensors).unwrap();
    let (format, back) = read_tensors_with_format(&out).unwrap();
    assert_eq!(format, Format::Safetensors);
    assert_matches_expected(&back, "round trip");
    // tch's own safetensors reader (an independent decoder) sees the same values.
    let mut theirs = Tensor::read_safetensors(&out).unwrap();
    theirs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut ours = back;
    ours.sort_by(|a, b| a.0.cmp(&b.0));
    for ((n1, a), (n2, b)) in theirs.iter().zip(&ours) {
        assert_eq!(n1, n2);
        assert_eq!(values(a), values(b), "{n1}");
    }
    // Atomic: only the final file is left.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    let bytes = std::fs::read(&out).unwrap();
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() - 1]).unwrap();
    let e = read_tensors(&cut).unwrap_err().to_string();
    assert!(e.contains("cut.safetensors"), "{e}");
    let twice = [
        (tensors[0].0.clone(), tensors[0].1.shallow_clone()),
        (tensors[0].0.clone(), tensors[1].1.shallow_clone()),
    ];
    let e = write_safetensors(&cut, &twice).unwrap_err().to_string();
    assert!(e.contains("appears twice"), "{e}");
}

#[test]
fn every_truncated_legacy_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("legacy.pt")).unwrap();
    let cut = dir.path().join("cut.pt");
    for n in 0..bytes.len() {
        std::fs::write(&cut, &bytes[..n]).unwrap();
        let e = read_tensors(&cut).unwrap_err().to_string();
        assert!(e.contains("cut.pt"), "{n}: {e}");
    }
    // Cut inside the last storage's data: the message names a tensor using it and offsets.
    std::fs::write(&cut, &bytes[..bytes.len() - 3]).unwrap();
    let e = read_tensors(&cut).unwrap_err().to_string();
    assert!(
        e.contains("truncated") && e.contains("first used by tensor"),
        "{e}"
    );
}

#[test]
fn truncated_zip_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("zip.pt")).unwrap();
    let cut = dir.path().join("cut.pt");
    for n in (0..bytes.len()).step_by(37) {
        std::fs::write(&cut, &bytes[..n]).unwrap();
        let e = read_tensors(&cut).unwrap_err().to_string();
        assert!(e.contains("cut.pt"), "{n}: {e}");
    }
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).position(|w| w == needle).unwrap()
}

#[test]
fn corrupt_pickles_are_errors_naming_the_byte() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["legacy.pt", "zip.pt"] {
        let mut bytes = std::fs::read(fixture(file)).unwrap();
        let at = find(&bytes, b"ctorch._utils\n_rebuild_tensor_v2");
        bytes[at] = 0xff;
        let bad = dir.path().join(format!("bad-{file}"));
        std::fs::write(&bad, &bytes).unwrap();
        let e = read_tensors(&bad).unwrap_err().to_string();
        assert!(e.contains(&format!("bad-{file}")), "{e}");
        if file == "legacy.pt" {
            assert!(e.contains("main pickle") && e.contains("0xff"), "{e}");
        }
    }
}

/// A legacy file by hand: one float tensor `w` of size [4] at `offset` into a 5-element
/// storage "0" holding 0, 1, 2, 3, 4.
fn legacy_file(offset: u8) -> Vec<u8> {
    let mut f = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.".to_vec();
    f.extend_from_slice(b"\x80\x02M\xe9\x03.");
    f.extend_from_slice(b"\x80\x02}.");
    f.extend_from_slice(b"\x80\x02ccollections\nOrderedDict\n)RX\x01\x00\x00\x00w");
    f.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage");
    f.extend_from_slice(b"ctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x05NtQ");
    f.extend_from_slice(&[b'K', offset]);
    f.extend_from_slice(b"K\x04\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtRs.");
    f.extend_from_slice(b"\x80\x02]X\x01\x00\x00\x000a.");
    f.extend_from_slice(&5u64.to_le_bytes());
    for v in 0..5 {
        f.extend_from_slice(&(v as f32).to_le_bytes());
    }
    f
}

#[test]
fn views_are_checked_against_their_storage() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("hand.pt");
    std::fs::write(&p, legacy_file(1)).unwrap();
    let t = read_tensors(&p).unwrap();
    assert_eq!(t[0].0, "w");
    assert_eq!(values(&t[0].1), [1.0, 2.0, 3.0, 4.0]);
    std::fs::write(&p, legacy_file(2)).unwrap();
    let e = read_tensors(&p).unwrap_err().to_string();
    assert!(
        e.contains("hand.pt") && e.contains("tensor w") && e.contains("element 5"),
        "{e}"
    );
}
