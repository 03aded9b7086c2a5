//! Manifests and indexes: read (a body cut short is read again), checked against their digest,
//! stored (sent again once when a child is refused as unknown), deleted, and the referrers API.

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode};

use super::auth::url_encode;
use super::transport::{BodyError, content_type, read_body};
use super::{MANIFEST_ACCEPT, MAX_MANIFEST, Manifest, RegistryClient, Scope};
use crate::error::RegistryError;

/// Why [`RegistryClient::delete_manifest`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeleteError {
    /// The registry does not delete it: `405 Method Not Allowed` or the code `UNSUPPORTED`, the
    /// answer of a registry with deletion switched off (distribution's default) and, from
    /// registries that follow the OCI spec there, of a `DELETE` by tag. Retrying changes nothing.
    #[error("the registry does not delete manifests")]
    Unsupported(#[source] RegistryError),
    /// The request failed otherwise.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// The error codes of a manifest refused for a child the registry does not know (distribution
/// also answers `DIGEST_INVALID` when it loses that race).
const CHILD_UNKNOWN: [&str; 4] = [
    "MANIFEST_BLOB_UNKNOWN",
    "BLOB_UNKNOWN",
    "MANIFEST_UNKNOWN",
    "DIGEST_INVALID",
];

impl RegistryClient {
    /// Fetches a manifest by tag or digest; by digest, its bytes are verified.
    pub async fn get_manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Manifest, RegistryError> {
        let url = format!("{}/v2/{repository}/manifests/{reference}", self.base);
        let manifest = self
            .get_document(&url, &Scope::pull(repository), &MANIFEST_ACCEPT)
            .await?;
        if reference.starts_with("sha256:") && reference != manifest.digest {
            return Err(RegistryError::DigestMismatch {
                what: "manifest",
                expected: reference.into(),
                actual: manifest.digest,
            });
        }
        Ok(manifest)
    }

    /// The digest of a manifest if it exists (`HEAD`), without fetching it.
    pub async fn manifest_digest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<String>, RegistryError> {
        let url = format!("{}/v2/{repository}/manifests/{reference}", self.base);
        let response = self
            .send(Method::HEAD, &url, &Scope::pull(repository), &|rb| {
                rb.header(ACCEPT, MANIFEST_ACCEPT.as_str())
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = self
            .expect(response, &Method::HEAD, &url, &[StatusCode::OK])
            .await?;
        match response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
        {
            Some(d) => Ok(Some(d.to_owned())),
            // No digest header: fetch the manifest to learn it.
            None => Ok(Some(self.get_manifest(repository, reference).await?.digest)),
        }
    }

    /// Stores a manifest under `reference` (a tag, or its own digest) and returns its digest.
    ///
    /// A registry may refuse a manifest whose children it has just stored as unknown (Debian's
    /// distribution does under concurrent writes to one repository): then each child is looked
    /// up, and if all are there the manifest is sent once more; if one is missing, the error
    /// names it.
    pub async fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        bytes: Bytes,
        media_type: &str,
    ) -> Result<String, RegistryError> {
        match self
            .put_manifest_once(repository, reference, &bytes, media_type)
            .await
        {
            Err(RegistryError::Status {
                status: 400,
                code: Some(code),
                ..
            }) if CHILD_UNKNOWN.contains(&code.as_str()) => {
                self.check_children(repository, &bytes).await?;
                self.put_manifest_once(repository, reference, &bytes, media_type)
                    .await
            }
            other => other,
        }
    }

    async fn put_manifest_once(
        &self,
        repository: &str,
        reference: &str,
        bytes: &Bytes,
        media_type: &str,
    ) -> Result<String, RegistryError> {
        let digest = soci_core::sha256_digest(bytes);
        let url = format!("{}/v2/{repository}/manifests/{reference}", self.base);
        let response = self
            .send_expecting(
                Method::PUT,
                &url,
                &Scope::push(repository),
                &|rb| rb.header(CONTENT_TYPE, media_type).body(bytes.clone()),
                &[StatusCode::CREATED, StatusCode::OK],
            )
            .await?;
        let stored = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok());
        match stored {
            Some(stored) if stored != digest => Err(RegistryError::DigestMismatch {
                what: "stored manifest",
                expected: digest,
                actual: stored.into(),
            }),
            _ => Ok(digest),
        }
    }

    /// Looks up every blob and manifest `manifest` refers to; an error names the first missing.
    async fn check_children(&self, repository: &str, manifest: &[u8]) -> Result<(), RegistryError> {
        let document: serde_json::Value =
            serde_json::from_slice(manifest).map_err(|e| RegistryError::Protocol {
                context: format!("manifest {}", soci_core::sha256_digest(manifest)),
                message: e.to_string(),
            })?;
        let digest_in = |entry: &serde_json::Value| entry["digest"].as_str().map(str::to_owned);
        // Foreign layers (with `urls`) live elsewhere: registries never hold them.
        let blobs = document["layers"].as_array().into_iter().flatten();
        let held = |entry: &&serde_json::Value| entry.get("urls").is_none();
        for blob in blobs
            .filter(held)
            .chain(document.get("config"))
            .filter_map(digest_in)
        {
            if !self.blob_exists(repository, &blob).await? {
                return Err(child_missing(repository, "blob", &blob));
            }
        }
        let manifests = document["manifests"].as_array().into_iter().flatten();
        for child in manifests.filter_map(digest_in) {
            if self.manifest_digest(repository, &child).await?.is_none() {
                return Err(child_missing(repository, "manifest", &child));
            }
        }
        Ok(())
    }

    /// Deletes the manifest `digest` from `repository` (`DELETE /v2/<name>/manifests/<digest>`):
    /// `true` once deleted, `false` when the registry has no such manifest or repository (gone
    /// already, which is what a caller removing it wants; a retried `DELETE` whose first answer
    /// was lost ends so too).
    ///
    /// The distribution API deletes by digest only, and removes every tag naming the manifest
    /// with it; the blobs it refers to stay until the registry's garbage collection. A token is
    /// asked for the `delete` action, which the distribution token spec keeps apart from `push`
    /// (ECR and the test registries take Basic authentication, which has no scopes).
    pub async fn delete_manifest(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<bool, DeleteError> {
        let url = format!("{}/v2/{repository}/manifests/{digest}", self.base);
        let response = self
            .send(Method::DELETE, &url, &Scope::delete(repository), &|rb| rb)
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        match self
            .expect(
                response,
                &Method::DELETE,
                &url,
                &[StatusCode::ACCEPTED, StatusCode::OK],
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(error)
                if matches!(&error, RegistryError::Status { status, code, .. }
                    if *status == 405 || code.as_deref() == Some("UNSUPPORTED")) =>
            {
                Err(DeleteError::Unsupported(error))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The referrers of a manifest through the OCI 1.1 referrers API, or `None` when the registry
    /// does not have that API (then the tag-schema fallback applies).
    pub async fn referrers(
        &self,
        repository: &str,
        digest: &str,
        artifact_type: Option<&str>,
    ) -> Result<Option<Manifest>, RegistryError> {
        let mut url = format!("{}/v2/{repository}/referrers/{digest}", self.base);
        if let Some(t) = artifact_type {
            url.push_str(&format!("?artifactType={}", url_encode(t)));
        }
        match self
            .get_document(&url, &Scope::pull(repository), soci_core::OCI_INDEX)
            .await
        {
            // Registries with the API answer 200 even for unknown subjects; a 404 means no API.
            Err(e) if e.is_not_found() => Ok(None),
            other => other.map(Some),
        }
    }

    /// GETs a small document (a manifest, a referrers list) whole: a body cut short is asked
    /// for again, within the retry policy, as a failed request is, so a dropped connection
    /// costs a retry rather than the conversion.
    async fn get_document(
        &self,
        url: &str,
        scope: &Scope,
        accept: &str,
    ) -> Result<Manifest, RegistryError> {
        let mut cuts = 0;
        loop {
            let response = self
                .send_expecting(
                    Method::GET,
                    url,
                    scope,
                    &|rb| rb.header(ACCEPT, accept),
                    &[StatusCode::OK],
                )
                .await?;
            let media_type = content_type(&response);
            match read_body(response, MAX_MANIFEST).await {
                Ok(bytes) => {
                    return Ok(Manifest {
                        digest: soci_core::sha256_digest(&bytes),
                        media_type,
                        bytes,
                    });
                }
                Err(BodyError::Cut(_)) if cuts + 1 < self.options.retry.attempts => {
                    cuts += 1;
                    tokio::time::sleep(self.options.retry.delay(cuts)).await;
                }
                Err(e) => return Err(e.into_error("GET", url)),
            }
        }
    }
}

/// A manifest refused because `repository` lacks one of its children, which is not there.
fn child_missing(repository: &str, kind: &str, digest: &str) -> RegistryError {
    RegistryError::Protocol {
        context: format!("storing a manifest in {repository}"),
        message: format!("the registry does not have its {kind} {digest}"),
    }
}
