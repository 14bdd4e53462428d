//! Listing tests: trees of empty files in the authors' shapes (listing never opens a file).
use super::*;
use crate::manifest::Split;

fn touch(root: &Path, rel: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, b"").unwrap();
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn find<'a>(l: &'a Listing, video: &str) -> &'a Item {
    l.items
        .iter()
        .find(|i| i.video == video)
        .unwrap_or_else(|| panic!("no item {video}"))
}

fn summary(i: &Item) -> (u8, &str, Vec<Split>) {
    (i.label, i.domain.as_str(), i.splits.clone())
}

#[test]
fn ffpp_follows_the_official_pairs() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for v in ["000", "001", "002", "003", "004", "999"] {
        touch(r, &format!("original_sequences/youtube/c23/videos/{v}.mp4"));
    }
    touch(r, "original_sequences/youtube/c40/videos/000.mp4");
    for (m, v) in [
        ("Deepfakes", "000_003"),
        ("Deepfakes", "003_000"),
        ("Face2Face", "001_002"),
        ("FaceShifter", "004_001"),
        ("NeuralTextures", "002_001"),
    ] {
        touch(r, &format!("manipulated_sequences/{m}/c23/videos/{v}.mp4"));
    }
    touch(r, "original_sequences/actors/c23/videos/01__walking.mp4");
    touch(
        r,
        "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__walking__ABCD1234.mp4",
    );
    write(r, "splits/train.json", r#"[["000", "003"]]"#);
    write(r, "splits/val.json", r#"[["001", "002"]]"#);
    write(r, "splits/test.json", r#"[["004", "005"]]"#);
    let l = Layout::Ffpp.list(r, &ListOptions::default()).unwrap();
    use Split::*;
    assert_eq!(summary(find(&l, "youtube/000")), (0, "real", vec![Train]));
    assert_eq!(summary(find(&l, "youtube/002")), (0, "real", vec![Val]));
    assert_eq!(summary(find(&l, "youtube/004")), (0, "real", vec![Test]));
    assert_eq!(
        summary(find(&l, "Deepfakes/003_000")),
        (1, "Deepfakes", vec![Train])
    );
    assert_eq!(
        summary(find(&l, "Face2Face/001_002")),
        (1, "Face2Face", vec![Val])
    );
    assert_eq!(
        summary(find(&l, "NeuralTextures/002_001")),
        (1, "NeuralTextures", vec![Val])
    );
    // 004_001 pairs a test id with a val id: no split file lists that pair.
    assert!(l.items.iter().all(|i| i.video != "FaceShifter/004_001"));
    let not_listed: Vec<_> = l
        .skipped
        .iter()
        .map(|s| (s.video.clone().unwrap(), s.reason))
        .collect();
    assert!(not_listed.contains(&("youtube/999".into(), Reason::NotInSplits)));
    assert!(not_listed.contains(&("FaceShifter/004_001".into(), Reason::NotInSplits)));
    // DeepFakeDetection and the actors are split by the target actor: same split.
    let actor = find(&l, "actors/01__walking");
    let dfd = find(&l, "DeepFakeDetection/01_02__walking__ABCD1234");
    assert_eq!(
        (actor.label, dfd.label, &dfd.domain[..]),
        (0, 1, "DeepFakeDetection")
    );
    assert_eq!(actor.splits, dfd.splits);
    // c23 only: 5 listed youtube + 1 actor + 4 listed fakes + 1 DFD.
    assert_eq!(l.items.len(), 11);
    let c40 = ListOptions {
        quality: "c40".into(),
        ..ListOptions::default()
    };
    assert_eq!(Layout::Ffpp.list(r, &c40).unwrap().items.len(), 1);
}

#[test]
fn ffpp_split_files_are_checked() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    touch(r, "original_sequences/youtube/c23/videos/000.mp4");
    let e = Layout::Ffpp
        .list(r, &ListOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("train.json") && e.contains("--splits"), "{e}");
    write(r, "s/train.json", r#"[["000", "001"]]"#);
    write(r, "s/val.json", r#"[["000", "002"]]"#);
    write(r, "s/test.json", r#"[["003"]]"#);
    let opts = ListOptions {
        splits: Some(r.join("s")),
        ..ListOptions::default()
    };
    let e = Layout::Ffpp.list(r, &opts).unwrap_err().to_string();
    assert!(e.contains("val.json") && e.contains("`000`"), "{e}");
}

#[test]
fn celebdf_reads_the_test_list_with_its_own_label_convention() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for v in [
        "Celeb-real/id0_0000",
        "Celeb-real/id0_0001",
        "Celeb-real/id1_0000",
        "Celeb-synthesis/id0_id1_0000",
        "Celeb-synthesis/id1_id0_0000",
        "YouTube-real/00000",
        "YouTube-real/00001",
    ] {
        touch(r, &format!("{v}.mp4"));
    }
    write(
        r,
        "List_of_testing_videos.txt",
        "1 Celeb-real/id0_0001.mp4\n0 Celeb-synthesis/id1_id0_0000.mp4\n1 YouTube-real/00001.mp4\n1 Celeb-real/id9_0000.mp4\n",
    );
    let all_val = ListOptions {
        val_frac: 1.0,
        ..ListOptions::default()
    };
    let l = Layout::CelebDf.list(r, &all_val).unwrap();
    use Split::*;
    assert_eq!(
        summary(find(&l, "Celeb-real/id0_0001")),
        (0, "real", vec![Test])
    );
    assert_eq!(
        summary(find(&l, "Celeb-synthesis/id1_id0_0000")),
        (1, "Celeb-synthesis", vec![Test])
    );
    assert_eq!(
        summary(find(&l, "YouTube-real/00001")),
        (0, "real", vec![Test])
    );
    assert_eq!(
        summary(find(&l, "Celeb-real/id0_0000")),
        (0, "real", vec![Val])
    );
    assert_eq!(l.skipped.len(), 1);
    assert_eq!(
        (l.skipped[0].source.as_str(), l.skipped[0].reason),
        ("Celeb-real/id9_0000.mp4", Reason::Missing)
    );
    let no_val = ListOptions {
        val_frac: 0.0,
        ..ListOptions::default()
    };
    let l = Layout::CelebDf.list(r, &no_val).unwrap();
    assert_eq!(find(&l, "Celeb-synthesis/id0_id1_0000").splits, vec![Train]);
    // With a seeded val share, a target identity's real and fake videos share the split.
    for seed in 0..20 {
        let opts = ListOptions {
            seed,
            val_frac: 0.5,
            ..ListOptions::default()
        };
        let l = Layout::CelebDf.list(r, &opts).unwrap();
        assert_eq!(
            find(&l, "Celeb-real/id0_0000").splits,
            find(&l, "Celeb-synthesis/id0_id1_0000").splits
        );
    }
    // A list that uses 1 for fake is caught, naming the line.
    write(
        r,
        "List_of_testing_videos.txt",
        "0 Celeb-real/id0_0001.mp4\n1 Celeb-synthesis/id1_id0_0000.mp4\n",
    );
    let e = Layout::CelebDf
        .list(r, &ListOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("List_of_testing_videos.txt:1") && e.contains("1 for real"),
        "{e}"
    );
}

#[test]
fn dffd_reads_source_and_split_folders() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for f in [
        "ffhq/train/00001.png",
        "ffhq/validation/00002.png",
        "celeba_2w/test/000003.jpg",
        "faceapp/test/a.png",
        "faceapp/Mask/a.png",
        "stylegan_ffhq/train/b.png",
        "pggan_v1/validation/c.png",
    ] {
        touch(r, f);
    }
    let l = Layout::Dffd.list(r, &ListOptions::default()).unwrap();
    use Split::*;
    assert_eq!(l.items.len(), 6);
    assert_eq!(summary(find(&l, "ffhq/00001")), (0, "real", vec![Train]));
    assert_eq!(summary(find(&l, "ffhq/00002")), (0, "real", vec![Val]));
    assert_eq!(
        summary(find(&l, "celeba_2w/000003")),
        (0, "real", vec![Test])
    );
    assert_eq!(summary(find(&l, "faceapp/a")), (1, "faceapp", vec![Test]));
    assert_eq!(
        summary(find(&l, "stylegan_ffhq/b")),
        (1, "stylegan_ffhq", vec![Train])
    );
    assert_eq!(summary(find(&l, "pggan_v1/c")), (1, "pggan_v1", vec![Val]));
    assert!(matches!(find(&l, "faceapp/a").source, Source::Image(_)));
}

#[test]
fn deepfakebench_index_with_and_without_compression_level() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    let ff = r#"{"FF-DF": {
        "FF-real": {"train": {"c23": {"000": {"label": "FF-real", "frames": [
            "FaceForensics++\\original_sequences\\youtube\\c23\\frames\\000\\010.png",
            "FaceForensics++\\original_sequences\\youtube\\c23\\frames\\000\\002.png"]}},
            "c40": {"000": {"label": "FF-real", "frames": ["x/1.png"]}}},
            "val": {"c23": {}}, "test": {"c23": {}}},
        "FF-DF": {"train": {"c23": {}}, "val": {"c23": {}},
            "test": {"c23": {"000_003": {"label": "FF-DF", "frames": ["./a/0.png", "/abs/1.png"]}}}}}}"#;
    let celeb = r#"{"Celeb-DF-v2": {
        "CelebDFv2_real": {"train": {}, "val": {}, "test": {"id0_0000": {"label": "CelebDFv2_real", "frames": ["c/0.png"]}}},
        "DFD_fake": {"train": {"01_02__x": {"label": "DFD_fake", "frames": ["d/0.png"]}},
                     "val": {"01_02__x": {"label": "DFD_fake", "frames": ["d/0.png"]}},
                     "test": {"01_02__x": {"label": "DFD_fake", "frames": ["d/0.png"]}}},
        "Mystery_Real": {"train": {"m": {"label": "Mystery_Real", "frames": ["m/0.png"]}}, "val": {}, "test": {}}}}"#;
    write(r, "dataset_json/FF-DF.json", ff);
    write(r, "dataset_json/Celeb-DF-v2.json", celeb);
    let l = Layout::DeepfakeBench
        .list(r, &ListOptions::default())
        .unwrap();
    use Split::*;
    let real = find(&l, "FF-real/000");
    assert_eq!(summary(real), (0, "real", vec![Train]));
    // Backslashes become folders; frames are put in frame-number order.
    let base = r.join("FaceForensics++/original_sequences/youtube/c23/frames/000");
    assert_eq!(
        real.source,
        Source::Frames(vec![base.join("002.png"), base.join("010.png")])
    );
    let fake = find(&l, "FF-DF/000_003");
    assert_eq!(summary(fake), (1, "Deepfakes", vec![Test]));
    assert_eq!(
        fake.source,
        Source::Frames(vec![r.join("a/0.png"), PathBuf::from("/abs/1.png")])
    );
    assert_eq!(
        summary(find(&l, "CelebDFv2_real/id0_0000")),
        (0, "real", vec![Test])
    );
    assert_eq!(
        summary(find(&l, "DFD_fake/01_02__x")),
        (1, "DeepFakeDetection", vec![Train, Val, Test])
    );
    assert_eq!(
        summary(find(&l, "Mystery_Real/m")),
        (0, "real", vec![Train])
    );
    assert_eq!(l.items.len(), 5);
    let c40 = ListOptions {
        quality: "c40".into(),
        index: Some(r.join("dataset_json/FF-DF.json")),
        ..ListOptions::default()
    };
    let l = Layout::DeepfakeBench.list(r, &c40).unwrap();
    assert_eq!(l.items.len(), 1);
    assert_eq!(
        find(&l, "FF-real/000").source,
        Source::Frames(vec![r.join("x/1.png")])
    );
}

