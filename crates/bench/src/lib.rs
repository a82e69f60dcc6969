//! Harness around the pure planner: file I/O, wall-clock limits, benchmark tables.
