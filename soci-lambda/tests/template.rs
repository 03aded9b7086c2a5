//! Properties of `templates/SociIndexBuilder.yml` that cfn-lint cannot know: the IAM actions
//! it grants are exactly those the functions' calls need (and `templates/README.md` lists), the
//! generator's memory and concurrency limits, the functions' log groups, the alarms operators
//! rely on (and the README's account of them and of the generator's metrics), and that a stack
//! of the AWS SOCI Index Builder can be updated to it in place.
//!
//! No YAML crate is a dependency of the workspace, so the template is read as the indented text
//! it is: sections, resources and keys by their indentation, which is all these checks need.

use std::collections::BTreeSet;

const TEMPLATE: &str = include_str!("../../templates/SociIndexBuilder.yml");
const README: &str = include_str!("../../templates/README.md");

/// The columns where a line's text starts.
fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The entries of a top-level section (`Parameters`, `Resources`, …): each key at indentation
/// 2 with the lines of its block (the key's line included).
fn entries<'a>(section: &str) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut lines = TEMPLATE.lines().skip_while(|l| *l != format!("{section}:"));
    lines
        .next()
        .unwrap_or_else(|| panic!("no {section} section"));
    let mut entries: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in lines {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        match indent(line) {
            0 => break,
            2 => {
                let key = line.trim().split(':').next().unwrap_or_default();
                entries.push((key, vec![line]));
            }
            _ => entries.last_mut().unwrap().1.push(line),
        }
    }
    entries
}

fn entry(section: &str, key: &str) -> Vec<&'static str> {
    entries(section)
        .into_iter()
        .find(|(k, _)| *k == key)
        .unwrap_or_else(|| panic!("no {key} in {section}"))
        .1
}

/// The value of `key:` in a block, at any depth (the first one).
fn value<'a>(block: &[&'a str], key: &str) -> Option<&'a str> {
    block.iter().find_map(|line| {
        let text = line.trim_start().trim_start_matches("- ");
        text.strip_prefix(key)?
            .strip_prefix(':')
            .map(|v| v.trim().trim_matches('\''))
    })
}

/// Resources: logical id, type and block.
fn resources() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    entries("Resources")
        .into_iter()
        .map(|(id, block)| {
            let kind = value(&block, "Type").unwrap_or_else(|| panic!("{id} has no Type"));
            (id, kind, block)
        })
        .collect()
}

/// An IAM policy statement: its effect and actions.
#[derive(Debug)]
struct Statement {
    effect: String,
    actions: Vec<String>,
}

/// Every statement with an `Effect` in the template (identity and resource policies; the
/// `Action` of an `AWS::Lambda::Permission` has no effect and is not one).
fn statements() -> Vec<Statement> {
    let lines: Vec<&str> = TEMPLATE.lines().collect();
    let mut found = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        let text = line.trim_start().trim_start_matches("- ");
        let Some(effect) = text.strip_prefix("Effect:") else {
            continue;
        };
        let key_column = line.len() - text.len();
        // The statement starts at the `- ` item whose keys are in the Effect's column.
        let start = (0..=at)
            .rev()
            .find(|&i| {
                let l = lines[i];
                l.trim_start().starts_with("- ") && indent(l) + 2 == key_column
            })
            .expect("a statement item");
        let end = (start + 1..lines.len())
            .find(|&i| !lines[i].trim().is_empty() && indent(lines[i]) < key_column)
            .unwrap_or(lines.len());
        let mut actions = Vec::new();
        let mut in_list = false;
        for l in &lines[start..end] {
            let text = l.trim_start().trim_start_matches("- ");
            let column = l.len() - text.len();
            if column == key_column {
                in_list = false;
                if let Some(rest) = text.strip_prefix("Action:") {
                    let rest = rest.trim();
                    if rest.is_empty() {
                        in_list = true;
                    } else {
                        actions.extend(
                            rest.trim_matches(['[', ']'])
                                .split(',')
                                .map(|a| a.trim().trim_matches(['\'', '"']).to_owned()),
                        );
                    }
                }
            } else if in_list && l.trim_start().starts_with("- ") {
                actions.push(text.trim().trim_matches(['\'', '"']).to_owned());
            }
        }
        assert!(
            !actions.is_empty(),
            "a statement without actions at line {at}"
        );
        found.push(Statement {
            effect: effect.trim().to_owned(),
            actions,
        });
    }
    found
}

