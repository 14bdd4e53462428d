//! MTCNN face detection (Zhang et al., 2016), a port of facenet-pytorch 2.6.0's detector: its
//! weights (`facenet_pytorch/data/{pnet,rnet,onet}.pt`) and its pipeline
//! (`models/utils/detect_face.py`): an image pyramid through P-Net, 24x24 crops through R-Net,
//! 48x48 crops through O-Net, with its thresholds, NMS, box calibration and `area` resampling,
//! so that both report the same faces.
mod boxes;
mod nets;
mod pyramid;
mod stages;

pub use boxes::{Candidate, Overlap};
pub use nets::{ONet, ONetOut, PNet, PNetOut, RNet, RNetOut};

use crate::error::{Error, Result};
use crate::face::Detection;
use image::RgbImage;
use std::path::Path;
use tch::{nn, Device, Tensor};

/// facenet-pytorch's `MTCNN(...)` defaults.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MtcnnConfig {
    /// The smallest face searched for, in pixels: P-Net's 12-px window at the first scale.
    pub min_face_size: f64,
    /// Face-probability thresholds of P-, R- and O-Net.
    pub thresholds: [f32; 3],
    /// Scale ratio between neighbouring pyramid levels.
    pub factor: f64,
}

impl Default for MtcnnConfig {
    fn default() -> Self {
        MtcnnConfig {
            min_face_size: 20.0,
            thresholds: [0.6, 0.7, 0.7],
            factor: 0.709,
        }
    }
}

impl MtcnnConfig {
    fn check(&self) -> Result<()> {
        if !(self.min_face_size.is_finite() && self.min_face_size > 0.0) {
            return Err(Error::invalid(format!(
                "MTCNN min_face_size must be a positive number of pixels, got {}",
                self.min_face_size
            )));
        }
        if !(self.factor > 0.0 && self.factor < 1.0) {
            return Err(Error::invalid(format!(
                "MTCNN factor must lie in (0, 1), got {}",
                self.factor
            )));
        }
        if let Some(t) = self.thresholds.iter().find(|t| !(0.0..=1.0).contains(*t)) {
            return Err(Error::invalid(format!(
                "MTCNN thresholds must lie in [0, 1], got {t}"
            )));
        }
        Ok(())
    }
}

/// The three nets (one [`nn::VarStore`], sub-paths `pnet`, `rnet`, `onet` as in the weight
/// registry's converted file) and the pipeline settings.
#[derive(Debug)]
pub struct Mtcnn {
    pnet: PNet,
    rnet: RNet,
    onet: ONet,
    config: MtcnnConfig,
    device: Device,
    _store: nn::VarStore,
}

/// The weight registry's name for facenet-pytorch's three nets (`crossdf weights fetch mtcnn`).
pub const WEIGHTS: &str = "mtcnn";

impl Mtcnn {
    /// facenet-pytorch's weights: fetched from PyPI and converted once into the cache by
    /// [`crate::weights::fetch`], then loaded onto `device`.
    pub fn load(device: Device) -> Result<Mtcnn> {
        let path = crate::weights::fetch(WEIGHTS)?;
        Mtcnn::from_file(&path, device)
    }

    /// Reads a file holding the three state dicts under `pnet.`, `rnet.` and `onet.` (the
    /// registry's safetensors, or any layout [`crate::weights::read_tensors`] reads).
    pub fn from_file(path: &Path, device: Device) -> Result<Mtcnn> {
        let tensors = crate::weights::read_tensors(path)?;
        Mtcnn::from_tensors(&tensors, path, device)
    }

    /// The nets with the given `(name, tensor)` list (`pnet.conv1.weight`, ...); every
    /// parameter must be present with its shape, and extra names are errors naming `file`.
    pub fn from_tensors(
        tensors: &[(String, Tensor)],
        file: &Path,
        device: Device,
    ) -> Result<Mtcnn> {
        let mut store = nn::VarStore::new(device);
        let root = store.root();
        let (pnet, rnet, onet) = (
            PNet::new(&(&root / "pnet")),
            RNet::new(&(&root / "rnet")),
            ONet::new(&(&root / "onet")),
        );
        crate::weights::load_into(&mut store, tensors, file, &Default::default())?;
        Ok(Mtcnn {
            pnet,
            rnet,
            onet,
            config: MtcnnConfig::default(),
            device,
            _store: store,
        })
    }

    /// The same detector with other thresholds, pyramid factor or minimum face size.
    pub fn with_config(mut self, config: MtcnnConfig) -> Result<Mtcnn> {
        config.check()?;
        self.config = config;
        Ok(self)
    }

    pub fn config(&self) -> &MtcnnConfig {
        &self.config
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// The faces of one RGB image, largest box first (facenet's `MTCNN.detect` order with its
    /// default `select_largest=True`). Boxes may reach past the image border.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Detection>> {
        let mut all = self.detect_batch(std::slice::from_ref(img))?;
        Ok(all.pop().unwrap_or_default())
    }

    /// The faces of several equal-sized images (video frames) in one pass per pyramid level and
    /// stage; per image, the same as [`Mtcnn::detect`].
    pub fn detect_batch(&self, imgs: &[RgbImage]) -> Result<Vec<Vec<Detection>>> {
        let Some(first) = imgs.first() else {
            return Ok(Vec::new());
        };
        let dims = first.dimensions();
        if let Some((k, img)) = imgs
            .iter()
            .enumerate()
            .find(|(_, i)| i.dimensions() != dims)
        {
            return Err(Error::invalid(format!(
                "MTCNN batch: image {k} is {}x{}, image 0 is {}x{}; batches need equal sizes",
                img.width(),
                img.height(),
                dims.0,
                dims.1
            )));
        }
        let _guard = tch::no_grad_guard();
        stages::detect(self, imgs)
    }
}

#[cfg(test)]
#[path = "mtcnn_tests.rs"]
mod tests;
