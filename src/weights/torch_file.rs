//! `torch.save` files in both layouts: the zip archive of PyTorch >= 1.6 and the legacy
//! stream of pickles that libtorch cannot read (the registry's weight files are legacy).
//!
//! Either way the main pickle describes each tensor as a view (offset, size, stride) of a
//! typed storage named by a persistent id; the storages' bytes live in zip members
//! (`<prefix>/data/<key>`) or, in the legacy layout, after the pickles, each as a
//! little-endian u64 element count followed by the raw elements.
use super::pickle::{self, Object, PickleError, Value};
use crate::error::{Error, Result};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// The first pickle of a legacy file: 0x1950a86a20f9469cfc6c, little-endian.
const LEGACY_MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const LEGACY_PROTOCOL: i64 = 1001;
/// Bounds the walk through nested dicts (a hostile pickle can share one dict many times).
const MAX_ENTRIES: usize = 10_000_000;

/// Element type and size of a torch storage class (`torch.FloatStorage`, ...).
pub(crate) fn storage_kind(class: &str) -> Option<(Kind, usize)> {
    Some(match class {
        "FloatStorage" => (Kind::Float, 4),
        "DoubleStorage" => (Kind::Double, 8),
        "HalfStorage" => (Kind::Half, 2),
        "BFloat16Storage" => (Kind::BFloat16, 2),
        "LongStorage" => (Kind::Int64, 8),
        "IntStorage" => (Kind::Int, 4),
        "ShortStorage" => (Kind::Int16, 2),
        "CharStorage" => (Kind::Int8, 1),
        "ByteStorage" | "UntypedStorage" => (Kind::Uint8, 1),
        "BoolStorage" => (Kind::Bool, 1),
        _ => return None,
    })
}

/// A storage as a persistent id names it.
#[derive(Debug, Clone)]
struct StorageRef {
    key: String,
    kind: Kind,
    elem: usize,
    /// Legacy storage views (pre-0.4 files) start this many elements into their root.
    view_offset: i64,
}

/// A tensor as the pickle describes it.
#[derive(Debug, Clone)]
struct TensorSpec {
    storage: StorageRef,
    offset: i64,
    size: Vec<i64>,
    stride: Vec<i64>,
}

fn bad(path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::invalid(format!("{}: {msg}", path.display()))
}

fn pickle_err(path: &Path, what: &str, e: PickleError) -> Error {
    bad(path, format!("{what}: {e}"))
}

/// Parses `('storage', torch.<T>Storage, key, location, numel[, view_metadata])`.
fn storage_ref(id: &Value) -> std::result::Result<StorageRef, String> {
    let items = id
        .items()
        .ok_or_else(|| format!("a persistent id is a {}, not a tuple", id.kind()))?;
    if items.first().and_then(Value::as_str) != Some("storage") || items.len() < 5 {
        return Err(format!(
            "unsupported persistent id ({} items, first {})",
            items.len(),
            items.first().map(Value::kind).unwrap_or_default()
        ));
    }
    let class = match items[1].as_global() {
        Some((_, name)) => name.to_string(),
        None => return Err(format!("storage type is a {}", items[1].kind())),
    };
    let (kind, elem) = storage_kind(&class).ok_or(format!("unsupported storage type {class}"))?;
    let key = match &items[2] {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        other => return Err(format!("storage key is a {}", other.kind())),
    };
    // Legacy views: (view_key, offset, view_size) into the root storage.
    let view_offset = match items.get(5).and_then(Value::items) {
        Some(v) if v.len() == 3 => v[1].as_int().ok_or("bad storage view offset")?,
        _ => 0,
    };
    Ok(StorageRef {
        key,
        kind,
        elem,
        view_offset,
    })
}

fn int_list(v: &Value, what: &str) -> std::result::Result<Vec<i64>, String> {
    let items = v
        .items()
        .ok_or_else(|| format!("{what} is a {}, not a tuple", v.kind()))?;
    items
        .iter()
        .map(|i| {
            i.as_int()
                .ok_or_else(|| format!("{what} holds a {}", i.kind()))
        })
        .collect()
}

