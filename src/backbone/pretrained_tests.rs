use super::*;
use crate::did::{DidModel, ModelConfig};
use tch::{Kind, Tensor};

/// A state dict of `kind` with its classifier, written as safetensors: what a user
/// downloads, at test size.
fn state_dict(kind: BackboneKind, dir: &Path, drop: Option<&str>, extra: bool) -> PathBuf {
    let vs = nn::VarStore::new(Device::Cpu);
    let _b = Backbone::build_classifier(&vs.root(), kind, 1000);
    let mut named: Vec<(String, tch::Tensor)> = vs
        .variables()
        .into_iter()
        .filter(|(k, _)| Some(k.as_str()) != drop)
        .collect();
    if extra {
        named.push((
            "stray.weight".into(),
            Tensor::ones([2], (Kind::Float, Device::Cpu)),
        ));
    }
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let path = dir.join("w.safetensors");
    weights::write_safetensors(&path, &named).unwrap();
    path
}

fn did(kind: BackboneKind) -> (nn::VarStore, DidModel) {
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = ModelConfig {
        backbone: kind,
        size: 64,
        ..Default::default()
    };
    let m = DidModel::new(&vs.root(), &cfg, 3).unwrap();
    (vs, m)
}

#[test]
fn backbone_weights_land_under_the_prefix_and_leave_the_heads_alone() {
    let dir = tempfile::tempdir().unwrap();
    let kind = BackboneKind::EfficientnetLiteTiny;
    let file = state_dict(kind, dir.path(), None, false);
    let (mut vs, _m) = did(kind);
    let before: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("backbone."))
        .map(|(k, t)| (k, t.copy()))
        .collect();
    let report = load_backbone(&mut vs, "backbone.", kind, &file).unwrap();
    assert_eq!(
        report.ignored,
        vec!["_fc.bias".to_string(), "_fc.weight".into()]
    );
    let vars = vs.variables();
    let file_t: std::collections::HashMap<_, _> =
        weights::read_tensors(&file).unwrap().into_iter().collect();
    let mut n = 0;
    for (k, t) in &vars {
        if let Some(name) = k.strip_prefix("backbone.") {
            assert!(t.equal(&file_t[name]), "{k}");
            n += 1;
        }
    }
    assert_eq!(n, report.loaded.len());
    for (k, t) in before {
        assert!(vars[&k].equal(&t), "{k} changed");
    }
}

#[test]
fn missing_unexpected_or_foreign_tensors_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let kind = BackboneKind::MobilenetV2Tiny;
    let (mut vs, _m) = did(kind);
    let missing = state_dict(kind, dir.path(), Some("features.1.conv.0.0.weight"), false);
    let e = load_backbone(&mut vs, "backbone.", kind, &missing).unwrap_err();
    assert!(e.to_string().contains("features.1.conv.0.0.weight"), "{e}");
    let stray = state_dict(kind, dir.path(), None, true);
    let e = load_backbone(&mut vs, "backbone.", kind, &stray).unwrap_err();
    assert!(e.to_string().contains("stray.weight"), "{e}");
    // A file of another architecture does not fit.
    let other = state_dict(BackboneKind::EfficientnetV2Tiny, dir.path(), None, false);
    assert!(load_backbone(&mut vs, "backbone.", kind, &other).is_err());
    // The right file under the wrong prefix: the model has no such variables.
    let good = state_dict(kind, dir.path(), None, false);
    let e = load_backbone(&mut vs, "g.", kind, &good).unwrap_err();
    assert!(e.to_string().contains("g.features"), "{e}");
}

#[test]
fn check_reads_the_top_classes_of_the_loaded_head() {
    // A head whose bias makes class 7 win and class 3 second, whatever the image.
    let dir = tempfile::tempdir().unwrap();
    let kind = BackboneKind::EfficientnetLiteTiny;
    let vs = nn::VarStore::new(Device::Cpu);
    let _b = Backbone::build_classifier(&vs.root(), kind, 1000);
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    for (k, t) in named.iter_mut() {
        if k == "_fc.bias" {
            let mut bias = vec![0.0f32; 1000];
            bias[7] = 50.0;
            bias[3] = 45.0;
            *t = Tensor::from_slice(&bias);
        } else if k == "_fc.weight" {
            *t = t.zeros_like();
        }
    }
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let file = dir.path().join("w.safetensors");
    weights::write_safetensors(&file, &named).unwrap();
    let img = dir.path().join("x.png");
    image::GrayImage::from_fn(300, 200, |x, y| {
        image::Luma([((x * 7 + y * 3) % 256) as u8])
    })
    .save(&img)
    .unwrap();
    let top = check(kind, &file, &img, 3).unwrap();
    assert_eq!(top[0].class, 7);
    assert_eq!(top[1].class, 3);
    assert!((top[0].prob - 1.0 / (1.0 + (-5f64).exp() + 998.0 * (-50f64).exp())).abs() < 1e-6);
    assert_eq!(top[0].name, crate::backbone::imagenet::class_names()[7]);
}
