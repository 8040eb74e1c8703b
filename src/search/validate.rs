//! Turns the syntax tree into the typed tree: resolves fields, types literals and checks LIKE
//! patterns, predicate by predicate in text order, in the order §6.3.6 gives. What Postgres
//! could reject (bad casts, overflow, dangling LIKE escapes) is rejected or folded here.

use chrono::{DateTime, NaiveDate, TimeDelta, Timelike, Utc};
use uuid::Uuid;

use super::ast::{CmpOp, Expr, Literal, Operand, Predicate, RawPredicate, RawTest, Value};
use super::fields::{self, Field, FieldType};
use super::{cut_quoted, ResourceKind, SearchError};

pub(crate) fn check(tree: Expr<RawPredicate<'_>>, resource: ResourceKind) -> Result<Expr<Predicate>, SearchError> {
    tree.try_map(&mut |raw| predicate(raw, resource))
}

fn predicate(raw: RawPredicate<'_>, resource: ResourceKind) -> Result<Predicate, SearchError> {
    let field = fields::resolve(raw.field, resource)?;
    let ty = match &field {
        Field::Column { ty, .. } => *ty,
        Field::Kind(_) | Field::Label(_) => FieldType::Text,
    };
    let typer = Typer { name: raw.field, ty };
    if let RawTest::Like { case_insensitive, .. } = &raw.test {
        if matches!(ty, FieldType::Integer | FieldType::Timestamp) {
            let op = if *case_insensitive { "ilike" } else { "like" };
            return Err(SearchError(format!("operator '{op}' cannot be used with {}", cut_quoted(raw.field))));
        }
    }

    // A uuid field compares ids for (in)equality but text for everything else (§6.3.4).
    if let Field::Column { column, ty: FieldType::Uuid } = field {
        return uuid_predicate(column, raw.test, &typer);
    }

    let lhs = match field {
        Field::Column { column, .. } => Operand::Column(column),
        Field::Kind(kind) => Operand::Kind(kind),
        Field::Label(key) => Operand::Label(key),
    };
    Ok(match raw.test {
        RawTest::Compare(op, literal) => Predicate::Compare { lhs, op, value: typer.value(literal)? },
        RawTest::In { negated, values } => Predicate::In {
            lhs,
            negated,
            values: values.into_iter().map(|literal| typer.value(literal)).collect::<Result<_, _>>()?,
        },
        RawTest::Between { negated, low, high } => {
            Predicate::Between { lhs, negated, low: typer.value(low)?, high: typer.value(high)? }
        }
        RawTest::Like { negated, case_insensitive, pattern } => like(lhs, negated, case_insensitive, pattern)?,
        RawTest::IsNull { negated } => match lhs {
            Operand::Label(key) => Predicate::LabelIsNull { key, negated },
            // Every other field is NOT NULL in the table.
            _ => Predicate::Const(negated),
        },
    })
}

fn uuid_predicate(column: &'static str, test: RawTest<'_>, typer: &Typer<'_>) -> Result<Predicate, SearchError> {
    let text = |literal| typer.string(literal).map(Value::Text);
    let as_text = Operand::UuidText(column);
    Ok(match test {
        RawTest::Compare(op @ (CmpOp::Eq | CmpOp::Ne), literal) => {
            match parse_uuid(&typer.string(literal)?) {
                Some(id) => Predicate::Compare { lhs: Operand::Column(column), op, value: Value::Uuid(id) },
                // A non-UUID equals no id.
                None => Predicate::Const(op == CmpOp::Ne),
            }
        }
        RawTest::Compare(op, literal) => Predicate::Compare { lhs: as_text, op, value: text(literal)? },
        RawTest::In { negated, values } => {
            let mut ids = Vec::new();
            for literal in values {
                if let Some(id) = parse_uuid(&typer.string(literal)?) {
                    ids.push(Value::Uuid(id));
                }
            }
            if ids.is_empty() {
                Predicate::Const(negated)
            } else {
                Predicate::In { lhs: Operand::Column(column), negated, values: ids }
            }
        }
        RawTest::Between { negated, low, high } => {
            Predicate::Between { lhs: as_text, negated, low: text(low)?, high: text(high)? }
        }
        RawTest::Like { negated, case_insensitive, pattern } => like(as_text, negated, case_insensitive, pattern)?,
        RawTest::IsNull { negated } => Predicate::Const(negated),
    })
}

fn like(lhs: Operand, negated: bool, case_insensitive: bool, pattern: String) -> Result<Predicate, SearchError> {
    // Postgres's LIKE escape character is the backslash; a dangling one is an error there.
    let trailing = pattern.bytes().rev().take_while(|&b| b == b'\\').count();
    if trailing % 2 == 1 {
        return Err(SearchError("invalid like pattern: must not end with an escape character".into()));
    }
    Ok(Predicate::Like { lhs, negated, case_insensitive, pattern })
}

/// Types the literals of one predicate; the messages name the field as the client wrote it.
struct Typer<'a> {
    name: &'a str,
    ty: FieldType,
}