/// The actions `templates/README.md` lists under "Permissions", each with the call needing it.
fn documented_actions() -> BTreeSet<String> {
    let section = README
        .split("\n## Permissions\n")
        .nth(1)
        .expect("templates/README.md has a Permissions section");
    let section = section.split("\n## ").next().unwrap();
    let mut actions = BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let action = cells[1].trim_matches('`');
        let needed_by = cells
            .last()
            .filter(|c| !c.is_empty())
            .unwrap_or(&cells[cells.len() - 2]);
        assert!(
            needed_by.len() > 10,
            "{action}: the README must say which call needs it: {row}"
        );
        actions.insert(action.to_owned());
    }
    actions
}

#[test]
fn the_template_grants_exactly_the_documented_actions() {
    let documented = documented_actions();
    let granted: BTreeSet<String> = statements()
        .into_iter()
        .filter(|s| s.effect == "Allow")
        .flat_map(|s| s.actions)
        // Trust policies: who may assume a role, not what it may do.
        .filter(|a| a != "sts:AssumeRole")
        .collect();
    let undocumented: Vec<&String> = granted.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "granted but not needed by any call (or not listed in templates/README.md): {undocumented:?}"
    );
    let stale: Vec<&String> = documented.difference(&granted).collect();
    assert!(stale.is_empty(), "listed but not granted: {stale:?}");
    // The calls the code makes (soci-registry's registry client through the ECR token, the
    // custom resource's BatchDeleteImage, the filter's Invoke, Lambda's destinations and
    // logs): nothing else, no wildcard.
    let expected: BTreeSet<String> = [
        "ecr:GetAuthorizationToken",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
        "ecr:BatchDeleteImage",
        "lambda:InvokeFunction",
        "sqs:SendMessage",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(granted, expected);
}

#[test]
fn the_only_deny_is_the_queues_insecure_transport_rule() {
    let denies: Vec<Statement> = statements()
        .into_iter()
        .filter(|s| s.effect != "Allow")
        .collect();
    assert_eq!(denies.len(), 1, "{denies:?}");
    assert_eq!(denies[0].effect, "Deny");
    assert_eq!(denies[0].actions, ["sqs:*"]);
}

#[test]
fn generator_memory_has_a_floor_that_fits_a_layer() {
    let parameter = entry("Parameters", "GeneratorMemorySize");
    let floor: u64 = value(&parameter, "MinValue").unwrap().parse().unwrap();
    assert!(floor >= 512, "MinValue {floor}");
    let connections: usize = value(&entry("Parameters", "GeneratorConnections"), "Default")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        soci_lambda::config::layers_for_memory(floor, connections),
        1
    );
    let default: u64 = value(&parameter, "Default").unwrap().parse().unwrap();
    assert!(soci_lambda::config::layers_for_memory(default, connections) >= 2);
}

#[test]
fn the_connections_per_layer_reach_both_building_functions() {
    let parameter = entry("Parameters", "GeneratorConnections");
    assert_eq!(
        value(&parameter, "Default").map(str::parse::<usize>),
        Some(Ok(soci_registry::ParallelReads::default().connections)),
        "the library's default"
    );
    // The bounds the function accepts.
    assert_eq!(value(&parameter, "MinValue"), Some("1"));
    assert_eq!(value(&parameter, "MaxValue"), Some("64"));
    for id in ["SociIndexGeneratorLambda", "SociIndexCustomResourceLambda"] {
        let function = resource(id, "AWS::Lambda::Function");
        let variable = function
            .iter()
            .find(|line| line.trim_start().starts_with("soci_connections:"));
        assert_eq!(
            variable.map(|line| line.trim()),
            Some("soci_connections: !Ref GeneratorConnections"),
            "{id}"
        );
    }
    assert_eq!(soci_lambda::config::CONNECTIONS_VAR, "soci_connections");
    assert!(TEMPLATE.contains("          - GeneratorConnections\n"));
    assert!(README.contains("| `GeneratorConnections` |"));
}

