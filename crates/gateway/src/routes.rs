//! The route table of one (group, environment): which published API a method and path select.
//!
//! Three tiers, tried in order (spec §3.6 step 3):
//! 1. exact `NORMAL` paths without parameters, in a hash map keyed by path;
//! 2. `NORMAL` paths with `{param}` segments, the more literal (earlier) segments first;
//! 3. `SWA` prefixes, longest first, matching on segment boundaries.
//!
//! In each tier a route registered for the request's method beats one registered for `ANY`. A
//! match borrows from the table and the request path; nothing is allocated while matching.

use crate::config::{MatchMode, ReqMethod};
use http::Method;
use std::collections::HashMap;

/// Index of an API in the snapshot's API list.
pub(crate) type ApiIdx = u32;

/// The routes of one group in one environment.
#[derive(Debug, Default)]
pub(crate) struct RouteTable {
    exact: HashMap<Box<str>, MethodRoutes, crate::IndexHasher>,
    patterns: Vec<PatternRoute>,
    prefixes: Vec<PatternRoute>,
}

/// The APIs registered on one path, by method.
#[derive(Debug, Default)]
struct MethodRoutes {
    by_method: Vec<(Method, ApiIdx)>,
    any: Option<ApiIdx>,
}

impl MethodRoutes {
    /// Registers `api`; returns false if the slot is taken (the first registration wins).
    fn insert(&mut self, method: &ReqMethod, api: ApiIdx) -> bool {
        match method {
            ReqMethod::Any if self.any.is_some() => false,
            ReqMethod::Any => {
                self.any = Some(api);
                true
            }
            ReqMethod::Only(m) if self.by_method.iter().any(|(x, _)| x == m) => false,
            ReqMethod::Only(m) => {
                self.by_method.push((m.clone(), api));
                true
            }
        }
    }

    fn select(&self, method: &Method, accept: &impl Fn(ApiIdx) -> bool) -> Option<ApiIdx> {
        let exact = self
            .by_method
            .iter()
            .find(|(m, _)| m == method)
            .map(|&(_, api)| api)
            .filter(|&api| accept(api));
        exact.or_else(|| self.any.filter(|&api| accept(api)))
    }
}

/// One path segment of a route pattern.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    Literal(Box<str>),
    Param(Box<str>),
}

#[derive(Debug)]
struct PatternRoute {
    segments: Box<[Segment]>,
    methods: MethodRoutes,
}

/// The result of a match: the API and what the proxy needs from the path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteMatch<'s, 'r> {
    /// The selected API.
    pub api: ApiIdx,
    /// The matched pattern (empty for exact routes), to read `{param}` values.
    pattern: &'s [Segment],
    /// The request path.
    path: &'r str,
    /// For `SWA` routes, the part of the path after the prefix (empty or starting with `/`).
    pub suffix: &'r str,
}

impl<'r> RouteMatch<'_, 'r> {
    /// A match of an exact route for `path` (for tests of what reads a call).
    #[cfg(test)]
    pub(crate) fn empty(path: &'r str) -> Self {
        RouteMatch {
            api: 0,
            pattern: &[],
            path,
            suffix: "",
        }
    }

    /// The raw (still percent-encoded) value of path parameter `{name}`.
    pub fn param(&self, name: &str) -> Option<&'r str> {
        self.pattern
            .iter()
            .zip(segments(self.path))
            .find_map(|(segment, value)| match segment {
                Segment::Param(p) if &**p == name => Some(value),
                _ => None,
            })
    }
}

/// The segments of a path: `/a/b` → `a`, `b`; `/` → one empty segment.
fn segments(path: &str) -> std::str::Split<'_, char> {
    path.strip_prefix('/').unwrap_or(path).split('/')
}

/// Parses `req_uri` into segments (`{name}` → parameter).
fn parse_pattern(uri: &str) -> Vec<Segment> {
    segments(uri)
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) if !name.is_empty() => Segment::Param(name.into()),
                _ => Segment::Literal(s.into()),
            },
        )
        .collect()
}

