//! The generator's CloudWatch metrics, as one line of CloudWatch's embedded metric format (EMF)
//! per invocation.
//!
//! An EMF line is a JSON object on standard output whose `_aws` member tells CloudWatch Logs
//! which of its other members are metrics and which are dimensions; CloudWatch Logs extracts
//! them as the log group receives the line. The metrics cost no API call and no IAM permission,
//! cannot slow or fail a build, and stay next to the invocation's logs. The line is written
//! on its own, not through the JSON logs of [`logging`](crate::logging): CloudWatch only reads
//! `_aws` at the top level of a log event, and a tracing line would wrap it in its fields.
//!
//! Every metric is in [`NAMESPACE`] with the dimension [`FUNCTION_NAME`], the generator
//! function's name, which CloudFormation makes unique per stack: several stacks in one account
//! and Region stay apart, and the dimension has one value per stack. Skips are counted a second
//! time per [`SKIP_REASON`] and failures per [`ERROR_TYPE`], both short fixed lists. The image
//! (repository, digest, tag) and the request id are plain members of the line, searchable in
//! CloudWatch Logs Insights, never dimensions: every value of a dimension makes a metric of its
//! own, billed and kept apart.
//!
//! The line is built by pure functions ([`emf`], from a [`Summary`]) and written by
//! [`write_line`], which takes any writer so that tests can read what the function would print.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};
use soci_registry::{LayerOutcome, Report};

/// The CloudWatch namespace of the metrics.
pub const NAMESPACE: &str = "SociIndexBuilder";

/// The dimension of every metric: the generator function's name.
pub const FUNCTION_NAME: &str = "FunctionName";
/// The second dimension of [`IMAGES_SKIPPED`]: why the image was skipped ([`Skip::as_str`]).
pub const SKIP_REASON: &str = "SkipReason";
/// The second dimension of [`IMAGES_FAILED`]: the error's kind
/// ([`GeneratorError::kind`](crate::GeneratorError::kind)).
pub const ERROR_TYPE: &str = "ErrorType";

/// Invocations that built and pushed a SOCI index (count).
pub const IMAGES_INDEXED: &str = "ImagesIndexed";
/// Invocations that ended without building an index and without an error (count).
pub const IMAGES_SKIPPED: &str = "ImagesSkipped";
/// Invocations that failed: Lambda retries them, then sends the event to the failure queue
/// (count; each attempt counts).
pub const IMAGES_FAILED: &str = "ImagesFailed";
/// Layers whose zTOC was built in the invocation (count).
pub const LAYERS_INDEXED: &str = "LayersIndexed";
/// Layers whose zTOC of an earlier run was found and used (count).
pub const LAYERS_REUSED: &str = "LayersReused";
/// Compressed bytes of the layers indexed in the invocation (bytes).
pub const BYTES_INDEXED: &str = "BytesIndexed";
/// The handler's time, from the event to its result (milliseconds).
pub const DURATION: &str = "Duration";
/// [`BYTES_INDEXED`] per second of [`DURATION`], only when bytes were indexed (bytes/second).
pub const THROUGHPUT: &str = "Throughput";

/// The function name used outside Lambda, where `AWS_LAMBDA_FUNCTION_NAME` is not set.
pub const DEFAULT_FUNCTION_NAME: &str = "soci-index-generator";

/// Why an invocation skipped its image, as the [`SKIP_REASON`] dimension names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// The index was built and pushed already ([`UNCHANGED`](crate::generator::UNCHANGED)):
    /// a redelivered event.
    Unchanged,
    /// The push was the builder's own output (its tag ends with the output suffix).
    OwnOutput,
    /// An untagged push in V2, whose output needs a tag.
    UntaggedV2,
    /// No layer got a zTOC ([`NO_ZTOCS`](crate::generator::NO_ZTOCS)).
    NoZtocs,
    /// Not an image that can be indexed ([`NOT_AN_IMAGE`](crate::generator::NOT_AN_IMAGE)).
    NotAnImage,
    /// The manifest was gone ([`MANIFEST_NOT_FOUND`](crate::generator::MANIFEST_NOT_FOUND)).
    ManifestNotFound,
    /// The tag was pushed again before the index was tagged
    /// ([`SOURCE_MOVED`](crate::generator::SOURCE_MOVED)).
    SourceMoved,
}

