//! The machine a run ran on, recorded beside its results (`machine.json` in the sweep directory
//! and in every run's): what decides whether a result reproduces bit for bit elsewhere.
//!
//! Why these fields: burn-flex multiplies matrices with the `gemm` crate, which picks its
//! blocking from the cache sizes the kernel reports (`/sys/devices/system/cpu/*/cache`, read the
//! same way here) and its kernels from the CPU's SIMD features; a different blocking or kernel
//! sums in another order and changes results in the last bits, which sampling then amplifies.
//! The same build, backend, thread count and these CPU figures reproduce a run exactly.

use std::path::Path;

use serde::Serialize;

/// What a result depends on besides its settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    pub cpu_model: String,
    /// The SIMD features gemm and burn choose kernels by (those present).
    pub cpu_features: Vec<String>,
    /// Data and unified caches of CPU 0, as the kernel reports them.
    pub caches: Vec<Cache>,
    /// Threads the process may use.
    pub threads: usize,
    pub os: &'static str,
    pub arch: &'static str,
    pub pglab_version: &'static str,
    /// `release` or `debug`: optimisation changes floating-point results too.
    /// The git commit the binary was built from (build.rs).
    pub commit: &'static str,
    pub build: &'static str,
    pub backend: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cache {
    pub level: u32,
    pub kind: String,
    pub size: String,
    pub ways: String,
    pub line_bytes: String,
    pub shared_cpu_list: String,
}

/// The SIMD features worth recording (x86-64 and aarch64 names).
const FEATURES: [&str; 10] = [
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_fp16",
    "neon",
];

impl Machine {
    /// This machine, running `backend`.
    pub fn current(backend: &str) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            cpuinfo
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        };
        let flags = field("flags")
            .or_else(|| field("Features"))
            .unwrap_or_default();
        let flags: Vec<&str> = flags.split_whitespace().collect();
        Self {
            cpu_model: field("model name").unwrap_or_else(|| "unknown".into()),
            cpu_features: FEATURES
                .iter()
                .filter(|f| flags.contains(f) || (**f == "neon" && flags.contains(&"asimd")))
                .map(|f| f.to_string())
                .collect(),
            caches: caches(Path::new("/sys/devices/system/cpu/cpu0/cache")),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
            pglab_version: env!("CARGO_PKG_VERSION"),
            commit: env!("PGLAB_COMMIT"),
            build: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            backend: backend.to_string(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// The data and unified caches under `dir` (`index0`, `index1`, …), by level.
fn caches(dir: &Path) -> Vec<Cache> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut caches: Vec<Cache> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("index"))
        })
        .filter_map(|p| {
            let read = |name: &str| {
                std::fs::read_to_string(p.join(name))
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default()
            };
            let kind = read("type");
            (kind == "Data" || kind == "Unified").then(|| Cache {
                level: read("level").parse().unwrap_or(0),
                kind,
                size: read("size"),
                ways: read("ways_of_associativity"),
                line_bytes: read("coherency_line_size"),
                shared_cpu_list: read("shared_cpu_list"),
            })
        })
        .collect();
    caches.sort_by_key(|c| c.level);
    caches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_are_read_by_level_skipping_instruction_caches() {
        let dir = tempfile::tempdir().unwrap();
        for (index, level, kind, size) in [
            ("index0", "1", "Data", "32K"),
            ("index1", "1", "Instruction", "64K"),
            ("index3", "3", "Unified", "8192K"),
            ("index2", "2", "Unified", "512K"),
        ] {
            let d = dir.path().join(index);
            std::fs::create_dir(&d).unwrap();
            for (name, value) in [
                ("level", level),
                ("type", kind),
                ("size", size),
                ("ways_of_associativity", "8"),
                ("coherency_line_size", "64"),
                ("shared_cpu_list", "0"),
            ] {
                std::fs::write(d.join(name), format!("{value}\n")).unwrap();
            }
        }
        let caches = caches(dir.path());
        let got: Vec<(u32, &str, &str)> = caches
            .iter()
            .map(|c| (c.level, c.kind.as_str(), c.size.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (1, "Data", "32K"),
                (2, "Unified", "512K"),
                (3, "Unified", "8192K")
            ]
        );
        assert_eq!(caches[0].ways, "8");
    }
}
