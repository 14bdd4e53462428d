//! One file per subcommand: each turns its arguments into library calls.
