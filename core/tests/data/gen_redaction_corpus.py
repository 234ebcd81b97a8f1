#!/usr/bin/env python3
"""Generates redaction_corpus.jsonl: labelled PII-bearing samples and clean look-alikes.

Deterministic (fixed seed, stdlib only): `python3 gen_redaction_corpus.py` rewrites
the corpus byte for byte. Each line is
    {"id", "text", "kinds": [...], "values": [[KIND, value], ...], "note"}
where each value is written exactly as it appears in `text` (JSON-escaped when
the sample is a JSON-encoded message). Clean samples have no kinds: any change
to them is a false positive.

Samples are built from per-kind value generators (valid checksums, real formats)
placed in carriers seen in LLM traffic: chat prompts, JSON-encoded chat
messages, code, log lines, HTTP headers, config files. The hard cases that
other tools miss or flag (see shared/REFERENCE.md section 8) are written out by
hand at the end of each section.
"""

import argparse
import base64
import json
import os
import random
import string
import sys

SEED = 20251101
_ARGS = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_ARGS.add_argument("--seed", type=int, default=SEED, help="other seeds give a fresh held-out corpus")
_ARGS.add_argument("--out", help="output path (default: redaction_corpus.jsonl beside this script)")
ARGS = _ARGS.parse_args(sys.argv[1:])
R = random.Random(ARGS.seed)

FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj",
         "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yusuf", "zoe", "amara", "bjorn",
         "chen", "deepa", "emeka", "fatima", "giulia", "hiro", "ines", "jonas", "kavya", "lucas", "mei", "noor"]
LAST = ["smith", "jones", "garcia", "muller", "rossi", "tanaka", "kumar", "silva", "nguyen", "dubois", "kowalski",
        "okafor", "haddad", "larsen", "moreau", "schmidt", "patel", "ivanova", "costa", "walker"]
DOMAINS = ["example.com", "gmail.com", "outlook.com", "corp.io", "acme-industries.co.uk", "mail.university.edu",
           "startup.ai", "web.de", "orange.fr", "yahoo.co.jp", "bigcorp.com.br", "health-partners.org",
           "sub.mail.example.net", "proton.me", "company.in", "xn--bcher-kva.example"]


def pick(seq):
    return R.choice(seq)


def digits(n):
    return "".join(R.choice(string.digits) for _ in range(n))


def alnum(n, alphabet=string.ascii_letters + string.digits):
    return "".join(R.choice(alphabet) for _ in range(n))


def name():
    return pick(FIRST).capitalize() + " " + pick(LAST).capitalize()


# ---------------------------------------------------------------- value generators

def email():
    f, l = pick(FIRST), pick(LAST)
    local = pick([f"{f}.{l}", f"{f}{l[0]}", f"{f}_{l}{R.randint(1, 99)}", f"{f[0]}.{l}+{pick(['news', 'work', 'llm'])}",
                  f"{f}", f"{l}.{f}{R.randint(1970, 2005)}", f"{f.upper()}.{l.upper()}"])
    return f"{local}@{pick(DOMAINS)}"


def nanp():
    area = f"{R.randint(2, 9)}{R.randint(0, 8)}{R.randint(0, 9)}"
    exch = f"{R.randint(2, 9)}{digits(2)}"
    return area, exch, digits(4)


def phone():
    """(formatted phone, country note)."""
    c = R.randrange(13)
    if c == 0:
        a, e, s = nanp()
        return pick([f"({a}) {e}-{s}", f"{a}-{e}-{s}", f"{a}.{e}.{s}", f"+1 {a} {e} {s}", f"+1-{a}-{e}-{s}",
                     f"1-{a}-{e}-{s}", f"+1 ({a}) {e}-{s}", f"+1{a}{e}{s}", f"{a} {e} {s}", f"1 ({a}) {e}-{s}"]), "US/CA"
    if c == 1:
        return pick([f"+44 20 {digits(4)} {digits(4)}", f"020 {digits(4)} {digits(4)}", f"07{digits(3)} {digits(6)}",
                     f"+44 7{digits(3)} {digits(6)}", f"+44 (0)20 {digits(4)} {digits(4)}", f"0161 {digits(3)} {digits(4)}",
                     f"+44 161 {digits(3)} {digits(4)}"]), "UK"
    if c == 2:
        return pick([f"+49 30 {digits(8)}", f"030 {digits(8)}", f"0151 {digits(8)}", f"+49 151 {digits(8)}",
                     f"089/{digits(7)}", f"(030) {digits(7)}", f"+49 (0)89 {digits(7)}", f"0171-{digits(7)}"]), "DE"
    if c == 3:
        p = lambda: " ".join(digits(2) for _ in range(4))
        return pick([f"0{R.randint(1, 9)} {p()}", f"+33 {R.randint(1, 9)} {p()}",
                     f"0{R.randint(6, 7)}.{digits(2)}.{digits(2)}.{digits(2)}.{digits(2)}",
                     f"+33 (0){R.randint(1, 9)} {p()}"]), "FR"
    if c == 4:
        m = f"{R.randint(6, 9)}{digits(4)}"
        return pick([f"+91 {m} {digits(5)}", f"{m} {digits(5)}", f"+91-{m}-{digits(5)}", f"0{m} {digits(5)}",
                     f"022 {digits(4)} {digits(4)}", f"+91 22 {digits(4)} {digits(4)}"]), "IN"
    if c == 5:
        ddd = f"{R.randint(1, 9)}{R.randint(1, 9)}"
        return pick([f"({ddd}) 9{digits(4)}-{digits(4)}", f"+55 {ddd} 9{digits(4)}-{digits(4)}",
                     f"+55 {ddd} {R.randint(2, 5)}{digits(3)}-{digits(4)}", f"{ddd} 9{digits(4)}-{digits(4)}",
                     f"({ddd}) {R.randint(2, 5)}{digits(3)}-{digits(4)}"]), "BR"
    if c == 6:
        return pick([f"03-{digits(4)}-{digits(4)}", f"090-{digits(4)}-{digits(4)}", f"+81 3-{digits(4)}-{digits(4)}",
                     f"+81 90 {digits(4)} {digits(4)}", f"06-{digits(4)}-{digits(4)}", f"080-{digits(4)}-{digits(4)}"]), "JP"
    if c == 7:
        return pick([f"(02) {digits(4)} {digits(4)}", f"04{digits(2)} {digits(3)} {digits(3)}", f"+61 2 {digits(4)} {digits(4)}",
                     f"+61 4{digits(2)} {digits(3)} {digits(3)}", f"(03) {digits(4)} {digits(4)}"]), "AU"
    if c == 8:
        return pick([f"+34 6{digits(2)} {digits(2)} {digits(2)} {digits(2)}", f"+39 06 {digits(4)} {digits(4)}",
                     f"+39 3{digits(2)} {digits(3)} {digits(4)}"]), "ES/IT"
    if c == 9:
        return pick([f"+31 6 {digits(8)}", f"06-{digits(8)}", f"+31 20 {digits(3)} {digits(4)}", f"020 {digits(3)} {digits(4)}"]), "NL"
    if c == 10:
        return pick([f"+86 13{R.randint(0, 9)} {digits(4)} {digits(4)}", f"13{R.randint(0, 9)} {digits(4)} {digits(4)}",
                     f"+82 10-{digits(4)}-{digits(4)}", f"010-{digits(4)}-{digits(4)}"]), "CN/KR"
    if c == 11:
        return pick([f"+52 55 {digits(4)} {digits(4)}", f"+65 {R.randint(6, 9)}{digits(3)} {digits(4)}",
                     f"+27 21 {digits(3)} {digits(4)}", f"+353 8{R.randint(3, 9)} {digits(3)} {digits(4)}",
                     f"+7 495 {digits(3)}-{digits(2)}-{digits(2)}", f"+46 8 {digits(3)} {digits(3)} {digits(2)}"]), "other"
    return f"00{pick(['44 20', '49 30', '33 1', '34 91'])} {digits(4)} {digits(4)}", "00-prefix"


