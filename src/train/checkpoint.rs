//! Checkpoints: one `.safetensors` file holding the weights (`model.<name>`), optionally the
//! optimizer moments (`optim.*`), and a JSON header (`crossdf` metadata key) with the run's
//! config, domain map, step and metrics. Written to a temp file and renamed into place.
use crate::error::{Error, Result};
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use tch::{Device, Kind, Tensor};

const META_KEY: &str = "crossdf";

/// What a checkpoint says about itself (stored as JSON in the safetensors header).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// The resolved training config (crate::train::TrainConfig as JSON).
    pub config: serde_json::Value,
    /// Domain names; index i is the model's domain i ("real" is 0).
    pub domains: Vec<String>,
    /// Optimizer steps done.
    pub step: i64,
    pub epoch: usize,
    /// Validation metrics of this checkpoint's epoch, when there was a validation split.
    pub val: Option<serde_json::Value>,
    /// Best validation frame AUC so far in the run (the `best` selection rule).
    pub best_val_auc: Option<f64>,
    pub crossdf_version: String,
}

fn dtype(kind: Kind) -> Result<(Dtype, usize)> {
    Ok(match kind {
        Kind::Float => (Dtype::F32, 4),
        Kind::Double => (Dtype::F64, 8),
        Kind::Int64 => (Dtype::I64, 8),
        Kind::Half => (Dtype::F16, 2),
        Kind::BFloat16 => (Dtype::BF16, 2),
        k => {
            return Err(Error::invalid(format!(
                "cannot store tensors of kind {k:?}"
            )))
        }
    })
}

fn kind(d: Dtype) -> Result<Kind> {
    Ok(match d {
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
        Dtype::I64 => Kind::Int64,
        Dtype::F16 => Kind::Half,
        Dtype::BF16 => Kind::BFloat16,
        d => return Err(Error::invalid(format!("unsupported tensor dtype {d:?}"))),
    })
}

/// Writes `tensors` and `meta` to `path` atomically.
pub fn save(path: &Path, tensors: &[(String, Tensor)], meta: &CheckpointMeta) -> Result<()> {
    let mut owned = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let t = t.to_device(Device::Cpu).contiguous();
        let (dt, size) = dtype(t.kind())?;
        let numel = t.numel();
        let mut bytes = vec![0u8; numel * size];
        t.f_copy_data_u8(&mut bytes, numel)?;
        let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
        owned.push((name.clone(), dt, shape, bytes));
    }
    let views: Vec<(String, TensorView)> = owned
        .iter()
        .map(|(n, dt, shape, bytes)| {
            TensorView::new(*dt, shape.clone(), bytes)
                .map(|v| (n.clone(), v))
                .map_err(|e| Error::safetensors(format!("tensor {n}"), e))
        })
        .collect::<Result<_>>()?;
    let header = HashMap::from([(
        META_KEY.to_string(),
        serde_json::to_string(meta).map_err(|e| Error::json("checkpoint metadata", e))?,
    )]);
    let bytes = safetensors::serialize(views, Some(header))
        .map_err(|e| Error::safetensors(path.display(), e))?;
    crate::fsutil::write_atomic(path, &bytes)
}

/// A loaded checkpoint: all tensors by name, and its metadata.
pub struct Checkpoint {
    pub tensors: HashMap<String, Tensor>,
    pub meta: CheckpointMeta,
}

pub fn load(path: &Path) -> Result<Checkpoint> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |msg: String| {
        Error::invalid(format!(
            "{}: not a crossdf checkpoint: {msg}",
            path.display()
        ))
    };
    let not_ours = || format!("{}: not a crossdf checkpoint", path.display());
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| Error::safetensors(not_ours(), e))?;
    let meta_json = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(META_KEY))
        .ok_or_else(|| bad(format!("no `{META_KEY}` metadata")))?;
    let meta: CheckpointMeta =
        serde_json::from_str(meta_json).map_err(|e| Error::json(not_ours(), e))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| Error::safetensors(not_ours(), e))?;
    let mut tensors = HashMap::new();
    for (name, view) in st.tensors() {
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let t = Tensor::f_from_data_size(view.data(), &shape, kind(view.dtype())?)?;
        tensors.insert(name, t);
    }
    Ok(Checkpoint { tensors, meta })
}