/// `Some(spec)` when `v` rebuilds a tensor (or a Parameter), `None` for any other value.
fn tensor_spec(v: &Value) -> std::result::Result<Option<TensorSpec>, String> {
    let Value::Object(o) = v else {
        return Ok(None);
    };
    let o: &Object = &o.borrow();
    let Some((module, name)) = o.func.as_global() else {
        return Ok(None);
    };
    let args = &o.args;
    match (module, name) {
        ("torch._utils", "_rebuild_tensor" | "_rebuild_tensor_v2") => {
            if args.len() < 4 {
                return Err(format!("{name} with {} arguments", args.len()));
            }
            let Value::PersistentId(id) = &args[0] else {
                return Err(format!("{name}'s storage is a {}", args[0].kind()));
            };
            let storage = storage_ref(id)?;
            let offset = args[1].as_int().ok_or("storage offset is not an int")?;
            let size = int_list(&args[2], "size")?;
            let stride = int_list(&args[3], "stride")?;
            if size.len() != stride.len() {
                return Err(format!(
                    "size {size:?} and stride {stride:?} differ in rank"
                ));
            }
            Ok(Some(TensorSpec {
                storage,
                offset,
                size,
                stride,
            }))
        }
        ("torch._utils", "_rebuild_parameter" | "_rebuild_parameter_with_state") => {
            match args.first() {
                Some(data) => tensor_spec(data)?
                    .map(Some)
                    .ok_or_else(|| format!("a Parameter wraps a {}", data.kind())),
                None => Err("a Parameter without data".into()),
            }
        }
        // Tensor subclasses: (func, type, args, state) where func(*args) is the tensor.
        ("torch._tensor", "_rebuild_from_type_v2") => {
            if args.len() < 3 {
                return Err("_rebuild_from_type_v2 with too few arguments".into());
            }
            let inner = Value::Object(std::rc::Rc::new(std::cell::RefCell::new(Object {
                func: args[0].clone(),
                args: args[2].items().unwrap_or_default(),
                state: None,
            })));
            tensor_spec(&inner)
        }
        _ => Ok(None),
    }
}

fn dict_get(d: &[(Value, Value)], key: &str) -> Option<Value> {
    d.iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v.clone())
}

/// The tensors of a state dict, dotted names for nested dicts, in file order. A checkpoint
/// that nests the weights under `state_dict`, `model_state_dict` or `model` is unwrapped
/// first; non-tensor entries (`epoch`, `_metadata`, ...) are skipped.
fn state_dict(root: &Value) -> std::result::Result<Vec<(String, TensorSpec)>, String> {
    let mut v = root.clone();
    for _ in 0..8 {
        let Value::Dict(d) = &v else { break };
        let inner = ["state_dict", "model_state_dict", "model"]
            .iter()
            .find_map(|k| dict_get(&d.borrow(), k).filter(|i| matches!(i, Value::Dict(_))));
        match inner {
            Some(i) => v = i,
            None => break,
        }
    }
    let Value::Dict(_) = &v else {
        return Err(format!("the file holds a {}, not a state dict", v.kind()));
    };
    let mut out = Vec::new();
    let mut budget = MAX_ENTRIES;
    flatten(&v, "", &mut out, 0, &mut budget)?;
    if out.is_empty() {
        return Err("the file's dict holds no tensors".into());
    }
    Ok(out)
}

fn flatten(
    v: &Value,
    prefix: &str,
    out: &mut Vec<(String, TensorSpec)>,
    depth: usize,
    budget: &mut usize,
) -> std::result::Result<(), String> {
    let Value::Dict(d) = v else { return Ok(()) };
    if depth > 32 {
        return Err("dicts nested more than 32 deep".into());
    }
    for (k, item) in d.borrow().iter() {
        *budget = budget
            .checked_sub(1)
            .ok_or("more than 10 million dict entries")?;
        let key = match k {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            other => return Err(format!("a key under {prefix:?} is a {}", other.kind())),
        };
        let name = format!("{prefix}{key}");
        match tensor_spec(item).map_err(|e| format!("{name}: {e}"))? {
            Some(spec) => out.push((name, spec)),
            None => flatten(item, &format!("{name}."), out, depth + 1, budget)?,
        }
    }
    Ok(())
}

/// A 1-D tensor over a storage's bytes, in native byte order.
fn storage_tensor(bytes: &[u8], kind: Kind, elem: usize, little_endian: bool) -> Result<Tensor> {
    let n = bytes.len() / elem;
    let bytes = &bytes[..n * elem];
    let t = if little_endian == cfg!(target_endian = "little") {
        Tensor::f_from_data_size(bytes, &[n as i64], kind)?
    } else {
        let mut swapped = bytes.to_vec();
        swapped.chunks_exact_mut(elem).for_each(|c| c.reverse());
        Tensor::f_from_data_size(&swapped, &[n as i64], kind)?
    };
    Ok(t)
}