def luhn_complete(prefix, length):
    body = prefix + digits(length - len(prefix) - 1)
    for d in string.digits:
        n = body + d
        s = 0
        for i, ch in enumerate(reversed(n)):
            v = int(ch)
            if i % 2:
                v *= 2
                if v > 9:
                    v -= 9
            s += v
        if s % 10 == 0:
            return n
    raise AssertionError


def luhn_break(n):
    last = int(n[-1])
    return n[:-1] + str((last + R.randint(1, 9)) % 10)


CARD_SCHEMES = [
    ("Visa", lambda: "4" + digits(R.choice([3, 5])), 16),
    ("Visa 13", lambda: "4" + digits(3), 13),
    ("Mastercard", lambda: str(R.randint(51, 55)), 16),
    ("Mastercard 2-series", lambda: str(R.randint(2221, 2720)), 16),
    ("Mastercard 2-series", lambda: str(R.randint(2221, 2720)), 16),
    ("Amex", lambda: R.choice(["34", "37"]), 15),
    ("Discover", lambda: R.choice(["6011", str(R.randint(644, 649)), "65"]), 16),
    ("JCB", lambda: str(R.randint(3528, 3589)), 16),
    ("Diners", lambda: R.choice(["36", "300", "305", "3095"]), 14),
    ("UnionPay", lambda: "62" + digits(2), R.choice([16, 19])),
    ("Maestro", lambda: R.choice(["5018", "5020", "5038", "6304", "6759", "6761"]), R.choice([12, 16, 19])),
    ("Mir", lambda: "220" + str(R.randint(0, 4)), 16),
]


def card_number():
    label, pfx, length = pick(CARD_SCHEMES)
    return luhn_complete(pfx(), length), label


def format_card(n):
    sep = pick([" ", " ", "-", ""])
    if not sep:
        return n
    if len(n) == 15:
        return sep.join([n[:4], n[4:10], n[10:]])
    if len(n) == 14:
        return sep.join([n[:4], n[4:10], n[10:]])
    return sep.join(n[i:i + 4] for i in range(0, len(n), 4))


def ssn_digits():
    while True:
        area = R.randint(1, 899)
        if area != 666:
            return f"{area:03d}{R.randint(1, 99):02d}{R.randint(1, 9999):04d}"


def ssn():
    d = ssn_digits()
    return pick([f"{d[:3]}-{d[3:5]}-{d[5:]}"] * 4 + [f"{d[:3]} {d[3:5]} {d[5:]}"])


IBAN_FORMATS = {  # country: BBAN pattern (n = digit, a = upper letter, c = alnum)
    "DE": "n" * 18, "GB": "aaaa" + "n" * 14, "FR": "n" * 10 + "c" * 11 + "nn", "ES": "n" * 20, "IT": "a" + "n" * 10 + "c" * 12,
    "NL": "aaaa" + "n" * 10, "BE": "n" * 12, "CH": "n" * 5 + "c" * 12, "AT": "n" * 16, "PL": "n" * 24, "PT": "n" * 21,
    "IE": "aaaa" + "n" * 14, "SE": "n" * 20, "NO": "n" * 11, "DK": "n" * 14, "FI": "n" * 14, "LU": "n" * 3 + "c" * 13,
    "BR": "n" * 23 + "a" + "c", "SA": "nn" + "c" * 18, "AE": "n" * 19, "TR": "n" * 5 + "0" + "c" * 16, "RO": "aaaa" + "c" * 16,
}


def mod97(s):
    n = "".join(str(int(ch, 36)) for ch in s)
    return int(n) % 97


def iban_compact():
    cc = pick(sorted(IBAN_FORMATS))
    bban = "".join({"n": R.choice(string.digits), "a": R.choice(string.ascii_uppercase),
                    "c": R.choice(string.ascii_uppercase + string.digits), "0": "0"}[p] for p in IBAN_FORMATS[cc])
    check = 98 - mod97(bban + cc + "00")
    return f"{cc}{check:02d}{bban}"


def iban():
    c = iban_compact()
    return pick([c, " ".join(c[i:i + 4] for i in range(0, len(c), 4)), " ".join(c[i:i + 4] for i in range(0, len(c), 4))])


def public_v4():
    while True:
        a = R.randint(1, 223)
        if a in (10, 127, 100, 169, 172, 192, 198, 0):
            continue
        return f"{a}.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}"


