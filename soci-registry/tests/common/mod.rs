//! Test support only these tests need; the rest is `soci_registry::testing`.

#![allow(dead_code, unreachable_pub)]

pub mod faults;

use std::time::Duration;

use bytes::Bytes;
use soci_registry::{ClientOptions, Credentials, RegistryClient, RegistryError, RetryPolicy};

/// Retries that wait milliseconds, not seconds.
pub fn quick_retries(attempts: u32) -> RetryPolicy {
    let mut retry = RetryPolicy::default();
    retry.attempts = attempts;
    retry.base_delay = Duration::from_millis(5);
    retry.max_delay = Duration::from_millis(20);
    retry
}

/// A client that reads blobs of 1 MiB and more as 256 KiB ranges, four at a time.
pub fn ranged_client(addr: &str, attempts: u32, credentials: Credentials) -> RegistryClient {
    let mut options = ClientOptions::default();
    options.plain_http = true;
    options.credentials = credentials;
    options.retry = quick_retries(attempts);
    options.parallel.connections = 4;
    options.parallel.range_size = 256 << 10;
    options.parallel.threshold = 1 << 20;
    RegistryClient::new(addr, options).unwrap()
}

/// Deterministic, barely compressible bytes, different for each seed.
pub fn noise(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Bytes that differ from range to range, so that one out of place changes the digest.
pub fn random_blob(len: usize) -> Bytes {
    Bytes::from(noise(0x2545_f491, len))
}

/// The blob `data` read back from `repo` with [`RegistryClient::fetch_blob`] (which checks it
/// against its digest).
pub async fn fetch(c: &RegistryClient, repo: &str, data: &Bytes) -> Result<Vec<u8>, RegistryError> {
    let digest = soci_ztoc::sha256_digest(data);
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let fetch = c.fetch_blob(repo, &digest, data.len() as u64, tx);
    let collect = async {
        let mut got = Vec::new();
        while let Some(chunk) = rx.recv().await {
            got.extend_from_slice(&chunk);
        }
        got
    };
    let (result, got) = tokio::join!(fetch, collect);
    result.map(|()| got)
}