impl Typer<'_> {
    fn error(&self) -> SearchError {
        let name = cut_quoted(self.name);
        SearchError(match self.ty {
            FieldType::Text | FieldType::Uuid => format!("{name} must be compared with a string"),
            FieldType::Integer => format!("{name} must be compared with an integer"),
            FieldType::Timestamp => {
                format!("{name} must be compared with a timestamp ('YYYY-MM-DDTHH:MM:SSZ' or 'YYYY-MM-DD')")
            }
        })
    }

    fn string(&self, literal: Literal<'_>) -> Result<String, SearchError> {
        match literal {
            Literal::Str(text) => Ok(text),
            Literal::Num(_) => Err(self.error()),
        }
    }

    /// The value for a text, integer or timestamp field (uuid fields are handled apart).
    fn value(&self, literal: Literal<'_>) -> Result<Value, SearchError> {
        match (self.ty, literal) {
            (FieldType::Text | FieldType::Uuid, Literal::Str(text)) => Ok(Value::Text(text)),
            (FieldType::Integer, Literal::Num(text)) => parse_integer(text).map(Value::Int).ok_or_else(|| self.error()),
            (FieldType::Timestamp, Literal::Str(text)) => {
                parse_timestamp(&text).map(Value::Time).ok_or_else(|| self.error())
            }
            _ => Err(self.error()),
        }
    }
}

/// Only `-?digits`: a fraction or exponent is not an integer even when its value is whole.
fn parse_integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The 8-4-4-4-12 form of §2.1 in either letter case; `Uuid::parse_str` alone would also take
/// the braced, URN and hyphen-less forms.
fn parse_uuid(text: &str) -> Option<Uuid> {
    let hyphens_ok =
        text.len() == 36 && text.bytes().enumerate().all(|(i, b)| matches!(i, 8 | 13 | 18 | 23) == (b == b'-'));
    if hyphens_ok {
        Uuid::parse_str(text).ok()
    } else {
        None
    }
}

/// RFC 3339 (any offset) or `YYYY-MM-DD` as midnight UTC. Every such value lies inside
/// Postgres's timestamptz range, so binding it can never fail.
pub(crate) fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let parsed = if is_plain_date(text) {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0)?.and_utc()
    } else {
        DateTime::parse_from_rfc3339(text).ok()?.to_utc()
    };
    // Stored values have microsecond precision: drop finer digits so the bound value is exactly
    // what is compared. A leap second (`:60`) rolls over to the next minute, as in Postgres.
    let nanos = parsed.nanosecond();
    let (nanos, carry) = if nanos >= 1_000_000_000 {
        (nanos - 1_000_000_000, TimeDelta::seconds(1))
    } else {
        (nanos, TimeDelta::zero())
    };
    parsed.with_nanosecond(nanos / 1_000 * 1_000)?.checked_add_signed(carry)
}

fn is_plain_date(text: &str) -> bool {
    text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn integers() {
        let cases = [
            ("0", Some(0)),
            ("-0", Some(0)),
            ("007", Some(7)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-9223372036854775809", None),
            ("1.0", None),
            ("1e3", None),
            ("1E+3", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_integer(text), want, "{text}");
        }
    }

    #[test]
    fn uuids_in_canonical_form_and_either_case_only() {
        let id = "01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a";
        assert_eq!(parse_uuid(id), Uuid::parse_str(id).ok());
        assert_eq!(parse_uuid(&id.to_uppercase()), Uuid::parse_str(id).ok());
        for bad in [
            "01939f4e8a3c7d129e456b7c8d9e0f1a",
            "{01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a}",
            "urn:uuid:01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a",
            "01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1",
            "01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1g",
            "01939f4e-8a3c-7d12-9e456-b7c8d9e0f1a",
            "not-a-uuid",
            "",
        ] {
            assert_eq!(parse_uuid(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps() {
        let utc = |y, mo, d, h, mi, s| Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap();
        let cases = [
            ("2025-01-01T00:00:00Z", Some(utc(2025, 1, 1, 0, 0, 0))),
            ("2025-01-01", Some(utc(2025, 1, 1, 0, 0, 0))),
            ("2025-01-01T02:00:00+02:00", Some(utc(2025, 1, 1, 0, 0, 0))),
            ("2025-01-01t00:00:00z", Some(utc(2025, 1, 1, 0, 0, 0))),
            ("2025-12-31T23:59:60Z", Some(utc(2026, 1, 1, 0, 0, 0))),
            ("0000-01-01T00:00:00+01:00", Some(utc(-1, 12, 31, 23, 0, 0))),
            ("9999-12-31T23:59:59-23:59", Some(utc(10000, 1, 1, 23, 58, 59))),
            ("yesterday", None),
            ("2025-01-01T00:00:00", None),
            ("2025-02-30", None),
            ("2025-1-01", None),
            ("+2025-01-01", None),
            ("20250101", None),
            (" 2025-01-01", None),
            ("2025-01-01T00:00:00+24:00", None),
            ("2025-01-01T00:00Z", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_timestamp(text), want, "{text}");
        }
        assert_eq!(
            parse_timestamp("2025-01-01T00:00:00.1234567Z"),
            Some(utc(2025, 1, 1, 0, 0, 0) + TimeDelta::microseconds(123_456)),
            "digits past microseconds are dropped"
        );
    }
}
