pub mod enrollments;
pub mod ops;
pub mod people;
pub mod programs;
