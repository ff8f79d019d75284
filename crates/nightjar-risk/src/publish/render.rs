//! The page templates (minijinja, auto-escaped) and what every page's frame shows: the
//! navigation, the attributions and the table version in the footer.

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, escape_formatter};
use serde::Serialize;

use super::SourceVersion;
use crate::error::RiskError;

/// Every template, by the name pages and `{% extends %}` use.
const TEMPLATES: [(&str, &str); 11] = [
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("index.html", include_str!("templates/index.html")),
    ("risk.html", include_str!("templates/risk.html")),
    ("risks.html", include_str!("templates/risks.html")),
    ("country.html", include_str!("templates/country.html")),
    ("countries.html", include_str!("templates/countries.html")),
    ("port.html", include_str!("templates/port.html")),
    ("ports.html", include_str!("templates/ports.html")),
    ("downloads.html", include_str!("templates/downloads.html")),
    ("methods.html", include_str!("templates/methods.html")),
];

/// Text made safe for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What the frame of every page reads (`site.…` in the templates).
#[derive(Serialize)]
struct SiteGlobals<'a> {
    source: Option<SourceView<'a>>,
}

#[derive(Serialize)]
struct SourceView<'a> {
    version: u64,
    committed_at: Option<&'a str>,
}

/// The templates, ready to render pages.
pub(crate) struct Renderer {
    env: Environment<'static>,
}

impl Renderer {
    /// The templates with the site's shared parts; `source` is named in every footer.
    pub(crate) fn new(source: Option<&SourceVersion>) -> Result<Renderer, RiskError> {
        let mut env = Environment::new();
        // Text is escaped as HTML needs it (`& < > " '`), leaving `/` as it is so that links read
        // `data/risks.csv`; everything else is minijinja's own escaping.
        env.set_formatter(|out, state, value| match (state.auto_escape(), value.as_str()) {
            (AutoEscape::Html, Some(text)) if !value.is_safe() => {
                out.write_str(&escape(text)).map_err(|_| Error::new(ErrorKind::WriteFailure, "writing a page failed"))
            }
            _ => escape_formatter(out, state, value),
        });
        for (name, text) in TEMPLATES {
            env.add_template(name, text).map_err(|e| RiskError::encode(format!("template {name}"), e))?;
        }
        let globals = SiteGlobals {
            source: source.map(|s| SourceView { version: s.version, committed_at: s.committed_at.as_deref() }),
        };
        env.add_global("site", minijinja::Value::from(Serde(&globals)));
        Ok(Renderer { env })
    }

    /// The page `template` filled from `context` (which names its `title`, and `map: true` when
    /// the page draws the shared map).
    pub(crate) fn page(&self, template: &str, context: &impl Serialize) -> Result<String, RiskError> {
        let page = self.env.get_template(template).map_err(|e| RiskError::encode(format!("page {template}"), e))?;
        page.render(Serde(context)).map_err(|e| RiskError::encode(format!("page {template}"), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_escape_what_they_are_given() {
        let renderer = Renderer::new(Some(&SourceVersion { version: 7, committed_at: None })).expect("templates parse");
        #[derive(Serialize)]
        struct Context {
            title: &'static str,
            risks: Vec<serde_json::Value>,
        }
        let risk =
            serde_json::json!({"id": 1, "href": "risk-x.html", "title": "<b>x</b>", "taxonomy": "t", "rule": "r"});
        let html = renderer.page("risks.html", &Context { title: "A & B", risks: vec![risk] }).expect("renders");
        assert!(html.contains("<title>A &amp; B</title>"), "{html}");
        assert!(html.contains("<a href=\"risk-x.html\">&lt;b&gt;x&lt;/b&gt;</a>"), "{html}");
        assert!(html.contains("--as-of 7"), "{html}");
        assert!(!html.contains("assets/map.js"), "a page without a map loads no map");
    }
}
