//! DID end to end against an independent PyTorch implementation
//! (scripts/fixtures/did_reference.py, written from DESIGN.md section 1): outputs, every loss
//! term, BatchNorm statistics, the eval score and gradients of each part on one fixed batch.
use crossdf::backbone::BackboneKind;
use crossdf::did::loss::did_loss;
use crossdf::did::mi::jsd_bound;
use crossdf::did::{DidModel, LossConfig, ModelConfig, Variant};
use std::collections::HashMap;
use std::path::PathBuf;
use tch::{nn, Device, Kind, Tensor};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/did_reference")
        .join(name)
}

/// The fixture's generator: `n` values in [-1, 1), splitmix64(fnv1a64(name) + i) >> 40.
fn uniform(name: &str, n: usize) -> Vec<f64> {
    let seed = name.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01B3)
    });
    (0..n as u64)
        .map(|i| {
            let mut z = seed.wrapping_add(i).wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 40) as f64 - 8_388_608.0) / 8_388_608.0
        })
        .collect()
}

/// `offset + scale * uniform(name)` as a tensor of `shape`, checked against the fixture's sum.
fn generated(spec: &serde_json::Value) -> Tensor {
    let name = spec["name"].as_str().unwrap();
    let shape: Vec<i64> = serde_json::from_value(spec["shape"].clone()).unwrap();
    let (off, scale) = (
        spec["offset"].as_f64().unwrap(),
        spec["scale"].as_f64().unwrap(),
    );
    let n = shape.iter().product::<i64>() as usize;
    let v: Vec<f64> = uniform(name, n).iter().map(|u| off + scale * u).collect();
    let (sum, want) = (v.iter().sum::<f64>(), spec["sum"].as_f64().unwrap());
    assert!(
        (sum - want).abs() <= 1e-9 * want.abs().max(1.0),
        "{name}: generator differs from the fixture's (sum {sum} vs {want})"
    );
    Tensor::from_slice(&v).view(shape.as_slice())
}

struct Fixture {
    meta: serde_json::Value,
    expected: HashMap<String, Tensor>,
}

fn load() -> Fixture {
    let text = std::fs::read_to_string(fixture("weights.json")).unwrap();
    let expected = Tensor::read_safetensors(fixture("expected.safetensors"))
        .unwrap()
        .into_iter()
        .collect();
    Fixture {
        meta: serde_json::from_str(&text).unwrap(),
        expected,
    }
}

impl Fixture {
    fn want(&self, key: &str) -> &Tensor {
        self.expected
            .get(key)
            .unwrap_or_else(|| panic!("fixture lacks {key}"))
    }

    /// The model with the fixture's weights, in `kind`; also checks names and shapes 1:1.
    fn model(&self, kind: Kind) -> (nn::VarStore, DidModel) {
        let mut vs = nn::VarStore::new(Device::Cpu);
        let cfg = ModelConfig {
            backbone: BackboneKind::ResnetTiny,
            variant: Variant::Did,
            size: self.meta["size"].as_i64().unwrap(),
            reduction: 16,
            dropout: self.meta["dropout"].as_f64().unwrap(),
            freeze_backbone: false,
            frozen_blocks: 0,
            t_arch: crossdf::did::MiArch::Paper,
        };
        let model =
            DidModel::new(&vs.root(), &cfg, self.meta["num_domains"].as_i64().unwrap()).unwrap();
        vs.set_kind(kind);
        let vars = vs.variables();
        let specs = self.meta["weights"].as_array().unwrap();
        let mut ours: Vec<_> = vars.keys().cloned().collect();
        let mut theirs: Vec<_> = specs
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect();
        ours.sort();
        theirs.sort();
        assert_eq!(
            ours, theirs,
            "crossdf's parameter names differ from PyTorch's"
        );
        let _g = tch::no_grad_guard();
        for s in specs {
            let name = s["name"].as_str().unwrap();
            let t = generated(s);
            let mut v = vars[name].shallow_clone();
            assert_eq!(v.size(), t.size(), "{name}: shape");
            v.copy_(&t);
        }
        (vs, model)
    }

    fn input(&self, kind: Kind) -> (Tensor, Tensor, Tensor) {
        let x = generated(&self.meta["input"]).to_kind(kind);
        let labels: Vec<f64> = serde_json::from_value(self.meta["labels"].clone()).unwrap();
        let doms: Vec<i64> = serde_json::from_value(self.meta["domains"].clone()).unwrap();
        (
            x,
            Tensor::from_slice(&labels).to_kind(kind),
            Tensor::from_slice(&doms),
        )
    }

    fn loss_config(&self) -> LossConfig {
        serde_json::from_value(self.meta["loss"].clone()).unwrap()
    }
}

/// max |got - want| <= rtol * max |want| + atol, with the worst element in the message.
fn close(what: &str, got: &Tensor, want: &Tensor, rtol: f64, atol: f64) {
    let got = got.to_kind(Kind::Double).reshape([-1]);
    let want = want.to_kind(Kind::Double).reshape([-1]);
    assert_eq!(got.size(), want.size(), "{what}: size");
    let err = (&got - &want).abs().max().double_value(&[]);
    let scale = want.abs().max().double_value(&[]);
    assert!(
        err <= rtol * scale + atol,
        "{what}: max error {err:.3e} vs scale {scale:.3e} (rtol {rtol:e})"
    );
}

