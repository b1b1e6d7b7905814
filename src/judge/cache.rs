//! The judge's verdict cache on disk (SPEC §9.2, docs/judge.md).
//!
//! The files decide: one per verdict, `<key>.json`, written atomically (a temporary file
//! renamed over the name, so whatever stood there, a link or a FIFO, is replaced and never
//! followed or written through). Beside them, `verdicts.index` remembers for each verdict the
//! last runs read or wrote both the verdict and which file it was (inode, length, modified
//! time). A verdict whose file still is that file is taken from the index for one `stat`,
//! instead of a `stat`, an `open`, an `fstat`, two `read`s and a `close`: a platform request
//! costs a handful of system calls, so those six had doubled the CPU a cached judge adds to a
//! turn, and where the page cache had let the small files go each one was a disk read too.
//! A file that is not the one indexed (rewritten by another run, deleted, replaced by a link)
//! is read as before, so a stale index can cost a read, never a wrong verdict. The index is
//! rewritten, atomically, at the end of a run that learned a verdict it did not hold: what
//! the run used first, then older entries up to a few times the run's own number, so the
//! index follows the suites' current replies instead of growing with the cache's history
//! (every run reads it whole before its first question).
//!
//! The cache never asks the judge and never redacts: the grader hands it reasons already
//! redacted.

use std::ffi::CStr;
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::verdict::{parse_verdict, verdict, Reason, Verdict, PROMPT_VERSION};

/// The largest verdict file [`VerdictCache::put`] can write: a reason as long as the largest
/// answer the transport takes (8 MiB, `endpoint::transport::MAX_BODY_BYTES`), every byte
/// escaped (`\u00XX`, six bytes), and the rest of the object. Anything it writes reads back,
/// so a long reason is asked only once.
const CACHE_FILE_CAP: u64 = 6 * 8 * 1024 * 1024 + 1024;

/// The index's file, among the verdict files (which all end in `.json`).
const INDEX_NAME: &str = "verdicts.index";
/// The index's first line: an index of another version (or anything else) is not read.
/// v2: keys are BLAKE3 over a question's parts (v1's were SHA-256 over the filled prompt,
/// and name no question asked now). v3: the conversation first and the lengths last (v2's
/// keys name no question asked now). v4: binary, its entries in the order of their keys
/// ([`Index`]), where v3 was a line of text an entry.
const INDEX_HEADER: &[u8] = b"agenttest judge verdict index v4\n";
/// One entry of the index: the key (32 bytes), the stamp's inode, length and modified time
/// (eight bytes each), the verdict (one byte, 1 a pass, 0 a failure), and where its reason
/// starts among the reasons and its length (four bytes each).
const RECORD: usize = 32 + 3 * 8 + 1 + 2 * 4;
/// Where the entries start: after the header and their number (eight bytes).
const RECORDS_AT: usize = INDEX_HEADER.len() + 8;
/// At most this many verdicts are indexed; others are read from their files. Bounds what
/// each run reads before its first question.
const INDEX_MAX_ENTRIES: usize = 200_000;
/// Entries a run did not use are kept up to this many, or [`INDEX_KEEP_FACTOR`] times what
/// the run used if more: another suite sharing the cache, run on its own, keeps its
/// verdicts indexed.
const INDEX_KEEP_AT_LEAST: usize = 10_000;
const INDEX_KEEP_FACTOR: usize = 4;
/// A reason longer than this is not indexed (its file is read instead): the index is read
/// whole at the start of every run, and such reasons are rare.
const INDEX_MAX_REASON: usize = 4096;
/// The largest index read: its entries at their longest, with room to spare.
const INDEX_CAP: u64 = 256 * 1024 * 1024;

/// A cache key: the BLAKE3 hash of everything that decides a verdict (see the grader).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key(pub [u8; 32]);

impl Key {
    /// Lower-case hex: the verdict file's name without `.json`.
    pub fn hex(&self) -> String {
        let mut out = [0u8; 64];
        self.write_hex(&mut out);
        out.iter().copied().map(char::from).collect()
    }

    /// The hex of [`Key::hex`] written into `out`, by table and in place: the formatter's
    /// `{:02x}` cost 8,000 instructions a key, more than the file's `stat`, and collecting
    /// the hex into a string of its own another thousand.
    fn write_hex(&self, out: &mut [u8]) {
        /// Each byte's two digits, one look-up a byte.
        const PAIRS: [[u8; 2]; 256] = {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let mut t = [[0u8; 2]; 256];
            let mut i = 0;
            while i < 256 {
                t[i] = [HEX[i >> 4], HEX[i & 0xF]];
                i += 1;
            }
            t
        };
        for (pair, b) in out.chunks_exact_mut(2).zip(self.0) {
            pair.copy_from_slice(&PAIRS[usize::from(b)]);
        }
    }
}

/// A key's hash in the set that keeps a rewritten index's entries unique: the key is already
/// a cryptographic hash, so a few multiplications by seeds drawn per run spread it, where the
/// standard SipHash cost 270 instructions a key (and a rewrite sees up to 200,000). Seeded,
/// not taken as it stands: the index is a file a cache restored from elsewhere can hold, and
/// keys chosen to share their first bytes must not pile into one bucket.
#[derive(Debug, Clone)]
struct KeySeeds([u64; 4]);

