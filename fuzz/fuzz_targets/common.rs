//! Shared checks of the fuzz targets.

use hyperfleet::dao::lists::{resources_statement, ResourceQuery};
use hyperfleet::search::{Filter, Ordering, ResourceKind};
use sqlx::{Arguments, Execute};

/// Builds the list statement the service would run and checks that every client value went
/// through a bind: the text holds exactly as many `$n` placeholders as there are arguments.
pub fn check_statement(kind: ResourceKind, filter: Option<&Filter>, ordering: &Ordering, limit: i64, offset: i64) {
    let query = ResourceQuery { kind, cluster: None, filter, ordering, limit, offset };
    let mut builder = resources_statement(&query);
    let mut built = builder.build();
    let sql = built.sql().to_owned();
    let arguments = built.take_arguments().ok().flatten().map(|a| a.len()).unwrap_or(0);
    let mut highest = 0usize;
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            let n: usize = sql[start..end].parse().expect("a placeholder number after $");
            highest = highest.max(n);
            i = end;
        } else {
            i += 1;
        }
    }
    assert_eq!(highest, arguments, "placeholders and bound values disagree in {sql}");
}
