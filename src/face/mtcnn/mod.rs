//! MTCNN face detection (Zhang et al., 2016), a port of facenet-pytorch 2.6.0's detector: its
//! weights (`facenet_pytorch/data/{pnet,rnet,onet}.pt`) and its pipeline
//! (`models/utils/detect_face.py`): an image pyramid through P-Net, 24x24 crops through R-Net,
//! 48x48 crops through O-Net, with its thresholds, NMS, box calibration and `area` resampling,
//! so that both report the same faces.
mod boxes;
mod nets;
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

/// The three nets (each in its own [`nn::VarStore`], one per facenet weight file) and the
/// pipeline settings.
#[derive(Debug)]
pub struct Mtcnn {
    pnet: PNet,
    rnet: RNet,
    onet: ONet,
    config: MtcnnConfig,
    device: Device,
    _stores: [nn::VarStore; 3],
}

/// The weight files, by net, as facenet-pytorch names them.
pub const NETS: [&str; 3] = ["pnet", "rnet", "onet"];

impl Mtcnn {
    /// The nets with facenet-pytorch's weights, as `(name, tensor)` lists of its state dicts
    /// (P-, R-, O-Net). Every parameter must be present with its shape; extra names are errors.
    pub fn from_tensors(
        pnet: Vec<(String, Tensor)>,
        rnet: Vec<(String, Tensor)>,
        onet: Vec<(String, Tensor)>,
        device: Device,
    ) -> Result<Mtcnn> {
        let stores = [
            nn::VarStore::new(device),
            nn::VarStore::new(device),
            nn::VarStore::new(device),
        ];
        let (p, r, o) = (
            PNet::new(&stores[0].root()),
            RNet::new(&stores[1].root()),
            ONet::new(&stores[2].root()),
        );
        for ((store, tensors), net) in stores.iter().zip([pnet, rnet, onet]).zip(NETS) {
            fill(store, tensors, net)?;
        }
        Ok(Mtcnn {
            pnet: p,
            rnet: r,
            onet: o,
            config: MtcnnConfig::default(),
            device,
            _stores: stores,
        })
    }

    /// facenet-pytorch's weights, fetched and converted once into the cache.
    ///
    /// Interim, until `crate::weights::fetch("mtcnn")` lands: the folder named by
    /// `CROSSDF_MTCNN_DIR` holding the three converted files (see [`Mtcnn::from_dir`]).
    pub fn load(device: Device) -> Result<Mtcnn> {
        let dir = std::env::var_os("CROSSDF_MTCNN_DIR").ok_or_else(|| {
            Error::invalid("MTCNN weights: set CROSSDF_MTCNN_DIR to a folder with {pnet,rnet,onet}.safetensors")
        })?;
        Mtcnn::from_dir(Path::new(&dir), device)
    }

    /// Reads `pnet.safetensors`, `rnet.safetensors` and `onet.safetensors` from `dir` (the
    /// facenet state dicts converted once, see [`crate::weights`]).
    pub fn from_dir(dir: &Path, device: Device) -> Result<Mtcnn> {
        let read = |net: &str| {
            let path = dir.join(format!("{net}.safetensors"));
            if !path.is_file() {
                return Err(Error::invalid(format!(
                    "{}: missing MTCNN weight file",
                    path.display()
                )));
            }
            Tensor::read_safetensors(&path)
                .map_err(|e| Error::invalid(format!("{}: {e}", path.display())))
        };
        Mtcnn::from_tensors(read("pnet")?, read("rnet")?, read("onet")?, device)
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

/// Copies a state dict into a store, naming the net and each missing, extra or mis-shaped key.
fn fill(store: &nn::VarStore, tensors: Vec<(String, Tensor)>, net: &str) -> Result<()> {
    let mut vars = store.variables();
    let mut extra = Vec::new();
    let _guard = tch::no_grad_guard();
    for (name, t) in tensors {
        let Some(mut var) = vars.remove(&name) else {
            extra.push(name);
            continue;
        };
        if var.size() != t.size() {
            return Err(Error::invalid(format!(
                "MTCNN {net}: `{name}` has shape {:?}, the net needs {:?}",
                t.size(),
                var.size()
            )));
        }
        var.f_copy_(&t.to_kind(tch::Kind::Float))?;
    }
    if !vars.is_empty() || !extra.is_empty() {
        let mut missing: Vec<String> = vars.into_keys().collect();
        missing.sort();
        return Err(Error::invalid(format!(
            "MTCNN {net}: weights do not match facenet-pytorch's layout (missing {missing:?}, \
             unexpected {extra:?})"
        )));
    }
    Ok(())
}

#[cfg(test)]
#[path = "mtcnn_tests.rs"]
mod tests;
