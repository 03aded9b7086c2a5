//! Property: for any tar the `tar` crate writes (GNU or PAX headers, long and non-UTF-8 names,
//! every entry type, sizes around span boundaries), gzipped at any level and split into any
//! number of members, fed in chunks of any size, the zTOC lists every entry with its real name,
//! type and size, and every regular file extracts through it to its original bytes.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;

use flate2::{Compression, write::GzEncoder};
use proptest::prelude::*;
use soci_ztoc::{BuildError, BuildOptions, Builder, CompressionAlgorithm, EntryType, Zinfo, Ztoc};

#[derive(Clone, Debug)]
enum Kind {
    File(usize, u8),
    Dir,
    Symlink(Vec<u8>),
    Hardlink,
    Char,
    Block,
    Fifo,
}

#[derive(Clone, Debug)]
struct Entry {
    name: Vec<u8>,
    kind: Kind,
}

fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[a-z]{1,12}(/[a-z0-9_-][a-z0-9._-]{0,11}){0,3}".prop_map(String::into_bytes),
        1 => "[a-z]{50,60}/[a-z]{60,130}".prop_map(String::into_bytes),
        1 => proptest::collection::vec(1u8..=255, 1..40)
            .prop_map(|v| v.into_iter().map(|b| if b == b'/' || b == b'.' { b'x' } else { b }).collect()),
    ]
}

fn entry() -> impl Strategy<Value = Entry> {
    let kind = prop_oneof![
        6 => (prop_oneof![0usize..600, 60_000usize..140_000], any::<u8>())
            .prop_map(|(n, seed)| Kind::File(n, seed)),
        1 => Just(Kind::Dir),
        1 => "[a-z]{1,30}(/[a-z]{1,30}){0,5}".prop_map(|t| Kind::Symlink(t.into_bytes())),
        1 => Just(Kind::Hardlink),
        1 => Just(Kind::Char),
        1 => Just(Kind::Block),
        1 => Just(Kind::Fifo),
    ];
    (name(), kind).prop_map(|(name, kind)| Entry { name, kind })
}

/// Compressible but not trivial file contents.
fn contents(len: usize, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed) | 1;
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            if i % 7 < 4 {
                b'a' + (x % 4) as u8
            } else {
                x as u8
            }
        })
        .collect()
}

fn link_target<'a>(entries: &'a [Entry], e: &'a Entry) -> Option<&'a [u8]> {
    match &e.kind {
        Kind::Symlink(t) => Some(t),
        Kind::Hardlink => Some(&entries[0].name),
        _ => None,
    }
}

