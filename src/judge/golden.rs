//! Golden transcripts (SPEC §3.3). Placeholder signatures until the golden branch lands.

use std::path::{Path, PathBuf};

use crate::run::result::{BlessAction, GoldenCheck, GoldenStatus, TurnResult};
use crate::suite::model::{slug, GoldenMode, Suite};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoldenFile {
    pub suite: String,
    pub dialogue: String,
    pub turns: Vec<GoldenTurn>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoldenTurn {
    pub user: String,
    pub status: u16,
    pub agent: String,
}

pub fn golden_path(suite: &Suite, dialogue_name: &str) -> PathBuf {
    suite
        .golden_dir
        .join(format!("{}.yaml", slug(dialogue_name)))
}

pub fn transcript(suite: &Suite, dialogue_name: &str, turns: &[TurnResult]) -> GoldenFile {
    GoldenFile {
        suite: suite.name.clone(),
        dialogue: dialogue_name.to_string(),
        turns: turns
            .iter()
            .map(|t| GoldenTurn {
                user: t.message.clone(),
                status: t.status.unwrap_or(0),
                agent: t.text.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

pub fn compare(path: &Path, _actual: &GoldenFile, _mode: GoldenMode, _hint: &str) -> GoldenCheck {
    GoldenCheck {
        path: path.to_path_buf(),
        status: GoldenStatus::Match,
        expected: String::new(),
        actual: String::new(),
        scores: Vec::new(),
        pending: None,
        message: String::new(),
    }
}

pub fn write_pending(_check: &mut GoldenCheck) -> std::io::Result<()> {
    Ok(())
}

pub fn remove_pending(_golden: &Path) -> std::io::Result<bool> {
    Ok(false)
}

pub fn bless(path: &Path, _actual: &GoldenFile) -> BlessAction {
    BlessAction::Unchanged(path.to_path_buf())
}

pub fn orphans(_suites: &[Suite]) -> Vec<PathBuf> {
    Vec::new()
}

pub fn render_diff(expected: &str, actual: &str, _color: bool) -> String {
    format!("-{expected}\n+{actual}\n")
}
