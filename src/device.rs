//! `--device` values: `cpu` (default), `cuda`, `cuda:N`.
//!
//! Parsing and resolving are apart: a typo is refused while the command line is read, with
//! the choices listed; whether libtorch sees that GPU is asked only by commands that use one.
use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;
use tch::Device;

/// A device as the user named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceSpec {
    #[default]
    Cpu,
    Cuda(usize),
}

impl FromStr for DeviceSpec {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "cpu" => Ok(DeviceSpec::Cpu),
            "cuda" => Ok(DeviceSpec::Cuda(0)),
            _ => match s.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(i)) => Ok(DeviceSpec::Cuda(i)),
                _ => Err(format!(
                    "unknown device `{s}`: choose one of cpu, cuda, cuda:N (N = 0, 1, ...)"
                )),
            },
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Cpu => f.write_str("cpu"),
            DeviceSpec::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl DeviceSpec {
    /// The libtorch device, when libtorch sees it.
    pub fn resolve(self) -> Result<Device> {
        match self {
            DeviceSpec::Cpu => Ok(Device::Cpu),
            DeviceSpec::Cuda(i) if (tch::Cuda::device_count() as usize) > i => Ok(Device::Cuda(i)),
            DeviceSpec::Cuda(_) => Err(Error::invalid(format!(
                "--device {self}: libtorch sees {} CUDA device(s); a CUDA build of libtorch \
                 (set LIBTORCH) and a GPU are needed",
                tch::Cuda::device_count()
            ))),
        }
    }
}

/// Parses and resolves in one step.
pub fn parse(s: &str) -> Result<Device> {
    s.parse::<DeviceSpec>().map_err(Error::invalid)?.resolve()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print_back_and_typos_list_the_choices() {
        for (s, d) in [
            ("cpu", DeviceSpec::Cpu),
            ("cuda", DeviceSpec::Cuda(0)),
            ("cuda:3", DeviceSpec::Cuda(3)),
        ] {
            assert_eq!(s.parse::<DeviceSpec>().unwrap(), d);
        }
        assert_eq!(DeviceSpec::Cuda(3).to_string(), "cuda:3");
        for bad in ["gpu", "CPU", "cuda:", "cuda:x", "cuda:-1", ""] {
            let e = bad.parse::<DeviceSpec>().unwrap_err();
            assert!(
                e.contains(&format!("`{bad}`")) && e.contains("cpu, cuda, cuda:N"),
                "{e}"
            );
        }
        assert_eq!(parse("cpu").unwrap(), Device::Cpu);
        if tch::Cuda::device_count() == 0 {
            let e = parse("cuda").unwrap_err().to_string();
            assert!(e.contains("sees 0 CUDA device(s)"), "{e}");
        }
    }
}