fn write_tar(entries: &[Entry], gnu: bool) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (i, e) in entries.iter().enumerate() {
        let mut h = if gnu {
            tar::Header::new_gnu()
        } else {
            tar::Header::new_ustar()
        };
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000 + i as u64);
        h.set_uid(1000);
        h.set_gid(1000);
        let data = match &e.kind {
            Kind::File(n, seed) => contents(*n, *seed),
            _ => Vec::new(),
        };
        h.set_entry_type(match &e.kind {
            Kind::File(..) => tar::EntryType::Regular,
            Kind::Dir => tar::EntryType::Directory,
            Kind::Symlink(_) => tar::EntryType::Symlink,
            Kind::Hardlink => tar::EntryType::Link,
            Kind::Char => tar::EntryType::Char,
            Kind::Block => tar::EntryType::Block,
            Kind::Fifo => tar::EntryType::Fifo,
        });
        h.set_size(data.len() as u64);
        let path = std::ffi::OsStr::from_bytes(&e.name);
        let target = link_target(entries, e).map(std::ffi::OsStr::from_bytes);
        if gnu {
            // The tar crate writes GNU long-name and long-link entries as needed.
            match target {
                Some(target) => b.append_link(&mut h, path, target).unwrap(),
                None => b.append_data(&mut h, path, &data[..]).unwrap(),
            }
            continue;
        }
        // PAX: long names and targets go in records, plus an xattr to exercise the vector.
        let mut records: Vec<(&str, &[u8])> = vec![("SCHILY.xattr.user.i", b"v")];
        if e.name.len() > 99 {
            records.push(("path", &e.name));
            h.set_path("long-name-in-pax").unwrap();
        } else {
            h.set_path(path).unwrap();
        }
        if let Some(target) = target {
            if target.len() > 99 {
                records.push(("linkpath", target.as_bytes()));
            } else {
                h.set_link_name(target).unwrap();
            }
        }
        b.append_pax_extensions(records).unwrap();
        h.set_cksum();
        b.append(&h, &data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

/// gzip `data` as consecutive members split at `cuts` (fractions of the length).
fn gzip_members(data: &[u8], level: u32, cuts: &[f64]) -> Vec<u8> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|f| (f * data.len() as f64) as usize)
        .collect();
    points.push(0);
    points.push(data.len());
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::new();
    for w in points.windows(2) {
        let mut gz = GzEncoder::new(Vec::new(), Compression::new(level));
        gz.write_all(&data[w[0]..w[1]]).unwrap();
        out.extend(gz.finish().unwrap());
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn every_file_extracts_through_the_ztoc(
        entries in proptest::collection::vec(entry(), 0..10),
        gnu in any::<bool>(),
        level in 0u32..=9,
        cuts in proptest::collection::vec(0.0f64..1.0, 0..4),
        span_size in prop_oneof![Just(4_194_304i64), 1i64..100_000],
        chunk in 1usize..100_000,
        compressed in any::<bool>(),
        threaded in any::<bool>(),
    ) {
        // Names the tar crate cannot split into a USTAR header are not what this is about;
        // a hard link needs an earlier entry to point at.
        let mut entries: Vec<Entry> = entries
            .into_iter()
            .filter(|e| gnu || e.name.len() <= 99 || e.name.is_ascii())
            .collect();
        if let Some(first) = entries.first_mut().filter(|e| matches!(e.kind, Kind::Hardlink)) {
            first.kind = Kind::Dir;
        }
        let tar = write_tar(&entries, gnu);
        let (layer, compression) = if compressed {
            (gzip_members(&tar, level, &cuts), CompressionAlgorithm::Gzip)
        } else {
            (tar.clone(), CompressionAlgorithm::Uncompressed)
        };
        let options = BuildOptions::default().with_span_size(span_size).with_compression(compression).with_threaded(threaded);
        let mut builder = Builder::new(options).unwrap();
        for piece in layer.chunks(chunk) {
            builder.feed(piece).unwrap();
        }
        let ztoc = builder.finish().unwrap();
        prop_assert_eq!(&Ztoc::from_bytes(&ztoc.to_bytes().unwrap()).unwrap(), &ztoc);

        prop_assert_eq!(ztoc.toc.len(), entries.len());
        prop_assert_eq!(ztoc.compressed_archive_size as usize, layer.len());
        for (record, entry) in ztoc.toc.iter().zip(&entries) {
            let expected_type = match entry.kind {
                Kind::File(..) => EntryType::Regular,
                Kind::Dir => EntryType::Directory,
                Kind::Symlink(_) => EntryType::Symlink,
                Kind::Hardlink => EntryType::Hardlink,
                Kind::Char => EntryType::Char,
                Kind::Block => EntryType::Block,
                Kind::Fifo => EntryType::Fifo,
            };
            prop_assert_eq!(record.entry_type, expected_type);
            prop_assert!(
                record.name == entry.name,
                "{:?} vs {:?}", record.name.escape_ascii().to_string(), entry.name.escape_ascii().to_string()
            );
            if let Some(target) = link_target(&entries, entry) {
                prop_assert!(record.linkname == target);
            }
            if let Kind::File(n, seed) = entry.kind {
                prop_assert_eq!(record.uncompressed_size as usize, n);
                let mut data = Vec::new();
                ztoc.read_range(&layer[..], record.uncompressed_offset as u64, n as u64, true, &mut |b| data.extend_from_slice(b)).unwrap();
                prop_assert!(data == contents(n, seed));
            }
        }
        match &ztoc.compression_info.zinfo {
            Zinfo::Gzip(z) => {
                prop_assert_eq!(z.checkpoints.len(), ztoc.compression_info.span_digests.len());
                prop_assert!(z.checkpoints.windows(2).all(|w| w[0].compressed_offset < w[1].compressed_offset));
            }
            Zinfo::Tar(t) => prop_assert_eq!(t.size as usize, layer.len()),
        }
    }
}

/// Owner names and times are shared between consecutive records that repeat them, built or
/// decoded, and each record still has its own.
#[test]
fn repeated_owners_and_times_are_shared() {
    let owners = [
        ("root", "root", 1_700_000_000),
        ("root", "root", 1_700_000_000),
        ("app", "staff", 1_700_000_000),
        ("app", "root", 86_400),
        ("app", "root", 86_400),
    ];
    let mut tar = tar::Builder::new(Vec::new());
    for (i, (user, group, mtime)) in owners.iter().enumerate() {
        let mut header = tar::Header::new_ustar();
        header.set_username(user).unwrap();
        header.set_groupname(group).unwrap();
        header.set_mtime(*mtime);
        header.set_size(1);
        header.set_mode(0o644);
        tar.append_data(&mut header, format!("f{i}"), &b"x"[..])
            .unwrap();
    }
    let options = BuildOptions::default().with_compression(CompressionAlgorithm::Uncompressed);
    let built = Builder::build(&tar.into_inner().unwrap()[..], options).unwrap();
    let decoded = Ztoc::from_bytes(&built.to_bytes().unwrap()).unwrap();
    for ztoc in [&built, &decoded] {
        let toc = &ztoc.toc;
        for (record, (user, group, mtime)) in toc.iter().zip(&owners) {
            assert_eq!(
                (&*record.uname, &*record.gname),
                (user.as_bytes(), group.as_bytes())
            );
            let expected = if *mtime == 86_400 {
                "1970-01-02T00:00:00Z"
            } else {
                "2023-11-14T22:13:20Z"
            };
            assert_eq!(&*record.mod_time, expected);
        }
        assert!(std::sync::Arc::ptr_eq(&toc[0].uname, &toc[1].uname));
        assert!(std::sync::Arc::ptr_eq(&toc[1].mod_time, &toc[2].mod_time));
        assert!(std::sync::Arc::ptr_eq(&toc[3].gname, &toc[4].gname));
        assert!(std::sync::Arc::ptr_eq(&toc[3].mod_time, &toc[4].mod_time));
    }
}

