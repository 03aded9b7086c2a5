//! What socix suggests can be run as printed: references in skopeo's other transports are
//! refused with the copy that makes them readable, and hints, `Next:` lines and "did you mean"
//! name commands and references that work (quoted for the shell when they need it).

mod common;

use common::*;

#[test]
fn other_skopeo_transports_are_refused_with_the_copy_to_make() {
    for (reference, copy) in [
        (
            "docker-archive:/tmp/x.tar",
            "skopeo copy docker-archive:/tmp/x.tar oci:/tmp/x:latest",
        ),
        (
            "docker-archive:/tmp/my dir/x.tar:app:1.0",
            "skopeo copy 'docker-archive:/tmp/my dir/x.tar:app:1.0' 'oci:/tmp/my dir/x:1.0'",
        ),
        (
            "docker-daemon:app:1.0",
            "skopeo copy docker-daemon:app:1.0 oci:/tmp/app:1.0",
        ),
        (
            "containers-storage:quay.io/team/app:v2",
            "skopeo copy containers-storage:quay.io/team/app:v2 oci:/tmp/app:v2",
        ),
        ("dir:/tmp/d", "skopeo copy dir:/tmp/d oci:/tmp/d-oci:latest"),
    ] {
        let transport = &reference[..=reference.find(':').unwrap()];
        for args in [
            &["convert", reference][..],
            &["index", "list", reference],
            &["ztoc", "info", reference],
        ] {
            let stderr = fails(
                socix().args(args),
                2,
                &[&format!("{transport} ("), "socix does not read", copy],
            );
            assert!(!stderr.contains("https://"), "{stderr}");
            assert!(!stderr.contains("no file of that name"), "{stderr}");
        }
    }
}

#[test]
fn docker_transport_references_are_registry_references() {
    // Port 1 refuses: the error names the registry, not a host called `docker`.
    let stderr = fails(
        socix().args(["index", "list", "docker://127.0.0.1:1/team/app:1.0"]),
        1,
        &["://127.0.0.1:1/v2/team/app/manifests/1.0"],
    );
    assert!(!stderr.contains("docker:/"), "{stderr}");
    // A registry host that happens to be called `dir`, with its port.
    let stderr = fails(
        socix().args(["index", "list", "--plain-http", "dir:1/app"]),
        1,
        &["http://dir:1/v2/app/manifests/latest"],
    );
    assert!(!stderr.contains("socix does not read"), "{stderr}");
}

/// The command between the first pair of backticks of `text`, as printed.
fn suggested(text: &str) -> &str {
    let start = text
        .find('`')
        .unwrap_or_else(|| panic!("no command in {text:?}"))
        + 1;
    let len = text[start..].find('`').unwrap();
    &text[start..start + len]
}

/// Runs a suggested `socix …` command line through the shell, as a user pasting it would
/// (`PATH` for `--prefetch-file PATH`), and returns its stdout.
fn run_suggested(command: &str) -> String {
    let socix = assert_cmd::cargo::cargo_bin("socix");
    let rest = command
        .strip_prefix("socix ")
        .unwrap_or_else(|| panic!("not a socix command: {command}"))
        .replace(" PATH", " /etc/os-release");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("'{}' {rest}", socix.display()))
        .env("DOCKER_CONFIG", "/nonexistent/socix-tests")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{command}: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `cmd`, expects success, and returns its stderr.
fn stderr_of(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.assert().success().get_output().stderr.clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn hints_on_a_converted_image_name_its_source_quoted() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "my images");
    let source = format!("oci:{}:latest", layout.display());
    stdout(socix().args(["convert", &source, "-q"]));
    let converted = format!("{source}-soci");

    // No prefetch artifact: convert the source with --prefetch-file (convert refuses -soci).
    let note = stderr_of(socix().args(["prefetch", "list", &converted]));
    let command = suggested(&note);
    assert_eq!(
        command,
        format!("socix convert '{source}' --prefetch-file PATH")
    );
    run_suggested(command);
    let listed = stdout(socix().args(["prefetch", "list", &converted]));
    assert_eq!(listed.lines().count(), 2, "{listed}");

    // No SOCI index for a platform of the converted image: its source converted again.
    let note = stderr_of(socix().args(["index", "list", &converted, "--platform", "linux/arm64"]));
    assert_eq!(suggested(&note), format!("socix convert '{source}'"));
    run_suggested(suggested(&note));

    // A path without oci: gets a reference that can be pasted.
    let path = format!("{}:latest", layout.display());
    fails(
        socix().args(["index", "list", &path]),
        2,
        &[&format!("did you mean '{source}'?")],
    );
}

#[test]
fn registry_hints_keep_the_flags_that_reached_it() {
    let registry = soci_registry::testing::TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let image = pushed_sample(&registry, dir.path());
    let note = stderr_of(socix().args(["index", "list", &image, "--plain-http"]));
    assert!(
        note.contains(&format!("`socix create {image} --plain-http`")),
        "{note}"
    );
    let text = run_suggested(suggested(&note));
    assert!(text.contains("tagged v1-soci"), "{text}");
    let converted = format!("{image}-soci");
    let note = stderr_of(socix().args(["prefetch", "list", &converted, "--insecure"]));
    assert_eq!(
        suggested(&note),
        format!("socix convert {image} --plain-http --prefetch-file PATH")
    );
    run_suggested(suggested(&note));
}

#[test]
fn the_sample_image_takes_only_a_tag_convert_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sample");
    let target = target.to_str().unwrap();
    fails(
        socix().args(["sample-image", target, "--tag", "latest-soci"]),
        2,
        &["names a conversion's result"],
    );
    fails(
        socix().args(["sample-image", target, "--tag", "bad tag"]),
        2,
        &["not a valid tag"],
    );
    assert!(!dir.path().join("sample").exists());
    // The Next line runs as printed, from a directory with a space in its name.
    let spaced = dir.path().join("my sample");
    let text = stdout(
        socix()
            .arg("sample-image")
            .arg(&spaced)
            .args(["--tag", "v1"]),
    );
    let next = text
        .lines()
        .find_map(|l| l.strip_prefix("Next: "))
        .unwrap_or_else(|| panic!("no Next line: {text}"));
    assert_eq!(next, format!("socix convert 'oci:{}:v1'", spaced.display()));
    let converted = run_suggested(next);
    assert!(converted.contains("tagged v1-soci"), "{converted}");
}
