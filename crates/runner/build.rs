//! Stamps the binary with what `pglab --version` and every sweep's `machine.json` name: the git
//! commit it was built from (`unknown` outside a git checkout; `+dirty` with uncommitted
//! changes to tracked files) and the burn version from Cargo.lock.

use std::path::Path;
use std::process::Command;

fn main() {
    // Read when the script runs, not when it is compiled (`env!`): a target directory shared
    // with a checkout elsewhere can reuse this script compiled there, whose path is gone.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it");
    let root = Path::new(&manifest_dir).join("../..");
    // `--no-optional-locks`: the status below must not rewrite .git/index (git's own refresh).
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("--no-optional-locks")
            .args(args)
            .current_dir(&root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(hash) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            format!("{hash}{}", if dirty { "+dirty" } else { "" })
        }
        None => "unknown".into(),
    };
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let burn = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"burn\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
        .map_or("unknown".into(), |v| v.trim_matches('"').to_string());
    println!("cargo:rustc-env=PGLAB_COMMIT={commit}");
    println!("cargo:rustc-env=PGLAB_BURN_VERSION={burn}");
    // A new commit (the branch's ref moves, or HEAD to another branch) or a changed Cargo.lock
    // restamps; edits to tracked files between commits do not rerun this (the `+dirty` mark is
    // as of the last rerun). Not .git/index: a plain `git status` rewrites it, and every build
    // after one recompiled the runner (27 s between `just sweep`'s pretraining and its sweep).
    let branch = git(&["symbolic-ref", "-q", "HEAD"]).map(|r| format!(".git/{r}"));
    let watched = [".git/HEAD", ".git/packed-refs", "Cargo.lock"]
        .map(String::from)
        .into_iter()
        .chain(branch);
    for path in watched {
        // A path that does not exist would rerun this on every build.
        if root.join(&path).exists() {
            println!("cargo:rerun-if-changed={}", root.join(&path).display());
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
