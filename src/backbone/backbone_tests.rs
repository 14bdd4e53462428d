//! Backbones against PyTorch: state-dict names and shapes (torchvision and the registry Lite
//! files), and numerical parity of the reduced variants, from the fixtures that
//! `scripts/fixtures/backbones.py` wrote.
use super::*;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use tch::{Device, Kind};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/backbones")
        .join(name)
}

/// `name -> shape` from a `names_*.txt` fixture, without `num_batches_tracked` (a counter
/// tch's BatchNorm does not keep; it is only used when BN momentum is None).
fn reference_names(file: &str) -> BTreeMap<String, Vec<i64>> {
    let text = std::fs::read_to_string(fixture(file)).unwrap();
    let mut all = 0;
    let map: BTreeMap<_, _> = text
        .lines()
        .inspect(|_| all += 1)
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (k, s) = l.split_once('\t').unwrap();
            let shape = s
                .split(',')
                .filter(|d| !d.is_empty())
                .map(|d| d.parse().unwrap())
                .collect();
            (k.to_string(), shape)
        })
        .filter(|(k, _): &(String, Vec<i64>)| !k.ends_with("num_batches_tracked"))
        .collect();
    assert!(
        map.len() < all,
        "{file}: no num_batches_tracked entries seen"
    );
    map
}

fn our_names(kind: BackboneKind, classes: i64) -> BTreeMap<String, Vec<i64>> {
    let vs = nn::VarStore::new(Device::Cpu);
    let _b = Backbone::build_classifier(&vs.root(), kind, classes);
    vs.variables()
        .into_iter()
        .map(|(k, t)| (k, t.size()))
        .collect()
}

fn assert_same_names(kind: BackboneKind, file: &str) {
    let want = reference_names(file);
    let got = our_names(kind, 1000);
    let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{kind}: missing {missing:?}, unexpected {extra:?}"
    );
    for (k, s) in &want {
        assert_eq!(&got[k], s, "{kind}: shape of {k}");
    }
}

#[test]
fn resnet50_names_and_shapes_equal_torchvision() {
    assert_same_names(BackboneKind::Resnet50, "names_resnet50.txt");
}

#[test]
fn mobilenet_v2_names_and_shapes_equal_torchvision() {
    assert_same_names(BackboneKind::MobilenetV2, "names_mobilenet_v2.txt");
}

#[test]
fn efficientnet_v2_names_and_shapes_equal_torchvision() {
    assert_same_names(BackboneKind::EfficientnetV2S, "names_efficientnet_v2_s.txt");
    assert_same_names(BackboneKind::EfficientnetV2M, "names_efficientnet_v2_m.txt");
    assert_same_names(BackboneKind::EfficientnetV2L, "names_efficientnet_v2_l.txt");
}

#[test]
fn efficientnet_lite_names_and_shapes_equal_the_registry_files() {
    assert_same_names(
        BackboneKind::EfficientnetLite0,
        "names_efficientnet_lite0.txt",
    );
    assert_same_names(
        BackboneKind::EfficientnetLite1,
        "names_efficientnet_lite1.txt",
    );
    assert_same_names(
        BackboneKind::EfficientnetLite2,
        "names_efficientnet_lite2.txt",
    );
}

/// Copies the fixture's weights into `vs` (every variable must be there with its shape) and
/// returns the `fixture.*` tensors.
fn load_fixture(vs: &nn::VarStore, file: &str) -> HashMap<String, Tensor> {
    let mut rest = HashMap::new();
    let mut vars = vs.variables();
    let mut loaded = 0;
    for (k, t) in Tensor::read_safetensors(fixture(file)).unwrap() {
        if let Some(name) = k.strip_prefix("fixture.") {
            rest.insert(name.to_string(), t);
            continue;
        }
        let v = vars
            .get_mut(&k)
            .unwrap_or_else(|| panic!("{file}: {k} not in the model"));
        assert_eq!(v.size(), t.size(), "{file}: shape of {k}");
        tch::no_grad(|| v.copy_(&t));
        loaded += 1;
    }
    assert_eq!(
        loaded,
        vars.len(),
        "{file}: some variables not in the fixture"
    );
    rest
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size());
    (a - b).abs().max().double_value(&[])
}

