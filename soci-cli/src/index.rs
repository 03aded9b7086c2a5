//! `socix index list|info`: the SOCI indexes of an image, found as the snapshotter finds them
//! (`soci_registry::find_indexes`: V2 through the image, V1 through the referrers of its
//! manifests), in a registry or a layout.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use soci_core::select::{self, SelectError};
use soci_core::{ImageManifest, IndexVersion, Platform};
use soci_registry::{FoundIndex, Image};

use crate::build::{open_image, parse_platform};
use crate::connect::ConnectArgs;
use crate::output::{line, note, print_json, print_table};
use crate::refs::{RefArg, parse_digest_prefix, parse_ref, shell_quote};

#[derive(Subcommand)]
pub(crate) enum IndexCommand {
    /// List the SOCI indexes of an image, V2 first.
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  \
            socix index list oci:/tmp/sample:latest-soci\n  \
            socix index list --plain-http 127.0.0.1:5000/app:1.0 --platform linux/arm64 -q"
    )]
    List(ListArgs),
    /// Print a SOCI index manifest (the JSON document, indented).
    #[command(after_help = "Examples:\n  \
        socix index info oci:/tmp/sample:latest-soci\n  \
        socix index info 127.0.0.1:5000/app:1.0 --plain-http --platform linux/amd64\n  \
        socix index info oci:/tmp/sample:latest --digest sha256:6a76f318")]
    Info(InfoArgs),
}

impl IndexCommand {
    pub(crate) fn connect(&self) -> &ConnectArgs {
        match self {
            IndexCommand::List(args) => &args.select.connect,
            IndexCommand::Info(args) => &args.select.connect,
        }
    }

    /// Whether `--json` was given (`info` prints JSON always, but has no such flag).
    pub(crate) fn json(&self) -> bool {
        match self {
            IndexCommand::List(args) => args.json,
            IndexCommand::Info(_) => false,
        }
    }

    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self {
            IndexCommand::List(args) => args.run().await,
            IndexCommand::Info(args) => args.run().await,
        }
    }
}

/// An image and which of its SOCI indexes to look at: the arguments of every command that reads
/// SOCI indexes from an image.
#[derive(Args)]
pub(crate) struct Select {
    /// The image.
    #[arg(value_parser = parse_ref)]
    pub(crate) image: RefArg,
    /// Only indexes for this platform (`os/arch[/variant]`); repeatable.
    #[arg(short, long = "platform", value_name = "PLATFORM", value_parser = parse_platform, value_delimiter = ',')]
    pub(crate) platforms: Vec<Platform>,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
}

impl Select {
    /// The image and its SOCI indexes for the platforms asked.
    pub(crate) async fn find(&self) -> anyhow::Result<(Image, Vec<FoundIndex>)> {
        let connection = self.connect.connection()?;
        let image = open_image(&connection, &self.image).await?;
        let found = soci_registry::find_indexes_for(&image, &self.platforms)
            .await
            .with_context(|| format!("cannot look for the SOCI indexes of {}", self.image))?;
        Ok((image, found))
    }

    /// Like [`Select::find`], but finding nothing is an error that says how to build one.
    pub(crate) async fn find_some(&self) -> anyhow::Result<(Image, Vec<FoundIndex>)> {
        let (image, found) = self.find().await?;
        if found.is_empty() {
            bail!("{}", self.none_found());
        }
        Ok((image, found))
    }

    /// That the image has no SOCI index (for the platforms asked), and how to build one: the
    /// error of commands that need one, the note of listings that found none.
    pub(crate) fn none_found(&self) -> String {
        let platforms = if self.platforms.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = self.platforms.iter().map(|p| p.to_string()).collect();
            format!(" for {}", names.join(", "))
        };
        match self.image.converted_from() {
            Some(source) => format!(
                "{} has no SOCI index{platforms}; its tag names a conversion's result: convert \
                 its source again with `{}`",
                self.image,
                self.suggest("convert", source)
            ),
            None => format!(
                "{} has no SOCI index{platforms}; build one with `{}` (V2, a new image tagged \
                 <tag>-soci) or `{}` (V1, beside the image)",
                self.image,
                self.suggest("convert", &self.image.raw),
                self.suggest("create", &self.image.raw)
            ),
        }
    }

    /// `socix COMMAND IMAGE` to run next: the image quoted for the shell, with the flags this
    /// command reached its registry with.
    pub(crate) fn suggest(&self, command: &str, image: &str) -> String {
        format!(
            "socix {command} {}{}",
            shell_quote(image),
            self.connect.typed()
        )
    }
}

