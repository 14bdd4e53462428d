//! `--device` values: `cpu` (default), `cuda`, `cuda:N`.
use crate::error::{Error, Result};
use tch::Device;

pub fn parse(s: &str) -> Result<Device> {
    let cuda = |i: usize| {
        if tch::Cuda::device_count() as usize > i {
            Ok(Device::Cuda(i))
        } else {
            Err(Error::invalid(format!(
                "--device {s}: libtorch sees {} CUDA device(s); a CUDA build of libtorch \
                 (set LIBTORCH) and a GPU are needed",
                tch::Cuda::device_count()
            )))
        }
    };
    match s {
        "cpu" => Ok(Device::Cpu),
        "cuda" => cuda(0),
        _ => match s.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(i)) => cuda(i),
            _ => Err(Error::invalid(format!(
                "unknown device `{s}`; expected cpu, cuda or cuda:N"
            ))),
        },
    }
}
