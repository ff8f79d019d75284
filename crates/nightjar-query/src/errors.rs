//! Making errors say what happened and where in the SQL.

use datafusion::error::DataFusionError;

use crate::QueryError;
use crate::config::QueryLimits;

/// A place in SQL text: line and column, both from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SqlLocation {
    /// The line, from 1.
    pub line: u64,
    /// The column, from 1.
    pub column: u64,
}

/// Turns an error met while running into [`QueryError::TimeLimit`] or [`QueryError::MemoryLimit`]
/// when that is what stopped the query.
pub(crate) fn classify(error: DataFusionError, limits: QueryLimits) -> QueryError {
    if let DataFusionError::ResourcesExhausted(detail) = error.find_root() {
        return QueryError::MemoryLimit { limit_bytes: limits.memory_bytes, detail: detail.clone() };
    }
    if let DataFusionError::External(inner) = error.find_root()
        && let Some(QueryError::TimeLimit(limit)) = inner.downcast_ref::<QueryError>()
    {
        return QueryError::TimeLimit(*limit);
    }
    QueryError::Sql(error)
}

/// Like [`classify`], for an error already wrapped as a [`QueryError`].
pub(crate) fn classify_query(error: QueryError, limits: QueryLimits) -> QueryError {
    match error {
        QueryError::Sql(error) => classify(error, limits),
        other => other,
    }
}

/// Where in the SQL text an error points, when it knows: the span of a planning error, or the
/// "Line: L, Column: C" of a syntax error.
pub fn error_location(error: &QueryError) -> Option<SqlLocation> {
    let QueryError::Sql(error) = error else { return None };
    if let Some(span) = error.diagnostic().and_then(|diagnostic| diagnostic.span)
        && span.start.line > 0
    {
        return Some(SqlLocation { line: span.start.line, column: span.start.column });
    }
    let message = error.to_string();
    let after_line = message.rsplit_once("Line: ")?.1;
    let (line, rest) = after_line.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some(SqlLocation { line: line.parse().ok()?, column: column.parse().ok()? })
}
