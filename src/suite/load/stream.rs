//! A suite file checked while it is parsed: each dialogue is checked into the model as soon as
//! it is read and its YAML form dropped, so a suite of 10,000 dialogues never exists twice
//! (as written and as checked) in memory.
//!
//! This path only ever succeeds. Whenever it cannot be sure to say what the whole-file path
//! says, it steps aside and the caller reads the file whole (`source::parse_yaml`, then
//! [`Checker::suite`]), which reports every YAML error in its usual words: on any YAML or type
//! error, on an empty file, and when a key that every dialogue depends on (`endpoint`,
//! `defaults`, `judge`) comes after `dialogues:`. Both paths run the same checks in the same
//! order ([`SuiteBuild`]), so they print the same diagnostics.
//!
//! Nothing here reads files other than through the checks, or decides what a suite means.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::diag::{Diagnostic, SourceFile, Span};
use crate::suite::model::Suite;
use crate::suite::raw::{
    RawDefaults, RawDialogue, RawEndpoint, RawNormalize, Spanned, SpannedSeed,
};

use super::check::Checker;
use super::dialogue::SuiteBuild;
use super::{ConfigState, LoadOptions};

/// `RawSuite`'s fields, in its order (serde's "expected one of" list is never shown from
/// here: an unknown key sends the file down the whole-file path).
const FIELDS: &[&str] = &[
    "name",
    "endpoint",
    "judge",
    "defaults",
    "normalize",
    "dialogues",
];

/// The checked suite and every diagnostic of the file; `None` when the file must be read
/// whole instead (see the module's comment).
pub(super) fn load(
    file: &SourceFile,
    config: &ConfigState,
    opts: &LoadOptions,
) -> Option<(Option<Suite>, Vec<Diagnostic>)> {
    if file.text.trim().is_empty() {
        return None;
    }
    let mut ck = Checker::new(file, opts);
    let mut build = SuiteBuild::new(config);
    let seed = SuiteSeed {
        ck: &mut ck,
        build: &mut build,
    };
    let parsed = serde_saphyr::with_deserializer_from_str_with_options(
        &file.text,
        crate::yaml::options(),
        |de| seed.deserialize(de),
    );
    let list = parsed.ok()?;
    let suite = ck.suite_finish(build, list);
    let diags = ck.finish();
    Some((suite, diags))
}

/// The top-level mapping. Its value is where `dialogues:` is, when written with a value.
struct SuiteSeed<'a, 'c> {
    ck: &'a mut Checker<'c>,
    build: &'a mut SuiteBuild,
}

impl<'de> DeserializeSeed<'de> for SuiteSeed<'_, '_> {
    type Value = Option<Span>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_struct("RawSuite", FIELDS, self)
    }
}

/// The keys every dialogue is checked against, held until `dialogues:` comes.
#[derive(Default)]
struct Head {
    endpoint: Option<RawEndpoint>,
    judge: Option<Spanned<RawEndpoint>>,
    defaults: Option<RawDefaults>,
}

impl<'de> Visitor<'de> for SuiteSeed<'_, '_> {
    type Value = Option<Span>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a suite")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Span>, A::Error> {
        let SuiteSeed { ck, build } = self;
        let mut head = Head::default();
        let mut seen = [false; FIELDS.len()];
        let mut list = None;
        while let Some(key) = map.next_key::<Key>()? {
            let Key(index) = key;
            if std::mem::replace(&mut seen[index], true) {
                return Err(de::Error::duplicate_field(FIELDS[index]));
            }
            match FIELDS[index] {
                "name" => {
                    let name: Option<Spanned<String>> = map.next_value()?;
                    ck.suite_name(build, name.as_ref());
                }
                "normalize" => {
                    let rules: Option<Vec<RawNormalize>> = map.next_value()?;
                    ck.suite_normalize(build, rules.as_deref());
                }
                _ if build.has_head() && index != DIALOGUES => {
                    // Every dialogue read so far was checked without this key.
                    return Err(de::Error::custom("a suite key after `dialogues:`"));
                }
                "endpoint" => head.endpoint = map.next_value()?,
                "judge" => head.judge = map.next_value()?,
                "defaults" => head.defaults = map.next_value()?,
                _ => {
                    begin(ck, build, &head);
                    list = map.next_value_seed(ListSeed {
                        ck: &mut *ck,
                        build: &mut *build,
                    })?;
                }
            }
        }
        if !build.has_head() {
            begin(ck, build, &head);
        }
        Ok(list)
    }
}

/// Where `dialogues` is in [`FIELDS`].
const DIALOGUES: usize = FIELDS.len() - 1;

fn begin(ck: &mut Checker, build: &mut SuiteBuild, head: &Head) {
    ck.suite_head(
        build,
        head.endpoint.as_ref(),
        head.defaults.as_ref(),
        head.judge.as_ref(),
    );
}

