//! Keeps secrets out of every output. The runner passes every piece of text that came from the
//! network or from the config through one [`Redactor`] before any reporter, golden or pending
//! file sees it, so the reporters never need to know what a secret is.

use secrecy::{ExposeSecret, SecretString};

pub const REDACTED: &str = "[REDACTED]";

/// Replaces every known secret with `[REDACTED]`. Built once per run from the api keys and the
/// header values taken from env vars of every loaded endpoint.
#[derive(Default, Clone)]
pub struct Redactor {
    /// Longest first, so that a secret which contains another is replaced whole.
    secrets: Vec<SecretString>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = SecretString>) -> Self {
        let mut secrets: Vec<SecretString> = secrets
            .into_iter()
            .filter(|s| !s.expose_secret().is_empty())
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.expose_secret().len()));
        secrets.dedup_by(|a, b| a.expose_secret() == b.expose_secret());
        Redactor { secrets }
    }

    /// `text` with every secret replaced. Allocates only when something was found.
    pub fn redact<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        let mut out = std::borrow::Cow::Borrowed(text);
        for s in &self.secrets {
            let s = s.expose_secret();
            if out.contains(s) {
                out = std::borrow::Cow::Owned(out.replace(s, REDACTED));
            }
        }
        out
    }

    /// Redacts `text` where it is; leaves it untouched (no allocation) when it holds no secret.
    pub fn redact_in_place(&self, text: &mut String) {
        if let std::borrow::Cow::Owned(s) = self.redact(text) {
            *text = s;
        }
    }

    pub fn redact_string(&self, text: String) -> String {
        match self.redact(&text) {
            std::borrow::Cow::Borrowed(_) => text,
            std::borrow::Cow::Owned(s) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_occurrence_longest_first() {
        let r = Redactor::new([
            SecretString::from("ak_short"),
            SecretString::from("ak_short_and_longer"),
            SecretString::from(""),
        ]);
        assert_eq!(
            r.redact("a ak_short_and_longer b ak_short c"),
            "a [REDACTED] b [REDACTED] c"
        );
        assert!(matches!(r.redact("clean"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let r = Redactor::new([SecretString::from("ak_visible")]);
        assert!(!format!("{r:?}").contains("ak_visible"));
    }
}