#[test]
fn generator_reserved_concurrency_is_optional() {
    let parameter = entry("Parameters", "GeneratorReservedConcurrency");
    assert_eq!(value(&parameter, "Default"), Some(""));
    let condition = entry("Conditions", "HasGeneratorReservedConcurrency");
    assert!(
        condition[0].contains("!Not [!Equals [!Ref GeneratorReservedConcurrency, '']]"),
        "{condition:?}"
    );
    let (_, _, generator) = resources()
        .into_iter()
        .find(|(id, _, _)| *id == "SociIndexGeneratorLambda")
        .unwrap();
    assert_eq!(
        value(&generator, "ReservedConcurrentExecutions"),
        Some(
            "!If [HasGeneratorReservedConcurrency, !Ref GeneratorReservedConcurrency, !Ref AWS::NoValue]"
        )
    );
    // Listed in the console's parameter groups.
    assert!(TEMPLATE.contains("          - GeneratorReservedConcurrency\n"));
}

#[test]
fn functions_log_to_log_groups_of_the_stacks_own() {
    let resources = resources();
    let log_groups: Vec<&str> = resources
        .iter()
        .filter(|(_, kind, _)| *kind == "AWS::Logs::LogGroup")
        .map(|(id, _, _)| *id)
        .collect();
    for (id, _, block) in resources
        .iter()
        .filter(|(_, k, _)| *k == "AWS::Logs::LogGroup")
    {
        // Lambda's default groups, /aws/lambda/<function>, exist already in a stack being
        // updated from the AWS SOCI Index Builder: a group of that name fails the update.
        assert_eq!(value(block, "LogGroupName"), None, "{id}");
    }
    for (id, _, block) in resources
        .iter()
        .filter(|(_, k, _)| *k == "AWS::Lambda::Function")
    {
        let group = value(block, "LogGroup")
            .and_then(|v| v.strip_prefix("!Ref "))
            .unwrap_or_else(|| panic!("{id} has no LoggingConfig.LogGroup"));
        assert!(log_groups.contains(&group), "{id}: {group}");
    }
}

/// The block of the resource `id`, after checking its type.
fn resource(id: &str, kind: &str) -> Vec<&'static str> {
    let (_, our_kind, block) = resources()
        .into_iter()
        .find(|(i, _, _)| *i == id)
        .unwrap_or_else(|| panic!("no resource {id}"));
    assert_eq!(our_kind, kind, "{id}");
    block
}