/// A top-level key, as its index in [`FIELDS`]; any other is an error, as in `RawSuite`.
struct Key(usize);

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("field identifier")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                FIELDS
                    .iter()
                    .position(|f| *f == v)
                    .map(Key)
                    .ok_or_else(|| de::Error::unknown_field(v, FIELDS))
            }
        }
        deserializer.deserialize_identifier(V)
    }
}

/// `dialogues:`'s value, as `Option<Spanned<Vec<Spanned<RawDialogue>>>>` reads it.
struct ListSeed<'a, 'c> {
    ck: &'a mut Checker<'c>,
    build: &'a mut SuiteBuild,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_, '_> {
    type Value = Option<Span>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_, '_> {
    type Value = Option<Span>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("option")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<Span>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<Span>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<Span>, D::Error> {
        let items = Items {
            ck: self.ck,
            build: self.build,
        };
        SpannedSeed(items)
            .deserialize(d)
            .map(|list| Some(list.span))
    }
}

/// The list's items, each checked as it is read and then dropped.
struct Items<'a, 'c> {
    ck: &'a mut Checker<'c>,
    build: &'a mut SuiteBuild,
}

impl<'de> DeserializeSeed<'de> for Items<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Items<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(d) = seq.next_element::<Spanned<RawDialogue>>()? {
            self.ck.suite_dialogue(self.build, &d.value, d.span);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::diag::render_all;
    use crate::suite::discover::find_config;

    fn opts() -> LoadOptions {
        LoadOptions::with_env(Default::default())
    }

    /// Both paths, as the loader would run them on `file`: `None` when streaming stepped aside.
    fn both(file: &SourceFile, config: &ConfigState) -> Option<(String, String)> {
        let streamed = load(file, config, &opts())?;
        let whole = super::super::load_whole(file, config, &opts());
        let show = |(suite, diags): &(Option<Suite>, Vec<Diagnostic>)| {
            format!("{suite:#?}\n{}", render_all(diags, false))
        };
        Some((show(&streamed), show(&whole)))
    }

    fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                yaml_files(&p, out);
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml")
                && p.file_name().is_some_and(|n| n != "agenttest.yaml")
            {
                out.push(p);
            }
        }
    }

    /// Every suite of the repository (the bad-suite corpus, the examples, the fixtures):
    /// read as it is parsed, the same suite and the same diagnostics as read whole.
    #[test]
    fn streaming_says_what_the_whole_file_says() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["tests/bad_suites", "suites", "tests/fixtures"] {
            yaml_files(&root.join(dir), &mut files);
        }
        let mut streamed = 0;
        for path in &files {
            let Ok(file) = super::super::read_source(path) else {
                continue;
            };
            let config = match find_config(path) {
                None => ConfigState::None,
                Some(c) => match super::super::load_config(&c, &opts()) {
                    Ok(c) => ConfigState::Loaded(c),
                    Err(_) => ConfigState::Broken,
                },
            };
            if let Some((ours, whole)) = both(&file, &config) {
                assert_eq!(ours, whole, "{}", path.display());
                streamed += 1;
            }
        }
        eprintln!("{streamed} of {} files streamed", files.len());
        assert!(streamed > 50, "only {streamed} of {} streamed", files.len());
    }

    #[test]
    fn a_head_key_after_the_dialogues_reads_the_file_whole() {
        let text = "dialogues:\n  - name: a\n    turns: [{user: hi}]\nendpoint:\n  base_url: mock\n  agent_id: x\n";
        let file = SourceFile::new("late.yaml", text);
        assert!(both(&file, &ConfigState::None).is_none());
        // `name` and `normalize` do not change how a dialogue is checked: still streamed.
        let text = "endpoint: {base_url: mock, agent_id: x}\ndialogues:\n  - name: a\n    turns: [{user: hi}]\n  - name: ''\n    turns: []\nnormalize:\n  - {pattern: '(', replace: x}\nname: ''\n";
        let file = SourceFile::new("names.yaml", text);
        let (ours, whole) = both(&file, &ConfigState::None).expect("streamed");
        assert_eq!(ours, whole);
        assert!(ours.contains("the suite name is empty"), "{ours}");
        assert!(ours.contains("invalid regex"), "{ours}");
    }

    #[test]
    fn yaml_errors_and_empty_files_read_the_file_whole() {
        for text in [
            "",
            "  \n",
            "dialogues: [\n",
            "dialogues:\n  - name: a\n    turnz: []\n",
            "- a\n",
        ] {
            let file = SourceFile::new("bad.yaml", text);
            assert!(both(&file, &ConfigState::None).is_none(), "{text:?}");
        }
    }
}