/// Materialises each spec as its own contiguous CPU tensor (views and shared storages are
/// copied out), after checking that it lies inside its storage.
fn build(
    path: &Path,
    specs: Vec<(String, TensorSpec)>,
    storages: &HashMap<String, Tensor>,
) -> Result<Vec<(String, Tensor)>> {
    let mut out = Vec::with_capacity(specs.len());
    for (name, s) in specs {
        let storage = storages.get(&s.storage.key).ok_or_else(|| {
            bad(
                path,
                format!(
                    "tensor {name}: storage {} is not in the file",
                    s.storage.key
                ),
            )
        })?;
        if storage.kind() != s.storage.kind {
            return Err(bad(
                path,
                format!(
                    "tensor {name}: storage {} is read as {:?} and {:?}",
                    s.storage.key,
                    storage.kind(),
                    s.storage.kind
                ),
            ));
        }
        let torch = |e: tch::TchError| bad(path, format!("tensor {name}: {e}"));
        let len = storage.size()[0];
        let offset = s.offset + s.storage.view_offset;
        let geometry_ok =
            offset >= 0 && s.size.iter().all(|&d| d >= 0) && s.stride.iter().all(|&d| d >= 0);
        if !geometry_ok {
            return Err(bad(
                path,
                format!(
                    "tensor {name}: negative size, stride or offset (size {:?}, stride {:?}, offset {offset})",
                    s.size, s.stride
                ),
            ));
        }
        let numel = s.size.iter().try_fold(1i64, |a, &d| a.checked_mul(d));
        let last = s
            .size
            .iter()
            .zip(&s.stride)
            .try_fold(offset, |a, (&d, &st)| {
                (d - 1)
                    .max(0)
                    .checked_mul(st)
                    .and_then(|x| x.checked_add(a))
            });
        let (Some(numel), Some(last)) = (numel, last) else {
            return Err(bad(
                path,
                format!("tensor {name}: size {:?} overflows", s.size),
            ));
        };
        let t = if numel == 0 {
            Tensor::f_empty(s.size.as_slice(), (s.storage.kind, Device::Cpu)).map_err(torch)?
        } else {
            if last >= len {
                return Err(bad(
                    path,
                    format!(
                        "tensor {name}: reaches element {last} of storage {}, which holds {len} \
                         (truncated or corrupt file)",
                        s.storage.key
                    ),
                ));
            }
            let view = storage
                .f_as_strided(s.size.as_slice(), s.stride.as_slice(), Some(offset))
                .map_err(torch)?;
            let mut t =
                Tensor::f_empty(s.size.as_slice(), (s.storage.kind, Device::Cpu)).map_err(torch)?;
            t.f_copy_(&view).map_err(torch)?;
            t
        };
        out.push((name, t));
    }
    Ok(out)
}

/// True when `data` starts like a legacy file (a protocol-2 pickle of the magic number).
pub(crate) fn is_legacy(data: &[u8]) -> bool {
    data.len() >= 2 && data[0] == 0x80 && (2..=5).contains(&data[1])
}

