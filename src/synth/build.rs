//! Builds the synthetic benchmark folder from real faces: identity-disjoint splits, jittered
//! real variants, one forgery domain per method, the manifest, contact sheets and a summary.
//!
//! Every image has its own RNG seeded from (seed, identity, domain, variant), so the result
//! does not depend on thread scheduling, on which methods are chosen, or on which images a
//! previous run already wrote (those are reused, never regenerated).
use crate::error::{Error, Result};
use crate::face::align::{align_or_crop, warp, Landmarks, Similarity};
use crate::fsutil::write_atomic;
use crate::manifest::{Manifest, Record, Split, REAL_DOMAIN};
use crate::synth::methods::{self, contact_sheet, Face, Forgery};
use crate::synth::photos::SourceFace;
use image::RgbImage;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Alignment jitter of every variant: rotation (degrees), relative scale and shift (fraction
/// of the crop), enough that variants of one face are not pixel copies.
const JITTER_ROT_DEG: f32 = 6.0;
const JITTER_SCALE: f32 = 0.06;
const JITTER_SHIFT: f32 = 0.03;

#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub seed: u64,
    /// Method names; empty means every method.
    pub methods: Vec<String>,
    /// Real variants per face, and fakes per face and method.
    pub per_face: usize,
    /// Crop side in pixels.
    pub size: u32,
    /// Alignment margin (see [`crate::face::align::template`]).
    pub margin: f32,
    /// Rows per contact sheet.
    pub sheet_rows: usize,
    /// Also forge the train split's faces. Off when training makes its fakes online from the
    /// real faces (the demo), which would never read them.
    pub train_fakes: bool,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            seed: 0,
            methods: Vec::new(),
            per_face: 4,
            size: 224,
            margin: crate::face::align::DEFAULT_MARGIN,
            sheet_rows: 8,
            train_fakes: true,
        }
    }
}

/// Counts of one split.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SplitCounts {
    pub identities: usize,
    pub real: usize,
    /// Fakes per method.
    pub fake: BTreeMap<String, usize>,
    pub images: usize,
}

/// What `synth.json` records: enough to tell whether a folder can be reused, and the counts.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SynthSummary {
    pub seed: u64,
    pub size: u32,
    pub margin: f32,
    pub per_face: usize,
    pub methods: Vec<String>,
    /// Where the real faces came from.
    pub faces: String,
    /// Faces aligned by the square box crop because their landmarks looked wrong.
    pub fallback_crops: usize,
    pub splits: BTreeMap<Split, SplitCounts>,
    /// The split of every face (by identity): images on disk, donors included, are only
    /// valid for the assignment they were made under.
    #[serde(default)]
    pub assignment: BTreeMap<String, Split>,
    /// Images written by this run / found from an earlier run (not part of the reuse check).
    #[serde(skip)]
    pub written: usize,
    #[serde(skip)]
    pub reused: usize,
}

impl std::fmt::Display for SynthSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:<6} {:>10} {:>6}", "split", "identities", "real")?;
        for m in &self.methods {
            write!(f, " {m:>w$}", w = m.len().max(6))?;
        }
        writeln!(f, " {:>7}", "images")?;
        for (split, c) in &self.splits {
            write!(f, "{split:<6} {:>10} {:>6}", c.identities, c.real)?;
            for m in &self.methods {
                let n = c.fake.get(m).copied().unwrap_or(0);
                write!(f, " {n:>w$}", w = m.len().max(6))?;
            }
            writeln!(f, " {:>7}", c.images)?;
        }
        Ok(())
    }
}

/// Assigns each person a split so that about 60/20/20 of the faces, not of the persons,
/// land in train/val/test, disjoint by construction: `faces` names each face's person. A
/// person filmed for 32 frames weighs 32 faces, so dealing persons in turn would leave one
/// split with a handful of faces. Persons are shuffled under `seed`, then placed largest
/// first, each into the split with the most room left below its share of all faces. With
/// few persons (or one that outweighs a share) a split can stay empty; `build` refuses that.
pub fn assign_splits<'a>(
    faces: impl IntoIterator<Item = &'a str>,
    seed: u64,
) -> BTreeMap<String, Split> {
    const SHARES: [(Split, f64); 3] = [(Split::Train, 0.6), (Split::Val, 0.2), (Split::Test, 0.2)];
    let mut weight: BTreeMap<&str, usize> = BTreeMap::new();
    for person in faces {
        *weight.entry(person).or_default() += 1;
    }
    let mut persons: Vec<&str> = weight.keys().copied().collect();
    persons.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    persons.sort_by_key(|p| std::cmp::Reverse(weight[p]));
    let total: usize = weight.values().sum();
    let mut load = [0usize; 3];
    let mut out = BTreeMap::new();
    for p in persons {
        let deficit = |k: usize| SHARES[k].1 * total as f64 - load[k] as f64;
        // The first of equal rooms wins: train, then val, then test.
        let k = (0..3).fold(
            0,
            |best, k| if deficit(k) > deficit(best) { k } else { best },
        );
        load[k] += weight[p];
        out.insert(p.to_string(), SHARES[k].0);
    }
    out
}

