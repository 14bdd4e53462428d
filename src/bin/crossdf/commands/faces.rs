//! `crossdf faces`: MTCNN boxes, scores and landmarks of an image, optionally aligned crops.
//!
//! Inputs are still images for now; a video input will read frames with the video module and
//! hand them to `Mtcnn::detect_batch`, then the same `select` / `write_aligned` per frame
//! (records gain a frame number). Only `run`'s input branch changes.
use super::FacesArg;
use anyhow::Context;
use crossdf::face::align::DEFAULT_MARGIN;
use crossdf::face::extract::{self, FaceRecord};
use crossdf::face::Mtcnn;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Image file (PNG, JPEG, WebP, BMP)
    pub image: PathBuf,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
    /// Write each face's aligned crop to DIR/<image stem>_<index>.png
    #[arg(long, value_name = "DIR")]
    pub aligned_out: Option<PathBuf>,
    /// Side of the aligned crops, in pixels
    #[arg(long, default_value_t = 224)]
    pub size: u32,
    /// Context around the face in the crops (1.0: the tight ArcFace crop)
    #[arg(long, default_value_t = DEFAULT_MARGIN)]
    pub margin: f32,
    /// Which faces to report and crop
    #[arg(long, value_enum, default_value = "all")]
    pub faces: FacesArg,
}

pub fn run(args: Args, device: crossdf::device::DeviceSpec) -> anyhow::Result<()> {
    let device = device.resolve()?;
    let mtcnn = Mtcnn::load(device).context("loading the MTCNN weights")?;
    let which = args.faces.into();
    let (img, mut faces) = extract::faces_in_image(&mtcnn, &args.image, which)?;
    if let Some(dir) = &args.aligned_out {
        let stem = args
            .image
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("image");
        extract::write_aligned(&img, &mut faces, dir, stem, args.size, args.margin)
            .with_context(|| format!("writing aligned crops to {}", dir.display()))?;
    }
    if args.json {
        let out = serde_json::json!({
            "image": args.image,
            "width": img.width(),
            "height": img.height(),
            "faces": faces,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_table(&args.image, &img, &faces);
    }
    Ok(())
}

fn print_table(path: &std::path::Path, img: &image::RgbImage, faces: &[FaceRecord]) {
    println!(
        "{}: {}x{}, {} face(s)",
        path.display(),
        img.width(),
        img.height(),
        faces.len()
    );
    if faces.is_empty() {
        return;
    }
    println!(
        "{:>3}  {:>8} {:>8} {:>8} {:>8}  {:>8}  landmarks (left eye, right eye, nose, mouth l/r)",
        "#", "x1", "y1", "x2", "y2", "prob"
    );
    for f in faces {
        let d = &f.detection;
        let lm: Vec<String> = d
            .landmarks
            .iter()
            .map(|p| format!("({:.1},{:.1})", p[0], p[1]))
            .collect();
        println!(
            "{:>3}  {:>8.1} {:>8.1} {:>8.1} {:>8.1}  {:>8.6}  {}",
            f.index,
            d.bbox[0],
            d.bbox[1],
            d.bbox[2],
            d.bbox[3],
            d.prob,
            lm.join(" ")
        );
        if let Some(p) = &f.aligned {
            let how = if f.fallback == Some(true) {
                "box crop, landmarks implausible"
            } else {
                "aligned"
            };
            println!("     -> {} ({how})", p.display());
        }
    }
}