impl KeySeeds {
    fn new() -> KeySeeds {
        KeySeeds(std::array::from_fn(|_| rand::random()))
    }
}

impl std::hash::BuildHasher for KeySeeds {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher {
            seeds: self.0,
            h: self.0[3],
        }
    }
}

struct KeyHasher {
    seeds: [u64; 4],
    h: u64,
}

/// The high and low halves of the 128-bit product, folded (as foldhash and aHash mix).
fn folded_multiply(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let word = |b: &[u8]| {
            let mut w = [0u8; 8];
            w[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(w)
        };
        for pair in bytes.chunks(16) {
            let (a, b) = pair.split_at(pair.len().min(8));
            self.h = folded_multiply(
                word(a) ^ self.seeds[0] ^ self.h,
                word(b) ^ self.seeds[1] ^ pair.len() as u64,
            );
        }
    }

    fn finish(&self) -> u64 {
        folded_multiply(self.h ^ self.seeds[2], self.seeds[3] | 1)
    }
}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(&self.0);
    }
}

/// Which file a verdict was read from or written to. An atomic replace makes a new inode, and
/// a file written in place changes its length or its modified time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    ino: u64,
    len: u64,
    modified_ns: u64,
}

impl Stamp {
    /// `None` for anything but a regular file (a link, as `symlink_metadata` sees it, a FIFO).
    fn of(meta: &Metadata) -> Option<Stamp> {
        if !meta.is_file() {
            return None;
        }
        // The modified time in nanoseconds since the epoch (none before it); on unix from the
        // seconds and nanoseconds as `stat` gave them, which the way through `SystemTime`
        // and a `Duration` had cost a hundred instructions a verdict.
        #[cfg(unix)]
        let (ino, modified_ns) = {
            use std::os::unix::fs::MetadataExt;
            (meta.ino(), unix_ns(meta.mtime(), meta.mtime_nsec())?)
        };
        #[cfg(not(unix))]
        let (ino, modified_ns) = {
            let since = meta
                .modified()
                .ok()?
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?;
            (0, u64::try_from(since.as_nanos()).ok()?)
        };
        Some(Stamp {
            ino,
            len: meta.len(),
            modified_ns,
        })
    }
}

/// A verdict this run read from its file or wrote, for the next index.
#[derive(Debug, Clone)]
struct Entry {
    pass: bool,
    reason: Box<str>,
    stamp: Stamp,
}

/// A modified time in nanoseconds since the epoch (none before it), from the seconds and
/// nanoseconds as `stat` gives them.
#[cfg(unix)]
fn unix_ns(secs: i64, nanos: i64) -> Option<u64> {
    let secs = u64::try_from(secs).ok()?;
    let nanos = u64::try_from(nanos).ok()?;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// The stamp of the file at `path`, not following a link ([`Stamp::of`] its
/// `symlink_metadata`): `lstat` called on the path as [`VerdictCache::with_file`] built it,
/// where `symlink_metadata` copied it into a C string of its own and tried `statx` first,
/// some 300 instructions of a cached verdict's 6,600, asked at every verdict the index serves.
#[cfg(unix)]
fn stamp_at(path: &CStr) -> Option<Stamp> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `path` is a C string and `st` is room for one `stat`, which a call that
    // returns 0 has written whole.
    let st = unsafe {
        if libc::lstat(path.as_ptr(), st.as_mut_ptr()) != 0 {
            return None;
        }
        st.assume_init()
    };
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return None;
    }
    // `ino_t` is 64 bits here, 32 on some targets; `time_t` likewise.
    #[allow(clippy::useless_conversion)]
    let (ino, secs, nanos) = (
        u64::from(st.st_ino),
        i64::from(st.st_mtime),
        i64::from(st.st_mtime_nsec),
    );
    Some(Stamp {
        ino,
        len: u64::try_from(st.st_size).ok()?,
        modified_ns: unix_ns(secs, nanos)?,
    })
}

/// One cache directory, shared by every suite (and grader) of a run that uses it.
#[derive(Debug)]
pub struct VerdictCache {
    dir: PathBuf,
    /// `dir` as bytes, with the separator a file name goes after (none when `dir` is empty
    /// or ends in one, as [`Path::join`] does): a verdict's path is built from it on the
    /// stack.
    #[cfg(unix)]
    file_prefix: Vec<u8>,
    /// Whether `file_prefix` holds a NUL (no directory on disk does; a `PathBuf` may), when
    /// a verdict's path cannot be handed to `lstat` as a C string.
    #[cfg(unix)]
    prefix_has_nul: bool,
    /// The index as the run found it.
    index: Index,
    /// Verdicts read from their files or written by this run: the next index's first entries.
    learned: Mutex<Vec<(Key, Entry)>>,
    /// Index entries this run was served: kept ahead of the ones it did not use.
    used: Mutex<Vec<Key>>,
}

