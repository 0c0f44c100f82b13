//! Limits checked on the parsed document before validation or execution. async-graphql validates and scores
//! a document by walking it with fragment spreads expanded, so a few hundred bytes of nested fragments (each
//! spreading the previous one ten times) expand to billions of fields and keep a core busy for a minute before
//! any limit fires. Here each fragment is measured once (memoised), so the expanded size of any document is
//! known in time linear in its text, and oversized ones are refused in microseconds.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::{Name, Positioned};
use creatorflow_core::ErrorCode;
use std::collections::HashMap;

/// Named fragments one document may define.
pub const MAX_FRAGMENTS: usize = 100;

/// Depth needs no check here: nesting costs the engine time linear in the text, and it enforces
/// `max_depth` itself with one code (`QUERY_TOO_DEEP`).
#[derive(Debug, Clone, Copy)]
pub struct DocumentLimits {
    /// Fields after expanding every spread; each field costs at least 1 in the complexity score, so a
    /// document over `max_complexity` expanded fields can never pass the complexity check anyway.
    pub max_fields: usize,
    /// Root fields (aliases included) of one mutation.
    pub max_root_fields: usize,
}

#[derive(Clone, Copy, Default)]
struct Size {
    fields: u64,
}

/// Refuses a document whose expanded size, fragment count or mutation width is beyond the limits.
pub fn check(doc: &ExecutableDocument, limits: &DocumentLimits) -> Result<(), (ErrorCode, String)> {
    if doc.fragments.len() > MAX_FRAGMENTS {
        return Err((
            ErrorCode::QueryTooComplex,
            format!(
                "the document defines {} fragments; at most {MAX_FRAGMENTS} are accepted",
                doc.fragments.len()
            ),
        ));
    }
    let mut sizer = Sizer {
        fragments: &doc.fragments,
        memo: HashMap::new(),
        visiting: Vec::new(),
    };
    let operations: Vec<(OperationType, &Positioned<SelectionSet>)> = match &doc.operations {
        DocumentOperations::Single(op) => vec![(op.node.ty, &op.node.selection_set)],
        DocumentOperations::Multiple(map) => map
            .values()
            .map(|op| (op.node.ty, &op.node.selection_set))
            .collect(),
    };
    for (ty, set) in operations {
        let size = sizer.set(set)?;
        if size.fields > limits.max_fields as u64 {
            return Err((
                ErrorCode::QueryTooComplex,
                format!(
                    "the operation selects {} fields once fragments are expanded; at most {} (graphql.max_complexity)",
                    size.fields, limits.max_fields
                ),
            ));
        }
        if ty == OperationType::Mutation {
            let roots = sizer.root_fields(set)?;
            if roots > limits.max_root_fields as u64 {
                return Err((
                    ErrorCode::QueryTooComplex,
                    format!(
                        "the mutation has {roots} root fields; at most {} (graphql.max_root_fields)",
                        limits.max_root_fields
                    ),
                ));
            }
        }
    }
    Ok(())
}

struct Sizer<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    memo: HashMap<&'a str, Size>,
    visiting: Vec<&'a str>,
}

impl<'a> Sizer<'a> {
    fn set(&mut self, set: &'a Positioned<SelectionSet>) -> Result<Size, (ErrorCode, String)> {
        let mut total = Size::default();
        for item in &set.node.items {
            let size = match &item.node {
                Selection::Field(f) => {
                    let inner = self.set(&f.node.selection_set)?;
                    Size {
                        fields: inner.fields.saturating_add(1),
                    }
                }
                Selection::InlineFragment(f) => self.set(&f.node.selection_set)?,
                Selection::FragmentSpread(s) => self.fragment(&s.node.fragment_name.node)?,
            };
            total.fields = total.fields.saturating_add(size.fields);
        }
        Ok(total)
    }