/// What `templates/README.md` says under the heading `## {title}`.
fn readme_section(title: &str) -> &'static str {
    let section = README
        .split(&format!("\n## {title}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("templates/README.md has no {title} section"));
    section.split("\n## ").next().unwrap()
}

#[test]
fn the_alarm_topic_is_optional() {
    let parameter = entry("Parameters", "AlarmTopicArn");
    assert_eq!(value(&parameter, "Default"), Some(""));
    assert_eq!(value(&parameter, "Type"), Some("String"));
    let condition = entry("Conditions", "HasAlarmTopic");
    assert!(
        condition[0].contains("!Not [!Equals [!Ref AlarmTopicArn, '']]"),
        "{condition:?}"
    );
    // Listed in the console's parameter groups, and documented.
    assert!(TEMPLATE.contains("          - AlarmTopicArn\n"));
    assert!(README.contains("| `AlarmTopicArn` |"));
}

#[test]
fn the_ecr_endpoint_is_optional_and_reaches_the_generator() {
    let parameter = entry("Parameters", "EcrEndpoint");
    assert_eq!(value(&parameter, "Default"), Some(""));
    let condition = entry("Conditions", "HasEcrEndpoint");
    assert!(
        condition[0].contains("!Not [!Equals [!Ref EcrEndpoint, '']]"),
        "{condition:?}"
    );
    let generator = resource("SociIndexGeneratorLambda", "AWS::Lambda::Function");
    let variable = generator
        .iter()
        .find(|line| line.trim_start().starts_with("ECR_ENDPOINT:"));
    assert_eq!(
        variable.map(|line| line.trim()),
        Some("ECR_ENDPOINT: !If [HasEcrEndpoint, !Ref EcrEndpoint, !Ref AWS::NoValue]")
    );
    assert_eq!(soci_lambda::config::ECR_ENDPOINT_VAR, "ECR_ENDPOINT");
    assert!(TEMPLATE.contains("          - EcrEndpoint\n"));
    assert!(README.contains("| `EcrEndpoint` |"));
}

#[test]
fn alarms_watch_the_failure_queue_and_the_generators_errors() {
    let alarms: Vec<&str> = resources()
        .into_iter()
        .filter(|(_, kind, _)| *kind == "AWS::CloudWatch::Alarm")
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(alarms, ["FailureQueueAlarm", "GeneratorErrorsAlarm"]);
    let expected = [
        (
            "FailureQueueAlarm",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            "!GetAtt FailureQueue.QueueName",
        ),
        (
            "GeneratorErrorsAlarm",
            "AWS/Lambda",
            "Errors",
            "FunctionName",
            "!Ref SociIndexGeneratorLambda",
        ),
    ];
    let section = readme_section("Metrics and alarms");
    for (id, namespace, metric, dimension, target) in expected {
        let block = resource(id, "AWS::CloudWatch::Alarm");
        assert_eq!(value(&block, "Namespace"), Some(namespace), "{id}");
        assert_eq!(value(&block, "MetricName"), Some(metric), "{id}");
        assert_eq!(value(&block, "Name"), Some(dimension), "{id}");
        assert_eq!(value(&block, "Value"), Some(target), "{id}");
        // Any message, any error: more than nothing alarms.
        assert_eq!(value(&block, "Threshold"), Some("0"), "{id}");
        assert_eq!(
            value(&block, "ComparisonOperator"),
            Some("GreaterThanThreshold"),
            "{id}"
        );
        // Quiet periods publish no data; they are not alarms.
        assert_eq!(
            value(&block, "TreatMissingData"),
            Some("notBreaching"),
            "{id}"
        );
        // No fixed name (several stacks per Region); the topic only when one is given.
        assert_eq!(value(&block, "AlarmName"), None, "{id}");
        for actions in ["AlarmActions", "OKActions"] {
            assert_eq!(
                value(&block, actions),
                Some("!If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]"),
                "{id} {actions}"
            );
        }
        assert!(section.contains(&format!("`{id}`")), "README: {id}");
        assert!(section.contains(metric), "README: {metric}");
    }
}

#[test]
fn the_readme_lists_the_generators_metrics() {
    use soci_lambda::metrics;
    let section = readme_section("Metrics and alarms");
    for name in [
        metrics::NAMESPACE,
        metrics::FUNCTION_NAME,
        metrics::SKIP_REASON,
        metrics::ERROR_TYPE,
        metrics::IMAGES_INDEXED,
        metrics::IMAGES_SKIPPED,
        metrics::IMAGES_FAILED,
        metrics::LAYERS_INDEXED,
        metrics::LAYERS_REUSED,
        metrics::BYTES_INDEXED,
        metrics::DURATION,
        metrics::THROUGHPUT,
    ] {
        assert!(section.contains(&format!("`{name}`")), "README: {name}");
    }
    for skip in [
        metrics::Skip::Unchanged,
        metrics::Skip::OwnOutput,
        metrics::Skip::UntaggedV2,
        metrics::Skip::NoZtocs,
        metrics::Skip::NotAnImage,
        metrics::Skip::ManifestNotFound,
        metrics::Skip::SourceMoved,
    ] {
        assert!(
            section.contains(&format!("`{}`", skip.as_str())),
            "README: {skip:?}"
        );
    }
}

/// The AWS SOCI Index Builder's resources (`aws-ia/cfn-ecr-aws-soci-index-builder`,
/// `templates/SociIndexBuilder.yml`): logical id, type, and the fixed function name where it
/// has one.
const ORIGINAL_RESOURCES: [(&str, &str, Option<&str>); 13] = [
    (
        "ECRImageActionEventFilteringLambda",
        "AWS::Lambda::Function",
        None,
    ),
    (
        "ECRImageActionEventFilteringLambdaRole",
        "AWS::IAM::Role",
        None,
    ),
    (
        "ECRImageActionEventFilteringLambdaCloudwatchPolicy",
        "AWS::IAM::Policy",
        None,
    ),
    (
        "ECRImageActionEventFilteringLambdaInvokeSociIndexGeneratorLambdaPolicy",
        "AWS::IAM::Policy",
        None,
    ),
    ("ECRImageActionEventBridgeRule", "AWS::Events::Rule", None),
    (
        "ECRImageActionEventFilteringLambdaInvokePermission",
        "AWS::Lambda::Permission",
        None,
    ),
    ("SociIndexGeneratorLambda", "AWS::Lambda::Function", None),
    (
        "SociIndexGeneratorLambdaCloudwatchPolicy",
        "AWS::IAM::Policy",
        None,
    ),
    (
        "SociIndexGeneratorLambdaECRRepositoryPolicy",
        "AWS::IAM::Policy",
        None,
    ),
    ("SociIndexGeneratorLambdaRole", "AWS::IAM::Role", None),
    ("RepositoryNameParsingLambdaRole", "AWS::IAM::Role", None),
    (
        "RepositoryNameParsingLambda",
        "AWS::Lambda::Function",
        Some("RepositoryNameParsingLambda"),
    ),
    (
        "InvokeRepositoryNameParsingLambda",
        "Custom::MyCustomResource",
        None,
    ),
];

#[test]
fn a_stack_of_the_aws_soci_index_builder_can_be_updated_in_place() {
    let resources = resources();
    let ours = |id: &str| resources.iter().find(|(i, _, _)| *i == id);
    // Its functions and roles are updated in place: same logical ids, no fixed names.
    for id in [
        "ECRImageActionEventFilteringLambda",
        "SociIndexGeneratorLambda",
        "ECRImageActionEventFilteringLambdaRole",
        "SociIndexGeneratorLambdaRole",
        "ECRImageActionEventBridgeRule",
    ] {
        assert!(ours(id).is_some(), "{id} is kept");
    }
    for (id, kind, function_name) in ORIGINAL_RESOURCES {
        let Some((_, our_kind, block)) = ours(id) else {
            continue;
        };
        // CloudFormation refuses to change a resource's type under the same logical id.
        assert_eq!(*our_kind, kind, "{id}");
        // A function keeps its name (or its lack of one), so it is not replaced…
        if kind == "AWS::Lambda::Function" {
            assert_eq!(value(block, "FunctionName"), function_name, "{id}");
        }
    }
    // …and a custom resource's ServiceToken cannot change: one kept under the original's id
    // must be served by the original's fixed-name function.
    for (id, kind, block) in resources
        .iter()
        .filter(|(_, k, _)| k.starts_with("Custom::"))
    {
        let token = value(block, "ServiceToken").unwrap();
        let function = token
            .strip_prefix("!GetAtt ")
            .and_then(|t| t.strip_suffix(".Arn"))
            .unwrap_or_else(|| panic!("{id}: {token}"));
        if let Some((_, original_kind, _)) = ORIGINAL_RESOURCES.iter().find(|(i, _, _)| i == id) {
            assert_eq!(kind, original_kind, "{id}");
            let (_, _, function_block) = ours(function).unwrap();
            assert_eq!(
                value(function_block, "FunctionName"),
                Some("RepositoryNameParsingLambda"),
                "{id}"
            );
        } else {
            // A new custom resource needs a new function too: the old one is deleted with it.
            assert!(
                !ORIGINAL_RESOURCES.iter().any(|(i, _, _)| *i == function),
                "{id} is served by {function}, a logical id of the original"
            );
        }
    }
}

/// The IAM actions of the role `id`, with the resource each statement grants them on.
fn role_grants(id: &str) -> Vec<(String, String)> {
    let block = resource(id, "AWS::IAM::Role");
    let mut grants = Vec::new();
    let mut actions: Vec<String> = Vec::new();
    let mut in_list = false;
    for line in &block {
        let text = line.trim_start().trim_start_matches("- ").trim();
        if let Some(rest) = text.strip_prefix("Action:") {
            actions = match rest.trim() {
                "" => Vec::new(),
                one => vec![one.to_owned()],
            };
            in_list = rest.trim().is_empty();
        } else if let Some(resource) = text.strip_prefix("Resource:") {
            in_list = false;
            for action in actions.drain(..) {
                grants.push((action, resource.trim().to_owned()));
            }
        } else if in_list && line.trim_start().starts_with("- ") {
            actions.push(text.to_owned());
        }
    }
    grants
}

#[test]
fn the_custom_resource_function_is_exported_with_the_generators_registry_rights_and_tag_removal() {
    let function = resource("SociIndexCustomResourceLambda", "AWS::Lambda::Function");
    assert!(
        function
            .iter()
            .any(|l| l.contains("functions/packages/soci-index-custom-resource/bootstrap.zip")),
        "the package.sh binary's key"
    );
    assert_eq!(
        value(&function, "Role"),
        Some("!GetAtt SociIndexCustomResourceLambdaRole.Arn")
    );
    // Its own deadline margin must fit in Lambda's limit, as the generator's does.
    assert_eq!(value(&function, "Timeout"), Some("900"));

    // The generator's registry rights on the same repositories, and BatchDeleteImage there
    // (RemoveIndexOnDelete), its own log group, nothing else (no queue: CloudFormation gets
    // the failures).
    let ecr = |grants: Vec<(String, String)>| -> Vec<(String, String)> {
        grants
            .into_iter()
            .filter(|(a, _)| a.starts_with("ecr:"))
            .collect()
    };
    let ours = role_grants("SociIndexCustomResourceLambdaRole");
    let mut expected = ecr(role_grants("SociIndexGeneratorLambdaRole"));
    let repositories = expected
        .iter()
        .find(|(a, _)| a == "ecr:PutImage")
        .map(|(_, r)| r.clone())
        .unwrap();
    expected.push(("ecr:BatchDeleteImage".to_owned(), repositories));
    assert_eq!(ecr(ours.clone()), expected);
    assert!(
        ours.iter()
            .all(|(a, _)| a.starts_with("ecr:") || a.starts_with("logs:")),
        "{ours:?}"
    );
    for (action, resource) in ours.iter().filter(|(a, _)| a.starts_with("logs:")) {
        assert_eq!(
            resource, "!GetAtt SociIndexCustomResourceLogGroup.Arn",
            "{action}"
        );
    }

    let output = entry("Outputs", "SociIndexServiceToken");
    assert_eq!(
        value(&output, "Value"),
        Some("!GetAtt SociIndexCustomResourceLambda.Arn")
    );
    assert_eq!(
        value(&output, "Name"),
        Some("!Sub ${AWS::StackName}-SociIndexServiceToken")
    );
    // The README's permissions table names the function's role.
    let permissions = readme_section("Permissions");
    assert!(permissions.contains("custom resource"), "README");
    assert!(README.contains(soci_lambda::custom_resource::RESOURCE_TYPE));
}
