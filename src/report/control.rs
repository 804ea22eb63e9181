//! The control-character rule, defined once for every place AWS text reaches people: the
//! table, stderr, the SNS subject and body, the Security Hub title and description. Anyone
//! who can import, tag or name something in a member account writes some of that text.

use std::borrow::Cow;

/// Whether `c` must never reach a terminal or a message as it is. Control characters:
/// escape sequences that clear the screen or retitle the window, bells, and line breaks that
/// tear a table or forge a line in a message. And the bidirectional controls (U+202A–U+202E,
/// U+2066–U+2069, U+200E, U+200F, U+061C): they reorder the text after them, so a name can
/// show one domain while it holds another.
pub fn is_control_character(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        )
}

/// Text from AWS made safe to show: every control character (as `is_control_character`
/// says) becomes U+FFFD, so the reader sees that something was there.
pub fn printable(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_control_character) {
        text.chars()
            .map(|c| {
                if is_control_character(c) {
                    '\u{FFFD}'
                } else {
                    c
                }
            })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_are_control_characters_like_escapes_and_line_breaks() {
        let bidi = [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ];
        for c in bidi
            .into_iter()
            .chain(['\u{1b}', '\n', '\r', '\u{7}', '\u{85}'])
        {
            assert!(is_control_character(c), "U+{:04X}", c as u32);
        }
        for c in ['a', 'é', '\u{FFFD}', '\u{200D}', '…', '—'] {
            assert!(!is_control_character(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn printable_replaces_every_control_character_and_leaves_other_text_as_it_is() {
        assert_eq!(
            printable("www.\u{202E}gpj.exe\u{2066}x\u{1b}[2J\r\nFAKE"),
            "www.\u{FFFD}gpj.exe\u{FFFD}x\u{FFFD}[2J\u{FFFD}\u{FFFD}FAKE"
        );
        assert!(matches!(printable("ünïcode.example.com"), Cow::Borrowed(_)));
    }
}
