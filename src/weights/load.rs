//! Strict loading of named tensors into a `VarStore`: every variable must be filled and
//! every file tensor used, with exceptions stated up front ([`LoadOptions`]), so a key
//! mismatch is an error naming the file and the tensor, never a silently random layer.
use crate::error::{Error, Result};
use std::collections::HashSet;
use std::path::Path;
use tch::{nn::VarStore, Tensor};

/// The exceptions to a one-to-one match between file and `VarStore` names.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `(file prefix, VarStore prefix)` rewrites, the first match wins: `("module.", "")`
    /// strips DataParallel's prefix, `("features.", "backbone.features.")` nests a torchvision
    /// backbone under the model.
    pub rename: Vec<(String, String)>,
    /// File tensors whose name (as in the file) starts with one of these are not loaded,
    /// e.g. `classifier.` when only the features are wanted.
    pub ignore: Vec<String>,
    /// `VarStore` variables whose name starts with one of these may be absent from the file
    /// and keep their initial values (e.g. DID's heads on an ImageNet backbone).
    pub allow_missing: Vec<String>,
}

impl LoadOptions {
    pub fn rename_prefix(mut self, from: &str, to: &str) -> Self {
        self.rename.push((from.into(), to.into()));
        self
    }
    pub fn ignore_prefix(mut self, prefix: &str) -> Self {
        self.ignore.push(prefix.into());
        self
    }
    pub fn allow_missing_prefix(mut self, prefix: &str) -> Self {
        self.allow_missing.push(prefix.into());
        self
    }

    fn map_name(&self, name: &str) -> String {
        for (from, to) in &self.rename {
            if let Some(rest) = name.strip_prefix(from.as_str()) {
                return format!("{to}{rest}");
            }
        }
        name.to_string()
    }
}

/// What a successful [`load_into`] did (names are `VarStore` names unless noted).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    pub loaded: Vec<String>,
    /// File names left out through [`LoadOptions::ignore`].
    pub ignored: Vec<String>,
    /// Variables absent from the file that [`LoadOptions::allow_missing`] let keep their values.
    pub missing_allowed: Vec<String>,
    /// File `*.num_batches_tracked` counters the model has no variable for (tch's BatchNorm
    /// keeps only `running_mean`/`running_var`).
    pub skipped_counters: Vec<String>,
}

fn shape(t: &Tensor) -> String {
    format!("{:?}", t.size())
}

fn list(names: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut s = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(" (+{} more)", names.len() - SHOWN));
    }
    s
}

/// Copies `tensors` (read from `file`, named for messages) into the variables of `vs`
/// (parameters and BatchNorm running statistics), converting dtype and device as needed.
/// Fails without changing anything when a variable is missing, a file tensor has no
/// variable, or shapes differ; the message names the file and the first bad tensor.
pub fn load_into(
    vs: &mut VarStore,
    tensors: &[(String, Tensor)],
    file: &Path,
    opts: &LoadOptions,
) -> Result<LoadReport> {
    let vars = vs.variables();
    let mut report = LoadReport::default();
    let mut pairs: Vec<(&Tensor, &Tensor)> = Vec::new();
    let mut used: HashSet<String> = HashSet::new();
    let mut unexpected = Vec::new();
    let mut misshaped = Vec::new();
    let mut first: Option<String> = None;
    let mut note_first = |msg: String| {
        first.get_or_insert(msg);
    };
    for (fname, t) in tensors {
        if opts.ignore.iter().any(|p| fname.starts_with(p.as_str())) {
            report.ignored.push(fname.clone());
            continue;
        }
        let vname = opts.map_name(fname);
        match vars.get(&vname) {
            Some(v) => {
                if !used.insert(vname.clone()) {
                    return Err(Error::invalid(format!(
                        "{}: two file tensors map to model variable {vname} (the last is {fname})",
                        file.display()
                    )));
                }
                if v.size() != t.size() {
                    note_first(format!(
                        "{vname} has shape {} in the file, {} in the model",
                        shape(t),
                        shape(v)
                    ));
                    misshaped.push(format!("{vname} (file {}, model {})", shape(t), shape(v)));
                } else {
                    report.loaded.push(vname);
                    pairs.push((v, t));
                }
            }
            None if fname.ends_with("num_batches_tracked") => {
                report.skipped_counters.push(fname.clone())
            }
            None => {
                let shown = if vname == *fname {
                    fname.clone()
                } else {
                    format!("{fname} (as {vname})")
                };
                note_first(format!("{shown} is in the file but not in the model"));
                unexpected.push(shown);
            }
        }
    }
    let mut missing = Vec::new();
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    for n in names {
        if used.contains(n) {
            continue;
        }
        if opts.allow_missing.iter().any(|p| n.starts_with(p.as_str())) {
            report.missing_allowed.push(n.clone());
        } else {
            missing.push(n.clone());
        }
    }
    if let Some(m) = missing.first() {
        note_first(format!("{m} is in the model but not in the file"));
    }
    if let Some(first) = first {
        let mut msg = format!(
            "{}: the weights do not fit the model ({} missing, {} unexpected, {} wrongly shaped); first: {first}",
            file.display(),
            missing.len(),
            unexpected.len(),
            misshaped.len()
        );
        for (what, names) in [
            ("wrongly shaped", &misshaped),
            ("unexpected", &unexpected),
            ("missing", &missing),
        ] {
            if !names.is_empty() {
                msg.push_str(&format!("\n  {what}: {}", list(names)));
            }
        }
        return Err(Error::invalid(msg));
    }
    tch::no_grad(|| -> Result<()> {
        for (v, t) in &pairs {
            let mut v = v.shallow_clone();
            v.f_copy_(t).map_err(|e| {
                Error::invalid(format!("{}: copying a tensor: {e}", file.display()))
            })?;
        }
        Ok(())
    })?;
    Ok(report)
}

/// [`super::read_tensors`] then [`load_into`]: fills `vs` from a `.pth`/`.pt`/`.safetensors`
/// file (a registry file from [`super::fetch`] or the user's own).
pub fn load_file(vs: &mut VarStore, path: &Path, opts: &LoadOptions) -> Result<LoadReport> {
    let tensors = super::read_tensors(path)?;
    load_into(vs, &tensors, path, opts)
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
