//! The only file that names a backend: `--backend auto|flex|wgpu` → a burn `Device`.

use burn::prelude::Device;
use serde::{Deserialize, Serialize};

/// A compute backend a user can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// A hardware GPU through wgpu if there is one, else `flex`.
    Auto,
    /// burn's pure-Rust CPU backend (SIMD, multi-threaded with rayon).
    Flex,
    /// burn's portable GPU backend (Vulkan, Metal, DX12), on wgpu's default adapter.
    Wgpu,
}

/// A device and the name of the backend behind it, for logs and benchmark records.
pub struct Selected {
    pub device: Device,
    pub name: &'static str,
}

impl Backend {
    pub fn select(self) -> anyhow::Result<Selected> {
        match self {
            Backend::Flex => Ok(flex()),
            Backend::Wgpu => wgpu(),
            Backend::Auto => Ok(hardware_gpu().unwrap_or_else(flex)),
        }
    }
}

/// The CPU device, for work that needs no accelerator (loading models to check them before a
/// sweep starts).
pub fn cpu() -> Device {
    Device::flex()
}

fn flex() -> Selected {
    Selected {
        device: Device::flex(),
        name: "flex",
    }
}

#[cfg(feature = "wgpu")]
fn wgpu() -> anyhow::Result<Selected> {
    use burn::tensor::{DeviceKind, DeviceType};
    if burn::tensor::Device::enumerate(DeviceType::Wgpu)
        .into_vec()
        .is_empty()
    {
        anyhow::bail!(
            "--backend wgpu: no wgpu adapter found (install a Vulkan driver, e.g. Debian's \
             mesa-vulkan-drivers, or use --backend flex)"
        );
    }
    Ok(Selected {
        device: Device::wgpu(DeviceKind::DefaultDevice),
        name: "wgpu",
    })
}

#[cfg(not(feature = "wgpu"))]
fn wgpu() -> anyhow::Result<Selected> {
    anyhow::bail!("--backend wgpu: this pglab was built without the `wgpu` feature")
}

/// The first real GPU card wgpu can reach; software rasterisers (llvmpipe) do not count.
#[cfg(feature = "wgpu")]
fn hardware_gpu() -> Option<Selected> {
    let gpu = Device::enumerate_physical().into_iter().next()?;
    let device = gpu.devices.into_vec().into_iter().next()?;
    Some(Selected {
        device,
        name: "wgpu",
    })
}

#[cfg(not(feature = "wgpu"))]
fn hardware_gpu() -> Option<Selected> {
    None
}
