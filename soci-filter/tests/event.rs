//! Event validation: one test per rule of B.3 (in the reference's order, first failure wins),
//! with the exact messages, and the sample events under `tests/events/`.

use serde_json::{Value, json};
use soci_filter::{EventError, ImageActionEvent, PushDecision, SelfTriggerRules, SkipReason};

const DIGEST: &str = "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd12345678";

fn valid() -> Value {
    json!({
        "version": "0",
        "id": "999cccaa-eaaa-0000-1111-123456789012",
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": "123456789012",
        "time": "2016-12-16T20:43:05Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "result": "SUCCESS",
            "repository-name": "repository_name",
            "image-digest": DIGEST,
            "action-type": "PUSH",
            "image-tag": "hello-world"
        }
    })
}

/// The valid event with `path` (`key` or `detail.key`) set to `value`, or removed if `None`.
fn with(path: &str, value: Option<Value>) -> Value {
    let mut event = valid();
    let (map, key) = match path.strip_prefix("detail.") {
        Some(key) => (event["detail"].as_object_mut().unwrap(), key),
        None => (event.as_object_mut().unwrap(), path),
    };
    match value {
        Some(value) => map.insert(key.to_owned(), value),
        None => map.remove(key),
    };
    event
}

fn error(event: &Value) -> EventError {
    ImageActionEvent::from_value(event).unwrap_err()
}

fn assert_error(event: Value, expected: EventError, message: &str) {
    let got = error(&event);
    assert_eq!(got, expected, "for {event}");
    assert_eq!(got.to_string(), message);
    // Bytes and serde go through the same checks.
    let bytes = serde_json::to_vec(&event).unwrap();
    assert_eq!(ImageActionEvent::from_json(&bytes).unwrap_err(), expected);
    let via_serde = serde_json::from_value::<ImageActionEvent>(event).unwrap_err();
    assert_eq!(via_serde.to_string(), message);
}

