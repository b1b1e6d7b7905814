//! `agenttest merge REPORT.json...` (SPEC §10): the JSON reports of CI shards read back
//! ([`json_read`]), combined into the one run they were cut from ([`combine`], pure), then
//! printed and written exactly as `run` prints and writes a run, and the exit code of §4.2
//! decided from the combined run.
//!
//! Refused with exit 2, before anything is written: a report to write that is one of the
//! reports read, a report that cannot be read, reports of different schema versions,
//! `--partition` shards that are not one whole set (of different N, cut from different
//! selections, a slice missing or given twice: [`whole_partitions`]), and a dialogue (suite
//! file + name) in more than one report (overlapping shards, or the same report given twice).
//! A suite file is told by the file it is, as `run` tells it ([`SuiteFiles`]), not by how a
//! shard spelled it. This module sends nothing and reads no suite: the reports are the whole
//! truth (it only asks the file system which file a `suite_file` names).

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::run::{bless_failed, exit_code, write_report_files};
use super::use_color;
use crate::cli::MergeArgs;
use crate::diag::{location, Span};
use crate::exit;
use crate::fsutil::read_regular_capped;
use crate::record::{Event, JudgeTotals, RunReport, Slice, SuiteInfo};
use crate::report::console::{Console, ConsoleOptions, Verbosity};
use crate::report::json_read::{self, ReadError};

/// The largest JSON report merge reads: 256 MiB. A report holds every transcript of its shard,
/// so it can be far bigger than a suite, but a file past this is not a report (a log, a link
/// to a device) and would only exhaust the CI runner's memory.
pub const MAX_REPORT_BYTES: u64 = 256 * 1024 * 1024;

pub(super) fn cmd_merge(args: MergeArgs) -> i32 {
    if let Err(e) = not_an_input(&args) {
        return super::usage_error(&e);
    }
    if let Err(e) = super::ready_report_paths(
        args.junit.as_deref(),
        args.json.as_deref(),
        args.html.as_deref(),
    ) {
        return super::usage_error(&e);
    }
    let shards = match read_all(&args.reports) {
        Ok(s) => s,
        Err(errors) => {
            for e in errors {
                crate::errln!("error: {e}");
            }
            return exit::USAGE;
        }
    };
    let report = match combine(shards) {
        Ok(r) => r,
        Err(e) => {
            crate::errln!("error: {e}");
            return exit::USAGE;
        }
    };
    let console = Console::new(ConsoleOptions {
        color: use_color(args.color, crate::report::console::out_is_terminal()),
        progress: false,
        verbosity: Verbosity::Normal,
    });
    for d in &report.dialogues {
        console.event(&Event::DialogueFinished(std::sync::Arc::new(d.clone())));
    }
    let report_failed = write_report_files(
        args.junit.as_deref(),
        args.json.as_deref(),
        args.html.as_deref(),
        &report,
    );
    console.finish(&report);
    let code = exit_code(&report);
    if code == exit::NOTHING_SELECTED {
        // As `run` says it: a CI matrix whose filters matched nothing must not pass unseen.
        crate::errln!("error: the runs of these reports selected no dialogue");
    }
    // As for `run`: a report that could not be written, or a golden a shard's `--bless` could
    // not write, is not a pass.
    if (report_failed || bless_failed(&report)) && code == exit::PASS {
        exit::ERRORED
    } else {
        code
    }
}

/// One shard's report and the file it came from (for messages).
#[derive(Debug)]
pub struct Shard {
    pub source: PathBuf,
    pub report: RunReport,
}

