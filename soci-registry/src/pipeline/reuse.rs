//! zTOCs that earlier runs stored, found through the SOCI indexes that name them, so a run over
//! an image already indexed builds nothing. A zTOC is used again only for the same layer, span
//! size and build tool (what decides its bytes), and only from where it can be copied.

use std::collections::HashMap;

use soci_core::{BuildConfig, Descriptor, ImageManifest};

use crate::error::RegistryError;
use crate::source::Source;

/// SOCI index manifests are small; anything larger is not one.
const MAX_INDEX: u64 = 4 << 20;

/// A zTOC of an earlier run and where it is stored.
#[derive(Clone)]
pub(crate) struct Candidate {
    /// Its descriptor as the earlier index had it (annotations included).
    pub(crate) descriptor: Descriptor,
    /// Where its blob can be read.
    pub(crate) origin: Source,
}

/// Reusable zTOCs by layer digest.
pub(crate) struct Reusable<'c> {
    config: &'c BuildConfig,
    by_layer: HashMap<String, Candidate>,
}

impl<'c> Reusable<'c> {
    /// An empty set for builds made as `config` says.
    pub(crate) fn new(config: &'c BuildConfig) -> Reusable<'c> {
        Reusable {
            config,
            by_layer: HashMap::new(),
        }
    }

    /// The zTOC stored for `layer`, if any.
    pub(crate) fn get(&self, layer: &str) -> Option<&Candidate> {
        self.by_layer.get(layer)
    }

    /// The earlier zTOC with digest `ztoc`, if any layer's is.
    pub(crate) fn by_ztoc(&self, ztoc: &str) -> Option<&Candidate> {
        self.by_layer.values().find(|c| c.descriptor.digest == ztoc)
    }

    /// Adds the zTOCs that the manifest `index` (a descriptor of a manifest in `origin`) offers
    /// for reuse ([`soci_core::reusable_ztocs`]). Manifests that are gone or are not SOCI
    /// indexes add nothing.
    pub(crate) async fn add_index(
        &mut self,
        origin: &Source,
        index: &Descriptor,
    ) -> Result<(), RegistryError> {
        if index.size > MAX_INDEX {
            return Ok(());
        }
        let manifest = match origin.manifest(&index.digest, &index.media_type).await {
            Ok(manifest) => manifest,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        };
        let Ok(manifest) = ImageManifest::parse(&manifest.bytes) else {
            return Ok(());
        };
        for (layer, ztoc) in soci_core::reusable_ztocs(&manifest, self.config) {
            self.by_layer
                .entry(layer.to_owned())
                .or_insert_with(|| Candidate {
                    descriptor: ztoc.clone(),
                    origin: origin.clone(),
                });
        }
        Ok(())
    }
}