/// One face, aligned once (the base transform) and reused for every variant.
struct Prepared {
    identity: String,
    person: String,
    split: Split,
    photo: Arc<RgbImage>,
    /// Landmarks in photo pixels.
    landmarks: Landmarks,
    /// Photo pixels -> crop pixels.
    base: Similarity,
}

/// The RNG of one output image.
fn image_rng(seed: u64, identity: &str, domain: &str, variant: usize) -> ChaCha8Rng {
    let digest = Sha256::new()
        .chain_update(seed.to_le_bytes())
        .chain_update(identity.as_bytes())
        .chain_update([0])
        .chain_update(domain.as_bytes())
        .chain_update([0])
        .chain_update((variant as u64).to_le_bytes())
        .finalize();
    ChaCha8Rng::from_seed(digest.into())
}

/// A jittered (and maybe mirrored) crop of a prepared face.
fn variant(p: &Prepared, size: u32, rng: &mut ChaCha8Rng) -> Face {
    let theta = rng
        .random_range(-JITTER_ROT_DEG..=JITTER_ROT_DEG)
        .to_radians();
    let scale = 1.0 + rng.random_range(-JITTER_SCALE..=JITTER_SCALE);
    let shift = JITTER_SHIFT * size as f32;
    let (dx, dy) = (
        rng.random_range(-shift..=shift),
        rng.random_range(-shift..=shift),
    );
    let flip = rng.random_bool(0.5);
    // Rotate and scale about the crop centre, then shift.
    let c = size as f32 / 2.0;
    let spin = Similarity::new(scale, theta, 0.0, 0.0);
    let [cx, cy] = spin.apply([c, c]);
    let jitter = Similarity {
        tx: c - cx + dx,
        ty: c - cy + dy,
        ..spin
    };
    let t = jitter.compose(&p.base);
    let mut image = warp(&p.photo, &t, size);
    let mut landmarks = p.landmarks.map(|q| t.apply(q));
    if flip {
        image::imageops::flip_horizontal_in_place(&mut image);
        let w = size as f32 - 1.0;
        landmarks = landmarks.map(|[x, y]| [w - x, y]);
        // Keep the image-left-first order of the landmarks.
        landmarks.swap(0, 1);
        landmarks.swap(3, 4);
    }
    Face {
        image,
        landmarks,
        identity: p.identity.clone(),
    }
}

/// File stem of an identity: `#` and other awkward characters become `-`.
fn file_stem(identity: &str) -> String {
    identity
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
            _ => '-',
        })
        .collect()
}

/// Relative path of one output image.
pub fn image_path(domain: &str, identity: &str, variant: usize) -> PathBuf {
    PathBuf::from("images")
        .join(domain)
        .join(format!("{}_{variant}.png", file_stem(identity)))
}

/// One output image: a real variant (`method` None) or a fake.
struct Job<'a> {
    face: usize,
    method: Option<&'a dyn Forgery>,
    variant: usize,
}

/// Builds the benchmark into `out` (see the module comment) with no progress report.
pub fn build(faces: &[SourceFace], opts: &SynthOptions, out: &Path) -> Result<SynthSummary> {
    build_with_progress(faces, opts, out, &|_| {})
}

