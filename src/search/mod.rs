//! The search language and ordering of the list endpoints (§6.2, §6.3): text in, a validated
//! filter or ordering out, rendered into a `sqlx::QueryBuilder` with every client value bound.
//! Pure and synchronous; the caller supplies the `FROM` clause and the `deleted_at` condition.

mod ast;
mod fields;
mod lexer;
mod order;
mod parser;
mod sql;
mod validate;

pub use fields::is_valid_label_key;
pub use order::Ordering;

use sqlx::{Postgres, QueryBuilder};

use crate::error::cut_quoted;
pub use crate::model::kind::ResourceKind;

use ast::{Expr, Predicate};
use parser::ParseError;

/// A rejected search or ordering: the text is the full `reason` of the 400 `hyperfleet-21` answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SearchError(pub String);

const MAX_CHARS: usize = 4096;

/// A validated search, ready to be rendered as SQL any number of times.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    expr: Expr<Predicate>,
}

impl Filter {
    /// `None` when the search is blank (absent/empty/whitespace) — no filter.
    pub fn parse(search: &str, resource: ResourceKind) -> Result<Option<Filter>, SearchError> {
        // Blank means absent (§2.7), so it is never subject to the checks below.
        if search.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
            return Ok(None);
        }
        if search.chars().count() > MAX_CHARS {
            return Err(SearchError(format!("search must be at most {MAX_CHARS} characters")));
        }
        if search.contains('\0') {
            return Err(SearchError("search must not contain the NUL character".into()));
        }
        let tree = parser::parse(search).map_err(|err| match err {
            ParseError::Syntax => SearchError(format!("Failed to parse search query: {}", cut_quoted(search))),
            ParseError::TooDeep => {
                SearchError(format!("search is nested too deeply (at most {} levels)", parser::MAX_DEPTH))
            }
        })?;
        let expr = validate::check(tree, resource)?;
        Ok(Some(Filter { expr }))
    }

    /// Pushes one parenthesised boolean SQL expression; every value goes through `push_bind`.
    /// Takes `&self` and binds clones, so the same filter can serve the count and the page.
    pub fn push_sql(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        sql::push_expr(&self.expr, true, qb);
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
