pub fn x() {}
pub mod store;
