use super::*;
use tch::{nn, Device, Kind};

/// `backbone.features.0` (conv 2->3, 1x1, no bias) + `backbone.features.1` (BatchNorm 3) and
/// a `head` (linear 3->1), as a model with an ImageNet backbone and a DID head would have.
fn model() -> nn::VarStore {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let f = &root / "backbone" / "features";
    let cfg = nn::ConvConfig {
        bias: false,
        ..Default::default()
    };
    let _ = nn::conv2d(&f / 0, 2, 3, 1, cfg);
    let _ = nn::batch_norm2d(&f / 1, 3, Default::default());
    let _ = nn::linear(&root / "head", 3, 1, Default::default());
    vs
}

/// A torchvision-style file: `features.*`, a BatchNorm counter and a classifier.
fn file_tensors() -> Vec<(String, Tensor)> {
    let r = |n: i64, shape: &[i64]| Tensor::arange(n, (Kind::Float, Device::Cpu)).reshape(shape);
    vec![
        ("features.0.weight".into(), r(6, &[3, 2, 1, 1])),
        ("features.1.weight".into(), r(3, &[3]) + 1.0),
        ("features.1.bias".into(), r(3, &[3]) + 2.0),
        ("features.1.running_mean".into(), r(3, &[3]) + 3.0),
        ("features.1.running_var".into(), r(3, &[3]) + 4.0),
        ("features.1.num_batches_tracked".into(), Tensor::from(5i64)),
        ("classifier.1.weight".into(), r(2000, &[1000, 2])),
    ]
}

fn opts() -> LoadOptions {
    LoadOptions::default()
        .rename_prefix("features.", "backbone.features.")
        .ignore_prefix("classifier.")
        .allow_missing_prefix("head.")
}

fn var(vs: &nn::VarStore, name: &str) -> Vec<f32> {
    Vec::<f32>::try_from(vs.variables()[name].reshape([-1])).unwrap()
}

#[test]
fn loads_parameters_and_running_stats_with_renames() {
    let mut vs = model();
    // tch's BatchNorm keeps its statistics as VarStore variables, without a counter.
    let names = vs.variables();
    assert!(names.contains_key("backbone.features.1.running_mean"));
    assert!(names.contains_key("backbone.features.1.running_var"));
    assert!(!names.keys().any(|n| n.contains("num_batches_tracked")));

    let head_before = var(&vs, "head.weight");
    let report = load_into(&mut vs, &file_tensors(), Path::new("tv.pth"), &opts()).unwrap();
    assert_eq!(
        var(&vs, "backbone.features.0.weight"),
        [0., 1., 2., 3., 4., 5.]
    );
    assert_eq!(var(&vs, "backbone.features.1.weight"), [1., 2., 3.]);
    assert_eq!(var(&vs, "backbone.features.1.bias"), [2., 3., 4.]);
    assert_eq!(var(&vs, "backbone.features.1.running_mean"), [3., 4., 5.]);
    assert_eq!(var(&vs, "backbone.features.1.running_var"), [4., 5., 6.]);
    assert_eq!(var(&vs, "head.weight"), head_before);
    assert_eq!(report.loaded.len(), 5);
    assert_eq!(report.ignored, ["classifier.1.weight"]);
    assert_eq!(report.missing_allowed, ["head.bias", "head.weight"]);
    assert_eq!(report.skipped_counters, ["features.1.num_batches_tracked"]);
    // Still trainable, still a leaf of the optimiser's graph.
    assert!(vs.trainable_variables().iter().all(|t| t.requires_grad()));
}

#[test]
fn converts_dtype_to_the_models() {
    let mut vs = model();
    let tensors: Vec<(String, Tensor)> = file_tensors()
        .into_iter()
        .map(|(n, t)| (n, t.to_kind(Kind::Double)))
        .collect();
    load_into(&mut vs, &tensors, Path::new("f64.pth"), &opts()).unwrap();
    assert_eq!(
        vs.variables()["backbone.features.0.weight"].kind(),
        Kind::Float
    );
    assert_eq!(var(&vs, "backbone.features.1.bias"), [2., 3., 4.]);
}

#[test]
fn mismatches_name_the_file_and_first_bad_tensor_and_change_nothing() {
    let mut vs = model();
    let before = var(&vs, "backbone.features.1.bias");
    let mut tensors = file_tensors();
    tensors[0].1 = Tensor::zeros([3, 2, 3, 3], (Kind::Float, Device::Cpu));
    tensors.push((
        "extra.w".into(),
        Tensor::zeros([1], (Kind::Float, Device::Cpu)),
    ));
    let e = load_into(&mut vs, &tensors, Path::new("bad.pth"), &opts())
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("bad.pth: "), "{e}");
    assert!(
        e.contains("first: backbone.features.0.weight has shape [3, 2, 3, 3] in the file, [3, 2, 1, 1] in the model"),
        "{e}"
    );
    assert!(
        e.contains("(0 missing, 1 unexpected, 1 wrongly shaped)"),
        "{e}"
    );
    assert!(e.contains("unexpected: extra.w"), "{e}");
    assert_eq!(var(&vs, "backbone.features.1.bias"), before);
}

#[test]
fn missing_tensors_are_errors_unless_allowed() {
    let mut vs = model();
    let tensors: Vec<_> = file_tensors()
        .into_iter()
        .filter(|(n, _)| !n.contains("running_var"))
        .collect();
    let e = load_into(&mut vs, &tensors, Path::new("m.pth"), &opts())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("first: backbone.features.1.running_var is in the model but not in the file"),
        "{e}"
    );
    // Without the head exception the head is missing too.
    let strict = LoadOptions::default()
        .rename_prefix("features.", "backbone.features.")
        .ignore_prefix("classifier.");
    let e = load_into(&mut vs, &file_tensors(), Path::new("m.pth"), &strict)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("2 missing") && e.contains("head.bias, head.weight"),
        "{e}"
    );
    // Without the ignore rule the classifier is unexpected, shown with its mapped name.
    let no_ignore = LoadOptions::default()
        .rename_prefix("features.", "backbone.features.")
        .allow_missing_prefix("head.");
    let e = load_into(&mut vs, &file_tensors(), Path::new("m.pth"), &no_ignore)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("first: classifier.1.weight is in the file but not in the model"),
        "{e}"
    );
}

#[test]
fn two_file_names_mapping_to_one_variable_are_an_error() {
    let mut vs = model();
    let mut tensors = file_tensors();
    tensors.push((
        "module.backbone.features.1.bias".into(),
        Tensor::zeros([3], (Kind::Float, Device::Cpu)),
    ));
    let o = opts().rename_prefix("module.", "");
    let e = load_into(&mut vs, &tensors, Path::new("dup.pth"), &o)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("two file tensors map to model variable backbone.features.1.bias"),
        "{e}"
    );
}

#[test]
fn load_file_reads_then_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tv.safetensors");
    crate::weights::write_safetensors(&path, &file_tensors()).unwrap();
    let mut vs = model();
    let report = load_file(&mut vs, &path, &opts()).unwrap();
    assert_eq!(report.loaded.len(), 5);
    assert_eq!(var(&vs, "backbone.features.1.running_var"), [4., 5., 6.]);
}