/// As [`build`]; `progress(total)` is called once with the number of images, then
/// `progress(0)` after each image (written or reused).
pub fn build_with_progress(
    faces: &[SourceFace],
    opts: &SynthOptions,
    out: &Path,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<SynthSummary> {
    if opts.per_face == 0 || opts.size < 32 {
        return Err(Error::invalid("synth needs per_face >= 1 and size >= 32"));
    }
    let methods = if opts.methods.is_empty() {
        methods::all_methods()
    } else {
        methods::by_names(&opts.methods)?
    };
    let method_names: Vec<String> = methods.iter().map(|m| m.name().to_string()).collect();
    let splits = assign_splits(faces.iter().map(|f| f.person.as_str()), opts.seed);
    for s in Split::ALL {
        let n = splits.values().filter(|&&x| x == s).count();
        let need = if methods.iter().any(|m| m.needs_donor()) {
            2
        } else {
            1
        };
        if n < need {
            return Err(Error::invalid(format!(
                "{} faces give {n} identities in the {s} split; synth needs at least {need} \
                 (at least {} faces in all)",
                faces.len(),
                5 * need
            )));
        }
    }
    let mut prepared: Vec<Prepared> = Vec::with_capacity(faces.len());
    let mut fallback_crops = 0;
    for f in faces {
        if prepared.iter().any(|p| p.identity == f.identity) {
            return Err(Error::invalid(format!(
                "identity {} appears twice",
                f.identity
            )));
        }
        let d = &f.detection;
        let a = align_or_crop(&f.photo, d.bbox, &d.landmarks, opts.size, opts.margin);
        fallback_crops += a.fallback as usize;
        prepared.push(Prepared {
            identity: f.identity.clone(),
            person: f.person.clone(),
            split: splits[&f.person],
            photo: Arc::clone(&f.photo),
            landmarks: d.landmarks,
            base: a.transform,
        });
    }
    prepared.sort_by(|a, b| a.identity.cmp(&b.identity));

    let mut summary = SynthSummary {
        seed: opts.seed,
        size: opts.size,
        margin: opts.margin,
        per_face: opts.per_face,
        methods: method_names.clone(),
        faces: format!(
            "crossdf MTCNN (facenet-pytorch 2.6.0 port and weights), \
             prob >= {}, box side >= {} px",
            super::photos::MIN_PROB,
            super::photos::MIN_SIDE
        ),
        fallback_crops,
        splits: BTreeMap::new(),
        assignment: prepared
            .iter()
            .map(|p| (p.identity.clone(), p.split))
            .collect(),
        written: 0,
        reused: 0,
    };
    check_reuse(out, &summary)?;
    // Recorded before any image, so an interrupted run still guards its folder.
    write_summary(out, &summary)?;

    let mut jobs = Vec::new();
    for (i, _) in prepared.iter().enumerate() {
        for v in 0..opts.per_face {
            jobs.push(Job {
                face: i,
                method: None,
                variant: v,
            });
        }
        if prepared[i].split == Split::Train && !opts.train_fakes {
            continue;
        }
        for m in &methods {
            for v in 0..opts.per_face {
                jobs.push(Job {
                    face: i,
                    method: Some(m.as_ref()),
                    variant: v,
                });
            }
        }
    }
    let by_split: BTreeMap<Split, Vec<usize>> = Split::ALL
        .iter()
        .map(|&s| {
            (
                s,
                (0..prepared.len())
                    .filter(|&i| prepared[i].split == s)
                    .collect(),
            )
        })
        .collect();
    let ctx = Ctx {
        prepared: &prepared,
        by_split: &by_split,
        opts,
    };

    progress(jobs.len());
    let results: Vec<bool> = jobs
        .par_iter()
        .map(|job| {
            let rel = image_path(
                ctx.domain(job),
                &ctx.prepared[job.face].identity,
                job.variant,
            );
            let path = out.join(&rel);
            let wrote = if path.is_file() {
                false
            } else {
                let (_, img) = ctx.render(job)?;
                crate::fsutil::write_png(&path, &img)?;
                true
            };
            progress(0);
            Ok(wrote)
        })
        .collect::<Result<_>>()?;
    summary.written = results.iter().filter(|&&w| w).count();
    summary.reused = results.len() - summary.written;

    let mut records = Vec::with_capacity(jobs.len());
    for job in &jobs {
        let p = &prepared[job.face];
        let domain = ctx.domain(job);
        let label = job.method.is_some() as u8;
        let rel = image_path(domain, &p.identity, job.variant);
        let counts = summary.splits.entry(p.split).or_default();
        counts.images += 1;
        match job.method {
            None => counts.real += 1,
            Some(m) => *counts.fake.entry(m.name().to_string()).or_default() += 1,
        }
        // A "video" groups the variants of one source face under one method (as FF++ gives
        // each manipulated video its own id): real and fake never share a group.
        let video = match job.method {
            None => p.person.clone(),
            Some(m) => format!("{}@{}", p.person, m.name()),
        };
        records.push(Record::new(rel, label, domain, video, p.split));
    }
    for (s, ids) in &by_split {
        let persons: std::collections::BTreeSet<&str> =
            ids.iter().map(|&i| prepared[i].person.as_str()).collect();
        summary.splits.entry(*s).or_default().identities = persons.len();
    }
    records.sort_by(|a, b| (a.split, &a.path).cmp(&(b.split, &b.path)));
    let manifest_path = out.join("manifest.jsonl");
    Manifest::new(&manifest_path, records).write(&manifest_path)?;

    write_sheets(&ctx, &methods, out)?;
    write_summary(out, &summary)?;
    Ok(summary)
}

fn write_summary(out: &Path, summary: &SynthSummary) -> Result<()> {
    let json = serde_json::to_vec_pretty(summary).map_err(|e| Error::json("synth.json", e))?;
    write_atomic(&out.join("synth.json"), &json)
}

struct Ctx<'a> {
    prepared: &'a [Prepared],
    by_split: &'a BTreeMap<Split, Vec<usize>>,
    opts: &'a SynthOptions,
}

