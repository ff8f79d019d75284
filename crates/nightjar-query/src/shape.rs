//! Limits on the shape of SQL: how long the text is, how deep its expressions nest, how many
//! expression nodes a statement holds, how often `EXPLAIN` nests.
//!
//! DataFusion plans and evaluates expressions by recursion, and `a OR b OR c …` is a tree as
//! deep as it is long: a 28 KB statement of 2,000 `OR` terms used to overflow the stack of the
//! thread planning it, which aborts the process. The limits here are checked right after parsing
//! — the depth with a visitor that stops as soon as it passes the limit, so the check itself
//! recurses at most [`MAX_EXPRESSION_DEPTH`] levels — and queries are planned and run on threads
//! whose stack holds that depth many times over (see `runner.rs`).

use std::ops::ControlFlow;

use datafusion::sql::parser::{CopyToSource, Statement};
use datafusion::sql::sqlparser::ast::{Expr, Value, ValueWithSpan, Visit, Visitor};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use crate::QueryError;

/// The longest SQL text one call may hand in (a script of several statements included): 1 MiB.
/// Planning holds the text many times over in syntax trees and plans; an `IN` list of tens of
/// thousands of addresses still fits.
pub const MAX_SQL_BYTES: usize = 1 << 20;

/// The deepest expressions may nest: 1,000 levels (a chain of 1,000 `OR` or `+` terms). Planning
/// and running 990 levels needs between 4 and 8 MiB of stack on a debug build (it overflowed at
/// 4 MiB); the query threads' 256 MiB hold it with a margin of 32 or more.
pub const MAX_EXPRESSION_DEPTH: usize = 1_000;

/// The most expression nodes one statement may hold: 200,000 (an `IN` list of 100,000 values).
pub const MAX_EXPRESSION_NODES: usize = 200_000;

/// How many `EXPLAIN` keywords one statement may hold (the parser nests one per keyword).
pub const MAX_EXPLAIN_KEYWORDS: usize = 4;

fn refused(what: String) -> QueryError {
    QueryError::TooComplex(what)
}

