fn main() -> std::process::ExitCode {
    devc::main()
}
