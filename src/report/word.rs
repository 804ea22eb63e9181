//! `Word`: a short value that many certificates share — an account's ID and name, a region,
//! one of ACM's enumerations, an issuer — kept once for the whole process. A certificate holds
//! a pointer (8 bytes, and 8 as an `Option`) instead of a 24-byte string per field: at 100,000
//! certificates with thirteen such fields that is ~20 MB, and an issuer's name is no longer
//! allocated 100,000 times.
//!
//! The distinct values are few (an organization's accounts and regions, ACM's enumerations,
//! the CAs that issued its certificates) and are kept until the process ends.

use std::collections::HashMap;
use std::fmt;
use std::sync::{LazyLock, Mutex};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One interned value. Two `Word`s of the same text are the same pointer. A pointer to a
/// `Box<str>` rather than a `&str`: one word (8 bytes) instead of two.
#[derive(Clone, Copy)]
#[allow(clippy::borrowed_box)]
pub struct Word(&'static Box<str>);

/// Every distinct value seen, by its text.
#[allow(clippy::borrowed_box)]
static WORDS: LazyLock<Mutex<HashMap<&'static str, &'static Box<str>>>> =
    LazyLock::new(Mutex::default);

impl Word {
    #[allow(clippy::borrowed_box)]
    pub fn new(text: &str) -> Word {
        let mut words = WORDS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(found) = words.get(text) {
            return Word(found);
        }
        let kept: &'static Box<str> = Box::leak(Box::new(Box::from(text)));
        words.insert(&**kept, kept);
        Word(kept)
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl Default for Word {
    fn default() -> Self {
        Word::new("")
    }
}

impl std::ops::Deref for Word {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

impl AsRef<str> for Word {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl From<Word> for String {
    fn from(word: Word) -> Self {
        word.as_str().to_string()
    }
}

impl From<&str> for Word {
    fn from(text: &str) -> Self {
        Word::new(text)
    }
}

impl From<String> for Word {
    fn from(text: String) -> Self {
        Word::new(&text)
    }
}

impl PartialEq for Word {
    fn eq(&self, other: &Self) -> bool {
        // Interned: the same text is the same pointer.
        std::ptr::eq(self.0, other.0)
    }
}
impl Eq for Word {}

impl PartialEq<str> for Word {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Word {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::hash::Hash for Word {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialOrd for Word {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Word {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for Word {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Word {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(Word::new(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_text_is_one_word() {
        let a = Word::new("ISSUED");
        let b = Word::from(String::from("ISSUED"));
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a, b);
        assert_ne!(a, Word::new("EXPIRED"));
        assert_eq!(a, "ISSUED");
        assert!(Word::new("a") < Word::new("b"));
        assert_eq!(std::mem::size_of::<Option<Word>>(), 8);
    }

    #[test]
    fn round_trips_through_json() {
        let words: Vec<Word> = serde_json::from_str(r#"["us-east-1", "caf\u00e9", ""]"#).unwrap();
        assert_eq!(words[1], "café");
        assert_eq!(words[2], Word::default());
        assert_eq!(
            serde_json::to_string(&words).unwrap(),
            r#"["us-east-1","café",""]"#
        );
    }
}

#[cfg(test)]
mod size {
    /// 100,000 certificates are held at once: each byte here is 100 kB of a large scan's peak
    /// (it was 552 bytes before `Word`, 344 after).
    #[test]
    fn a_certificate_stays_compact() {
        let size = std::mem::size_of::<crate::report::Certificate>();
        assert!(size <= 344, "Certificate grew to {size} bytes");
    }
}
