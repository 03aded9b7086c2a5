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
