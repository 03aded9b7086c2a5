//! SOCI index manifests (V1 and V2), the layer policy that decides which layers get a zTOC, and the
//! documents of a V2 ("SOCI-enabled") image conversion.
//!
//! Not yet implemented: see the project's issue tracker.
