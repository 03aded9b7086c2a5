//! The repository ARNs of the generator's ECR policy, as the template's
//! `InvokeRepositoryNameParsingLambda` custom resource derives them from the filters.

use soci_filter::FilterSet;

fn arns(list: &str) -> Vec<String> {
    list.parse::<FilterSet>()
        .unwrap()
        .repository_arns("aws", "us-east-1", "123456789012")
}

const PREFIX: &str = "arn:aws:ecr:us-east-1:123456789012:repository/";

#[test]
fn one_arn_per_repository_part() {
    assert_eq!(arns("dev:*"), [format!("{PREFIX}dev")]);
    assert_eq!(
        arns("prod*:latest,dev:*,team/app:v1"),
        [
            format!("{PREFIX}prod*"),
            format!("{PREFIX}dev"),
            format!("{PREFIX}team/app")
        ]
    );
}

#[test]
fn duplicates_once_in_first_order() {
    assert_eq!(
        arns("dev:a,prod:b,dev:c,prod:d,qa:e"),
        [
            format!("{PREFIX}dev"),
            format!("{PREFIX}prod"),
            format!("{PREFIX}qa")
        ]
    );
}

#[test]
fn a_bare_star_covers_everything() {
    assert_eq!(arns("*:*"), [format!("{PREFIX}*")]);
    assert_eq!(arns("dev:*,*:latest,prod:*"), [format!("{PREFIX}*")]);
    // Only a repository part that is exactly `*`.
    assert_eq!(
        arns("*/*:*,**:x"),
        [format!("{PREFIX}*/*"), format!("{PREFIX}**")]
    );
}

#[test]
fn partition_region_and_account_are_used_as_given() {
    let set: FilterSet = "prod/*:latest".parse().unwrap();
    assert_eq!(
        set.repository_arns("aws-cn", "cn-north-1", "210987654321"),
        ["arn:aws-cn:ecr:cn-north-1:210987654321:repository/prod/*"]
    );
    assert_eq!(
        set.repository_arns("aws-us-gov", "us-gov-west-1", "123456789012"),
        ["arn:aws-us-gov:ecr:us-gov-west-1:123456789012:repository/prod/*"]
    );
}
