//! Staging folders of new layouts: a layout that does not exist yet is assembled in a folder
//! beside its target and renamed into place on commit. Each folder holds a lock file, locked
//! (`flock`) for as long as its writer lives; the kernel drops the lock when the process ends,
//! however it ends. So a folder whose lock can be taken belongs to a writer that died (Ctrl-C,
//! a kill, a crash) and is removed by the next writer of the same target, instead of staying
//! beside it for good.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::RegistryError;

/// The lock file inside a staging folder; removed just before the folder becomes the layout.
const LOCK_FILE: &str = ".socix-staging.lock";

/// A staging folder, locked while this value lives.
pub(crate) struct Staging {
    /// The folder.
    pub(crate) path: PathBuf,
    lock: Option<File>,
}

impl Staging {
    /// A new, locked staging folder for `target`, after removing the folders of writers of
    /// `target` that died (returned, for the user to hear about).
    pub(crate) fn create(target: &Path) -> Result<(Staging, Vec<PathBuf>), RegistryError> {
        let parent = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let name = target
            .file_name()
            .map_or("layout".into(), |n| n.to_string_lossy().into_owned());
        let prefix = format!(".{name}.partial-");
        let reclaimed = reclaim(parent, &prefix);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RegistryError::Io { path, source }
        };
        let path = crate::layout::shared(tempfile::Builder::new().prefix(&prefix), 0o777)
            .tempdir_in(parent)
            .map_err(io(parent))?
            .keep();
        // Locked under another name, then renamed: the lock file never exists unlocked, so no
        // other writer can take a live folder for a dead writer's.
        let fresh = path.join(".socix-staging.lock.new");
        let lock = File::create(&fresh).map_err(io(&fresh))?;
        lock.try_lock().map_err(|e| RegistryError::Io {
            path: fresh.clone(),
            source: e.into(),
        })?;
        let lock_path = path.join(LOCK_FILE);
        std::fs::rename(&fresh, &lock_path).map_err(io(&lock_path))?;
        let staging = Staging {
            path,
            lock: Some(lock),
        };
        Ok((staging, reclaimed))
    }

    /// Removes the lock file, then unlocks, before the folder is renamed into the layout: while
    /// the file can be found it is locked, so no other writer takes the folder for a dead one's.
    pub(crate) fn release(&mut self) -> Result<(), RegistryError> {
        if self.lock.is_some() {
            let lock_path = self.path.join(LOCK_FILE);
            std::fs::remove_file(&lock_path).map_err(|source| RegistryError::Io {
                path: lock_path.to_path_buf(),
                source,
            })?;
            // Closing the file unlocks it.
            self.lock = None;
        }
        Ok(())
    }
}

/// Removes the staging folders named `prefix…` in `parent` whose lock can be taken. A folder
/// without a lock file is left alone: it is being committed, or was not made by this code.
fn reclaim(parent: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut reclaimed = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = entry.file_name().to_string_lossy().starts_with(prefix);
        if !ours || !path.is_dir() {
            continue;
        }
        let lock_path = path.join(LOCK_FILE);
        let Ok(lock) = File::open(&lock_path) else {
            continue;
        };
        // Locked here, and still the folder's lock file: a file opened just before its writer
        // removed it (to commit) is unlocked a moment later, but no longer there.
        let dead = lock.try_lock().is_ok() && same_file(&lock, &lock_path);
        if dead && std::fs::remove_dir_all(&path).is_ok() {
            reclaimed.push(path);
        }
    }
    reclaimed
}

/// Whether `file` is the file at `path` now.
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_of_dead_writers_are_reclaimed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("new");
        let (mut live, none) = Staging::create(&target).unwrap();
        assert!(none.is_empty());
        // A writer that died: its folder and lock file remain, nobody holds the lock.
        let dead = dir.path().join(".new.partial-dead");
        std::fs::create_dir_all(dead.join("blobs/sha256")).unwrap();
        std::fs::write(dead.join("blobs/sha256/big"), vec![0u8; 4096]).unwrap();
        File::create(dead.join(LOCK_FILE)).unwrap();
        // Not ours: no lock file, or another target's prefix.
        let foreign = dir.path().join(".new.partial-foreign");
        std::fs::create_dir(&foreign).unwrap();
        let other = dir.path().join(".newer.partial-x");
        std::fs::create_dir(&other).unwrap();
        File::create(other.join(LOCK_FILE)).unwrap();

        let (second, reclaimed) = Staging::create(&target).unwrap();
        assert_eq!(reclaimed, std::slice::from_ref(&dead));
        assert!(!dead.exists());
        assert!(live.path.exists(), "a live writer's folder is kept");
        assert!(foreign.exists() && other.exists());
        assert_ne!(second.path, live.path);

        live.release().unwrap();
        assert!(!live.path.join(LOCK_FILE).exists());
        // Released but not yet renamed: no lock file, so never taken for a dead writer's.
        let (_third, reclaimed) = Staging::create(&target).unwrap();
        assert!(!reclaimed.contains(&live.path), "{reclaimed:?}");
        assert!(live.path.exists());
    }

    #[test]
    fn a_lock_file_opened_just_before_its_writer_commits_is_not_taken_for_a_dead_one() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, _) = Staging::create(&dir.path().join("new")).unwrap();
        let lock_path = writer.path.join(LOCK_FILE);
        // Another writer's reclaim opened the lock file, then this one released it to commit.
        let opened = File::open(&lock_path).unwrap();
        assert!(opened.try_lock().is_err(), "locked while the writer lives");
        writer.release().unwrap();
        assert!(opened.try_lock().is_ok(), "unlocked once released");
        assert!(
            !same_file(&opened, &lock_path),
            "but no longer the folder's lock file"
        );
        assert!(writer.path.exists());
        // Only the final name is looked at, and it only ever appears locked.
        assert!(!writer.path.join(".socix-staging.lock.new").exists());
    }
}
