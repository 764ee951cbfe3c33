//! One sweep at a time per output directory: `pglab sweep` holds an advisory lock on
//! `<sweep>/sweep.lock` while it runs. A whole sweep holds it exclusively; shards hold it shared
//! (shards of one grid may share a directory, since they run disjoint runs) plus an exclusive
//! lock of their own shard. The OS drops the locks when the process ends, however it ends, so a
//! killed sweep never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use anyhow::{Context, bail};

/// Held locks; dropping it releases them.
#[derive(Debug)]
pub struct SweepLock {
    _files: Vec<File>,
}

/// Locks the sweep directory `dir` for a whole sweep (`shard` None) or for shard (I, N).
pub fn lock(dir: &Path, shard: Option<(usize, usize)>) -> anyhow::Result<SweepLock> {
    let sweep = open(&dir.join("sweep.lock"))?;
    let taken = match shard {
        None => sweep.try_lock(),
        Some(_) => sweep.try_lock_shared(),
    };
    held_elsewhere(taken, dir, "a sweep or shard")?;
    let mut files = vec![sweep];
    if let Some((i, n)) = shard {
        let own = open(&dir.join(format!("shard-{i}-of-{n}.lock")))?;
        held_elsewhere(own.try_lock(), dir, &format!("shard {i}/{n}"))?;
        files.push(own);
    }
    Ok(SweepLock { _files: files })
}

/// Which sweeps hold `dir`'s locks now: a whole sweep, or the shards (I, N) that run. Only
/// looks: a shared lock taken and dropped at once, which a sweep starting at that instant would
/// see as busy (it then says so and exits).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Holders {
    pub whole: bool,
    pub shards: Vec<(usize, usize)>,
}

impl Holders {
    /// Whether run `index` of the grid belongs to a sweep or shard that is running.
    pub fn runs(&self, index: usize) -> bool {
        self.whole || self.shards.iter().any(|&(i, n)| index % n == i)
    }
}

pub fn holders(dir: &Path) -> Holders {
    let busy = |path: &Path| {
        File::open(path)
            .map(|f| matches!(f.try_lock_shared(), Err(TryLockError::WouldBlock)))
            .unwrap_or(false)
    };
    let whole = busy(&dir.join("sweep.lock"));
    let mut shards: Vec<(usize, usize)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let (i, n) = name
                .strip_prefix("shard-")?
                .strip_suffix(".lock")?
                .split_once("-of-")?;
            let shard = (i.parse().ok()?, n.parse().ok()?);
            busy(&entry.path()).then_some(shard)
        })
        .collect();
    shards.sort_unstable();
    Holders { whole, shards }
}

fn open(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("{}", path.display()))
}

fn held_elsewhere(taken: Result<(), TryLockError>, dir: &Path, what: &str) -> anyhow::Result<()> {
    match taken {
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => bail!(
            "{}: {what} is already running in this directory (another `pglab sweep` holds its \
             lock); wait for it to finish, or give this one another --out",
            dir.display()
        ),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("{}: cannot lock sweep.lock", dir.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_whole_sweep_is_refused_until_the_first_ends() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock(dir.path(), None).unwrap();
        let err = lock(dir.path(), None).unwrap_err().to_string();
        assert!(err.contains("already running in this directory"), "{err}");
        // A shard cannot start beside a whole sweep either.
        assert!(lock(dir.path(), Some((0, 2))).is_err());
        drop(first);
        lock(dir.path(), None).unwrap();
    }

    #[test]
    fn different_shards_share_a_directory_but_not_a_shard() {
        let dir = tempfile::tempdir().unwrap();
        let zero = lock(dir.path(), Some((0, 2))).unwrap();
        let one = lock(dir.path(), Some((1, 2))).unwrap();
        let err = lock(dir.path(), Some((0, 2))).unwrap_err().to_string();
        assert!(err.contains("shard 0/2 is already running"), "{err}");
        assert!(
            lock(dir.path(), None).is_err(),
            "a whole sweep waits for shards"
        );
        drop((zero, one));
        lock(dir.path(), None).unwrap();
    }

    #[test]
    fn holders_names_the_running_sweep_or_shards() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(holders(dir.path()), Holders::default());
        let whole = lock(dir.path(), None).unwrap();
        assert!(holders(dir.path()).whole);
        assert!(holders(dir.path()).runs(5));
        drop(whole);
        let one = lock(dir.path(), Some((1, 3))).unwrap();
        let seen = holders(dir.path());
        assert_eq!(
            seen,
            Holders {
                whole: false,
                shards: vec![(1, 3)]
            }
        );
        assert!(seen.runs(4) && !seen.runs(3));
        drop(one);
        assert_eq!(holders(dir.path()), Holders::default());
    }
}