def ip():
    c = R.randrange(10)
    if c < 4:
        return public_v4(), "public v4"
    if c == 4:
        return pick(["192.0.2.", "198.51.100.", "203.0.113."]) + str(R.randint(1, 254)), "documentation v4"
    h = lambda: f"{R.randint(0, 0xffff):x}"
    if c == 5:
        return f"2001:db8:{h()}:{h()}::{h()}", "documentation v6"
    if c == 6:
        return ":".join([f"2{R.randint(0, 0xfff):03x}"] + [f"{R.randint(0, 0xffff):04x}" for _ in range(7)]), "full v6"
    if c == 7:
        return f"2{R.randint(0, 0xfff):03x}:{h()}:{h()}::{h()}", "compressed v6"
    if c == 8:
        return f"::ffff:{public_v4()}", "v4-mapped"
    return f"2a0{R.randint(0, 9)}:{h()}:{h()}:{h()}::{R.randint(1, 0xfff):x}", "compressed v6"


B64URL = string.ascii_letters + string.digits + "-_"


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwt():
    header = pick([{"alg": "HS256", "typ": "JWT"}, {"alg": "RS256", "kid": alnum(8)}, {"typ": "JWT", "alg": "ES256"}])
    payload = {"sub": str(R.randint(10 ** 5, 10 ** 9)), "name": name(), "iat": 1700000000 + R.randint(0, 10 ** 7),
               "scope": pick(["read", "read write", "admin"])}
    return (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
            b64url(json.dumps(payload, separators=(",", ":")).encode()) + "." + alnum(43, B64URL))


def pem():
    kind = pick(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY"])
    lines = [base64.b64encode(bytes(R.randrange(256) for _ in range(48))).decode() for _ in range(R.randint(3, 8))]
    return f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----"


def secret():
    """(secret string, note, context) where context is how it is usually written."""
    c = R.randrange(17)
    if c == 0:
        return "sk-" + alnum(48), "OpenAI legacy key"
    if c == 1:
        return "sk-proj-" + alnum(R.randint(100, 156), B64URL), "OpenAI project key"
    if c == 2:
        return "sk-svcacct-" + alnum(R.randint(100, 140), B64URL), "OpenAI service-account key"
    if c == 3:
        return "sk-ant-api03-" + alnum(93, B64URL) + "AA", "Anthropic key"
    if c == 4:
        return "AIza" + alnum(35, B64URL), "Google API key"
    if c == 5:
        return pick(["AKIA", "ASIA"]) + alnum(16, string.ascii_uppercase + "234567"), "AWS access key id"
    if c == 6:
        return pick(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]) + alnum(36), "GitHub token"
    if c == 7:
        return "github_pat_" + alnum(22) + "_" + alnum(59), "GitHub fine-grained PAT"
    if c == 8:
        return pick(["xoxb-", "xoxp-"]) + digits(12) + "-" + digits(13) + "-" + alnum(24), "Slack token"
    if c == 9:
        return pick(["sk_live_", "rk_live_", "sk_test_"]) + alnum(R.randint(24, 99)), "Stripe key"
    if c == 10:
        return jwt(), "JWT"
    if c == 11:
        return "hf_" + alnum(34), "Hugging Face token"
    if c == 12:
        return "glpat-" + alnum(20, B64URL), "GitLab PAT"
    if c == 13:
        return "sk-or-v1-" + "".join(R.choice("0123456789abcdef") for _ in range(64)), "OpenRouter key"
    if c == 14:
        return "xapp-1-" + alnum(11, string.ascii_uppercase + string.digits) + "-" + digits(13) + "-" + alnum(64, "0123456789abcdef"), "Slack app token"
    if c == 15:
        return "whsec_" + alnum(32), "Stripe webhook secret"
    return "sk-" + "".join(R.choice("0123456789abcdef") for _ in range(32)), "DeepSeek-style key"


def opaque_token(n=None):
    return alnum(n or R.randint(24, 48), string.ascii_letters + string.digits + "-._~")


def password():
    return pick(["hunter2", "Tr0ub4dor&3", "P@ssw0rd2024!", "s3cr3t-" + alnum(6), alnum(12) + "!" + digits(2),
                 "Winter2025#", "qwerty" + digits(3), alnum(20)])


# ---------------------------------------------------------------- carriers

def chat_json(content, role="user", double=False):
    """A chat message list as sent to a provider, serialized to JSON text."""
    msgs = [{"role": "system", "content": "You are a helpful assistant."}, {"role": role, "content": content}]
    text = json.dumps(msgs, ensure_ascii=False)
    if double:
        text = json.dumps({"gen_ai.input.messages": text}, ensure_ascii=False)
    return text


def esc(value, double=False):
    v = json.dumps(value, ensure_ascii=False)[1:-1]
    if double:
        v = json.dumps(v, ensure_ascii=False)[1:-1]
    return v


SAMPLES = []


def add(text, values, note):
    kinds = sorted({k for k, _ in values})
    for k, v in values:
        assert v in text, (k, v, text)
    SAMPLES.append({"text": text, "kinds": kinds, "values": [list(x) for x in values], "note": note})


def carry(kind, value, prose_templates, note):
    """Places one value in prose, or in a JSON-encoded chat message."""
    t = pick(prose_templates).format(v=value, n=name())
    if R.random() < 0.3:
        double = R.random() < 0.3
        add(chat_json(t, double=double), [(kind, esc(value, double))], note + (" in double-encoded JSON" if double else " in JSON chat message"))
    else:
        add(t, [(kind, value)], note)


# ---------------------------------------------------------------- PII samples

EMAIL_T = [
    "Hi, I'm {n}. You can email me at {v} if the draft needs changes.",
    "Please forward the invoice to {v} and cc finance.",
    "Contact: {v}",
    "Write a polite reply to {v} declining the meeting on Thursday.",
    "My login is {v} but the reset link never arrives.",
    "Summarize this thread.\nFrom: {n} <{v}>\nSubject: Q3 numbers",
    "mailto:{v}?subject=Support%20request",
    "Add {v} to the allowlist, then rerun the job.",
    "The customer ({v}) says the export at 10:30 failed.",
    "send it to {v}, thanks!",
]
for _ in range(80):
    carry("EMAIL", email(), EMAIL_T, "email")
