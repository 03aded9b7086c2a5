//! A push-style tar reader with the exact semantics of Go's `archive/tar` `Reader.Next`, as the
//! reference's TOC builder drives it: every header is read, entry data is skipped without being
//! copied, and a record is produced per entry with the offset of its first data byte.
//!
//! It is fed the uncompressed stream in chunks of any size and keeps at most one header block,
//! one extension header (≤ 1 MiB, as Go limits it) and the records built so far.

mod header;
mod mtime;
mod num;
mod pax;

use crate::error::BuildError;
use crate::model::{EntryType, FileMetadata};
use crate::shared::Owners;
use header::{BLOCK, Format, Header, c_string, is_header_only, padding};
use num::StreamingInt;
use pax::{Instant, Overrides, PaxRecords, SparseFormat, SparseValidator};

/// Go's limit on the data of a PAX or GNU long-name/long-link entry.
const MAX_SPECIAL_FILE: usize = 1 << 20;

/// What the walker found when the tar ended.
#[derive(Debug)]
pub(crate) struct Toc {
    /// One record per entry, in archive order.
    pub entries: Vec<FileMetadata>,
    /// Uncompressed bytes consumed up to the end-of-archive marker (or the end of the data).
    pub archive_size: u64,
}

/// Extension entries whose data is read and merged into the next real entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Special {
    Pax,
    GlobalPax,
    LongName,
    LongLink,
}

/// An entry whose header has been read, waiting (for a sparse 1.0 map) or ready to be recorded.
#[derive(Debug)]
struct Entry {
    header_offset: u64,
    header: Header,
    mtime: Instant,
    records: PaxRecords,
    /// Bytes of data that follow the header in the archive (0 for header-only types).
    data: u64,
}

/// Reading the sparse map of a GNU sparse 1.0 file, which sits in the first blocks of its data.
#[derive(Debug)]
struct SparseMap {
    entry: Entry,
    block_fill: usize,
    blocks: u64,
    token: StreamingInt,
    tokens_seen: u64,
    tokens_needed: u64,
    pending_offset: Option<i64>,
    malformed: bool,
    validator: SparseValidator,
}

#[derive(Debug)]
enum State {
    /// Reading a header block; `fill` bytes of it so far.
    Header { fill: usize },
    /// One zero block seen; reading the next block.
    SecondZero { fill: usize },
    /// Reading an extension entry's data.
    Special {
        kind: Special,
        header: Header,
        header_offset: u64,
        left: u64,
        data: Vec<u8>,
    },
    /// Reading a sparse 1.0 map.
    SparseMap(Box<SparseMap>),
    /// Skipping entry data; the archive must not end here.
    Data { left: u64, pad: u64 },
    /// Skipping padding after entry data; the archive may end here.
    Padding { left: u64 },
    /// The end-of-archive marker was read (or an error stopped the walk).
    Done,
}

/// The streaming tar reader.
pub(crate) struct TarWalker {
    pos: u64,
    state: State,
    /// A header block that straddles two feeds, gathered.
    block: Box<[u8; BLOCK]>,
    owners: Owners,
    mod_times: mtime::Recent,
    pax: Option<PaxRecords>,
    long_name: Vec<u8>,
    long_link: Vec<u8>,
    entries: Vec<FileMetadata>,
    end: Option<Result<u64, BuildError>>,
}

impl TarWalker {
    pub(crate) fn new() -> Self {
        TarWalker {
            pos: 0,
            state: State::Header { fill: 0 },
            block: Box::new([0; BLOCK]),
            owners: Owners::default(),
            mod_times: mtime::Recent::default(),
            pax: None,
            long_name: Vec::new(),
            long_link: Vec::new(),
            entries: Vec::new(),
            end: None,
        }
    }

    /// Entries recorded so far.
    pub(crate) fn entry_count(&self) -> usize {
        self.entries.len()
    }

