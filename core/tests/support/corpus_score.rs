//! Scoring shared by the corpus test and the `redact_corpus` example (and
//! mirrored by `bench/redaction/compare.py` for Presidio).
//!
//! A PII sample counts as recalled for kind K when every labelled K value is
//! gone from the output and `[REDACTED:K]` appears in it. A clean sample that
//! comes back changed in any way is a false positive.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub struct Sample {
    pub id: String,
    pub text: String,
    pub kinds: Vec<String>,
    pub values: Vec<(String, String)>,
    pub note: String,
}

pub fn corpus_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/redaction_corpus.jsonl")
}

pub fn load(path: &Path) -> Vec<Sample> {
    let data =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    data.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("bad corpus line {l}: {e}"));
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            let kinds = v["kinds"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|k| k.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let values = v["values"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| {
                            Some((p[0].as_str()?.to_string(), p[1].as_str()?.to_string()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            Sample {
                id: s("id"),
                text: s("text"),
                kinds,
                values,
                note: s("note"),
            }
        })
        .collect()
}

#[derive(Default)]
pub struct Score {
    /// kind -> (recalled, total)
    pub per_kind: BTreeMap<String, (usize, usize)>,
    pub clean_total: usize,
    pub clean_changed: usize,
    pub misses: Vec<String>,
    pub false_positives: Vec<String>,
}

impl Score {
    pub fn recall(&self, kind: &str) -> f64 {
        self.per_kind.get(kind).map_or(
            0.0,
            |&(r, t)| if t == 0 { 0.0 } else { r as f64 / t as f64 },
        )
    }

    pub fn recall_all(&self) -> f64 {
        let (r, t) = self
            .per_kind
            .values()
            .fold((0, 0), |(a, b), &(r, t)| (a + r, b + t));
        if t == 0 { 0.0 } else { r as f64 / t as f64 }
    }

    pub fn fp_rate(&self) -> f64 {
        if self.clean_total == 0 {
            0.0
        } else {
            self.clean_changed as f64 / self.clean_total as f64
        }
    }
}

pub fn score(samples: &[Sample], mut redact: impl FnMut(&str) -> String) -> Score {
    let mut sc = Score::default();
    for s in samples {
        let out = redact(&s.text);
        if s.kinds.is_empty() {
            sc.clean_total += 1;
            if out != s.text {
                sc.clean_changed += 1;
                sc.false_positives.push(format!(
                    "{} [{}]\n    in:  {:?}\n    out: {:?}",
                    s.id, s.note, s.text, out
                ));
            }
            continue;
        }
        for kind in &s.kinds {
            let marker = format!("[REDACTED:{kind}]");
            let gone = s
                .values
                .iter()
                .filter(|(k, _)| k == kind)
                .all(|(_, v)| !out.contains(v.as_str()));
            let ok = gone && out.contains(&marker);
            let e = sc.per_kind.entry(kind.clone()).or_default();
            e.1 += 1;
            if ok {
                e.0 += 1;
            } else {
                sc.misses.push(format!(
                    "{} {kind} [{}]\n    in:  {:?}\n    out: {:?}",
                    s.id, s.note, s.text, out
                ));
            }
        }
    }
    sc
}

pub fn table(sc: &Score) -> String {
    let mut t = String::from("kind     recalled/total  recall\n");
    for (k, &(r, n)) in &sc.per_kind {
        t += &format!(
            "{k:<8} {r:>7}/{n:<7} {:>6.2}%\n",
            100.0 * r as f64 / n.max(1) as f64
        );
    }
    t += &format!("ALL      {:>15} {:>6.2}%\n", "", 100.0 * sc.recall_all());
    t += &format!(
        "clean    {:>7}/{:<7} {:>6.2}% changed (false positives)\n",
        sc.clean_changed,
        sc.clean_total,
        100.0 * sc.fp_rate()
    );
    t
}
