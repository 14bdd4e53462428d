//! Milliseconds per online forgery, by method and crop side: what the training loader's
//! workers spend per fake (online forgeries are made on the crops at `data.online.size`).
//!
//!     cargo run --release --example forge_speed -- FACE.png [FACE.png ...]
use crossdf::data::image::{load_gray, resize_gray};
use crossdf::data::online::forge;
use crossdf::face::align::DEFAULT_MARGIN;
use crossdf::synth::methods::all_methods;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(
        paths.len() >= 2,
        "usage: forge_speed FACE.png FACE.png [...]"
    );
    let faces = paths
        .iter()
        .map(|p| load_gray(p.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    for side in [128u32, 160, 224] {
        let crops: Vec<_> = faces.iter().map(|f| resize_gray(f, side)).collect();
        for m in all_methods() {
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            let rounds = 40;
            let t = Instant::now();
            for k in 0..rounds {
                let target = &crops[k % crops.len()];
                let donor = &crops[(k + 1) % crops.len()];
                forge(m.as_ref(), target, donor, DEFAULT_MARGIN, &mut rng)?;
            }
            let ms = t.elapsed().as_secs_f64() * 1e3 / rounds as f64;
            println!("{side:>4} px  {:<14} {ms:7.2} ms", m.name());
        }
    }
    Ok(())
}