/// `v1` or `v2`, as the Go CLI's MANIFEST VERSION column says.
pub(crate) fn version(v: IndexVersion) -> &'static str {
    match v {
        IndexVersion::V1 => "v1",
        IndexVersion::V2 => "v2",
    }
}

/// A found index's platform, or `-` when the image does not say.
pub(crate) fn platform(found: &FoundIndex) -> String {
    found
        .platform
        .as_ref()
        .map_or_else(|| "-".to_owned(), |p| p.to_string())
}

#[derive(Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    select: Select,
    /// Print only the digests, one per line.
    #[arg(short, long, conflicts_with = "json")]
    quiet: bool,
    /// Print the indexes found as a JSON array.
    #[arg(long)]
    json: bool,
}

impl ListArgs {
    async fn run(self) -> anyhow::Result<()> {
        let (_, found) = self.select.find().await?;
        if self.json {
            return print_json(&found);
        }
        // Not an error (a listing that finds nothing succeeds), but a bare header would leave
        // the user guessing: say so on stderr, as `verify` does, and keep stdout empty.
        if found.is_empty() {
            note(self.select.none_found());
            return Ok(());
        }
        if self.quiet {
            for f in &found {
                line(&f.index.digest)?;
            }
            return Ok(());
        }
        let rows: Vec<Vec<String>> = found
            .iter()
            .map(|f| {
                vec![
                    f.index.digest.clone(),
                    f.index.size.to_string(),
                    platform(f),
                    version(f.version).to_owned(),
                    f.ztocs.len().to_string(),
                    f.manifest.digest.clone(),
                ]
            })
            .collect();
        print_table(
            &[
                "DIGEST",
                "SIZE",
                "PLATFORM",
                "MANIFEST VERSION",
                "ZTOCS",
                "IMAGE MANIFEST",
            ],
            &rows,
        )
    }
}

#[derive(Args)]
pub(crate) struct InfoArgs {
    #[command(flatten)]
    select: Select,
    /// The index to show, by digest (or a unique prefix of it), when the image has several.
    #[arg(long, value_parser = parse_digest_prefix)]
    digest: Option<String>,
}

impl InfoArgs {
    async fn run(self) -> anyhow::Result<()> {
        let (image, found) = self.select.find_some().await?;
        let chosen =
            select::by_digest_prefix(&found, self.digest.as_deref().unwrap_or_default(), |f| {
                [f.index.digest.as_str()]
            });
        let index = match chosen {
            Ok(one) => one,
            Err(SelectError::NoMatch { prefix }) => bail!(
                "{} has no SOCI index {prefix}; `{}` shows those it has",
                self.select.image,
                self.select.suggest("index list", &self.select.image.raw)
            ),
            Err(SelectError::Ambiguous { positions, .. }) => {
                let listed: Vec<String> = positions
                    .iter()
                    .map(|&p| {
                        let f = &found[p];
                        format!(
                            "{} ({} {})",
                            f.index.digest,
                            version(f.version),
                            platform(f)
                        )
                    })
                    .collect();
                bail!(
                    "{} has {} SOCI indexes: {}; choose one with --digest or --platform",
                    self.select.image,
                    listed.len(),
                    listed.join(", ")
                );
            }
        };
        let stored = image
            .source
            .manifest(&index.index.digest, &index.index.media_type)
            .await
            .with_context(|| format!("cannot read the SOCI index {}", index.index.digest))?;
        // Re-encoded through the manifest type, which keeps the document's field order.
        let manifest = ImageManifest::parse(&stored.bytes)?;
        print_json(&manifest)
    }
}