#[test]
fn folder_groups_share_a_split() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for f in [
        "real/a.mp4",
        "real/b.jpg",
        "real/notes.txt",
        "real/person1/x.mp4",
        "real/person1/y.mov",
        "real/clip/0002.png",
        "real/clip/0001.png",
        "fake/M1/a.mp4",
        "fake/M1/person1/z.mp4",
    ] {
        touch(r, f);
    }
    for seed in 0..10 {
        let opts = ListOptions {
            seed,
            ..ListOptions::default()
        };
        let l = Layout::Folder.list(r, &opts).unwrap();
        let ids: Vec<&str> = l.items.iter().map(|i| i.video.as_str()).collect();
        assert_eq!(
            ids,
            [
                "M1/a",
                "M1/person1/z",
                "real/a",
                "real/b",
                "real/clip",
                "real/person1/x",
                "real/person1/y"
            ]
        );
        assert_eq!(find(&l, "real/a").splits, find(&l, "M1/a").splits);
        assert_eq!(
            find(&l, "real/person1/x").splits,
            find(&l, "M1/person1/z").splits
        );
        assert_eq!(summary(find(&l, "M1/a")).0, 1);
        assert_eq!(find(&l, "M1/a").domain, "M1");
        assert_eq!(
            find(&l, "real/clip").source,
            Source::Frames(vec![
                r.join("real/clip/0001.png"),
                r.join("real/clip/0002.png")
            ])
        );
    }
    let e = Layout::Folder
        .list(&r.join("real"), &ListOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("real/ and fake/"), "{e}");
}