fn assert_parity(kind: BackboneKind, file: &str) {
    let vs = nn::VarStore::new(Device::Cpu);
    let b = Backbone::build_classifier(&vs.root(), kind, 10);
    let f = load_fixture(&vs, file);
    let x = &f["input"];
    let _g = tch::no_grad_guard();
    let feats = b.features(x, false);
    let d = max_abs_diff(&feats, &f["features"]);
    assert!(d < 1e-4, "{kind}: features differ by {d}");
    let side = x.size()[2];
    assert_eq!(
        feats.size()[2],
        b.feature_size(side),
        "{kind}: feature_size"
    );
    assert_eq!(feats.size()[1], b.out_channels());
    let d = max_abs_diff(&b.logits(x, false).unwrap(), &f["logits"]);
    assert!(d < 1e-4, "{kind}: logits differ by {d}");
    // The fixture's features are not trivially small: a broken block would show.
    assert!(f["features"].abs().max().double_value(&[]) > 0.5);
}

#[test]
fn tiny_efficientnet_v2_matches_torchvision_numerically() {
    assert_parity(
        BackboneKind::EfficientnetV2Tiny,
        "tiny_efficientnet_v2.safetensors",
    );
}

#[test]
fn tiny_mobilenet_v2_matches_torchvision_numerically() {
    assert_parity(
        BackboneKind::MobilenetV2Tiny,
        "tiny_mobilenet_v2.safetensors",
    );
}

#[test]
fn tiny_efficientnet_lite_matches_the_python_reference_numerically() {
    assert_parity(
        BackboneKind::EfficientnetLiteTiny,
        "tiny_efficientnet_lite.safetensors",
    );
}

#[test]
fn training_mode_uses_batch_statistics_and_drop_path() {
    // In training BN normalises with the batch, so outputs differ from eval; stochastic
    // depth makes two training passes differ from each other.
    let vs = nn::VarStore::new(Device::Cpu);
    let b = Backbone::build(&vs.root(), BackboneKind::EfficientnetV2Tiny);
    let x = Tensor::randn([4, 3, 32, 32], (Kind::Float, Device::Cpu));
    let eval = b.features(&x, false);
    tch::manual_seed(3);
    let t1 = b.features(&x, true);
    assert!(max_abs_diff(&eval, &t1) > 1e-3);
    // Other tests draw from the same global RNG at the same time, so a single second pass
    // may happen to drop the same paths; among 20 passes some differ.
    let differs = (0..20).any(|_| max_abs_diff(&t1, &b.features(&x, true)) > 1e-6);
    assert!(differs, "stochastic depth never changed the output");
    assert!(b.logits(&x, false).is_err(), "no head was built");
}

#[test]
fn feature_size_formula_holds_for_every_family() {
    let tiny = [
        BackboneKind::ResnetTiny,
        BackboneKind::EfficientnetV2Tiny,
        BackboneKind::EfficientnetLiteTiny,
        BackboneKind::MobilenetV2Tiny,
    ];
    for kind in tiny {
        let vs = nn::VarStore::new(Device::Cpu);
        let b = Backbone::build(&vs.root(), kind);
        for side in [33i64, 45, 64] {
            let x = Tensor::randn([1, 3, side, side], (Kind::Float, Device::Cpu));
            let y = tch::no_grad(|| b.features(&x, false));
            let f = b.feature_size(side);
            assert_eq!(
                y.size(),
                vec![1, b.out_channels(), f, f],
                "{kind} at {side}"
            );
        }
    }
}

#[test]
fn full_size_backbones_give_1280_or_2048_channels_at_7x7() {
    for (kind, c) in [
        (BackboneKind::EfficientnetLite0, 1280),
        (BackboneKind::MobilenetV2, 1280),
        (BackboneKind::EfficientnetV2S, 1280),
    ] {
        let vs = nn::VarStore::new(Device::Cpu);
        let b = Backbone::build(&vs.root(), kind);
        let x = Tensor::randn([1, 3, 224, 224], (Kind::Float, Device::Cpu));
        let y = tch::no_grad(|| b.features(&x, false));
        assert_eq!(y.size(), vec![1, c, 7, 7], "{kind}");
        assert_eq!(b.feature_size(224), 7);
    }
}

#[test]
fn names_parse_and_serialise_alike() {
    for k in BackboneKind::ALL {
        assert_eq!(k.name().parse::<BackboneKind>().unwrap(), k);
        assert_eq!(
            serde_json::to_string(&k).unwrap(),
            format!("\"{}\"", k.name())
        );
    }
    assert!("efficientnet-v3".parse::<BackboneKind>().is_err());
}

