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

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::verdict::{parse_verdict, verdict, Verdict, PROMPT_VERSION};

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
/// keys name no question asked now).
const INDEX_HEADER: &str = "agenttest judge verdict index v3";
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
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (pair, b) in out.chunks_exact_mut(2).zip(self.0) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 0xF)];
        }
    }

    /// The key a file name's hex spells; lower-case only, as [`Key::hex`] writes it. By
    /// table, every digit checked at once at the end: the index holds a key a line, all read
    /// before a run's first question.
    fn from_hex(bytes: &[u8]) -> Option<Key> {
        /// Each byte's value as a lower-case hex digit, or 0x10 (a bit no digit has).
        const NIBBLE: [u8; 256] = {
            let mut t = [0x10u8; 256];
            let mut i = 0;
            while i < 10 {
                t[b'0' as usize + i] = i as u8;
                i += 1;
            }
            let mut i = 0;
            while i < 6 {
                t[b'a' as usize + i] = 10 + i as u8;
                i += 1;
            }
            t
        };
        let bytes: &[u8; 64] = bytes.try_into().ok()?;
        let mut key = [0u8; 32];
        let mut bad = 0u8;
        for (byte, pair) in key.iter_mut().zip(bytes.chunks_exact(2)) {
            let (hi, lo) = (NIBBLE[usize::from(pair[0])], NIBBLE[usize::from(pair[1])]);
            bad |= hi | lo;
            *byte = hi << 4 | (lo & 0xF);
        }
        (bad & 0x10 == 0).then_some(Key(key))
    }
}

/// A key's hash in the cache's maps: the key is already a cryptographic hash, so a few
/// multiplications by seeds drawn per run spread it, where the standard SipHash cost 270
/// instructions a lookup (one per question, and one per index entry read). Seeded, not
/// taken as it stands: the index is a file a cache restored from elsewhere can hold, and keys
/// chosen to share their first bytes must not pile into one bucket.
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
        let modified = meta.modified().ok()?;
        let modified_ns = modified
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_nanos();
        #[cfg(unix)]
        let ino = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let ino = 0;
        Some(Stamp {
            ino,
            len: meta.len(),
            modified_ns: u64::try_from(modified_ns).ok()?,
        })
    }
}

#[derive(Debug, Clone)]
struct Entry {
    pass: bool,
    /// Shared with the verdicts it serves.
    reason: Arc<str>,
    stamp: Stamp,
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
    /// The index as the run found it.
    index: HashMap<Key, Entry, KeySeeds>,
    /// Verdicts read from their files or written by this run: the next index's first entries.
    learned: Mutex<Vec<(Key, Entry)>>,
    /// Index entries this run was served: kept ahead of the ones it did not use.
    used: Mutex<Vec<Key>>,
}

impl VerdictCache {
    /// The cache in `dir` (which need not exist yet), its index read now.
    pub fn open(dir: PathBuf) -> VerdictCache {
        let index = crate::fsutil::read_regular_capped(&dir.join(INDEX_NAME), INDEX_CAP)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(|text| read_index(&text))
            .unwrap_or_else(|| HashMap::with_hasher(KeySeeds::new()));
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
            file_prefix,
            index,
            learned: Mutex::new(Vec::new()),
            used: Mutex::new(Vec::new()),
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
    #[cfg(unix)]
    fn with_file<T>(&self, key: &Key, with: impl FnOnce(&Path) -> T) -> T {
        const NAME: usize = 64 + ".json".len();
        let mut buf = [0u8; 512];
        let (dir, len) = (self.file_prefix.len(), self.file_prefix.len() + NAME);
        let Some(name) = buf.get_mut(dir..len) else {
            return with(&self.file(key));
        };
        key.write_hex(&mut name[..64]);
        name[64..].copy_from_slice(b".json");
        buf[..dir].copy_from_slice(&self.file_prefix);
        with(Path::new(
            <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&buf[..len]),
        ))
    }

    #[cfg(not(unix))]
    fn with_file<T>(&self, key: &Key, with: impl FnOnce(&Path) -> T) -> T {
        with(&self.file(key))
    }

    /// The cached verdict for `key`, or `None` (nothing cached, or nothing readable as a
    /// verdict: regular files only, capped, so a FIFO planted under a verdict's name cannot
    /// block the run, nor a device never end).
    pub fn get(&self, key: &Key) -> Option<Verdict> {
        self.with_file(key, |path| self.get_at(key, path))
    }

