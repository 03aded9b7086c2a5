//! How a file's name is matched against the names a zTOC records: tar names come in several
//! spellings of one path (`./etc/hostname`, `etc/hostname`, `/etc/hostname`), and users type
//! any of them, so both sides are cleaned the same way before they are compared.

use crate::{FileMetadata, Ztoc};

/// `name` as the snapshotter resolves it: Go's `path.Clean("/" + name)` without the leading
/// slash. Empty and `.` components go, `..` drops the component before it (never climbing
/// above the root), and the result has no leading or trailing slash (`""` for the root).
///
/// Two names stand for the same file exactly when their cleaned forms are equal, which is how
/// [`Ztoc::find`] matches a name to a TOC entry.
pub fn clean_path(name: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in name.split(|&c| c == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join(&b'/')
}

impl Ztoc {
    /// The record a reader would use for `name`: the last entry with that exact name, else the
    /// last whose [cleaned path](clean_path) matches (`./a/b`, `/a/b` and `a/b` are the same
    /// file). The last, because a tar may hold a name twice and the later entry wins.
    pub fn find(&self, name: &[u8]) -> Option<&FileMetadata> {
        self.toc.iter().rev().find(|m| m.name == name).or_else(|| {
            let wanted = clean_path(name);
            self.toc
                .iter()
                .rev()
                .find(|m| clean_path(&m.name) == wanted)
        })
    }

    /// Whether the layer holds `name` as a regular file that can be read through this zTOC,
    /// links followed within the layer ([`Ztoc::resolve`]): the test for the topmost layer that
    /// has a file. A link whose target is in another layer, or a directory, does not count.
    pub fn has_file(&self, name: &[u8]) -> bool {
        self.resolve(name).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BuildOptions, Builder};

    #[test]
    fn every_spelling_of_a_path_cleans_to_one() {
        for name in [
            "etc/hostname",
            "/etc/hostname",
            "./etc/hostname",
            "etc//hostname",
            "etc/./hostname/",
            "etc/../etc/hostname",
            "../../etc/hostname",
        ] {
            assert_eq!(clean_path(name.as_bytes()), b"etc/hostname", "{name}");
        }
        assert_eq!(clean_path(b"/"), b"");
        assert_eq!(clean_path(b"./"), b"");
        assert_eq!(clean_path(b"a/b/.."), b"a");
        // Not UTF-8: names are bytes.
        assert_eq!(clean_path(b"./\xff/x"), b"\xff/x");
    }

    /// A layer with `./etc/hostname`, a symlink to it, and a directory.
    fn ztoc() -> Ztoc {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(5);
        header.set_mode(0o644);
        // Written raw: the tar crate's setters would drop the `./`.
        header.as_old_mut().name[..14].copy_from_slice(b"./etc/hostname");
        header.set_cksum();
        tar.append(&header, &b"host\n"[..]).unwrap();
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        tar.append_link(&mut link, "etc/name", "hostname").unwrap();
        let mut dir = tar::Header::new_gnu();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_size(0);
        dir.set_mode(0o755);
        tar.append_data(&mut dir, "usr/", &[][..]).unwrap();
        let mut builder = Builder::new(
            BuildOptions::default().with_compression(crate::CompressionAlgorithm::Uncompressed),
        )
        .unwrap();
        builder.feed(&tar.into_inner().unwrap()).unwrap();
        builder.finish().unwrap()
    }

    #[test]
    fn a_file_is_found_by_any_spelling() {
        let ztoc = ztoc();
        for name in [
            "etc/hostname",
            "/etc/hostname",
            "./etc/hostname",
            "etc/name",
        ] {
            assert!(ztoc.has_file(name.as_bytes()), "{name}");
        }
        assert_eq!(ztoc.find(b"/etc/hostname").unwrap().name, b"./etc/hostname");
        assert!(!ztoc.has_file(b"etc/passwd"));
        // A directory is there but is not a file.
        assert!(ztoc.find(b"usr").is_some());
        assert!(!ztoc.has_file(b"usr"));
    }
}