#[test]
fn imagenet_norm_is_the_data_pipelines_normalisation() {
    let x = Tensor::rand([2, 1, 5, 5], (Kind::Float, Device::Cpu));
    let ours = InputNorm::IMAGENET.apply(&x);
    assert!(ours.equal(&crate::data::image::normalise_imagenet(&x)));
    // Lite: (255 * x - 127) / 128 on every channel.
    let lite = BackboneKind::EfficientnetLite0.input_norm().apply(&x);
    let want = (&x * 255.0 - 127.0) / 128.0;
    assert_eq!(lite.size(), vec![2, 3, 5, 5]);
    for c in 0..3 {
        let d = max_abs_diff(&lite.narrow(1, c, 1), &want);
        assert!(d < 1e-5, "channel {c}: {d}");
    }
}

/// The channels-last layout `features` uses gives the feature map of the plain layout.
#[test]
fn channels_last_features_equal_the_plain_layout() {
    for kind in [
        BackboneKind::MobilenetV2,
        BackboneKind::ResnetTiny,
        BackboneKind::EfficientnetV2Tiny,
        BackboneKind::EfficientnetLiteTiny,
    ] {
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let net = Backbone::build(&vs.root(), kind);
        let x = Tensor::randn([2, 3, 64, 64], (Kind::Float, Device::Cpu));
        let _g = tch::no_grad_guard();
        let a = net.features(&x, false);
        let b = net.features_as_given(&x, false);
        assert_eq!(a.size(), b.size());
        let err = (&a - &b).abs().max().double_value(&[]);
        let scale = b.abs().max().double_value(&[]);
        assert!(err <= 1e-5 * scale.max(1.0), "{kind}: {err} of {scale}");
    }
}

/// A training step with the stem and two blocks frozen: those weights and BatchNorm
/// statistics stay bit for bit as loaded (Adam's weight decay included), the rest learns,
/// and in eval mode the frozen net computes what the unfrozen one does.
#[test]
fn frozen_blocks_stay_as_loaded_and_the_rest_learns() {
    use crate::train::optim::{Adam, OptimConfig};
    let cases: [(BackboneKind, &[&str], &str); 4] = [
        (
            BackboneKind::MobilenetV2Tiny,
            &["features.0.", "features.1.", "features.2."],
            "features.3.",
        ),
        (
            BackboneKind::ResnetTiny,
            &["conv1.", "bn1.", "layer1.0.", "layer2.0."],
            "layer3.0.",
        ),
        (
            BackboneKind::EfficientnetLiteTiny,
            &["_conv_stem.", "_bn0.", "_blocks.0.", "_blocks.1."],
            "_blocks.2.",
        ),
        (
            BackboneKind::EfficientnetV2Tiny,
            &["features.0.", "features.1."],
            "features.6.",
        ),
    ];
    for (kind, frozen_prefixes, learning_prefix) in cases {
        tch::manual_seed(3);
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let mut net = Backbone::build(&vs.root(), kind);
        let x = Tensor::randn([4, 3, 48, 48], (Kind::Float, Device::Cpu));
        let plain = tch::no_grad(|| net.features(&x, false));
        net.freeze_blocks(2).unwrap();
        assert!(net.freeze_blocks(net.blocks() + 1).is_err(), "{kind}");
        let before: HashMap<String, Tensor> = vs
            .variables()
            .into_iter()
            .map(|(k, t)| (k, t.copy()))
            .collect();
        let frozen_eval = tch::no_grad(|| net.features(&x, false));
        assert!(frozen_eval.allclose(&plain, 0.0, 0.0, false), "{kind}");

        let mut opt = Adam::new(&vs.variables(), OptimConfig::default());
        opt.zero_grad();
        net.features(&x, true).square().mean(Kind::Float).backward();
        opt.step();
        let changed = |name: &str| !vs.variables()[name].equal(&before[name]);
        let names: Vec<String> = before.keys().cloned().collect();
        let mut n_frozen = 0;
        for name in &names {
            if frozen_prefixes.iter().any(|p| name.starts_with(p)) {
                n_frozen += 1;
                assert!(!changed(name), "{kind}: frozen {name} changed");
            }
        }
        assert!(
            n_frozen > 0,
            "{kind}: no variable under {frozen_prefixes:?}"
        );
        assert!(
            names
                .iter()
                .any(|n| n.starts_with(learning_prefix) && changed(n)),
            "{kind}: nothing under {learning_prefix} learned"
        );
    }
}