#[test]
fn the_valid_event() {
    let event = ImageActionEvent::from_value(&valid()).unwrap();
    assert_eq!(event.version(), "0");
    assert_eq!(event.id(), "999cccaa-eaaa-0000-1111-123456789012");
    assert_eq!(event.time(), "2016-12-16T20:43:05Z");
    assert_eq!(event.account(), "123456789012");
    assert_eq!(event.region(), "us-east-1");
    assert!(event.resources().is_empty());
    assert_eq!(event.repository(), "repository_name");
    assert_eq!(event.digest(), DIGEST);
    assert_eq!(event.tag(), Some("hello-world"));
    assert_eq!(event.image_name(), "repository_name:hello-world");
    assert_eq!(event.manifest_media_type(), None);
    assert_eq!(
        event.registry_host().unwrap(),
        "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    );
    // Serialises to the EventBridge shape it came from.
    assert_eq!(serde_json::to_value(&event).unwrap(), valid());
    assert_eq!(ImageActionEvent::try_from(valid()).unwrap(), event);
    assert_eq!(ImageActionEvent::try_from(&valid()).unwrap(), event);
}

#[test]
fn rule_01_source() {
    let message = "The event's 'source' must be 'aws.ecr'";
    assert_error(
        with("source", Some(json!("aws.s3"))),
        EventError::WrongSource,
        message,
    );
    assert_error(with("source", None), EventError::WrongSource, message);
    assert_error(
        with("source", Some(json!(null))),
        EventError::WrongSource,
        message,
    );
    assert_error(
        with("source", Some(json!(["aws.ecr"]))),
        EventError::WrongSource,
        message,
    );
    assert_error(
        with("source", Some(json!("AWS.ECR"))),
        EventError::WrongSource,
        message,
    );
    // A top-level value that is not an object has no source.
    for event in [
        json!([]),
        json!("aws.ecr"),
        json!(null),
        json!(12),
        json!(true),
    ] {
        assert_error(event, EventError::WrongSource, message);
    }
}

#[test]
fn rule_02_account_present() {
    let message = "The event's 'account' must not be empty";
    assert_error(with("account", None), EventError::MissingAccount, message);
    assert_error(
        with("account", Some(json!(null))),
        EventError::MissingAccount,
        message,
    );
    // An empty string is present: it fails the pattern check later (rule 10).
    assert_eq!(
        error(&with("account", Some(json!("")))),
        EventError::InvalidAccount
    );
}

#[test]
fn rule_03_detail_type() {
    let message = "The event's 'detail-type' must be 'ECR Image Action'";
    assert_error(
        with("detail-type", None),
        EventError::WrongDetailType,
        message,
    );
    let event = with("detail-type", Some(json!("ECR Image Scan")));
    assert_error(event, EventError::WrongDetailType, message);
}

#[test]
fn rule_04_detail_present() {
    let message = "The event's 'detail' must not be empty";
    assert_error(with("detail", None), EventError::MissingDetail, message);
    assert_error(
        with("detail", Some(json!(null))),
        EventError::MissingDetail,
        message,
    );
}

#[test]
fn rule_05_detail_object() {
    let message = "The event's 'detail' must be a JSON object literal";
    for detail in [json!("x"), json!([]), json!(1), json!(false)] {
        assert_error(
            with("detail", Some(detail)),
            EventError::DetailNotObject,
            message,
        );
    }
    // An empty object is an object: it fails the next rule.
    assert_eq!(
        error(&with("detail", Some(json!({})))),
        EventError::WrongActionType
    );
}

#[test]
fn rule_06_action_type() {
    // The one departure from the reference's text: the closing quote is there.
    let message = "The event's 'detail.action-type' must be 'PUSH'";
    assert_error(
        with("detail.action-type", Some(json!("DELETE"))),
        EventError::WrongActionType,
        message,
    );
    assert_error(
        with("detail.action-type", None),
        EventError::WrongActionType,
        message,
    );
    assert_error(
        with("detail.action-type", Some(json!("push"))),
        EventError::WrongActionType,
        message,
    );
}

#[test]
fn rule_07_result() {
    let message = "The event's 'detail.result' must be 'SUCCESS'";
    assert_error(
        with("detail.result", Some(json!("FAILURE"))),
        EventError::WrongResult,
        message,
    );
    assert_error(
        with("detail.result", None),
        EventError::WrongResult,
        message,
    );
}

#[test]
fn rule_08_repository_present() {
    let message = "The event's 'detail.repository-name' must not be empty";
    let expected = EventError::MissingRepositoryName;
    assert_error(
        with("detail.repository-name", None),
        expected.clone(),
        message,
    );
    assert_error(
        with("detail.repository-name", Some(json!(null))),
        expected,
        message,
    );
}

#[test]
fn rule_09_digest_present() {
    let message = "The event's 'detail.image-digest' must not be empty";
    let expected = EventError::MissingImageDigest;
    assert_error(with("detail.image-digest", None), expected.clone(), message);
    assert_error(
        with("detail.image-digest", Some(json!(null))),
        expected,
        message,
    );
}

#[test]
fn rule_10_account_pattern() {
    let message = "The event's 'account' must be a valid AWS account ID";
    for account in [
        json!(""),
        json!("12345678901"),
        json!("12345678901a"),
        json!("1234567890123"),
    ] {
        assert_error(
            with("account", Some(account)),
            EventError::InvalidAccount,
            message,
        );
    }
    // Stricter than the reference, which only anchors at the start.
    let event = with("account", Some(json!("123456789012.evil")));
    assert_error(event, EventError::InvalidAccount, message);
    // A number is not an account string.
    let event = with("account", Some(json!(123456789012_u64)));
    assert_error(event, EventError::InvalidAccount, message);
}

#[test]
fn rule_11_repository_pattern() {
    let message = "The event's 'detail.repository-name' must be a valid repository name";
    let bad = [
        "",
        "Repo",
        "repo/",
        "/repo",
        "a//b",
        "a..b",
        "-a",
        "repo:tag",
        "repo name",
        "app?x",
    ];
    for name in bad {
        let event = with("detail.repository-name", Some(json!(name)));
        assert_error(event, EventError::InvalidRepositoryName, message);
    }
    let event = with("detail.repository-name", Some(json!(7)));
    assert_error(event, EventError::InvalidRepositoryName, message);
    for name in ["a", "a/b/c", "my-app_v2.0", "0"] {
        assert!(
            ImageActionEvent::from_value(&with("detail.repository-name", Some(json!(name))))
                .is_ok()
        );
    }
}

#[test]
fn rule_12_digest_pattern() {
    let message = "The event's 'detail.image-digest' must be a valid image digest";
    let short = format!("sha256:{}", "a".repeat(31));
    let junk = format!("{DIGEST}/../../x");
    let bad = [
        "",
        "sha256",
        "sha256:",
        &short,
        "1sha:0123456789abcdef0123456789abcdef",
        &junk,
    ];
    for digest in bad {
        let event = with("detail.image-digest", Some(json!(digest)));
        assert_error(event, EventError::InvalidImageDigest, message);
    }
    for digest in [
        "sha512:0123456789ABCDEF0123456789abcdef",
        "multi.part+alg_x:0123456789abcdef0123456789abcdef",
    ] {
        assert!(
            ImageActionEvent::from_value(&with("detail.image-digest", Some(json!(digest)))).is_ok()
        );
    }
}

#[test]
fn rule_13_tag_pattern() {
    let message = "The event's 'detail.image-tag' must be empty or a valid image tag";
    let long = "t".repeat(129);
    for tag in [".hidden", "-x", "a b", "a/b", "a:b", long.as_str()] {
        let event = with("detail.image-tag", Some(json!(tag)));
        assert_error(event, EventError::InvalidImageTag, message);
    }
    assert_error(
        with("detail.image-tag", Some(json!(1))),
        EventError::InvalidImageTag,
        message,
    );
    let longest = "t".repeat(128);
    for tag in ["_x", "V1.2-rc_3", longest.as_str()] {
        let event =
            ImageActionEvent::from_value(&with("detail.image-tag", Some(json!(tag)))).unwrap();
        assert_eq!(event.tag(), Some(tag));
    }
    // Absent, null and empty all mean untagged.
    for tag in [None, Some(json!(null)), Some(json!(""))] {
        let event = ImageActionEvent::from_value(&with("detail.image-tag", tag)).unwrap();
        assert_eq!(event.tag(), None);
        assert_eq!(event.image_name(), "repository_name:");
    }
}

#[test]
fn first_failure_wins() {
    let mut event = valid();
    event["source"] = json!("x");
    event["account"] = json!(null);
    assert_eq!(error(&event), EventError::WrongSource);

    let mut event = valid();
    event["account"] = json!("bad");
    event["detail"]["result"] = json!("FAILURE");
    assert_eq!(error(&event), EventError::WrongResult);

    let mut event = valid();
    event["account"] = json!("bad");
    event["detail"]["image-digest"] = json!(null);
    assert_eq!(error(&event), EventError::MissingImageDigest);

    let mut event = valid();
    event["account"] = json!("bad");
    event["detail"]["repository-name"] = json!("Bad");
    assert_eq!(error(&event), EventError::InvalidAccount);

    let mut event = valid();
    event["detail"]["image-digest"] = json!("bad");
    event["detail"]["image-tag"] = json!(".bad");
    assert_eq!(error(&event), EventError::InvalidImageDigest);
}

#[test]
fn errors_name_their_field() {
    assert_eq!(
        EventError::WrongActionType.field(),
        Some("detail.action-type")
    );
    assert_eq!(EventError::InvalidAccount.field(), Some("account"));
    assert_eq!(EventError::InvalidJson(String::new()).field(), None);
    for (error, field) in [
        (EventError::WrongSource, "'source'"),
        (EventError::MissingDetail, "'detail'"),
        (EventError::InvalidImageTag, "'detail.image-tag'"),
    ] {
        assert!(error.to_string().contains(field));
        assert_eq!(format!("'{}'", error.field().unwrap()), field);
    }
}

#[test]
fn unchecked_fields_are_lenient() {
    let mut event = valid();
    let top = event.as_object_mut().unwrap();
    top.remove("version");
    top.remove("time");
    top.insert("id".into(), json!(5));
    top.insert("resources".into(), json!(["arn:a", 3, "arn:b"]));
    let event = ImageActionEvent::from_value(&event).unwrap();
    assert_eq!((event.version(), event.id(), event.time()), ("", "", ""));
    assert_eq!(event.resources(), ["arn:a", "arn:b"]);
}

#[test]
fn not_json() {
    for bytes in [
        &b""[..],
        b"{",
        b"\xff\xfe",
        b"{\"source\": \"aws.ecr\",}",
        b"[1,2",
    ] {
        let error = ImageActionEvent::from_json(bytes).unwrap_err();
        assert!(matches!(error, EventError::InvalidJson(_)), "{error:?}");
        assert!(
            error
                .to_string()
                .starts_with("The event is not valid JSON: "),
            "{error}"
        );
    }
    // Deep nesting is refused by the parser, not by the stack.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(
        ImageActionEvent::from_json(deep.as_bytes()),
        Err(EventError::InvalidJson(_))
    ));
}

