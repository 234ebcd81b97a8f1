#!/usr/bin/env python3
"""Side-by-side: tokentrace's redactor vs Microsoft Presidio on the same labelled corpus.

Installs nothing. Run it with a Python that has `presidio-analyzer` (see README.md);
it runs the Rust example `redact_corpus` through cargo and Presidio in-process, scores
both the same way, and prints a table (and, with --json, writes both results).

Presidio runs with its pattern recognizers only: the analyzer gets Presidio's
`NoOpNlpEngine`, so no spaCy model is loaded (none can be downloaded here), and it is
asked only for the six entity types that map onto tokentrace's kinds. Presidio has no
recognizer for API keys or tokens, so its SECRET recall is 0 by construction.

Scoring (same as core/tests/support/corpus_score.rs): a PII sample counts as recalled
for kind K when every labelled K value is gone from the output and `[REDACTED:K]`
appears; a clean sample that changes at all is a false positive. Throughput is MB of
corpus text per CPU second, sample by sample, best of several passes.
"""

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "core", "tests", "data", "redaction_corpus.jsonl")
KINDS = ["EMAIL", "PHONE", "CARD", "SSN", "IBAN", "IP", "SECRET"]
PRESIDIO_TO_KIND = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CARD",
    "US_SSN": "SSN",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP",
}


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def score(samples, redact):
    per_kind = {k: [0, 0] for k in KINDS}
    clean_total = clean_changed = 0
    fp_notes, miss_notes = Counter(), Counter()
    for s in samples:
        out = redact(s["text"])
        if not s["kinds"]:
            clean_total += 1
            clean_changed += out != s["text"]
            fp_notes[s["note"]] += out != s["text"]
            continue
        for k in s["kinds"]:
            gone = all(v not in out for kk, v in s["values"] if kk == k)
            hit = gone and f"[REDACTED:{k}]" in out
            per_kind[k][1] += 1
            per_kind[k][0] += hit
            if not hit and k != "SECRET":
                miss_notes[f"{k}: {s['note']}"] += 1
    recalled = sum(r for r, _ in per_kind.values())
    total = sum(t for _, t in per_kind.values())
    return {
        "recall": {k: (r / t if t else 0.0) for k, (r, t) in per_kind.items()},
        "recalled_total": per_kind,
        "recall_all": recalled / total if total else 0.0,
        "clean_changed": clean_changed,
        "clean_total": clean_total,
        "fp_rate": clean_changed / clean_total if clean_total else 0.0,
        "top_false_positives": [[n, c] for n, c in fp_notes.most_common(8) if c],
        "top_misses": [[n, c] for n, c in miss_notes.most_common(8)],
    }


def presidio(samples, passes):
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from importlib.metadata import version

    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "no_op"}])
    nlp.load()
    engine = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
    entities = list(PRESIDIO_TO_KIND)

    def analyze(text):
        return engine.analyze(text=text, language="en", entities=entities)

    def redact(text):
        # Keep the longest, then highest-scoring, of overlapping results (what an
        # anonymizer would do), then replace right to left.
        results = sorted(analyze(text), key=lambda r: (r.start, -(r.end - r.start), -r.score))
        kept = []
        for r in results:
            if kept and r.start < kept[-1].end:
                continue
            kept.append(r)
        for r in reversed(kept):
            text = text[:r.start] + f"[REDACTED:{PRESIDIO_TO_KIND[r.entity_type]}]" + text[r.end:]
        return text

    analyze("warm-up: alice@example.com")  # first call loads the public-suffix snapshot
    result = score(samples, redact)
    nbytes = sum(len(s["text"].encode()) for s in samples)
    best = 0.0
    for _ in range(passes):
        t0 = time.process_time()
        for s in samples:
            analyze(s["text"])
        best = max(best, nbytes / 1e6 / (time.process_time() - t0))
    result["mb_per_s"] = {"per_sample": best}
    result["tool"] = f"presidio-analyzer {version('presidio-analyzer')} (pattern recognizers, NoOpNlpEngine, default score threshold)"
    return result


def tokentrace(corpus):
    cmd = ["cargo", "run", "--quiet", "--release", "-p", "tokentrace-core", "--example", "redact_corpus", "--", corpus]
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    result["tool"] = "tokentrace redact (Rust)"
    return result


def fmt_pct(x):
    return f"{100 * x:6.1f}%"


def ratio(a, b):
    if b == 0:
        return "   n/a" if a == 0 else "     ∞"
    return f"{a / b:6.2f}x"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=CORPUS)
    ap.add_argument("--passes", type=int, default=2, help="timed passes over the corpus for Presidio (best is kept)")
    ap.add_argument("--json", help="also write both results to this file")
    args = ap.parse_args()

    samples = load(args.corpus)
    n_pii = sum(1 for s in samples if s["kinds"])
    print(f"corpus: {args.corpus}\n  {n_pii} PII samples, {len(samples) - n_pii} clean look-alikes, "
          f"{sum(len(s['text'].encode()) for s in samples)} bytes", file=sys.stderr)
    tt = tokentrace(args.corpus)
    pr = presidio(samples, args.passes)

    rows = [("recall " + k, tt["recall"][k], pr["recall"][k]) for k in KINDS]
    rows.append(("recall, all kinds", tt["recall_all"], pr["recall_all"]))
    print(f"\n{'':24} {'tokentrace':>12} {'Presidio':>12} {'ratio':>8}")
    for label, a, b in rows:
        print(f"{label:24} {fmt_pct(a):>12} {fmt_pct(b):>12} {ratio(a, b):>8}")
    print(f"{'false positives (clean)':24} {fmt_pct(tt['fp_rate']):>12} {fmt_pct(pr['fp_rate']):>12} "
          f"{ratio(tt['fp_rate'], pr['fp_rate']):>8}   ({tt['clean_changed']} vs {pr['clean_changed']} of {tt['clean_total']})")
    a, b = tt["mb_per_s"]["per_sample"], pr["mb_per_s"]["per_sample"]
    print(f"{'MB/s, one core':24} {a:12.2f} {b:12.3f} {ratio(a, b):>8}   (per sample, CPU time)")
    print(f"{'':24} {tt['mb_per_s']['concatenated']:12.2f} {'':>12}            (tokentrace, whole corpus as one 32 MiB text)")
    print(f"{'':24} {tt['mb_per_s']['clean_concatenated']:12.2f} {'':>12}            (tokentrace, clean samples only, 32 MiB)")
    print(f"\ntokentrace: {tt['tool']}\nPresidio:   {pr['tool']}")
    print("\nPresidio's most frequent false positives (clean samples changed, by corpus note):")
    for n, c in pr["top_false_positives"]:
        print(f"  {c:4d}  {n}")
    print("Presidio's most frequent misses (SECRET aside):")
    for n, c in pr["top_misses"]:
        print(f"  {c:4d}  {n}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"tokentrace": tt, "presidio": pr}, f, indent=2)


if __name__ == "__main__":
    main()
