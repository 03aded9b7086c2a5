//! Reading an image through its SOCI indexes: the topmost layer whose zTOC has a file (in the
//! top layer only, in a lower one only, in both, in none), any spelling of its path, and the
//! platform filter.

use soci_core::Platform;
use soci_registry::testing::images::*;
use soci_registry::{
    BuildConfig, Destination, Image, LookupError, OciLayout, Source, find_indexes_for,
    topmost_with_file,
};

/// A gzipped layer of the given files.
fn layer(files: &[(&str, &[u8])]) -> Layer {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        tar.append_data(&mut h, name, *data).unwrap();
    }
    Layer {
        media_type: OCI_GZIP,
        bytes: gzip(&tar.into_inner().unwrap()),
    }
}

/// `image` written to a layout and converted (every layer gets a zTOC); the converted image.
async fn converted(dir: &std::path::Path, image: TestImage) -> Image {
    let path = dir.join("img");
    image.write_layout(&path, "v1");
    let source = Source::Layout(OciLayout::open(&path).unwrap());
    let original = Image::open(source.clone(), Some("v1")).await.unwrap();
    let mut config = BuildConfig::default();
    config.min_layer_size = 0;
    config.span_size = soci_registry::SpanSize::checked(65536, true).unwrap();
    soci_registry::convert(
        &original,
        &Destination::layout(&path).unwrap(),
        &tag("v1-soci"),
        &config,
        None,
    )
    .await
    .unwrap();
    Image::open(source, Some("v1-soci")).await.unwrap()
}

/// An image of `bottom` and `top`, converted; its indexes and the top layer's digest.
async fn two_layers(
    dir: &std::path::Path,
    bottom: Layer,
    top: Layer,
) -> (Image, Vec<soci_registry::FoundIndex>, String) {
    let single = TestImage::single(PlatformImage::new(false, "amd64", vec![bottom, top]));
    let image = converted(dir, single).await;
    let found = find_indexes_for(&image, &[]).await.unwrap();
    let top_layer = found[0].ztocs[1].annotations[soci_core::LAYER_DIGEST].clone();
    (image, found, top_layer)
}

fn platform(s: &str) -> Platform {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_topmost_layer_with_the_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let bottom = layer(&[("etc/hostname", b"bottom\n"), ("etc/os-release", b"base\n")]);
    let top = layer(&[("etc/hostname", b"top\n"), ("app/run", b"run\n")]);
    let image = converted(
        dir.path(),
        TestImage::single(PlatformImage::new(false, "amd64", vec![bottom, top])),
    )
    .await;
    let found = find_indexes_for(&image, &[]).await.unwrap();
    assert_eq!(found.len(), 1);
    let ztocs = &found[0].ztocs;
    let read = |name: &'static str| {
        let (image, found) = (&image, &found);
        async move {
            let fetched = topmost_with_file(&image.source, found, name.as_bytes())
                .await
                .unwrap()?;
            let digest = fetched.descriptor.digest.clone();
            let data = fetched
                .read_file(&image.source, name.as_bytes(), true)
                .await
                .unwrap();
            Some((digest, data))
        }
    };
    // In the top layer only.
    assert_eq!(
        read("app/run").await,
        Some((ztocs[1].digest.clone(), b"run\n".to_vec()))
    );
    // In both: the top layer's, whatever the spelling.
    for name in ["etc/hostname", "/etc/hostname", "./etc/hostname"] {
        assert_eq!(
            read(name).await,
            Some((ztocs[1].digest.clone(), b"top\n".to_vec()))
        );
    }
    // In the lower layer only.
    assert_eq!(
        read("/etc/os-release").await,
        Some((ztocs[0].digest.clone(), b"base\n".to_vec()))
    );
    // In none.
    assert_eq!(read("etc/passwd").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_platforms_need_one_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let amd64 = PlatformImage::new(false, "amd64", vec![layer(&[("a", b"amd64\n")])]);
    let arm64 = PlatformImage::new(false, "arm64", vec![layer(&[("a", b"arm64\n")])]);
    let image = converted(dir.path(), TestImage::multi(false, vec![amd64, arm64])).await;

    let all = find_indexes_for(&image, &[]).await.unwrap();
    assert_eq!(all.len(), 2);
    match topmost_with_file(&image.source, &all, b"a").await {
        Err(LookupError::SeveralPlatforms { platforms }) => {
            assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
        }
        other => panic!("{other:?}"),
    }

    // One platform, by any of its spellings.
    let arm = find_indexes_for(&image, &[platform("linux/aarch64")])
        .await
        .unwrap();
    assert_eq!(arm.len(), 1);
    let fetched = topmost_with_file(&image.source, &arm, b"a")
        .await
        .unwrap()
        .unwrap();
    let data = fetched.read_file(&image.source, b"a", true).await.unwrap();
    assert_eq!(data, b"arm64\n");
    assert!(
        find_indexes_for(&image, &[platform("windows/amd64")])
            .await
            .unwrap()
            .is_empty()
    );
}