impl VerdictCache {
    /// The cache in `dir` (which need not exist yet), its index read now.
    pub fn open(dir: PathBuf) -> VerdictCache {
        let index = crate::fsutil::read_regular_capped(&dir.join(INDEX_NAME), INDEX_CAP)
            .map(Index::read)
            .unwrap_or_default();
        #[cfg(unix)]
        let file_prefix = {
            let mut p = std::os::unix::ffi::OsStrExt::as_bytes(dir.as_os_str()).to_vec();
            if !p.is_empty() && !p.ends_with(b"/") {
                p.push(b'/');
            }
            p
        };
        VerdictCache {
            dir,
            #[cfg(unix)]
            prefix_has_nul: file_prefix.contains(&0),
            #[cfg(unix)]
            file_prefix,
            // Sized for a run that uses the whole index: grown as it went, it had left the
            // copies it outgrew as holes in the heap that the run's allocations then went
            // through.
            used: Mutex::new(Vec::with_capacity(index.len())),
            index,
            learned: Mutex::new(Vec::new()),
        }
    }

    fn file(&self, key: &Key) -> PathBuf {
        let mut name = key.hex();
        name.push_str(".json");
        self.dir.join(name)
    }

    /// `with` the path of `key`'s verdict file, [`VerdictCache::file`], built in a buffer on
    /// the stack: a `PathBuf` joined per question, with the hex in a string of its own, cost
    /// three allocations and 3,000 instructions, ten times the `stat` it names the file for.
    /// The path is also handed as a C string (the buffer's NUL after it), for [`stamp_at`],
    /// unless the directory's name holds a NUL of its own.
    #[cfg(unix)]
    fn with_file<T>(&self, key: &Key, with: impl FnOnce(&Path, Option<&CStr>) -> T) -> T {
        const NAME: usize = 64 + ".json".len();
        let mut buf = [0u8; 512];
        let (dir, len) = (self.file_prefix.len(), self.file_prefix.len() + NAME);
        // `len + 1`: the NUL after the name stays in the buffer.
        let Some(name) = buf.get_mut(dir..len + 1) else {
            return with(&self.file(key), None);
        };
        key.write_hex(&mut name[..64]);
        name[64..NAME].copy_from_slice(b".json");
        buf[..dir].copy_from_slice(&self.file_prefix);
        let path =
            Path::new(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&buf[..len]));
        // Not `CStr::from_bytes_with_nul`, which looks through the whole path for a NUL (the
        // half of what `symlink_metadata` cost beyond the call): the directory's bytes were
        // looked through once, when the cache was opened, and the name is hex and `.json`.
        let c_path = (!self.prefix_has_nul).then(|| {
            debug_assert!(!buf[..len].contains(&0) && buf[len] == 0);
            // SAFETY: `buf[len]` is the NUL (the buffer is zeroed and nothing is written
            // past `len`), and no byte before it is one (see above).
            unsafe { CStr::from_bytes_with_nul_unchecked(&buf[..=len]) }
        });
        with(path, c_path)
    }

    #[cfg(not(unix))]
    fn with_file<T>(&self, key: &Key, with: impl FnOnce(&Path, Option<&CStr>) -> T) -> T {
        with(&self.file(key), None)
    }

    /// The cached verdict for `key`, or `None` (nothing cached, or nothing readable as a
    /// verdict: regular files only, capped, so a FIFO planted under a verdict's name cannot
    /// block the run, nor a device never end).
    pub fn get(&self, key: &Key) -> Option<Verdict> {
        self.with_file(key, |path, c_path| self.get_at(key, path, c_path))
    }

    fn get_at(&self, key: &Key, path: &Path, c_path: Option<&CStr>) -> Option<Verdict> {
        if let Some((stamp, pass, reason)) = self.index.serve(key) {
            let now = match c_path {
                Some(c_path) => stamp_at(c_path),
                None => std::fs::symlink_metadata(path)
                    .ok()
                    .as_ref()
                    .and_then(Stamp::of),
            };
            if now == Some(stamp) {
                if let Ok(mut used) = self.used.lock() {
                    used.push(*key);
                }
                return Some(Verdict {
                    pass,
                    reason,
                    cached: true,
                });
            }
        }
        let (bytes, meta) = crate::fsutil::read_regular_capped_meta(path, CACHE_FILE_CAP).ok()?;
        let mut v = read_cached(&bytes).or_else(|| {
            let text = std::str::from_utf8(&bytes).ok()?;
            parse_verdict(text).ok()
        })?;
        v.cached = true;
        if let Some(stamp) = Stamp::of(&meta) {
            self.learn(*key, v.pass, &v.reason, stamp);
        }
        Some(v)
    }

    /// Keeps a verdict whose `reason` is already redacted. A cache that cannot be written
    /// costs a question next time, nothing more.
    pub fn put(&self, key: &Key, pass: bool, reason: &str) {
        let _ = std::fs::create_dir_all(&self.dir);
        let body = serde_json::json!({"pass": pass, "reason": reason, "prompt": PROMPT_VERSION});
        if let Ok(stamp) = replace_in_cache(&self.file(key), body.to_string().as_bytes()) {
            self.learn(*key, pass, reason, stamp);
        }
    }

    fn learn(&self, key: Key, pass: bool, reason: &str, stamp: Stamp) {
        if reason.len() > INDEX_MAX_REASON {
            return;
        }
        let entry = Entry {
            pass,
            reason: reason.into(),
            stamp,
        };
        if let Ok(mut learned) = self.learned.lock() {
            learned.push((key, entry));
        }
    }

    /// Rewrites the index when this run learned a verdict (or the index holds more than
    /// it should keep): what the run learned, newest first, then what it was served from the
    /// index, then older entries while they fit. Another run saving at the same time may win
    /// the rename; the verdicts its index lacks are read from their files next time.
    pub fn save(&self) {
        let (Ok(learned), Ok(used)) = (
            self.learned.lock().map(|mut v| std::mem::take(&mut *v)),
            self.used.lock().map(|mut v| std::mem::take(&mut *v)),
        ) else {
            return;
        };
        let cap = (INDEX_KEEP_FACTOR * (learned.len() + used.len()))
            .clamp(INDEX_KEEP_AT_LEAST, INDEX_MAX_ENTRIES);
        if learned.is_empty() && self.index.len() <= cap {
            return;
        }
        let newest = learned.iter().rev().map(|(k, e)| Indexed {
            key: *k,
            pass: e.pass,
            reason: &e.reason,
            stamp: e.stamp,
        });
        let served = used.iter().filter_map(|k| self.index.get(k));
        let mut seen = std::collections::HashSet::with_hasher(KeySeeds::new());
        let mut kept = Vec::with_capacity(cap.min(learned.len() + self.index.len()));
        let mut size = RECORDS_AT;
        for e in newest.chain(served).chain(self.index.iter()) {
            if kept.len() == cap {
                break;
            }
            // An index too large to be read back is not written.
            let grown = size + RECORD + e.reason.len();
            if grown as u64 <= INDEX_CAP && seen.insert(e.key) {
                size = grown;
                kept.push(e);
            }
        }
        kept.sort_unstable_by_key(|a| a.key.0);
        let _ = replace_in_cache(&self.dir.join(INDEX_NAME), &write_index(&kept, size));
    }
}

