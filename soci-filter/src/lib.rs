//! The `repository:tag` filter language of the SOCI index builder and the ECR "Image Action"
//! event model with its validation rules (spec `cli.md` part B).
//!
//! * [`FilterSet`] / [`Filter`]: the comma-separated filter list of the CloudFormation parameter
//!   `SociRepositoryImageTagFilters`, validated against the template's `AllowedPattern` and
//!   matched with the reference's `fnmatch` semantics; [`FilterSet::repository_arns`] scopes the
//!   generator's IAM policy to the filters' repositories.
//! * [`SelfTriggerRules`]: the pushes skipped so the builder never indexes its own output.
//! * [`ImageActionEvent`]: the EventBridge event, validated as the filter Lambda validates it,
//!   with [`EventError`] messages as the reference writes them; [`registry_host`] for its registry.
//!
//! Pure: values in, values out; no I/O, no environment, no clock.
//!
//! ```
//! use soci_filter::{FilterSet, ImageActionEvent, PushDecision, SelfTriggerRules};
//!
//! let filters: FilterSet = "prod*:latest,dev:*".parse()?;
//! let event = ImageActionEvent::from_json(br#"{
//!     "version": "0", "id": "999cccaa-eaaa-0000-1111-123456789012",
//!     "detail-type": "ECR Image Action", "source": "aws.ecr", "account": "123456789012",
//!     "time": "2016-12-16T20:43:05Z", "region": "us-east-1", "resources": [],
//!     "detail": {
//!         "result": "SUCCESS", "repository-name": "production", "action-type": "PUSH",
//!         "image-digest": "sha256:978f5f8049d3d0de30a7fc3892aafdfb323451bf682170d99154230ddefbe91e",
//!         "image-tag": "latest"
//!     }
//! }"#)?;
//!
//! assert_eq!(SelfTriggerRules::v2().check(event.repository(), event.tag()), PushDecision::Process);
//! let filter = filters.first_match(event.repository(), event.tag().unwrap_or(""));
//! assert_eq!(filter.map(|f| f.as_str()), Some("prod*:latest"));
//! assert_eq!(event.image_name(), "production:latest");
//! assert_eq!(event.registry_host()?, "123456789012.dkr.ecr.us-east-1.amazonaws.com");
//! assert_eq!(
//!     filters.repository_arns("aws", "us-east-1", "123456789012"),
//!     ["arn:aws:ecr:us-east-1:123456789012:repository/prod*", "arn:aws:ecr:us-east-1:123456789012:repository/dev"]
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod event;
mod filter;
mod glob;
mod iam;
mod patterns;
mod registry;
mod rules;

pub use event::{EventError, ImageActionEvent};
pub use filter::{Filter, FilterError, FilterListError, FilterProblem, FilterSet};
pub use registry::{RegistryHostError, registry_host};
pub use rules::{DEFAULT_SOCI_TAG_SUFFIX, PushDecision, SelfTriggerRules, SkipReason};
