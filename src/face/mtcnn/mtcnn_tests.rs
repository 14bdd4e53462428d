//! Offline checks (layer names, resampling against torch, weight-loading errors) and checks
//! against facenet-pytorch with the registry weights and photos (fetched like users fetch them).
use super::*;
use crate::assets::{cache_root, PHOTO_ASSETS};
use crate::face::align::DEFAULT_MARGIN;
use crate::face::{similarity_transform, template};
use crate::synth::photos::{parse_face_list, INTERIM_FACES_JSON};
use serde::Deserialize;
use std::collections::BTreeMap;
use tch::Kind;

const NETS_JSON: &str = include_str!("../../../tests/fixtures/mtcnn_nets.json");

#[derive(Deserialize)]
struct Flat {
    shape: Vec<i64>,
    data: Vec<f32>,
}

/// The inputs of `scripts/fixtures/mtcnn_nets.py`: sin(0.37 i + 0.91 j + 1.3 c + 2.1 n).
fn wave(n: i64, h: i64, w: i64) -> Tensor {
    let mut v = Vec::new();
    for b in 0..n {
        for c in 0..3 {
            for i in 0..h {
                for j in 0..w {
                    let a = 0.37 * i as f64 + 0.91 * j as f64 + 1.3 * c as f64 + 2.1 * b as f64;
                    v.push(a.sin() as f32);
                }
            }
        }
    }
    Tensor::from_slice(&v).view([n, 3, h, w])
}

fn assert_close(name: &str, got: &Tensor, want: &Flat, tol: f32) {
    assert_eq!(got.size(), want.shape, "{name}: shape");
    let got = Vec::<f32>::try_from(&got.flatten(0, -1)).unwrap();
    let worst = got
        .iter()
        .zip(&want.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= tol, "{name}: max deviation {worst} > {tol}");
}

fn keys(store: &nn::VarStore) -> Vec<String> {
    let mut k: Vec<String> = store.variables().into_keys().collect();
    k.sort();
    k
}

#[test]
fn parameter_names_are_facenets() {
    let vs = nn::VarStore::new(Device::Cpu);
    let _ = PNet::new(&vs.root());
    let p = "conv1.bias conv1.weight conv2.bias conv2.weight conv3.bias conv3.weight \
             conv4_1.bias conv4_1.weight conv4_2.bias conv4_2.weight prelu1.weight \
             prelu2.weight prelu3.weight";
    assert_eq!(keys(&vs).join(" "), p);
    let vs = nn::VarStore::new(Device::Cpu);
    let _ = RNet::new(&vs.root());
    let r = "conv1.bias conv1.weight conv2.bias conv2.weight conv3.bias conv3.weight \
             dense4.bias dense4.weight dense5_1.bias dense5_1.weight dense5_2.bias \
             dense5_2.weight prelu1.weight prelu2.weight prelu3.weight prelu4.weight";
    assert_eq!(keys(&vs).join(" "), r);
    let vs = nn::VarStore::new(Device::Cpu);
    let _ = ONet::new(&vs.root());
    let o = "conv1.bias conv1.weight conv2.bias conv2.weight conv3.bias conv3.weight \
             conv4.bias conv4.weight dense5.bias dense5.weight dense6_1.bias dense6_1.weight \
             dense6_2.bias dense6_2.weight dense6_3.bias dense6_3.weight prelu1.weight \
             prelu2.weight prelu3.weight prelu4.weight prelu5.weight";
    assert_eq!(keys(&vs).join(" "), o);
}