/// One entry of the index, as it is read from the file or written to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Indexed<'a> {
    key: Key,
    pass: bool,
    reason: &'a str,
    stamp: Stamp,
}

/// The index as a run found it: the file's bytes, read whole, each entry looked up and read
/// in place. After [`INDEX_HEADER`], all numbers little-endian: the number of entries (eight
/// bytes); the entries, [`RECORD`] bytes each, in strictly ascending order of their keys;
/// then the reasons, UTF-8, one after the other.
///
/// Binary and sorted: v3's lines of text (hex, decimal, a JSON string), each parsed into a
/// map before the first question, cost 1,400 instructions a cached verdict. Now opening the
/// index checks that its keys ascend and its reasons are text, and notes where each run of
/// keys with the same first bits starts (the keys are hashes, so about one a run); a
/// question looks in its run, reads one entry, and shares its reason with the index instead
/// of copying it. Whatever does not read (a file cut short or of another version, keys out
/// of order, a reason out of bounds) is not served, the whole index or that entry: its
/// verdict is read from its file instead, never a panic.
#[derive(Debug, Default)]
struct Index {
    /// The file as read; its entries start at [`RECORDS_AT`].
    bytes: Vec<u8>,
    len: usize,
    /// The reasons, the text after the entries up to its first byte that is not UTF-8.
    reasons: Arc<str>,
    /// `runs[j]` is the first entry whose key's first bits (`>> shift`) are `j` or more.
    runs: Vec<u32>,
    shift: u32,
}

/// A key's first eight bytes as a number, in the order of the keys.
fn head(key: &[u8; 32]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&key[..8]);
    u64::from_be_bytes(b)
}