for text, v, note in [
    ("Reach me at jane.doe@example.com at noon tomorrow.", "jane.doe@example.com", "'at' in prose next to a real address"),
    ('{"to": ["ops@startup.ai"], "body": "done"}', "ops@startup.ai", "address in JSON array"),
    ("log: user=<bob.smith@corp.io> action=login", "bob.smith@corp.io", "angle brackets in log"),
    ("Reply-To: \"Support\" <help+ticket-4471@acme-industries.co.uk>", "help+ticket-4471@acme-industries.co.uk", "plus tag and hyphenated domain"),
    ("WRITE TO JOHN.SMITH@EXAMPLE.ORG NOW", "JOHN.SMITH@EXAMPLE.ORG", "upper case"),
    ("Go strings escape it: \\u003calice@example.com\\u003e", "alice@example.com", "unicode-escaped angle brackets"),
    ("Accept the invite: https://app.example.com/invite?email=dana.k@corp.io&team=7", "dana.k@corp.io", "address in a URL query string"),
]:
    add(text, [("EMAIL", v)], note)

PHONE_T = [
    "Call me at {v} after 6pm.",
    "My number is {v}, text first please.",
    "Phone: {v}",
    "{n}\nSales Director\nTel. {v}",
    "Can you reformat this contact card? Name: {n}, mobile {v}",
    "If the courier can't find the house, they can ring {v}.",
    "Translate to German: 'Please reach our hotline on {v}.'",
    "Emergency contact — {n}, {v}.",
    "WhatsApp: {v}",
    "Leave a voicemail on {v} and I'll call back.",
]
for _ in range(120):
    v, country = phone()
    carry("PHONE", v, PHONE_T, f"phone {country}")
for text, v, note in [
    ("call me at 4155550123 tonight", "4155550123", "bare NANP number after a contact word"),
    ("Tel: 07700900123", "07700900123", "bare UK mobile after Tel"),
    ("whatsapp +447700900123 pls", "+447700900123", "E.164 without spaces"),
    ("Mein Handy: 0151 23456789", "0151 23456789", "German mobile"),
    ("Numéro: 01 42 68 53 00", "01 42 68 53 00", "French landline"),
    ("phone: (11) 91234-5678 (São Paulo)", "(11) 91234-5678", "Brazil mobile with area code"),
    ("電話番号は 03-1234-5678 です", "03-1234-5678", "Japanese text around a Tokyo number"),
    ("Bhai, mera number 98765 43210 hai", "98765 43210", "Indian mobile in Hinglish"),
    ('{"contact": {"phone": "+61 412 345 678"}}', "+61 412 345 678", "phone in nested JSON"),
    ("Office +1 (212) 555-0147 ext. 12", "+1 (212) 555-0147", "with extension"),
    ("Fax 0161 496 0000", "0161 496 0000", "UK fax"),
    ("Call\u00a001\u00a023\u00a045\u00a067\u00a089", "01\u00a023\u00a045\u00a067\u00a089", "no-break spaces (French typography)"),
]:
    add(text, [("PHONE", v)], note)

CARD_T = [
    "My card number is {v}, exp 09/27, CVC 123 — why was it declined?",
    "Charge {v} for the annual plan.",
    "Card: {v}",
    "I typed {v} into checkout and got error 402.",
    "Refund the payment made with card {v} please.",
    "Customer {n} paid with {v} on the 3rd.",
    "Update billing: new card {v}, same address.",
    "Is {v} a valid card number?",
]
for _ in range(75):
    n, scheme = card_number()
    carry("CARD", format_card(n), CARD_T, f"card {scheme}")
for text, v, note in [
    ("Mastercard 2221 0000 0000 0009 was rejected", "2221 0000 0000 0009", "Mastercard 2-series low end"),
    ("card=2720-9927-2099-2729 status=declined", "2720-9927-2099-2729", "Mastercard 2-series high end in a log"),
    ('{"payment_method": {"number": "378282246310005", "brand": "amex"}}', "378282246310005", "Amex in JSON"),
    ("Diners 3056 930902 5904 exp 12/26", "3056 930902 5904", "Diners 4-6-4"),
    ("test with 4111-1111-1111-1111 first", "4111-1111-1111-1111", "dashed Visa"),
]:
    add(text, [("CARD", v)], note)

SSN_T = [
    "My SSN is {v}, do I need it for the W-4?",
    "SSN: {v}",
    "Social security number {v} — fill in box 3.",
    "Applicant: {n}, SSN {v}, DOB 04/12/1985",
    "Verify identity for {n} (ssn {v}).",
    "Please redact {v} before sharing this tax form.",
]
for _ in range(45):
    carry("SSN", ssn(), SSN_T, "US SSN")
for text, v, note in [
    ("The famous wallet-card SSN 078-05-1120 is still used by people.", "078-05-1120", "well-known SSN"),
    ("ssn 219-09-9999 appears in old ads", "219-09-9999", "well-known SSN"),
    ("SSN 123456789", "123456789", "bare nine digits after SSN"),
    ('{"applicant": {"ssn": "536-22-8012"}}', "536-22-8012", "SSN in JSON"),
    ("social security: 401 23 7781", "401 23 7781", "spaced SSN"),
]:
    add(text, [("SSN", v)], note)

IBAN_T = [
    "Please wire the deposit to IBAN {v} (account holder {n}).",
    "IBAN: {v}",
    "Bank details — {n}, {v}, BIC DEUTDEFF",
    "Can you check if {v} is a valid IBAN?",
    "Refund to {v} please, reference INV-2231.",
    "Überweisung an {v} bis Freitag.",
]
for _ in range(55):
    carry("IBAN", iban(), IBAN_T, "IBAN")
for text, v, note in [
    ("IBAN DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00", "textbook German IBAN"),
    ("iban=GB82WEST12345698765432&amount=100", "GB82WEST12345698765432", "IBAN in a query string"),
    ("Norway is short: NO93 8601 1117 947", "NO93 8601 1117 947", "shortest IBAN (15)"),
    ("lowercase: gb82 west 1234 5698 7654 32", "gb82 west 1234 5698 7654 32", "lower-case IBAN"),
]:
    add(text, [("IBAN", v)], note)