fn sample(name: &str) -> Result<ImageActionEvent, EventError> {
    let path = format!("{}/tests/events/{name}", env!("CARGO_MANIFEST_DIR"));
    ImageActionEvent::from_json(&std::fs::read(&path).unwrap())
}

#[test]
fn sample_tagged() {
    let event = sample("tagged.json").unwrap();
    assert_eq!(event.image_name(), "my-repository-name:latest");
    assert_eq!(event.digest(), DIGEST);
    assert_eq!(
        event.registry_host().unwrap(),
        "123456789012.dkr.ecr.us-west-2.amazonaws.com"
    );
    assert_eq!(
        SelfTriggerRules::v2().check(event.repository(), event.tag()),
        PushDecision::Process
    );
}

#[test]
fn sample_untagged_and_empty_tag() {
    for name in ["untagged.json", "empty-tag.json"] {
        let event = sample(name).unwrap();
        assert_eq!(event.tag(), None);
        assert_eq!(event.image_name(), "my-repository-name:");
        let rules = SelfTriggerRules::v2();
        let decision = rules.check(event.repository(), event.tag());
        assert_eq!(decision, PushDecision::Skip(SkipReason::UntaggedV2));
        let v1 = SelfTriggerRules::v1().check(event.repository(), event.tag());
        assert_eq!(v1, PushDecision::Process);
    }
}

