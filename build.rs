//! Writes libtorch's library folder into the binary's rpath so that `crossdf`
//! runs without LD_LIBRARY_PATH. DT_RPATH (not RUNPATH) so libtorch's own
//! dependencies resolve through it too.
fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if let Ok(libtorch) = std::env::var("LIBTORCH") {
        let lib = std::path::Path::new(&libtorch).join("lib");
        println!("cargo:rustc-link-arg=-Wl,--disable-new-dtags");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    }
}
