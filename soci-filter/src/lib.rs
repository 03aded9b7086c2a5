//! The `repository:tag` filter language of the SOCI index builder and the ECR "Image Action" event
//! model with its validation rules.
//!
//! Not yet implemented: see the project's issue tracker.