    /// Feeds the next uncompressed bytes. Once the walk is over (end of archive or error), later
    /// bytes are not looked at.
    pub(crate) fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() && self.end.is_none() {
            match self.step(data) {
                Ok(used) => data = &data[used..],
                Err(e) => self.stop(Err(e)),
            }
        }
    }

    /// The stream has ended: the TOC, or why the archive is invalid.
    pub(crate) fn finish(mut self) -> Result<Toc, BuildError> {
        if self.end.is_none() {
            let offset = self.pos;
            let eof = |context| BuildError::TarUnexpectedEof { offset, context };
            let end = match &self.state {
                State::Header { fill: 0 }
                | State::SecondZero { fill: 0 }
                | State::Padding { .. } => Ok(self.pos),
                State::Header { .. } | State::SecondZero { .. } => Err(eof("a header block")),
                State::Special { .. } => Err(eof("an extension header")),
                State::SparseMap(_) => Err(eof("a sparse file map")),
                State::Data { .. } => Err(eof("entry data")),
                State::Done => Ok(self.pos),
            };
            self.stop(end);
        }
        match self.end {
            Some(Ok(archive_size)) => Ok(Toc {
                entries: self.entries,
                archive_size,
            }),
            Some(Err(e)) => Err(e),
            None => unreachable!("stop() always sets the end"),
        }
    }

    fn stop(&mut self, end: Result<u64, BuildError>) {
        self.state = State::Done;
        self.end = Some(end);
    }

    /// Consumes a prefix of `data` in the current state, advances `pos` past it and acts on
    /// what it completes. Returns the prefix length.
    fn step(&mut self, data: &[u8]) -> Result<usize, BuildError> {
        let n;
        match &mut self.state {
            State::Header { fill: 0 } | State::SecondZero { fill: 0 } if data.len() >= BLOCK => {
                // The whole block is at hand (nearly always: only blocks that straddle two
                // feeds are gathered), so it is read where it lies.
                n = BLOCK;
                self.pos += n as u64;
                self.on_block(
                    data[..BLOCK].try_into().expect("a block"),
                    self.pos - n as u64,
                )?;
            }
            State::Header { fill } | State::SecondZero { fill } => {
                n = (BLOCK - *fill).min(data.len());
                self.block[*fill..*fill + n].copy_from_slice(&data[..n]);
                *fill += n;
                self.pos += n as u64;
                if *fill == BLOCK {
                    let block = *self.block;
                    self.on_block(&block, self.pos - BLOCK as u64)?;
                }
            }
            State::Data { left, pad } => {
                n = clamp(*left, data.len());
                *left -= n as u64;
                self.pos += n as u64;
                if *left == 0 {
                    self.state = State::padding(*pad);
                }
            }
            State::Padding { left } => {
                n = clamp(*left, data.len());
                *left -= n as u64;
                self.pos += n as u64;
                if *left == 0 {
                    self.state = State::Header { fill: 0 };
                }
            }
            State::Special {
                left,
                data: buf,
                header_offset,
                ..
            } => {
                n = clamp(*left, data.len());
                // Go reads at most 1 MiB + 1 bytes before giving up; never hold more.
                let room = (MAX_SPECIAL_FILE + 1).saturating_sub(buf.len());
                buf.extend_from_slice(&data[..n.min(room)]);
                *left -= n as u64;
                self.pos += n as u64;
                if buf.len() > MAX_SPECIAL_FILE {
                    return Err(BuildError::TarHeader {
                        offset: *header_offset,
                        reason: "extension header data longer than 1 MiB",
                    });
                }
                if *left == 0 {
                    self.on_special_end()?;
                }
            }
            State::SparseMap(map) => {
                if map.block_fill == 0 && map.entry.data < (map.blocks + 1) * BLOCK as u64 {
                    // Go reads the map a whole block at a time from the entry's data.
                    return Err(BuildError::TarUnexpectedEof {
                        offset: self.pos,
                        context: "a sparse file map",
                    });
                }
                n = (BLOCK - map.block_fill).min(data.len());
                map.scan(&data[..n])?;
                map.block_fill += n;
                self.pos += n as u64;
                if map.block_fill == BLOCK {
                    map.block_fill = 0;
                    map.blocks += 1;
                    if map.complete() {
                        self.on_sparse_map_end()?;
                    }
                }
            }
            State::Done => n = data.len(),
        }
        Ok(n)
    }

    /// A whole block, read at `offset` (Go's `readHeader` and the loop of `Reader.next`).
    fn on_block(&mut self, block: &[u8; BLOCK], offset: u64) -> Result<(), BuildError> {
        let zero = block.iter().all(|&b| b == 0);
        if let State::SecondZero { .. } = self.state {
            if !zero {
                return Err(BuildError::TarHeader {
                    offset,
                    reason: "a zero block followed by a non-zero block",
                });
            }
            self.stop(Ok(self.pos));
            return Ok(());
        }
        if zero {
            self.state = State::SecondZero { fill: 0 };
            return Ok(());
        }
        let header = Header::parse(block, &mut self.owners).map_err(|e| BuildError::TarHeader {
            offset,
            reason: e.reason(),
        })?;
        let data = data_size(&header, offset)?;
        let special = match header.typeflag {
            b'x' => Some(Special::Pax),
            b'g' => Some(Special::GlobalPax),
            b'L' => Some(Special::LongName),
            b'K' => Some(Special::LongLink),
            _ => None,
        };
        if let Some(kind) = special {
            self.state = State::Special {
                kind,
                header,
                header_offset: offset,
                left: data,
                data: Vec::new(),
            };
            if data == 0 {
                self.on_special_end()?;
            }
            return Ok(());
        }
        let entry = self.merge(header, offset)?;
        self.begin_entry(entry)
    }

    /// Applies the pending PAX records and GNU long names to a real entry's header.
    fn merge(&mut self, mut header: Header, header_offset: u64) -> Result<Entry, BuildError> {
        let invalid = |reason| BuildError::TarHeader {
            offset: header_offset,
            reason,
        };
        let records = self.pax.take().unwrap_or_default();
        let mut mtime = Instant::from(header.mtime);
        pax::merge(
            &records,
            Overrides {
                name: &mut header.name,
                linkname: &mut header.linkname,
                uname: &mut header.uname,
                gname: &mut header.gname,
                uid: &mut header.uid,
                gid: &mut header.gid,
                mtime: &mut mtime,
                size: &mut header.size,
            },
        )
        .ok_or(invalid("invalid PAX record value"))?;
        let long_name = std::mem::take(&mut self.long_name);
        if !long_name.is_empty() {
            header.name = long_name;
        }
        let long_link = std::mem::take(&mut self.long_link);
        if !long_link.is_empty() {
            header.linkname = long_link;
        }
        if header.typeflag == 0 {
            header.typeflag = if header.name.ends_with(b"/") {
                b'5'
            } else {
                b'0'
            };
        }
        let data = data_size(&header, header_offset)?;
        Ok(Entry {
            header_offset,
            header,
            mtime,
            records,
            data,
        })
    }

    /// Handles sparse files (Go's `handleSparseFile`) and records the entry or waits for its map.
    fn begin_entry(&mut self, mut entry: Entry) -> Result<(), BuildError> {
        let invalid = |reason| BuildError::TarHeader {
            offset: entry.header_offset,
            reason,
        };
        if entry.header.typeflag == b'S' && entry.header.format != Format::Gnu {
            return Err(invalid("old GNU sparse header in a non-GNU header"));
        }
        let sparse = match entry.header.typeflag {
            b'S' => None,
            _ => pax::sparse_format(&entry.records),
        };
        let Some(sparse) = sparse else {
            return self.record(entry);
        };
        pax::sparse_overrides(
            &entry.records,
            &mut entry.header.name,
            &mut entry.header.size,
        )
        .ok_or(invalid("invalid GNU sparse size"))?;
        match sparse {
            SparseFormat::InRecords => {
                pax::validate_sparse_records(&entry.records, entry.header.size)
                    .filter(|()| !is_header_only(entry.header.typeflag))
                    .ok_or(invalid("invalid GNU sparse map"))?;
                self.record(entry)
            }
            SparseFormat::InData => {
                let validator = SparseValidator::new(entry.header.size);
                self.state = State::SparseMap(Box::new(SparseMap {
                    entry,
                    block_fill: 0,
                    blocks: 0,
                    token: StreamingInt::default(),
                    tokens_seen: 0,
                    tokens_needed: 1,
                    pending_offset: None,
                    malformed: false,
                    validator,
                }));
                Ok(())
            }
        }
    }

    fn on_sparse_map_end(&mut self) -> Result<(), BuildError> {
        let State::SparseMap(map) = std::mem::replace(&mut self.state, State::Done) else {
            unreachable!("called in the SparseMap state only")
        };
        let SparseMap {
            mut entry,
            blocks,
            malformed,
            validator,
            ..
        } = *map;
        if malformed || !validator.is_valid() || is_header_only(entry.header.typeflag) {
            return Err(BuildError::TarHeader {
                offset: entry.header_offset,
                reason: "invalid GNU sparse map",
            });
        }
        entry.data -= blocks * BLOCK as u64;
        self.record(entry)
    }

    /// Emits the record of an entry whose headers are all read; its data starts at `pos`.
    fn record(&mut self, entry: Entry) -> Result<(), BuildError> {
        let Entry {
            header_offset,
            header,
            mtime,
            records,
            data,
        } = entry;
        let entry_type =
            entry_type(header.typeflag).ok_or_else(|| BuildError::UnsupportedEntry {
                typeflag: header.typeflag,
                name: header.name.clone(),
                offset: header_offset,
            })?;
        self.entries.push(FileMetadata {
            name: header.name,
            entry_type,
            uncompressed_offset: self.pos as i64,
            uncompressed_size: header.size,
            linkname: header.linkname,
            mode: header.mode,
            // The reference stores Go's `int` ids as uint32: two's-complement truncation.
            uid: header.uid as u32,
            gid: header.gid as u32,
            uname: header.uname,
            gname: header.gname,
            mod_time: self.mod_times.share(mtime),
            devmajor: header.devmajor,
            devminor: header.devminor,
            pax_records: records,
        });
        self.state = State::skipping(data);
        Ok(())
    }

    /// The data of an extension entry is complete.
    fn on_special_end(&mut self) -> Result<(), BuildError> {
        let State::Special {
            kind,
            header,
            header_offset,
            data,
            ..
        } = std::mem::replace(&mut self.state, State::Done)
        else {
            unreachable!("called in the Special state only")
        };
        let invalid = |reason| BuildError::TarHeader {
            offset: header_offset,
            reason,
        };
        match kind {
            Special::Pax => {
                self.pax = Some(pax::parse_records(&data).ok_or(invalid("malformed PAX record"))?);
            }
            Special::GlobalPax => {
                pax::parse_records(&data).ok_or(invalid("malformed PAX record"))?;
                return Err(BuildError::UnsupportedEntry {
                    typeflag: b'g',
                    name: header.name,
                    offset: header_offset,
                });
            }
            Special::LongName => self.long_name = c_string(&data).to_vec(),
            Special::LongLink => self.long_link = c_string(&data).to_vec(),
        }
        // Everything was read; only the padding up to the next block is left.
        self.state = State::padding(padding(data.len() as u64));
        Ok(())
    }
}

