//! A trained detector: a checkpoint loaded into a model with the config it was trained
//! under. Scoring itself lives in [`crate::score`], below training, which validates with it.
use crate::did::DidModel;
use crate::error::{Error, Result};
use crate::train::checkpoint::{self, CheckpointMeta};
use crate::train::config::TrainConfig;
use std::path::{Path, PathBuf};
use tch::{nn, Device};

pub struct Detector {
    pub vs: nn::VarStore,
    pub model: DidModel,
    pub meta: CheckpointMeta,
    pub config: TrainConfig,
    pub path: PathBuf,
}

impl Detector {
    /// Loads a checkpoint file, or a run folder's `best.safetensors` (else `last`).
    pub fn load(path: &Path, device: Device) -> Result<Self> {
        let file = if path.is_dir() {
            let best = path.join("best.safetensors");
            if best.exists() {
                best
            } else {
                path.join("last.safetensors")
            }
        } else {
            path.to_path_buf()
        };
        let ck = checkpoint::load(&file)?;
        let config: TrainConfig = serde_json::from_value(ck.meta.config.clone())
            .map_err(|e| Error::json(format!("{}: bad config in checkpoint", file.display()), e))?;
        let mut vs = nn::VarStore::new(device);
        let model = DidModel::new(&vs.root(), &config.model, ck.meta.domains.len() as i64)?;
        checkpoint::restore_vars(&vs, &ck.tensors, &file)?;
        vs.freeze();
        Ok(Detector {
            vs,
            model,
            meta: ck.meta,
            config,
            path: file,
        })
    }

    /// How this checkpoint was chosen, for every printed metric.
    /// The run folder and file (`did-seed0/best.safetensors`): what a server shows its
    /// visitors instead of the path.
    pub fn name(&self) -> String {
        let part = |p: Option<&Path>| {
            p.and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
        };
        match (part(self.path.parent()), part(Some(&self.path))) {
            (Some(run), Some(file)) => format!("{run}/{file}"),
            (_, file) => file.unwrap_or_default(),
        }
    }

    pub fn checkpoint_rule(&self) -> String {
        let name = self.path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if name == "best" {
            format!("best(val frame AUC, epoch {})", self.meta.epoch)
        } else {
            format!("{name}(epoch {}, step {})", self.meta.epoch, self.meta.step)
        }
    }
}
