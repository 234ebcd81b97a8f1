//! Spans grouped into traces and arranged as trees by parent span id.

use std::collections::HashMap;

use crate::span::SpanInfo;

/// One trace, its spans in display order (depth-first, siblings by start time).
#[derive(Debug)]
pub struct Trace {
    pub id: String,
    pub spans: Vec<SpanInfo>,
    /// Tree glyphs to print before each span's name (`├─ `, `│  └─ `, ...).
    pub prefixes: Vec<String>,
    /// Each span's `feature.name`, or its nearest ancestor's.
    pub features: Vec<Option<String>>,
}

/// Sums over the model calls of a set of spans.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    pub calls: usize,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    pub unknown_cost: usize,
    pub errors: usize,
}

impl Totals {
    pub fn add(&mut self, span: &SpanInfo) {
        if span.is_model_call() {
            self.calls += 1;
            self.input_tokens += span.input_tokens.unwrap_or(0);
            self.output_tokens += span.output_tokens.unwrap_or(0);
            match span.cost_usd {
                Some(c) => self.cost_usd += c,
                None => self.unknown_cost += 1,
            }
        }
        if span.error.is_some() {
            self.errors += 1;
        }
    }
}

impl Trace {
    pub fn start_ns(&self) -> u64 {
        self.spans.iter().map(|s| s.start_ns).min().unwrap_or(0)
    }

    /// The first value of a per-span field in display order, so a root span's value wins.
    pub fn first<T: Clone>(&self, field: impl Fn(&SpanInfo) -> Option<&T>) -> Option<T> {
        self.spans.iter().find_map(|s| field(s).cloned())
    }

    pub fn service(&self) -> Option<String> {
        self.first(|s| s.service.as_ref())
    }

    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        self.spans.iter().for_each(|s| totals.add(s));
        totals
    }

    pub fn has_service(&self, service: &str) -> bool {
        self.spans
            .iter()
            .any(|s| s.service.as_deref() == Some(service))
    }
}

/// Groups spans by trace id, oldest trace first.
pub fn build(spans: Vec<SpanInfo>) -> Vec<Trace> {
    let mut by_trace: HashMap<String, Vec<SpanInfo>> = HashMap::new();
    for span in spans {
        by_trace
            .entry(span.trace_id.clone())
            .or_default()
            .push(span);
    }
    let mut traces: Vec<Trace> = by_trace
        .into_iter()
        .map(|(id, spans)| arrange(id, spans))
        .collect();
    traces.sort_by(|a, b| {
        a.start_ns()
            .cmp(&b.start_ns())
            .then_with(|| a.id.cmp(&b.id))
    });
    traces
}