/// Checks the text before it is parsed: its length, and `EXPLAIN EXPLAIN …`, which the parser
/// would nest without bound.
pub(crate) fn check_text(sql: &str) -> Result<(), QueryError> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(refused(format!(
            "the SQL text is {} bytes, the limit is {MAX_SQL_BYTES} bytes (1 MiB); split it into smaller statements",
            sql.len()
        )));
    }
    // The tokenizer is a loop, not a recursion: safe on any text. A text it cannot tokenize is
    // left to the parser, which reports the error with its place.
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else { return Ok(()) };
    let mut explains = 0usize;
    for token in tokens {
        match token {
            Token::SemiColon => explains = 0,
            Token::Word(word) if word.keyword == Keyword::EXPLAIN && word.quote_style.is_none() => {
                explains += 1;
                if explains > MAX_EXPLAIN_KEYWORDS {
                    return Err(refused(format!(
                        "a statement holds more than {MAX_EXPLAIN_KEYWORDS} EXPLAIN keywords; EXPLAIN does not nest"
                    )));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The longest text or byte literal a statement may hold under a memory limit of
/// `memory_limit_bytes` with batches of `batch_rows` rows: a constant is repeated on every row of
/// every batch it reaches, so the limit spread over a batch's rows, and at least 1 KiB.
pub fn max_literal_bytes(memory_limit_bytes: usize, batch_rows: usize) -> usize {
    (memory_limit_bytes / batch_rows.max(1)).max(1 << 10)
}

/// Checks the depth and size of every expression of `statement`, and the length of its literals
/// against `max_literal_bytes`.
pub(crate) fn check_statement(statement: &Statement, max_literal_bytes: usize) -> Result<(), QueryError> {
    let mut shape = ShapeCheck { depth: 0, nodes: 0, max_literal_bytes };
    let outcome = match statement {
        Statement::Statement(sql) => sql.visit(&mut shape),
        Statement::Explain(explain) => return check_statement(&explain.statement, max_literal_bytes),
        Statement::CopyTo(copy) => match &copy.source {
            CopyToSource::Query(query) => query.visit(&mut shape),
            CopyToSource::Relation(_) => ControlFlow::Continue(()),
        },
        Statement::CreateExternalTable(create) => (|| {
            create.order_exprs.iter().flatten().try_for_each(|order| order.visit(&mut shape))?;
            create.columns.iter().try_for_each(|column| column.visit(&mut shape))?;
            create.constraints.iter().try_for_each(|constraint| constraint.visit(&mut shape))
        })(),
        Statement::Reset(_) => ControlFlow::Continue(()),
    };
    match outcome {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(error) => Err(error),
    }
}

/// Counts expression nesting and nodes, measures literals; breaks off at the first limit passed.
struct ShapeCheck {
    depth: usize,
    nodes: usize,
    max_literal_bytes: usize,
}

/// The length of a text or byte literal (0 for other values).
fn literal_len(value: &Value) -> usize {
    match value {
        Value::SingleQuotedString(text)
        | Value::DoubleQuotedString(text)
        | Value::TripleSingleQuotedString(text)
        | Value::TripleDoubleQuotedString(text)
        | Value::EscapedStringLiteral(text)
        | Value::UnicodeStringLiteral(text)
        | Value::NationalStringLiteral(text)
        | Value::HexStringLiteral(text)
        | Value::SingleQuotedByteStringLiteral(text)
        | Value::DoubleQuotedByteStringLiteral(text)
        | Value::TripleSingleQuotedByteStringLiteral(text)
        | Value::TripleDoubleQuotedByteStringLiteral(text)
        | Value::SingleQuotedRawStringLiteral(text)
        | Value::DoubleQuotedRawStringLiteral(text)
        | Value::TripleSingleQuotedRawStringLiteral(text)
        | Value::TripleDoubleQuotedRawStringLiteral(text) => text.len(),
        Value::DollarQuotedString(dollar) => dollar.value.len(),
        _ => 0,
    }
}

impl Visitor for ShapeCheck {
    type Break = QueryError;

    fn pre_visit_expr(&mut self, _expr: &Expr) -> ControlFlow<QueryError> {
        self.depth += 1;
        self.nodes += 1;
        if self.depth > MAX_EXPRESSION_DEPTH {
            return ControlFlow::Break(refused(format!(
                "expressions nest deeper than {MAX_EXPRESSION_DEPTH} levels; write a long chain of \
                 `x = a OR x = b OR …` as `x IN (a, b, …)`, and split long sums or concatenations"
            )));
        }
        if self.nodes > MAX_EXPRESSION_NODES {
            return ControlFlow::Break(refused(format!(
                "the statement holds more than {MAX_EXPRESSION_NODES} expressions; split it into smaller statements"
            )));
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, _expr: &Expr) -> ControlFlow<QueryError> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_value(&mut self, value: &ValueWithSpan) -> ControlFlow<QueryError> {
        let length = literal_len(&value.value);
        if length > self.max_literal_bytes {
            return ControlFlow::Break(refused(format!(
                "a literal of {length} bytes is longer than the limit of {} bytes: a constant is repeated on every \
                 row of a batch, so its length times the rows of a batch must fit in the memory limit",
                self.max_literal_bytes
            )));
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Statement {
        let mut statements = datafusion::sql::parser::DFParser::parse_sql(sql).expect("parses");
        statements.pop_front().expect("one statement")
    }

    #[test]
    fn a_chain_of_or_terms_is_refused_past_the_depth_limit() {
        let within = format!("SELECT 1 WHERE {}", vec!["x = 1"; MAX_EXPRESSION_DEPTH / 2].join(" OR "));
        assert!(check_statement(&parse(&within), usize::MAX).is_ok());
        let beyond = format!("SELECT 1 WHERE {}", vec!["x = 1"; MAX_EXPRESSION_DEPTH].join(" OR "));
        let error = check_statement(&parse(&beyond), usize::MAX).expect_err("too deep").to_string();
        assert!(error.contains("deeper than 1000 levels") && error.contains("IN ("), "{error}");
        let explained = format!("EXPLAIN {beyond}");
        assert!(check_statement(&parse(&explained), usize::MAX).is_err());
    }

    #[test]
    fn literals_longer_than_the_memory_limit_spread_over_a_batch_are_refused() {
        let limit = max_literal_bytes(256 << 20, 8192);
        assert_eq!(limit, 32 << 10);
        assert_eq!(max_literal_bytes(4096, 8192), 1024);
        let within = format!("SELECT '{}'", "x".repeat(limit));
        assert!(check_statement(&parse(&within), limit).is_ok());
        let beyond = format!("SELECT length('{}')", "x".repeat(limit + 1));
        let error = check_statement(&parse(&beyond), limit).expect_err("too long").to_string();
        assert!(error.contains("32769 bytes") && error.contains("32768 bytes"), "{error}");
    }

    #[test]
    fn nested_explain_and_long_text_are_refused_before_parsing() {
        assert!(
            check_text("EXPLAIN SELECT 1; EXPLAIN SELECT 2; EXPLAIN SELECT 3; EXPLAIN SELECT 4; EXPLAIN SELECT 5")
                .is_ok()
        );
        let nested = format!("{}SELECT 1", "EXPLAIN ".repeat(MAX_EXPLAIN_KEYWORDS + 1));
        assert!(check_text(&nested).expect_err("nested").to_string().contains("EXPLAIN"));
        let long = format!("SELECT '{}'", "x".repeat(MAX_SQL_BYTES));
        assert!(check_text(&long).expect_err("long").to_string().contains("1 MiB"));
    }
}
