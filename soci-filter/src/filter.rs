//! The `repository:tag` filter list of the CloudFormation parameter `SociRepositoryImageTagFilters`
//! (also the filter Lambda's environment variable `soci_repository_image_tag_filters`).

use std::fmt;
use std::str::FromStr;

use crate::glob::glob_match;

/// One validated `repository:tag` filter, such as `prod*:latest`.
///
/// A filter holds exactly what the template's `AllowedPattern` accepts,
/// `^(?:[a-z0-9\*]+(?:[._-][a-z0-9\*]+)*\/)*[a-z0-9\*]+(?:[._-][a-z0-9\*]+)*(?::[a-z0-9\*]+(?:[._-][a-z0-9\*]+)*)$`:
/// lowercase letters, digits and `*` in words joined by `.`, `_` or `-`, `/` between repository
/// path components, and one `:` before a tag that has no `/`. (`$` is taken as the end of the
/// text: a trailing newline is rejected.)
///
/// It matches an image as Python's `fnmatch.translate` does with a full match of
/// `<repository>:<tag>`: `*` matches any run of characters, `/` and `:` included, everything else
/// matches itself, case sensitively. An untagged push is matched as `<repository>:`, so `repo:*`
/// and `*:*` match it and `repo:latest` does not.
///
/// ```
/// use soci_filter::Filter;
///
/// let filter: Filter = "prod/*:latest".parse()?;
/// assert_eq!((filter.repository(), filter.tag()), ("prod/*", "latest"));
/// assert!(filter.matches("prod/team/app", "latest"));
/// assert!(!filter.matches("prod/app", "v1"));
/// assert!(!filter.matches("production", "latest"));
/// # Ok::<(), soci_filter::FilterError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Filter {
    source: String,
    /// Byte offset of the `:` between repository and tag.
    colon: usize,
}

impl Filter {
    /// Validates one filter.
    pub fn parse(filter: &str) -> Result<Self, FilterError> {
        match check(filter) {
            Ok(colon) => Ok(Self {
                source: filter.to_owned(),
                colon,
            }),
            Err(problem) => Err(FilterError {
                filter: filter.to_owned(),
                problem,
            }),
        }
    }

    /// The filter as written, e.g. `prod*:latest`.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The repository part: everything before the `:`, e.g. `prod*`.
    pub fn repository(&self) -> &str {
        &self.source[..self.colon]
    }

    /// The tag part: everything after the `:`, e.g. `latest`.
    pub fn tag(&self) -> &str {
        &self.source[self.colon + 1..]
    }

    /// Whether the image `<repository>:<tag>` matches; `tag` is empty for an untagged push.
    pub fn matches(&self, repository: &str, tag: &str) -> bool {
        self.matches_name(&image_name(repository, tag))
    }

    /// Whether an image name already joined as `<repository>:<tag>` matches.
    pub fn matches_name(&self, name: &str) -> bool {
        glob_match(&self.source, name)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for Filter {
    type Err = FilterError;

    fn from_str(filter: &str) -> Result<Self, Self::Err> {
        Self::parse(filter)
    }
}

/// A validated, non-empty, ordered list of filters, as the comma-separated parameter value.
///
/// The list is split on `,` with no trimming (as the Lambda splits it), so a space or an empty
/// item is an error.
///
/// ```
/// use soci_filter::FilterSet;
///
/// let filters: FilterSet = "prod*:latest,dev:*".parse()?;
/// assert_eq!(filters.first_match("production", "latest").map(|f| f.as_str()), Some("prod*:latest"));
/// assert_eq!(filters.first_match("dev", "").map(|f| f.as_str()), Some("dev:*"));
/// assert!(filters.first_match("dev2", "latest").is_none());
///
/// let err = "prod:latest,Dev:*".parse::<FilterSet>().unwrap_err();
/// assert_eq!(err.to_string(), "invalid filter 2 of 2, \"Dev:*\": bad character 'D' at position 1 \
///     (allowed: lowercase letters, digits, '*', the separators '.', '_', '-', '/' and one ':')");
/// # Ok::<(), soci_filter::FilterListError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FilterSet {
    filters: Vec<Filter>,
}

impl FilterSet {
    /// Validates a comma-separated list; the first invalid item is the error.
    pub fn parse(list: &str) -> Result<Self, FilterListError> {
        let items = list.split(',').count();
        let filters = list
            .split(',')
            .enumerate()
            .map(|(index, item)| {
                Filter::parse(item).map_err(|error| FilterListError {
                    item: index + 1,
                    items,
                    error,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { filters })
    }

    /// The filters in list order (never empty).
    pub fn filters(&self) -> &[Filter] {
        &self.filters
    }

    /// The filters in list order.
    pub fn iter(&self) -> std::slice::Iter<'_, Filter> {
        self.filters.iter()
    }

    /// The first filter, in list order, that matches `<repository>:<tag>`; `tag` is empty for an
    /// untagged push.
    pub fn first_match(&self, repository: &str, tag: &str) -> Option<&Filter> {
        let name = image_name(repository, tag);
        self.filters
            .iter()
            .find(|filter| filter.matches_name(&name))
    }
}

impl fmt::Display for FilterSet {
    /// The list as the parameter value: the filters joined with `,`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, filter) in self.filters.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            f.write_str(filter.as_str())?;
        }
        Ok(())
    }
}

impl FromStr for FilterSet {
    type Err = FilterListError;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        Self::parse(list)
    }
}