/// Platforms with the same layers get the same SOCI index (a V2 index names no subject): it is
/// found once per platform, so each platform can be chosen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platforms_sharing_one_soci_index_are_each_found() {
    let dir = tempfile::tempdir().unwrap();
    let shared = layer(&[("a", b"same\n")]);
    let amd64 = PlatformImage::new(false, "amd64", vec![shared.clone()]);
    let arm64 = PlatformImage::new(false, "arm64", vec![shared]);
    let image = converted(dir.path(), TestImage::multi(false, vec![amd64, arm64])).await;

    let all = find_indexes_for(&image, &[]).await.unwrap();
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].index.digest, all[1].index.digest);
    assert_ne!(all[0].manifest.digest, all[1].manifest.digest);
    let arm = find_indexes_for(&image, &[platform("linux/arm64")])
        .await
        .unwrap();
    assert_eq!(arm.len(), 1);
    assert_eq!(arm[0].platform, Some(platform("linux/arm64")));
}

/// The topmost layer that records a name decides, as in the container: a directory or a link
/// it cannot follow there is an error naming the layer and what the entry is, not "no layer has
/// it" and not the lower layer's file of that name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_topmost_record_of_a_name_decides() {
    let dir = tempfile::tempdir().unwrap();
    let bottom = layer(&[("etc/motd", b"bottom\n"), ("data", b"file\n")]);
    let mut tar = tar::Builder::new(Vec::new());
    let mut directory = tar::Header::new_gnu();
    directory.set_entry_type(tar::EntryType::Directory);
    directory.set_mode(0o755);
    directory.set_size(0);
    tar.append_data(&mut directory, "data/", std::io::empty())
        .unwrap();
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    tar.append_link(&mut link, "etc/motd", "/nowhere").unwrap();
    let top = Layer {
        media_type: OCI_GZIP,
        bytes: gzip(&tar.into_inner().unwrap()),
    };
    let (image, found, top_layer) = two_layers(dir.path(), bottom, top).await;
    for (name, what) in [
        ("data", "\"data/\" is a dir, not a regular file"),
        (
            "/etc/motd",
            "\"etc/motd\" is a link to \"/nowhere\", which this layer does not have",
        ),
    ] {
        let err = match topmost_with_file(&image.source, &found, name.as_bytes()).await {
            Err(e) => e,
            Ok(other) => panic!("{name}: {:?}", other.map(|f| f.descriptor)),
        };
        let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(
            text.starts_with(&format!("cannot extract {name} from layer {top_layer}: "))
                && text.contains(what),
            "{text}"
        );
    }
}

/// A whiteout in an upper layer deletes the file below it, as in the container: the lookup says
/// so instead of reading the deleted file, and files it does not touch are still found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whiteouts_delete_what_is_below_them() {
    let dir = tempfile::tempdir().unwrap();
    let bottom = layer(&[
        ("etc/motd", b"old\n"),
        ("etc/kept", b"kept\n"),
        ("data/x", b"x\n"),
        ("gone/deep/file", b"deep\n"),
    ]);
    let top = layer(&[
        ("etc/.wh.motd", b""),
        ("data/.wh..wh..opq", b""),
        ("data/new", b"new\n"),
        (".wh.gone", b""),
    ]);
    let (image, found, top_layer) = two_layers(dir.path(), bottom, top).await;
    for (name, whiteout) in [
        ("etc/motd", "etc/.wh.motd"),
        ("/data/x", "data/.wh..wh..opq"),
        ("gone/deep/file", ".wh.gone"),
    ] {
        match topmost_with_file(&image.source, &found, name.as_bytes()).await {
            Err(LookupError::Deleted {
                name: asked,
                layer,
                whiteout: by,
            }) => {
                assert_eq!((asked.as_str(), by.as_str()), (name, whiteout));
                assert_eq!(layer, top_layer);
            }
            other => panic!("{name}: {:?}", other.map(|f| f.map(|f| f.descriptor))),
        }
    }
    for (name, layer) in [("etc/kept", 0), ("data/new", 1)] {
        let fetched = topmost_with_file(&image.source, &found, name.as_bytes())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            fetched.descriptor.digest, found[0].ztocs[layer].digest,
            "{name}"
        );
    }
}

fn tag(tag: &str) -> soci_registry::Tag {
    tag.parse().unwrap()
}
