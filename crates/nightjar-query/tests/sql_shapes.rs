//! SQL of any shape gets an answer or a clear error, never a crash: expression trees of random
//! depth and width (chains of operators, nested calls, `CASE`, `IN` lists, `OR` chains) run
//! through the engine, which plans and runs them on its own threads. A stack overflow would abort
//! this test process.

use std::fmt::Write as _;

use nightjar_query::shape::MAX_EXPRESSION_DEPTH;
use nightjar_query::{QueryConfig, QueryEngine, QueryError};
use proptest::prelude::*;

/// One step of building an expression around the previous one.
#[derive(Clone, Debug)]
enum Layer {
    /// `(e) op 1 op 1 …`, a left-deep chain `n` long.
    Chain(&'static str, usize),
    /// `abs(abs(… e …))`, `n` calls deep (the parser refuses beyond its recursion limit).
    Calls(usize),
    /// `CASE WHEN (e) > 0 THEN (e) ELSE 0 END` (the expression once, the comparison around it).
    Case,
    /// `CASE WHEN (e) IN (0, 1, …) THEN 1 ELSE 0 END`, an `IN` list `n` wide.
    InList(usize),
}

impl Layer {
    /// How many expression levels the layer adds, at least.
    fn depth(&self) -> usize {
        match self {
            Layer::Chain(_, length) => *length,
            Layer::Calls(depth) => *depth,
            Layer::Case | Layer::InList(_) => 2,
        }
    }

    fn wrap(&self, inner: &str) -> String {
        match self {
            Layer::Chain(op, length) => {
                let mut out = format!("({inner})");
                for _ in 0..*length {
                    let _ = write!(out, " {op} 1");
                }
                out
            }
            Layer::Calls(depth) => format!("{}{inner}{}", "abs(".repeat(*depth), ")".repeat(*depth)),
            Layer::Case => format!("CASE WHEN ({inner}) > 0 THEN ({inner}) ELSE 0 END"),
            Layer::InList(width) => {
                let values: Vec<String> = (0..*width).map(|value| value.to_string()).collect();
                format!("CASE WHEN ({inner}) IN ({}) THEN 1 ELSE 0 END", values.join(", "))
            }
        }
    }
}

fn layer() -> impl Strategy<Value = Layer> {
    prop_oneof![
        4 => (prop::sample::select(vec!["+", "-", "*", "%"]), 1usize..1_600).prop_map(|(op, length)| Layer::Chain(op, length)),
        2 => (1usize..70).prop_map(Layer::Calls),
        1 => Just(Layer::Case),
        2 => (1usize..5_000).prop_map(Layer::InList),
    ]
}

/// The statement for `layers` applied in order to `1`, under a `WHERE` of `or_terms` `OR` terms.
fn statement(layers: &[Layer], or_terms: usize) -> String {
    let mut expression = "1".to_owned();
    for layer in layers {
        // A `CASE` doubles the text: keep the statement within a few hundred kilobytes.
        if matches!(layer, Layer::Case) && expression.len() > 100_000 {
            continue;
        }
        expression = layer.wrap(&expression);
    }
    let filter = vec!["v = 1"; or_terms.max(1)].join(" OR ");
    format!("SELECT v FROM (SELECT {expression} AS v) WHERE {filter} OR true")
}

fn run(engine: &QueryEngine, sql: &str) -> Result<usize, QueryError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a test runtime");
    runtime.block_on(async { Ok(engine.query_output(sql).await?.rows()) })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_expression_tree_is_answered_or_refused_with_a_clear_error(
        layers in prop::collection::vec(layer(), 1..5),
        or_terms in 1usize..2_500,
    ) {
        let data = tempfile::tempdir().expect("temporary folder");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a test runtime");
        let engine = runtime
            .block_on(QueryEngine::open(QueryConfig::new(data.path().to_string_lossy())))
            .expect("an empty dataset opens");
        let sql = statement(&layers, or_terms);
        let chained: usize = layers.iter().filter(|layer| matches!(layer, Layer::Chain(..))).map(Layer::depth).max().unwrap_or(0);
        let calls: usize = layers.iter().filter(|layer| matches!(layer, Layer::Calls(_))).map(Layer::depth).sum();
        match run(&engine, &sql) {
            Ok(rows) => {
                prop_assert!(chained <= MAX_EXPRESSION_DEPTH && or_terms <= MAX_EXPRESSION_DEPTH, "answered beyond the depth limit");
                prop_assert!(rows <= 1);
            }
            Err(QueryError::TooComplex(message)) => {
                let depth: usize = layers.iter().map(Layer::depth).sum::<usize>() + or_terms + 8;
                prop_assert!(depth > MAX_EXPRESSION_DEPTH, "refused within the limits: {}", message);
                prop_assert!(message.contains("1000 levels"), "{}", message);
            }
            Err(other) => {
                // Errors of the SQL itself: the parser's nesting limit, an arithmetic overflow.
                let message = other.to_string();
                prop_assert!(!message.is_empty());
                prop_assert!(
                    calls >= 40 || message.contains("overflow") || message.contains("Overflow"),
                    "unexpected error for {} layers: {}", layers.len(), message
                );
            }
        }
        drop(engine);
        drop(runtime);
    }
}

#[test]
fn the_refusal_names_the_limit_and_the_engine_answers_afterwards() {
    let data = tempfile::tempdir().expect("temporary folder");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a test runtime");
    let engine = runtime.block_on(QueryEngine::open(QueryConfig::new(data.path().to_string_lossy()))).expect("opens");
    for terms in [2_000, 20_000] {
        let sql = format!("SELECT 1 WHERE {}", vec!["1 = 1"; terms].join(" OR "));
        match run(&engine, &sql) {
            Err(QueryError::TooComplex(message)) => assert!(message.contains("1000 levels"), "{message}"),
            other => panic!("{terms} OR terms: {other:?}"),
        }
    }
    assert_eq!(run(&engine, "SELECT 1").expect("SELECT 1"), 1);
    // Just within the limit, the deepest chains are planned and run (on a debug build they need
    // between 4 and 8 MiB of stack: query threads overflowed at 4 MiB).
    let depth = MAX_EXPRESSION_DEPTH - 10;
    let sum = format!("SELECT {} AS v", vec!["1"; depth].join(" + "));
    assert_eq!(run(&engine, &sum).expect("a sum just within the limit"), 1);
    let ors = format!("SELECT v FROM (SELECT 1 AS v) WHERE {}", vec!["v = 2"; depth - 5].join(" OR "));
    assert_eq!(run(&engine, &ors).expect("OR terms just within the limit"), 0);
}
