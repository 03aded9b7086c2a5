//! Uploading blobs: monolithic uploads only (ECR drops the data of chunked `PATCH`es), from
//! memory or streamed, and cross-repository mounts.

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};
use tokio::sync::mpsc;

use super::auth::url_encode;
use super::retry::retriable_status;
use super::transport::transport_error;
use super::{RegistryClient, Scope};
use crate::error::RegistryError;

impl RegistryClient {
    /// Uploads a blob in one request (`POST` for a session, then `PUT` with the whole body),
    /// unless the repository has it already. With `mount_from`, first asks the registry to link
    /// it from that repository of the same registry.
    pub async fn push_blob(
        &self,
        repository: &str,
        digest: &str,
        bytes: Bytes,
        mount_from: Option<&str>,
    ) -> Result<(), RegistryError> {
        if self.blob_exists(repository, digest).await? {
            return Ok(());
        }
        let mut scope = Scope::push(repository);
        scope.also_pull = mount_from
            .filter(|from| *from != repository)
            .map(str::to_owned);
        let mut failures = 0;
        loop {
            match self.upload_once(repository, digest, &bytes, &scope).await {
                Ok(()) => return Ok(()),
                // A session that failed half-way may be gone: start a new one.
                Err(e) if failures + 1 < self.options.retry.attempts && is_retriable(&e) => {
                    failures += 1;
                    tokio::time::sleep(self.options.retry.delay(failures)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn upload_once(
        &self,
        repository: &str,
        digest: &str,
        bytes: &Bytes,
        scope: &Scope,
    ) -> Result<(), RegistryError> {
        if let Some(from) = &scope.also_pull
            && self.mount_blob(repository, digest, from).await?
        {
            return Ok(());
        }
        let put = self.upload_session(repository, digest, scope).await?;
        self.send_expecting(
            Method::PUT,
            &put,
            scope,
            &|rb| {
                rb.header(CONTENT_TYPE, "application/octet-stream")
                    .body(bytes.clone())
            },
            &[StatusCode::CREATED, StatusCode::NO_CONTENT],
        )
        .await?;
        Ok(())
    }

    /// Asks the registry to link a blob from another repository of the same registry into
    /// `repository`, without transferring it. Returns whether it did; registries that do not
    /// mount (or lack the blob there) answer with an upload session, which is left to expire.
    pub async fn mount_blob(
        &self,
        repository: &str,
        digest: &str,
        from: &str,
    ) -> Result<bool, RegistryError> {
        let url = format!(
            "{}/v2/{repository}/blobs/uploads/?mount={}&from={}",
            self.base,
            url_encode(digest),
            url_encode(from)
        );
        let scope = Scope {
            also_pull: Some(from.to_owned()),
            ..Scope::push(repository)
        };
        let response = self
            .send_expecting(
                Method::POST,
                &url,
                &scope,
                &|rb| rb.header(CONTENT_LENGTH, 0),
                &[StatusCode::CREATED, StatusCode::ACCEPTED],
            )
            .await?;
        Ok(response.status() == StatusCode::CREATED)
    }

    /// Uploads a blob of `size` bytes whose content arrives on `chunks`, in one monolithic `PUT`
    /// (ECR drops chunked `PATCH` data), so a layer of any size goes through without being held
    /// in memory. One attempt: a stream cannot be replayed, so the caller retries by streaming
    /// again. The registry checks the digest.
    pub async fn push_blob_stream(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        chunks: mpsc::Receiver<Bytes>,
    ) -> Result<(), RegistryError> {
        let scope = Scope::push(repository);
        let put = self.upload_session(repository, digest, &scope).await?;
        let body = futures_util::stream::unfold(chunks, |mut rx| async move {
            rx.recv()
                .await
                .map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
        });
        let mut request = self
            .http
            .put(&put)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, size)
            .body(reqwest::Body::wrap_stream(body));
        if let Some(header) = self.cached_auth(&scope) {
            request = request.header(AUTHORIZATION, header);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport_error("PUT", &put, e))?;
        self.expect(
            response,
            &Method::PUT,
            &put,
            &[StatusCode::CREATED, StatusCode::NO_CONTENT],
        )
        .await?;
        Ok(())
    }

    /// Opens an upload session and returns the URL to `PUT` the whole blob to.
    async fn upload_session(
        &self,
        repository: &str,
        digest: &str,
        scope: &Scope,
    ) -> Result<String, RegistryError> {
        let url = format!("{}/v2/{repository}/blobs/uploads/", self.base);
        let response = self
            .send_expecting(
                Method::POST,
                &url,
                scope,
                &|rb| rb.header(CONTENT_LENGTH, 0),
                &[StatusCode::ACCEPTED],
            )
            .await?;
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Protocol {
                context: format!("POST {url}"),
                message: "no Location header".into(),
            })?;
        let mut put = if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else {
            format!("{}{location}", self.base)
        };
        put.push(if put.contains('?') { '&' } else { '?' });
        put.push_str(&format!("digest={}", url_encode(digest)));
        Ok(put)
    }
}

fn is_retriable(e: &RegistryError) -> bool {
    match e {
        RegistryError::Transport { .. } => true,
        RegistryError::Status { status, .. } => retriable_status(*status) || *status == 404,
        _ => false,
    }
}