#[test]
fn colliding_and_non_ascii_names_get_distinct_stable_ids() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for f in [
        "real/clip.mp4",
        "real/clip.png",
        "real/视频.mp4",
        "real/видео.mp4",
        "real/café.jpg",
        "real/a b.png",
        "real/a_b.png",
        "real/a_b.png.png",
        "fake/M1/视频.mp4",
    ] {
        touch(r, f);
    }
    let l = Layout::Folder.list(r, &ListOptions::default()).unwrap();
    let ids: Vec<&str> = l.items.iter().map(|i| i.video.as_str()).collect();
    assert_eq!(
        ids,
        [
            "M1/视频",
            "real/a_b.png",
            "real/a_b.png~2",
            "real/a_b.png~3",
            "real/café",
            "real/clip.mp4",
            "real/clip.png",
            "real/видео",
            "real/视频",
        ]
    );
    // `a_b.png.png` already holds `real/a_b.png`; of the two `real/a_b`s, `a b.png` sorts
    // first, so it takes the first free name.
    assert_eq!(
        find(&l, "real/a_b.png").source,
        Source::Image(r.join("real/a_b.png.png"))
    );
    assert_eq!(
        find(&l, "real/a_b.png~2").source,
        Source::Image(r.join("real/a b.png"))
    );
    assert_eq!(
        find(&l, "real/a_b.png~3").source,
        Source::Image(r.join("real/a_b.png"))
    );
    assert_eq!(
        find(&l, "real/clip.png").source,
        Source::Image(r.join("real/clip.png"))
    );
    let renamed: Vec<(&str, &str, &str)> = l
        .renamed
        .iter()
        .map(|n| (n.source.as_str(), n.from.as_str(), n.to.as_str()))
        .collect();
    assert_eq!(
        renamed,
        [
            ("real/a b.png", "real/a_b", "real/a_b.png~2"),
            ("real/a_b.png", "real/a_b", "real/a_b.png~3"),
            ("real/clip.mp4", "real/clip", "real/clip.mp4"),
            ("real/clip.png", "real/clip", "real/clip.png"),
        ]
    );
    // The same tree always gets the same ids.
    let again = Layout::Folder.list(r, &ListOptions::default()).unwrap();
    assert_eq!(again.items, l.items);
}

