//! Pretrained weights for a backbone: strict loading of a state dict (registry or a file the
//! user downloaded, e.g. torchvision's `resnet50` or `efficientnet_v2_l`), and the ImageNet
//! check that it loaded right.
use super::imagenet::{self, Prediction};
use super::{Backbone, BackboneKind, Family};
use crate::error::{Error, Result};
use crate::weights::{self, LoadOptions, LoadReport};
use std::path::{Path, PathBuf};
use tch::{nn, Device};

impl BackboneKind {
    /// Prefix of the ImageNet classifier's tensors in the reference state dict.
    pub fn head_prefix(self) -> &'static str {
        match self.family() {
            Family::ResNet => "fc.",
            Family::EfficientNetV2 | Family::MobileNetV2 => "classifier.",
            Family::EfficientNetLite => "_fc.",
        }
    }
}

/// A registry name (`crossdf weights list`) or a path to a weight file, and the backbone it
/// fits: a registry entry says which; a file needs `backbone`.
pub fn resolve(
    name_or_path: &str,
    backbone: Option<BackboneKind>,
) -> Result<(PathBuf, BackboneKind)> {
    let path = Path::new(name_or_path);
    if path.is_file() {
        let kind = backbone.ok_or_else(|| {
            Error::invalid(format!(
                "{name_or_path}: a weight file needs --backbone (the registry names carry theirs)"
            ))
        })?;
        return Ok((path.to_path_buf(), kind));
    }
    let entry = weights::registry::entry(name_or_path).map_err(|e| {
        Error::invalid(format!(
            "{name_or_path} is neither a file nor a registry name: {e}"
        ))
    })?;
    let fits: BackboneKind = entry.fits.parse().map_err(|_| {
        Error::invalid(format!(
            "registry weights {name_or_path} fit {}, which is not a backbone",
            entry.fits
        ))
    })?;
    if let Some(b) = backbone.filter(|b| *b != fits) {
        return Err(Error::invalid(format!(
            "registry weights {name_or_path} fit {fits}, not {b}"
        )));
    }
    Ok((weights::fetch(name_or_path)?, fits))
}

/// Loads `file` into the backbone `kind` built in `vs` under `prefix` (`""` for a bare
/// backbone, `"backbone."` inside DID): every backbone tensor must be in the file with its
/// shape, the file's classifier head is ignored, and nothing else may be left over.
/// Variables of `vs` outside `prefix` are not touched.
pub fn load_backbone(
    vs: &mut nn::VarStore,
    prefix: &str,
    kind: BackboneKind,
    file: &Path,
) -> Result<LoadReport> {
    let tensors = weights::read_tensors(file)?;
    // Strict against the backbone alone, in a store of its own; then copied over.
    let mut own = nn::VarStore::new(Device::Cpu);
    let _b = Backbone::build(&own.root(), kind);
    let opts = LoadOptions::default().ignore_prefix(kind.head_prefix());
    let report = weights::load_into(&mut own, &tensors, file, &opts)?;
    let mut dst = vs.variables();
    tch::no_grad(|| -> Result<()> {
        for (name, src) in own.variables() {
            let full = format!("{prefix}{name}");
            let d = dst.get_mut(&full).ok_or_else(|| {
                Error::invalid(format!(
                    "the model has no variable {full}: is it built with backbone {kind}?"
                ))
            })?;
            if d.size() != src.size() {
                return Err(Error::invalid(format!(
                    "{full}: the model's shape {:?} differs from backbone {kind}'s {:?}",
                    d.size(),
                    src.size()
                )));
            }
            d.f_copy_(&src)?;
        }
        Ok(())
    })?;
    Ok(report)
}

/// The ImageNet top-`k` of an image (gray, centre square, as DID sees it) with weights
/// `file` in backbone `kind` and its classifier head, which the file must hold.
pub fn check(kind: BackboneKind, file: &Path, image: &Path, k: usize) -> Result<Vec<Prediction>> {
    let mut vs = nn::VarStore::new(Device::Cpu);
    let b = Backbone::build_classifier(&vs.root(), kind, imagenet::class_names().len() as i64);
    weights::load_file(&mut vs, file, &LoadOptions::default())?;
    let x = b.normalise(&imagenet::load_input(image, 224)?);
    let logits = tch::no_grad(|| b.logits(&x, false))?;
    imagenet::top_k(&logits, k)
}

#[cfg(test)]
#[path = "pretrained_tests.rs"]
mod tests;
