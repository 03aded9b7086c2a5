//! IAM scoping of the generator Lambda's ECR permissions, as the template's
//! `InvokeRepositoryNameParsingLambda` custom resource computes it.

use crate::filter::FilterSet;

impl FilterSet {
    /// The ECR repository ARNs, `arn:<partition>:ecr:<region>:<account>:repository/<name>`, that
    /// cover the repository part of every filter: one per distinct repository part, in list order,
    /// wildcards kept (IAM treats `*` as a wildcard too, across `/`); just
    /// `arn:<partition>:ecr:<region>:<account>:repository/*` if any repository part is exactly `*`.
    ///
    /// The arguments are used as given.
    ///
    /// ```
    /// use soci_filter::FilterSet;
    ///
    /// let filters: FilterSet = "prod*:latest,dev:*,prod*:v1".parse()?;
    /// assert_eq!(
    ///     filters.repository_arns("aws", "us-east-1", "123456789012"),
    ///     [
    ///         "arn:aws:ecr:us-east-1:123456789012:repository/prod*",
    ///         "arn:aws:ecr:us-east-1:123456789012:repository/dev",
    ///     ]
    /// );
    /// # Ok::<(), soci_filter::FilterListError>(())
    /// ```
    pub fn repository_arns(&self, partition: &str, region: &str, account: &str) -> Vec<String> {
        let arn = |name: &str| format!("arn:{partition}:ecr:{region}:{account}:repository/{name}");
        if self.iter().any(|filter| filter.repository() == "*") {
            return vec![arn("*")];
        }
        let mut names: Vec<&str> = Vec::new();
        for filter in self {
            if !names.contains(&filter.repository()) {
                names.push(filter.repository());
            }
        }
        names.into_iter().map(arn).collect()
    }
}
