//! From an image reference to something to read or write: a registry client with the right
//! credentials, a layout, or an archive.

use std::sync::Arc;

use crate::client::{
    ClientOptions, Credentials, ParallelReads, RegistryClient, RetryPolicy, resolve_credentials,
};
use crate::destination::Destination;
use crate::error::RegistryError;
use crate::image::Image;
use crate::reference::ImageRef;
use crate::source::Source;

/// How to reach the registries references name: the one way the CLI and the Lambda functions
/// make their clients.
///
/// ```
/// let mut connection = soci_registry::Connection::default();
/// connection.parallel.connections = 4;
/// assert!(!connection.plain_http);
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Connection {
    /// Speak plain HTTP (local test registries only).
    pub plain_http: bool,
    /// Credentials for every registry named; otherwise ECR's token for ECR hosts, else docker's
    /// `config.json` and its credential helpers, else anonymous.
    pub credentials: Option<Credentials>,
    /// ECR API endpoint override.
    pub ecr_endpoint: Option<String>,
    /// Retries of failed requests.
    pub retry: RetryPolicy,
    /// How large blobs are read over several connections.
    pub parallel: ParallelReads,
    /// For tests: the registry (`host[:port]`) every client connects to, whatever registry a
    /// reference names; credentials are still those of the registry named (so an ECR host named
    /// by an event gets its ECR token from [`ecr_endpoint`](Self::ecr_endpoint)).
    pub registry_override: Option<String>,
}

impl Connection {
    /// A client of `registry`, authenticated as this connection says.
    pub async fn client(&self, registry: &str) -> Result<Arc<RegistryClient>, RegistryError> {
        let credentials = resolve_credentials(
            registry,
            self.credentials.clone(),
            self.ecr_endpoint.as_deref(),
        )
        .await?;
        let options = ClientOptions {
            plain_http: self.plain_http,
            credentials,
            retry: self.retry.clone(),
            parallel: self.parallel.clone(),
            ..ClientOptions::default()
        };
        let address = self.registry_override.as_deref().unwrap_or(registry);
        RegistryClient::new(address, options).map(Arc::new)
    }

    /// Where `reference` is read from, and the tag, digest or layout name within it.
    pub async fn source(
        &self,
        reference: &ImageRef,
    ) -> Result<(Source, Option<String>), RegistryError> {
        Ok(match reference {
            ImageRef::Registry(r) => (
                Source::Registry {
                    client: self.client(&r.registry).await?,
                    repository: r.repository.clone(),
                },
                Some(r.reference().to_owned()),
            ),
            ImageRef::Layout { path, reference } => (
                Source::Layout(crate::layout::OciLayout::open(path)?),
                reference.clone(),
            ),
            ImageRef::Archive { path, reference } => {
                let path = path.clone();
                let layout = crate::archive::off_thread(move |stop| {
                    crate::archive::open_archive(&path, stop)
                })
                .await?;
                (Source::Layout(layout), reference.clone())
            }
        })
    }

    /// The image `reference` names.
    pub async fn image(&self, reference: &ImageRef) -> Result<Image, RegistryError> {
        let (source, name) = self.source(reference).await?;
        Image::open(source, name.as_deref()).await
    }

    /// Where to write results for `reference`, and the tag or layout name it gives (never a
    /// digest: results get new digests).
    pub async fn destination(
        &self,
        reference: &ImageRef,
    ) -> Result<(Destination, Option<String>), RegistryError> {
        Ok(match reference {
            ImageRef::Registry(r) => (
                Destination::Registry {
                    client: self.client(&r.registry).await?,
                    repository: r.repository.clone(),
                },
                r.tag.as_ref().map(ToString::to_string),
            ),
            ImageRef::Layout { path, reference } => (Destination::layout(path)?, reference.clone()),
            ImageRef::Archive { path, reference } => {
                let path = path.clone();
                let destination =
                    crate::archive::off_thread(move |stop| Destination::archive_until(path, stop))
                        .await?;
                (destination, reference.clone())
            }
        })
    }
}
