// The release binary embeds web/dist; a rebuild of the UI (new hashed file names)
// must rebuild the crate, which rust-embed alone does not notice. While web/dist does
// not exist yet, watching web/ catches its creation (a missing path would instead
// make cargo rerun this on every build).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::path::Path::new("web/dist").exists() {
        println!("cargo:rerun-if-changed=web/dist");
    } else {
        println!("cargo:rerun-if-changed=web");
    }
}
