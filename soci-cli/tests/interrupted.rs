//! A conversion into a new layout killed mid-way leaves its staging folder beside the target;
//! the next run into the same target removes it and says so.

mod common;

use std::time::{Duration, Instant};

use common::*;

fn staging_folders(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".new.partial-")
        })
        .collect()
}

#[test]
fn the_staging_folder_of_a_killed_conversion_is_removed_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    // The big layer becomes a FIFO nobody writes to: the conversion blocks reading it, after
    // it has started writing the new layout.
    let layer = largest_blob(&layout);
    let original = std::fs::read(&layer).unwrap();
    std::fs::remove_file(&layer).unwrap();
    let status = std::process::Command::new("mkfifo").arg(&layer).status();
    assert!(status.unwrap().success(), "mkfifo (coreutils)");
    let source = format!("oci:{}:latest", layout.display());
    let target = format!("oci:{}", dir.path().join("new").display());
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("socix"))
        .args(["convert", &source, &target, "-q"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while staging_folders(dir.path()).is_empty() {
        assert!(Instant::now() < deadline, "no staging folder appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGKILL: no destructor, no handler runs.
    child.kill().unwrap();
    child.wait().unwrap();
    let left = staging_folders(dir.path());
    assert_eq!(left.len(), 1, "the killed run left its folder");

    std::fs::remove_file(&layer).unwrap();
    std::fs::write(&layer, original).unwrap();
    let text = stdout(socix().args(["convert", &source, &target]));
    assert!(
        text.starts_with(&format!(
            "Removed {}, left by an interrupted run",
            left[0].display()
        )),
        "{text}"
    );
    assert!(staging_folders(dir.path()).is_empty());
    let report = json(socix().args(["convert", &source, &target, "--json"]));
    assert!(report.get("reclaimed_staging").is_none(), "{report}");
}