impl RouteTable {
    /// Registers an API; returns false when another API already holds the same method and
    /// path (the store forbids this; the first one wins).
    pub fn insert(&mut self, mode: MatchMode, method: &ReqMethod, uri: &str, api: ApiIdx) -> bool {
        let mut pattern = parse_pattern(uri);
        let has_params = pattern.iter().any(|s| matches!(s, Segment::Param(_)));
        match mode {
            MatchMode::Normal if !has_params => self
                .exact
                .entry(uri.into())
                .or_default()
                .insert(method, api),
            MatchMode::Normal => Self::insert_pattern(&mut self.patterns, pattern, method, api),
            MatchMode::Swa => {
                // `/files/` and `/files` are the same prefix; `/` matches everything.
                if pattern.last() == Some(&Segment::Literal("".into())) {
                    pattern.pop();
                }
                Self::insert_pattern(&mut self.prefixes, pattern, method, api)
            }
        }
    }

    fn insert_pattern(
        list: &mut Vec<PatternRoute>,
        segments: Vec<Segment>,
        method: &ReqMethod,
        api: ApiIdx,
    ) -> bool {
        if let Some(route) = list.iter_mut().find(|r| *r.segments == *segments) {
            return route.methods.insert(method, api);
        }
        let mut methods = MethodRoutes::default();
        methods.insert(method, api);
        list.push(PatternRoute {
            segments: segments.into(),
            methods,
        });
        true
    }

    /// Orders the pattern tiers for matching; call once after the last insert.
    pub fn finish(&mut self) {
        // More segments first; at equal length, a literal beats a parameter at the first
        // position where they differ.
        let key = |r: &PatternRoute| {
            let shape: Vec<bool> = r
                .segments
                .iter()
                .map(|s| matches!(s, Segment::Param(_)))
                .collect();
            (std::cmp::Reverse(r.segments.len()), shape)
        };
        self.patterns.sort_by_cached_key(key);
        self.prefixes.sort_by_cached_key(|r| {
            let literal: usize = r
                .segments
                .iter()
                .map(|s| match s {
                    Segment::Literal(l) => l.len() + 1,
                    Segment::Param(_) => 0,
                })
                .sum();
            (
                std::cmp::Reverse(r.segments.len()),
                std::cmp::Reverse(literal),
            )
        });
    }

    /// Finds the API for `method` and `path`, considering only APIs that `accept` (the listener
    /// may not serve every API).
    pub fn find<'s, 'r>(
        &'s self,
        method: &Method,
        path: &'r str,
        accept: impl Fn(ApiIdx) -> bool,
    ) -> Option<RouteMatch<'s, 'r>> {
        if let Some(api) = self.exact.get(path).and_then(|m| m.select(method, &accept)) {
            return Some(RouteMatch {
                api,
                pattern: &[],
                path,
                suffix: "",
            });
        }
        for route in &self.patterns {
            if matches_exactly(&route.segments, path) {
                if let Some(api) = route.methods.select(method, &accept) {
                    return Some(RouteMatch {
                        api,
                        pattern: &route.segments,
                        path,
                        suffix: "",
                    });
                }
            }
        }
        for route in &self.prefixes {
            if let Some(suffix) = matches_prefix(&route.segments, path) {
                if let Some(api) = route.methods.select(method, &accept) {
                    return Some(RouteMatch {
                        api,
                        pattern: &route.segments,
                        path,
                        suffix,
                    });
                }
            }
        }
        None
    }
}

fn segment_matches(segment: &Segment, value: &str) -> bool {
    match segment {
        Segment::Literal(l) => **l == *value,
        Segment::Param(_) => !value.is_empty(),
    }
}

fn matches_exactly(pattern: &[Segment], path: &str) -> bool {
    let mut values = segments(path);
    pattern
        .iter()
        .all(|s| values.next().is_some_and(|v| segment_matches(s, v)))
        && values.next().is_none()
}

