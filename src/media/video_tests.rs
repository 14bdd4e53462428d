use super::*;
use std::path::PathBuf;

/// Writes `n` frames whose gray level encodes the frame index (`12 + 20 i`) and encodes them
/// with ffmpeg into `name` (the container follows the extension; `codec` as given).
fn numbered_video(dir: &Path, name: &str, n: u32, codec: &[&str]) -> PathBuf {
    let frames = dir.join(format!("{name}.frames"));
    std::fs::create_dir_all(&frames).unwrap();
    for i in 0..n {
        let v = (12 + 20 * i) as u8;
        RgbImage::from_pixel(64, 48, image::Rgb([v, v, v]))
            .save(frames.join(format!("{i:03}.png")))
            .unwrap();
    }
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-framerate", "10", "-i"])
        .arg(frames.join("%03d.png"))
        .args(codec)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg could not write {name}");
    out
}

fn level_of(img: &RgbImage) -> u8 {
    let sum: u64 = img.pixels().map(|p| p[1] as u64).sum();
    (sum / (img.width() * img.height()) as u64) as u8
}

#[test]
fn even_selection_takes_segment_middles() {
    // Hand computed: total 10, n 4 -> floor((2i+1) * 10 / 8) = 1, 3, 6, 8.
    assert_eq!(FrameSelection::Even(4).indices(10), vec![1, 3, 6, 8]);
    assert_eq!(
        FrameSelection::Even(32).indices(10),
        (0..10).collect::<Vec<_>>()
    );
    assert_eq!(FrameSelection::Even(1).indices(300), vec![150]);
    assert_eq!(FrameSelection::Every(3).indices(10), vec![0, 3, 6, 9]);
    assert_eq!(FrameSelection::Every(0).indices(3), vec![0, 1, 2]);
    let idx = FrameSelection::Even(32).indices(457);
    assert_eq!(idx.len(), 32);
    assert!(idx.windows(2).all(|w| w[0] < w[1]) && *idx.last().unwrap() < 457);
}

#[test]
fn select_expression_matches_the_selection() {
    assert_eq!(select_expr(&[0, 1, 2], 3), None);
    assert_eq!(
        select_expr(&[0, 3, 6, 9], 10).as_deref(),
        Some("not(mod(n\\,3))")
    );
    assert_eq!(
        select_expr(&[1, 3], 10).as_deref(),
        Some("eq(n\\,1)+eq(n\\,3)")
    );
}

#[test]
fn decodes_exactly_the_selected_frames() {
    let dir = tempfile::tempdir().unwrap();
    // FFV1 in Matroska is lossless and has no frame count in the header (packets are counted).
    let mkv = numbered_video(dir.path(), "n.mkv", 10, &["-c:v", "ffv1"]);
    let info = probe(&mkv).unwrap();
    assert_eq!((info.width, info.height, info.frames), (64, 48, 10));
    let (_, frames) = read_frames(&mkv, FrameSelection::Even(4)).unwrap();
    let got: Vec<(u64, u8)> = frames.iter().map(|(i, f)| (*i, level_of(f))).collect();
    assert_eq!(got, vec![(1, 32), (3, 72), (6, 132), (8, 172)]);
    let (_, frames) = read_frames(&mkv, FrameSelection::Every(4)).unwrap();
    let got: Vec<(u64, u8)> = frames.iter().map(|(i, f)| (*i, level_of(f))).collect();
    assert_eq!(got, vec![(0, 12), (4, 92), (8, 172)]);
}

#[test]
fn mp4_frame_count_and_lossy_levels() {
    let dir = tempfile::tempdir().unwrap();
    let mp4 = numbered_video(
        dir.path(),
        "n.mp4",
        12,
        &["-c:v", "mpeg4", "-q:v", "2", "-pix_fmt", "yuv420p"],
    );
    let info = probe(&mp4).unwrap();
    assert_eq!(info.frames, 12);
    assert!((info.fps.unwrap() - 10.0).abs() < 1e-6, "{info:?}");
    let (_, frames) = read_frames(&mp4, FrameSelection::Even(3)).unwrap();
    // floor((2i+1) * 12 / 6) = 2, 6, 10 -> levels 52, 132, 212 (within the codec's error).
    for ((i, f), want) in frames.iter().zip([(2, 52i32), (6, 132), (10, 212)]) {
        assert_eq!(*i, want.0);
        assert!((level_of(f) as i32 - want.1).abs() <= 3, "frame {i}");
    }
}