#[test]
fn sample_soci_tag() {
    let event = sample("soci-tag.json").unwrap();
    let PushDecision::Skip(reason) = SelfTriggerRules::v1().check(event.repository(), event.tag())
    else {
        panic!("a -soci tag must be skipped");
    };
    assert_eq!(
        reason.to_string(),
        r#"Skipping image "my-repository-name:latest-soci" as it has the "-soci" suffix"#
    );
}

#[test]
fn sample_nested_repository_oci() {
    let event = sample("nested-repository-oci.json").unwrap();
    assert_eq!(event.image_name(), "prod/team/api:v1.2.3");
    assert_eq!(
        event.manifest_media_type(),
        Some("application/vnd.oci.image.index.v1+json")
    );
    assert_eq!(
        event.artifact_media_type(),
        Some("application/vnd.oci.image.config.v1+json")
    );
    // Round trip through serde keeps the optional fields.
    let again: ImageActionEvent =
        serde_json::from_value(serde_json::to_value(&event).unwrap()).unwrap();
    assert_eq!(again, event);
}

#[test]
fn sample_china_region() {
    let event = sample("china-region.json").unwrap();
    assert_eq!(
        event.registry_host().unwrap(),
        "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"
    );
}

#[test]
fn sample_rejects() {
    assert_eq!(
        sample("delete.json").unwrap_err(),
        EventError::WrongActionType
    );
    assert_eq!(sample("failure.json").unwrap_err(), EventError::WrongResult);
    assert_eq!(
        sample("digest-trailing-junk.json").unwrap_err(),
        EventError::InvalidImageDigest
    );
    assert!(matches!(
        sample("malformed.json"),
        Err(EventError::InvalidJson(_))
    ));
}

#[test]
fn every_sample_is_described() {
    let dir = format!("{}/tests/events", env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(format!("{dir}/README.md")).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".json") {
            assert!(
                readme.contains(&format!("`{name}`")),
                "{name} is not in the README"
            );
        }
    }
}
