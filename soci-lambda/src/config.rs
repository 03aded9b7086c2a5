//! The functions' environment, parsed into typed configurations once, at start-up.
//!
//! The variable names are the template's (`templates/SociIndexBuilder.yml`). Unset variables
//! take the reference's defaults; a variable that is set to something unusable is an error that
//! names the variable, so a hand-edited function fails at its first cold start with a message
//! saying what to fix, instead of building indexes nobody asked for.
//!
//! Both parsers take a lookup function rather than reading the process environment themselves,
//! so tests can give them any environment without touching the real one.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use soci_core::{BuildConfig, IndexVersion, SpanSize};
use soci_filter::{DEFAULT_SOCI_TAG_SUFFIX, FilterSet, SelfTriggerRules};

/// `soci_repository_image_tag_filters`: the comma-separated `repository:tag` filters.
pub const FILTERS_VAR: &str = "soci_repository_image_tag_filters";
/// `soci_index_generator_lambda_arn`: the function the filter hands matching events to.
pub const GENERATOR_ARN_VAR: &str = "soci_index_generator_lambda_arn";
/// `soci_index_version`: `V1` or `V2`.
pub const INDEX_VERSION_VAR: &str = "soci_index_version";
/// `soci_tag_suffix`: what the V2 output tag adds to the pushed tag.
pub const TAG_SUFFIX_VAR: &str = "soci_tag_suffix";
/// `soci_min_layer_size`: layers with fewer compressed bytes get no zTOC.
pub const MIN_LAYER_SIZE_VAR: &str = "soci_min_layer_size";
/// `soci_span_size`: uncompressed bytes between zTOC checkpoints; at least
/// [`soci_core::MIN_SPAN_SIZE`] (64 KiB) unless [`ALLOW_SMALL_SPANS_VAR`] says otherwise, as
/// `socix --span-size` (a mistyped value would otherwise make zTOCs as large as their layers).
pub const SPAN_SIZE_VAR: &str = "soci_span_size";
/// `soci_allow_small_spans`: `true` to accept a `soci_span_size` below 64 KiB (tests and
/// experiments), as `socix --allow-small-spans`; the template leaves it unset (`false`).
pub const ALLOW_SMALL_SPANS_VAR: &str = "soci_allow_small_spans";
/// `soci_build_tool_identifier`: written into every zTOC and SOCI index.
pub const BUILD_TOOL_VAR: &str = "soci_build_tool_identifier";
/// `ECR_ENDPOINT`: overrides the endpoint of the ECR API (`GetAuthorizationToken`, and the
/// custom resource's `BatchGetImage` and `BatchDeleteImage`), as the reference's variable of the
/// same name does.
pub const ECR_ENDPOINT_VAR: &str = "ECR_ENDPOINT";
/// `soci_registry_endpoint`: **for testing only**, a registry `host[:port]` used instead of the
/// event's ECR registry.
pub const REGISTRY_ENDPOINT_VAR: &str = "soci_registry_endpoint";
/// `soci_registry_plain_http`: **for testing only**, `true` to speak plain HTTP to
/// `soci_registry_endpoint`.
pub const REGISTRY_PLAIN_HTTP_VAR: &str = "soci_registry_plain_http";

/// `soci_connections`: connections each large layer is read over at once, as ranges
/// ([`soci_registry::ParallelReads`]), 1 to 64; 1 reads every layer as one stream. Unset: the
/// library's default, as `socix --connections`.
pub const CONNECTIONS_VAR: &str = "soci_connections";

/// `soci_deadline_margin_seconds`: how long before the invocation deadline the generator stops
/// (default 10); the template leaves it unset. Local emulators such as `cargo lambda watch` give
/// short deadlines, which a smaller margin accommodates.
pub const DEADLINE_MARGIN_VAR: &str = "soci_deadline_margin_seconds";

/// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`: the function's memory in MB, set by Lambda; bounds the
/// layers indexed at once ([`layers_for_memory`]).
pub const MEMORY_SIZE_VAR: &str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";

