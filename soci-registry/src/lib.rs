//! OCI distribution client, ECR authentication, OCI image layouts on disk, and the pipeline that
//! streams layers into `soci-ztoc` and pushes the results.
//!
//! Not yet implemented: see the project's issue tracker.