fn scalar(v: f64) -> Tensor {
    Tensor::from_slice(&[v])
}

#[test]
fn did_matches_pytorch_in_float64() {
    let f = load();
    let (vs, model) = f.model(Kind::Double);
    let (x, labels, doms) = f.input(Kind::Double);
    let beta = f.meta["beta"].as_f64().unwrap();
    let (rtol, atol) = (1e-9, 1e-13);

    close("score", &model.score(&x), f.want("score"), rtol, atol);

    let out = model.forward_t(&x, true, beta);
    close("logit", &out.logit, f.want("out.logit"), rtol, atol);
    let pairs = [
        ("m_df", &out.m_df),
        ("m_dom", &out.m_dom),
        ("domain_logits", &out.domain_logits),
        ("t_joint", &out.t_joint),
        ("t_marg", &out.t_marg),
    ];
    for (k, t) in pairs {
        close(
            k,
            t.as_ref().unwrap(),
            f.want(&format!("out.{k}")),
            rtol,
            atol,
        );
    }
    let vars = vs.variables();
    for k in [
        "backbone.bn1.running_mean",
        "backbone.layer4.0.bn2.running_var",
    ] {
        close(k, &vars[k], f.want(&format!("bn_after.{k}")), rtol, atol);
    }

    let cfg = f.loss_config();
    let terms = did_loss(&out, &labels, &doms, Variant::Did, &cfg);
    for (k, v) in [
        ("bce", terms.bce),
        ("auc", terms.auc),
        ("cls", terms.cls),
        ("dom", terms.dom.unwrap()),
        ("mi", terms.mi.unwrap()),
    ] {
        close(k, &scalar(v), f.want(&format!("loss.{k}")), rtol, atol);
    }
    close("total", &terms.total, f.want("loss.total"), rtol, atol);

    // L_dec alone, then the total: same graph.
    let names_of = |prefix: &str| -> Vec<String> {
        f.expected
            .keys()
            .filter_map(|k| k.strip_prefix(prefix).map(str::to_string))
            .collect()
    };
    let dec_names = names_of("grad_dec.");
    assert!(dec_names.iter().any(|n| n.starts_with("t.")));
    assert!(dec_names.iter().any(|n| n.starts_with("a_df.")));
    assert!(dec_names.iter().any(|n| n.starts_with("backbone.")));
    let dec =
        -jsd_bound(out.t_joint.as_ref().unwrap(), out.t_marg.as_ref().unwrap()) * cfg.lambda_dec;
    let dec_vars: Vec<&Tensor> = dec_names.iter().map(|n| &vars[n]).collect();
    let g_dec = Tensor::run_backward(&[&dec], &dec_vars, true, false);
    for (n, g) in dec_names.iter().zip(&g_dec) {
        close(
            &format!("grad of L_dec wrt {n}"),
            g,
            f.want(&format!("grad_dec.{n}")),
            rtol,
            atol,
        );
        // The GRL sits between (I_df, I_os) and T: T's own gradient is the plain one (it
        // ascends the bound), everything before T gets -beta times the plain gradient.
        let plain = f.want(&format!("grad_dec_plain.{n}"));
        let sign = if n.starts_with("t.") { 1.0 } else { -beta };
        close(&format!("GRL on {n}"), g, &(plain * sign), rtol, atol);
        assert!(
            plain.abs().max().double_value(&[]) > 0.0,
            "{n}: zero gradient"
        );
    }

    terms.total.backward();
    let grad_names = names_of("grad.");
    for part in ["backbone.", "a_df.", "a_dom.", "t.", "c.", "c_bar."] {
        assert!(grad_names.iter().any(|n| n.starts_with(part)), "{part}");
    }
    for n in &grad_names {
        close(
            &format!("grad of L wrt {n}"),
            &vars[n].grad(),
            f.want(&format!("grad.{n}")),
            rtol,
            atol,
        );
    }
}

/// The trainer runs in float32: the same numbers within float32 rounding.
#[test]
fn did_matches_pytorch_in_float32() {
    let f = load();
    let (vs, model) = f.model(Kind::Float);
    let (x, labels, doms) = f.input(Kind::Float);
    let beta = f.meta["beta"].as_f64().unwrap();
    let (rtol, atol) = (1e-4, 1e-7);
    close("score", &model.score(&x), f.want("score"), rtol, atol);
    let out = model.forward_t(&x, true, beta);
    close("logit", &out.logit, f.want("out.logit"), rtol, atol);
    let t_joint = out.t_joint.as_ref().unwrap();
    close("t_joint", t_joint, f.want("out.t_joint"), rtol, atol);
    let terms = did_loss(&out, &labels, &doms, Variant::Did, &f.loss_config());
    close("total", &terms.total, f.want("loss.total"), rtol, atol);
    close(
        "mi",
        &scalar(terms.mi.unwrap()),
        f.want("loss.mi"),
        rtol,
        atol,
    );
    terms.total.backward();
    let vars = vs.variables();
    for n in [
        "backbone.conv1.weight",
        "a_df.channel_conv2.weight",
        "t.fc.weight",
    ] {
        close(
            &format!("grad of L wrt {n}"),
            &vars[n].grad(),
            f.want(&format!("grad.{n}")),
            1e-3,
            1e-8,
        );
    }
}