impl Index {
    /// The index `bytes` hold, or an empty one when they are not an index of this version.
    fn read(bytes: Vec<u8>) -> Index {
        let Some(len) = Index::entries(&bytes) else {
            return Index::default();
        };
        let after = bytes.get(RECORDS_AT + len * RECORD..).unwrap_or_default();
        let text = match std::str::from_utf8(after) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&after[..e.valid_up_to()]).unwrap_or_default(),
        };
        let reasons = Arc::from(text);
        // As many runs as entries (a power of two, at least two).
        let bits = (usize::BITS - len.saturating_sub(1).leading_zeros()).max(1);
        let shift = 64 - bits;
        let mut index = Index {
            bytes,
            len,
            reasons,
            runs: Vec::with_capacity((1 << bits) + 1),
            shift,
        };
        let mut i = 0;
        for j in 0..=1u64 << bits {
            while i < len && index.record(i).is_some_and(|r| head(r_key(r)) >> shift < j) {
                i += 1;
            }
            index.runs.push(i as u32);
        }
        index
    }

    /// How many entries `bytes` hold, if its header is this version's, all its entries are
    /// there and their keys ascend.
    fn entries(bytes: &[u8]) -> Option<usize> {
        let count = bytes.strip_prefix(INDEX_HEADER)?.first_chunk::<8>()?;
        let len = usize::try_from(u64::from_le_bytes(*count))
            .ok()
            .filter(|&n| n <= INDEX_MAX_ENTRIES)?;
        let records = bytes.get(RECORDS_AT..RECORDS_AT + len * RECORD)?;
        let keys = || {
            records
                .chunks_exact(RECORD)
                .filter_map(|r| r.first_chunk::<32>())
        };
        let ascend = |(a, b): (&[u8; 32], &[u8; 32])| match head(a).cmp(&head(b)) {
            std::cmp::Ordering::Equal => a[8..] < b[8..],
            order => order.is_lt(),
        };
        keys().zip(keys().skip(1)).all(ascend).then_some(len)
    }

    fn len(&self) -> usize {
        self.len
    }

    /// The `i`th entry's bytes.
    fn record(&self, i: usize) -> Option<&[u8; RECORD]> {
        self.bytes.get(RECORDS_AT + i * RECORD..)?.first_chunk()
    }

    /// Where the entry of `key` is, if the index holds one: looked for in the run of its
    /// first bits, by halves.
    fn find(&self, key: &Key) -> Option<usize> {
        let want = head(&key.0);
        let run = usize::try_from(want >> self.shift).ok()?;
        let (mut lo, mut hi) = (
            *self.runs.get(run)? as usize,
            *self.runs.get(run + 1)? as usize,
        );
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let k = r_key(self.record(mid)?);
            let order = head(k).cmp(&want).then_with(|| k[8..].cmp(&key.0[8..]));
            match order {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// The `i`th entry's fields, its reason as where it is in [`Index::reasons`], if it
    /// reads.
    fn fields(&self, i: usize) -> Option<(Key, bool, usize, usize, Stamp)> {
        let r = self.record(i)?;
        let u64_at = |at: usize| Some(u64::from_le_bytes(*r.get(at..)?.first_chunk()?));
        let u32_at =
            |at: usize| usize::try_from(u32::from_le_bytes(*r.get(at..)?.first_chunk()?)).ok();
        let pass = match r[56] {
            1 => true,
            0 => false,
            _ => return None,
        };
        let start = u32_at(57)?;
        let end = start.checked_add(u32_at(61)?)?;
        let stamp = Stamp {
            ino: u64_at(32)?,
            len: u64_at(40)?,
            modified_ns: u64_at(48)?,
        };
        Some((Key(*r_key(r)), pass, start, end, stamp))
    }

    /// The `i`th entry, if it reads.
    fn entry(&self, i: usize) -> Option<Indexed<'_>> {
        let (key, pass, start, end, stamp) = self.fields(i)?;
        Some(Indexed {
            key,
            pass,
            reason: self.reasons.get(start..end)?,
            stamp,
        })
    }

    /// The entry of `key`, if the index holds one that reads.
    fn get(&self, key: &Key) -> Option<Indexed<'_>> {
        self.entry(self.find(key)?)
    }

    /// The entry of `key` as a verdict's fields, its reason shared with the index.
    fn serve(&self, key: &Key) -> Option<(Stamp, bool, Reason)> {
        let (_, pass, start, end, stamp) = self.fields(self.find(key)?)?;
        Some((stamp, pass, Reason::part(&self.reasons, start, end)?))
    }

    /// Every entry that reads, in the order of their keys.
    fn iter(&self) -> impl Iterator<Item = Indexed<'_>> {
        (0..self.len).filter_map(|i| self.entry(i))
    }
}

/// An entry's key.
fn r_key(record: &[u8; RECORD]) -> &[u8; 32] {
    let (key, _) = record.split_first_chunk().unwrap_or((&[0; 32], &[]));
    key
}

