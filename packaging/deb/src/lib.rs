//! No code: this package carries the Debian package's metadata
//! (`[package.metadata.deb]` in its Cargo.toml) for cargo-deb, which
//! packages one Cargo package; `packaging/build-deb.sh` runs it.
