//! zTOCs that earlier runs stored, found through the SOCI indexes that name them, so a run over
//! an image already indexed builds nothing. A zTOC is used again only for the same layer, span
//! size and build tool (what decides its bytes), and only from where it can be copied.

use std::collections::HashMap;

use soci_core::{
    BUILD_TOOL, Descriptor, ImageManifest, LAYER_DIGEST, SOCI_INDEX_V1, SOCI_INDEX_V2, SPAN_SIZE,
    ZTOC_MEDIA_TYPE,
};

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
pub(crate) struct Reusable {
    span_size: i64,
    build_tool: String,
    by_layer: HashMap<String, Candidate>,
}

impl Reusable {
    /// An empty set for builds with this span size and build tool.
    pub(crate) fn new(span_size: i64, build_tool: &str) -> Reusable {
        Reusable {
            span_size,
            build_tool: build_tool.to_owned(),
            by_layer: HashMap::new(),
        }
    }

    /// The zTOC stored for `layer`, if any.
    pub(crate) fn get(&self, layer: &str) -> Option<&Candidate> {
        self.by_layer.get(layer)
    }

    /// Adds the zTOCs of the SOCI index `index` (a descriptor of a manifest in `origin`), if
    /// it is one and was built with the same span size and build tool. Manifests that are gone
    /// or are not SOCI indexes add nothing.
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
        let is_soci = matches!(
            manifest.config.media_type.as_str(),
            SOCI_INDEX_V1 | SOCI_INDEX_V2
        );
        if !is_soci
            || manifest.annotations.get(BUILD_TOOL).map(String::as_str)
                != Some(self.build_tool.as_str())
        {
            return Ok(());
        }
        let span_size = self.span_size.to_string();
        for ztoc in manifest.layers {
            if ztoc.media_type != ZTOC_MEDIA_TYPE
                || ztoc.annotations.get(SPAN_SIZE) != Some(&span_size)
            {
                continue;
            }
            if let Some(layer) = ztoc.annotations.get(LAYER_DIGEST) {
                self.by_layer
                    .entry(layer.clone())
                    .or_insert_with(|| Candidate {
                        descriptor: ztoc.clone(),
                        origin: origin.clone(),
                    });
            }
        }
        Ok(())
    }
}