/// Memory (MB) kept for the process itself: the runtime, the SDK and HTTP clients, TLS, the
/// manifests and the pipeline's bookkeeping.
pub const BASE_MEMORY_MB: u64 = 128;

/// Memory (MB) allowed per layer indexed at once besides its ranges in flight: its zTOC, which
/// grows with the layer (32 KiB per span, a record per file: ~1-2% of the uncompressed layer,
/// more for layers of many small files) and is held twice while it is encoded, plus the stream,
/// inflate and tar walk buffers (a few MiB). 256 MB covers the zTOC of a layer of ~10 GB
/// uncompressed.
pub const MEMORY_PER_LAYER_MB: u64 = 256;

/// The layers indexed at once that `memory_mb` of function memory allows when each is read over
/// `connections`: one per [`MEMORY_PER_LAYER_MB`] and `connections` ranges beyond
/// [`BASE_MEMORY_MB`], and always at least one. Lambda shows a function two cores even when its
/// memory buys it a fraction of one, so the core count alone would build two zTOCs at once in
/// too little memory.
pub fn layers_for_memory(memory_mb: u64, connections: usize) -> usize {
    let range_mb = soci_registry::ParallelReads::default()
        .range_size
        .div_ceil(1 << 20);
    let per_layer = MEMORY_PER_LAYER_MB + range_mb.saturating_mul(connections as u64);
    let layers = memory_mb.saturating_sub(BASE_MEMORY_MB) / per_layer;
    usize::try_from(layers).unwrap_or(usize::MAX).max(1)
}

/// The build tool identifier the template sets, and the reference's.
pub const DEFAULT_BUILD_TOOL_IDENTIFIER: &str = "AWS SOCI Index Builder Cfn v0.2";

/// How long before the invocation deadline the generator gives up, by default: enough to log
/// the error and return it, so Lambda records a failed invocation (and retries it) rather than a
/// timeout without a word.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// The self-trigger rules of `version` with `suffix`: V2 also skips untagged pushes, since its
/// output tag is made from the pushed one.
fn self_trigger_rules(version: IndexVersion, suffix: &str) -> SelfTriggerRules {
    match version {
        IndexVersion::V1 => SelfTriggerRules::v1(),
        IndexVersion::V2 => SelfTriggerRules::v2(),
    }
    .with_suffix(suffix)
}