    fn fragment(&mut self, name: &'a Name) -> Result<Size, (ErrorCode, String)> {
        let key = name.as_str();
        if let Some(size) = self.memo.get(key) {
            return Ok(*size);
        }
        if self.visiting.contains(&key) {
            return Err((
                ErrorCode::GraphqlValidationFailed,
                format!("fragment `{key}` spreads itself"),
            ));
        }
        // An unknown fragment is left for validation to report with its location.
        let Some(def) = self.fragments.get(name) else {
            return Ok(Size::default());
        };
        self.visiting.push(key);
        let size = self.set(&def.node.selection_set);
        self.visiting.pop();
        let size = size?;
        self.memo.insert(key, size);
        Ok(size)
    }

    /// Fields at the root of `set`, looking through fragments.
    fn root_fields(
        &mut self,
        set: &'a Positioned<SelectionSet>,
    ) -> Result<u64, (ErrorCode, String)> {
        let mut n = 0u64;
        for item in &set.node.items {
            n = n.saturating_add(match &item.node {
                Selection::Field(_) => 1,
                Selection::InlineFragment(f) => self.root_fields(&f.node.selection_set)?,
                Selection::FragmentSpread(s) => {
                    match self.fragments.get(&s.node.fragment_name.node) {
                        Some(def)
                            if !self.visiting.contains(&s.node.fragment_name.node.as_str()) =>
                        {
                            self.visiting.push(s.node.fragment_name.node.as_str());
                            let r = self.root_fields(&def.node.selection_set);
                            self.visiting.pop();
                            r?
                        }
                        _ => 0,
                    }
                }
            });
        }
        Ok(n)
    }
}

/// The request path's work on a document before validation: parse it, then measure it. For the fuzz target and
/// its corpus replay; panics are the only failure.
pub fn fuzz_document(text: &str) {
    if let Ok(doc) = async_graphql::parser::parse_query(text) {
        let _ = check(
            &doc,
            &DocumentLimits {
                max_fields: 2000,
                max_root_fields: 50,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> DocumentLimits {
        DocumentLimits {
            max_fields: 2000,
            max_root_fields: 50,
        }
    }

    fn check_text(q: &str) -> Result<(), (ErrorCode, String)> {
        check(
            &async_graphql::parser::parse_query(q).expect("parses"),
            &limits(),
        )
    }

    /// Eight levels of fragments, each spreading the previous one ten times: 10^8 fields once expanded.
    fn fragment_bomb() -> String {
        let mut q = String::from("fragment F0 on Query { viewer { role } }\n");
        for i in 1..=8 {
            let spreads = (0..10)
                .map(|_| format!("...F{}", i - 1))
                .collect::<Vec<_>>()
                .join(" ");
            q.push_str(&format!("fragment F{i} on Query {{ {spreads} }}\n"));
        }
        q.push_str("query { ...F8 }");
        q
    }

    #[test]
    fn a_fragment_bomb_is_refused_at_once() {
        let q = fragment_bomb();
        assert!(q.len() < 1000);
        let started = std::time::Instant::now();
        let err = check_text(&q).expect_err("refused");
        assert_eq!(err.0, ErrorCode::QueryTooComplex);
        assert!(started.elapsed() < std::time::Duration::from_millis(50));
    }

    #[test]
    fn wide_mutations_are_refused() {
        let fields: String = (0..51)
            .map(|i| {
                format!("m{i}: createWorkspace(input: {{slug: \"s{i}\", name: \"n\"}}) {{ id }}\n")
            })
            .collect();
        let err = check_text(&format!("mutation {{ {fields} }}")).expect_err("wide");
        assert_eq!(err.0, ErrorCode::QueryTooComplex);
        let ok: String = (0..50)
            .map(|i| {
                format!("m{i}: createWorkspace(input: {{slug: \"s{i}\", name: \"n\"}}) {{ id }}\n")
            })
            .collect();
        assert!(check_text(&format!("mutation {{ {ok} }}")).is_ok());
    }

    #[test]
    fn self_spreading_fragments_do_not_loop() {
        let err =
            check_text("fragment A on Query { ...B } fragment B on Query { ...A } query { ...A }")
                .expect_err("cycle");
        assert_eq!(err.0, ErrorCode::GraphqlValidationFailed);
    }
}
