//! Human formatting of durations, money, token counts and UTC times, and terminal styling.

use std::io::IsTerminal;

/// `812ms`, `1.20s`, `2m05s`. Sub-millisecond spans keep one decimal so they are not `0ms`.
pub fn duration(nanos: u64) -> String {
    let ms = nanos as f64 / 1e6;
    if ms < 10.0 {
        format!("{ms:.1}ms")
    } else if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else if ms < 60_000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else {
        let secs = (ms / 1000.0).round() as u64;
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

/// Dollars with three significant digits below ten cents (`$0.000315`), cents otherwise.
pub fn cost(usd: f64) -> String {
    if !usd.is_finite() {
        return "$?".to_string();
    }
    if usd == 0.0 {
        return "$0".to_string();
    }
    let magnitude = usd.abs().log10().floor() as i32;
    let decimals = if magnitude >= -1 {
        2
    } else {
        (2 - magnitude).min(12) as usize
    };
    format!("${usd:.decimals$}")
}

/// `12,345`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1,200→85 tok`; `-` for a count that was not reported (embeddings have no output), and
/// a `~` marks counts that were estimated rather than reported by the provider.
pub fn tokens(input: Option<i64>, output: Option<i64>, estimated: bool) -> String {
    if input.is_none() && output.is_none() {
        return String::new();
    }
    let part = |v: Option<i64>| v.map(thousands).unwrap_or_else(|| "-".into());
    let mark = if estimated { "~" } else { "" };
    format!("{mark}{}→{} tok", part(input), part(output))
}

/// Civil date (year, month, day) of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

const NANOS_PER_DAY: u64 = 86_400 * 1_000_000_000;

/// `2025-03-14` (UTC).
pub fn utc_day(nanos: u64) -> String {
    let (y, m, d) = civil_from_days((nanos / NANOS_PER_DAY) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2025-03-14 10:11:12Z`.
pub fn utc_time(nanos: u64) -> String {
    let secs = (nanos % NANOS_PER_DAY) / 1_000_000_000;
    format!(
        "{} {:02}:{:02}:{:02}Z",
        utc_day(nanos),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `2025-03-14 10:11:12.345Z`.
pub fn utc_time_millis(nanos: u64) -> String {
    let base = utc_time(nanos);
    let millis = nanos % 1_000_000_000 / 1_000_000;
    format!("{}.{millis:03}Z", base.trim_end_matches('Z'))
}

/// Cuts `s` to at most `max` characters, marking the cut with `…`.
pub fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Pads `s` with spaces to `width` characters (left-aligned).
pub fn pad(s: &str, width: usize) -> String {
    let len = s.chars().count();
    let mut out = s.to_string();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(len)));
    out
}

/// Pads `s` to `width` characters, right-aligned.
pub fn pad_left(s: &str, width: usize) -> String {
    let len = s.chars().count();
    let mut out: String = std::iter::repeat_n(' ', width.saturating_sub(len)).collect();
    out.push_str(s);
    out
}

/// ANSI styling, off when stdout is not a terminal or `NO_COLOR` is set (no-color.org).
#[derive(Clone, Copy, Debug)]
pub struct Style {
    enabled: bool,
}

impl Style {
    pub fn detect() -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            enabled: !no_color && std::io::stdout().is_terminal(),
        }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.enabled && !s.is_empty() {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    pub fn cyan(&self, s: &str) -> String {
        self.paint("36", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(400_000), "0.4ms");
        assert_eq!(duration(812_000_000), "812ms");
        assert_eq!(duration(1_204_000_000), "1.20s");
        assert_eq!(duration(125_000_000_000), "2m05s");
    }

    #[test]
    fn small_costs_keep_three_significant_digits() {
        assert_eq!(cost(0.000315), "$0.000315");
        assert_eq!(cost(0.0123), "$0.0123");
        assert_eq!(cost(0.5), "$0.50");
        assert_eq!(cost(0.05), "$0.0500");
        assert_eq!(cost(0.0000004), "$0.000000400");
        assert_eq!(cost(12.345), "$12.35");
        assert_eq!(cost(0.0), "$0");
        assert_eq!(cost(f64::NAN), "$?");
    }

    #[test]
    fn token_counts_have_separators_and_estimate_marks() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(-1000), "-1,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(tokens(Some(1200), Some(85), false), "1,200→85 tok");
        assert_eq!(tokens(Some(10), None, true), "~10→- tok");
        assert_eq!(tokens(None, None, false), "");
    }

    #[test]
    fn utc_dates_match_the_calendar() {
        assert_eq!(utc_day(0), "1970-01-01");
        // 2024-02-29T23:59:59Z, a leap day.
        assert_eq!(utc_time(1_709_251_199_000_000_000), "2024-02-29 23:59:59Z");
        assert_eq!(
            utc_time_millis(1_709_251_199_123_000_000),
            "2024-02-29 23:59:59.123Z"
        );
        assert_eq!(utc_day(1_741_910_400_000_000_000), "2025-03-14");
    }

    #[test]
    fn ellipsize_and_pad_count_characters() {
        assert_eq!(ellipsize("héllo wörld", 5), "héll…");
        assert_eq!(ellipsize("short", 10), "short");
        assert_eq!(pad("é", 3), "é  ");
        assert_eq!(pad_left("7", 3), "  7");
    }
}
