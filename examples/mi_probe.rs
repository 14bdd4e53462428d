//! Why does the MI estimate sit at -2 ln 2? Runs the trainer's step (same model, loss,
//! optimizer, beta schedule, loader) on a manifest and writes one JSON line per logged step:
//! the JSD bound, T's outputs, and for each of T's tensors the loss gradient norm next to the
//! coupled weight-decay term `wd * |theta|` that Adam adds to it, plus every part's norms.
//!
//!     cargo run --example mi_probe -- MANIFEST CONFIG.toml OUT.jsonl [LOG_EVERY]
//!
//! CONFIG.toml is a `crossdf train` config (e.g. a demo run's config.toml); the run lasts
//! its `epochs * steps_per_epoch` steps and skips validation.
use crossdf::data::loader::{Sample, TrainLoader};
use crossdf::did::{loss::did_loss, DidModel};
use crossdf::manifest::{Manifest, Split};
use crossdf::train::{optim::Adam, schedule, trainer::domain_map, TrainConfig};
use std::collections::BTreeMap;
use std::io::Write;
use tch::{nn, Device, Kind, Tensor};

fn norm(t: &Tensor) -> f64 {
    t.square().sum(Kind::Double).double_value(&[])
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(
        args.len() >= 3,
        "usage: mi_probe MANIFEST CONFIG.toml OUT.jsonl [LOG_EVERY]"
    );
    let manifest = Manifest::read(&args[0])?;
    let cfg = TrainConfig::from_toml_file(args[1].as_ref())?;
    let log_every: usize = args.get(3).map_or(Ok(5), |s| s.parse())?;
    let mut out = std::fs::File::create(&args[2])?;

    let recs: Vec<_> = manifest.split(Split::Train).collect();
    let domains = domain_map(&recs, &cfg);
    let samples = recs
        .iter()
        .map(|r| Sample {
            path: manifest.resolve(r),
            label: r.label,
            domain: domains.iter().position(|d| *d == r.domain).unwrap_or(0),
        })
        .collect();
    let mut vs = nn::VarStore::new(Device::Cpu);
    tch::manual_seed(cfg.seed as i64);
    let model = DidModel::new(&vs.root(), &cfg.model, domains.len() as i64)?;
    vs.set_kind(Kind::Float);
    let vars = vs.variables();
    let mut opt = Adam::new(&vars, cfg.optim.clone());
    let t_wd = cfg.optim.t_weight_decay.unwrap_or(cfg.optim.weight_decay);
    let mut loader = TrainLoader::new(samples, &cfg.loader_config(&domains), 0)?;
    let total = cfg.total_steps();
    for step in 0..total {
        tch::manual_seed(cfg.seed.wrapping_add(step as u64) as i64);
        let batch = loader.next_batch()?;
        let beta = schedule::beta(step as f64 / total as f64);
        let o = model.forward_t(&batch.images, true, beta);
        let terms = did_loss(
            &o,
            &batch.labels,
            &batch.domains,
            cfg.model.variant,
            &cfg.loss,
        );
        opt.zero_grad();
        terms.total.backward();
        if step % log_every == 0 || step + 1 == total {
            // Per part: |grad of L| and |theta|; per T tensor also wd * |theta|.
            let mut parts: BTreeMap<String, [f64; 2]> = BTreeMap::new();
            let mut t_layers = serde_json::Map::new();
            for (name, v) in &vars {
                let g = v.grad();
                let gn = if g.defined() { norm(&g) } else { 0.0 };
                let e = parts
                    .entry(name.split('.').next().unwrap().to_string())
                    .or_default();
                e[0] += gn;
                e[1] += norm(v);
                if name.starts_with("t.") {
                    t_layers.insert(
                        name.clone(),
                        serde_json::json!({"grad": gn.sqrt(), "decay": t_wd * norm(v).sqrt(),
                                           "theta": norm(v).sqrt()}),
                    );
                }
            }
            let (tj, tm) = (o.t_joint.as_ref().unwrap(), o.t_marg.as_ref().unwrap());
            let stat = |t: &Tensor| [t.mean(Kind::Float), t.std(true)].map(|x| x.double_value(&[]));
            let line = serde_json::json!({
                "step": step + 1, "beta": beta, "mi": terms.mi, "bce": terms.bce,
                "dom": terms.dom, "t_joint": stat(tj), "t_marg": stat(tm),
                "parts": parts.iter().map(|(k, [g, w])| (k.clone(), serde_json::json!(
                    {"grad": g.sqrt(), "theta": w.sqrt()}))).collect::<serde_json::Map<_, _>>(),
                "t": t_layers,
            });
            writeln!(out, "{line}")?;
        }
        opt.step();
    }
    Ok(())
}
