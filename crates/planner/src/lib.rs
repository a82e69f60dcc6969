//! Jemput's route planner: a pure library (no I/O, no clock, no unseeded randomness).