IP_T = [
    "Why can't I SSH into {v}? It times out.",
    "Block {v} in the firewall, it's hammering the login page.",
    "2025-03-14T10:22:31Z WARN rate limited client={v} path=/v1/chat/completions",
    "The request came from {v} at noon.",
    "nginx: {v} - - [14/Mar/2025:10:22:31 +0000] \"POST /api HTTP/1.1\" 429",
    "Geolocate this address: {v}",
    "X-Forwarded-For: {v}",
    "Our office egress IP is {v}; add it to the allowlist.",
]
for _ in range(65):
    v, note = ip()
    carry("IP", v, IP_T, f"IP {note}")
for text, v, note in [
    ("connect to [2001:db8::42]:8443 for the staging API", "2001:db8::42", "bracketed v6 with port"),
    ("peer 198.51.100.7:51234 closed the stream", "198.51.100.7", "v4 with port"),
    ("allow 203.0.113.0/24 in the security group", "203.0.113.0", "CIDR"),
    ("client ::ffff:192.0.2.128 connected", "::ffff:192.0.2.128", "v4-mapped doc address"),
    ("192.0.2.44 at noon sent 3 requests", "192.0.2.44", "IP followed by 'at' (scrubadub read it as e-mail)"),
    ("resolver 2606:4700:4700::1111 answered", "2606:4700:4700::1111", "public resolver v6"),
]:
    add(text, [("IP", v)], note)

# Secrets, in the carriers where they leak.
SECRET_T = [
    "Here's my key {v}, why does the API return 401?",
    "OPENAI_API_KEY={v}",
    "export API_TOKEN=\"{v}\"",
    "client = OpenAI(api_key=\"{v}\")",
    "const client = new Anthropic({{ apiKey: '{v}' }});",
    "curl https://api.example.com/v1/models -H \"Authorization: Bearer {v}\"",
    "2025-01-07 12:00:01 ERROR auth failed for key {v}",
    "token: {v}",
    "I accidentally committed {v} to the repo, how do I rotate it?",
    "config.yaml:\n  provider:\n    key: {v}\n    region: eu-west-1",
]
for _ in range(150):
    v, note = secret()
    t = pick(SECRET_T).format(v=v)
    if R.random() < 0.3:
        double = R.random() < 0.3
        add(chat_json(t, double=double), [("SECRET", esc(v, double))], note + " in JSON chat message")
    else:
        add(t, [("SECRET", v)], note)

for _ in range(12):
    p = pem()
    r = R.randrange(3)
    if r == 0:
        add(f"Why does ssh reject this key?\n{p}", [("SECRET", p)], "PEM private key in prompt")
    elif r == 1:
        t = json.dumps({"type": "service_account", "project_id": "demo-123", "private_key": p + "\n"})
        add(t, [("SECRET", esc(p))], "PEM in JSON with \\n escapes (service account)")
    else:
        t = chat_json(f"Deploy with this key:\n{p}", double=R.random() < 0.5)
        double = t.startswith('{"gen_ai')
        add(t, [("SECRET", esc(p, double))], "PEM in JSON-encoded chat message")

for _ in range(10):
    tok = opaque_token()
    t = pick(["Authorization: Bearer {v}", "curl -H 'Authorization: Bearer {v}' https://api.example.com",
              'headers = {{"Authorization": "Bearer {v}"}}', "GET /v1/me HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer {v}\r\n"]).format(v=tok)
    add(t, [("SECRET", tok)], "opaque Bearer token")
for _ in range(8):
    k = alnum(40, string.ascii_letters + string.digits + "/+")
    t = pick(["aws_secret_access_key = {v}", "AWS_SECRET_ACCESS_KEY={v}", '{{"SecretAccessKey": "{v}"}}',
              "[default]\naws_access_key_id = AKIA" + alnum(16, string.ascii_uppercase + "234567") + "\naws_secret_access_key = {v}"]).format(v=k)
    add(t, [("SECRET", k)], "AWS secret access key in context")
for _ in range(14):
    pw = password()
    t = pick(["password={v}", 'db.connect(user="app", password="{v}")', '{{"username": "bob", "password": "{v}"}}',
              "DB_PASSWORD={v}", "login failed user=admin password={v} ip=10.0.0.4", "client_secret: {v}",
              "Set-Cookie: session={v}; Path=/; HttpOnly", 'requests.get(url, headers={{"X-Api-Key": "{v}"}})']).format(v=pw)
    add(t, [("SECRET", pw)], "credential next to its name")
for _ in range(6):
    pw = "pw" + alnum(10)
    t = pick(["postgres://app:{v}@db.internal:5432/prod", "DATABASE_URL=mysql://root:{v}@127.0.0.1/app",
              "redis://default:{v}@cache.example.com:6379"]).format(v=pw)
    add(t, [("SECRET", pw)], "password in a connection URL")
for _ in range(5):
    path = f"T{alnum(8, string.ascii_uppercase + string.digits)}/B{alnum(8, string.ascii_uppercase + string.digits)}/{alnum(24)}"
    add(f"post alerts to https://hooks.slack.com/services/{path}", [("SECRET", path)], "Slack webhook URL")
