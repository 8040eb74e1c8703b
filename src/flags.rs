//! Parsers of flag values (booleans, durations, comma-separated lists) shared by the server's
//! flags (`cli.rs`) and the command-line client's (`client/args.rs`), so neither imports the other.

use std::time::Duration;

/// A parsed comma-separated list: trimmed, empty items dropped, duplicates removed (first wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct List(pub Vec<String>);

/// `true`, `false`, `1`, `0` in any letter case.
pub fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err("expected one of true, false, 1, 0".to_owned()),
    }
}

/// An integer followed by `ms`, `s`, `m` or `h`; must be greater than zero.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    const HELP: &str = "expected an integer followed by ms, s, m or h (for example 500ms, 5s, 1m)";
    let digits_end = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let (number, unit) = value.split_at(digits_end);
    if number.is_empty() {
        return Err(HELP.to_owned());
    }
    let n: u64 = number.parse().map_err(|_| HELP.to_owned())?;
    let millis = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => return Err(HELP.to_owned()),
    }
    .filter(|ms| *ms <= 365 * 24 * 3_600_000)
    .ok_or_else(|| "duration is too long".to_owned())?;
    if millis == 0 {
        return Err("duration must be greater than zero".to_owned());
    }
    Ok(Duration::from_millis(millis))
}

pub fn parse_list(value: &str) -> Result<List, String> {
    let mut items: Vec<String> = Vec::new();
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        if !items.iter().any(|seen| seen == item) {
            items.push(item.to_owned());
        }
    }
    Ok(List(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_accept_any_letter_case_and_digits() {
        for (input, expected) in [("true", true), ("TRUE", true), ("1", true), ("False", false), ("0", false)] {
            assert_eq!(parse_bool(input), Ok(expected), "input {input}");
        }
        for input in ["yes", "", "2", "t"] {
            assert!(parse_bool(input).is_err(), "input {input:?} must be rejected");
        }
    }

    #[test]
    fn durations_need_an_integer_and_a_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        for input in ["5", "1.5s", "s", "-1s", "5 s", "5S", "0s", "", "99999999999999999999h"] {
            assert!(parse_duration(input).is_err(), "input {input:?} must be rejected");
        }
    }

    #[test]
    fn lists_are_trimmed_deduplicated_and_skip_empty_items() {
        assert_eq!(parse_list(" dns, validation,,dns , ").unwrap().0, vec!["dns", "validation"]);
        assert!(parse_list("").unwrap().0.is_empty());
    }
}