    fn get_at(&self, key: &Key, path: &Path) -> Option<Verdict> {
        if let Some(e) = self.index.get(key) {
            let now = std::fs::symlink_metadata(path).ok();
            if now.as_ref().and_then(Stamp::of) == Some(e.stamp) {
                if let Ok(mut used) = self.used.lock() {
                    used.push(*key);
                }
                return Some(Verdict {
                    pass: e.pass,
                    reason: Arc::clone(&e.reason),
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
            self.learn(*key, v.pass, Arc::clone(&v.reason), stamp);
        }
        Some(v)
    }

    /// Keeps a verdict whose `reason` is already redacted. A cache that cannot be written
    /// costs a question next time, nothing more.
    pub fn put(&self, key: &Key, pass: bool, reason: &str) {
        let _ = std::fs::create_dir_all(&self.dir);
        let body = serde_json::json!({"pass": pass, "reason": reason, "prompt": PROMPT_VERSION});
        if let Ok(stamp) = replace_in_cache(&self.file(key), body.to_string().as_bytes()) {
            self.learn(*key, pass, reason.into(), stamp);
        }
    }

    fn learn(&self, key: Key, pass: bool, reason: Arc<str>, stamp: Stamp) {
        if reason.len() > INDEX_MAX_REASON {
            return;
        }
        let entry = Entry {
            pass,
            reason,
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
        let served = used.iter().filter_map(|k| Some((k, self.index.get(k)?)));
        let entries = learned
            .iter()
            .rev()
            .map(|(k, e)| (k, e))
            .chain(served)
            .chain(self.index.iter());
        let mut seen = std::collections::HashSet::new();
        let mut text = String::with_capacity(128 * cap.min(learned.len() + self.index.len()));
        text.push_str(INDEX_HEADER);
        text.push('\n');
        for (key, e) in entries {
            if seen.len() == cap {
                break;
            }
            if seen.insert(*key) {
                write_entry(&mut text, key, e);
            }
        }
        let _ = replace_in_cache(&self.dir.join(INDEX_NAME), text.as_bytes());
    }
}

/// One line of the index: `key inode length modified-ns pass reason-as-JSON`.
fn write_entry(out: &mut String, key: &Key, e: &Entry) {
    let reason = serde_json::Value::from(&*e.reason).to_string();
    let _ = writeln!(
        out,
        "{} {} {} {} {} {reason}",
        key.hex(),
        e.stamp.ino,
        e.stamp.len,
        e.stamp.modified_ns,
        u8::from(e.pass)
    );
}

/// The entries of an index; a line that does not read (cut short by a crash of the writer
/// of an older format, or edited) is skipped, a file of another format read as empty.
fn read_index(text: &str) -> HashMap<Key, Entry, KeySeeds> {
    let mut lines = text.lines();
    if lines.next() != Some(INDEX_HEADER) {
        return HashMap::with_hasher(KeySeeds::new());
    }
    // About 120 bytes a line: sized once, not rehashed as it grows.
    let mut index = HashMap::with_capacity_and_hasher(text.len() / 100, KeySeeds::new());
    index.extend(lines.filter_map(read_entry));
    index
}

/// One line of the index, read byte by byte: every run reads the whole index before its
/// first question, and splitting each line into fields and parsing them as strings had cost
/// about 2,900 instructions an entry, as much as a question's key. Stricter than `str::parse`
/// only in refusing a `+` before a number, which [`write_entry`] never writes (an entry not
/// read costs a read of its file, never a wrong verdict).
fn read_entry(line: &str) -> Option<(Key, Entry)> {
    /// The decimal number up to the next space, which is passed. Read in one walk over its
    /// digits, the first byte that is not one the space or nothing read (looking for the
    /// space first walked every number twice).
    fn number(rest: &mut &[u8]) -> Option<u64> {
        let mut n: u64 = 0;
        let mut len = 0;
        for &b in rest.iter() {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            n = n.checked_mul(10)?.checked_add(u64::from(d))?;
            len += 1;
        }
        if len == 0 || rest.get(len) != Some(&b' ') {
            return None;
        }
        *rest = &rest[len + 1..];
        Some(n)
    }
    let key = Key::from_hex(line.as_bytes().get(..64)?)?;
    let mut rest = line.as_bytes().get(64..)?.strip_prefix(b" ")?;
    let ino = number(&mut rest)?;
    let len = number(&mut rest)?;
    let modified_ns = number(&mut rest)?;
    let pass = match rest {
        [b'1', b' ', ..] => true,
        [b'0', b' ', ..] => false,
        _ => return None,
    };
    // What is left after the flag and its space, on a character boundary: all before it is
    // ASCII.
    let reason = read_reason(line.get(line.len() - rest.len() + 2..)?)?;
    let stamp = Stamp {
        ino,
        len,
        modified_ns,
    };
    Some((
        key,
        Entry {
            pass,
            reason,
            stamp,
        },
    ))
}

/// A reason as [`write_entry`] wrote it, a JSON string: most have nothing escaped and are
/// taken as they stand between their quotes, at a fraction of a JSON parser's cost (which
/// reads the rest).
fn read_reason(json: &str) -> Option<Arc<str>> {
    let plain = json
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .filter(|r| !r.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20));
    match plain {
        Some(r) => Some(r.into()),
        None => serde_json::from_str::<String>(json).ok().map(Into::into),
    }
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
        let index = std::fs::read_to_string(dir.path().join(INDEX_NAME)).unwrap();
        assert!(index.starts_with(INDEX_HEADER), "{index}");
        assert_eq!(index.lines().count(), 3, "{index}");

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

    #[test]
    fn an_index_that_does_not_read_is_ignored_line_by_line_or_whole() {
        let dir = tempfile::tempdir().unwrap();
        let cache = VerdictCache::open(dir.path().to_path_buf());
        cache.put(&key(1), true, "fine");
        cache.put(&key(2), true, "a \"quoted\" reason\nover two lines");
        cache.save();
        let path = dir.path().join(INDEX_NAME);
        let text = std::fs::read_to_string(&path).unwrap();
        let reread = read_index(&text);
        assert_eq!(
            &*reread[&key(2)].reason,
            "a \"quoted\" reason\nover two lines"
        );

        // A line cut short is skipped; the others still read.
        let cut = &text[..text.len() - 10];
        assert_eq!(read_index(cut).len(), 1);
        // Another header: nothing is read.
        assert!(
            read_index(&text.replacen(INDEX_HEADER, "agenttest judge verdict index v1", 1))
                .is_empty()
        );
        // Odd fields.
        let odd = format!(
            "{INDEX_HEADER}\nzz 1 2 3 1 \"r\"\n{} x 2 3 1 \"r\"\n{} 1 2 3 2 \"r\"\n",
            key(3).hex(),
            key(4).hex()
        );
        assert!(read_index(&odd).is_empty());
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
        let lines: Vec<String> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| l.chars().take(64).collect())
            .collect();
        assert_eq!(lines[1..], [key(2).hex(), key(1).hex()]);
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
            cache.learn(Key(k), true, "ok".into(), stamp);
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
        assert!(cache.index.contains_key(&used), "the used entry stays");
    }

    #[test]
    fn reasons_read_back_as_json_reads_them() {
        for reason in [
            "",
            "plain",
            "a \"quote\"",
            "back\\slash",
            "tab\tand\nline",
            "é ✓ \u{1}",
        ] {
            let json = serde_json::Value::from(reason).to_string();
            assert_eq!(read_reason(&json).as_deref(), Some(reason), "{json}");
        }
        for odd in ["plain", "\"open", "\"a\"b\"", "\"bad \\x\""] {
            let slow: Option<String> = serde_json::from_str(odd).ok();
            assert_eq!(read_reason(odd).as_deref(), slow.as_deref(), "{odd}");
        }
    }

    /// The index line as it was read before [`read_entry`]: split at spaces and parsed as
    /// strings.
    fn read_entry_by_fields(line: &str) -> Option<(Key, bool, String, Stamp)> {
        let (key, rest) = (line.get(..64)?, line.get(64..)?.strip_prefix(' ')?);
        let key = Key::from_hex(key.as_bytes())?;
        let mut f = rest.splitn(5, ' ');
        let ino = f.next()?.parse().ok()?;
        let len = f.next()?.parse().ok()?;
        let modified_ns = f.next()?.parse().ok()?;
        let pass = match f.next()? {
            "1" => true,
            "0" => false,
            _ => return None,
        };
        let reason = serde_json::from_str(f.next()?).ok()?;
        let stamp = Stamp {
            ino,
            len,
            modified_ns,
        };
        Some((key, pass, reason, stamp))
    }

    proptest::proptest! {
        /// An index line reads byte by byte as it read field by field: the same entry, or
        /// none (but for a `+` before a number, which is refused now).
        #[test]
        fn index_lines_read_as_their_fields_say(
            fields in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::string::string_regex("[0-9]{1,21}").unwrap(),
                    proptest::string::string_regex("[0-9a-fA-F]{63,65}").unwrap(),
                    proptest::string::string_regex("[01]").unwrap(),
                    proptest::string::string_regex("\"[a-z \\\\\"é…]{0,6}\"?").unwrap(),
                    proptest::string::string_regex("[ x+\t-]{0,2}").unwrap(),
                ],
                0..8,
            ),
            key in proptest::array::uniform32(proptest::num::u8::ANY),
            keyed in proptest::bool::ANY,
        ) {
            let mut line = if keyed { format!("{} ", Key(key).hex()) } else { String::new() };
            line.push_str(&fields.join(" "));
            let fast = read_entry(&line).map(|(k, e)| (k, e.pass, e.reason.to_string(), e.stamp));
            let slow = read_entry_by_fields(&line);
            if !line.contains('+') {
                proptest::prop_assert_eq!(fast, slow, "{:?}", line);
            } else {
                proptest::prop_assert!(fast.is_none() || fast == slow, "{:?}", line);
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
            let built = cache.with_file(&k, Path::to_path_buf);
            assert_eq!(built, cache.file(&k), "{dir:?}");
            assert_eq!(built.as_os_str(), cache.file(&k).as_os_str(), "{dir:?}");
        }
    }

    #[test]
    fn keys_read_back_from_their_hex() {
        let k = Key(std::array::from_fn(|i| (i * 37) as u8));
        assert_eq!(Key::from_hex(k.hex().as_bytes()), Some(k));
        assert_eq!(Key::from_hex(b"ab"), None);
        assert_eq!(Key::from_hex("g".repeat(64).as_bytes()), None);
        assert_eq!(
            Key::from_hex(k.hex().to_uppercase().as_bytes()),
            None,
            "as written, lower-case"
        );
        assert_eq!(
            k.hex(),
            k.0.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
    }
}
