pub fn x(){}
pub mod redact;
