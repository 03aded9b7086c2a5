//! Why a generator run fails, with the reference's messages and a kind for Lambda's
//! `errorType`.

use std::time::Duration;

use soci_core::TagError;
use soci_filter::{EventError, RegistryHostError};
use soci_registry::{PipelineError, RegistryError};

/// Why a run failed. Each is retried by Lambda (twice), then the event goes to the failure
/// queue with the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeneratorError {
    /// The event is not a valid ECR image push (the reference's message, whose first letter the
    /// reference's generator writes in lowercase).
    #[error("ECRImageActionEvent validation error: {}", lowercase_first(&.0.to_string()))]
    Event(#[source] EventError),
    /// No registry client could be made: ECR authentication failed, or the event's account and
    /// region make no registry host.
    #[error("Remote registry initialization error: {0}")]
    RegistryInit(#[source] RegistryInitError),
    /// The V2 output tag (`<tag><suffix>`) is not a tag registries accept. Found before any
    /// request: the registry would refuse the tag only after every blob and manifest of the
    /// conversion was pushed.
    #[error("Output tag error: the SOCI-enabled image cannot be tagged: {0}")]
    OutputTag(#[source] TagError),
    /// The pushed image could not be read.
    #[error("Image pull error: {0}")]
    Pull(#[source] RegistryError),
    /// Building or pushing the index failed.
    #[error("SOCI index build error: {0}")]
    Build(#[source] PipelineError),
    /// The invocation deadline came too close.
    #[error(
        "Invocation timeout error: the invocation deadline was near ({time_left:.1?} were left when the build started, and it stops {margin:?} before the deadline; stopped after {worked:.1?}); nothing was tagged, so a retry starts clean"
    )]
    Deadline {
        /// Time left before the deadline when the build was about to start.
        time_left: Duration,
        /// How long before the deadline the build stops.
        margin: Duration,
        /// How long the invocation had run.
        worked: Duration,
    },
}

/// Why no registry client could be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryInitError {
    /// The event's account and region make no ECR registry host.
    #[error(transparent)]
    Host(#[from] RegistryHostError),
    /// ECR authentication failed, or the client could not be set up.
    #[error(transparent)]
    Client(#[from] RegistryError),
}

impl GeneratorError {
    /// A short name of the kind of failure, for Lambda's `errorType`.
    pub fn kind(&self) -> &'static str {
        match self {
            GeneratorError::Event(_) => "EventValidationError",
            GeneratorError::RegistryInit(_) => "RegistryInitializationError",
            GeneratorError::OutputTag(_) => "OutputTagError",
            GeneratorError::Pull(_) => "ImagePullError",
            GeneratorError::Build(_) => "SociIndexBuildError",
            GeneratorError::Deadline { .. } => "InvocationTimeoutError",
        }
    }
}

impl From<GeneratorError> for lambda_runtime::Diagnostic {
    fn from(error: GeneratorError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.kind().to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// `message` with its first letter lowercased: the reference's generator writes the event
/// validation messages so (`the event's …`).
fn lowercase_first(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_messages_are_lowercase() {
        assert_eq!(
            lowercase_first("The event's 'source' must be 'aws.ecr'"),
            "the event's 'source' must be 'aws.ecr'"
        );
        assert_eq!(lowercase_first(""), "");
        let error = GeneratorError::Event(EventError::WrongSource);
        assert_eq!(
            error.to_string(),
            "ECRImageActionEvent validation error: the event's 'source' must be 'aws.ecr'"
        );
        assert!(std::error::Error::source(&error).is_some());
    }
}
