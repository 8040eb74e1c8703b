//! Renders the typed tree as one parenthesised SQL boolean expression over the unqualified
//! columns of `clusters` / `node_pools`. The SQL text holds only allowlisted column names and
//! fixed keywords; every value and every label key is a bound parameter.
//!
//! Label equality uses containment (`labels @> '{"k":"v"}'`) so the GIN `jsonb_path_ops` index
//! can serve it. Containment is FALSE where the exact comparison is UNKNOWN (missing label). A
//! WHERE clause keeps a row iff the whole expression is TRUE; in a positive position (under an
//! even number of NOTs) turning an UNKNOWN into FALSE can only lower the result, since AND and OR
//! are monotone, and cannot lower a TRUE, since in Kleene logic a TRUE reached with an UNKNOWN
//! input holds for either value. In a negative position the same holds for turning UNKNOWN into
//! TRUE, which is what `NOT containment` does for `!=` / `not in`. So the compiler tracks
//! polarity, and uses the exact `->>` form wherever the substitution would not be exact.

use sqlx::{Postgres, QueryBuilder};

use super::ast::{CmpOp, Expr, Operand, Predicate, Value};

pub(crate) fn push_expr(expr: &Expr<Predicate>, positive: bool, qb: &mut QueryBuilder<'_, Postgres>) {
    match expr {
        Expr::Or(items) => push_joined(items, " OR ", positive, qb),
        Expr::And(items) => push_joined(items, " AND ", positive, qb),
        Expr::Not(inner) => {
            qb.push("(NOT ");
            push_expr(inner, !positive, qb);
            qb.push(")");
        }
        Expr::Pred(predicate) => push_predicate(predicate, positive, qb),
    }
}

fn push_joined(items: &[Expr<Predicate>], separator: &str, positive: bool, qb: &mut QueryBuilder<'_, Postgres>) {
    qb.push("(");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            qb.push(separator);
        }
        push_expr(item, positive, qb);
    }
    qb.push(")");
}

fn push_predicate(predicate: &Predicate, positive: bool, qb: &mut QueryBuilder<'_, Postgres>) {
    if let Some((key, values, negated)) = containment_candidate(predicate) {
        // `!=` and `not in` are the negation of an equality one level of polarity down.
        if positive != negated {
            push_containment(key, values, negated, qb);
            return;
        }
    }
    qb.push("(");
    match predicate {
        Predicate::Const(value) => {
            qb.push(if *value { "TRUE" } else { "FALSE" });
        }
        Predicate::Compare { lhs, op, value } => {
            push_operand(lhs, qb);
            qb.push(format_args!(" {} ", op.sql()));
            push_value(value, qb);
        }
        Predicate::In { lhs, negated, values } => {
            push_operand(lhs, qb);
            qb.push(if *negated { " NOT IN (" } else { " IN (" });
            for (i, value) in values.iter().enumerate() {
                if i > 0 {
                    qb.push(", ");
                }
                push_value(value, qb);
            }
            qb.push(")");
        }
        Predicate::Between { lhs, negated, low, high } => {
            push_operand(lhs, qb);
            qb.push(if *negated { " NOT BETWEEN " } else { " BETWEEN " });
            push_value(low, qb);
            qb.push(" AND ");
            push_value(high, qb);
        }
        Predicate::Like { lhs, negated, case_insensitive, pattern } => {
            push_operand(lhs, qb);
            qb.push(match (negated, case_insensitive) {
                (false, false) => " LIKE ",
                (false, true) => " ILIKE ",
                (true, false) => " NOT LIKE ",
                (true, true) => " NOT ILIKE ",
            });
            qb.push_bind(pattern.clone());
        }
        Predicate::LabelIsNull { key, negated } => {
            push_label(key, qb);
            qb.push(if *negated { " IS NOT NULL" } else { " IS NULL" });
        }
    }
    qb.push(")");
}

/// A label (in)equality or (not) in list: (key, values, whether it is the negated form).
fn containment_candidate(predicate: &Predicate) -> Option<(&str, Vec<&str>, bool)> {
    let (key, values, negated) = match predicate {
        Predicate::Compare { lhs: Operand::Label(key), op: op @ (CmpOp::Eq | CmpOp::Ne), value } => {
            (key, std::slice::from_ref(value), *op == CmpOp::Ne)
        }
        Predicate::In { lhs: Operand::Label(key), negated, values } => (key, values.as_slice(), *negated),
        _ => return None,
    };
    let texts = values
        .iter()
        .map(|value| match value {
            Value::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some((key, texts, negated))
}

fn push_containment(key: &str, values: Vec<&str>, negated: bool, qb: &mut QueryBuilder<'_, Postgres>) {
    qb.push(if negated { "(NOT (" } else { "(" });
    for (i, text) in values.into_iter().enumerate() {
        if i > 0 {
            qb.push(" OR ");
        }
        let mut object = serde_json::Map::new();
        object.insert(key.to_owned(), serde_json::Value::String(text.to_owned()));
        qb.push("labels @> ");
        qb.push_bind(serde_json::Value::Object(object));
        qb.push("::jsonb");
    }
    qb.push(if negated { "))" } else { ")" });
}

fn push_operand(operand: &Operand, qb: &mut QueryBuilder<'_, Postgres>) {
    match operand {
        Operand::Column(column) => {
            qb.push(*column);
        }
        Operand::UuidText(column) => {
            qb.push(format_args!("({column}::text COLLATE \"C\")"));
        }
        Operand::Kind(kind) => {
            qb.push(format_args!("('{kind}'::text COLLATE \"C\")"));
        }
        Operand::Label(key) => push_label(key, qb),
    }
}

/// A label's value, NULL when the label is absent, compared in byte order.
pub(crate) fn push_label(key: &str, qb: &mut QueryBuilder<'_, Postgres>) {
    qb.push("(labels->>");
    qb.push_bind(key.to_owned());
    qb.push(") COLLATE \"C\"");
}

fn push_value(value: &Value, qb: &mut QueryBuilder<'_, Postgres>) {
    match value {
        Value::Text(text) => qb.push_bind(text.clone()),
        Value::Int(int) => qb.push_bind(*int),
        Value::Time(time) => qb.push_bind(*time),
        Value::Uuid(id) => qb.push_bind(*id),
    };
}
