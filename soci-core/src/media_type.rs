//! Every media type this project reads or writes, in one place.

/// An OCI image manifest (also the manifest type of SOCI indexes).
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// An OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// An OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Docker's image manifest (schema 2).
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker's manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker's image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker's image manifest schema 1, which has no config and no layer sizes.
pub const DOCKER_SCHEMA1_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Docker's signed image manifest schema 1.
pub const DOCKER_SCHEMA1_SIGNED_MANIFEST: &str =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
/// The OCI 1.1 release candidates' artifact manifest: an artifact, never an image.
pub const OCI_ARTIFACT_MANIFEST: &str = "application/vnd.oci.artifact.manifest.v1+json";
/// Config media type (artifact type) of a SOCI index V1.
pub const SOCI_INDEX_V1: &str = "application/vnd.amazon.soci.index.v1+json";
/// Config media type (artifact type) of a SOCI index V2.
pub const SOCI_INDEX_V2: &str = "application/vnd.amazon.soci.index.v2+json";
/// Media type of zTOC blobs.
pub const ZTOC_MEDIA_TYPE: &str = "application/octet-stream";
/// Media type of SOCI prefetch artifacts.
pub const PREFETCH_MEDIA_TYPE: &str = "application/vnd.amazon.soci.prefetch.v1+json";
