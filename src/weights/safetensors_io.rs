//! `.safetensors` reading and atomic writing. The format has no tensor order of its own, so
//! the writer keeps the order it was given in the header's metadata (`crossdf.order`) and
//! the reader restores it (files from elsewhere come back in data-offset order).
use crate::error::{Error, Result};
use safetensors::tensor::{Dtype, SafeTensors, View};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use tch::{Device, Kind, Tensor};

const ORDER_KEY: &str = "crossdf.order";

fn bad(path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::invalid(format!("{}: {msg}", path.display()))
}

fn kind_of(dtype: Dtype) -> Option<Kind> {
    Some(match dtype {
        Dtype::BOOL => Kind::Bool,
        Dtype::U8 => Kind::Uint8,
        Dtype::I8 => Kind::Int8,
        Dtype::I16 => Kind::Int16,
        Dtype::I32 => Kind::Int,
        Dtype::I64 => Kind::Int64,
        Dtype::F16 => Kind::Half,
        Dtype::BF16 => Kind::BFloat16,
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
        _ => return None,
    })
}

fn dtype_of(kind: Kind) -> Option<Dtype> {
    Some(match kind {
        Kind::Bool => Dtype::BOOL,
        Kind::Uint8 => Dtype::U8,
        Kind::Int8 => Dtype::I8,
        Kind::Int16 => Dtype::I16,
        Kind::Int => Dtype::I32,
        Kind::Int64 => Dtype::I64,
        Kind::Half => Dtype::F16,
        Kind::BFloat16 => Dtype::BF16,
        Kind::Float => Dtype::F32,
        Kind::Double => Dtype::F64,
        _ => return None,
    })
}

/// True when `head` (a file's first bytes) starts like a safetensors header: a
/// little-endian u64 length, then `{`.
pub(crate) fn is_safetensors(head: &[u8]) -> bool {
    head.len() >= 9
        && head[8] == b'{'
        && u64::from_le_bytes(head[..8].try_into().unwrap_or_default()) >= 2
}

/// Reads every tensor of a safetensors file held in `data` onto the CPU.
pub(crate) fn read(path: &Path, data: &[u8]) -> Result<Vec<(String, Tensor)>> {
    let st = SafeTensors::deserialize(data).map_err(|e| bad(path, format!("safetensors: {e}")))?;
    let (_, meta) = SafeTensors::read_metadata(data).map_err(|e| bad(path, e))?;
    let mut names: Vec<String> = meta.offset_keys();
    let kept_order: Option<Vec<String>> = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get(ORDER_KEY))
        .and_then(|o| serde_json::from_str(o).ok());
    if let Some(order) = kept_order {
        let mut a = order.clone();
        let mut b = names.clone();
        a.sort();
        b.sort();
        if a == b {
            names = order;
        }
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let view = st
            .tensor(&name)
            .map_err(|e| bad(path, format!("{name}: {e}")))?;
        let kind = kind_of(view.dtype()).ok_or_else(|| {
            bad(
                path,
                format!("{name}: unsupported dtype {:?}", view.dtype()),
            )
        })?;
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let t = Tensor::f_from_data_size(view.data(), &shape, kind)
            .map_err(|e| bad(path, format!("{name}: {e}")))?;
        out.push((name, t));
    }
    Ok(out)
}

/// One tensor prepared for the writer: a contiguous CPU copy and its bytes.
struct Prepared {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &Prepared {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

fn prepare(name: &str, t: &Tensor) -> std::result::Result<Prepared, String> {
    let kind = t.f_kind().map_err(|e| e.to_string())?;
    let dtype = dtype_of(kind).ok_or_else(|| format!("{name}: unsupported kind {kind:?}"))?;
    let t = t
        .f_to_device(Device::Cpu)
        .and_then(|t| t.f_contiguous())
        .map_err(|e| format!("{name}: {e}"))?;
    let numel = t.numel();
    let mut bytes = vec![0u8; numel * kind.elt_size_in_bytes()];
    t.f_copy_data_u8(&mut bytes, numel)
        .map_err(|e| format!("{name}: {e}"))?;
    Ok(Prepared {
        dtype,
        shape: t.size().iter().map(|&d| d as usize).collect(),
        bytes,
    })
}

/// Writes `tensors` to `path` as safetensors, atomically (temp file + rename); the order is
/// kept in the header. Names must be unique.
pub fn write_safetensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let mut prepared = Vec::with_capacity(tensors.len());
    let mut seen = std::collections::HashSet::new();
    for (name, t) in tensors {
        if !seen.insert(name.as_str()) {
            return Err(bad(path, format!("tensor name {name} appears twice")));
        }
        prepared.push((name.as_str(), prepare(name, t).map_err(|e| bad(path, e))?));
    }
    let order: Vec<&str> = prepared.iter().map(|(n, _)| *n).collect();
    let mut meta = HashMap::new();
    meta.insert(
        ORDER_KEY.to_string(),
        serde_json::to_string(&order).unwrap_or_default(),
    );
    let bytes = safetensors::tensor::serialize(prepared.iter().map(|(n, p)| (*n, p)), Some(meta))
        .map_err(|e| bad(path, format!("safetensors: {e}")))?;
    crate::fsutil::write_atomic(path, &bytes)
}