/// The index file of `entries` (in ascending order of their keys, at most
/// [`INDEX_MAX_ENTRIES`], their reasons together under 4 GiB), `size` bytes long.
fn write_index(entries: &[Indexed<'_>], size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(INDEX_HEADER);
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    let mut at = 0u32;
    for e in entries {
        out.extend_from_slice(&e.key.0);
        for n in [e.stamp.ino, e.stamp.len, e.stamp.modified_ns] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.push(u8::from(e.pass));
        let len = u32::try_from(e.reason.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&at.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        at = at.saturating_add(len);
    }
    for e in entries {
        out.extend_from_slice(e.reason.as_bytes());
    }
    out
}

/// Writes a cache file atomically (a temporary file renamed over it) and always as a file of
/// the cache's own: whatever is at `path` (a symbolic link, a FIFO) is replaced, never
/// followed, so a cache restored from elsewhere cannot make a run write outside it or block.
/// The written file's stamp (a rename keeps inode, length and modified time).
fn replace_in_cache(path: &Path, bytes: &[u8]) -> std::io::Result<Stamp> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".agenttest-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Readable like any file the user writes (0666 less the umask), as reports are.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    let stamp = Stamp::of(&tmp.as_file().metadata()?);
    tmp.persist(path).map_err(|e| e.error)?;
    stamp.ok_or_else(|| std::io::Error::other("the cache file has no modified time"))
}

/// A verdict file as [`VerdictCache::put`] writes it, read into its fields without a JSON
/// tree; `None` for anything else (an older or hand-edited file), which [`parse_verdict`]
/// then reads as it reads an answer, to the same verdict.
fn read_cached(bytes: &[u8]) -> Option<Verdict> {
    #[derive(serde::Deserialize)]
    struct Cached {
        pass: bool,
        #[serde(default)]
        reason: Option<String>,
    }
    let c: Cached = serde_json::from_slice(bytes).ok()?;
    Some(verdict(c.pass, c.reason.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A verdict file read field by field says what reading it as an answer says, for the
    /// files this tool writes and for odd ones.
    #[test]
    fn cached_verdicts_read_as_answers_are_read() {
        for file in [
            r#"{"pass":true,"reason":"states 9 AM","prompt":"v1"}"#,
            r#"{"pass":false,"reason":"  says 10 AM \n","prompt":"v1"}"#,
            r#"{"pass":true,"reason":"","prompt":"v1"}"#,
            r#"{"pass":true,"reason":null}"#,
            r#"{"pass":true}"#,
        ] {
            let fast = read_cached(file.as_bytes()).map(|v| (v.pass, v.reason));
            let slow = parse_verdict(file).ok().map(|v| (v.pass, v.reason));
            assert!(fast.is_some(), "{file}");
            assert_eq!(fast, slow, "{file}");
        }
        for odd in [
            r#"{"pass":"yes"}"#,
            r#"{"pass":true,"reason":5}"#,
            "[]",
            "{",
        ] {
            assert!(read_cached(odd.as_bytes()).is_none(), "{odd}");
        }
    }

    fn key(n: u8) -> Key {
        Key([n; 32])
    }

    /// The index serves a verdict only while its file is the one it was read from or written
    /// to; anything else is read from the file, which decides.
    #[test]
    fn the_index_serves_only_what_the_files_still_hold() {
        let dir = tempfile::tempdir().unwrap();
        let cache = VerdictCache::open(dir.path().to_path_buf());
        cache.put(&key(1), true, "states 9 AM");
        cache.put(&key(2), false, "says 10 AM");
        cache.save();
        let index = std::fs::read(dir.path().join(INDEX_NAME)).unwrap();
        assert!(index.starts_with(INDEX_HEADER));
        assert_eq!(Index::read(index).len(), 2);

        let cache = VerdictCache::open(dir.path().to_path_buf());
        assert_eq!(cache.index.len(), 2);
        let v = cache.get(&key(1)).unwrap();
        assert!(v.pass && v.cached);
        assert_eq!(&*v.reason, "states 9 AM");
        assert!(
            cache.learned.lock().unwrap().is_empty(),
            "served by the index"
        );

        // Another run replaced verdict 2 (atomically: a new file): its file is read.
        let other = VerdictCache::open(dir.path().to_path_buf());
        other.put(&key(2), true, "now says 9 AM");
        let v = cache.get(&key(2)).unwrap();
        assert_eq!((v.pass, &*v.reason), (true, "now says 9 AM"));
        assert_eq!(cache.learned.lock().unwrap().len(), 1, "read from its file");

        // Edited in place, same inode: the length or the time tells.
        let path = cache.file(&key(1));
        std::fs::write(&path, r#"{"pass":false,"reason":"edited by hand, longer"}"#).unwrap();
        let v = cache.get(&key(1)).unwrap();
        assert_eq!((v.pass, &*v.reason), (false, "edited by hand, longer"));

        // Deleted, or a link in its place: not served from the index.
        std::fs::remove_file(&path).unwrap();
        assert!(cache.get(&key(1)).is_none());
        #[cfg(unix)]
        {
            let elsewhere = dir.path().join("elsewhere.txt");
            std::fs::write(&elsewhere, "not a verdict").unwrap();
            std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
            assert!(cache.get(&key(1)).is_none());
        }
    }

    /// An index written reads back entry for entry, reasons of every kind included.
    #[test]
    fn an_index_reads_back_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let cache = VerdictCache::open(dir.path().to_path_buf());
        let reasons = [
            "",
            "fine",
            "a \"quoted\" reason\nover two lines",
            "back\\slash\ttab",
            "é ✓ \u{1}",
        ];
        for (n, reason) in reasons.iter().enumerate() {
            cache.put(&key(n as u8 + 1), n % 2 == 0, reason);
        }
        cache.save();
        let index = Index::read(std::fs::read(dir.path().join(INDEX_NAME)).unwrap());
        assert_eq!(index.len(), reasons.len());
        for (n, reason) in reasons.iter().enumerate() {
            let e = index.get(&key(n as u8 + 1)).unwrap();
            assert_eq!((e.pass, e.reason), (n % 2 == 0, *reason));
            assert_eq!(Some(e.stamp), stamp_of(&cache.file(&e.key)));
        }
        assert!(index.get(&key(99)).is_none());
        let keys: Vec<Key> = index.iter().map(|e| e.key).collect();
        assert_eq!(keys, (1..=5).map(key).collect::<Vec<_>>(), "in order");
    }

    fn stamp_of(path: &Path) -> Option<Stamp> {
        Stamp::of(&std::fs::symlink_metadata(path).ok()?)
    }

    /// The v3 index this one replaces, a line of text an entry, is not read (its keys are
    /// not the ones asked now): every verdict is read from its file, and the run that learns
    /// them writes the index anew in this version.
    #[test]
    fn an_index_of_another_version_is_not_read_and_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let cache = VerdictCache::open(dir.path().to_path_buf());
        cache.put(&key(1), true, "fine");
        let stamp = stamp_of(&cache.file(&key(1))).unwrap();
        let v3 = format!(
            "agenttest judge verdict index v3\n{} {} {} {} 0 \"from the old index\"\n",
            key(1).hex(),
            stamp.ino,
            stamp.len,
            stamp.modified_ns
        );
        let path = dir.path().join(INDEX_NAME);
        std::fs::write(&path, v3).unwrap();
        let cache = VerdictCache::open(dir.path().to_path_buf());
        assert_eq!(cache.index.len(), 0);
        let v = cache.get(&key(1)).unwrap();
        assert_eq!((v.pass, &*v.reason), (true, "fine"), "read from its file");
        cache.save();
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(INDEX_HEADER));
        let index = Index::read(bytes);
        assert_eq!(
            index.get(&key(1)).map(|e| (e.pass, e.reason)),
            Some((true, "fine"))
        );
    }

    /// An index cut short at any byte, or with any byte changed, is read without a panic:
    /// whole or not at all, or without the entries that no longer read; an entry it still
    /// serves is one that was written, or one whose stamp or verdict a changed byte holds
    /// (served only while the file still has that stamp, which the files decide).
    #[test]
    fn a_damaged_index_is_ignored_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let cache = VerdictCache::open(dir.path().to_path_buf());
        for n in 1..=3 {
            cache.put(&key(n), n != 2, &"why ".repeat(usize::from(n)));
        }
        cache.save();
        let bytes = std::fs::read(dir.path().join(INDEX_NAME)).unwrap();
        let whole = Index::read(bytes.clone());
        let written: Vec<Indexed<'_>> = whole.iter().collect();
        assert_eq!(written.len(), 3);
        for cut in 0..bytes.len() {
            let index = Index::read(bytes[..cut].to_vec());
            let reasons_at = RECORDS_AT + 3 * RECORD;
            assert_eq!(index.len(), if cut >= reasons_at { 3 } else { 0 }, "{cut}");
            for e in index.iter() {
                assert!(written.contains(&e), "{cut}: {e:?}");
            }
            // The last reason is cut short: not served.
            assert!(index.get(&key(3)).is_none(), "{cut}");
        }
        for at in 0..bytes.len() {
            for b in [0u8, 1, 0x7f, 0xff, bytes[at] ^ 0x80] {
                let mut damaged = bytes.clone();
                damaged[at] = b;
                let index = Index::read(damaged);
                for k in 0..=4 {
                    let _ = index.get(&key(k));
                }
                for e in index.iter() {
                    let same_key = written.iter().find(|w| w.key == e.key);
                    assert!(same_key.is_some() || at < RECORDS_AT + 3 * RECORD, "{at}");
                }
            }
        }
        // Keys out of order: not read.
        let mut swapped = bytes.clone();
        let (a, b) = (RECORDS_AT, RECORDS_AT + RECORD);
        let first: Vec<u8> = swapped[a..b].to_vec();
        swapped.copy_within(b..b + RECORD, a);
        swapped[b..b + RECORD].copy_from_slice(&first);
        assert_eq!(Index::read(swapped).len(), 0);
        // More entries than there are bytes for, or than an index holds.
        let mut more = bytes.clone();
        more[INDEX_HEADER.len()..RECORDS_AT].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(Index::read(more).len(), 0);
    }

    /// The index holds what the run learned first, then what it found, and never more than
    /// its cap; a run that learned nothing leaves it as it was.
    #[test]
    fn saving_keeps_learned_then_found() {
        let dir = tempfile::tempdir().unwrap();
        let cache = VerdictCache::open(dir.path().to_path_buf());
        cache.put(&key(1), true, "one");
        cache.save();
        let path = dir.path().join(INDEX_NAME);
        let before = std::fs::metadata(&path).unwrap().modified().unwrap();

        let cache = VerdictCache::open(dir.path().to_path_buf());
        assert!(cache.get(&key(1)).is_some());
        cache.save();
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            before
        );

        cache.put(&key(2), false, "two");
        cache.save();
        let index = Index::read(std::fs::read(&path).unwrap());
        let kept: Vec<(Key, bool)> = index.iter().map(|e| (e.key, e.pass)).collect();
        assert_eq!(kept, [(key(1), true), (key(2), false)]);
    }

    /// Entries no run uses are dropped once there are more than the index keeps; the ones
    /// this run used stay.
    #[test]
    fn an_index_follows_what_runs_use() {
        let dir = tempfile::tempdir().unwrap();
        let cache = VerdictCache::open(dir.path().to_path_buf());
        let n = INDEX_KEEP_AT_LEAST + 5;
        // One verdict file for real; the others learned as if read (writing ten thousand
        // files, each synced, would take a minute).
        cache.put(&Key([0u8; 32]), true, "ok");
        let stamp = Stamp {
            ino: 1,
            len: 2,
            modified_ns: 3,
        };
        for i in 1..n {
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&(i as u64).to_le_bytes());
            cache.learn(Key(k), true, "ok", stamp);
        }
        cache.save();
        let cache = VerdictCache::open(dir.path().to_path_buf());
        assert_eq!(cache.index.len(), n, "what one run learned is all kept");
        let used = Key([0u8; 32]);
        assert!(cache.get(&used).is_some());
        cache.save();
        let cache = VerdictCache::open(dir.path().to_path_buf());
        assert_eq!(
            cache.index.len(),
            INDEX_KEEP_AT_LEAST,
            "trimmed to what it keeps"
        );
        assert!(cache.index.get(&used).is_some(), "the used entry stays");
    }

    proptest::proptest! {
        /// Any entries, saved, read back as they were, each found by its key; any bytes
        /// after the header read without a panic.
        #[test]
        fn indexes_read_back_and_garbage_does_not_panic(
            entries in proptest::collection::vec(
                (
                    proptest::array::uniform32(proptest::num::u8::ANY),
                    proptest::bool::ANY,
                    ".{0,12}",
                    proptest::array::uniform3(proptest::num::u64::ANY),
                ),
                0..20,
            ),
            garbage in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        ) {
            let mut entries: Vec<Indexed<'_>> = entries
                .iter()
                .map(|(k, pass, reason, [ino, len, modified_ns])| Indexed {
                    key: Key(*k),
                    pass: *pass,
                    reason,
                    stamp: Stamp { ino: *ino, len: *len, modified_ns: *modified_ns },
                })
                .collect();
            entries.sort_unstable_by_key(|a| a.key.0);
            entries.dedup_by_key(|e| e.key);
            let size = RECORDS_AT + entries.iter().map(|e| RECORD + e.reason.len()).sum::<usize>();
            let bytes = write_index(&entries, size);
            proptest::prop_assert_eq!(bytes.len(), size);
            let index = Index::read(bytes);
            proptest::prop_assert_eq!(index.iter().collect::<Vec<_>>(), entries.clone());
            for e in &entries {
                proptest::prop_assert_eq!(index.get(&e.key), Some(*e));
            }
            let mut odd = INDEX_HEADER.to_vec();
            odd.extend_from_slice(&garbage);
            let index = Index::read(odd);
            for e in index.iter() {
                proptest::prop_assert_eq!(index.get(&e.key), Some(e));
            }
        }
    }

    /// The path built on the stack names the file [`VerdictCache::file`] joins, whatever the
    /// directory's spelling; a directory too long for the buffer is joined instead.
    #[test]
    fn verdict_paths_are_the_joined_ones() {
        let k = Key(std::array::from_fn(|i| (i * 37) as u8));
        let long = "d".repeat(600);
        for dir in ["", ".", "cache", "cache/", "/tmp/a b/c", "/", "a//b", &long] {
            let cache = VerdictCache::open(PathBuf::from(dir));
            let built = cache.with_file(&k, |path, _| path.to_path_buf());
            assert_eq!(built, cache.file(&k), "{dir:?}");
            assert_eq!(built.as_os_str(), cache.file(&k).as_os_str(), "{dir:?}");
            // The C string handed to `lstat` names the same file, byte for byte.
            #[cfg(unix)]
            cache.with_file(&k, |path, c_path| {
                use std::os::unix::ffi::OsStrExt;
                match c_path {
                    Some(c) => assert_eq!(c.to_bytes(), path.as_os_str().as_bytes(), "{dir:?}"),
                    None => assert_eq!(dir, long, "only the joined path goes without one"),
                }
            });
        }
        // A directory whose name holds a NUL is never cut short at it for `lstat`.
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let nul = PathBuf::from(std::ffi::OsStr::from_bytes(b"cache\0/x"));
            let cache = VerdictCache::open(nul);
            cache.with_file(&k, |_, c_path| assert!(c_path.is_none()));
            assert!(cache.get(&k).is_none());
        }
    }

    /// The stamp `lstat` gives is the one `symlink_metadata` gives, for a regular file, and
    /// none for a link (even to a regular file), a directory, a FIFO or nothing: the index
    /// serves a verdict only while its own file is where it was written.
    #[cfg(unix)]
    #[test]
    fn lstat_stamps_are_those_of_symlink_metadata() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
        let file = dir.path().join("v.json");
        std::fs::write(&file, b"{\"pass\": true}").unwrap();
        let meta = std::fs::symlink_metadata(&file).unwrap();
        assert_eq!(stamp_at(&c(&file)), Stamp::of(&meta));
        assert!(stamp_at(&c(&file)).is_some());
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(stamp_at(&c(&link)), None);
        assert_eq!(stamp_at(&c(dir.path())), None);
        let fifo = dir.path().join("fifo.json");
        let made = unsafe { libc::mkfifo(c(&fifo).as_ptr(), 0o600) };
        assert_eq!(made, 0);
        assert_eq!(stamp_at(&c(&fifo)), None);
        assert_eq!(stamp_at(&c(&dir.path().join("none.json"))), None);
    }

    #[test]
    fn keys_are_named_by_their_hex() {
        let k = Key(std::array::from_fn(|i| (i * 37) as u8));
        assert_eq!(
            k.hex(),
            k.0.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
    }
}
