//! Just enough GraphQL: a real parser reads the document, variables and fragments are resolved into a plain
//! selection tree, root fields are answered by the shop, and the answer is projected onto the selection
//! (aliases, nested `first`/`after`, `quantities(names:)`, `inventoryLevel(locationId:)`). Costs follow
//! Shopify's published rules: scalars and enums 0, objects 1, connections 2 + size × the cost of one item,
//! mutations 10.

use async_graphql_parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql_parser::{Positioned, parse_query};
use async_graphql_value::{ConstValue, Name};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Items per connection at most, as Shopify allows.
pub const MAX_PAGE: u64 = 250;
/// Points one mutation costs.
pub const MUTATION_COST: u64 = 10;

/// One selected field with its arguments resolved.
#[derive(Debug, Clone)]
pub struct Sel {
    pub name: String,
    /// The key in the answer: the alias, else the name.
    pub key: String,
    pub args: Map<String, Value>,
    pub children: Vec<Sel>,
}

impl Sel {
    pub fn arg_u64(&self, name: &str) -> Option<u64> {
        self.args.get(name).and_then(Value::as_u64)
    }

    pub fn arg_str(&self, name: &str) -> Option<&str> {
        self.args.get(name).and_then(Value::as_str)
    }

    /// A connection is selected through `edges` or `nodes`.
    pub fn is_connection(&self) -> bool {
        self.children
            .iter()
            .any(|c| c.name == "edges" || c.name == "nodes")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Query,
    Mutation,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub kind: OpKind,
    pub fields: Vec<Sel>,
}

/// A GraphQL error as Shopify words it.
#[derive(Debug, Clone)]
pub struct GqlError {
    pub message: String,
    pub code: Option<&'static str>,
}

impl GqlError {
    pub fn new(message: impl Into<String>, code: Option<&'static str>) -> Self {
        Self {
            message: message.into(),
            code,
        }
    }

    pub fn json(&self) -> Value {
        match self.code {
            Some(code) => json!({"message": self.message, "extensions": {"code": code}}),
            None => json!({"message": self.message}),
        }
    }
}

/// Parses `query` and picks the operation to run (by name when there are several).
pub fn parse(
    query: &str,
    operation_name: Option<&str>,
    variables: &Map<String, Value>,
) -> Result<Operation, GqlError> {
    let doc: ExecutableDocument =
        parse_query(query).map_err(|e| GqlError::new(format!("Parse error: {e}"), None))?;
    let op = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, op)| op)
            .ok_or_else(|| GqlError::new(format!("No operation named \"{name}\""), None))?,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops
            .values()
            .next()
            .ok_or_else(|| GqlError::new("No operation", None))?,
        (DocumentOperations::Multiple(_), None) => {
            return Err(GqlError::new(
                "An operation name is required when the document has several",
                None,
            ));
        }
    };
    let kind = match op.node.ty {
        OperationType::Query => OpKind::Query,
        OperationType::Mutation => OpKind::Mutation,
        OperationType::Subscription => {
            return Err(GqlError::new("Subscriptions are not supported", None));
        }
    };
    // Defaults of declared variables apply where the request leaves them out.
    let mut vars: HashMap<String, Value> = variables
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for def in &op.node.variable_definitions {
        let name = def.node.name.node.to_string();
        if let (false, Some(default)) = (vars.contains_key(&name), &def.node.default_value) {
            let value = default
                .node
                .clone()
                .into_json()
                .map_err(|e| GqlError::new(e.to_string(), None))?;
            vars.insert(name, value);
        }
    }
    let fields = selections(&op.node.selection_set, &doc.fragments, &vars, 0)?;
    Ok(Operation { kind, fields })
}

fn selections(
    set: &Positioned<SelectionSet>,
    fragments: &HashMap<Name, Positioned<FragmentDefinition>>,
    vars: &HashMap<String, Value>,
    depth: usize,
) -> Result<Vec<Sel>, GqlError> {
    if depth > 30 {
        return Err(GqlError::new("Query has too many levels", None));
    }
    let mut out = Vec::new();
    for item in &set.node.items {
        match &item.node {
            Selection::Field(field) => {
                let f = &field.node;
                let mut args = Map::new();
                for (name, value) in &f.arguments {
                    let resolved = value
                        .node
                        .clone()
                        .into_const_with(|var: Name| {
                            Ok::<_, GqlError>(match vars.get(var.as_str()) {
                                Some(v) => ConstValue::from_json(v.clone())
                                    .map_err(|e| GqlError::new(e.to_string(), None))?,
                                None => ConstValue::Null,
                            })
                        })?
                        .into_json()
                        .map_err(|e| GqlError::new(e.to_string(), None))?;
                    args.insert(name.node.to_string(), resolved);
                }
                let name = f.name.node.to_string();
                out.push(Sel {
                    key: f
                        .alias
                        .as_ref()
                        .map_or_else(|| name.clone(), |a| a.node.to_string()),
                    name,
                    args,
                    children: selections(&f.selection_set, fragments, vars, depth + 1)?,
                });
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                let fragment = fragments.get(name).ok_or_else(|| {
                    GqlError::new(format!("Fragment {name} was used, but not defined"), None)
                })?;
                out.extend(selections(
                    &fragment.node.selection_set,
                    fragments,
                    vars,
                    depth + 1,
                )?);
            }
            Selection::InlineFragment(inline) => {
                out.extend(selections(
                    &inline.node.selection_set,
                    fragments,
                    vars,
                    depth + 1,
                )?);
            }
        }
    }
    Ok(out)
}