/// Freshly initialised parameters of the three nets, named as in the registry file.
fn state() -> Vec<(String, Tensor)> {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let _ = (
        PNet::new(&(&root / "pnet")),
        RNet::new(&(&root / "rnet")),
        ONet::new(&(&root / "onet")),
    );
    let mut v: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn weight_loading_names_missing_extra_and_misshaped_keys() {
    let file = Path::new("mtcnn.safetensors");
    let all = state();
    assert_eq!(all.len(), 13 + 16 + 21);
    assert!(Mtcnn::from_tensors(&all, file, Device::Cpu).is_ok());

    let mut missing = state();
    missing.retain(|(k, _)| k != "rnet.dense4.weight");
    let e = Mtcnn::from_tensors(&missing, file, Device::Cpu).unwrap_err();
    assert!(e.to_string().contains("rnet.dense4.weight"), "{e}");

    let mut extra = state();
    extra.push((
        "onet.dense7.weight".into(),
        Tensor::zeros([1], (Kind::Float, Device::Cpu)),
    ));
    let e = Mtcnn::from_tensors(&extra, file, Device::Cpu).unwrap_err();
    assert!(e.to_string().contains("onet.dense7.weight"), "{e}");

    let mut shaped = state();
    for (k, t) in &mut shaped {
        if k == "pnet.conv1.weight" {
            *t = Tensor::zeros([10, 3, 5, 5], (Kind::Float, Device::Cpu));
        }
    }
    let e = Mtcnn::from_tensors(&shaped, file, Device::Cpu).unwrap_err();
    assert!(e.to_string().contains("pnet.conv1.weight"), "{e}");
}

#[test]
fn area_resampling_matches_torch_interpolate() {
    #[derive(Deserialize)]
    struct Resized {
        size: [i64; 2],
        shape: Vec<i64>,
        data: Vec<f32>,
    }
    #[derive(Deserialize)]
    struct Area {
        input: [i64; 2],
        resized: Vec<Resized>,
    }
    #[derive(Deserialize)]
    struct Fixture {
        area: Area,
    }
    let f: Fixture = serde_json::from_str(NETS_JSON).unwrap();
    let [h, w] = f.area.input;
    // (7 i + 13 j + 71 c) mod 256 as an RGB image, through the same path as detection.
    let img = RgbImage::from_fn(w as u32, h as u32, |j, i| {
        image::Rgb(std::array::from_fn(|c| {
            ((7 * i + 13 * j + 71 * c as u32) % 256) as u8
        }))
    });
    let batch = stages::image_batch(&[img], Device::Cpu).unwrap();
    for r in f.area.resized {
        let got = batch.adaptive_avg_pool2d(r.size);
        let want = Flat {
            shape: r.shape,
            data: r.data,
        };
        assert_close(&format!("area {:?}", r.size), &got, &want, 1e-4);
    }
}

/// The Rust crops give libtorch's `adaptive_avg_pool2d` numbers bit for bit, on windows
/// smaller and larger than the output, at the image border and inside it.
#[test]
fn area_crops_equal_torch_adaptive_pooling() {
    let img = RgbImage::from_fn(157, 93, |x, y| {
        image::Rgb([(x * 7 + y * 3) as u8, (x * y) as u8, (x ^ y) as u8])
    });
    let batch = stages::image_batch(std::slice::from_ref(&img), Device::Cpu).unwrap();
    let windows = [
        (0, 0, 157, 93),
        (10, 5, 31, 22),
        (100, 40, 157, 93),
        (3, 7, 14, 16),
        (50, 0, 51, 1),
        (20, 30, 117, 89),
    ];
    for (x0, y0, x1, y1) in windows {
        let win = boxes::Window { x0, y0, x1, y1 };
        for size in [24usize, 48] {
            let mut ours = Vec::new();
            boxes::area_crop(&img, &win, size, &mut ours);
            let s = size as i64;
            let t = batch
                .narrow(2, y0 as i64, (y1 - y0) as i64)
                .narrow(3, x0 as i64, (x1 - x0) as i64)
                .adaptive_avg_pool2d([s, s]);
            let t = ((t - 127.5) * 0.0078125).flatten(0, -1);
            let torch = Vec::<f32>::try_from(&t).unwrap();
            assert_eq!(ours.len(), torch.len());
            let differ = ours.iter().zip(&torch).filter(|(a, b)| a != b).count();
            assert_eq!(
                differ, 0,
                "window {win:?} at {size}: {differ} values differ"
            );
        }
    }
}

/// The summed-area pyramid gives the levels facenet's `interpolate(mode="area")` gives (libtorch's
/// `adaptive_avg_pool2d` of the whole float frame, then normalised) bit for bit, with the same
/// channels-last strides, so P-Net sees the same numbers laid out the same way.
#[test]
fn pyramid_levels_equal_torch_adaptive_pooling() {
    let imgs: Vec<RgbImage> = (0..2u32)
        .map(|n| {
            RgbImage::from_fn(211, 127, |x, y| {
                image::Rgb([
                    (x * 7 + y * 3 + n * 50) as u8,
                    (x * y + n) as u8,
                    ((x ^ y) * 5) as u8,
                ])
            })
        })
        .collect();
    let batch = stages::image_batch(&imgs, Device::Cpu).unwrap();
    let sizes: Vec<(usize, usize)> = boxes::pyramid(127, 211, 20.0, 0.709)
        .into_iter()
        .map(|s| {
            let (h, w) = boxes::level_size(127, 211, s);
            (h as usize, w as usize)
        })
        // Not 1x1: libtorch pools to 1x1 through `mean`, whose rounding differs (P-Net's
        // levels are never under 12 px).
        .chain([(127, 211), (12, 17), (50, 3)])
        .collect();
    let levels = pyramid::levels(&imgs, &sizes);
    assert_eq!(levels.len(), sizes.len());
    for (&(lh, lw), data) in sizes.iter().zip(levels) {
        let torch = (batch.adaptive_avg_pool2d([lh as i64, lw as i64]) - 127.5) * 0.0078125;
        let ours = stages::level_tensor(data, 2, lh, lw, Device::Cpu).unwrap();
        assert_eq!(ours.size(), torch.size());
        assert_eq!(ours.stride(), torch.stride(), "{lh}x{lw}: layout");
        let differ = i64::try_from(ours.ne_tensor(&torch).sum(Kind::Int64)).unwrap();
        assert_eq!(differ, 0, "{lh}x{lw}: {differ} values differ");
    }
}

#[test]
fn config_is_checked() {
    let file = Path::new("mtcnn.safetensors");
    let m = Mtcnn::from_tensors(&state(), file, Device::Cpu).unwrap();
    assert_eq!(*m.config(), MtcnnConfig::default());
    let bad = MtcnnConfig {
        factor: 1.2,
        ..Default::default()
    };
    assert!(m.with_config(bad).is_err());
}

// ---- With facenet-pytorch's weights ----

/// The registry weights (tensors are not `Sync`, so each test loads its own copy).
fn mtcnn() -> Mtcnn {
    Mtcnn::load(Device::Cpu).expect("MTCNN weights")
}

#[test]
fn nets_match_pytorch() {
    #[derive(Deserialize)]
    struct Net {
        input: [i64; 3],
        reg: Flat,
        prob: Flat,
        landmarks: Option<Flat>,
    }
    #[derive(Deserialize)]
    struct Fixture {
        pnet: Net,
        rnet: Net,
        onet: Net,
    }
    let f: Fixture = serde_json::from_str(NETS_JSON).unwrap();
    let m = mtcnn();
    let _g = tch::no_grad_guard();
    let x = |n: &Net| wave(n.input[0], n.input[1], n.input[2]);
    let out = m.pnet.forward(&x(&f.pnet));
    assert_close("pnet reg", &out.reg, &f.pnet.reg, 1e-4);
    assert_close("pnet prob", &out.prob, &f.pnet.prob, 1e-4);
    let out = m.rnet.forward(&x(&f.rnet));
    assert_close("rnet reg", &out.reg, &f.rnet.reg, 1e-4);
    assert_close("rnet prob", &out.prob, &f.rnet.prob, 1e-4);
    let out = m.onet.forward(&x(&f.onet));
    assert_close("onet reg", &out.reg, &f.onet.reg, 1e-4);
    assert_close("onet prob", &out.prob, &f.onet.prob, 1e-4);
    assert_close(
        "onet landmarks",
        &out.landmarks,
        f.onet.landmarks.as_ref().unwrap(),
        1e-4,
    );
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let area = |r: &[f32; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    inter / (area(a) + area(b) - inter)
}

/// The registry photos as facenet saw them (no red-box removal), with its detections.
fn reference_photos() -> Vec<(String, RgbImage, Vec<Detection>)> {
    let root = cache_root().unwrap();
    let mut dirs = BTreeMap::new();
    for a in PHOTO_ASSETS {
        dirs.insert(a.name, a.fetch(&root).unwrap());
    }
    parse_face_list(INTERIM_FACES_JSON)
        .unwrap()
        .into_iter()
        .map(|(name, e)| {
            let img = image::open(dirs[e.asset.as_str()].join(&e.path))
                .unwrap()
                .to_rgb8();
            (name, img, e.faces)
        })
        .collect()
}

/// Every face facenet-pytorch finds on the registry photos is found with IoU >= 0.9, and
/// every face found is one of facenet's. On PNGs both see the same pixels and agree to the
/// fixture's rounding; JPEGs decode differently (the `image` crate vs PIL's libjpeg, up to 4
/// grey levels), which moves a few large faces' boxes by a pixel or two: facenet run on
/// crossdf's decoded pixels gives crossdf's numbers (checked by hand, see the report).
#[test]
fn registry_photos_match_facenet_pytorch() {
    let m = mtcnn();
    // (min IoU, max landmark deviation px, max prob deviation), PNGs then JPEGs.
    let mut worst = [(1.0f32, 0.0f32, 0.0f32); 2];
    let (mut ours_n, mut theirs_n) = (0, 0);
    for (name, img, theirs) in reference_photos() {
        let ours = m.detect(&img).unwrap();
        ours_n += ours.len();
        theirs_n += theirs.len();
        let w = &mut worst[usize::from(!name.ends_with(".png"))];
        for (a, b, dir) in [(&theirs, &ours, "facenet's"), (&ours, &theirs, "our")] {
            for d in a {
                let best = b
                    .iter()
                    .max_by(|x, y| iou(&x.bbox, &d.bbox).total_cmp(&iou(&y.bbox, &d.bbox)));
                let Some(best) = best else {
                    panic!("{name}: {dir} face {d:?} has no counterpart");
                };
                let o = iou(&best.bbox, &d.bbox);
                assert!(
                    o >= 0.9,
                    "{name}: {dir} face {d:?}: best IoU {o} with {best:?}"
                );
                w.0 = w.0.min(o);
                w.2 = w.2.max((best.prob - d.prob).abs());
                for (p, q) in best.landmarks.iter().zip(&d.landmarks) {
                    w.1 = w.1.max((p[0] - q[0]).hypot(p[1] - q[1]));
                }
            }
        }
    }
    for (kind, (o, lm, p)) in ["PNG", "JPEG"].iter().zip(worst) {
        eprintln!(
            "MTCNN vs facenet-pytorch, {kind}: min IoU {o}, max landmark deviation {lm} px, \
             max prob deviation {p}"
        );
    }
    assert_eq!(ours_n, theirs_n);
    // The fixture rounds to 0.01 px and 1e-6.
    let (o, lm, p) = worst[0];
    assert!(o > 0.999 && lm < 0.02 && p < 2e-6, "PNG: {o} {lm} {p}");
    let (_, lm, p) = worst[1];
    assert!(lm < 5.0 && p < 0.02, "JPEG: {lm} {p}");
}

/// Aligned crops of the faces synth keeps (224 px, margin 1.3): the centre between the eyes
/// lands near the template's (the five-point least-squares fit leaves a residual that depends
/// on pose and face shape, not on the detector: median within 2 px, none past 6 px), and our
/// crops put the eyes within 2 px of where facenet-pytorch's landmarks put them.
#[test]
fn detected_faces_align_onto_the_template() {
    let m = mtcnn();
    let t = template(224, DEFAULT_MARGIN);
    let centre = |p: [f32; 2], q: [f32; 2]| [(p[0] + q[0]) / 2.0, (p[1] + q[1]) / 2.0];
    let dist = |p: [f32; 2], q: [f32; 2]| (p[0] - q[0]).hypot(p[1] - q[1]);
    let t_centre = centre(t[0], t[1]);
    let (mut residuals, mut worst_vs_facenet) = (Vec::new(), 0.0f32);
    for (name, img, theirs) in reference_photos() {
        for d in m.detect(&img).unwrap() {
            if !crate::synth::photos::keep(&d) {
                continue;
            }
            let s = similarity_transform(&d.landmarks, &t);
            let eyes = [s.apply(d.landmarks[0]), s.apply(d.landmarks[1])];
            residuals.push(dist(centre(eyes[0], eyes[1]), t_centre));
            let f = theirs
                .iter()
                .max_by(|x, y| iou(&x.bbox, &d.bbox).total_cmp(&iou(&y.bbox, &d.bbox)))
                .filter(|f| iou(&f.bbox, &d.bbox) >= 0.9)
                .unwrap_or_else(|| panic!("{name}: {d:?} not in the fixture"));
            let sf = similarity_transform(&f.landmarks, &t);
            for (k, eye) in eyes.iter().enumerate() {
                let e = dist(*eye, sf.apply(f.landmarks[k]));
                worst_vs_facenet = worst_vs_facenet.max(e);
                assert!(
                    e <= 2.0,
                    "{name}: {d:?}: eye {k} {e} px from facenet's crop"
                );
            }
        }
    }
    residuals.sort_by(f32::total_cmp);
    let n = residuals.len();
    let (median, max) = (residuals[n / 2], residuals[n - 1]);
    let within = residuals.iter().filter(|&&r| r <= 2.0).count();
    eprintln!(
        "{n} kept faces: eye centre {median} px (median), {max} px (max) from the template, \
         {within} within 2 px; eyes at most {worst_vs_facenet} px from facenet's crops"
    );
    assert!(n >= 40, "{n}");
    assert!(median <= 2.0 && max <= 6.0, "median {median}, max {max}");
}

#[test]
fn batches_equal_single_images_and_blank_images_have_no_faces() {
    let m = mtcnn();
    let photos = reference_photos();
    let (_, img, _) = photos
        .iter()
        .find(|(n, _, f)| n.starts_with("sample") && f.len() >= 2)
        .unwrap();
    let flipped = image::imageops::flip_horizontal(img);
    let blank = RgbImage::from_pixel(img.width(), img.height(), image::Rgb([128; 3]));
    let batch = m
        .detect_batch(&[img.clone(), flipped.clone(), blank])
        .unwrap();
    assert_eq!(batch[0], m.detect(img).unwrap());
    assert_eq!(batch[1], m.detect(&flipped).unwrap());
    assert!(batch[2].is_empty());
    // A flip mirrors every face: as many faces, boxes mirrored within a few pixels.
    assert_eq!(batch[0].len(), batch[1].len());
    assert!(m.detect(&RgbImage::new(8, 8)).unwrap().is_empty());
    let e = m
        .detect_batch(&[img.clone(), RgbImage::new(8, 8)])
        .unwrap_err();
    assert!(e.to_string().contains("equal sizes"), "{e}");
}
