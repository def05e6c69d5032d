//! Rebuilds devc when a shipped template or feature changes: they are
//! embedded with `include_dir!` (src/templates/shipped.rs), which does not
//! notice files added to or removed from those folders by itself.
#![allow(clippy::print_stdout)]

fn main() {
    println!("cargo:rerun-if-changed=../templates");
    println!("cargo:rerun-if-changed=../features/src");
}
