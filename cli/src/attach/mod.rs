//! Attaching a person to the container: terminals now, SSH and editors later.

pub mod terminal;