impl<'a> IntoIterator for &'a FilterSet {
    type Item = &'a Filter;
    type IntoIter = std::slice::Iter<'a, Filter>;

    fn into_iter(self) -> Self::IntoIter {
        self.filters.iter()
    }
}

fn image_name(repository: &str, tag: &str) -> String {
    let mut name = String::with_capacity(repository.len() + 1 + tag.len());
    name.push_str(repository);
    name.push(':');
    name.push_str(tag);
    name
}

/// A filter that is not what the template's `AllowedPattern` accepts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter {filter:?}: {problem}")]
pub struct FilterError {
    filter: String,
    problem: FilterProblem,
}

impl FilterError {
    /// The filter as written.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// What is wrong with it.
    pub fn problem(&self) -> &FilterProblem {
        &self.problem
    }
}

/// An invalid item in a filter list: which one, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter {item} of {items}, {:?}: {}", .error.filter, .error.problem)]
pub struct FilterListError {
    item: usize,
    items: usize,
    error: FilterError,
}

impl FilterListError {
    /// The item's place in the list, counting from 1.
    pub fn item(&self) -> usize {
        self.item
    }

    /// How many items the list has.
    pub fn items(&self) -> usize {
        self.items
    }

    /// The item's own error.
    pub fn error(&self) -> &FilterError {
        &self.error
    }
}

/// What is wrong with a filter. Positions count characters from 1.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterProblem {
    /// Nothing at all (e.g. the item between `,,` or after a trailing `,`).
    #[error("empty filter (expected <repository>:<tag>, e.g. \"prod*:latest\")")]
    Empty,
    /// No `:` before a tag.
    #[error("missing \":<tag>\" (expected <repository>:<tag>, e.g. \"dev:*\")")]
    MissingTag,
    /// Nothing before the `:`.
    #[error("empty repository before ':'")]
    EmptyRepository,
    /// Nothing after the `:`.
    #[error("empty tag after ':' (\"*\" matches every tag, untagged pushes included)")]
    EmptyTag,
    /// A character no filter may hold (uppercase letters, spaces, `?`, `[`, …).
    #[error(
        "bad character {character:?} at position {position} (allowed: lowercase letters, digits, \
         '*', the separators '.', '_', '-', '/' and one ':')"
    )]
    BadCharacter {
        /// The character.
        character: char,
        /// Where it is.
        position: usize,
    },
    /// A `.`, `_` or `-` that does not sit between two name characters (at a start or end, or
    /// next to another separator).
    #[error("separator {character:?} at position {position} must sit between two name characters")]
    MisplacedSeparator {
        /// The separator.
        character: char,
        /// Where it is.
        position: usize,
    },
    /// A `/` at the start or end of the repository, or next to another `/`.
    #[error("'/' at position {position} must sit between two repository path components")]
    MisplacedSlash {
        /// Where it is.
        position: usize,
    },
    /// A `/` after the `:`.
    #[error("'/' at position {position} is in the tag (tags cannot contain '/')")]
    SlashInTag {
        /// Where it is.
        position: usize,
    },
    /// A second `:`.
    #[error("second ':' at position {position} (a filter has one ':', between repository and tag)")]
    ExtraColon {
        /// Where it is.
        position: usize,
    },
}

/// What came just before the character being looked at.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Previous {
    /// Nothing: the start of the filter.
    Start,
    /// A `/` at this position.
    Slash(usize),
    /// The `:`.
    Colon,
    /// A letter, digit or `*`.
    Name,
    /// This separator at this position.
    Separator(char, usize),
}

/// Checks a filter against the `AllowedPattern` from left to right, reporting the first problem;
/// returns the byte offset of its `:`.
fn check(filter: &str) -> Result<usize, FilterProblem> {
    use FilterProblem::*;

    if filter.is_empty() {
        return Err(Empty);
    }
    let mut previous = Previous::Start;
    let mut colon = None;
    for (index, (offset, character)) in filter.char_indices().enumerate() {
        let position = index + 1;
        previous = match character {
            'a'..='z' | '0'..='9' | '*' => Previous::Name,
            '.' | '_' | '-' => match previous {
                Previous::Name => Previous::Separator(character, position),
                _ => {
                    return Err(MisplacedSeparator {
                        character,
                        position,
                    });
                }
            },
            '/' => match previous {
                _ if colon.is_some() => return Err(SlashInTag { position }),
                Previous::Name => Previous::Slash(position),
                Previous::Separator(character, position) => {
                    return Err(MisplacedSeparator {
                        character,
                        position,
                    });
                }
                Previous::Start | Previous::Slash(_) | Previous::Colon => {
                    return Err(MisplacedSlash { position });
                }
            },
            ':' => match previous {
                _ if colon.is_some() => return Err(ExtraColon { position }),
                Previous::Name => {
                    colon = Some(offset);
                    Previous::Colon
                }
                Previous::Start | Previous::Colon => return Err(EmptyRepository),
                Previous::Slash(position) => return Err(MisplacedSlash { position }),
                Previous::Separator(character, position) => {
                    return Err(MisplacedSeparator {
                        character,
                        position,
                    });
                }
            },
            _ => {
                return Err(BadCharacter {
                    character,
                    position,
                });
            }
        };
    }
    let Some(colon) = colon else {
        return Err(MissingTag);
    };
    match previous {
        Previous::Name => Ok(colon),
        Previous::Separator(character, position) => Err(MisplacedSeparator {
            character,
            position,
        }),
        Previous::Start | Previous::Slash(_) | Previous::Colon => Err(EmptyTag),
    }
}
