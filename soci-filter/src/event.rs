//! The EventBridge "ECR Image Action" event and its validation (B.3).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::patterns::{ACCOUNT, DIGEST, REPOSITORY};
use crate::registry::{RegistryHostError, registry_host};

/// A validated ECR "Image Action" event: a successful push with a well-formed account, repository
/// name, digest and (optional) tag.
///
/// Built by [`from_json`](Self::from_json), [`from_value`](Self::from_value) or serde
/// (deserialising validates); serialises back to the EventBridge shape (fields the reference does
/// not check — `version`, `id`, `time`, `region`, `resources` — are kept when they are strings, and
/// are empty otherwise).
///
/// # Validation
///
/// The checks are the reference filter Lambda's, in its order, and the first failure is the
/// error; each [`EventError`] renders as the reference's message. The departures, all deliberate:
///
/// * the `detail.action-type` message gets its closing quote (`must be 'PUSH'`; the reference
///   prints `must be 'PUSH`);
/// * the account, repository name, digest and tag patterns must match the **whole** value (the
///   reference's `re.match` only anchors at the start, so `sha256:<hex>/../x` or a repository
///   `app?x=1` passes and reaches registry URLs);
/// * a value of the wrong JSON type (a number as the account, say) fails that value's pattern
///   check (the reference raises a `TypeError`); a top-level value that is not an object is an
///   event without fields, so it fails the `source` check; and bytes that are not JSON at all
///   are [`EventError::InvalidJson`] (the Lambda runtime parses the event before the reference
///   sees it).
///
/// ```
/// use soci_filter::{EventError, ImageActionEvent};
///
/// let event = ImageActionEvent::from_json(br#"{
///     "version": "0", "id": "13cde686-328b-6117-af20-0e5566167482",
///     "detail-type": "ECR Image Action", "source": "aws.ecr", "account": "123456789012",
///     "time": "2019-11-16T01:54:34Z", "region": "us-west-2", "resources": [],
///     "detail": {"result": "SUCCESS", "repository-name": "team/app", "action-type": "PUSH",
///         "image-digest": "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd12345678"}
/// }"#)?;
/// assert_eq!(event.tag(), None);
/// assert_eq!(event.image_name(), "team/app:");
///
/// let err = ImageActionEvent::from_json(br#"{"source": "aws.s3"}"#).unwrap_err();
/// assert_eq!(err, EventError::WrongSource);
/// assert_eq!(err.to_string(), "The event's 'source' must be 'aws.ecr'");
/// # Ok::<(), EventError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Value")]
pub struct ImageActionEvent {
    version: String,
    id: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    source: String,
    account: String,
    time: String,
    region: String,
    resources: Vec<String>,
    detail: Detail,
}

/// The validated `detail` object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
struct Detail {
    result: String,
    repository_name: String,
    image_digest: String,
    action_type: String,
    /// As sent: `None` when absent or null, `Some("")` when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    image_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest_media_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifact_media_type: Option<String>,
}

impl ImageActionEvent {
    /// Parses and validates an event from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, EventError> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|error| EventError::InvalidJson(error.to_string()))?;
        Self::from_value(&value)
    }

    /// Validates an event already parsed as JSON.
    pub fn from_value(event: &Value) -> Result<Self, EventError> {
        let no_fields = Map::new();
        let top = event.as_object().unwrap_or(&no_fields);
        if str_of(top, "source") != Some("aws.ecr") {
            return Err(EventError::WrongSource);
        }
        let account = present(top, "account").ok_or(EventError::MissingAccount)?;
        if str_of(top, "detail-type") != Some("ECR Image Action") {
            return Err(EventError::WrongDetailType);
        }
        let detail = present(top, "detail").ok_or(EventError::MissingDetail)?;
        let detail = detail.as_object().ok_or(EventError::DetailNotObject)?;
        if str_of(detail, "action-type") != Some("PUSH") {
            return Err(EventError::WrongActionType);
        }
        if str_of(detail, "result") != Some("SUCCESS") {
            return Err(EventError::WrongResult);
        }
        let repository =
            present(detail, "repository-name").ok_or(EventError::MissingRepositoryName)?;
        let digest = present(detail, "image-digest").ok_or(EventError::MissingImageDigest)?;

        let account = account
            .as_str()
            .filter(|account| ACCOUNT.is_match(account))
            .ok_or(EventError::InvalidAccount)?;
        let repository = repository
            .as_str()
            .filter(|repository| REPOSITORY.is_match(repository))
            .ok_or(EventError::InvalidRepositoryName)?;
        let digest = digest
            .as_str()
            .filter(|digest| DIGEST.is_match(digest))
            .ok_or(EventError::InvalidImageDigest)?;
        let tag = match present(detail, "image-tag") {
            None => None,
            Some(tag) => match tag.as_str() {
                Some(tag) if tag.is_empty() || soci_core::Tag::is_valid(tag) => Some(tag),
                _ => return Err(EventError::InvalidImageTag),
            },
        };

        let text = |map: &Map<String, Value>, key| str_of(map, key).unwrap_or("").to_owned();
        let optional = |key| str_of(detail, key).map(str::to_owned);
        Ok(Self {
            version: text(top, "version"),
            id: text(top, "id"),
            detail_type: "ECR Image Action".to_owned(),
            source: "aws.ecr".to_owned(),
            account: account.to_owned(),
            time: text(top, "time"),
            region: text(top, "region"),
            resources: match top.get("resources") {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                _ => Vec::new(),
            },
            detail: Detail {
                result: "SUCCESS".to_owned(),
                repository_name: repository.to_owned(),
                image_digest: digest.to_owned(),
                action_type: "PUSH".to_owned(),
                image_tag: tag.map(str::to_owned),
                manifest_media_type: optional("manifest-media-type"),
                artifact_media_type: optional("artifact-media-type"),
            },
        })
    }

    /// The event's `version` (`"0"` from EventBridge; empty if absent).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The event's `id` (empty if absent).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The event's `time`, as sent (empty if absent).
    pub fn time(&self) -> &str {
        &self.time
    }

    /// The event's `resources` (the string items).
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    /// The AWS account ID: twelve digits.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The region, as sent (empty if absent; see [`registry_host`](Self::registry_host)).
    pub fn region(&self) -> &str {
        &self.region
    }

    /// `detail.repository-name`.
    pub fn repository(&self) -> &str {
        &self.detail.repository_name
    }

    /// `detail.image-digest`, e.g. `sha256:…`.
    pub fn digest(&self) -> &str {
        &self.detail.image_digest
    }

    /// `detail.image-tag`; `None` for an untagged push (tag absent, null or empty).
    pub fn tag(&self) -> Option<&str> {
        self.detail
            .image_tag
            .as_deref()
            .filter(|tag| !tag.is_empty())
    }

    /// `detail.manifest-media-type`, which newer events carry.
    pub fn manifest_media_type(&self) -> Option<&str> {
        self.detail.manifest_media_type.as_deref()
    }

    /// `detail.artifact-media-type`, which newer events carry.
    pub fn artifact_media_type(&self) -> Option<&str> {
        self.detail.artifact_media_type.as_deref()
    }

    /// `<repository>:<tag>`, with nothing after the `:` when untagged (as the reference writes it
    /// in its messages and matches it against the filters).
    pub fn image_name(&self) -> String {
        format!("{}:{}", self.repository(), self.tag().unwrap_or(""))
    }

    /// The ECR registry host of the event's account and region (see [`registry_host`]); an error
    /// if the region is not a plain region name.
    pub fn registry_host(&self) -> Result<String, RegistryHostError> {
        registry_host(&self.account, &self.region)
    }
}

