//! The two trees a search goes through: the syntax tree the parser builds (field names and
//! literals as written) and the typed tree that validation makes of it (columns from the
//! allowlist, typed values). Both share the boolean skeleton `Expr`; only the predicates differ.

use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr<P> {
    Or(Vec<Expr<P>>),
    And(Vec<Expr<P>>),
    Not(Box<Expr<P>>),
    Pred(P),
}

impl<P> Expr<P> {
    /// Maps every predicate, visiting them in text order, so the first error reported is the
    /// one for the leftmost predicate (§6.3.6).
    pub(crate) fn try_map<Q, E>(self, f: &mut impl FnMut(P) -> Result<Q, E>) -> Result<Expr<Q>, E> {
        Ok(match self {
            Expr::Or(items) => Expr::Or(try_map_all(items, f)?),
            Expr::And(items) => Expr::And(try_map_all(items, f)?),
            Expr::Not(inner) => Expr::Not(Box::new(inner.try_map(f)?)),
            Expr::Pred(p) => Expr::Pred(f(p)?),
        })
    }
}

fn try_map_all<P, Q, E>(items: Vec<Expr<P>>, f: &mut impl FnMut(P) -> Result<Q, E>) -> Result<Vec<Expr<Q>>, E> {
    items.into_iter().map(|item| item.try_map(f)).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub(crate) fn sql(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

// ----- syntax tree -----

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Literal<'a> {
    Str(String),
    /// Kept as text: whether it must be an integer depends on the field.
    Num(&'a str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawPredicate<'a> {
    pub field: &'a str,
    pub test: RawTest<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawTest<'a> {
    Compare(CmpOp, Literal<'a>),
    /// The grammar only allows a string here, so the pattern is always text.
    Like {
        negated: bool,
        case_insensitive: bool,
        pattern: String,
    },
    In {
        negated: bool,
        values: Vec<Literal<'a>>,
    },
    Between {
        negated: bool,
        low: Literal<'a>,
        high: Literal<'a>,
    },
    IsNull {
        negated: bool,
    },
}

// ----- typed tree -----

/// The left-hand side of a predicate. Only allowlisted names and fixed text reach the SQL;
/// a label key is always bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Operand {
    /// A column used as is (its text columns are already `COLLATE "C"`).
    Column(&'static str),
    /// A uuid column compared as its lowercase text form.
    UuidText(&'static str),
    /// The constant resource kind.
    Kind(&'static str),
    Label(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Text(String),
    Int(i64),
    Time(DateTime<Utc>),
    Uuid(Uuid),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Predicate {
    /// Known without looking at the row (`id = 'junk'`, `name is null`).
    Const(bool),
    Compare {
        lhs: Operand,
        op: CmpOp,
        value: Value,
    },
    /// `values` is never empty.
    In {
        lhs: Operand,
        negated: bool,
        values: Vec<Value>,
    },
    Between {
        lhs: Operand,
        negated: bool,
        low: Value,
        high: Value,
    },
    Like {
        lhs: Operand,
        negated: bool,
        case_insensitive: bool,
        pattern: String,
    },
    LabelIsNull {
        key: String,
        negated: bool,
    },
}
