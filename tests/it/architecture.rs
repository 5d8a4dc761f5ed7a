//! The module graph points one way: no import cycle between the top-level modules of `src/`.
//!
//! Why a test and not a tool: `cargo modules dependencies --acyclic` needs rust-analyzer's crates (a long build on a
//! 2-core CI), while every cross-module reference in this crate is a `crate::<module>` path, which `syn` finds
//! exactly, in `use` trees and in expressions alike. The simulator is a crate of its own, so Cargo already keeps it
//! from depending back on the harness.
//!
//! [`KNOWN_BACK_EDGES`] is a ratchet: the imports that still close a cycle, each with what replaces it. The test
//! fails on any new edge that closes a cycle, and on a listed edge that is gone (so the list only shrinks).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// (from, to, what removes it). Everything else must form a DAG.
const KNOWN_BACK_EDGES: &[(&str, &str, &str)] = &[];

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn top_level_modules_form_no_new_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&src);
    let mut pruned = graph.clone();
    for (from, to, why) in KNOWN_BACK_EDGES {
        let present = pruned.get_mut(*from).is_some_and(|t| t.remove(*to));
        assert!(present, "`{from} -> {to}` is gone ({why}): remove it from KNOWN_BACK_EDGES");
    }
    if let Some(cycle) = find_cycle(&pruned) {
        panic!(
            "import cycle between top-level modules: {}\nimports point one way (see the crate doc's map); move the \
             shared type down, or have the lower module define a trait the upper one implements",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn the_check_sees_a_deliberate_back_import() {
    // The graph of a tiny crate where `b` imports `a` and `a` imports `b` through a grouped `use` and a path in an
    // expression: both forms must be seen, or the real check above would pass on a cycle it cannot see.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("b")).unwrap();
    std::fs::write(dir.path().join("lib.rs"), "pub mod a; pub mod b;").unwrap();
    std::fs::write(dir.path().join("a.rs"), "use crate::{b::Thing, a as _};").unwrap();
    std::fs::write(dir.path().join("b/mod.rs"), "mod inner;").unwrap();
    std::fs::write(dir.path().join("b/inner.rs"), "fn f() { let _ = crate::a::X; }").unwrap();
    let graph = module_graph(dir.path());
    assert_eq!(find_cycle(&graph).map(|c| c.len()), Some(3), "{graph:?}");
}

/// `module -> modules it names through crate::`, for every top-level module (a file or a directory) of `src`.
fn module_graph(src: &Path) -> Graph {
    let mut graph = Graph::new();
    let modules: BTreeSet<String> = std::fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .filter(|m| m != "lib" && m != "main")
        .collect();
    for module in &modules {
        let mut refs = Refs::default();
        for file in rust_files(&src.join(module)).into_iter().chain(rust_files(&src.join(format!("{module}.rs")))) {
            let text = std::fs::read_to_string(&file).unwrap();
            let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            refs.visit_file(&parsed);
        }
        let targets = refs.0.into_iter().filter(|t| t != module && modules.contains(t)).collect();
        graph.insert(module.clone(), targets);
    }
    graph
}

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let Ok(entries) = std::fs::read_dir(path) else { return Vec::new() };
    entries.flat_map(|e| rust_files(&e.unwrap().path())).filter(|p| p.extension().is_some_and(|x| x == "rs")).collect()
}

/// The first segment after `crate::` of every path and `use` tree.
#[derive(Default)]
struct Refs(BTreeSet<String>);

impl<'a> Visit<'a> for Refs {
    fn visit_path(&mut self, path: &'a syn::Path) {
        let mut segments = path.segments.iter();
        if let (Some(first), Some(second)) = (segments.next(), segments.next())
            && first.ident == "crate"
        {
            self.0.insert(second.ident.to_string());
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_item_use(&mut self, item: &'a syn::ItemUse) {
        if let syn::UseTree::Path(p) = &item.tree
            && p.ident == "crate"
        {
            collect_heads(&p.tree, &mut self.0);
        }
    }
}

fn collect_heads(tree: &syn::UseTree, out: &mut BTreeSet<String>) {
    match tree {
        syn::UseTree::Path(p) => drop(out.insert(p.ident.to_string())),
        syn::UseTree::Name(n) => drop(out.insert(n.ident.to_string())),
        syn::UseTree::Rename(r) => drop(out.insert(r.ident.to_string())),
        syn::UseTree::Group(g) => g.items.iter().for_each(|t| collect_heads(t, out)),
        syn::UseTree::Glob(_) => {}
    }
}

/// A cycle as `a -> b -> ... -> a`, if the graph has one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(node: &str, graph: &Graph, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}