#[test]
fn dfdc_keeps_fakes_with_their_originals_and_reads_the_test_labels() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    // Originals o0..o19 in part 0; their fakes spread over parts 0 and 1.
    let mut meta0 = serde_json::Map::new();
    let mut meta1 = serde_json::Map::new();
    for i in 0..20 {
        touch(r, &format!("dfdc_train_part_0/o{i}.mp4"));
        meta0.insert(
            format!("o{i}.mp4"),
            serde_json::json!({"label": "REAL", "split": "train", "original": null}),
        );
        for (j, (part, meta)) in [(0, &mut meta0), (1, &mut meta1)].into_iter().enumerate() {
            touch(r, &format!("dfdc_train_part_{part}/f{i}_{j}.mp4"));
            meta.insert(
                format!("f{i}_{j}.mp4"),
                serde_json::json!({"label": "FAKE", "split": "train", "original": format!("o{i}.mp4")}),
            );
        }
    }
    meta1.insert(
        "gone.mp4".into(),
        serde_json::json!({"label": "FAKE", "split": "train", "original": "o1.mp4"}),
    );
    touch(r, "dfdc_train_part_1/stray.mp4");
    for (part, meta) in [(0, &meta0), (1, &meta1)] {
        write(
            r,
            &format!("dfdc_train_part_{part}/metadata.json"),
            &serde_json::Value::Object(meta.clone()).to_string(),
        );
    }
    let opts = ListOptions {
        val_frac: 0.3,
        test_frac: 0.3,
        ..ListOptions::default()
    };
    let l = Layout::Dfdc.list(r, &opts).unwrap();
    assert_eq!(l.items.len(), 60);
    let mut splits = std::collections::BTreeSet::new();
    for i in 0..20 {
        let real = find(&l, &format!("dfdc_train_part_0/o{i}"));
        assert_eq!((real.label, real.domain.as_str()), (0, "real"));
        for (part, j) in [(0, 0), (1, 1)] {
            let fake = find(&l, &format!("dfdc_train_part_{part}/f{i}_{j}"));
            assert_eq!((fake.label, fake.domain.as_str()), (1, "dfdc"));
            assert_eq!(
                fake.splits, real.splits,
                "a fake and its original share a split"
            );
        }
        splits.insert(real.splits[0]);
    }
    assert_eq!(
        splits.len(),
        3,
        "20 originals at 0.4/0.3/0.3 fill every split"
    );
    let skipped: Vec<(&str, Reason)> = l
        .skipped
        .iter()
        .map(|s| (s.source.as_str(), s.reason))
        .collect();
    assert!(skipped.contains(&("dfdc_train_part_1/gone.mp4", Reason::Missing)));
    assert!(skipped.contains(&("dfdc_train_part_1/stray.mp4", Reason::NotInSplits)));

    // With the public test set, the training parts give train and val only.
    touch(r, "test_videos/t0.mp4");
    touch(r, "test_videos/t1.mp4");
    write(
        r,
        "labels.csv",
        "filename,label\nt0.mp4,1\nt1.mp4,0\nt2.mp4,1\n",
    );
    let l = Layout::Dfdc.list(r, &opts).unwrap();
    assert_eq!(
        summary(find(&l, "test_videos/t0")),
        (1, "dfdc", vec![Split::Test])
    );
    assert_eq!(
        summary(find(&l, "test_videos/t1")),
        (0, "real", vec![Split::Test])
    );
    assert!(l
        .items
        .iter()
        .filter(|i| i.video.starts_with("dfdc_train"))
        .all(|i| i.splits != [Split::Test]));
    assert!(l.skipped.iter().any(|s| s.source == "test_videos/t2.mp4"));

    write(r, "labels.csv", "filename,label\nt0.mp4,maybe\n");
    let e = Layout::Dfdc.list(r, &opts).unwrap_err().to_string();
    assert!(e.contains("labels.csv:2:") && e.contains("maybe"), "{e}");
    std::fs::remove_file(r.join("labels.csv")).unwrap();
    write(
        r,
        "dfdc_train_part_1/metadata.json",
        r#"{"x.mp4": {"label": "UNSURE"}}"#,
    );
    let e = Layout::Dfdc.list(r, &opts).unwrap_err().to_string();
    assert!(e.contains("metadata.json") && e.contains("UNSURE"), "{e}");
}