/// The rest of `path` after `pattern`, if `pattern` is a segment-wise prefix of it.
fn matches_prefix<'r>(pattern: &[Segment], path: &'r str) -> Option<&'r str> {
    let body = path.strip_prefix('/').unwrap_or(path);
    let mut consumed = 0;
    let mut values = body.split('/');
    for (i, segment) in pattern.iter().enumerate() {
        let value = values.next()?;
        if !segment_matches(segment, value) {
            return None;
        }
        consumed += value.len() + usize::from(i > 0);
    }
    if pattern.is_empty() {
        return Some(path);
    }
    Some(&body[consumed..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(routes: &[(MatchMode, ReqMethod, &str)]) -> RouteTable {
        let mut t = RouteTable::default();
        for (i, (mode, method, uri)) in routes.iter().enumerate() {
            assert!(t.insert(*mode, method, uri, i as ApiIdx));
        }
        t.finish();
        t
    }

    fn get() -> ReqMethod {
        ReqMethod::Only(Method::GET)
    }

    #[test]
    fn exact_beats_pattern_beats_prefix_and_method_beats_any() {
        use MatchMode::*;
        let t = table(&[
            (Normal, get(), "/a/b"),
            (Normal, ReqMethod::Any, "/a/{x}"),
            (Normal, get(), "/a/{x}"),
            (Swa, ReqMethod::Any, "/a"),
            (Normal, get(), "/{y}/c"),
            (Normal, get(), "/"),
        ]);
        let find = |m: Method, p: &'static str| t.find(&m, p, |_| true).map(|r| (r.api, r.suffix));
        assert_eq!(find(Method::GET, "/a/b"), Some((0, "")));
        assert_eq!(find(Method::GET, "/a/z"), Some((2, "")));
        assert_eq!(find(Method::POST, "/a/z"), Some((1, "")));
        assert_eq!(find(Method::POST, "/a/b"), Some((1, "")));
        assert_eq!(find(Method::GET, "/a/c"), Some((2, "")));
        assert_eq!(find(Method::GET, "/q/c"), Some((4, "")));
        assert_eq!(find(Method::GET, "/a/b/c"), Some((3, "/b/c")));
        assert_eq!(find(Method::GET, "/a"), Some((3, "")));
        assert_eq!(find(Method::GET, "/ab"), None);
        assert_eq!(find(Method::GET, "/"), Some((5, "")));
        assert_eq!(find(Method::GET, "/a/"), Some((3, "/")));
        // A filtered-out API is skipped, the next tier may still match.
        assert_eq!(
            t.find(&Method::GET, "/a/b", |api| api != 0).map(|r| r.api),
            Some(2)
        );
    }

    #[test]
    fn params_are_read_from_the_path() {
        let t = table(&[(MatchMode::Normal, get(), "/users/{id}/items/{item}")]);
        let m = t
            .find(&Method::GET, "/users/42/items/x%20y", |_| true)
            .unwrap();
        assert_eq!(m.param("id"), Some("42"));
        assert_eq!(m.param("item"), Some("x%20y"));
        assert_eq!(m.param("other"), None);
        assert!(t.find(&Method::GET, "/users//items/x", |_| true).is_none());
        assert!(t
            .find(&Method::GET, "/users/1/items/x/y", |_| true)
            .is_none());
    }

    #[test]
    fn prefixes_prefer_the_longest_and_root_matches_all() {
        use MatchMode::Swa;
        let t = table(&[
            (Swa, ReqMethod::Any, "/"),
            (Swa, ReqMethod::Any, "/files/"),
            (Swa, ReqMethod::Any, "/files/img"),
            (Swa, ReqMethod::Any, "/u/{id}"),
        ]);
        let find = |p: &'static str| t.find(&Method::PUT, p, |_| true).map(|r| (r.api, r.suffix));
        assert_eq!(find("/files/img/a.png"), Some((2, "/a.png")));
        assert_eq!(find("/files/doc/a"), Some((1, "/doc/a")));
        assert_eq!(find("/files"), Some((1, "")));
        assert_eq!(find("/other/x"), Some((0, "/other/x")));
        let m = t.find(&Method::GET, "/u/7/x", |_| true).unwrap();
        assert_eq!((m.api, m.suffix, m.param("id")), (3, "/x", Some("7")));
    }

    #[test]
    fn duplicate_method_and_path_is_refused() {
        let mut t = RouteTable::default();
        assert!(t.insert(MatchMode::Normal, &get(), "/a", 0));
        assert!(!t.insert(MatchMode::Normal, &get(), "/a", 1));
        assert!(t.insert(MatchMode::Normal, &ReqMethod::Any, "/a", 2));
        assert!(!t.insert(MatchMode::Normal, &ReqMethod::Any, "/a", 3));
    }
}