/// An environment variable that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The filter list is missing: the reference's message, then the variable's name.
    #[error(
        "Invalid environment variable; expected a comma separated list ({FILTERS_VAR} is not set)"
    )]
    MissingFilters,
    /// A variable the function cannot do without is not set.
    #[error("environment variable {name} must be set: {hint}")]
    Missing {
        /// The variable.
        name: &'static str,
        /// What it should hold.
        hint: &'static str,
    },
    /// A variable is set to something unusable.
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Reads variables: `std::env::var` in the functions, a map in tests.
trait Lookup {
    fn get(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Lookup for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn invalid(name: &'static str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

/// A value parsed with `FromStr`, or `default` when unset.
fn parsed<T: FromStr>(env: &dyn Lookup, name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: fmt::Display,
{
    match env.get(name) {
        None => Ok(default),
        Some(value) => value
            .parse()
            .map_err(|e: T::Err| invalid(name, &value, e.to_string())),
    }
}

/// An optional setting, where an empty value means unset (as an empty CloudFormation value is).
fn optional(env: &dyn Lookup, name: &str) -> Option<String> {
    env.get(name).filter(|value| !value.is_empty())
}

/// A `true` or `false` setting, `false` when unset or empty; anything else is an error, so a
/// misspelt `True` or `yes` is not silently taken for `false`.
fn flag(env: &dyn Lookup, name: &'static str) -> Result<bool, ConfigError> {
    match optional(env, name).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(invalid(name, other, "expected true or false")),
    }
}

/// The span size: the library's rule ([`SpanSize::checked`]), the one `socix` applies, so the
/// Lambda and the CLI accept the same values.
fn span_size(env: &dyn Lookup, default: SpanSize) -> Result<SpanSize, ConfigError> {
    let span_size = parsed(env, SPAN_SIZE_VAR, default.get())?;
    let allow_small = flag(env, ALLOW_SMALL_SPANS_VAR)?;
    SpanSize::checked(span_size, allow_small).map_err(|e| {
        let reason = match e {
            soci_core::SpanSizeError::TooSmall { .. } => {
                format!("{e}; set {ALLOW_SMALL_SPANS_VAR}=true if so small a span is meant")
            }
            _ => e.to_string(),
        };
        invalid(SPAN_SIZE_VAR, &span_size.to_string(), reason)
    })
}

fn index_version(env: &dyn Lookup) -> Result<IndexVersion, ConfigError> {
    parsed(env, INDEX_VERSION_VAR, IndexVersion::V2)
}

/// The tag suffix: not empty (an empty suffix would make the V2 output overwrite the pushed
/// tag), and only characters a tag may hold.
fn tag_suffix(env: &dyn Lookup) -> Result<String, ConfigError> {
    let Some(suffix) = env.get(TAG_SUFFIX_VAR) else {
        return Ok(DEFAULT_SOCI_TAG_SUFFIX.to_owned());
    };
    if suffix.is_empty() {
        return Err(invalid(
            TAG_SUFFIX_VAR,
            &suffix,
            "must not be empty (the V2 output would replace the pushed tag)",
        ));
    }
    if let Some(bad) = suffix
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(invalid(
            TAG_SUFFIX_VAR,
            &suffix,
            format!("{bad:?} cannot be part of a tag (letters, digits, '_', '.' and '-' can)"),
        ));
    }
    Ok(suffix)
}

/// The filter function's configuration.
#[derive(Clone, Debug)]
pub struct FilterConfig {
    /// The filters, in list order.
    pub filters: FilterSet,
    /// The generator function's ARN (or name).
    pub generator_function: String,
    /// The index version the generator builds: in V2, untagged pushes are skipped here
    /// already, since the generator would skip them anyway.
    pub index_version: IndexVersion,
    /// The V2 output suffix; pushes with a tag ending in it are skipped.
    pub tag_suffix: String,
}

impl FilterConfig {
    /// The configuration of the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::parse(&process_env)
    }

    /// The configuration of the environment `env` describes (`None` for unset variables).
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::parse(&env)
    }

    fn parse(env: &dyn Lookup) -> Result<Self, ConfigError> {
        let list = env.get(FILTERS_VAR).ok_or(ConfigError::MissingFilters)?;
        let filters =
            FilterSet::parse(&list).map_err(|e| invalid(FILTERS_VAR, &list, e.to_string()))?;
        let generator_function = optional(env, GENERATOR_ARN_VAR).ok_or(ConfigError::Missing {
            name: GENERATOR_ARN_VAR,
            hint: "the ARN of the SOCI index generator function",
        })?;
        Ok(FilterConfig {
            filters,
            generator_function,
            index_version: index_version(env)?,
            tag_suffix: tag_suffix(env)?,
        })
    }

    /// The pushes this filter skips before trying the filters.
    pub fn rules(&self) -> SelfTriggerRules {
        self_trigger_rules(self.index_version, &self.tag_suffix)
    }
}

/// The generator function's configuration.
#[derive(Clone, Debug)]
pub struct GeneratorConfig {
    /// The kind of index built.
    pub index_version: IndexVersion,
    /// How the index is built: the span size (default 4 MiB, at least 64 KiB unless
    /// `soci_allow_small_spans=true`), the minimum layer size (default 10 MiB), the build tool
    /// identifier (default `AWS SOCI Index Builder Cfn v0.2`) and the layers indexed at once
    /// (the cores Lambda gives the function, and no more than its memory allows:
    /// [`layers_for_memory`] of `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, when set). The rest is the
    /// reference's build: every platform, no optimisations, nothing forced, and no empty index
    /// (a run with nothing to index pushes nothing).
    pub build: BuildConfig,
    /// V2 output tag suffix (default `-soci`).
    pub tag_suffix: String,
    /// The ECR API endpoint, when not AWS's own (`ECR_ENDPOINT`).
    pub ecr_endpoint: Option<String>,
    /// For testing only: the registry to use instead of the event's ECR registry. Credentials
    /// then come from `ECR_ENDPOINT`'s `GetAuthorizationToken` when that is set (for the
    /// event's registry host), and are anonymous otherwise.
    pub registry_endpoint: Option<String>,
    /// For testing only: plain HTTP to [`registry_endpoint`](Self::registry_endpoint).
    pub plain_http: bool,
    /// How long before the deadline the work is abandoned (default 10 s).
    pub deadline_margin: Duration,
    /// Connections each large layer is read over at once (`soci_connections`).
    pub connections: usize,
}