impl State {
    /// Skipping `data` bytes of entry data, then its padding.
    fn skipping(data: u64) -> State {
        match data {
            0 => State::Header { fill: 0 },
            left => State::Data {
                left,
                pad: padding(left),
            },
        }
    }

    /// Skipping `left` bytes of padding.
    fn padding(left: u64) -> State {
        match left {
            0 => State::Header { fill: 0 },
            left => State::Padding { left },
        }
    }
}

impl SparseMap {
    /// Tokenises map bytes: a count, then `count` offset/length pairs, one per line.
    fn scan(&mut self, bytes: &[u8]) -> Result<(), BuildError> {
        for &c in bytes {
            if self.tokens_seen >= self.tokens_needed {
                return Ok(());
            }
            if c != b'\n' {
                self.token.push(c);
                continue;
            }
            let value = self.token.finish();
            self.tokens_seen += 1;
            if self.tokens_seen == 1 {
                // Go checks the count as soon as its line is read.
                let pairs = value
                    .filter(|&n| n >= 0)
                    .and_then(|n| n.checked_mul(2))
                    .ok_or(BuildError::TarHeader {
                        offset: self.entry.header_offset,
                        reason: "invalid GNU sparse map",
                    })?;
                self.tokens_needed = 1 + pairs as u64;
                continue;
            }
            match (value, self.pending_offset.take()) {
                (None, _) => self.malformed = true,
                (Some(offset), None) => self.pending_offset = Some(offset),
                (Some(length), Some(offset)) => self.validator.push(offset, length),
            }
        }
        Ok(())
    }

    /// Go reads whole blocks until it has seen every newline it needs.
    fn complete(&self) -> bool {
        self.tokens_seen >= self.tokens_needed
    }
}

/// The data length that follows a header (Go's `handleRegularFile`).
fn data_size(header: &Header, offset: u64) -> Result<u64, BuildError> {
    if is_header_only(header.typeflag) {
        return Ok(0);
    }
    u64::try_from(header.size).map_err(|_| BuildError::TarHeader {
        offset,
        reason: "negative size",
    })
}

fn entry_type(typeflag: u8) -> Option<EntryType> {
    Some(match typeflag {
        b'0' => EntryType::Regular,
        b'1' => EntryType::Hardlink,
        b'2' => EntryType::Symlink,
        b'3' => EntryType::Char,
        b'4' => EntryType::Block,
        b'5' => EntryType::Directory,
        b'6' => EntryType::Fifo,
        _ => return None,
    })
}

fn clamp(left: u64, available: usize) -> usize {
    usize::try_from(left).map_or(available, |left| left.min(available))
}