/// Copies `model.<name>` tensors into the variables of `vs`; every variable must be
/// present with its shape, and no model tensor may be left over.
pub fn restore_vars(
    vs: &tch::nn::VarStore,
    tensors: &HashMap<String, Tensor>,
    path: &Path,
) -> Result<()> {
    let vars = vs.variables();
    let _guard = tch::no_grad_guard();
    let mut missing = Vec::new();
    for (name, var) in &vars {
        match tensors.get(&format!("model.{name}")) {
            Some(src) if src.size() == var.size() => {
                var.shallow_clone().f_copy_(src)?;
            }
            Some(src) => {
                return Err(Error::invalid(format!(
                    "{}: tensor {name} has shape {:?}, the model expects {:?}",
                    path.display(),
                    src.size(),
                    var.size()
                )))
            }
            None => missing.push(name.clone()),
        }
    }
    let unexpected: Vec<_> = tensors
        .keys()
        .filter_map(|k| k.strip_prefix("model."))
        .filter(|k| !vars.contains_key(*k))
        .collect();
    if !missing.is_empty() || !unexpected.is_empty() {
        missing.sort();
        return Err(Error::invalid(format!(
            "{}: checkpoint does not fit the model (missing: {:?}, unexpected: {:?})",
            path.display(),
            missing,
            unexpected
        )));
    }
    Ok(())
}

/// `model.<name>` entries for every variable of `vs`.
pub fn model_tensors(vs: &tch::nn::VarStore) -> Vec<(String, Tensor)> {
    let mut v: Vec<_> = vs
        .variables()
        .into_iter()
        .map(|(k, t)| (format!("model.{k}"), t.detach()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn;

    fn meta() -> CheckpointMeta {
        CheckpointMeta {
            config: serde_json::json!({"a": 1}),
            domains: vec!["real".into(), "swap".into()],
            step: 42,
            epoch: 3,
            val: None,
            best_val_auc: Some(0.9),
            crossdf_version: "test".into(),
        }
    }

    #[test]
    fn round_trip_weights_and_meta() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("last.safetensors");
        let vs = nn::VarStore::new(Device::Cpu);
        let _ = vs.root().randn_standard("w", &[3, 4]);
        let _ = vs.root().zeros_no_train("n", &[2]);
        save(&p, &model_tensors(&vs), &meta()).unwrap();
        let ck = load(&p).unwrap();
        assert_eq!(ck.meta.step, 42);
        assert_eq!(ck.meta.domains, ["real", "swap"]);
        let vs2 = nn::VarStore::new(Device::Cpu);
        let w2 = vs2.root().zeros("w", &[3, 4]);
        let _ = vs2.root().zeros_no_train("n", &[2]);
        restore_vars(&vs2, &ck.tensors, &p).unwrap();
        assert!(w2.equal(&vs.variables()["w"]));
    }

    #[test]
    fn mismatched_model_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.safetensors");
        let vs = nn::VarStore::new(Device::Cpu);
        let _ = vs.root().randn_standard("w", &[3, 4]);
        save(&p, &model_tensors(&vs), &meta()).unwrap();
        let ck = load(&p).unwrap();
        let vs2 = nn::VarStore::new(Device::Cpu);
        let _ = vs2.root().zeros("w", &[4, 4]);
        let e = restore_vars(&vs2, &ck.tensors, &p).unwrap_err().to_string();
        assert!(e.contains("tensor w has shape [3, 4]"), "{e}");
    }

    #[test]
    fn truncated_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.safetensors");
        let vs = nn::VarStore::new(Device::Cpu);
        let _ = vs.root().randn_standard("w", &[30, 40]);
        save(&p, &model_tensors(&vs), &meta()).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
        assert!(load(&p).is_err());
    }
}