impl Ctx<'_> {
    fn domain<'m>(&self, job: &Job<'m>) -> &'m str {
        job.method.map_or(REAL_DOMAIN, |m| m.name())
    }

    /// The jittered target and the output image of a job (the target itself for a real one).
    fn render(&self, job: &Job) -> Result<(Face, RgbImage)> {
        let p = &self.prepared[job.face];
        let mut rng = image_rng(self.opts.seed, &p.identity, self.domain(job), job.variant);
        let target = variant(p, self.opts.size, &mut rng);
        let Some(m) = job.method else {
            let img = target.image.clone();
            return Ok((target, img));
        };
        let donor = m.needs_donor().then(|| {
            // Another person of the same split, so no face crosses a split boundary.
            let others: Vec<usize> = self.by_split[&p.split]
                .iter()
                .copied()
                .filter(|&i| self.prepared[i].person != p.person)
                .collect();
            let d = others[rng.random_range(0..others.len())];
            variant(&self.prepared[d], self.opts.size, &mut rng)
        });
        let img = m
            .apply(&target, donor.as_ref(), &mut rng)
            .map_err(|e| e.context(format!("{} of {}", m.name(), p.identity)))?;
        Ok((target, img))
    }
}

/// One sheet per method: (jittered real, fake) rows for faces spread over the identity list,
/// variant 0, made as the manifest's images are (also for train faces whose fakes it leaves
/// out).
fn write_sheets(ctx: &Ctx, methods: &[Box<dyn Forgery>], out: &Path) -> Result<()> {
    let n = ctx.prepared.len();
    let rows = ctx.opts.sheet_rows.min(n);
    if rows == 0 {
        return Ok(());
    }
    let picks: Vec<usize> = (0..rows).map(|r| r * n / rows).collect();
    methods.par_iter().try_for_each(|m| {
        let pairs: Vec<(RgbImage, RgbImage)> = picks
            .iter()
            .map(|&face| {
                let job = Job {
                    face,
                    method: Some(m.as_ref()),
                    variant: 0,
                };
                let (target, fake) = ctx.render(&job)?;
                Ok((target.image, fake))
            })
            .collect::<Result<_>>()?;
        let sheet = contact_sheet(&pairs, ctx.opts.size.min(224));
        crate::fsutil::write_png(
            &out.join("sheets").join(format!("{}.png", m.name())),
            &sheet,
        )
    })
}

/// A folder built with another seed, size, margin or assignment of faces to splits holds
/// images that do not match these options (a fake's donor may sit in another split); mixing
/// them would silently corrupt the benchmark.
fn check_reuse(out: &Path, want: &SynthSummary) -> Result<()> {
    let path = out.join("synth.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let old: SynthSummary = serde_json::from_str(&text).map_err(|e| Error::Line {
        path: path.clone(),
        line: e.line(),
        msg: e.to_string(),
    })?;
    if (old.seed, old.size, old.margin) != (want.seed, want.size, want.margin) {
        return Err(Error::invalid(format!(
            "{} was built with seed {}, size {}, margin {}; these options ask for seed {}, \
             size {}, margin {}: use another --out folder or delete it",
            out.display(),
            old.seed,
            old.size,
            old.margin,
            want.seed,
            want.size,
            want.margin
        )));
    }
    if old.assignment != want.assignment {
        let moved = want
            .assignment
            .iter()
            .filter(|(id, s)| old.assignment.get(*id) != Some(s))
            .count();
        return Err(Error::invalid(format!(
            "{} was built with another assignment of faces to splits ({moved} of {} faces              are new or in another split; an older crossdf or other source photos): use              another --out folder or delete it",
            out.display(),
            want.assignment.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
#[path = "build_tests.rs"]
mod tests;