impl Skip {
    /// The dimension value: fixed words, so the dimension keeps a handful of values.
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::Unchanged => "Unchanged",
            Skip::OwnOutput => "OwnOutput",
            Skip::UntaggedV2 => "UntaggedV2",
            Skip::NoZtocs => "NoZtocs",
            Skip::NotAnImage => "NotAnImage",
            Skip::ManifestNotFound => "ManifestNotFound",
            Skip::SourceMoved => "SourceMoved",
        }
    }
}

impl From<&soci_filter::SkipReason> for Skip {
    fn from(reason: &soci_filter::SkipReason) -> Self {
        match reason {
            soci_filter::SkipReason::SociSuffix { .. } => Skip::OwnOutput,
            soci_filter::SkipReason::UntaggedV2 => Skip::UntaggedV2,
        }
    }
}

/// How an invocation ended, as the metrics count it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// A SOCI index was built and pushed.
    Indexed,
    /// Nothing to do, and why.
    Skipped(Skip),
    /// An error, by its kind ([`GeneratorError::kind`](crate::GeneratorError::kind)).
    Failed(&'static str),
}

impl Ending {
    /// The line's `outcome` member, as the logs word it.
    fn outcome(self) -> &'static str {
        match self {
            Ending::Indexed => "indexed",
            Ending::Skipped(_) => "skipped",
            Ending::Failed(_) => "failed",
        }
    }
}

/// What the pipeline did, from its [`Report`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Work {
    /// Distinct layers whose zTOC was built.
    pub layers_indexed: u64,
    /// Distinct layers whose earlier zTOC was used.
    pub layers_reused: u64,
    /// Compressed bytes of the layers indexed ([`Report::bytes_indexed`]).
    pub bytes_indexed: u64,
}

impl Work {
    /// The numbers of `report`. A layer that several platforms share is indexed once, so it is
    /// counted once, as [`Report::bytes_indexed`] counts its bytes once.
    pub fn of(report: &Report) -> Self {
        let mut built = BTreeSet::new();
        let mut reused = BTreeSet::new();
        for layer in report.platforms.iter().flat_map(|p| &p.layers) {
            match layer.outcome {
                LayerOutcome::Built { .. } => built.insert(layer.digest.as_str()),
                LayerOutcome::Reused { .. } => reused.insert(layer.digest.as_str()),
                LayerOutcome::Skipped { .. } => false,
            };
        }
        Work {
            layers_indexed: built.len() as u64,
            layers_reused: reused.len() as u64,
            bytes_indexed: report.bytes_indexed,
        }
    }
}

/// Everything one invocation's line says.
#[derive(Clone, Debug)]
pub struct Summary<'a> {
    /// The [`FUNCTION_NAME`] dimension's value ([`function_name`]).
    pub function_name: &'a str,
    /// How the invocation ended.
    pub ending: Ending,
    /// What the pipeline did (zero when it did not run or failed).
    pub work: Work,
    /// The handler's time.
    pub duration: Duration,
    /// When the metrics were taken: CloudWatch files the data points under this time.
    pub timestamp: SystemTime,
    /// Lambda's request id, a plain member to find the invocation's logs by.
    pub request_id: &'a str,
    /// The event as received: its repository, digest and tag become plain members.
    pub event: &'a Value,
}

/// The generator function's name, which Lambda sets in `AWS_LAMBDA_FUNCTION_NAME`;
/// [`DEFAULT_FUNCTION_NAME`] outside Lambda.
pub fn function_name() -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME")
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| DEFAULT_FUNCTION_NAME.to_owned())
}

