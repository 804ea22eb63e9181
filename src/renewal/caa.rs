//! RFC 8659's decision, pure: does the relevant CAA set let Amazon issue for a name?

/// The issuer domains Amazon's CAs accept in CAA (ACM's documentation lists all four).
pub const AMAZON_ISSUERS: [&str; 4] = [
    "amazon.com",
    "amazontrust.com",
    "awstrust.com",
    "amazonaws.com",
];

/// Property tags a CA may meet in a CAA set without refusing (RFC 8659 and its registry):
/// any other tag with the critical flag forbids issuance by a CA that does not know it.
const KNOWN_TAGS: [&str; 7] = [
    "issue",
    "issuewild",
    "iodef",
    "issuemail",
    "issuevmc",
    "contactemail",
    "contactphone",
];

/// One CAA record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub critical: bool,
    /// As published; tags are compared without case.
    pub tag: String,
    pub value: String,
}

impl Entry {
    fn tag_is(&self, tag: &str) -> bool {
        self.tag.eq_ignore_ascii_case(tag)
    }

    /// The issuer domain of an `issue`/`issuewild` value: what comes before any `;`, without
    /// case or a trailing dot. Empty for `";"` (no CA may issue).
    fn issuer(&self) -> String {
        let domain = self.value.split(';').next().unwrap_or_default().trim();
        domain.trim_end_matches('.').to_ascii_lowercase()
    }

    /// "0 issue \"letsencrypt.org\"", as a zone file writes it.
    pub fn presentation(&self) -> String {
        format!(
            "{} {} \"{}\"",
            if self.critical { 128 } else { 0 },
            self.tag,
            self.value.replace('\\', "\\\\").replace('"', "\\\"")
        )
    }
}

/// Why the relevant set (found at `holder`) forbids Amazon to issue for a name, or None when
/// it allows it. `wildcard`: the name is `*.x`, judged by `issuewild` when the set has one.
pub fn forbids_amazon(entries: &[Entry], wildcard: bool) -> Option<String> {
    if let Some(unknown) = entries
        .iter()
        .find(|e| e.critical && !KNOWN_TAGS.iter().any(|t| e.tag_is(t)))
    {
        return Some(format!(
            "an unknown tag marked critical ({}) forbids every CA that does not know it",
            unknown.presentation()
        ));
    }
    let issuewild: Vec<&Entry> = entries.iter().filter(|e| e.tag_is("issuewild")).collect();
    let relevant: Vec<&Entry> = if wildcard && !issuewild.is_empty() {
        issuewild
    } else {
        entries.iter().filter(|e| e.tag_is("issue")).collect()
    };
    if relevant.is_empty() {
        // No issue property: the set restricts nothing (iodef, contactemail…).
        return None;
    }
    if relevant
        .iter()
        .any(|e| AMAZON_ISSUERS.contains(&e.issuer().as_str()))
    {
        return None;
    }
    let values: Vec<String> = relevant.iter().map(|e| e.presentation()).collect();
    Some(format!("allows only {}", values.join(", ")))
}

/// The names to ask, in order, for the CAA set relevant to `name` (RFC 8659 §3): the name
/// itself (for `*.x`, `x`), then each parent, down to the top-level domain.
pub fn climb(name: &str) -> Vec<String> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let name = name.strip_prefix("*.").unwrap_or(&name);
    let labels: Vec<&str> = name.split('.').filter(|l| !l.is_empty()).collect();
    (0..labels.len())
        .map(|i| format!("{}.", labels[i..].join(".")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(critical: bool, tag: &str, value: &str) -> Entry {
        Entry {
            critical,
            tag: tag.into(),
            value: value.into(),
        }
    }

    #[test]
    fn an_issue_set_without_amazon_forbids_it_and_names_what_it_allows() {
        let set = [entry(false, "issue", "letsencrypt.org")];
        assert_eq!(
            forbids_amazon(&set, false).as_deref(),
            Some("allows only 0 issue \"letsencrypt.org\"")
        );
        let with_amazon = [
            entry(false, "issue", "letsencrypt.org"),
            entry(false, "ISSUE", "Amazon.com."),
        ];
        assert_eq!(forbids_amazon(&with_amazon, false), None);
        for issuer in AMAZON_ISSUERS {
            assert_eq!(
                forbids_amazon(&[entry(false, "issue", issuer)], false),
                None
            );
        }
        let with_parameters = [entry(
            false,
            "issue",
            "amazon.com; cansignhttpexchanges=yes",
        )];
        assert_eq!(forbids_amazon(&with_parameters, false), None);
    }

    #[test]
    fn issue_semicolon_forbids_every_ca() {
        assert!(forbids_amazon(&[entry(false, "issue", ";")], false).is_some());
    }

    #[test]
    fn issuewild_decides_for_wildcards_and_issue_when_there_is_none() {
        let set = [
            entry(false, "issue", "amazon.com"),
            entry(false, "issuewild", "letsencrypt.org"),
        ];
        assert_eq!(forbids_amazon(&set, false), None);
        assert!(forbids_amazon(&set, true).is_some());
        let no_wild = [entry(false, "issue", "amazon.com")];
        assert_eq!(forbids_amazon(&no_wild, true), None);
        // issuewild never restricts a name that is not a wildcard.
        let only_wild = [entry(false, "issuewild", ";")];
        assert_eq!(forbids_amazon(&only_wild, false), None);
        assert!(forbids_amazon(&only_wild, true).is_some());
    }

    #[test]
    fn a_critical_unknown_tag_forbids_and_a_critical_known_one_does_not() {
        let unknown = [
            entry(false, "issue", "amazon.com"),
            entry(true, "tbs", "unknown"),
        ];
        assert!(forbids_amazon(&unknown, false)
            .unwrap()
            .contains("unknown tag marked critical"));
        let known = [
            entry(true, "issue", "amazon.com"),
            entry(true, "iodef", "mailto:security@example.com"),
        ];
        assert_eq!(forbids_amazon(&known, false), None);
        let not_critical = [entry(false, "tbs", "x")];
        assert_eq!(forbids_amazon(&not_critical, false), None);
    }

    #[test]
    fn the_climb_starts_at_the_name_and_ends_at_the_top_level_domain() {
        assert_eq!(
            climb("*.Shop.Example.com."),
            ["shop.example.com.", "example.com.", "com."]
        );
        assert_eq!(climb("example"), ["example."]);
    }
}
