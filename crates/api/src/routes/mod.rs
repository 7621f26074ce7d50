pub mod ops;
pub mod programs;