/// The EMF document of one invocation: the counts of every outcome (one of them 1, so that
/// sums over any period count invocations of each kind), the work, the duration, and the
/// throughput when bytes were indexed (an average over invocations that indexed nothing would
/// say nothing about speed).
pub fn emf(summary: &Summary<'_>) -> Value {
    let count = |yes: bool| json!(u8::from(yes));
    let work = summary.work;
    let milliseconds = summary.duration.as_secs_f64() * 1000.0;
    let mut metrics: Vec<(&str, &str, Value)> = vec![
        (
            IMAGES_INDEXED,
            "Count",
            count(summary.ending == Ending::Indexed),
        ),
        (
            IMAGES_SKIPPED,
            "Count",
            count(matches!(summary.ending, Ending::Skipped(_))),
        ),
        (
            IMAGES_FAILED,
            "Count",
            count(matches!(summary.ending, Ending::Failed(_))),
        ),
        (LAYERS_INDEXED, "Count", json!(work.layers_indexed)),
        (LAYERS_REUSED, "Count", json!(work.layers_reused)),
        (BYTES_INDEXED, "Bytes", json!(work.bytes_indexed)),
        (DURATION, "Milliseconds", json!(milliseconds)),
    ];
    let seconds = summary.duration.as_secs_f64();
    if work.bytes_indexed > 0 && seconds > 0.0 {
        metrics.push((
            THROUGHPUT,
            "Bytes/Second",
            json!(work.bytes_indexed as f64 / seconds),
        ));
    }

    let mut directives = vec![directive(&[FUNCTION_NAME], &metrics)];
    let mut root = Map::new();
    root.insert(FUNCTION_NAME.to_owned(), json!(summary.function_name));
    match summary.ending {
        Ending::Indexed => {}
        Ending::Skipped(skip) => {
            root.insert(SKIP_REASON.to_owned(), json!(skip.as_str()));
            directives.push(directive(
                &[FUNCTION_NAME, SKIP_REASON],
                &[(IMAGES_SKIPPED, "Count", json!(1))],
            ));
        }
        Ending::Failed(kind) => {
            root.insert(ERROR_TYPE.to_owned(), json!(kind));
            directives.push(directive(
                &[FUNCTION_NAME, ERROR_TYPE],
                &[(IMAGES_FAILED, "Count", json!(1))],
            ));
        }
    }
    for (name, _, value) in metrics {
        root.insert(name.to_owned(), value);
    }
    root.insert("outcome".to_owned(), json!(summary.ending.outcome()));
    root.insert("request_id".to_owned(), json!(summary.request_id));
    let detail = &summary.event["detail"];
    for (member, field) in [
        ("repository", "repository-name"),
        ("digest", "image-digest"),
        ("tag", "image-tag"),
    ] {
        if let Some(value) = detail[field].as_str() {
            root.insert(member.to_owned(), json!(value));
        }
    }
    let timestamp = summary
        .timestamp
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    root.insert(
        "_aws".to_owned(),
        json!({ "Timestamp": timestamp as u64, "CloudWatchMetrics": directives }),
    );
    Value::Object(root)
}

/// One `MetricDirective`: the metrics (name, unit) of the root whose data points go to
/// [`NAMESPACE`] under the one dimension set `dimensions`.
fn directive(dimensions: &[&str], metrics: &[(&str, &str, Value)]) -> Value {
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|(name, unit, _)| json!({ "Name": name, "Unit": unit }))
        .collect();
    json!({
        "Namespace": NAMESPACE,
        "Dimensions": [dimensions],
        "Metrics": definitions,
    })
}