PROJ_KEY_1 = "sk-proj-" + alnum(120, B64URL)
PROJ_KEY_2 = "sk-proj-" + alnum(132, B64URL)
for text, v, note in [
    ('{"role": "user", "content": "my key is \\"' + PROJ_KEY_1 + '\\" pls help"}', PROJ_KEY_1, "key inside escaped quotes in JSON"),
    (PROJ_KEY_2, PROJ_KEY_2, "bare sk-proj key (Logfire passes it)"),
    ("GET /maps/api/geocode/json?address=Berlin&key=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY HTTP/1.1",
     "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "Google key in a URL"),
    ("AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "AWS documentation key id"),
    ("jwt=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
     "jwt.io example: all three segments"),
    ("Authorization: Basic dXNlcjpjb3JyZWN0IGhvcnNlIGJhdHRlcnkgc3RhcGxl", "dXNlcjpjb3JyZWN0IGhvcnNlIGJhdHRlcnkgc3RhcGxl", "Basic credentials header"),
    ("DSN: postgresql://svc_user:Xk9#mP2$vL@prod-db.internal:5432/orders", "Xk9#mP2$vL", "raw DSN password with # and $"),
]:
    add(text, [("SECRET", v)], note)

# Two kinds in one text.
for _ in range(40):
    gens = {"EMAIL": lambda: email(), "PHONE": lambda: phone()[0], "CARD": lambda: format_card(card_number()[0]),
            "SSN": ssn, "IBAN": iban, "IP": lambda: ip()[0], "SECRET": lambda: secret()[0]}
    k1, k2 = R.sample(sorted(gens), 2)
    v1, v2 = gens[k1](), gens[k2]()
    t = pick([
        "Ticket from {n}: '{a}' — also they pasted {b} by mistake.",
        "{a}\n{b}",
        "user says: my details are {a} and {b}, please update the CRM",
        "2025-02-02T08:15:00Z INFO request details a={a} b={b}",
    ]).format(n=name(), a=v1, b=v2)
    if R.random() < 0.3:
        add(chat_json(t), [(k1, esc(v1)), (k2, esc(v2))], f"{k1} + {k2} in JSON chat message")
    else:
        add(t, [(k1, v1), (k2, v2)], f"{k1} + {k2}")

N_PII = len(SAMPLES)

# ---------------------------------------------------------------- clean look-alikes


def clean(text, note):
    SAMPLES.append({"text": text, "kinds": [], "values": [], "note": note})


def hexs(n):
    return "".join(R.choice("0123456789abcdef") for _ in range(n))


def uuid4():
    h = hexs(32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{R.choice('89ab')}{h[17:20]}-{h[20:]}"


MODELS = ["gpt-4.1-2025-04-14", "gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "claude-3-5-sonnet-20241022",
          "claude-sonnet-4-20250514", "claude-3-haiku-20240307", "o3-mini-2025-01-31", "gemini-1.5-pro-002",
          "mistral-large-2411", "gpt-3.5-turbo-0125", "o1-2024-12-17", "claude-opus-4-1-20250805"]

for m in MODELS:
    clean(f"Switch the default model to {m} and rerun the eval.", "dated model name")
    clean(json.dumps({"model": m, "max_tokens": R.choice([256, 1024, 4096]), "temperature": 0.2}), "request body with dated model")

for _ in range(30):
    ts = R.randint(1_600_000_000, 1_760_000_000)
    clean(pick([f"created={ts}", f'"created": {ts},', f"The job started at unix time {ts} and took 42s.",
                f"ts={ts * 1000} level=info msg=\"flushed 512 spans\"", f"epoch {ts}", f"timestamp: {ts}"]), "unix timestamp")
for _ in range(25):
    clean(pick([f"Order #{digits(3)}-{digits(7)}-{digits(7)} has shipped.", f"Your order {R.randint(10 ** 9, 10 ** 10 - 1)} is on its way.",
                f"Order number: {digits(3)}-{digits(3)}-{digits(4)}", f"Tracking number 1Z{alnum(6, string.ascii_uppercase + string.digits)}{digits(10)}",
                f"waybill {digits(10)} picked up", f"FedEx tracking {digits(4)} {digits(4)} {digits(4)}",
                f"USPS 9400 {digits(4)} {digits(4)} {digits(4)} {digits(4)} {digits(2)}", f"invoice INV-{R.randint(2019, 2025)}-{digits(5)}",
                f"ref {digits(3)}-{digits(3)}-{digits(4)}", f"case {digits(8)}"]), "order / tracking number")
ISBNS = ["0-306-40615-2", "978-0-306-40615-7", "0-19-852663-6", "978-3-16-148410-0", "1-56619-909-3", "99921-58-10-7",
         "0 306 40615 2", "9780306406157", "0306406152", "85-359-0277-5"]
for i in ISBNS:
    clean(f"Cite the book (ISBN {i}) in APA style.", "ISBN")
    clean(f"{pick(['The second edition', 'Paperback', 'This title'])}: {i}", "hyphenated ISBN without the word ISBN")
for _ in range(20):
    clean(pick([f"commit {hexs(40)}", f"Merge {hexs(7)} into main", f"git cherry-pick {hexs(12)}", f"sha256:{hexs(64)}",
                f"md5 {hexs(32)}", f"fixed in {hexs(40)[:10]}"]), "git SHA / hash")
for _ in range(20):
    clean(pick([f"trace_id={hexs(32)} span_id={hexs(16)}", f"traceparent: 00-{hexs(32)}-{hexs(16)}-01",
                f'{{"trace_id": "{hexs(32)}", "parent_span_id": "{hexs(16)}"}}', f"request-id: req_{alnum(24)}",
                f"x-request-id: {uuid4()}", f"id={uuid4()}", f"chatcmpl-{alnum(29)}", f"msg_{alnum(24)}"]), "trace id / request id / UUID")
for _ in range(20):
    raw = bytes(R.randrange(256) for _ in range(R.randint(24, 90)))
    clean(pick([f"data:image/png;base64,{base64.b64encode(raw).decode()}", f'"b64_json": "{base64.b64encode(raw).decode()}"',
                f"payload={base64.b64encode(json.dumps({'k': R.randint(1, 99), 'v': 'x'}).encode()).decode()}",
                f"Decode this base64: {base64.b64encode(raw).decode()}"]), "base64 blob")
for _ in range(20):
    clean(pick([f"Upgrade to v{R.randint(1, 30)}.{R.randint(0, 20)}.{R.randint(0, 9)} before Friday.", f"python 3.{R.randint(8, 13)}.{R.randint(0, 12)}",
                f"node v{R.randint(16, 22)}.{R.randint(0, 15)}.{R.randint(0, 5)}", f"Chrome/{R.randint(100, 130)}.0.{R.randint(1000, 6999)}.{R.randint(10, 200)}",
                f"Windows 10.0.{R.randint(17000, 22631)}.{R.randint(1, 3000)}", f"tokentrace==0.{R.randint(1, 9)}.{R.randint(0, 9)}",
                f"requires openssl >= 3.0.{R.randint(2, 14)}", f"bump version 2.{R.randint(0, 9)}.{R.randint(0, 9)}-rc.{R.randint(1, 5)}"]), "version string")
PRIVATE_IPS = ["10.0.0.1", "10.12.4.200", "192.168.1.1", "192.168.0.254", "172.16.0.10", "172.31.255.1", "127.0.0.1",
               "169.254.169.254", "fe80::1ff:fe23:4567:890a", "fd12:3456:789a::1", "::1", "0.0.0.0", "100.64.0.1", "fe80::1%eth0"]
for p in PRIVATE_IPS:
    clean(f"The service listens on {p}:8080 inside the VPC.", "private IP")
    clean(pick([f"ssh pi@{p}" if ":" not in p else f"ping6 {p}", f"gateway {p}", f"curl http://{p}/metrics"]), "private IP in a command")
for mask in ["255.255.255.0", "255.255.0.0", "255.255.255.192"]:
    clean(f"netmask {mask}", "subnet mask")
for _ in range(25):
    n16 = luhn_break(luhn_complete(pick(["4", "51", "2221", "6011", "37"]), 16))
    clean(pick([f"Card {format_card(n16)} was declined (typo?)", f"numbers: {n16}", f"ID {n16[:4]} {n16[4:8]} {n16[8:12]} {n16[12:]}"]),
          "16 digits that fail Luhn")
for _ in range(15):
    good = iban_compact()
    bad = good[:2] + f"{(int(good[2:4]) + R.randint(1, 50)) % 97 + 2:02d}" + good[4:]
    if mod97(bad[4:] + bad[:4]) == 1:
        continue
    clean(f"This IBAN fails validation: {' '.join(bad[i:i + 4] for i in range(0, len(bad), 4))}", "IBAN failing mod-97")
for s in ["666-12-3456", "000-12-3456", "123-00-4567", "123-45-0000", "912-34-5678"]:
    clean(f"Invalid SSN example {s} is rejected by the form.", "invalid SSN")
AT_PROSE = ["Meet me at noon at the cafe on 5th.", "The server at the edge restarted at 10:30.", "Look at this: 3 apples at 2 each.",
            "She works at Google as an SRE.", "I'm at the airport, boarding at gate 22.", "at least 12 characters, at most 64",
            "arrive at 9, leave at 5", "He's good at Rust and at Go."]
for p in AT_PROSE:
    clean(p, "'at' in prose")
PLACEHOLDERS = [
    'client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])', "export OPENAI_API_KEY=sk-...", 'api_key = "YOUR_API_KEY"',
    "Authorization: Bearer <token>", "Authorization: Bearer $TOKEN", 'headers = {"Authorization": f"Bearer {token}"}',
    "OPENAI_API_KEY=${OPENAI_API_KEY}", "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "Set ANTHROPIC_API_KEY to your key (sk-ant-...).",
    '{"api_key": "<your-api-key>"}', "password: ********", "token = get_token()", "client = OpenAI(api_key=api_key)",
    "AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX", "The Bearer token goes in the Authorization header.",
    "api_key: ${{ secrets.OPENAI_API_KEY }}", 'password = getpass.getpass("Password: ")', "token = request.headers.get('Authorization')",
    "stripe.api_key = settings.STRIPE_SECRET_KEY", "pk_live_51H8dYzLkdIwHu7ixabcdEfGh12345", "pk_test_TYooMQauvdEDq54NiTphI7jx",
    "Use a personal access token (it starts with ghp_).", "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
]
for p in PLACEHOLDERS:
    clean(p, "placeholder / variable, not a literal secret")
CONFIG = [
    '{"max_tokens": 1024, "temperature": 0.7, "top_p": 1}', '"usage": {"prompt_tokens": 1532, "completion_tokens": 211, "total_tokens": 1743}',
    "gen_ai.usage.input_tokens=1532 gen_ai.usage.output_tokens=211", "token_count: 4096", "max_tokens=512", "tokens: 128000",
    '{"token_type": "bearer", "expires_in": 3600}', "secretName: db-credentials", "kind: Secret", '{"secret": false, "public": true}',
    "The password must be at least 12 characters long.", "I'll keep it a secret between us.", "cookie_consent=accepted",
    "Token: a unit of text, roughly four characters of English.", "llm.token_count.prompt: 87", "tokenizer = tiktoken.get_encoding('o200k_base')",
    "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n-----END CERTIFICATE-----",
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEhK9u0fZ\n-----END PUBLIC KEY-----",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@laptop",
]
for c in CONFIG:
    clean(c, "config / usage / non-secret security words")
CODE = [
    "git clone git@github.com:open-telemetry/opentelemetry-rust.git", "npm install lodash@4.17.21 @types/node@20.11.5",
    "@app.route('/health')\ndef health():\n    return 'ok'", "std::vector<int> v; v.push_back(42);", "let x = u32::MAX; let y = Vec::<u8>::new();",
    "evens = nums[0::2]; odds = nums[1::2]", "arr[100::5]", "color: #ff8800; margin: 0 12px;", "ptr = 0x7fff5fbff8c8",
    "for i in range(1, 101): print(i * 3.14159)", "SELECT id, total FROM orders WHERE created_at > '2024-01-15 10:30:00' LIMIT 50;",
    "docker pull nginx@sha256:" + hexs(64), "mac 00:1a:2b:3c:4d:5e link up", "assert add(2, 2) == 4", "x = 1_000_000 + 2_500_000",
    "matrix = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]", "user@localhost", "ping localhost -c 4", "@mention the on-call in #incidents",
    "res.status(404).json({error: 'not found'})", "if (a::b == c) return;", "printf(\"%d items at %s\\n\", n, t);",
    "fn main() { println!(\"{}\", 1 + 2); }", "curl -s http://localhost:9090/api/v1/query?query=up", "uri = 'file:///tmp/x.json'",
]
for c in CODE:
    clean(c, "code")
DATES = ["2024-01-15", "15/01/2024", "01.02.2024", "Jan 15, 2024", "20240115", "2024-01-15T10:30:00+01:00", "15.01.2024 10:30",
         "10:30:45", "1:23:45", "2024/01/15", "Q3 2024", "FY2025", "12/31/2025 11:59 PM"]
for d in DATES:
    clean(f"The report is due {d}.", "date / time")
NUMS = ["The population grew from 8 045 311 447 to 8 118 835 999.", "Revenue was $1,234,567.89 (+12.5%).",
        "Coordinates: 37.7749, -122.4194", "Score: 3-1 after 90+4 minutes.", "ZIP 94105-1234", "Boston 02134-1234",
        "Room 1204, floor 12", "Pi is 3.14159 26535 89793 23846 26433", "| 2024 | 1234 | 5678 | 9012 |", "Batch 20240115-0042 done",
        "PO 4500012345", "Part no. 0451-2231-00", "Chapters 01 02 03 04 05 are done.",
        "Lottery numbers: 07 14 21 28 35", "Tabs at 04 08 12 16 20 columns", "The meeting ID is 845 2231 9904",
        "Build 2024.11.3 deployed to 3 regions in 14m 22s", "Invoice total: EUR 1.234,56 due 30.11.2024",
        "The Fibonacci sequence starts 1 1 2 3 5 8 13 21 34 55 89 144", "Give me ISBN-13 numbers like 978-1-4028-9462-6", "Serial: SN-2024-000123", "Flight LH 400 departs 10:35 from gate B44",
        "latency p50=120ms p99=1840ms over 10000 requests", "pid 48211 exited with code 137", "port 8443 closed",
        "1 234 567 890", "The answer is 42.", "Call 911 in an emergency.", "Dial 112 in Europe.", "Versions 1.2.3 and 1.2.4 differ.",
        "Ratio 16:9, resolution 1920x1080", "ISO 8601 and RFC 3339", "Room temperature 21.5°C", "+20% since last year",
        "Lat/long 48.8566 2.3522", "SKU 123-456-7890", "Account ID 123456789012", "GTIN 00012345678905", "Amazon order 113-4567890-1234567"]
for n_ in NUMS:
    clean(n_, "numbers")
LOG_T = [
    "{ts} INFO  worker-{w} flushed {n} spans in {ms}ms",
    "{ts} WARN  queue at {p}% capacity (dropped={d})",
    "{ts} DEBUG GET /v1/chat/completions 200 {ms}ms req_id={rid}",
    "{ts} ERROR upstream 10.0.{a}.{b}:8080 timed out after {ms}ms",
    "level=info ts={ts} caller=exporter.go:{w} msg=\"export ok\" spans={n}",
    "[{ts}] pool-{w}-thread-{a} INFO c.e.Svc - processed batch {n} ({ms} ms)",
]
for _ in range(55):
    ts = f"2025-0{R.randint(1, 9)}-{R.randint(10, 28)}T{R.randint(10, 23)}:{R.randint(10, 59)}:{R.randint(10, 59)}.{digits(3)}Z"
    clean(pick(LOG_T).format(ts=ts, w=R.randint(1, 16), n=R.randint(1, 5000), ms=R.randint(1, 3000), p=R.randint(50, 99),
                             d=R.randint(0, 900), rid=alnum(20), a=R.randint(0, 255), b=R.randint(1, 254)), "log line")
PROSE = [
    "Write a haiku about autumn leaves falling on a quiet pond.",
    "Explain the difference between TCP and UDP to a ten-year-old.",
    "Summarize the attached meeting notes in five bullet points.",
    "What are the trade-offs between head and tail sampling in distributed tracing?",
    "Translate 'the cat sleeps on the warm windowsill' into French.",
    "Refactor this function to avoid the nested loops; keep the O(n log n) bound.",
    "Our Q3 revenue target is 12.5M; we closed 9.8M by September 30.",
    "List three pros and three cons of remote work.",
    "The recipe needs 2 cups of flour, 3 eggs and 250 ml of milk.",
    "Draft a release note for version 2.4.0: faster exports, fewer allocations.",
    "How many tokens does a 1,000-word English essay take, roughly?",
    "The train leaves platform 9 at 14:05 and arrives at 16:40.",
    "Give me a regex that matches ISO dates like 2024-01-15.",
    "Compare PostgreSQL 16 and MySQL 8.4 for a write-heavy workload.",
    "She ran the 10 km race in 47:12, a personal best.",
    "Rate this essay from 1 to 10 and explain the score.",
    "What's the capital of Australia, and when was it founded?",
    "Convert 72 degrees Fahrenheit to Celsius.",
    "Generate 5 product names for a privacy-first analytics tool.",
    "Is it safe to store session tokens in localStorage? Explain the risks.",
]
for p in PROSE:
    clean(p, "prose")
    clean(chat_json(p), "prose in JSON chat message")
for _ in range(40):
    msgs = [{"role": "user", "content": pick(PROSE)}, {"role": "assistant", "content": pick(PROSE)}]
    clean(json.dumps({"model": pick(MODELS), "messages": msgs, "max_tokens": R.choice([256, 512, 1024]),
                      "stream": R.random() < 0.5, "seed": R.randint(1, 10 ** 6)}), "JSON request body")
for _ in range(20):
    clean(json.dumps({"id": f"chatcmpl-{alnum(29)}", "object": "chat.completion", "created": R.randint(1_700_000_000, 1_760_000_000),
                      "model": pick(MODELS), "system_fingerprint": f"fp_{hexs(10)}",
                      "usage": {"prompt_tokens": R.randint(10, 5000), "completion_tokens": R.randint(1, 2000)}}), "JSON response body")

N_CLEAN = len(SAMPLES) - N_PII


def main():
    out = ARGS.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "redaction_corpus.jsonl")
    with open(out, "w", encoding="utf-8") as f:
        for i, s in enumerate(SAMPLES):
            rec = {"id": f"{'pii' if s['kinds'] else 'clean'}-{i:04d}", **s}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    per_kind = {}
    for s in SAMPLES:
        for k in s["kinds"]:
            per_kind[k] = per_kind.get(k, 0) + 1
    print(f"wrote {out}: {N_PII} PII samples {dict(sorted(per_kind.items()))}, {N_CLEAN} clean samples")


if __name__ == "__main__":
    main()