/// Refuses connections without a size or with too large a one, as Shopify does before running anything.
pub fn check_sizes(fields: &[Sel]) -> Result<(), GqlError> {
    for f in fields {
        if f.is_connection() {
            match f.arg_u64("first").or_else(|| f.arg_u64("last")) {
                None => {
                    return Err(GqlError::new(
                        format!(
                            "you must provide one of first or last on the `{}` connection",
                            f.name
                        ),
                        None,
                    ));
                }
                Some(n) if n > MAX_PAGE => {
                    return Err(GqlError::new(
                        format!(
                            "The page size on `{}` cannot exceed {MAX_PAGE}, got {n}",
                            f.name
                        ),
                        None,
                    ));
                }
                Some(_) => {}
            }
        }
        check_sizes(&f.children)?;
    }
    Ok(())
}

/// The cost Shopify charges before running a query: the worst case of every connection's size.
pub fn requested_cost(op: &Operation) -> u64 {
    match op.kind {
        OpKind::Mutation => MUTATION_COST * op.fields.len() as u64,
        OpKind::Query => op.fields.iter().map(field_cost).sum(),
    }
}

fn field_cost(f: &Sel) -> u64 {
    if f.children.is_empty() || f.name == "pageInfo" {
        return 0;
    }
    let inner: u64 = f.children.iter().map(field_cost).sum();
    match f.name.as_str() {
        // Edges only wrap their nodes.
        "edges" => inner,
        _ if f.is_connection() => {
            let size = f
                .arg_u64("first")
                .or_else(|| f.arg_u64("last"))
                .unwrap_or(0);
            2 + size * inner
        }
        _ => 1 + inner,
    }
}

/// Projects `value` (an object) onto `sels`; `cost` collects the actual cost of what was returned.
pub fn project(value: &Value, sels: &[Sel], cost: &mut u64) -> Value {
    let mut out = Map::new();
    for s in sels {
        let field = field_value(value, s);
        let projected = if s.children.is_empty() {
            field
        } else {
            project_value(&field, s, cost)
        };
        out.insert(s.key.clone(), projected);
    }
    Value::Object(out)
}

fn project_value(value: &Value, s: &Sel, cost: &mut u64) -> Value {
    match value {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| {
                    if s.name != "edges" {
                        *cost += 1;
                    }
                    project_value_object(item, s, cost)
                })
                .collect(),
        ),
        Value::Object(_) => {
            *cost += match s.name.as_str() {
                "pageInfo" => 0,
                _ if s.is_connection() => 2,
                _ => 1,
            };
            project(value, &s.children, cost)
        }
        other => other.clone(),
    }
}

fn project_value_object(item: &Value, s: &Sel, cost: &mut u64) -> Value {
    match item {
        Value::Object(_) => project(item, &s.children, cost),
        other => other.clone(),
    }
}

/// A field's value before projection, with the arguments that narrow it applied.
fn field_value(parent: &Value, s: &Sel) -> Value {
    match s.name.as_str() {
        "inventoryLevel" => {
            let wanted = s.arg_str("locationId").unwrap_or("");
            return parent
                .pointer("/inventoryLevels/nodes")
                .and_then(Value::as_array)
                .and_then(|levels| {
                    levels
                        .iter()
                        .find(|l| l.pointer("/location/id").and_then(Value::as_str) == Some(wanted))
                })
                .cloned()
                .unwrap_or(Value::Null);
        }
        "quantities" => {
            let all = parent.get("quantities").cloned().unwrap_or(Value::Null);
            let Some(names) = s.args.get("names").and_then(Value::as_array) else {
                return all;
            };
            let all = all.as_array().cloned().unwrap_or_default();
            return Value::Array(
                names
                    .iter()
                    .filter_map(|n| all.iter().find(|q| q.get("name") == Some(n)).cloned())
                    .collect(),
            );
        }
        _ => {}
    }
    let value = parent.get(&s.name).cloned().unwrap_or(Value::Null);
    let first = s.arg_u64("first").map(|n| n as usize);
    match value {
        Value::Array(items) => Value::Array(match first {
            Some(n) => items.into_iter().take(n).collect(),
            None => items,
        }),
        Value::Object(map) if map.contains_key("edges") && s.is_connection() => {
            narrow(map, first, s.arg_str("after"))
        }
        other => other,
    }
}