/// Why reports cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MergeError {
    #[error(
        "cannot merge reports of different schema versions: {} has schema_version {}, {} has {}",
        .first.display(), .first_version, .other.display(), .other_version
    )]
    MixedVersions {
        first: PathBuf,
        first_version: u64,
        other: PathBuf,
        other_version: u64,
    },
    #[error(
        "cannot merge: dialogue `{dialogue}` of {} is in {}{}; shards must not overlap",
        .suite_file.display(),
        .first.display(),
        if .first == .second { " twice".to_string() } else { format!(" and in {}", .second.display()) }
    )]
    Repeated {
        dialogue: String,
        suite_file: PathBuf,
        first: PathBuf,
        second: PathBuf,
    },
    #[error(
        "cannot merge partitions of different sizes: {} is shard {}, {} is shard {}",
        .first.display(), shown(*.first_slice), .other.display(), shown(*.other_slice)
    )]
    MixedSizes {
        first: PathBuf,
        first_slice: Slice,
        other: PathBuf,
        other_slice: Slice,
    },
    #[error(
        "cannot merge: {} (shard {}) and {} (shard {}) were cut from different selections \
         (another suite version, or other --filter or --tag): the shards of one run select the \
         same dialogues",
        .first.display(), shown(*.first_slice), .other.display(), shown(*.other_slice)
    )]
    OtherSelection {
        first: PathBuf,
        first_slice: Slice,
        other: PathBuf,
        other_slice: Slice,
    },
    #[error(
        "cannot merge: shard {} is {}; give each shard's report once",
        shown(*.slice),
        if .first == .second {
            format!("{} twice", .first.display())
        } else {
            format!("both {} and {}", .first.display(), .second.display())
        }
    )]
    RepeatedSlice {
        slice: Slice,
        first: PathBuf,
        second: PathBuf,
    },
    #[error(
        "cannot merge: {}: {} not given, so no report holds {} dialogues",
        missing_list(.first, *.more, *.n),
        if .first.len() == 1 { "its report was" } else { "their reports were" },
        if .first.len() == 1 { "its" } else { "their" }
    )]
    MissingSlices {
        /// The first few missing slices' `k`, in order.
        first: Vec<u32>,
        /// How many more are missing.
        more: u32,
        n: u32,
    },
}

/// `2/3`, as `--partition` takes it.
fn shown(slice: Slice) -> String {
    format!("{}/{}", slice.k, slice.n)
}

/// How many missing slices are named before the rest are counted: a 100-shard matrix
/// that lost its artifacts needs no list of 99.
const NAMED_MISSING: usize = 8;

/// `shard 2/3 is missing`, `shards 2/5 and 4/5 are missing`, `shards 2/40, ..., 9/40 and 30
/// more are missing`.
fn missing_list(first: &[u32], more: u32, n: u32) -> String {
    let named: Vec<String> = first.iter().map(|&k| format!("{k}/{n}")).collect();
    match (named.as_slice(), more) {
        ([one], 0) => format!("shard {one} is missing"),
        ([init @ .., last], 0) => format!("shards {} and {last} are missing", init.join(", ")),
        (_, more) => format!("shards {} and {more} more are missing", named.join(", ")),
    }
}