fn arrange(id: String, spans: Vec<SpanInfo>) -> Trace {
    let index: HashMap<&str, usize> = spans
        .iter()
        .enumerate()
        .rev() // the first span with a given id wins
        .map(|(i, s)| (s.span_id.as_str(), i))
        .collect();
    let parent_of = |i: usize| -> Option<usize> {
        let p = *index.get(spans[i].parent_id.as_str())?;
        (p != i).then_some(p)
    };

    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for i in 0..spans.len() {
        match parent_of(i) {
            Some(p) => children.entry(p).or_default().push(i),
            // A root, or an orphan whose parent is not in the store: top level of its trace.
            None => roots.push(i),
        }
    }
    let by_start = |a: &usize, b: &usize| {
        let (a, b) = (&spans[*a], &spans[*b]);
        a.start_ns
            .cmp(&b.start_ns)
            .then_with(|| a.name.cmp(&b.name))
    };
    roots.sort_by(by_start);
    children.values_mut().for_each(|c| c.sort_by(by_start));

    let features: Vec<Option<String>> = (0..spans.len())
        .map(|i| {
            let mut at = i;
            // Bounded walk: a corrupt store may contain a parent cycle.
            for _ in 0..spans.len() {
                if let Some(f) = &spans[at].feature {
                    return Some(f.clone());
                }
                at = parent_of(at)?;
            }
            None
        })
        .collect();

    let mut order: Vec<(usize, String)> = Vec::with_capacity(spans.len());
    let mut visited = vec![false; spans.len()];
    let walk_from = |root: usize, order: &mut Vec<(usize, String)>, visited: &mut [bool]| {
        // (span, glyphs for its descendants' continuation lines, its own prefix)
        let mut stack = vec![(root, String::new(), String::new())];
        while let Some((i, indent, prefix)) = stack.pop() {
            if std::mem::replace(&mut visited[i], true) {
                continue;
            }
            order.push((i, prefix));
            let kids = children.get(&i).map(Vec::as_slice).unwrap_or_default();
            for (k, &child) in kids.iter().enumerate().rev() {
                let last = k + 1 == kids.len();
                let glyph = if last { "└─ " } else { "├─ " };
                let next_indent = format!("{indent}{}", if last { "   " } else { "│  " });
                stack.push((child, next_indent, format!("{indent}{glyph}")));
            }
        }
    };
    for &root in &roots {
        walk_from(root, &mut order, &mut visited);
    }
    // Spans caught in a parent cycle are unreachable from any root; show them anyway.
    for i in 0..spans.len() {
        if !visited[i] {
            walk_from(i, &mut order, &mut visited);
        }
    }

    let mut slots: Vec<Option<SpanInfo>> = spans.into_iter().map(Some).collect();
    let mut arranged = Trace {
        id,
        spans: Vec::with_capacity(order.len()),
        prefixes: Vec::with_capacity(order.len()),
        features: Vec::with_capacity(order.len()),
    };
    for (i, prefix) in order {
        if let Some(span) = slots[i].take() {
            arranged.spans.push(span);
            arranged.prefixes.push(prefix);
            arranged.features.push(features[i].clone());
        }
    }
    arranged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: &str, start: u64, feature: Option<&str>) -> SpanInfo {
        SpanInfo {
            trace_id: "t".into(),
            span_id: id.into(),
            parent_id: parent.into(),
            name: id.into(),
            start_ns: start,
            end_ns: start + 1,
            service: None,
            operation: None,
            model: None,
            requested_model: None,
            input_tokens: None,
            output_tokens: None,
            estimated: false,
            cost_usd: None,
            error: None,
            status_message: String::new(),
            user_id: None,
            session_id: None,
            feature: feature.map(str::to_string),
            attributes: Vec::new(),
        }
    }

    fn layout(trace: &Trace) -> Vec<String> {
        trace
            .spans
            .iter()
            .zip(&trace.prefixes)
            .map(|(s, p)| format!("{p}{}", s.name))
            .collect()
    }

    #[test]
    fn children_sit_under_parents_in_start_order_and_orphans_at_top_level() {
        let spans = vec![
            span("c2", "root", 30, None),
            span("g1", "c1", 15, None),
            span("root", "", 0, Some("faq")),
            span("c1", "root", 10, None),
            span("orphan", "gone", 5, None),
        ];
        let traces = build(spans);
        assert_eq!(traces.len(), 1);
        assert_eq!(
            layout(&traces[0]),
            ["root", "├─ c1", "│  └─ g1", "└─ c2", "orphan"]
        );
        let features: Vec<Option<&str>> = traces[0].features.iter().map(|f| f.as_deref()).collect();
        assert_eq!(
            features,
            [Some("faq"), Some("faq"), Some("faq"), Some("faq"), None]
        );
    }

    #[test]
    fn parent_cycles_do_not_hang_or_lose_spans() {
        let spans = vec![
            span("a", "b", 0, None),
            span("b", "a", 1, None),
            span("self", "self", 2, None),
        ];
        let traces = build(spans);
        assert_eq!(layout(&traces[0]), ["self", "a", "└─ b"]);
        assert!(traces[0].features.iter().all(Option::is_none));
    }
}