/// Applies `after` and `first` to a nested connection.
fn narrow(map: Map<String, Value>, first: Option<usize>, after: Option<&str>) -> Value {
    let edges = map
        .get("edges")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let start = after.map_or(0, |a| {
        edges
            .iter()
            .position(|e| e.get("cursor").and_then(Value::as_str) == Some(a))
            .map_or(edges.len(), |i| i + 1)
    });
    let end = first.map_or(edges.len(), |n| (start + n).min(edges.len()));
    let page: Vec<(String, Value)> = edges[start.min(end)..end]
        .iter()
        .map(|e| {
            (
                e.get("cursor")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                e.get("node").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    super::nodes::connection(page, end < edges.len(), start > 0)
}

/// One term of a search query (`updated_at:>='2025-01-01T00:00:00Z'`, `sku:SHP-0001`).
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub field: String,
    pub op: &'static str,
    pub value: String,
}

/// Shopify's search syntax, the part connectors use: terms joined by `AND` (or a space), alternatives by
/// `OR`. Returns the alternatives, each a list of terms that must all hold.
pub fn search(query: &str) -> Vec<Vec<Term>> {
    let tokens = tokens(query);
    let mut alternatives: Vec<Vec<Term>> = vec![Vec::new()];
    for token in tokens {
        match token.as_str() {
            "OR" => alternatives.push(Vec::new()),
            "AND" => {}
            t => {
                let Some((field, rest)) = t.split_once(':') else {
                    // A bare word searches the default fields; the simulator matches it against nothing.
                    if let Some(last) = alternatives.last_mut() {
                        last.push(Term {
                            field: String::new(),
                            op: "=",
                            value: t.to_owned(),
                        });
                    }
                    continue;
                };
                let (op, value) = ["<=", ">=", "<", ">"]
                    .into_iter()
                    .find_map(|op| rest.strip_prefix(op).map(|v| (op, v)))
                    .unwrap_or(("=", rest));
                if let Some(last) = alternatives.last_mut() {
                    last.push(Term {
                        field: field.to_owned(),
                        op,
                        value: unquote(value).to_owned(),
                    });
                }
            }
        }
    }
    alternatives.retain(|a| !a.is_empty());
    alternatives
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['\'', '"'] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

/// Splits on spaces outside quotes.
fn tokens(query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for ch in query.chars() {
        match (quote, ch) {
            (None, '\'' | '"') => {
                quote = Some(ch);
                current.push(ch);
            }
            (Some(q), c) if c == q => {
                quote = None;
                current.push(c);
            }
            (None, c) if c.is_whitespace() => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            (_, c) => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Whether a value compares to a term's value as the term's operator says (strings compare as written;
/// callers pass times as unix seconds).
pub fn compare<T: PartialOrd>(actual: T, op: &str, expected: T) -> bool {
    match op {
        ">=" => actual >= expected,
        "<=" => actual <= expected,
        ">" => actual > expected,
        "<" => actual < expected,
        _ => actual == expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_and_alternatives() {
        let parsed =
            search("updated_at:>='2025-01-01T00:00:00Z' AND updated_at:<\"2025-02-01T00:00:00Z\"");
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0][0].op, ">=");
        assert_eq!(parsed[0][0].value, "2025-01-01T00:00:00Z");
        assert_eq!(parsed[0][1].op, "<");
        let parsed = search("sku:'A 1' OR sku:B");
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0][0].value, "A 1");
        assert_eq!(parsed[1][0].value, "B");
    }

    #[test]
    fn costs_follow_the_published_rules() {
        let op = parse(
            "{ shop { name } orders(first: 10) { edges { node { id customer { id } lineItems(first: 5) { nodes { id variant { id } } } } } pageInfo { hasNextPage } } }",
            None,
            &Map::new(),
        )
        .expect("parses");
        // shop 1; orders 2 + 10 × (node 1 + customer 1 + lineItems (2 + 5 × (node 1 + variant 1))).
        assert_eq!(requested_cost(&op), 1 + 2 + 10 * (1 + 1 + 2 + 5 * 2));
    }
}