/// Reads every report; every file that cannot be read is named, all at once.
fn read_all(paths: &[PathBuf]) -> Result<Vec<Shard>, Vec<String>> {
    let mut texts = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match read_text(path) {
            Ok(text) => match json_read::schema_version(&text) {
                Ok(version) => texts.push((path.clone(), version, text)),
                Err(e) => errors.push(not_a_report(path, &e)),
            },
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let versions: Vec<(PathBuf, u64)> = texts.iter().map(|(p, v, _)| (p.clone(), *v)).collect();
    same_version(&versions).map_err(|e| vec![e.to_string()])?;
    let mut shards = Vec::new();
    for (source, _, text) in texts {
        match json_read::parse(&text) {
            Ok(report) => shards.push(Shard { source, report }),
            Err(e) => errors.push(not_a_report(&source, &e)),
        }
    }
    if errors.is_empty() {
        Ok(shards)
    } else {
        Err(errors)
    }
}

/// Why the file at `path` is no report it can merge. Where the JSON parser knows the place,
/// it is named as every diagnostic names one, `file:line:column: ...`, and left out of the
/// message (serde says it as `... at line 119 column 21`).
fn not_a_report(path: &Path, e: &ReadError) -> String {
    if let ReadError::Json(err) = e {
        if err.line() > 0 {
            let at = Span::new(
                u32::try_from(err.line()).unwrap_or(u32::MAX),
                u32::try_from(err.column()).unwrap_or(u32::MAX),
            );
            let full = err.to_string();
            let place = format!(" at line {} column {}", err.line(), err.column());
            let message = full.strip_suffix(&place).unwrap_or(&full);
            return format!(
                "{}: not an agenttest JSON report: {message}",
                location(path, at)
            );
        }
    }
    format!("{}: {e}", path.display())
}

fn read_text(path: &Path) -> Result<String, String> {
    let bytes = read_regular_capped(path, MAX_REPORT_BYTES)
        .map_err(|e| format!("failed to read the report {}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| {
        format!(
            "{}: not an agenttest JSON report: not UTF-8",
            path.display()
        )
    })
}

/// Every report has the first one's `schema_version`.
pub fn same_version(versions: &[(PathBuf, u64)]) -> Result<(), MergeError> {
    let Some((first, first_version)) = versions.first() else {
        return Ok(());
    };
    match versions.iter().find(|(_, v)| v != first_version) {
        Some((other, other_version)) => Err(MergeError::MixedVersions {
            first: first.clone(),
            first_version: *first_version,
            other: other.clone(),
            other_version: *other_version,
        }),
        None => Ok(()),
    }
}

/// The `--partition` shards among the reports are one whole set: all of one N, each slice of
/// 1..N given once. A CI shard that died uploads no report, and merging the others would pass
/// the gate on part of the suite. Reports that record no partition (whole runs, merges, and
/// reports written before it was recorded) are not part of the set: each is a whole run of
/// its own selection, and one that shares a dialogue with a shard is refused as overlapping.
pub fn whole_partitions(shards: &[Shard]) -> Result<(), MergeError> {
    let mut cut = shards
        .iter()
        .filter_map(|s| s.report.partition.map(|p| (p, &s.source)));
    let Some((first_slice, first)) = cut.next() else {
        return Ok(());
    };
    let n = first_slice.n;
    // By `k`, not a table of `n` places: `n` comes from a file, and may be 4 billion.
    let mut given: BTreeMap<u32, &PathBuf> = BTreeMap::from([(first_slice.k, first)]);
    for (slice, source) in cut {
        if slice.n != n {
            return Err(MergeError::MixedSizes {
                first: first.clone(),
                first_slice,
                other: source.clone(),
                other_slice: slice,
            });
        }
        // Reports written before the selection was recorded say nothing either way.
        if let (Some(a), Some(b)) = (first_slice.selection, slice.selection) {
            if a != b {
                return Err(MergeError::OtherSelection {
                    first: first.clone(),
                    first_slice,
                    other: source.clone(),
                    other_slice: slice,
                });
            }
        }
        if let Some(earlier) = given.insert(slice.k, source) {
            return Err(MergeError::RepeatedSlice {
                slice,
                first: earlier.clone(),
                second: source.clone(),
            });
        }
    }
    // The reader let in only `1 <= k <= n`, so `given` holds no other key.
    let missing = n - given.len() as u32;
    if missing == 0 {
        return Ok(());
    }
    let first: Vec<u32> = (1..=n)
        .filter(|k| !given.contains_key(k))
        .take(NAMED_MISSING)
        .collect();
    Err(MergeError::MissingSlices {
        more: missing - first.len() as u32,
        first,
        n,
    })
}

/// A report merge writes must not be one of the reports it reads: writing it would replace a
/// shard (the only copy of that slice's results) with the merged report, and the next merge
/// of the same files would fail. Compared as the files the writer would replace.
fn not_an_input(args: &MergeArgs) -> Result<(), String> {
    let inputs: Vec<PathBuf> = args
        .reports
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    let outputs = super::report_flags(
        args.junit.as_deref(),
        args.json.as_deref(),
        args.html.as_deref(),
    );
    for (flag, path) in outputs {
        let Some(target) = crate::fsutil::replaced_file(path) else {
            continue;
        };
        if inputs.contains(&target) {
            return Err(format!(
                "{flag} {}: is one of the reports being merged, which it would replace",
                path.display()
            ));
        }
    }
    Ok(())
}

/// `path` without its `.` components, as written otherwise: `./s/a.yaml` is shown `s/a.yaml`.
fn without_dots(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// `path` with `.` dropped and each `..` taking back the name before it, as written: no file
/// is asked. A `..` above the root is the root; one above the start of a relative path stays.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Which file a report's `suite_file` names, told as `run` tells two spellings of one suite
/// apart (`suite::discover`): `s/a.yaml`, `./s/a.yaml`, `s/sub/../a.yaml`, `$PWD/s/a.yaml`
/// and a link to it are one suite, and shards that hold its dialogues under two of those
/// names overlap. A file that exists from here is itself (links and `..` resolved); one that
/// does not (shards run on CI machines, merged elsewhere) is its path made absolute against
/// the current directory and resolved as written ([`lexical`]): the shards of one checkout
/// that name a suite alike still meet under one name, wherever the merge runs.
struct SuiteFiles {
    cwd: Option<PathBuf>,
    known: HashMap<PathBuf, PathBuf>,
}

impl SuiteFiles {
    /// Paths resolved against the process's current directory.
    fn here() -> SuiteFiles {
        SuiteFiles::in_dir(std::env::current_dir().ok())
    }

    fn in_dir(cwd: Option<PathBuf>) -> SuiteFiles {
        SuiteFiles {
            cwd,
            known: HashMap::new(),
        }
    }

    /// The identity of the suite file `path` (asked of the file system once per spelling).
    fn of(&mut self, path: &Path) -> PathBuf {
        if let Some(id) = self.known.get(path) {
            return id.clone();
        }
        let id = std::fs::canonicalize(path).unwrap_or_else(|_| match &self.cwd {
            Some(cwd) if path.is_relative() => lexical(&cwd.join(path)),
            _ => lexical(path),
        });
        self.known.insert(path.to_path_buf(), id.clone());
        id
    }
}

/// Of two spellings of one suite file, the one the merged reports show: a relative path
/// before an absolute one (as a run shows the paths it was given), then the shorter, then the
/// first in sorted order, so that the shards' order changes nothing.
fn shown_before(a: &Path, b: &Path) -> bool {
    let rank = |p: &Path| (p.is_absolute(), p.components().count());
    (rank(a), a) < (rank(b), b)
}

/// The one run the shards were cut from: their dialogues in the order a single run reports
/// them (suite files in sorted path order, dialogues as written), warnings once each in
/// first-seen order, from the earliest start to the latest end, interrupted when any shard
/// was. It selected nothing (exit 4) when it holds no dialogue and a shard's run selected
/// nothing; shards that are only empty `--partition` slices merge to a pass, as each of them
/// passed. `--partition` shards that are not one whole set, and a dialogue in two shards (of
/// one suite file, however each shard named it: [`SuiteFiles`]), are refused. The combined
/// run is whole: it records no partition.
pub fn combine(shards: Vec<Shard>) -> Result<RunReport, MergeError> {
    combine_in(shards, &mut SuiteFiles::here())
}

/// [`combine`], the suite files told apart by `files`.
fn combine_in(shards: Vec<Shard>, files: &mut SuiteFiles) -> Result<RunReport, MergeError> {
    whole_partitions(&shards)?;
    // Each suite file under one name, whichever spelling each shard used: its dialogues are
    // found repeated, grouped into one suite (one JUnit testsuite) and sorted together.
    let mut shown: HashMap<PathBuf, PathBuf> = HashMap::new();
    for d in shards.iter().flat_map(|s| &s.report.dialogues) {
        let id = files.of(&d.suite.path);
        let spelled = without_dots(&d.suite.path);
        match shown.get_mut(&id) {
            Some(name) if !shown_before(&spelled, name) => {}
            Some(name) => *name = spelled,
            None => {
                shown.insert(id, spelled);
            }
        }
    }
    let mut owner: HashMap<(PathBuf, String), PathBuf> = HashMap::new();
    let mut suites: HashMap<SuiteInfo, Arc<SuiteInfo>> = HashMap::new();
    let mut dialogues = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut span: Option<(SystemTime, SystemTime)> = None;
    let mut interrupted = false;
    let mut nothing_selected = false;
    let mut judge = JudgeTotals::default();
    for shard in shards {
        let r = shard.report;
        judge.asked += r.judge.asked;
        judge.cached += r.judge.cached;
        let end = r.started_at + r.duration;
        span = Some(match span {
            None => (r.started_at, end),
            Some((s, e)) => (s.min(r.started_at), e.max(end)),
        });
        interrupted |= r.interrupted;
        nothing_selected |= r.nothing_selected;
        for w in r.warnings {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        for mut d in r.dialogues {
            let id = files.of(&d.suite.path);
            let mut info = (*d.suite).clone();
            info.path = shown[&id].clone();
            d.suite = suites
                .entry(info.clone())
                .or_insert_with(|| Arc::new(info))
                .clone();
            let key = (id, d.name.clone());
            if let Some(first) = owner.get(&key) {
                return Err(MergeError::Repeated {
                    dialogue: d.display_name(),
                    suite_file: d.suite.path.clone(),
                    first: first.clone(),
                    second: shard.source.clone(),
                });
            }
            owner.insert(key, shard.source.clone());
            dialogues.push(d);
        }
    }
    // A matrix's rows share their dialogue's place when read from a `matrix_file:`: their row
    // numbers order them. Stable: a tie (one place holds one dialogue, or rows from reports
    // older than `matrix_row`) keeps the shards' order.
    dialogues.sort_by(|a, b| (&a.suite.path, a.span, a.row).cmp(&(&b.suite.path, b.span, b.row)));
    let (started_at, end) = span.unwrap_or((UNIX_EPOCH, UNIX_EPOCH));
    let nothing_selected = nothing_selected && dialogues.is_empty();
    Ok(RunReport {
        started_at,
        duration: end.duration_since(started_at).unwrap_or_default(),
        interrupted,
        dialogues,
        warnings,
        judge,
        nothing_selected,
        partition: None,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::diag::Span;
    use crate::record::{DialogueResult, Outcome};

    fn dialogue(file: &str, name: &str, line: u32, outcome: Outcome) -> DialogueResult {
        DialogueResult {
            endpoint_kind: "thinnest",
            suite: Arc::new(SuiteInfo {
                name: "s".into(),
                path: PathBuf::from(file),
            }),
            name: name.into(),
            span: Span::new(line, 5),
            row: None,
            tags: Vec::new(),
            outcome,
            skip_reason: None,
            attempts: Vec::new(),
            repeat: 1,
            min_pass: 1,
            baseline: None,
            duration: Duration::ZERO,
            bless: None,
        }
    }

    fn shard(source: &str, at_ms: u64, ms: u64, dialogues: Vec<DialogueResult>) -> Shard {
        Shard {
            source: PathBuf::from(source),
            report: RunReport {
                started_at: UNIX_EPOCH + Duration::from_millis(at_ms),
                duration: Duration::from_millis(ms),
                interrupted: false,
                dialogues,
                warnings: vec!["orphan golden x.yaml".into()],
                judge: JudgeTotals {
                    asked: 2,
                    cached: at_ms % 7,
                },
                nothing_selected: false,
                partition: None,
            },
        }
    }

    fn names(r: &RunReport) -> Vec<String> {
        r.dialogues
            .iter()
            .map(|d| format!("{}:{}", d.suite.path.display(), d.name))
            .collect()
    }

    #[test]
    fn puts_dialogues_back_in_run_order() {
        let merged = combine(vec![
            shard(
                "2.json",
                1_000,
                500,
                vec![
                    dialogue("s/b.yaml", "b1", 3, Outcome::Pass),
                    dialogue("s/a.yaml", "a2", 9, Outcome::Fail),
                ],
            ),
            shard(
                "1.json",
                900,
                200,
                vec![
                    dialogue("s/a.yaml", "a1", 3, Outcome::Pass),
                    dialogue("s/a/z.yaml", "z", 3, Outcome::Pass),
                    dialogue("s/a.yaml", "a3", 20, Outcome::Error),
                ],
            ),
        ])
        .expect("merges");
        // Paths compare by component, as discovery sorts them: `s/a/z.yaml` before `s/a.yaml`.
        assert_eq!(
            names(&merged),
            [
                "s/a/z.yaml:z",
                "s/a.yaml:a1",
                "s/a.yaml:a2",
                "s/a.yaml:a3",
                "s/b.yaml:b1"
            ]
        );
        assert_eq!(merged.started_at, UNIX_EPOCH + Duration::from_millis(900));
        assert_eq!(merged.duration, Duration::from_millis(600));
        assert_eq!(merged.warnings, ["orphan golden x.yaml"]);
        assert_eq!(
            merged.judge,
            JudgeTotals {
                asked: 4,
                cached: 1_000 % 7 + 900 % 7
            }
        );
        assert!(!merged.interrupted);
        // One suite, one Arc.
        let a: Vec<_> = merged
            .dialogues
            .iter()
            .filter(|d| d.suite.path == Path::new("s/a.yaml"))
            .collect();
        assert!(Arc::ptr_eq(&a[0].suite, &a[2].suite));
        assert_eq!(exit_code(&merged), exit::FAILED);
    }

    #[test]
    fn refuses_a_dialogue_in_two_reports() {
        let e = combine(vec![
            shard(
                "1.json",
                0,
                0,
                vec![dialogue("a.yaml", "x", 3, Outcome::Pass)],
            ),
            shard(
                "2.json",
                0,
                0,
                vec![dialogue("a.yaml", "x", 3, Outcome::Pass)],
            ),
        ])
        .expect_err("overlap");
        assert_eq!(
            e.to_string(),
            "cannot merge: dialogue `s › x` of a.yaml is in 1.json and in 2.json; shards must \
             not overlap"
        );
        // The same name in another file is another dialogue.
        assert!(combine(vec![
            shard(
                "1.json",
                0,
                0,
                vec![dialogue("a.yaml", "x", 3, Outcome::Pass)]
            ),
            shard(
                "2.json",
                0,
                0,
                vec![dialogue("b.yaml", "x", 3, Outcome::Pass)]
            ),
        ])
        .is_ok());
        let twice = combine(vec![shard(
            "1.json",
            0,
            0,
            vec![
                dialogue("a.yaml", "x", 3, Outcome::Pass),
                dialogue("a.yaml", "x", 3, Outcome::Pass),
            ],
        )])
        .expect_err("twice");
        assert!(twice.to_string().contains("is in 1.json twice"), "{twice}");
    }

    #[test]
    fn lexical_resolves_dots_as_written() {
        let l = |p: &str| lexical(Path::new(p)).display().to_string();
        assert_eq!(l("/ci/./s/sub/../a.yaml"), "/ci/s/a.yaml");
        assert_eq!(l("s/a/b/../../a.yaml"), "s/a.yaml");
        assert_eq!(l("/../a.yaml"), "/a.yaml");
        assert_eq!(l("../s/./a.yaml"), "../s/a.yaml");
        assert_eq!(l("s/../../a.yaml"), "../a.yaml");
    }

    /// Files that do not exist here (shards from CI machines): a relative path is taken from
    /// the current directory, so `s/a.yaml`, `./s/a.yaml`, `s/x/../a.yaml` and `/ci/s/a.yaml`
    /// merged in `/ci` (here `/nonexistent-ci`) are one suite: a dialogue in two of them overlaps, and dialogues that
    /// do not are grouped under one name, the relative one, whatever the shards' order.
    #[test]
    fn one_suite_file_spelled_two_ways_is_one_suite() {
        let at = || SuiteFiles::in_dir(Some(PathBuf::from("/nonexistent-ci")));
        for other in ["/nonexistent-ci/s/a.yaml", "s/x/../a.yaml", "./s/a.yaml"] {
            let e = combine_in(
                vec![
                    shard(
                        "1.json",
                        0,
                        0,
                        vec![dialogue("s/a.yaml", "x", 3, Outcome::Pass)],
                    ),
                    shard("2.json", 0, 0, vec![dialogue(other, "x", 3, Outcome::Pass)]),
                ],
                &mut at(),
            )
            .expect_err(other);
            assert_eq!(
                e.to_string(),
                "cannot merge: dialogue `s › x` of s/a.yaml is in 1.json and in 2.json; shards \
                 must not overlap"
            );
        }
        let shards = || {
            vec![
                shard(
                    "1.json",
                    0,
                    0,
                    vec![dialogue("/nonexistent-ci/s/a.yaml", "y", 9, Outcome::Pass)],
                ),
                shard(
                    "2.json",
                    0,
                    0,
                    vec![dialogue("s/a.yaml", "x", 3, Outcome::Pass)],
                ),
            ]
        };
        let mut reversed = shards();
        reversed.reverse();
        for shards in [shards(), reversed] {
            let merged = combine_in(shards, &mut at()).expect("merges");
            assert_eq!(names(&merged), ["s/a.yaml:x", "s/a.yaml:y"]);
            assert!(Arc::ptr_eq(
                &merged.dialogues[0].suite,
                &merged.dialogues[1].suite
            ));
        }
        // Another directory is another file.
        assert!(combine_in(
            vec![
                shard(
                    "1.json",
                    0,
                    0,
                    vec![dialogue("s/a.yaml", "x", 3, Outcome::Pass)]
                ),
                shard(
                    "2.json",
                    0,
                    0,
                    vec![dialogue("/elsewhere/s/a.yaml", "x", 3, Outcome::Pass)]
                ),
            ],
            &mut at(),
        )
        .is_ok());
    }

    /// A shard of `--partition k/n` holding one passing dialogue of its own, or none.
    fn slice(source: &str, k: u32, n: u32, holds: bool) -> Shard {
        let dialogues = if holds {
            vec![dialogue("a.yaml", source, 3 + k, Outcome::Pass)]
        } else {
            Vec::new()
        };
        let mut s = shard(source, 0, 0, dialogues);
        s.report.partition = Some(Slice {
            k,
            n,
            selection: None,
        });
        s
    }

    #[test]
    fn every_slice_of_a_partition_merges_in_any_order() {
        let merged = combine(vec![
            slice("3.json", 3, 3, true),
            slice("1.json", 1, 3, true),
            // An empty slice is a shard that ran: present.
            slice("2.json", 2, 3, false),
        ])
        .expect("merges");
        assert_eq!(names(&merged), ["a.yaml:1.json", "a.yaml:3.json"]);
        assert_eq!(merged.partition, None, "the merge is the whole run");
        assert_eq!(exit_code(&merged), exit::PASS);
        // Whole runs beside the set, of other dialogues: each a run of its own.
        let mut whole = shard(
            "whole.json",
            0,
            0,
            vec![dialogue("b.yaml", "b", 1, Outcome::Pass)],
        );
        whole.report.partition = None;
        assert!(combine(vec![slice("1.json", 1, 1, true), whole]).is_ok());
    }

    #[test]
    fn refuses_a_partition_with_a_slice_missing() {
        let e = combine(vec![
            slice("1.json", 1, 3, true),
            slice("3.json", 3, 3, true),
        ])
        .expect_err("missing");
        assert_eq!(
            e.to_string(),
            "cannot merge: shard 2/3 is missing: its report was not given, so no report holds \
             its dialogues"
        );
        let e = combine(vec![slice("3.json", 3, 5, false)]).expect_err("missing");
        assert_eq!(
            e,
            MergeError::MissingSlices {
                first: vec![1, 2, 4, 5],
                more: 0,
                n: 5
            }
        );
        assert!(
            e.to_string().starts_with(
                "cannot merge: shards 1/5, 2/5, 4/5 and 5/5 are missing: their \
                 reports were not given"
            ),
            "{e}"
        );
        // A report's `n` is not a size to allocate: a billion slices, one given.
        let e = combine(vec![slice("1.json", 1, 1_000_000_000, true)]).expect_err("missing");
        assert!(
            e.to_string().starts_with(
                "cannot merge: shards 2/1000000000, 3/1000000000, 4/1000000000, \
                 5/1000000000, 6/1000000000, 7/1000000000, 8/1000000000, 9/1000000000 and \
                 999999991 more are missing"
            ),
            "{e}"
        );
        // A whole run does not stand in for a missing slice.
        let whole = shard(
            "whole.json",
            0,
            0,
            vec![dialogue("b.yaml", "b", 1, Outcome::Pass)],
        );
        let e = combine(vec![slice("1.json", 1, 2, true), whole]).expect_err("missing");
        assert!(e.to_string().contains("shard 2/2 is missing"), "{e}");
    }

    #[test]
    fn refuses_a_slice_given_twice_and_partitions_of_different_sizes() {
        let e = combine(vec![
            slice("1.json", 1, 2, true),
            slice("2.json", 2, 2, false),
            slice("2-again.json", 2, 2, false),
        ])
        .expect_err("twice");
        assert_eq!(
            e.to_string(),
            "cannot merge: shard 2/2 is both 2.json and 2-again.json; give each shard's report once"
        );
        let e = combine(vec![
            slice("1.json", 1, 1, false),
            slice("1.json", 1, 1, false),
        ])
        .expect_err("twice");
        assert!(e.to_string().contains("shard 1/1 is 1.json twice"), "{e}");
        let e = combine(vec![
            slice("1.json", 1, 2, true),
            slice("2.json", 2, 2, true),
            slice("x.json", 3, 3, true),
        ])
        .expect_err("sizes");
        assert_eq!(
            e.to_string(),
            "cannot merge partitions of different sizes: 1.json is shard 1/2, x.json is shard 3/3"
        );
    }

    #[test]
    fn refuses_mixed_schema_versions() {
        let e = same_version(&[
            (PathBuf::from("1.json"), 1),
            (PathBuf::from("2.json"), 1),
            (PathBuf::from("3.json"), 2),
        ])
        .expect_err("mixed");
        assert_eq!(
            e.to_string(),
            "cannot merge reports of different schema versions: 1.json has schema_version 1, \
             3.json has 2"
        );
        assert!(same_version(&[(PathBuf::from("1.json"), 1)]).is_ok());
    }

    #[test]
    fn exit_code_of_the_combined_run() {
        let code = |shards: Vec<Vec<Outcome>>, interrupted: bool| {
            let shards = shards
                .into_iter()
                .enumerate()
                .map(|(i, outcomes)| {
                    let mut s = shard(
                        &format!("{i}.json"),
                        0,
                        0,
                        outcomes
                            .into_iter()
                            .enumerate()
                            .map(|(j, o)| {
                                dialogue(&format!("{i}.yaml"), &j.to_string(), 1 + j as u32, o)
                            })
                            .collect(),
                    );
                    s.report.interrupted = interrupted && i == 0;
                    s
                })
                .collect();
            exit_code(&combine(shards).expect("merges"))
        };
        use Outcome::*;
        assert_eq!(code(vec![vec![Pass, Skip], vec![Flaky]], false), exit::PASS);
        assert_eq!(code(vec![vec![Pass], vec![Error]], false), exit::ERRORED);
        assert_eq!(code(vec![vec![Error], vec![Fail]], false), exit::FAILED);
        assert_eq!(code(vec![vec![Fail], vec![Pass]], true), exit::INTERRUPTED);
        // Empty partitions of a small suite: nothing ran, nothing failed.
        assert_eq!(code(vec![vec![], vec![]], false), exit::PASS);
    }

    #[test]
    fn shards_that_selected_nothing_merge_to_exit_4() {
        let merged = |shards: Vec<(Vec<Outcome>, bool)>| {
            let shards = shards
                .into_iter()
                .enumerate()
                .map(|(i, (outcomes, nothing_selected))| {
                    let dialogues = outcomes
                        .into_iter()
                        .enumerate()
                        .map(|(j, o)| dialogue(&format!("{i}.yaml"), &j.to_string(), 1, o))
                        .collect();
                    let mut s = shard(&format!("{i}.json"), 0, 0, dialogues);
                    s.report.nothing_selected = nothing_selected;
                    s
                })
                .collect();
            combine(shards).expect("merges")
        };
        let none = merged(vec![(vec![], true), (vec![], true)]);
        assert!(none.nothing_selected);
        assert_eq!(exit_code(&none), exit::NOTHING_SELECTED);
        // One shard's filters matched nothing, an empty slice of another: still nothing ran.
        let code = |shards| exit_code(&merged(shards));
        assert_eq!(
            code(vec![(vec![], true), (vec![], false)]),
            exit::NOTHING_SELECTED
        );
        // Dialogues elsewhere: the combined run selected them, and exits on them.
        let some = merged(vec![(vec![], true), (vec![Outcome::Pass], false)]);
        assert!(!some.nothing_selected);
        assert_eq!(exit_code(&some), exit::PASS);
        assert_eq!(
            code(vec![(vec![Outcome::Fail], false), (vec![], true)]),
            exit::FAILED
        );
        let mut cut = merged(vec![(vec![], true)]);
        cut.interrupted = true;
        assert_eq!(exit_code(&cut), exit::INTERRUPTED);
    }
}
