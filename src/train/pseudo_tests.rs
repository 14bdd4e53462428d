use super::*;

/// `n` points around each of `centres`, unit length after normalising.
fn blobs(centres: &[[f32; 3]], n: usize, seed: u64) -> (Vec<Vec<f32>>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = Vec::new();
    let mut truth = Vec::new();
    for (k, c) in centres.iter().enumerate() {
        for _ in 0..n {
            rows.push(
                c.iter()
                    .map(|v| v + rng.random_range(-0.05..0.05))
                    .collect(),
            );
            truth.push(k);
        }
    }
    normalise(&mut rows);
    (rows, truth)
}

const THREE: [[f32; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

#[test]
fn names_parse_and_print_back() {
    for s in ["labels", "cluster", "cluster:2", "cluster:6", "none"] {
        assert_eq!(s.parse::<Domains>().unwrap().to_string(), s);
    }
    for bad in ["cluster:1", "cluster:7", "cluster:", "clusters", ""] {
        let e = bad.parse::<Domains>().unwrap_err();
        assert!(e.contains("choose labels, cluster"), "{e}");
    }
}

#[test]
fn kmeans_finds_separated_blobs_and_the_same_ones_under_the_same_seed() {
    let (rows, truth) = blobs(&THREE, 20, 1);
    let a = kmeans(&rows, 3, None, 7).unwrap();
    assert_eq!(a, kmeans(&rows, 3, None, 7).unwrap());
    let labels = assign(&rows, &a);
    assert!((adjusted_rand_index(&labels, &truth) - 1.0).abs() < 1e-12);
    // Refitting from its own centroids keeps every index where it was.
    let again = kmeans(&rows, 3, Some(&a), 99).unwrap();
    assert_eq!(assign(&rows, &again), labels);
}

#[test]
fn k_is_chosen_by_silhouette() {
    let (rows, _) = blobs(&THREE, 15, 2);
    assert_eq!(fit(&rows, None, 3).unwrap().len(), 3);
    let two = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];
    let (rows, _) = blobs(&two, 15, 2);
    assert_eq!(fit(&rows, None, 3).unwrap().len(), 2);
    assert_eq!(fit(&rows, Some(4), 3).unwrap().len(), 4);
}

/// Silhouette by hand on four points on a line: clusters {0, 1} and {4, 5}.
#[test]
fn silhouette_matches_hand_computation() {
    let rows: Vec<Vec<f32>> = [0.0, 1.0, 4.0, 5.0].iter().map(|&x| vec![x]).collect();
    let labels = [0, 0, 1, 1];
    // Point 0: a = 1, b = (4 + 5) / 2 = 4.5, s = 3.5 / 4.5; point 1: a = 1, b = 3.5,
    // s = 2.5 / 3.5; the other two mirror them.
    let want = (3.5 / 4.5 + 2.5 / 3.5) / 2.0;
    assert!((silhouette(&rows, &labels, 2) - want).abs() < 1e-9);
}

/// ARI against the formula worked by hand for a small table.
#[test]
fn adjusted_rand_index_matches_hand_computation() {
    // a: [0 0 0 1 1 1], b: [0 0 1 1 2 2]: table rows (2,1,0), (0,1,2).
    let a = [0, 0, 0, 1, 1, 1];
    let b = [0, 0, 1, 1, 2, 2];
    assert_eq!(confusion(&a, &b), vec![vec![2, 1, 0], vec![0, 1, 2]]);
    // index = C(2,2) + C(2,2) = 2; rows: 3 + 3 = 6; cols: 1 + 1 + 1 = 3; C(6,2) = 15;
    // expected = 6 * 3 / 15 = 1.2; max = 4.5; ARI = 0.8 / 3.3.
    assert!((adjusted_rand_index(&a, &b) - 0.8 / 3.3).abs() < 1e-12);
    // Renaming clusters changes nothing.
    assert!(
        (adjusted_rand_index(&a, &[5, 5, 5, 9, 9, 9].map(|x: usize| x - 5)) - 1.0).abs() < 1e-12
    );
}

#[test]
fn too_few_faces_is_an_error() {
    let (rows, _) = blobs(&THREE, 1, 0);
    let e = kmeans(&rows, 4, None, 0).unwrap_err().to_string();
    assert!(e.contains("3 fake faces cannot make 4 clusters"), "{e}");
}

/// A batch of `n` reals and `n` fakes whose GAP(I_os) rows sit near `THREE[i % 3]`.
fn batch(n: usize, seed: u64) -> (Tensor, Tensor, Tensor) {
    let (rows, truth) = blobs(&THREE, n, seed);
    let m = rows.len();
    let flat: Vec<f32> = rows.iter().chain(&rows).flatten().copied().collect();
    let feats = Tensor::from_slice(&flat).view([2 * m as i64, 3]);
    let labels: Vec<f32> = (0..2 * m).map(|i| if i < m { 0.0 } else { 1.0 }).collect();
    let methods: Vec<i64> = (0..2 * m)
        .map(|i| if i < m { 0 } else { truth[i - m] as i64 + 1 })
        .collect();
    (
        Tensor::from_slice(&labels),
        Tensor::from_slice(&methods),
        feats,
    )
}

#[test]
fn reals_stay_domain_0_fakes_are_ignored_until_the_fit_then_follow_their_cluster() {
    let mut p = Pseudo::new(Some(3), 4, 2);
    let (labels, methods, feats) = batch(4, 1);
    let first = Vec::<i64>::try_from(p.batch_domains(&labels, &methods, &feats).unwrap()).unwrap();
    assert_eq!(first[..12], [0; 12]);
    assert_eq!(first[12..], [IGNORE; 12]);
    p.after_step(1).unwrap();
    assert!(p.state().is_none(), "no fit before the warm-up's end");
    let _ = p.batch_domains(&labels, &methods, &feats).unwrap();
    p.after_step(2).unwrap();
    let (labels, methods, feats) = batch(4, 2);
    let later = Vec::<i64>::try_from(p.batch_domains(&labels, &methods, &feats).unwrap()).unwrap();
    assert_eq!(later[..12], [0; 12]);
    assert!(later[12..].iter().all(|d| (1..=3).contains(d)), "{later:?}");
    // The three true methods map one to one onto the three pseudo-domains.
    let given: Vec<usize> = later[12..].iter().map(|&d| d as usize).collect();
    let truth: Vec<usize> = (0..12).map(|i| i / 4).collect();
    assert!((adjusted_rand_index(&given, &truth) - 1.0).abs() < 1e-12);
    let log = p
        .end_epoch(&["real", "a", "b", "c"].map(String::from))
        .unwrap();
    assert_eq!(log["k"], 3);
    assert_eq!(log["fakes"], 36);
    assert!((log["adjusted_rand_index"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    assert_eq!(log["true_methods"], serde_json::json!(["a", "b", "c"]));
}

#[test]
fn resumed_centroids_assign_as_the_unbroken_run() {
    let mut p = Pseudo::new(None, 9, 1);
    let (labels, methods, feats) = batch(5, 3);
    let _ = p.batch_domains(&labels, &methods, &feats).unwrap();
    p.after_step(1).unwrap();
    let _ = p
        .end_epoch(&["real", "a", "b", "c"].map(String::from))
        .unwrap();
    let (key, t) = p.state().unwrap();
    let mut q = Pseudo::new(None, 9, 1);
    q.load(&HashMap::from([(key, t)])).unwrap();
    let (labels, methods, feats) = batch(5, 4);
    let a = p.batch_domains(&labels, &methods, &feats).unwrap();
    let b = q.batch_domains(&labels, &methods, &feats).unwrap();
    assert!(a.equal(&b));
}