/// Writes `document` as one line, with a single write: `Stdout` holds its lock for the whole
/// write, so no log line of another thread lands inside it, and CloudWatch Logs receives it as
/// one log event. JSON escapes newlines within strings, so the only one is the last.
pub fn write_line(mut out: impl Write, document: &Value) -> io::Result<()> {
    let mut line = serde_json::to_vec(document)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use soci_registry::{LayerReport, PlatformReport};

    /// The units CloudWatch accepts that these metrics use.
    const UNITS: [&str; 4] = ["Count", "Bytes", "Milliseconds", "Bytes/Second"];

    fn event() -> Value {
        json!({
            "source": "aws.ecr",
            "detail": {
                "repository-name": "team/app",
                "image-digest": "sha256:0123",
                "image-tag": "v1",
            },
        })
    }

    fn summary<'a>(ending: Ending, work: Work, event: &'a Value) -> Summary<'a> {
        Summary {
            function_name: "stack-SociIndexGeneratorLambda-abc",
            ending,
            work,
            duration: Duration::from_millis(2_500),
            timestamp: SystemTime::UNIX_EPOCH + Duration::from_millis(1_800_000_000_123),
            request_id: "7a1b2c3d-request",
            event,
        }
    }

    /// Checks `line` against the EMF specification's rules for what it uses, and returns the
    /// document with, per metric name, the dimension sets it is published under.
    fn parse_emf(line: &str) -> (Value, Vec<(String, String, Vec<String>)>) {
        assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
        let document: Value = serde_json::from_str(line).unwrap();
        let aws = &document["_aws"];
        assert!(aws["Timestamp"].is_u64(), "{aws}");
        let mut published = Vec::new();
        for directive in aws["CloudWatchMetrics"].as_array().unwrap() {
            assert_eq!(directive["Namespace"], NAMESPACE);
            let sets = directive["Dimensions"].as_array().unwrap();
            for set in sets {
                for key in set.as_array().unwrap() {
                    let key = key.as_str().unwrap();
                    let value = document[key].as_str().unwrap_or_else(|| panic!("{key}"));
                    assert!(!value.is_empty() && value.len() <= 1024, "{key}");
                }
            }
            for metric in directive["Metrics"].as_array().unwrap() {
                let name = metric["Name"].as_str().unwrap();
                let unit = metric["Unit"].as_str().unwrap();
                assert!(UNITS.contains(&unit), "{unit}");
                assert!(document[name].is_number(), "{name}");
                for set in sets {
                    let keys = set
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|k| k.as_str().unwrap().to_owned())
                        .collect();
                    published.push((name.to_owned(), unit.to_owned(), keys));
                }
            }
        }
        (document, published)
    }

    fn line_of(summary: &Summary<'_>) -> String {
        let mut out = Vec::new();
        write_line(&mut out, &emf(summary)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn an_indexed_image_publishes_its_work_under_the_function_name() {
        let event = event();
        let work = Work {
            layers_indexed: 2,
            layers_reused: 1,
            bytes_indexed: 5_000_000,
        };
        let (document, published) = parse_emf(&line_of(&summary(Ending::Indexed, work, &event)));
        assert_eq!(document["_aws"]["Timestamp"], 1_800_000_000_123_u64);
        assert_eq!(
            document[FUNCTION_NAME],
            "stack-SociIndexGeneratorLambda-abc"
        );
        let expected = [
            (IMAGES_INDEXED, "Count", json!(1)),
            (IMAGES_SKIPPED, "Count", json!(0)),
            (IMAGES_FAILED, "Count", json!(0)),
            (LAYERS_INDEXED, "Count", json!(2)),
            (LAYERS_REUSED, "Count", json!(1)),
            (BYTES_INDEXED, "Bytes", json!(5_000_000)),
            (DURATION, "Milliseconds", json!(2500.0)),
            (THROUGHPUT, "Bytes/Second", json!(2_000_000.0)),
        ];
        for (name, unit, value) in &expected {
            assert_eq!(&document[*name], value, "{name}");
            assert!(
                published.contains(&(
                    name.to_string(),
                    unit.to_string(),
                    vec![FUNCTION_NAME.into()]
                )),
                "{name}"
            );
        }
        assert_eq!(published.len(), expected.len(), "{published:?}");
        // The image and the request are members to search by, not dimensions.
        assert_eq!(document["repository"], "team/app");
        assert_eq!(document["digest"], "sha256:0123");
        assert_eq!(document["tag"], "v1");
        assert_eq!(document["request_id"], "7a1b2c3d-request");
        assert_eq!(document["outcome"], "indexed");
        assert!(document.get(SKIP_REASON).is_none() && document.get(ERROR_TYPE).is_none());
    }

    #[test]
    fn a_skip_is_counted_also_per_reason_and_has_no_throughput() {
        let event = event();
        let ending = Ending::Skipped(Skip::NoZtocs);
        let (document, published) = parse_emf(&line_of(&summary(ending, Work::default(), &event)));
        assert_eq!(document[IMAGES_SKIPPED], 1);
        assert_eq!(document[IMAGES_INDEXED], 0);
        assert_eq!(document[BYTES_INDEXED], 0);
        assert_eq!(document[SKIP_REASON], "NoZtocs");
        assert_eq!(document["outcome"], "skipped");
        assert!(document.get(THROUGHPUT).is_none());
        let per_reason: Vec<&(String, String, Vec<String>)> = published
            .iter()
            .filter(|(_, _, keys)| keys.len() > 1)
            .collect();
        assert_eq!(
            per_reason,
            [&(
                IMAGES_SKIPPED.to_owned(),
                "Count".to_owned(),
                vec![FUNCTION_NAME.to_owned(), SKIP_REASON.to_owned()]
            )]
        );
    }

    #[test]
    fn a_failure_is_counted_also_per_error_type() {
        let event = json!({ "detail": "not an ECR event" });
        let ending = Ending::Failed("EventValidationError");
        let (document, published) = parse_emf(&line_of(&summary(ending, Work::default(), &event)));
        assert_eq!(document[IMAGES_FAILED], 1);
        assert_eq!(document[ERROR_TYPE], "EventValidationError");
        assert_eq!(document["outcome"], "failed");
        // Nothing of the event could be read: no members for it.
        assert!(document.get("repository").is_none());
        assert!(published.contains(&(
            IMAGES_FAILED.to_owned(),
            "Count".to_owned(),
            vec![FUNCTION_NAME.to_owned(), ERROR_TYPE.to_owned()]
        )));
    }

    #[test]
    fn a_line_stays_one_line_whatever_the_event_holds() {
        let event = json!({ "detail": { "repository-name": "a\nb", "image-tag": "x\r\ny" } });
        let line = line_of(&summary(
            Ending::Skipped(Skip::OwnOutput),
            Work::default(),
            &event,
        ));
        let (document, _) = parse_emf(&line);
        assert_eq!(document["repository"], "a\nb");
    }

    #[test]
    fn skip_reasons_are_distinct_words() {
        let all = [
            Skip::Unchanged,
            Skip::OwnOutput,
            Skip::UntaggedV2,
            Skip::NoZtocs,
            Skip::NotAnImage,
            Skip::ManifestNotFound,
            Skip::SourceMoved,
        ];
        let words: BTreeSet<&str> = all.iter().map(|s| s.as_str()).collect();
        assert_eq!(words.len(), all.len());
        assert!(
            words
                .iter()
                .all(|w| w.chars().all(|c| c.is_ascii_alphanumeric()))
        );
    }

    #[test]
    fn shared_layers_count_once() {
        let layer = |digest: &str, outcome: LayerOutcome| LayerReport {
            digest: digest.to_owned(),
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".to_owned(),
            size: 1,
            outcome,
        };
        let built = |ztoc: &str| LayerOutcome::Built {
            ztoc: ztoc.to_owned(),
            ztoc_size: 1,
        };
        let reused = LayerOutcome::Reused {
            ztoc: "sha256:z3".to_owned(),
            ztoc_size: 1,
        };
        let small = LayerOutcome::Skipped {
            reason: "small".to_owned(),
        };
        let platform = |layers| PlatformReport {
            platform: "linux/amd64".to_owned(),
            manifest: "sha256:m".to_owned(),
            soci_index: None,
            layers,
        };
        let report = Report {
            index_version: "V2",
            platforms: vec![
                platform(vec![
                    layer("sha256:shared", built("sha256:z1")),
                    layer("sha256:a", built("sha256:z2")),
                    layer("sha256:tiny", small.clone()),
                ]),
                platform(vec![
                    layer("sha256:shared", built("sha256:z1")),
                    layer("sha256:b", reused),
                    layer("sha256:tiny", small),
                ]),
            ],
            image_index: None,
            tag: None,
            unchanged: false,
            bytes_indexed: 42,
        };
        assert_eq!(
            Work::of(&report),
            Work {
                layers_indexed: 2,
                layers_reused: 1,
                bytes_indexed: 42,
            }
        );
    }
}
