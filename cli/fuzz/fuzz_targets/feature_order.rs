//! Install order over arbitrary graphs: hard and soft dependencies (cycles
//! included) and `overrideFeatureInstallOrder`, all drawn from the input.
#![no_main]

use devc::features::order::{Feature, Graph, Inserted, Source, SoftRef, install_order, unmatched_overrides};
use libfuzzer_sys::fuzz_target;

const NODES: usize = 8;

fn url(i: u8) -> String {
    format!("https://example.com/f{}.tgz", i as usize % NODES)
}

fuzz_target!(|data: &[u8]| {
    let Some((&count, edges)) = data.split_first() else {
        return;
    };
    let mut graph = Graph::new();
    let mut ids = Vec::new();
    for i in 0..(count as usize % NODES + 1) {
        let feature = Feature {
            source: Source::Tarball { url: url(i as u8) },
            user_id: url(i as u8),
            options: serde_json::Map::new(),
            aliases: vec![format!("f{i}")],
        };
        let (Inserted::New(id) | Inserted::Existing(id)) = graph.insert(feature);
        ids.push(id);
    }
    let mut overrides = Vec::new();
    for pair in edges.chunks(2) {
        let [kind, target] = pair else { break };
        let from = ids[*kind as usize % ids.len()];
        match kind >> 6 {
            0 => graph.add_depends_on(from, ids[*target as usize % ids.len()]),
            1 => graph.add_installs_after(from, SoftRef::Tarball { url: url(*target) }),
            _ => overrides.push(SoftRef::Tarball { url: url(*target) }),
        }
    }
    let _ = unmatched_overrides(&graph, &overrides);
    let _ = install_order(&graph, &overrides);
});
