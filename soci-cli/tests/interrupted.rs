//! A conversion into a new layout killed mid-way leaves its staging folder beside the target;
//! the next run into the same target removes it and says so. One stopped by SIGINT or SIGTERM
//! leaves nothing: not its archive's unpacked copy in the temporary directory, not the output.

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

/// What is in a directory, by name.
fn names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_signal_stops_a_conversion_and_leaves_no_temporary_directory() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let mut tar = tar::Builder::new(Vec::new());
    tar.append_dir_all(".", &layout).unwrap();
    let archive_bytes = tar.into_inner().unwrap();
    // The archive is a FIFO: socix has made its temporary directory and waits, in the open,
    // for the archive to be written, when it is signalled.
    let archive = dir.path().join("img.tar");
    let status = std::process::Command::new("mkfifo").arg(&archive).status();
    assert!(status.unwrap().success(), "mkfifo (coreutils)");
    let source = format!("oci-archive:{}:latest", archive.display());
    let output = dir.path().join("out.tar");
    let target = format!("oci-archive:{}", output.display());
    for (signal, code, json) in [("INT", 130, false), ("TERM", 143, true)] {
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let mut args = vec!["convert", &source, &target, "--tag", "intr"];
        if json {
            args.push("--json");
        }
        let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("socix"))
            .args(&args)
            .env("TMPDIR", &tmp)
            .env("DOCKER_CONFIG", "/nonexistent/socix-tests")
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while names(&tmp).is_empty() {
            assert!(Instant::now() < deadline, "no temporary directory appeared");
            std::thread::sleep(Duration::from_millis(10));
        }
        let kill = std::process::Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status();
        assert!(kill.unwrap().success(), "kill (procps)");
        // The archive, from a thread: opening a FIFO waits for its reader, which a socix
        // killed by the signal never becomes (socix stops reading once unpacked, so a short
        // write is fine).
        let writer = {
            let (archive, bytes) = (archive.clone(), archive_bytes.clone());
            std::thread::spawn(move || {
                let mut fifo = std::fs::OpenOptions::new()
                    .write(true)
                    .open(archive)
                    .unwrap();
                let _ = std::io::Write::write_all(&mut fifo, &bytes);
            })
        };
        let out = child.wait_with_output().unwrap();
        // A writer still waiting for a reader meets one here, then fails to write (no reader
        // left) and ends. The opens do not wait (O_NONBLOCK): socix may have met the writer
        // already, and the writer may not have reached its open yet.
        while !writer.is_finished() {
            use std::os::unix::fs::OpenOptionsExt;
            const O_NONBLOCK: i32 = 0o4000; // Linux's value, on every architecture we run on.
            drop(
                std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(O_NONBLOCK)
                    .open(&archive),
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        writer.join().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {stderr}");
        assert!(
            stderr.contains(&format!("socix: interrupted (SIG{signal})")),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(names(&tmp), Vec::<String>::new(), "SIG{signal} left these");
        assert_eq!(names(dir.path()), ["img", "img.tar", "tmp"], "no output");
        if json {
            let document: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(
                document["error"]
                    .as_str()
                    .unwrap()
                    .starts_with("interrupted (SIGTERM)"),
                "{document}"
            );
        }
        std::fs::remove_dir(&tmp).unwrap();
    }
}

/// Synchronous work (`ztoc create` reading its layer) runs off the async threads, so a signal
/// stops the command while it runs, not once it ends; its output is not written.
#[test]
fn a_signal_stops_a_ztoc_being_built() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("layer.ztoc");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("socix"))
        .args(["ztoc", "create", "-", "-o"])
        .arg(&output)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first bytes of a layer, then nothing: socix waits for the rest.
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, &[0x1f, 0x8b, 8, 0]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    assert!(kill.unwrap().success(), "kill (procps)");
    // The layer ends short, which the abandoned build then finds out.
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("socix: interrupted (SIGINT)"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!output.exists());
}
