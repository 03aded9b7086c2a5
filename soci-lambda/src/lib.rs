//! AWS Lambda functions (filter and generator) of the SOCI index builder.
//!
//! Not yet implemented: see the project's issue tracker.