/// Every checkpoint's window is the 32 KiB of the tar stream before it, wherever it falls in the
/// builder's output buffers: span sizes that put checkpoints at the start, middle and end of
/// them, in several gzip members, built on one thread and on several.
#[test]
fn checkpoint_windows_are_the_bytes_before_them() {
    let entries: Vec<Entry> = (0..6)
        .map(|i| Entry {
            name: format!("data/part{i}").into_bytes(),
            kind: Kind::File(700_000 + 9_999 * i, i as u8),
        })
        .collect();
    let tar = write_tar(&entries, true);
    let layer = gzip_members(&tar, 6, &[0.3, 0.31, 0.8]);
    // Every block boundary is a checkpoint at span size 1. Spans that end just before one of
    // those soon after a multiple of 512 KiB (where the builder starts a new output buffer) put
    // a checkpoint whose window reaches back into the previous buffer.
    let all = Builder::build(&layer[..], BuildOptions::default().with_span_size(1));
    let Zinfo::Gzip(all) = all.unwrap().compression_info.zinfo else {
        panic!("a gzip layer");
    };
    let early: Vec<i64> = all
        .checkpoints
        .iter()
        .map(|c| c.uncompressed_offset - 1)
        .filter(|&span| span > 1 << 19 && span % (1 << 19) < 1 << 15)
        .take(6)
        .collect();
    assert!(!early.is_empty());
    for span_size in [1, 40_000, 300_000, 524_288 - 700, 1 << 20]
        .into_iter()
        .chain(early)
    {
        for threaded in [false, true] {
            let options = BuildOptions::default()
                .with_span_size(span_size)
                .with_threaded(threaded);
            let ztoc = Builder::build(&layer[..], options).unwrap();
            let Zinfo::Gzip(zinfo) = &ztoc.compression_info.zinfo else {
                panic!("a gzip layer");
            };
            assert!(zinfo.checkpoints.len() > 1, "span {span_size}");
            for checkpoint in &zinfo.checkpoints {
                let end = checkpoint.uncompressed_offset as usize;
                let start = end.saturating_sub(soci_ztoc::WINDOW_SIZE);
                let (zeros, window) = checkpoint
                    .window
                    .split_at(soci_ztoc::WINDOW_SIZE - (end - start));
                assert!(
                    window == &tar[start..end] && zeros.iter().all(|&b| b == 0),
                    "span {span_size}, threaded {threaded}, checkpoint at {end}"
                );
            }
        }
    }
}

/// A layer of many small files moves its tar walk to a worker thread partway through a threaded
/// build; the zTOC, or the error, is the one an inline build gives.
#[test]
fn a_walk_moved_to_a_thread_gives_the_inline_result() {
    let entries: Vec<Entry> = (0..6_000)
        .map(|i| Entry {
            name: format!("node_modules/m{}/f{i}.js", i % 97).into_bytes(),
            kind: Kind::File(i * 37 % 700, i as u8),
        })
        .collect();
    let tar = write_tar(&entries, false);
    // The same archive with a header spoilt well after the walk has moved.
    let mut spoilt = tar.clone();
    let record = 5_000;
    let header = (0..record)
        .map(|i: usize| 512 + (i * 37 % 700).div_ceil(512) * 512)
        .sum::<usize>();
    spoilt[header + 148] ^= 1;
    for (tar, fails) in [(tar, false), (spoilt, true)] {
        let layer = gzip_members(&tar, 6, &[]);
        let build = |threaded| {
            let options = BuildOptions::default()
                .with_span_size(1 << 20)
                .with_threaded(threaded);
            let mut builder = Builder::new(options).unwrap();
            for piece in layer.chunks(100_000) {
                builder.feed(piece).unwrap();
            }
            builder.finish()
        };
        let inline = build(false);
        assert_eq!(inline.is_err(), fails);
        assert_eq!(build(true), inline);
    }
}

#[test]
fn a_failing_reader_is_an_io_error_at_its_offset_with_its_source() {
    /// Yields `left` zero bytes, then fails.
    struct Failing {
        left: usize,
    }
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.left == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "connection cut",
                ));
            }
            let n = buf.len().min(self.left);
            buf[..n].fill(0);
            self.left -= n;
            Ok(n)
        }
    }
    let options = BuildOptions::default().with_compression(CompressionAlgorithm::Uncompressed);
    let error = Builder::build(Failing { left: 512 }, options).unwrap_err();
    let BuildError::Io { offset, source } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*offset, 512);
    assert_eq!(source.get_ref().kind(), std::io::ErrorKind::ConnectionReset);
    assert_eq!(
        error.to_string(),
        "reading the layer failed at offset 512: connection cut"
    );
    assert!(std::error::Error::source(&error).is_some());
    assert_eq!(error.clone(), error);
}
