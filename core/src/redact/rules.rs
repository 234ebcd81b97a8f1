//! Custom rules: extra regexes with a label, checked once per text through a
//! `RegexSet` so that rules that do not match cost a single shared pass.

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::RedactError;

/// Compiled regex size cap: a rule is configuration, not a workload.
const SIZE_LIMIT: usize = 4 << 20;

#[derive(Debug, Clone)]
pub(crate) struct CustomRules {
    set: RegexSet,
    rules: Vec<Regex>,
    markers: Vec<String>,
}

/// Labels appear inside `[REDACTED:LABEL]`, so keep them short and plain.
fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() || label.len() > 40 {
        return Err("must be 1 to 40 characters".into());
    }
    if !label
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    {
        return Err("may contain only ASCII letters, digits, '_' and '-'".into());
    }
    Ok(())
}

impl CustomRules {
    /// `None` when there are no rules.
    pub(crate) fn new(rules: &[(String, String)]) -> Result<Option<Self>, RedactError> {
        if rules.is_empty() {
            return Ok(None);
        }
        let mut compiled = Vec::with_capacity(rules.len());
        for (index, (label, pattern)) in rules.iter().enumerate() {
            let err = |reason: String| RedactError::InvalidCustomRule {
                index,
                label: label.clone(),
                reason,
            };
            check_label(label).map_err(|r| err(format!("label {r}")))?;
            let re = RegexBuilder::new(pattern)
                .size_limit(SIZE_LIMIT)
                .build()
                .map_err(|e| err(format!("invalid regex: {e}")))?;
            if re.is_match("") {
                return Err(err("regex matches the empty string".into()));
            }
            compiled.push(re);
        }
        let set = RegexSetBuilder::new(rules.iter().map(|(_, p)| p))
            .size_limit(SIZE_LIMIT * rules.len().max(1))
            .build()
            .map_err(|e| RedactError::InvalidCustomRule {
                index: 0,
                label: String::new(),
                reason: format!("rules do not combine into one set: {e}"),
            })?;
        Ok(Some(CustomRules {
            set,
            rules: compiled,
            markers: rules
                .iter()
                .map(|(l, _)| format!("[REDACTED:{l}]"))
                .collect(),
        }))
    }

    pub(crate) fn marker(&self, index: usize) -> &str {
        self.markers.get(index).map_or("[REDACTED]", String::as_str)
    }

    /// Calls `out(rule_index, start, end)` for each non-empty match.
    pub(crate) fn scan(&self, text: &str, out: &mut impl FnMut(usize, usize, usize)) {
        let hits = self.set.matches(text);
        if !hits.matched_any() {
            return;
        }
        for index in hits.iter() {
            for m in self.rules[index].find_iter(text) {
                if !m.is_empty() {
                    out(index, m.start(), m.end());
                }
            }
        }
    }
}