impl Default for GeneratorConfig {
    /// The template's configuration.
    fn default() -> Self {
        let mut build = BuildConfig::default();
        build.build_tool_identifier = DEFAULT_BUILD_TOOL_IDENTIFIER.to_owned();
        GeneratorConfig {
            index_version: IndexVersion::V2,
            build,
            tag_suffix: DEFAULT_SOCI_TAG_SUFFIX.to_owned(),
            ecr_endpoint: None,
            registry_endpoint: None,
            plain_http: false,
            deadline_margin: DEFAULT_DEADLINE_MARGIN,
            connections: soci_registry::ParallelReads::default().connections,
        }
    }
}

impl GeneratorConfig {
    /// The configuration of the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::parse(&process_env)
    }

    /// The configuration of the environment `env` describes (`None` for unset variables).
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::parse(&env)
    }

    fn parse(env: &dyn Lookup) -> Result<Self, ConfigError> {
        let defaults = GeneratorConfig::default();
        let mut build = defaults.build;
        build.span_size = span_size(env, build.span_size)?;
        build.min_layer_size = parsed(env, MIN_LAYER_SIZE_VAR, build.min_layer_size)?;
        if let Some(identifier) = env.get(BUILD_TOOL_VAR) {
            if identifier.is_empty() {
                return Err(invalid(BUILD_TOOL_VAR, "", "must not be empty"));
            }
            build.build_tool_identifier = identifier;
        }
        let registry_endpoint = optional(env, REGISTRY_ENDPOINT_VAR);
        let plain_http = flag(env, REGISTRY_PLAIN_HTTP_VAR)?;
        if plain_http && registry_endpoint.is_none() {
            return Err(invalid(
                REGISTRY_PLAIN_HTTP_VAR,
                "true",
                format!(
                    "plain HTTP is only for a test registry named by {REGISTRY_ENDPOINT_VAR}, never for ECR"
                ),
            ));
        }
        let connections = parsed(env, CONNECTIONS_VAR, defaults.connections)?;
        if !(1..=64).contains(&connections) {
            return Err(invalid(
                CONNECTIONS_VAR,
                &connections.to_string(),
                "expected 1 to 64 (1 reads every layer as one stream)",
            ));
        }
        if let Some(value) = env.get(MEMORY_SIZE_VAR) {
            let memory_mb: u64 = value.parse().map_err(|e: std::num::ParseIntError| {
                invalid(MEMORY_SIZE_VAR, &value, e.to_string())
            })?;
            build.concurrency = build
                .concurrency
                .min(layers_for_memory(memory_mb, connections));
        }
        Ok(GeneratorConfig {
            index_version: index_version(env)?,
            build,
            tag_suffix: tag_suffix(env)?,
            ecr_endpoint: optional(env, ECR_ENDPOINT_VAR),
            registry_endpoint,
            plain_http,
            deadline_margin: Duration::from_secs(parsed(
                env,
                DEADLINE_MARGIN_VAR,
                defaults.deadline_margin.as_secs(),
            )?),
            connections,
        })
    }

    /// The pushes the generator skips.
    pub fn rules(&self) -> SelfTriggerRules {
        self_trigger_rules(self.index_version, &self.tag_suffix)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn generator_defaults_are_the_templates() {
        let config = GeneratorConfig::from_lookup(env(&[])).unwrap();
        assert_eq!(config.index_version, IndexVersion::V2);
        assert_eq!(config.build.min_layer_size, 10 << 20);
        assert_eq!(config.build.span_size.get(), 4 << 20);
        assert_eq!(
            config.build.build_tool_identifier,
            "AWS SOCI Index Builder Cfn v0.2"
        );
        assert_eq!(config.tag_suffix, "-soci");
        assert_eq!(config.ecr_endpoint, None);
        assert!(!config.plain_http);
        assert_eq!(config.deadline_margin, Duration::from_secs(10));
        assert_eq!(
            config.connections,
            soci_registry::ParallelReads::default().connections
        );
    }

    #[test]
    fn generator_values_are_parsed() {
        let config = GeneratorConfig::from_lookup(env(&[
            ("soci_index_version", "V1"),
            ("soci_min_layer_size", "0"),
            ("soci_span_size", "1048576"),
            ("soci_build_tool_identifier", "test tool"),
            ("soci_tag_suffix", ".soci_2"),
            ("ECR_ENDPOINT", "http://127.0.0.1:5000"),
            ("soci_registry_endpoint", "127.0.0.1:5001"),
            ("soci_registry_plain_http", "true"),
            ("soci_deadline_margin_seconds", "2"),
            ("soci_connections", "4"),
        ]))
        .unwrap();
        assert_eq!(config.connections, 4);
        assert_eq!(config.deadline_margin, Duration::from_secs(2));
        assert_eq!(config.index_version, IndexVersion::V1);
        assert_eq!(config.build.min_layer_size, 0);
        assert_eq!(config.build.span_size.get(), 1 << 20);
        assert_eq!(config.build.build_tool_identifier, "test tool");
        assert_eq!(config.tag_suffix, ".soci_2");
        assert_eq!(
            config.ecr_endpoint.as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(config.registry_endpoint.as_deref(), Some("127.0.0.1:5001"));
        assert!(config.plain_http);
        let build = &config.build;
        assert!(build.platforms.is_empty() && !build.force && !build.allow_empty);
        assert!(!build.xattr_optimization);
    }

    #[test]
    fn span_sizes_follow_the_cli_rule() {
        let span = |vars: &[(&str, &str)]| GeneratorConfig::from_lookup(env(vars));
        let min = soci_core::MIN_SPAN_SIZE.to_string();
        assert_eq!(
            span(&[("soci_span_size", &min)])
                .unwrap()
                .build
                .span_size
                .get(),
            soci_core::MIN_SPAN_SIZE
        );
        // Below 64 KiB: refused, naming the variable that would allow it.
        let err = span(&[("soci_span_size", "65535")]).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { name, .. } if *name == SPAN_SIZE_VAR),
            "{err}"
        );
        assert!(
            err.to_string().contains("soci_allow_small_spans=true"),
            "{err}"
        );
        for allow in ["false", ""] {
            assert!(
                span(&[
                    ("soci_span_size", "4096"),
                    ("soci_allow_small_spans", allow)
                ])
                .is_err()
            );
        }
        let small = span(&[
            ("soci_span_size", "4096"),
            ("soci_allow_small_spans", "true"),
        ]);
        assert_eq!(small.unwrap().build.span_size.get(), 4096);
        // Zero is never a span size, allowed or not.
        let err = span(&[("soci_span_size", "0"), ("soci_allow_small_spans", "true")]).unwrap_err();
        assert!(err.to_string().contains("not positive"), "{err}");
    }

    #[test]
    fn layers_at_once_are_bounded_by_memory() {
        // 256 MB per layer, and its ranges: 4 MiB each, as many as connections.
        assert_eq!(layers_for_memory(128, 16), 1);
        assert_eq!(layers_for_memory(512, 16), 1);
        assert_eq!(layers_for_memory(768, 16), 2);
        assert_eq!(layers_for_memory(767, 16), 1);
        assert_eq!(layers_for_memory(640, 1), 1);
        assert_eq!(layers_for_memory(648, 1), 2);
        assert_eq!(layers_for_memory(10240, 16), 31);
        assert_eq!(layers_for_memory(0, 16), 1);

        let cores = GeneratorConfig::default().build.concurrency;
        let at = |memory: &str| {
            GeneratorConfig::from_lookup(env(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory)]))
                .unwrap()
                .build
                .concurrency
        };
        // 128 MB of memory with two (or more) cores: one layer at a time.
        assert_eq!(at("128"), 1);
        assert_eq!(at("512"), 1);
        assert_eq!(at("10240"), cores.min(31));
        assert_eq!(at("1024"), cores.min(2));
        // Fewer connections, fewer ranges in flight: room for another layer.
        let one = GeneratorConfig::from_lookup(env(&[
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
            ("soci_connections", "1"),
        ]));
        assert_eq!(one.unwrap().build.concurrency, cores.min(3));
        // Off Lambda (no variable): the cores alone.
        assert_eq!(
            GeneratorConfig::from_lookup(env(&[]))
                .unwrap()
                .build
                .concurrency,
            cores
        );
    }

    #[test]
    fn bad_generator_values_name_the_variable() {
        for (vars, name) in [
            (&[("soci_index_version", "v2")][..], "soci_index_version"),
            (&[("soci_min_layer_size", "10MB")], "soci_min_layer_size"),
            (&[("soci_min_layer_size", "-1")], "soci_min_layer_size"),
            (&[("soci_span_size", "0")], "soci_span_size"),
            (&[("soci_span_size", "4096")], "soci_span_size"),
            (
                &[("soci_allow_small_spans", "yes")],
                "soci_allow_small_spans",
            ),
            (
                &[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1GB")],
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            ),
            (&[("soci_span_size", "")], "soci_span_size"),
            (&[("soci_connections", "0")], "soci_connections"),
            (&[("soci_connections", "65")], "soci_connections"),
            (&[("soci_connections", "eight")], "soci_connections"),
            (&[("soci_tag_suffix", "")], "soci_tag_suffix"),
            (&[("soci_tag_suffix", "/soci")], "soci_tag_suffix"),
            (
                &[("soci_build_tool_identifier", "")],
                "soci_build_tool_identifier",
            ),
            (
                &[
                    ("soci_registry_plain_http", "yes"),
                    ("soci_registry_endpoint", "x:1"),
                ],
                "soci_registry_plain_http",
            ),
            (
                &[("soci_registry_plain_http", "true")],
                "soci_registry_plain_http",
            ),
        ] {
            let err = GeneratorConfig::from_lookup(env(vars)).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { name: n, .. } if *n == name),
                "{vars:?}: {err}"
            );
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn filter_config() {
        let config = FilterConfig::from_lookup(env(&[
            ("soci_repository_image_tag_filters", "prod*:*,dev:latest"),
            (
                "soci_index_generator_lambda_arn",
                "arn:aws:lambda:us-east-1:123456789012:function:gen",
            ),
        ]))
        .unwrap();
        assert_eq!(config.filters.to_string(), "prod*:*,dev:latest");
        assert_eq!(config.index_version, IndexVersion::V2);
        assert_eq!(config.tag_suffix, "-soci");
        assert!(config.rules().skips_untagged());

        let err = FilterConfig::from_lookup(env(&[("soci_index_generator_lambda_arn", "x")]))
            .unwrap_err();
        assert_eq!(err, ConfigError::MissingFilters);
        assert!(
            err.to_string()
                .starts_with("Invalid environment variable; expected a comma separated list")
        );

        let err = FilterConfig::from_lookup(env(&[
            ("soci_repository_image_tag_filters", "Prod:*"),
            ("soci_index_generator_lambda_arn", "x"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("bad character 'P'"), "{err}");

        let err = FilterConfig::from_lookup(env(&[("soci_repository_image_tag_filters", "*:*")]))
            .unwrap_err();
        assert!(
            err.to_string().contains("soci_index_generator_lambda_arn"),
            "{err}"
        );
    }
}
