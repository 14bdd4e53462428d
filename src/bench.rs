//! Throughput of a training step or of test-time scoring on synthetic input: median
//! images/s over timed steps after warm-up, and the process's peak resident memory.
use crate::did::{loss::did_loss, DidModel, LossConfig, ModelConfig};
use crate::error::Result;
use crate::train::optim::{Adam, OptimConfig};
use serde::Serialize;
use std::time::Instant;
use tch::{nn, Device, Kind, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Train,
    Infer,
}

#[derive(Debug, Serialize)]
pub struct BenchResult {
    pub mode: Mode,
    pub model: ModelConfig,
    pub batch: i64,
    pub device: String,
    pub threads: i32,
    pub warmup: usize,
    pub steps: usize,
    pub median_images_per_s: f64,
    pub step_seconds: Vec<f64>,
    /// Peak resident memory of the process (VmHWM), MiB; host memory only.
    pub peak_rss_mib: Option<f64>,
}

pub fn run(
    mode: Mode,
    model_cfg: &ModelConfig,
    batch: i64,
    warmup: usize,
    steps: usize,
    device: Device,
) -> Result<BenchResult> {
    tch::manual_seed(0);
    let vs = nn::VarStore::new(device);
    let num_domains = 4;
    let model = DidModel::new(&vs.root(), model_cfg, num_domains)?;
    let s = model_cfg.size;
    let x = Tensor::rand([batch, 1, s, s], (Kind::Float, device));
    // Half real, half fake, as the class-balanced sampler gives.
    let labels = Tensor::arange(batch, (Kind::Int64, device))
        .remainder(2)
        .to_kind(Kind::Float);
    let domains = Tensor::arange(batch, (Kind::Int64, device)).remainder(num_domains);
    let mut opt = Adam::new(&vs.variables(), OptimConfig::default());
    let loss_cfg = LossConfig::default();
    let mut times = Vec::with_capacity(steps);
    for i in 0..warmup + steps {
        let t0 = Instant::now();
        match mode {
            Mode::Train => {
                let out = model.forward_t(&x, true, 0.5);
                let terms = did_loss(&out, &labels, &domains, model_cfg.variant, &loss_cfg);
                opt.zero_grad();
                terms.total.backward();
                opt.step();
            }
            Mode::Infer => {
                let _g = tch::no_grad_guard();
                let _ = model.score(&x).to_device(Device::Cpu);
            }
        }
        if device.is_cuda() {
            tch::Cuda::synchronize(0);
        }
        if i >= warmup {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    Ok(BenchResult {
        mode,
        model: model_cfg.clone(),
        batch,
        device: format!("{device:?}"),
        threads: tch::get_num_threads(),
        warmup,
        steps,
        median_images_per_s: batch as f64 / median,
        step_seconds: times,
        peak_rss_mib: peak_rss_mib(),
    })
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