impl TryFrom<Value> for ImageActionEvent {
    type Error = EventError;

    fn try_from(event: Value) -> Result<Self, Self::Error> {
        Self::from_value(&event)
    }
}

impl TryFrom<&Value> for ImageActionEvent {
    type Error = EventError;

    fn try_from(event: &Value) -> Result<Self, Self::Error> {
        Self::from_value(event)
    }
}

/// The value under `key` unless it is absent or null (the reference's `get(key) == None`).
fn present<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|value| !value.is_null())
}

fn str_of<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

/// Why an event is not a valid ECR image push. `Display` is the reference filter Lambda's message
/// (with the closing quote of the `detail.action-type` message restored); the reference answers
/// each with status 400.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The bytes are not JSON (not a reference check: its runtime parses the event).
    #[error("The event is not valid JSON: {0}")]
    InvalidJson(String),
    /// `source` is not `aws.ecr`.
    #[error("The event's 'source' must be 'aws.ecr'")]
    WrongSource,
    /// `account` is absent or null.
    #[error("The event's 'account' must not be empty")]
    MissingAccount,
    /// `detail-type` is not `ECR Image Action`.
    #[error("The event's 'detail-type' must be 'ECR Image Action'")]
    WrongDetailType,
    /// `detail` is absent or null.
    #[error("The event's 'detail' must not be empty")]
    MissingDetail,
    /// `detail` is not an object.
    #[error("The event's 'detail' must be a JSON object literal")]
    DetailNotObject,
    /// `detail.action-type` is not `PUSH`.
    #[error("The event's 'detail.action-type' must be 'PUSH'")]
    WrongActionType,
    /// `detail.result` is not `SUCCESS`.
    #[error("The event's 'detail.result' must be 'SUCCESS'")]
    WrongResult,
    /// `detail.repository-name` is absent or null.
    #[error("The event's 'detail.repository-name' must not be empty")]
    MissingRepositoryName,
    /// `detail.image-digest` is absent or null.
    #[error("The event's 'detail.image-digest' must not be empty")]
    MissingImageDigest,
    /// `account` is not a string of exactly twelve digits.
    #[error("The event's 'account' must be a valid AWS account ID")]
    InvalidAccount,
    /// `detail.repository-name` is not a valid repository name in full.
    #[error("The event's 'detail.repository-name' must be a valid repository name")]
    InvalidRepositoryName,
    /// `detail.image-digest` is not `algorithm:hex` (32 or more hex digits) in full.
    #[error("The event's 'detail.image-digest' must be a valid image digest")]
    InvalidImageDigest,
    /// `detail.image-tag` is neither absent, null, empty nor a valid tag in full.
    #[error("The event's 'detail.image-tag' must be empty or a valid image tag")]
    InvalidImageTag,
}

impl EventError {
    /// The event field the error is about, as the message names it (`detail.action-type`, …);
    /// `None` for [`InvalidJson`](Self::InvalidJson).
    pub fn field(&self) -> Option<&'static str> {
        Some(match self {
            Self::InvalidJson(_) => return None,
            Self::WrongSource => "source",
            Self::MissingAccount | Self::InvalidAccount => "account",
            Self::WrongDetailType => "detail-type",
            Self::MissingDetail | Self::DetailNotObject => "detail",
            Self::WrongActionType => "detail.action-type",
            Self::WrongResult => "detail.result",
            Self::MissingRepositoryName | Self::InvalidRepositoryName => "detail.repository-name",
            Self::MissingImageDigest | Self::InvalidImageDigest => "detail.image-digest",
            Self::InvalidImageTag => "detail.image-tag",
        })
    }
}
