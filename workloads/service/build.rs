//! `sqlx::migrate!` embeds the migration files at compile time; without this a new migration file alone would not
//! rebuild the binary and would silently be left out.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