#[test]
fn broken_files_are_errors_that_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.mp4");
    std::fs::write(&junk, b"this is not a video at all, just text").unwrap();
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    for p in [&junk, &empty, &dir.path().join("missing.mp4")] {
        let e = read_frames(p, FrameSelection::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains(p.to_str().unwrap()), "{e}");
    }
    // A video cut in half: the header is intact but the frame data is gone.
    let mp4 = numbered_video(
        dir.path(),
        "cut.mp4",
        30,
        &["-c:v", "mpeg4", "-pix_fmt", "yuv420p"],
    );
    let bytes = std::fs::read(&mp4).unwrap();
    let cut = dir.path().join("half.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    match read_frames(&cut, FrameSelection::Even(8)) {
        Err(e) => assert!(e.to_string().contains("half.mp4"), "{e}"),
        Ok((_, frames)) => assert!(frames.len() < 8),
    }
}

#[test]
fn a_failing_consumer_stops_the_decoder() {
    let dir = tempfile::tempdir().unwrap();
    let mkv = numbered_video(dir.path(), "s.mkv", 10, &["-c:v", "ffv1"]);
    let info = probe(&mkv).unwrap();
    let mut seen = 0;
    let r = decode_frames(&mkv, &info, &[0, 1, 2, 3], |_, _| {
        seen += 1;
        if seen == 2 {
            Err(Error::invalid("enough"))
        } else {
            Ok(())
        }
    });
    assert_eq!(r.unwrap_err().to_string(), "enough");
    assert_eq!(seen, 2);
}

#[test]
fn rotation_metadata_turns_frames_upright() {
    let dir = tempfile::tempdir().unwrap();
    // 64x48 frames, white block in the top-left corner, stored with a 90 degree rotation.
    let frames = dir.path().join("f");
    std::fs::create_dir_all(&frames).unwrap();
    let img = RgbImage::from_fn(64, 48, |x, y| {
        let v = if x < 12 && y < 12 { 255 } else { 0 };
        image::Rgb([v, v, v])
    });
    for i in 0..3 {
        img.save(frames.join(format!("{i:03}.png"))).unwrap();
    }
    let plain = dir.path().join("plain.mp4");
    let rotated = dir.path().join("rotated.mp4");
    let ok = |args: &[&std::ffi::OsStr]| {
        Command::new("ffmpeg")
            .args(args)
            .status()
            .unwrap()
            .success()
    };
    assert!(ok(&[
        "-v".as_ref(),
        "error".as_ref(),
        "-framerate".as_ref(),
        "10".as_ref(),
        "-i".as_ref(),
        frames.join("%03d.png").as_os_str(),
        "-c:v".as_ref(),
        "mpeg4".as_ref(),
        "-q:v".as_ref(),
        "2".as_ref(),
        "-pix_fmt".as_ref(),
        "yuv420p".as_ref(),
        plain.as_os_str()
    ]));
    assert!(ok(&[
        "-v".as_ref(),
        "error".as_ref(),
        "-i".as_ref(),
        plain.as_os_str(),
        "-c".as_ref(),
        "copy".as_ref(),
        "-metadata:s:v:0".as_ref(),
        "rotate=90".as_ref(),
        rotated.as_os_str()
    ]));
    let (info, frames) = read_frames(&rotated, FrameSelection::Even(1)).unwrap();
    assert_eq!((info.width, info.height), (48, 64));
    let f = &frames[0].1;
    assert_eq!(f.dimensions(), (48, 64));
    // ffmpeg applies the stored display matrix (here a quarter turn counter-clockwise, as
    // `ffmpeg -i rotated.mp4 out.png` also shows): the top-left block ends up bottom-left.
    assert!(f.get_pixel(5, 58)[0] > 200, "{:?}", f.get_pixel(5, 58));
    for (x, y) in [(5, 5), (42, 5), (42, 58)] {
        assert!(
            f.get_pixel(x, y)[0] < 50,
            "({x}, {y}): {:?}",
            f.get_pixel(x, y)
        );
    }
}