/// Reads a legacy (pre-1.6) `torch.save` file held in `data`.
pub(crate) fn read_legacy(path: &Path, data: &[u8]) -> Result<Vec<(String, Tensor)>> {
    let magic = pickle::load(data, 0).map_err(|e| pickle_err(path, "magic number", e))?;
    let magic_ok = match &magic.value {
        Value::BigInt(b) => b.as_slice() == LEGACY_MAGIC,
        _ => false,
    };
    if !magic_ok {
        return Err(bad(
            path,
            format!(
                "a pickle, but not a torch.save file (starts with a {}, not torch's magic number)",
                magic.value.kind()
            ),
        ));
    }
    let proto = pickle::load(data, magic.end).map_err(|e| pickle_err(path, "protocol", e))?;
    if proto.value.as_int() != Some(LEGACY_PROTOCOL) {
        return Err(bad(
            path,
            format!("unsupported legacy protocol {:?}", proto.value),
        ));
    }
    let info = pickle::load(data, proto.end).map_err(|e| pickle_err(path, "system info", e))?;
    let little_endian = match &info.value {
        Value::Dict(d) => !matches!(
            dict_get(&d.borrow(), "little_endian"),
            Some(Value::Bool(false))
        ),
        _ => true,
    };
    let main = pickle::load(data, info.end).map_err(|e| pickle_err(path, "main pickle", e))?;
    let specs = state_dict(&main.value).map_err(|e| bad(path, e))?;
    let keys = pickle::load(data, main.end).map_err(|e| pickle_err(path, "storage key list", e))?;
    let keys = keys
        .value
        .items()
        .ok_or_else(|| bad(path, "the storage key list is not a list"))
        .map(|k| (k, keys.end))?;
    let (keys, mut pos) = keys;
    // Every storage in the file, used or not, to step over those we skip.
    let mut kinds: HashMap<String, (Kind, usize)> = HashMap::new();
    for id in &main.persistent_ids {
        // Whole pickled modules also record their source code ('module', ...): not data.
        let items = id.items().unwrap_or_default();
        if items.first().and_then(Value::as_str) == Some("module") {
            continue;
        }
        let r = storage_ref(id).map_err(|e| bad(path, e))?;
        kinds.insert(r.key, (r.kind, r.elem));
    }
    let first_user = |key: &str| {
        specs
            .iter()
            .find(|(_, s)| s.storage.key == key)
            .map(|(n, _)| format!(" (first used by tensor {n})"))
            .unwrap_or_default()
    };
    let mut storages = HashMap::new();
    for key in keys {
        let key = match key {
            Value::Str(s) => s,
            Value::Int(i) => i.to_string(),
            other => return Err(bad(path, format!("a storage key is a {}", other.kind()))),
        };
        let (kind, elem) = *kinds.get(&key).ok_or_else(|| {
            bad(
                path,
                format!("storage {key} is listed but no tensor refers to it"),
            )
        })?;
        let truncated = |what: &str, at: usize| {
            bad(
                path,
                format!(
                    "truncated at byte {at} in {what} of storage {key}{}; the file has {} bytes",
                    first_user(&key),
                    data.len()
                ),
            )
        };
        let count = data
            .get(pos..pos + 8)
            .ok_or_else(|| truncated("the element count", pos))?;
        let count = u64::from_le_bytes(count.try_into().unwrap_or_default());
        let start = pos + 8;
        let end = (count as u128) * (elem as u128) + start as u128;
        if end > data.len() as u128 {
            return Err(truncated(
                &format!("the data ({count} elements from byte {start})"),
                data.len(),
            ));
        }
        let end = end as usize;
        storages.insert(
            key.clone(),
            storage_tensor(&data[start..end], kind, elem, little_endian)?,
        );
        pos = end;
    }
    build(path, specs, &storages)
}

/// Reads a zip-format (PyTorch >= 1.6) `torch.save` file.
pub(crate) fn read_zip(path: &Path, file: std::fs::File) -> Result<Vec<(String, Tensor)>> {
    let zip_err = |e: zip::result::ZipError| bad(path, format!("broken zip archive: {e}"));
    let mut zip = zip::ZipArchive::new(file).map_err(zip_err)?;
    let pkl = zip
        .file_names()
        .filter(|n| n.ends_with("data.pkl"))
        .min_by_key(|n| n.len())
        .map(str::to_string)
        .ok_or_else(|| {
            bad(
                path,
                "a zip archive without data.pkl: not a torch.save file",
            )
        })?;
    let prefix = pkl.trim_end_matches("data.pkl").to_string();
    let mut read = |name: &str| -> Result<Option<Vec<u8>>> {
        let mut entry = match zip.by_name(name) {
            Ok(e) => e,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(zip_err(e)),
        };
        let mut buf = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut buf)
            .map_err(|e| bad(path, format!("{name}: {e}")))?;
        Ok(Some(buf))
    };
    let data = read(&pkl)?.unwrap_or_default();
    let little_endian = match read(&format!("{prefix}byteorder"))? {
        Some(b) => b.trim_ascii() != b"big",
        None => true,
    };
    let main = pickle::load(&data, 0).map_err(|e| pickle_err(path, &pkl, e))?;
    let specs = state_dict(&main.value).map_err(|e| bad(path, e))?;
    let mut storages = HashMap::new();
    let mut seen = HashSet::new();
    for (name, s) in &specs {
        if !seen.insert(s.storage.key.clone()) {
            continue;
        }
        let member = format!("{prefix}data/{}", s.storage.key);
        let bytes = read(&member)?.ok_or_else(|| {
            bad(
                path,
                format!("tensor {name}: storage member {member} is missing"),
            )
        })?;
        let t = storage_tensor(&bytes, s.storage.kind, s.storage.elem, little_endian)?;
        storages.insert(s.storage.key.clone(), t);
    }
    build(path, specs, &storages)
}
