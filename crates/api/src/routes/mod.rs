pub mod enrollments;
pub mod me;
pub mod ops;
pub mod pairs;
pub mod people;
pub mod programs;
