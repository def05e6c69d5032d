//! The `devc` binary: everything lives in the library (`devc::main`).

fn main() -> std::process::ExitCode {
    devc::main()
}
